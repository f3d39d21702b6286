//! `datavow retention apply`: the retention jobs' work, once, now.

use crate::config::Config;
use std::process::ExitCode;

/// Applies retention as at `now` (default: now) and says what went, or with `dry_run`
/// what would go.
#[allow(clippy::print_stdout)]
pub async fn apply(
    config: &Config,
    now: Option<&str>,
    dry_run: bool,
    as_json: bool,
) -> anyhow::Result<ExitCode> {
    let now = super::moment_or_now("--now", now)?;
    let app = super::open(config).await?;
    let report = if dry_run {
        datavow_core::retention::preview(&app, now).await?
    } else {
        datavow_core::retention::apply(&app, now).await?
    };
    if as_json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    let verb = if dry_run {
        "would be dropped"
    } else {
        "dropped"
    };
    let days = &report.days_dropped;
    match (days.first(), days.last()) {
        (Some(first), Some(last)) if first == last => {
            println!("browser data: 1 day past retention {verb} with its key ({first})");
        }
        (Some(first), Some(last)) => println!(
            "browser data: {} days past retention {verb} with their keys ({first} to {last})",
            days.len()
        ),
        _ => println!("browser data: no day past retention"),
    }
    if dry_run {
        println!(
            "retention classes that would end: {}\nnothing was changed (dry run)",
            report.classes_ended
        );
    } else {
        println!(
            "visitor salts destroyed: {}\nretention classes ended: {}",
            report.salts_destroyed, report.classes_ended
        );
    }
    Ok(ExitCode::SUCCESS)
}
