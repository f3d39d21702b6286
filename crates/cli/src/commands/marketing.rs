//! `datavow marketing send`: a campaign to everyone who opted in (P11).

use crate::config::Config;
use anyhow::Context;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

/// Queues the campaign, then hands what is due to the SMTP server; what cannot go now
/// stays queued for the server's `mail-delivery` job.
#[allow(clippy::print_stdout)]
pub async fn send(
    config: &Config,
    subject: String,
    body: &Path,
    segment: Option<String>,
) -> anyhow::Result<ExitCode> {
    let mut bodies = BTreeMap::new();
    let english = std::fs::read_to_string(body)
        .with_context(|| format!("cannot read the body {}", body.display()))?;
    bodies.insert("en".to_owned(), english);
    for lang in ["de", "da"] {
        let path = body.with_file_name(format!(
            "{}.{lang}",
            body.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
        ));
        if let Ok(text) = std::fs::read_to_string(&path) {
            bodies.insert(lang.to_owned(), text);
        }
    }
    let app = super::open(config).await?;
    if !app.mail_configured() {
        anyhow::bail!("mail is not configured: set smtp_url, mail_from and public_url");
    }
    let campaign = datavow_core::mail::Campaign {
        subject,
        bodies,
        segment,
    };
    let by = datavow_core::Principal::shell();
    let summary =
        datavow_core::mail::send_marketing(&app, datavow_core::mail::Sender::Owner(&by), &campaign)
            .await?;
    let delivered = datavow_core::mail::deliver_due(&app, chrono::Utc::now()).await?;
    println!(
        "queued {} (skipped {}: no consent, unsubscribed, erased or outside the segment); \
         handed to the SMTP server now: {}, to retry: {}",
        summary.queued, summary.skipped, delivered.sent, delivered.retried
    );
    Ok(ExitCode::SUCCESS)
}
