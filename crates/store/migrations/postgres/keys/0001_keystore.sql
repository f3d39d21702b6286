-- The keystore: key-encryption-key identity and wrapped data keys. Never part of a
-- data backup. Rows are deleted to shred; a compaction job rewrites the tables.
CREATE TABLE kek (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    kek_id      TEXT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE person_keys (
    person_id   UUID PRIMARY KEY,
    wrapped     BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE named_keys (
    name        TEXT PRIMARY KEY,
    wrapped     BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
