-- The tamper-evident audit log: a hash chain with signed checkpoints. Subjects are
-- tags derived from the person's key, never plaintext. Append-only.
CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY NOT NULL,
    at_micros   INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    purpose     TEXT,
    subject     TEXT,
    fields      TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    detail      TEXT,
    prev_hash   BLOB NOT NULL,
    hash        BLOB NOT NULL
);
CREATE INDEX audit_log_subject ON audit_log(subject, seq);

-- One row: the chain's head. Appenders lock it first, so the chain stays single.
CREATE TABLE audit_head (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    seq         INTEGER NOT NULL,
    hash        BLOB NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, zeroblob(32));

CREATE TABLE audit_checkpoints (
    seq         INTEGER PRIMARY KEY NOT NULL,
    hash        BLOB NOT NULL,
    at_micros   INTEGER NOT NULL,
    key_id      TEXT NOT NULL,
    signature   BLOB NOT NULL
);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;

-- Operators: staff who act on personal data under a role. Secrets stored hashed.
CREATE TABLE operators (
    id              BLOB PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL UNIQUE,
    role            TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    token_hash      BLOB NOT NULL UNIQUE,
    created_at      TEXT NOT NULL,
    disabled        INTEGER NOT NULL DEFAULT 0
);
