-- One row that `/healthz` updates: a database that answers reads but cannot take a
-- write (disk full, read-only, a standby) is not healthy.
CREATE TABLE health_probe (
    id      INTEGER PRIMARY KEY,
    probes  BIGINT NOT NULL
);
INSERT INTO health_probe (id, probes) VALUES (1, 0);
