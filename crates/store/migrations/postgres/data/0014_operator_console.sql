-- The operator console (sign-in with a second factor, sessions, the home page).
-- An operator's TOTP secret, sealed under a keystore key; `last_step` is the last time
-- step a code was accepted for, so a code is never accepted twice.
CREATE TABLE operator_second_factors (
    operator           TEXT PRIMARY KEY,
    sealed_secret      BYTEA NOT NULL,
    last_step          BIGINT NOT NULL,
    enrolled_at_micros BIGINT NOT NULL
);

-- One-time recovery codes, stored as SHA-256 digests; a used code is deleted.
CREATE TABLE operator_recovery_codes (
    operator  TEXT NOT NULL,
    code_hash BYTEA NOT NULL,
    PRIMARY KEY (operator, code_hash)
);

-- Console sessions, by the SHA-256 of their cookie. `stage` is `second_factor` or
-- `enrol` until the second factor is given, then `signed_in`.
CREATE TABLE operator_sessions (
    token_hash        BYTEA PRIMARY KEY,
    operator          TEXT NOT NULL,
    stage             TEXT NOT NULL,
    pending_secret    BYTEA,
    created_at_micros BIGINT NOT NULL,
    last_seen_micros  BIGINT NOT NULL,
    expires_at_micros BIGINT NOT NULL
);
CREATE INDEX operator_sessions_operator ON operator_sessions(operator);

-- The last run of each operation the home page reports on (audit verification,
-- ingest per source, backups): when, whether it succeeded, and a summary without
-- personal data.
CREATE TABLE last_runs (
    kind      TEXT PRIMARY KEY,
    at_micros BIGINT NOT NULL,
    ok        BOOLEAN NOT NULL,
    detail    TEXT NOT NULL
);
