//! `datavow audit verify|show`: the privacy officer's view of the audit log.

use crate::config::Config;
use anyhow::Context;
use datavow_core::persons::{self, PersonKey, PersonsError};
use datavow_core::{Principal, VaultError};
use std::process::ExitCode;

/// Verifies the whole chain: exit 0 with counts, or 1 naming the first bad entry.
#[allow(clippy::print_stdout)]
pub async fn verify(config: &Config) -> anyhow::Result<ExitCode> {
    let app = super::open(config).await?;
    let report = app.audit_log().verify().await?;
    let detail = match &report.broken {
        None => format!(
            "{} entries, {} signed checkpoints",
            report.entries, report.checkpoints
        ),
        Some(broken) => format!("broken at entry {}", broken.seq),
    };
    datavow_core::console::record_run(
        &app,
        datavow_core::console::home::AUDIT_VERIFY,
        report.broken.is_none(),
        &detail,
    )
    .await?;
    match report.broken {
        None => {
            println!(
                "audit log intact: {} entries, {} signed checkpoints",
                report.entries, report.checkpoints
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(broken) => {
            println!(
                "audit log BROKEN at entry {}: {}",
                broken.seq, broken.reason
            );
            println!(
                "{} entries before it verified; {} checkpoints",
                report.entries, report.checkpoints
            );
            Ok(ExitCode::FAILURE)
        }
    }
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
