-- Every policy text Datavow has run with, in order; a new one is audited (P16).
CREATE TABLE policy_history (
    seq         BIGSERIAL PRIMARY KEY,
    digest      TEXT NOT NULL,
    version     TEXT NOT NULL,
    origin      TEXT NOT NULL,
    loaded_at   TIMESTAMPTZ NOT NULL
);
