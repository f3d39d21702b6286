-- Every policy text Datavow has run with, in order; a new one is audited (P16).
CREATE TABLE policy_history (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    digest      TEXT NOT NULL,
    version     TEXT NOT NULL,
    origin      TEXT NOT NULL,
    loaded_at   TEXT NOT NULL
);
