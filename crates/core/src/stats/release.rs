//! De-identified releases for third parties (P10): one report over a period, as cells
//! of a value and a count of units (visitor-days; persons for `accounts`).
//!
//! Invariants:
//! - No cell counts fewer than `k` units (the policy's minimum or more). Without ε,
//!   cells under `k` are suppressed and, where the suppressed cells would be one cell
//!   or sum to under `k`, the smallest released cells are suppressed with them
//!   (complementary suppression), and no total is released: a total minus the released
//!   cells never gives a small cell away. For accounts, whose dimensions (entity,
//!   sector, country) each sum to all accounts, this holds within each dimension, and
//!   no combination of dimensions is released.
//! - With ε, each count gets discrete Laplace noise scaled to the most cells one unit
//!   can touch ([`super::rollup::DIMENSIONS`]; one per dimension for accounts) over ε,
//!   and a cell is released only if its noisy count reaches a threshold
//!   ([`super::dp::threshold`], δ = 10⁻⁶): rare cells are dropped by noise, never by
//!   their true count alone. The ε is charged to every day of browser data in the
//!   period (every month, for accounts) before anything is computed; a release that
//!   would pass the policy's budget is refused.
//! - Only values and counts leave: never an identifier, address or visitor hash. Hits
//!   (requests) are never released: their count per unit has no bound.
//! - Every release is audited with its parameters and recorded with its manifest.

use super::dp::{self, Epsilon};
use super::{accounts, check_period, check_report, day_rollups, rollup, StatsError};
use crate::access::SystemAct;
use crate::{Datavow, Principal};
use chrono::{Datelike, NaiveDate, Utc};
use datavow_store::ReleaseRow;
use datavow_vault::{Action, AuditEvent, Outcome};
use std::collections::BTreeMap;

/// δ of the noisy threshold.
pub const DELTA: f64 = 1e-6;

/// What to release.
#[derive(Debug, Clone)]
pub struct Request {
    pub report: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub k: u64,
    /// Text as given (`1`, `0.5`); `None` for k-anonymity alone.
    pub epsilon: Option<String>,
}

/// A release: its cells and manifest.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Release {
    pub id: String,
    pub report: String,
    /// `day` for `visits`, else `value`.
    pub label: &'static str,
    /// The count's unit: `visitor_days` or `persons`.
    pub unit: &'static str,
    pub cells: Vec<(String, u64)>,
    pub manifest: serde_json::Value,
}

impl Release {
    pub fn csv(&self) -> String {
        let mut out = format!("{},{}\r\n", self.label, self.unit);
        for (value, n) in &self.cells {
            out.push_str(&format!("{},{n}\r\n", super::csv_field(value)));
        }
        out
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "manifest": self.manifest,
            "cells": self.cells.iter().map(|(v, n)| serde_json::json!({self.label: v, self.unit: n})).collect::<Vec<_>>(),
        })
    }
}

/// The true counts of a report's cells and the most cells one unit touches.
async fn true_counts(
    app: &Datavow,
    grant: &datavow_vault::Grant,
    report: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(BTreeMap<String, u64>, u64), StatsError> {
    if report == "accounts" {
        return super::accounts::counts(app, grant).await;
    }
    let days = day_rollups(app, grant, from, to).await?;
    if report == "visits" {
        return Ok((
            days.iter()
                .map(|d| (d.day.to_string(), d.visitors))
                .collect(),
            1,
        ));
    }
    let sensitivity = rollup::DIMENSIONS
        .iter()
        .find(|(name, _)| *name == report)
        .map_or(1, |(_, n)| *n as u64);
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for day in &days {
        for (value, cell) in day.cells.get(report).into_iter().flatten() {
            *counts.entry(value.clone()).or_default() += cell.visitors;
        }
    }
    Ok((counts, sensitivity))
}

/// k-anonymity with complementary suppression: the cells kept, and how many were
/// suppressed.
pub fn suppress(counts: &BTreeMap<String, u64>, k: u64) -> (Vec<(String, u64)>, usize) {
    let mut cells: Vec<(String, u64)> = counts.iter().map(|(v, n)| (v.clone(), *n)).collect();
    cells.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    let mut cut = cells.iter().take_while(|(_, n)| *n < k).count();
    let suppressed_sum =
        |cut: usize, cells: &[(String, u64)]| cells[..cut].iter().map(|c| c.1).sum::<u64>();
    while cut > 0 && cut < cells.len() && (cut == 1 || suppressed_sum(cut, &cells) < k) {
        cut += 1;
    }
    let kept: Vec<(String, u64)> = cells[cut..].iter().rev().cloned().collect();
    (kept, cut)
}

/// [`suppress`] within each dimension of the accounts report: every dimension's
/// cells sum to the number of accounts, so each needs its own complementary
/// suppression, or that total would give a small cell away.
fn suppress_per_dimension(counts: &BTreeMap<String, u64>, k: u64) -> (Vec<(String, u64)>, usize) {
    let mut dimensions: BTreeMap<usize, BTreeMap<String, u64>> = BTreeMap::new();
    for (cell, n) in counts {
        dimensions
            .entry(accounts::dimension_rank(cell))
            .or_default()
            .insert(cell.clone(), *n);
    }
    let (mut kept, mut suppressed) = (Vec::new(), 0);
    for cells in dimensions.values() {
        let (k_cells, n) = suppress(cells, k);
        kept.extend(k_cells);
        suppressed += n;
    }
    (kept, suppressed)
}

/// The periods a release charges: each day of browser data, or the current month for
/// accounts.
fn periods(report: &str, from: NaiveDate, to: NaiveDate) -> Vec<String> {
    if report == "accounts" {
        let now = Utc::now();
        return vec![format!("{:04}-{:02}", now.year(), now.month())];
    }
    from.iter_days()
        .take_while(|d| *d <= to)
        .map(|d| d.to_string())
        .collect()
}

/// Makes a release, charging its ε first; audited and recorded with its manifest.
pub async fn release(
    app: &Datavow,
    by: &Principal,
    request: &Request,
) -> Result<Release, StatsError> {
    let report = check_report(&request.report)?;
    check_period(request.from, request.to)?;
    let rules = app.policy.statistics;
    if request.k < rules.min_k {
        return Err(StatsError::KTooSmall(rules.min_k));
    }
    let epsilon = match &request.epsilon {
        Some(text) => Some(Epsilon::parse(text).ok_or(StatsError::BadEpsilon)?),
        None => None,
    };
    let grant = app.door.system(by.actor(), SystemAct::Statistics)?;
    let dataset = if report == "accounts" {
        "accounts"
    } else {
        "browser"
    };
    let periods = periods(report, request.from, request.to);
    if let Some(eps) = epsilon {
        let spent = app
            .stores
            .stats
            .spend_budget(dataset, &periods, eps.micros(), rules.epsilon_budget_micros)
            .await?;
        if !spent {
            return Err(StatsError::BudgetExceeded(format!(
                "{dataset} data of {} to {}",
                request.from, request.to
            )));
        }
    }
    let (counts, sensitivity) = true_counts(app, &grant, report, request.from, request.to).await?;
    let considered = counts.len();
    let (cells, suppressed, threshold) = match epsilon {
        None => {
            let (kept, suppressed) = if report == "accounts" {
                suppress_per_dimension(&counts, request.k)
            } else {
                suppress(&counts, request.k)
            };
            (kept, suppressed, None)
        }
        Some(eps) => {
            let tau = dp::threshold(sensitivity, eps, DELTA, request.k);
            let mut rng = rand::rngs::OsRng;
            let mut kept = Vec::new();
            for (value, n) in &counts {
                let noisy =
                    i64::try_from(*n).unwrap_or(i64::MAX) + dp::noise(&mut rng, sensitivity, eps);
                if noisy >= tau {
                    kept.push((value.clone(), u64::try_from(noisy).unwrap_or(0)));
                }
            }
            kept.sort_by(accounts::cell_order);
            let suppressed = considered - kept.len();
            (kept, suppressed, Some(tau))
        }
    };
    let id = uuid::Uuid::new_v4().to_string();
    let at = Utc::now();
    let unit = if report == "accounts" {
        "persons"
    } else {
        "visitor_days"
    };
    let manifest = serde_json::json!({
        "id": id,
        "report": report,
        "from": request.from.to_string(),
        "to": request.to.to_string(),
        "created_at": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "policy": app.policy.name,
        "policy_version": app.policy.version,
        "unit": unit,
        "k": request.k,
        "mechanism": match epsilon {
            Some(_) => "discrete Laplace (Canonne–Kamath–Steinke 2020) with a noisy threshold",
            None => "k-anonymity with complementary suppression",
        },
        "epsilon": request.epsilon,
        "delta": epsilon.map(|_| DELTA),
        "sensitivity": sensitivity,
        "threshold": threshold,
        "budget": epsilon.map(|_| serde_json::json!({
            "dataset": dataset,
            "periods_charged": periods.len(),
            "limit_per_period": rules.epsilon_budget_micros as f64 / 1e6,
        })),
        "cells_considered": considered,
        "cells_released": cells.len(),
        "cells_suppressed": suppressed,
    });
    let event = AuditEvent {
        purpose: Some(datavow_policy::Purpose::Statistics),
        detail: Some(format!(
            "statistics release {id}: {report} {} to {}, k {}, epsilon {}, {} of {considered} cells released",
            request.from,
            request.to,
            request.k,
            request.epsilon.as_deref().unwrap_or("none"),
            cells.len()
        )),
        ..AuditEvent::new(&by.actor(), Action::StatsReleased, Outcome::Allowed)
    };
    crate::audit::audited_before(app, event, async {
        app.stores
            .stats
            .record_release(&ReleaseRow {
                id: id.clone(),
                at_micros: at.timestamp_micros(),
                report: report.into(),
                manifest: manifest.to_string(),
            })
            .await
    })
    .await?;
    Ok(Release {
        id,
        report: report.into(),
        label: if report == "visits" { "day" } else { "value" },
        unit,
        cells,
        manifest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
        pairs.iter().map(|(v, n)| ((*v).to_owned(), *n)).collect()
    }

    #[test]
    fn one_small_cell_takes_the_next_smallest_with_it() {
        let (kept, suppressed) = suppress(
            &counts(&[("DE", 50), ("DK", 30), ("IS", 2), ("FR", 12)]),
            10,
        );
        assert_eq!(suppressed, 2);
        assert_eq!(kept, vec![("DE".into(), 50), ("DK".into(), 30)]);
    }

    #[test]
    fn small_cells_that_sum_to_under_k_take_more_with_them() {
        let (kept, suppressed) = suppress(
            &counts(&[("a", 100), ("b", 3), ("c", 4), ("d", 11), ("e", 40)]),
            10,
        );
        assert_eq!(suppressed, 3, "3 + 4 < 10, so d goes too");
        assert_eq!(kept, vec![("a".into(), 100), ("e".into(), 40)]);
    }

    #[test]
    fn nothing_is_suppressed_when_every_cell_reaches_k() {
        let (kept, suppressed) = suppress(&counts(&[("a", 10), ("b", 11)]), 10);
        assert_eq!((kept.len(), suppressed), (2, 0));
    }
}
