//! `datavow policy`: validate a policy file, publish versions of its text, list them,
//! and generate the record of processing activities.

use crate::config::Config;
use anyhow::Context;
use datavow_core::policy_versions::{self, Publication, PublishOutcome};
use datavow_policy::{Policy, PolicyLoadError};
use std::path::Path;
use std::process::ExitCode;

/// Validates `file` (the bundled policy when `None`). Mistakes are returned as an
/// error, which exits with code 2.
#[allow(clippy::print_stdout)]
pub fn check(file: Option<&Path>) -> anyhow::Result<ExitCode> {
    let policy = load(file)?;
    println!(
        "{}: valid. {} version {} (effective {}), {} entities, {} categories, {} purposes, {} recipients, texts in {}; privacy contact {}",
        policy.origin,
        policy.name,
        policy.version,
        policy.effective_date,
        policy.entities().count(),
        datavow_policy::Category::ALL.len(),
        datavow_policy::Purpose::ALL.len(),
        policy.recipients().len(),
        if policy.texts().is_empty() {
            "no language".to_owned()
        } else {
            policy.texts().keys().cloned().collect::<Vec<_>>().join(", ")
        },
        policy.privacy_contact,
    );
    Ok(ExitCode::SUCCESS)
}

fn load(file: Option<&Path>) -> Result<Policy, PolicyLoadError> {
    match file {
        Some(path) => Policy::load(path),
        None => Policy::bundled().map_err(PolicyLoadError::from),
    }
}

/// `--effective`: a date (its start in UTC) or an RFC 3339 instant.
fn effective_at(text: &str) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    super::moment("--effective", text).map_err(|_| {
        anyhow::anyhow!(
            "--effective must be a date (2026-12-01) or an RFC 3339 instant (2026-12-01T00:00:00+01:00)"
        )
    })
}

/// Publishes `file` as a version of the policy text.
#[allow(clippy::print_stdout)]
pub async fn publish(
    config: &Config,
    file: &Path,
    effective: &str,
    version: Option<String>,
    lang: String,
    material: bool,
) -> anyhow::Result<ExitCode> {
    let effective_at = effective_at(effective)?;
    let body =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let version = version.unwrap_or_else(|| effective_at.format("%Y-%m-%d").to_string());
    let app = super::open(config).await?;
    let publication = Publication {
        version: version.clone(),
        lang: lang.clone(),
        effective_at,
        material,
        body,
    };
    let now = chrono::Utc::now();
    let outcome =
        policy_versions::publish(&app, &datavow_core::Principal::shell(), publication, now).await?;
    let versions = policy_versions::versions(&app).await?;
    let at = versions
        .get(&version)
        .map(|v| v.effective_at)
        .unwrap_or(effective_at);
    match outcome {
        PublishOutcome::AlreadyPublished => {
            println!(
                "version {version} ({lang}) is published already with this text; nothing changed"
            );
        }
        PublishOutcome::Published => {
            println!(
                "published version {version} ({lang}), {} {}{}",
                if at <= now {
                    "in force since"
                } else {
                    "takes effect at"
                },
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                if material {
                    "; people who accepted an earlier version see a notice, and get a mail where mail is configured"
                } else {
                    "; not material: no notice, no mail"
                }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Lists the published versions.
#[allow(clippy::print_stdout)]
pub async fn versions(config: &Config) -> anyhow::Result<ExitCode> {
    let app = super::open(config).await?;
    let versions = policy_versions::versions(&app).await?;
    let now = chrono::Utc::now();
    let in_force = versions.in_force(now).map(|v| v.version.clone());
    if versions.all().is_empty() {
        println!("no policy text is published (the policy file names none; publish one with `datavow policy publish`)");
    }
    for v in versions.all() {
        let state = if in_force.as_deref() == Some(v.version.as_str()) {
            "in force"
        } else if v.effective_at > now {
            "scheduled"
        } else {
            "past"
        };
        println!(
            "{:<20} {}  {:<9} {:<12} {}",
            v.version,
            v.effective_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            state,
            if v.material { "material" } else { "minor" },
            v.langs.join(",")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Formats of [`ropa`].
#[derive(Debug, Clone, Copy)]
pub enum RopaFormat {
    Html,
    Json,
    Fides,
}

/// Prints the record of processing activities of `file`'s policy.
#[allow(clippy::print_stdout)]
pub fn ropa(file: Option<&Path>, format: RopaFormat) -> anyhow::Result<ExitCode> {
    let policy = load(file)?;
    let ropa = datavow_core::ropa::generate(&policy, chrono::Utc::now());
    let text = match format {
        RopaFormat::Html => datavow_server::pages::ropa_html(&ropa),
        RopaFormat::Json => serde_json::to_string_pretty(&ropa)?,
        RopaFormat::Fides => serde_json::to_string_pretty(&ropa.to_fides())?,
    };
    println!("{text}");
    Ok(ExitCode::SUCCESS)
}
