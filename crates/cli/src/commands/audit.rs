//! `datavow audit verify|prune|show`: the privacy officer's view of the audit log.

use crate::config::Config;
use anyhow::Context;
use datavow_core::persons::{self, PersonKey, PersonsError};
use datavow_core::{Principal, VaultError};
use std::process::ExitCode;

/// Verifies the whole chain: exit 0 with counts, or 1 naming the first bad entry.
#[allow(clippy::print_stdout)]
pub async fn verify(config: &Config) -> anyhow::Result<ExitCode> {
    let app = super::open(config).await?;
    let report = datavow_core::audit::verify_and_record(&app).await?;
    let checkpoints = i64::try_from(report.checkpoints).unwrap_or(i64::MAX);
    let pruned = report
        .pruned
        .map(|(seq, before)| {
            format!(
                " (entries 1 to {seq}, older than {}, pruned behind a signed statement)",
                before.format("%Y-%m-%d")
            )
        })
        .unwrap_or_default();
    match report.broken {
        None => {
            println!(
                "audit log intact: {}, {}{pruned}",
                super::count(report.entries, "entry", "entries"),
                super::count(checkpoints, "signed checkpoint", "signed checkpoints")
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(broken) => {
            println!(
                "audit log BROKEN at entry {}: {}",
                broken.seq, broken.reason
            );
            println!(
                "{} before it verified; {}{pruned}",
                super::count(report.entries, "entry", "entries"),
                super::count(checkpoints, "checkpoint", "checkpoints")
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Prunes entries older than the policy's `[audit] keep` (what the daily
/// `audit-prune` job does), or says what it would prune.
#[allow(clippy::print_stdout)]
pub async fn prune(
    config: &Config,
    dry_run: bool,
    now: Option<&str>,
    as_json: bool,
) -> anyhow::Result<ExitCode> {
    let now = super::moment_or_now("--now", now)?;
    let app = super::open(config).await?;
    let report = datavow_core::audit::prune(&app, now, dry_run).await?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    let Some(before) = report.before else {
        println!("the policy keeps audit entries for ever (no `[audit] keep`): nothing to prune");
        return Ok(ExitCode::SUCCESS);
    };
    let day = before.format("%Y-%m-%d");
    match (report.range, dry_run) {
        (Some((first, last)), true) => {
            println!("would prune entries {first} to {last}, all older than {day}");
        }
        (Some((first, last)), false) => println!(
            "pruned entries {first} to {last}, all older than {day}, behind a signed statement; {} deleted",
            report.deleted
        ),
        (None, _) => println!(
            "no entries older than {day} to prune{}",
            if report.deleted > 0 {
                format!("; {} left by an interrupted run deleted", report.deleted)
            } else {
                String::new()
            }
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// Lists the entries about one person, found by email, userID or person id.
#[allow(clippy::print_stdout)]
pub async fn show(config: &Config, subject: &str, limit: i64) -> anyhow::Result<ExitCode> {
    let app = super::open(config).await?;
    let key = match uuid::Uuid::parse_str(subject) {
        Ok(id) => PersonKey::Id(id),
        Err(_) if subject.contains('@') => PersonKey::Email(subject.to_owned()),
        Err(_) => PersonKey::UserId(subject.to_owned()),
    };
    let entries = match persons::access_log_for_owner(&app, &Principal::shell(), &key, limit).await
    {
        Ok(Some(entries)) => entries,
        Ok(None) => {
            println!("no person matches that email, userID or id");
            return Ok(ExitCode::FAILURE);
        }
        Err(PersonsError::Vault(VaultError::Shredded)) => {
            println!("this person was erased: their audit entries can no longer be linked to them");
            return Ok(ExitCode::SUCCESS);
        }
        Err(err) => return Err(err).context("cannot read the person's access log"),
    };
    println!("{} entries about this person (newest first)", entries.len());
    for e in entries {
        let at = chrono::DateTime::parse_from_rfc3339(&e.at)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
            .unwrap_or_default();
        println!(
            "#{:<8} {at}  {:<32} {:<8} {:<20} {:<9} {}",
            e.seq,
            e.actor,
            e.action,
            e.purpose.unwrap_or_else(|| "-".into()),
            e.outcome,
            if e.fields.is_empty() {
                e.detail.unwrap_or_default()
            } else {
                e.fields.join(",")
            },
        );
    }
    Ok(ExitCode::SUCCESS)
}
