-- Keys per (owner, retention class) beside the account class (person_keys), and the
-- erasure ledger: which keys were destroyed, when and why (no personal data). Both live
-- with the keystore and are never part of a data backup.
CREATE TABLE class_keys (
    owner_id            BLOB NOT NULL,
    class               TEXT NOT NULL,
    wrapped             BLOB NOT NULL,
    expires_at_micros   INTEGER,
    restricted          INTEGER NOT NULL DEFAULT 0,
    created_at          TEXT NOT NULL,
    PRIMARY KEY (owner_id, class)
);
CREATE INDEX class_keys_expiry ON class_keys(expires_at_micros);

CREATE TABLE erasure_ledger (
    seq                 INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id            BLOB NOT NULL,
    class               TEXT NOT NULL,
    reason              TEXT NOT NULL,
    at_micros           INTEGER NOT NULL,
    rows_cleared        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX erasure_ledger_owner ON erasure_ledger(owner_id);
CREATE INDEX erasure_ledger_pending ON erasure_ledger(rows_cleared);

-- The ledger is append-only: tombstones are never changed but to mark their rows cleared.
CREATE TRIGGER erasure_ledger_no_delete BEFORE DELETE ON erasure_ledger
BEGIN SELECT RAISE(ABORT, 'the erasure ledger is append-only'); END;
