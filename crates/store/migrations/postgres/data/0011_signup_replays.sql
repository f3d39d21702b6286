-- Sign-up answers kept for a short while for clients that send an Idempotency-Key and
-- lost the answer. Sealed under a key derived from the client's idempotency key, which
-- is not stored; found by a digest of it.
CREATE TABLE signup_replays (
    key_digest        BYTEA PRIMARY KEY,
    request_digest    BYTEA NOT NULL,
    sealed            BYTEA NOT NULL,
    created_at_micros BIGINT NOT NULL
);
