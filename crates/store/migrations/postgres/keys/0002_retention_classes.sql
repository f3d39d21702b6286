-- Keys per (owner, retention class) beside the account class (person_keys), and the
-- erasure ledger: which keys were destroyed, when and why (no personal data). Both live
-- with the keystore and are never part of a data backup.
CREATE TABLE class_keys (
    owner_id            UUID NOT NULL,
    class               TEXT NOT NULL,
    wrapped             BYTEA NOT NULL,
    expires_at_micros   BIGINT,
    restricted          BOOLEAN NOT NULL DEFAULT FALSE,
    created_at          TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (owner_id, class)
);
CREATE INDEX class_keys_expiry ON class_keys(expires_at_micros);

CREATE TABLE erasure_ledger (
    seq                 BIGSERIAL PRIMARY KEY,
    owner_id            UUID NOT NULL,
    class               TEXT NOT NULL,
    reason              TEXT NOT NULL,
    at_micros           BIGINT NOT NULL,
    rows_cleared        BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX erasure_ledger_owner ON erasure_ledger(owner_id);
CREATE INDEX erasure_ledger_pending ON erasure_ledger(rows_cleared);

-- The ledger is append-only: tombstones are never changed but to mark their rows cleared.
CREATE FUNCTION erasure_ledger_no_delete() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'the erasure ledger is append-only'; END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER erasure_ledger_no_delete BEFORE DELETE ON erasure_ledger
FOR EACH ROW EXECUTE FUNCTION erasure_ledger_no_delete();
