-- Accounts: what kind of record a person is, sessions, policy acknowledgements,
-- data-subject requests and the history of changed fields (ciphertext only, under the
-- person's key, so erasure makes the history unreadable too).
ALTER TABLE persons ADD COLUMN kind TEXT NOT NULL DEFAULT 'account';

CREATE TABLE field_history (
    person_id   UUID NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    field       TEXT NOT NULL,
    ciphertext  BYTEA NOT NULL,
    replaced_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX field_history_person ON field_history(person_id);

CREATE TABLE sessions (
    token_hash          BYTEA PRIMARY KEY,
    person_id           UUID NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    created_at_micros   BIGINT NOT NULL,
    expires_at_micros   BIGINT NOT NULL
);
CREATE INDEX sessions_person ON sessions(person_id);

CREATE TABLE policy_acknowledgements (
    person_id       UUID NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    policy_version  TEXT NOT NULL,
    acknowledged_at TIMESTAMPTZ NOT NULL,
    how             TEXT NOT NULL,
    PRIMARY KEY (person_id, policy_version)
);

CREATE TABLE subject_requests (
    id          UUID PRIMARY KEY,
    person_id   UUID REFERENCES persons(id) ON DELETE SET NULL,
    kind        TEXT NOT NULL,
    channel     TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    deadline_at TIMESTAMPTZ NOT NULL,
    status      TEXT NOT NULL
);
CREATE INDEX subject_requests_person ON subject_requests(person_id);
