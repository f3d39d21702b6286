-- Records of a retention class that may outlive the account (invoices: 8 years in
-- Germany, 5 in Denmark). Sealed under their class key; no reference to `persons`, so
-- they survive the account's erasure, readable then only for the legal obligation.
CREATE TABLE retained_records (
    id                  BLOB PRIMARY KEY NOT NULL,
    owner_id            BLOB NOT NULL,
    class               TEXT NOT NULL,
    field               TEXT NOT NULL,
    ciphertext          BLOB NOT NULL,
    created_at_micros   INTEGER NOT NULL
);
CREATE INDEX retained_records_owner ON retained_records(owner_id, class);
