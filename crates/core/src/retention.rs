//! Retention on demand (`datavow retention apply`): the work of the hourly
//! `browser-retention` and `class-retention` jobs, run once under the same job locks,
//! so it never runs beside those jobs on any node.
//!
//! Invariants: keys are destroyed (audited) before their rows are dropped, so a run cut
//! short leaves nothing readable that should be gone, and the next run finishes it; on
//! SQLite the locks of a run that was killed are taken back by the next run.

use crate::erasure::ErasureError;
use crate::Datavow;
use chrono::{DateTime, NaiveDate, Utc};
use datavow_store::{JobLock, StoreError};
use datavow_vault::VaultError;
use std::time::Duration;

/// The job that drops browser days past retention.
pub const BROWSER_JOB: &str = "browser-retention";
/// The job that ends retention classes whose period ended.
pub const CLASS_JOB: &str = "class-retention";

/// What one retention run did, or in a dry run would do.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RetentionReport {
    /// Nothing was changed: the report says what a run would do.
    pub dry_run: bool,
    /// Browser days dropped whole, with their keys.
    pub days_dropped: Vec<NaiveDate>,
    /// Visitor salts destroyed (a dry run does not count them).
    pub salts_destroyed: u64,
    /// Retention classes ended (their keys destroyed, their records deleted).
    pub classes_ended: usize,
}

/// Why retention did not run. No personal data in messages.
#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error(
        "a retention job is running now, on this or another node; try again when it has finished"
    )]
    Busy,
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Erasure(#[from] ErasureError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

async fn lock(app: &Datavow, job: &str) -> Result<JobLock, RetentionError> {
    app.stores
        .locks
        .try_lock(job, Duration::from_secs(3600))
        .await?
        .ok_or(RetentionError::Busy)
}

/// What [`apply`] would drop and end at `now`; changes nothing.
pub async fn preview(app: &Datavow, now: DateTime<Utc>) -> Result<RetentionReport, RetentionError> {
    Ok(RetentionReport {
        dry_run: true,
        days_dropped: crate::browser::days_past_retention(app, now).await?,
        salts_destroyed: 0,
        classes_ended: app
            .vault
            .expired_classes(now.timestamp_micros())
            .await?
            .len(),
    })
}

/// Applies the policy's retention as at `now`. See the module documentation.
pub async fn apply(app: &Datavow, now: DateTime<Utc>) -> Result<RetentionReport, RetentionError> {
    let browser = lock(app, BROWSER_JOB).await?;
    let classes = match lock(app, CLASS_JOB).await {
        Ok(lock) => lock,
        Err(e) => {
            browser.release().await?;
            return Err(e);
        }
    };
    let result = async {
        let pass = crate::browser::apply_retention(app, now).await?;
        let classes_ended = crate::erasure::end_expired_classes(app, now).await?;
        Ok(RetentionReport {
            dry_run: false,
            days_dropped: pass.days_dropped,
            salts_destroyed: pass.salts_destroyed,
            classes_ended,
        })
    }
    .await;
    classes.release().await?;
    browser.release().await?;
    result
}
