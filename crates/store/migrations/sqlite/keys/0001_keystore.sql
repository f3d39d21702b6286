-- The keystore: key-encryption-key identity and wrapped data keys. Never part of a
-- data backup. Rows are deleted to shred; secure_delete overwrites their bytes.
CREATE TABLE kek (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    kek_id      TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE person_keys (
    person_id   BLOB PRIMARY KEY NOT NULL,
    wrapped     BLOB NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE named_keys (
    name        TEXT PRIMARY KEY NOT NULL,
    wrapped     BLOB NOT NULL,
    created_at  TEXT NOT NULL
);
