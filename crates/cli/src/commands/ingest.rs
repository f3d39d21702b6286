//! `datavow ingest [--format F | --log-format STRING] [FILE|-]`: reads an access log
//! into the browser-data store and prints the format it read and what became of every
//! line. A named file is read from where the last run stopped (each line stored once);
//! standard input is read whole. A progress bar is drawn on
//! standard error when it is a terminal, never when output is piped.

use crate::config::Config;
use anyhow::Context;
use datavow_core::browser::{BrowserIngest, IngestSummary, InputFormat};
use std::io::{BufReader, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The input's buffer: smaller than the ingest's own reads, so those bypass it and the
/// bytes are copied once.
const READ_BUFFER: usize = 64 * 1024;

/// Ingests `file` (standard input for `-` or none).
pub async fn run(
    config: &Config,
    format: InputFormat,
    file: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    // A named file is read after what earlier runs stored from it; a stream whole.
    let path = file.filter(|f| f.as_path() != Path::new("-"));
    let size = match &path {
        Some(path) => Some(
            std::fs::metadata(path)
                .with_context(|| format!("cannot open {}", path.display()))?
                .len(),
        ),
        None => None,
    };
    // Compiling the user-agent regexes takes a while: done while the store opens.
    let agents = {
        let regexes = config.user_agent_regexes.clone();
        std::thread::spawn(move || super::user_agents(&regexes))
    };
    let app = super::open(config).await?;
    let agents = agents
        .join()
        .map_err(|_| anyhow::anyhow!("loading the user-agent regexes failed"))??;
    let ingest = BrowserIngest::new(&app, agents, super::geo_database(config)?);
    let progress = Arc::new(AtomicU64::new(0));
    let bar = std::io::stderr().is_terminal().then(|| progress_bar(size));
    let ticker = bar.clone().map(|bar| {
        let progress = progress.clone();
        tokio::spawn(async move {
            loop {
                bar.set_position(progress.load(Ordering::Relaxed));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    });
    let started = Instant::now();
    let by = datavow_core::Principal::shell();
    let result = match &path {
        Some(path) => ingest
            .ingest_file(&by, path, format, progress.clone())
            .await
            .with_context(|| format!("reading {}", path.display())),
        None => {
            let stdin = Box::new(BufReader::with_capacity(READ_BUFFER, std::io::stdin()));
            ingest
                .ingest(&by, stdin, format, progress.clone())
                .await
                .map(|summary| (summary, 0))
                .map_err(anyhow::Error::new)
        }
    };
    if let Some(ticker) = ticker {
        ticker.abort();
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    app.audit_log().checkpoint().await.ok();
    let source = if path.is_some() {
        "ingest:file"
    } else {
        "ingest:stdin"
    };
    let outcome = match &result {
        Ok((summary, _)) => (
            true,
            format!(
                "{} lines read, {} stored, {} rejected",
                summary.read,
                summary.stored,
                summary.rejected_total()
            ),
        ),
        Err(_) => (false, "stopped by an error".to_owned()),
    };
    datavow_core::console::record_run(&app, source, outcome.0, &outcome.1)
        .await
        .ok();
    let (summary, skipped) = result.context("ingest stopped")?;
    if skipped > 0 {
        print_resumed(skipped);
    }
    print_summary(&summary, started.elapsed());
    Ok(ExitCode::SUCCESS)
}

fn progress_bar(size: Option<u64>) -> indicatif::ProgressBar {
    use indicatif::{ProgressBar, ProgressStyle};
    match size {
        Some(size) => ProgressBar::new(size).with_style(
            ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {bytes} read, {bytes_per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    }
}

/// Thousands separated by commas, for counts people read.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[allow(clippy::print_stdout, reason = "the summary is the command's output")]
fn print_resumed(skipped: u64) {
    println!(
        "resumed:    after {} bytes stored by an earlier run",
        grouped(skipped)
    );
}

#[allow(clippy::print_stdout, reason = "the summary is the command's output")]
fn print_summary(summary: &IngestSummary, elapsed: Duration) {
    let secs = elapsed.as_secs_f64().max(1e-9);
    match (summary.format, summary.recognised) {
        (Some(format), true) => println!("format:     {format} (recognised from the first lines)"),
        (Some(format), false) => println!("format:     {format}"),
        (None, _) => {}
    }
    println!("lines read: {}", grouped(summary.read));
    println!("stored:     {}", grouped(summary.stored));
    println!("rejected:   {}", grouped(summary.rejected_total()));
    for (reason, n) in &summary.rejected {
        println!("  {:>10}  {reason}", grouped(*n));
    }
    println!("took {secs:.2} s ({} lines/s)", rate(summary.read, secs));
}

/// Lines per second, grouped; with a decimal below 10 (a quiet live stream).
fn rate(lines: u64, secs: f64) -> String {
    let per_second = lines as f64 / secs;
    if per_second < 10.0 {
        format!("{per_second:.1}")
    } else {
        grouped(per_second as u64)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_are_grouped_in_thousands() {
        assert_eq!(super::grouped(0), "0");
        assert_eq!(super::grouped(999), "999");
        assert_eq!(super::grouped(1000), "1,000");
        assert_eq!(super::grouped(1234567), "1,234,567");
    }

    #[test]
    fn a_slow_rate_keeps_a_decimal_and_a_fast_one_is_grouped() {
        assert_eq!(super::rate(3, 13.49), "0.2");
        assert_eq!(super::rate(1_000_000, 0.64), "1,562,500");
    }
}
