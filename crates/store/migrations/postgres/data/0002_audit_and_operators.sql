-- The tamper-evident audit log: a hash chain with signed checkpoints. Subjects are
-- tags derived from the person's key, never plaintext. Append-only.
CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY,
    at_micros   BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    purpose     TEXT,
    subject     TEXT,
    fields      TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    detail      TEXT,
    prev_hash   BYTEA NOT NULL,
    hash        BYTEA NOT NULL
);
CREATE INDEX audit_log_subject ON audit_log(subject, seq);

-- One row: the chain's head. Appenders lock it first, so the chain stays single even
-- with several nodes writing.
CREATE TABLE audit_head (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    seq         BIGINT NOT NULL,
    hash        BYTEA NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));

CREATE TABLE audit_checkpoints (
    seq         BIGINT PRIMARY KEY,
    hash        BYTEA NOT NULL,
    at_micros   BIGINT NOT NULL,
    key_id      TEXT NOT NULL,
    signature   BYTEA NOT NULL
);

CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- Operators: staff who act on personal data under a role. Secrets stored hashed.
CREATE TABLE operators (
    id              UUID PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    role            TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    token_hash      BYTEA NOT NULL UNIQUE,
    created_at      TIMESTAMPTZ NOT NULL,
    disabled        BOOLEAN NOT NULL DEFAULT FALSE
);
