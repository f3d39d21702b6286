//! `datavow audit verify|show`: the privacy officer's view of the audit log.

use crate::config::Config;
use anyhow::Context;
use chrono::{TimeZone, Utc};
use datavow_vault::{IndexKind, VaultError};
use std::process::ExitCode;

/// Verifies the whole chain: exit 0 with counts, or 1 naming the first bad entry.
#[allow(clippy::print_stdout)]
pub async fn verify(config: &Config) -> anyhow::Result<ExitCode> {
    let app = super::open(config).await?;
    let report = app.audit.verify().await?;
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
    let actor = super::cli_actor();
    let person = match uuid::Uuid::parse_str(subject) {
        Ok(id) => Some(id),
        Err(_) if subject.contains('@') => {
            app.vault.find(&actor, IndexKind::Email, subject).await?
        }
        Err(_) => app.vault.find(&actor, IndexKind::UserId, subject).await?,
    };
    let Some(person) = person else {
        println!("no person matches that email, userID or id");
        return Ok(ExitCode::FAILURE);
    };
    let tag = match app.vault.subject_tag(person).await {
        Ok(tag) => tag,
        Err(VaultError::Shredded) => {
            println!("this person was erased: their audit entries can no longer be linked to them");
            return Ok(ExitCode::SUCCESS);
        }
        Err(err) => return Err(err).context("cannot derive the person's audit tag"),
    };
    let entries = app.audit.for_subject(&tag, limit).await?;
    println!(
        "{} entries about subject {tag} (newest first)",
        entries.len()
    );
    for record in entries {
        let e = record.entry;
        let at = Utc
            .timestamp_micros(e.at_micros)
            .single()
            .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
            .unwrap_or_default();
        println!(
            "#{:<8} {at}  {:<32} {:<8} {:<20} {:<9} {}",
            record.seq,
            e.actor,
            e.action,
            e.purpose.unwrap_or_else(|| "-".into()),
            e.outcome,
            if e.fields.is_empty() {
                e.detail.unwrap_or_default()
            } else {
                e.fields
            },
        );
    }
    Ok(ExitCode::SUCCESS)
}
