-- Bounding the audit log's growth: a person's own reads are recorded once per session
-- and day (`own_reads_day`: days since 1970-01-01, UTC), and entries older than the
-- policy's `[audit] keep` are pruned behind a signed statement of the last pruned
-- entry's hash, from which the rest of the chain still verifies.
ALTER TABLE sessions ADD COLUMN own_reads_day BIGINT;

CREATE TABLE audit_prunes (
    through_seq     BIGINT PRIMARY KEY,
    hash            BYTEA NOT NULL,
    before_micros   BIGINT NOT NULL,
    at_micros       BIGINT NOT NULL,
    key_id          TEXT NOT NULL,
    signature       BYTEA NOT NULL
);

-- Only entries behind the newest signed prune may be deleted.
CREATE FUNCTION audit_refuse_unpruned_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.seq <= COALESCE((SELECT MAX(through_seq) FROM audit_prunes), 0) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: only entries behind a signed prune may be deleted';
END;
$$;
DROP TRIGGER audit_log_append_only ON audit_log;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_log_prune_only BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_unpruned_delete();
CREATE TRIGGER audit_prunes_append_only BEFORE UPDATE OR DELETE ON audit_prunes
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_prunes_no_truncate BEFORE TRUNCATE ON audit_prunes
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
