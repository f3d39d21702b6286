//! Statistics (P10): reports for operators from daily roll-ups of the browser data, and
//! de-identified releases for third parties ([`release`]).
//!
//! Invariants:
//! - Everything is read under the `statistics` purpose, which the vault never lets see
//!   client addresses; each day opened is audited by the vault.
//! - A report reads a day's roll-up, not its blocks, unless the roll-up is missing or
//!   older than the day's last write (then it is computed once and stored). Roll-ups
//!   live beside their day, under its key, and go with it.
//! - Report names are the same everywhere (pages, CSV, releases): [`REPORTS`].

mod accounts;
pub mod dp;
pub mod release;
pub mod rollup;

use crate::access::{OperatorAct, SystemAct};
use crate::operators::Operator;
use crate::{Datavow, Principal};
pub use accounts::split_cell;
use chrono::{NaiveDate, Utc};
use datavow_policy::Purpose;
use datavow_store::{RollupRow, StoreError};
use datavow_vault::{Grant, VaultError};
pub use rollup::{Cell, DayRollup};

/// Every report, by name.
pub const REPORTS: [&str; 9] = [
    "visits",
    "pages",
    "countries",
    "browsers",
    "platforms",
    "devices",
    "referrers",
    "languages",
    "accounts",
];

/// The longest period a report or release covers.
pub const MAX_DAYS: i64 = 400;

/// Who asks for statistics.
#[derive(Debug, Clone, Copy)]
pub enum By<'a> {
    Operator(&'a Operator),
    /// The instance's owner at the shell, or a job.
    Owner(&'a Principal),
}

/// Why statistics could not be made. No personal data in messages.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    #[error("unknown report `{0}`; reports: visits, pages, countries, browsers, platforms, devices, referrers, languages, accounts")]
    UnknownReport(String),
    #[error("the period must start on or before its end and span at most {MAX_DAYS} days")]
    BadPeriod,
    #[error("k must be at least {0}, the policy's minimum")]
    KTooSmall(u64),
    #[error(
        "epsilon must be a decimal number above 0 and at most 100, with at most six decimal places"
    )]
    BadEpsilon,
    #[error("this release would spend more privacy budget than the policy allows for {0}; nothing was released")]
    BudgetExceeded(String),
    #[error(transparent)]
    Denied(#[from] crate::access::Denied),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a stored roll-up of {0} cannot be read")]
    Corrupt(NaiveDate),
}

impl StatsError {
    pub fn is_unavailable(&self) -> bool {
        match self {
            StatsError::Store(e) => e.is_unavailable(),
            StatsError::Vault(e) => e.is_unavailable(),
            _ => false,
        }
    }
}

/// A report: its columns and rows (a label and one number per column).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Table {
    pub report: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub columns: Vec<&'static str>,
    pub rows: Vec<(String, Vec<u64>)>,
}

impl Table {
    /// The table as CSV (RFC 4180): a header, then one line per row.
    pub fn csv(&self) -> String {
        let mut out = String::new();
        let label = if self.report == "visits" {
            "day"
        } else {
            "value"
        };
        out.push_str(label);
        for c in &self.columns {
            out.push(',');
            out.push_str(c);
        }
        out.push_str("\r\n");
        for (value, numbers) in &self.rows {
            out.push_str(&csv_field(value));
            for n in numbers {
                out.push(',');
                out.push_str(&n.to_string());
            }
            out.push_str("\r\n");
        }
        out
    }
}

/// A CSV field, quoted when it holds a comma, quote or line break; a leading `=`, `+`,
/// `-` or `@` is prefixed with `'` so a spreadsheet does not run it as a formula.
pub fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

pub(crate) fn check_period(from: NaiveDate, to: NaiveDate) -> Result<(), StatsError> {
    if from > to || (to - from).num_days() >= MAX_DAYS {
        return Err(StatsError::BadPeriod);
    }
    Ok(())
}

pub(crate) fn check_report(report: &str) -> Result<&'static str, StatsError> {
    REPORTS
        .iter()
        .find(|r| **r == report)
        .copied()
        .ok_or_else(|| StatsError::UnknownReport(report.chars().take(32).collect()))
}

/// The grant statistics are read under.
fn grant(app: &Datavow, by: By<'_>) -> Result<Grant, StatsError> {
    Ok(match by {
        By::Operator(op) => {
            app.door
                .operator(&app.policy, op, OperatorAct::View(Purpose::Statistics))?
        }
        By::Owner(principal) => app.door.system(principal.actor(), SystemAct::Statistics)?,
    })
}

/// Whether `row` is the roll-up of `day` as it stands (no records added since).
fn is_current(row: &RollupRow, day: &datavow_store::BrowserDay) -> bool {
    row.day == day.day && row.records == i64::try_from(day.records).unwrap_or(-1)
}

/// Sums `day`'s blocks into its roll-up and stores it, sealed under the day's key.
async fn roll_up(
    app: &Datavow,
    reader: &datavow_vault::DayReader,
    day: NaiveDate,
) -> Result<DayRollup, StatsError> {
    let mut summer = rollup::DaySummer::default();
    for block in app.stores.browser.day_blocks(day).await? {
        if !summer.add_encoded(&reader.open_meta(&block)?) {
            return Err(StatsError::Corrupt(day));
        }
    }
    let rollup = summer.finish(day);
    app.stores
        .stats
        .put_rollup(&RollupRow {
            day,
            records: i64::try_from(rollup.hits).unwrap_or(i64::MAX),
            sealed: reader.seal_rollup(&rollup.encode()),
        })
        .await?;
    Ok(rollup)
}

/// The roll-ups of the days from `from` to `to` that hold browser data, computing (and
/// storing) those missing or out of date.
pub(crate) async fn day_rollups(
    app: &Datavow,
    grant: &Grant,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<DayRollup>, StatsError> {
    let stored = app.stores.stats.rollups(from, to).await?;
    let mut out = Vec::new();
    for day in app.stores.browser.browser_days().await? {
        if day.day < from || day.day > to {
            continue;
        }
        let Some(reader) = app.vault.open_day(grant, day.day).await? else {
            continue;
        };
        let rollup = match stored.iter().find(|r| is_current(r, &day)) {
            Some(row) => DayRollup::decode(&reader.open_rollup(&row.sealed)?)
                .ok_or(StatsError::Corrupt(day.day))?,
            None => roll_up(app, &reader, day.day).await?,
        };
        out.push(rollup);
    }
    Ok(out)
}

/// Computes the roll-ups of complete days that lack one (job `stats-rollup`).
pub async fn roll_up_past_days(app: &Datavow) -> Result<usize, StatsError> {
    let principal = Principal::system("job:stats-rollup");
    let grant = grant(app, By::Owner(&principal))?;
    let today = Utc::now().date_naive();
    let days = app.stores.browser.browser_days().await?;
    let Some(first) = days.iter().map(|d| d.day).min() else {
        return Ok(0);
    };
    let stored = app.stores.stats.rollups(first, today).await?;
    let mut made = 0;
    for day in days {
        if day.day >= today || stored.iter().any(|r| is_current(r, &day)) {
            continue;
        }
        if let Some(reader) = app.vault.open_day(&grant, day.day).await? {
            roll_up(app, &reader, day.day).await?;
            made += 1;
        }
    }
    Ok(made)
}

/// A report over the days from `from` to `to` (inclusive).
pub async fn report(
    app: &Datavow,
    by: By<'_>,
    report: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Table, StatsError> {
    let report = check_report(report)?;
    check_period(from, to)?;
    let grant = grant(app, by)?;
    if report == "accounts" {
        let (counts, _) = accounts::counts(app, &grant).await?;
        let mut rows: Vec<(String, Vec<u64>)> = counts
            .into_iter()
            .map(|(cell, n)| (cell, vec![n]))
            .collect();
        rows.sort_by(accounts::cell_order);
        return Ok(Table {
            report: report.into(),
            from,
            to,
            columns: vec!["accounts"],
            rows,
        });
    }
    let days = day_rollups(app, &grant, from, to).await?;
    if report == "visits" {
        return Ok(Table {
            report: report.into(),
            from,
            to,
            columns: vec!["visits", "visitors"],
            rows: days
                .iter()
                .map(|d| (d.day.to_string(), vec![d.hits, d.visitors]))
                .collect(),
        });
    }
    let mut totals: std::collections::HashMap<&str, Cell> = std::collections::HashMap::new();
    for day in &days {
        for (value, cell) in day.cells.get(report).into_iter().flatten() {
            let total = totals.entry(value.as_str()).or_default();
            total.visitors += cell.visitors;
            total.hits += cell.hits;
        }
    }
    let mut rows: Vec<(String, Vec<u64>)> = totals
        .into_iter()
        .map(|(value, cell)| (value.to_owned(), vec![cell.visitors, cell.hits]))
        .collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(Table {
        report: report.into(),
        from,
        to,
        columns: vec!["visitors", "visits"],
        rows,
    })
}
