-- Statistics (P10). A day's roll-up (counts per report and value, sealed under the
-- day's key) sits beside the day and goes with it; `records` is how many records the
-- day held when it was computed, so a day that grew later is computed again.
CREATE TABLE browser_rollups (
    day      DATE PRIMARY KEY REFERENCES browser_days(day) ON DELETE CASCADE,
    records  BIGINT NOT NULL,
    sealed   BYTEA NOT NULL
);

-- The privacy budget spent per dataset and period, in millionths of epsilon.
CREATE TABLE stats_budgets (
    dataset      TEXT NOT NULL,
    period       TEXT NOT NULL,
    spent_micros BIGINT NOT NULL,
    PRIMARY KEY (dataset, period)
);

-- Every release to a third party: its parameters and manifest (no data).
CREATE TABLE stats_releases (
    id          TEXT PRIMARY KEY,
    at_micros   BIGINT NOT NULL,
    report      TEXT NOT NULL,
    manifest    TEXT NOT NULL
);
