//! `datavow stats report|release`: reports for operators, de-identified releases for
//! third parties (P10).

use crate::config::Config;
use anyhow::Context;
use chrono::NaiveDate;
use datavow_core::stats::{self, release, By};
use datavow_core::Principal;
use std::path::Path;
use std::process::ExitCode;

#[allow(clippy::print_stdout, reason = "the report is the command's output")]
pub async fn report(
    config: &Config,
    report: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> anyhow::Result<ExitCode> {
    let app = super::open(config).await?;
    let by = Principal::shell();
    let table = stats::report(&app, By::Owner(&by), report, from, to).await?;
    print!("{}", table.csv());
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::print_stdout, reason = "the summary is the command's output")]
pub async fn release(
    config: &Config,
    report: String,
    from: NaiveDate,
    to: NaiveDate,
    k: u64,
    epsilon: Option<String>,
    out: &Path,
) -> anyhow::Result<ExitCode> {
    let app = super::open(config).await?;
    let by = Principal::shell();
    let request = release::Request {
        report,
        from,
        to,
        k,
        epsilon,
    };
    let made = release::release(&app, &by, &request).await?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let name = format!("{}-{from}-{to}-{}", made.report, &made.id[..8]);
    let csv = out.join(format!("{name}.csv"));
    let json = out.join(format!("{name}.json"));
    std::fs::write(&csv, made.csv()).with_context(|| format!("cannot write {}", csv.display()))?;
    let text = serde_json::to_string_pretty(&made.json())?;
    std::fs::write(&json, text).with_context(|| format!("cannot write {}", json.display()))?;
    println!(
        "release {}: {} of {} cells released ({} suppressed)",
        made.id,
        made.cells.len(),
        made.manifest["cells_considered"],
        made.manifest["cells_suppressed"]
    );
    println!("wrote {} and {}", csv.display(), json.display());
    Ok(ExitCode::SUCCESS)
}
