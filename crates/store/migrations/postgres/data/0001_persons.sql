-- Persons and their sealed fields. Only ciphertext and keyed digests are stored here;
-- the keys that open them live in the separate keystore.
CREATE TABLE persons (
    id          UUID PRIMARY KEY,
    entity      TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE person_fields (
    person_id   UUID NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    field       TEXT NOT NULL,
    ciphertext  BYTEA NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (person_id, field)
);

CREATE TABLE blind_index (
    kind        TEXT NOT NULL,
    digest      BYTEA NOT NULL,
    person_id   UUID NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    PRIMARY KEY (kind, digest)
);
CREATE INDEX blind_index_person ON blind_index(person_id, kind);

-- Kept for parity with SQLite; PostgreSQL jobs use advisory locks instead.
CREATE TABLE job_leases (
    job         TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
