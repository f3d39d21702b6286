-- Sign-up answers kept for a short while for clients that send an Idempotency-Key and
-- lost the answer. Sealed under a key derived from the client's idempotency key, which
-- is not stored; found by a digest of it.
CREATE TABLE signup_replays (
    key_digest        BLOB PRIMARY KEY,
    request_digest    BLOB NOT NULL,
    sealed            BLOB NOT NULL,
    created_at_micros INTEGER NOT NULL
);
