-- Bounding the audit log's growth: a person's own reads are recorded once per session
-- and day (`own_reads_day`: days since 1970-01-01, UTC), and entries older than the
-- policy's `[audit] keep` are pruned behind a signed statement of the last pruned
-- entry's hash, from which the rest of the chain still verifies.
ALTER TABLE sessions ADD COLUMN own_reads_day INTEGER;

CREATE TABLE audit_prunes (
    through_seq     INTEGER PRIMARY KEY NOT NULL,
    hash            BLOB NOT NULL,
    before_micros   INTEGER NOT NULL,
    at_micros       INTEGER NOT NULL,
    key_id          TEXT NOT NULL,
    signature       BLOB NOT NULL
);

-- Only entries behind the newest signed prune may be deleted.
DROP TRIGGER audit_log_no_delete;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN OLD.seq > COALESCE((SELECT MAX(through_seq) FROM audit_prunes), 0)
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: only entries behind a signed prune may be deleted'); END;
CREATE TRIGGER audit_prunes_no_update BEFORE UPDATE ON audit_prunes
BEGIN SELECT RAISE(ABORT, 'audit prunes are append-only'); END;
CREATE TRIGGER audit_prunes_no_delete BEFORE DELETE ON audit_prunes
BEGIN SELECT RAISE(ABORT, 'audit prunes are append-only'); END;
