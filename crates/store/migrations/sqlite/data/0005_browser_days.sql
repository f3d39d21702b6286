-- Browser data (P6) lives in one table per day, `browser_blocks_YYYYMMDD`, created on
-- first use, so that retention drops a day whole. This registry lists the days.
CREATE TABLE browser_days (
    day         TEXT PRIMARY KEY,
    records     INTEGER NOT NULL DEFAULT 0,
    blocks      INTEGER NOT NULL DEFAULT 0
);
