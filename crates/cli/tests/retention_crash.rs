//! `datavow retention apply` killed (SIGKILL) at moments spread over its run, then run
//! again: every day past retention is gone with its key and its blocks, every later day
//! is whole, the killed run's job locks are taken back at once, and the audit chain
//! verifies.
//!
//! Short mode (CI): 3 trials. `DATAVOW_LONG_TESTS=1`: 100.

mod common;

use chrono::{Duration as Days, Months, NaiveDate, Utc};
use common::*;
use std::path::Path;
use std::time::{Duration, Instant};

/// Days of browser data each trial ingests, ending yesterday.
const DAYS: i64 = 40;
/// Lines per day.
const LINES: i64 = 300;

fn log(days: &[NaiveDate]) -> String {
    let mut log = String::new();
    for day in days {
        let at = day.and_hms_opt(9, 0, 0).expect("time").and_utc();
        for i in 0..LINES {
            log.push_str(&format!(
                "192.0.2.{} - - [{}] \"GET /day/{i} HTTP/1.1\" 200 {i} \"-\" \"curl/8.4.0\"\n",
                i % 250,
                (at + Days::seconds(i)).format("%d/%b/%Y:%H:%M:%S +0000")
            ));
        }
    }
    log
}

/// (day, records) of `browser_days`, the day tables, and the day keys in the keystore.
fn state(data: &Path) -> (Vec<(String, i64)>, Vec<String>, Vec<String>) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        use sqlx::ConnectOptions;
        let options = |file: &str| sqlx::sqlite::SqliteConnectOptions::new().filename(data.join(file));
        let mut db = options("datavow.db").connect().await.expect("open data");
        let days = sqlx::query_as("SELECT day, records FROM browser_days ORDER BY day")
            .fetch_all(&mut db)
            .await
            .expect("days");
        let tables = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'browser_blocks_%' ORDER BY name",
        )
        .fetch_all(&mut db)
        .await
        .expect("tables");
        let mut keys = options("keystore.db")
            .connect()
            .await
            .expect("open keystore");
        let day_keys = sqlx::query_scalar(
            "SELECT name FROM named_keys WHERE name LIKE 'browser:day:%' ORDER BY name",
        )
        .fetch_all(&mut keys)
        .await
        .expect("keys");
        (days, tables, day_keys)
    })
}

fn apply(data: &Path, now: &str) -> std::process::Command {
    let mut cmd = datavow();
    cmd.args(["retention", "apply", "--now", now, "--data-dir"]);
    cmd.arg(data);
    cmd
}

#[test]
#[allow(clippy::print_stderr)] // the long mode reports its figures
fn retention_killed_at_random_moments_leaves_no_day_half_dropped() {
    let long = std::env::var("DATAVOW_LONG_TESTS").is_ok_and(|v| v == "1");
    let trials: u64 = if long { 100 } else { 3 };
    let dir = tempfile::tempdir().expect("dir");
    let today = Utc::now().date_naive();
    let days: Vec<NaiveDate> = (1..=DAYS)
        .rev()
        .map(|back| today - Days::days(back))
        .collect();
    let file = dir.path().join("access.log");
    std::fs::write(&file, log(&days)).expect("write");
    // As if it were six months (the policy's browser retention) after the middle day:
    // the days before the first day still within six months of then go.
    let then = days[days.len() / 2]
        .checked_add_months(Months::new(6))
        .expect("date");
    let now = then.to_string();
    let cut = then.checked_sub_months(Months::new(6)).expect("date");
    let started = Instant::now();
    let (mut killed, mut cut_short) = (0, 0);
    // How long an uninterrupted run takes (process start included), to spread kills.
    let mut full_run = Duration::ZERO;
    for t in 0..trials {
        let data = dir.path().join(format!("data-{t}"));
        let out = run(datavow()
            .args(["ingest", "--data-dir"])
            .arg(&data)
            .arg(&file));
        assert!(out.status.success(), "{}", text(&out.stderr));
        let (before, _, _) = state(&data);
        assert_eq!(before.len(), days.len(), "every day ingested");
        if t == 0 {
            let begun = Instant::now();
            let out = run(&mut apply(&data, &now));
            assert!(out.status.success(), "{}", text(&out.stderr));
            full_run = begun.elapsed();
        } else {
            let after = full_run.mul_f64((t * 37 % 100) as f64 / 100.0);
            if kill_after(&mut apply(&data, &now), after) {
                killed += 1;
            }
            let (mid, _, _) = state(&data);
            if mid.len() < before.len() && mid.len() > before.len() / 2 {
                cut_short += 1;
            }
            // The next run finishes the work, taking back the killed run's locks.
            let out = run(&mut apply(&data, &now));
            assert!(
                out.status.success(),
                "trial {t}: the run after a kill: {}",
                text(&out.stderr)
            );
        }
        let (after, tables, keys) = state(&data);
        let kept: Vec<(String, i64)> = before
            .iter()
            .filter(|(day, _)| day.as_str() >= cut.to_string().as_str())
            .cloned()
            .collect();
        assert_eq!(
            after, kept,
            "trial {t}: the later days whole, the older gone"
        );
        assert_eq!(
            tables.len(),
            kept.len(),
            "trial {t}: no blocks of a dropped day"
        );
        for (day, _) in &before {
            let has_key = keys.contains(&format!("browser:day:{day}"));
            assert_eq!(
                has_key,
                day.as_str() >= cut.to_string().as_str(),
                "trial {t}: the key of {day}"
            );
        }
        assert_audit_verifies(&data, "retention cut by SIGKILL");
    }
    if trials > 3 {
        assert!(
            cut_short > 0,
            "no run was killed part-way through dropping days"
        );
    }
    eprintln!(
        "retention crash harness: {trials} trials of {DAYS} days ({} dropped each), {killed} killed, {cut_short} part-way through dropping, none half-dropped ({:.0} s; a full run {:.0} ms)",
        days.iter().filter(|d| **d < cut).count(),
        started.elapsed().as_secs_f64(),
        full_run.as_secs_f64() * 1000.0
    );
}
