-- Outgoing mail (P11, P13): a message accepted for sending is kept here until the SMTP
-- server took it, so it survives restarts and an SMTP server that is down. The message
-- is sealed under its recipient's key: an erased recipient's queued mail can no longer
-- be opened, and is dropped with the person.
CREATE TABLE mail_queue (
    id                      BLOB PRIMARY KEY,
    person_id               BLOB NOT NULL,
    kind                    TEXT NOT NULL,
    sealed                  BLOB NOT NULL,
    status                  TEXT NOT NULL,
    attempts                INTEGER NOT NULL DEFAULT 0,
    next_attempt_micros     INTEGER NOT NULL,
    last_error              TEXT,
    created_at_micros       INTEGER NOT NULL,
    sent_at_micros          INTEGER
);
CREATE INDEX mail_queue_due ON mail_queue(status, next_attempt_micros);
CREATE INDEX mail_queue_person ON mail_queue(person_id);

-- Account recovery links: only the SHA-256 of the token, valid once and briefly.
CREATE TABLE recovery_tokens (
    token_hash              BLOB PRIMARY KEY,
    person_id               BLOB NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    expires_at_micros       INTEGER NOT NULL,
    used                    INTEGER NOT NULL DEFAULT 0
);
