-- Persons and their sealed fields. Only ciphertext and keyed digests are stored here;
-- the keys that open them live in the separate keystore.
CREATE TABLE persons (
    id          BLOB PRIMARY KEY NOT NULL,
    entity      TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE person_fields (
    person_id   BLOB NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    field       TEXT NOT NULL,
    ciphertext  BLOB NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (person_id, field)
);

CREATE TABLE blind_index (
    kind        TEXT NOT NULL,
    digest      BLOB NOT NULL,
    person_id   BLOB NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    PRIMARY KEY (kind, digest)
);
CREATE INDEX blind_index_person ON blind_index(person_id, kind);

CREATE TABLE job_leases (
    job         TEXT PRIMARY KEY NOT NULL,
    holder      TEXT NOT NULL,
    expires_at  INTEGER NOT NULL -- Unix milliseconds
);
