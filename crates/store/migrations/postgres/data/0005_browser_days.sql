-- Browser data (P6): one declarative LIST partition per day, `browser_blocks_YYYYMMDD`,
-- created on first use, so that retention drops a day whole. The registry lists the days.
CREATE TABLE browser_days (
    day         DATE PRIMARY KEY,
    records     BIGINT NOT NULL DEFAULT 0,
    blocks      BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE browser_blocks (
    day         DATE NOT NULL,
    block_id    UUID NOT NULL,
    records     BIGINT NOT NULL,
    meta        BYTEA NOT NULL,
    ips         BYTEA NOT NULL,
    PRIMARY KEY (day, block_id)
) PARTITION BY LIST (day);
