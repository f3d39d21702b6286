-- Addresses that must never get marketing again (P11): opted out or erased. Only a
-- keyed hash of the normalised address (key `mail:suppression` in the keystore), so the
-- list survives erasure without holding the address.
CREATE TABLE marketing_suppression (
    digest              BLOB PRIMARY KEY,
    reason              TEXT NOT NULL,
    suppressed_at_micros INTEGER NOT NULL
);
