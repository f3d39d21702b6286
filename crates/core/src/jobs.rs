//! Background jobs. Each runs on a fixed interval; before running, a node takes the
//! job's database lock, so when several `datavow serve` nodes share one PostgreSQL
//! database a job never runs on two of them at once. Jobs [`ONCE_PER_CLUSTER`] apart or
//! more also run once per interval in all: a node that takes the lock skips the run
//! when the store says a node finished one successfully less than half an interval ago
//! (a failed run is tried again at the next tick of any node).

use crate::Datavow;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

type JobFuture = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;

/// A job: a name (its lock), an interval and what to do.
pub struct Job {
    pub name: &'static str,
    pub every: Duration,
    run: Arc<dyn Fn(Datavow) -> JobFuture + Send + Sync>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("name", &self.name)
            .field("every", &self.every)
            .finish()
    }
}

impl Job {
    pub fn new<F, Fut>(name: &'static str, every: Duration, run: F) -> Job
    where
        F: Fn(Datavow) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        Job {
            name,
            every,
            run: Arc::new(move |app| Box::pin(run(app))),
        }
    }
}

/// The jobs every `serve` node runs.
pub fn standard_jobs() -> Vec<Job> {
    vec![
        Job::new(
            "stats-rollup",
            Duration::from_secs(3600),
            |app: Datavow| async move {
                let made = crate::stats::roll_up_past_days(&app).await?;
                tracing::info!(days = made, "statistics roll-ups computed");
                Ok(())
            },
        ),
        Job::new(
            "account-upkeep",
            Duration::from_secs(3600),
            |app: Datavow| async move {
                let filled = crate::accounts::fill_account_countries(&app).await?;
                if filled > 0 {
                    tracing::info!(accounts = filled, "account countries filled in");
                }
                Ok(())
            },
        ),
        Job::new(
            "audit-verify",
            Duration::from_secs(24 * 3600),
            |app: Datavow| async move {
                crate::audit::verify_and_record(&app).await?;
                Ok(())
            },
        ),
        Job::new(
            "audit-prune",
            Duration::from_secs(24 * 3600),
            |app: Datavow| async move {
                let pass = crate::audit::prune(&app, chrono::Utc::now(), false).await?;
                tracing::info!(
                    deleted = pass.deleted,
                    through = pass.range.map(|(_, last)| last),
                    "audit entries past their retention pruned"
                );
                Ok(())
            },
        ),
        Job::new(
            "keystore-compaction",
            Duration::from_secs(3600),
            |app: Datavow| async move {
                app.vault.compact_keystore().await?;
                Ok(())
            },
        ),
        Job::new(
            crate::retention::BROWSER_JOB,
            Duration::from_secs(3600),
            |app: Datavow| async move {
                let pass = crate::browser::apply_retention(&app, chrono::Utc::now()).await?;
                tracing::info!(
                    days_dropped = pass.days_dropped.len(),
                    salts_destroyed = pass.salts_destroyed,
                    "browser data retention"
                );
                Ok(())
            },
        ),
        Job::new(
            crate::retention::CLASS_JOB,
            Duration::from_secs(3600),
            |app: Datavow| async move {
                let ended = crate::erasure::end_expired_classes(&app, chrono::Utc::now()).await?;
                tracing::info!(
                    classes_ended = ended,
                    "retention classes whose period ended"
                );
                Ok(())
            },
        ),
        Job::new(
            "mail-delivery",
            Duration::from_secs(5),
            |app: Datavow| async move {
                if app.mail_configured() {
                    let pass = crate::mail::deliver_due(&app, chrono::Utc::now()).await?;
                    if pass != crate::mail::DeliverySummary::default() {
                        tracing::info!(
                            sent = pass.sent,
                            retried = pass.retried,
                            dead = pass.dead,
                            "mail delivery"
                        );
                    }
                }
                Ok(())
            },
        ),
        Job::new(
            "policy-announcements",
            Duration::from_secs(60),
            |app: Datavow| async move {
                let queued = crate::policy_versions::announce_due(&app, chrono::Utc::now()).await?;
                if queued > 0 {
                    tracing::info!(queued, "policy change announcements queued");
                }
                Ok(())
            },
        ),
        Job::new(
            "orphan-keys",
            Duration::from_secs(3600),
            |app: Datavow| async move {
                let destroyed =
                    crate::erasure::destroy_orphan_keys(&app, chrono::Utc::now()).await?;
                if destroyed > 0 {
                    tracing::info!(destroyed, "data keys of records never stored destroyed");
                }
                Ok(())
            },
        ),
        Job::new(
            "expired-sessions",
            Duration::from_secs(600),
            |app: Datavow| async move {
                let now = chrono::Utc::now().timestamp_micros();
                let removed = app.stores.accounts.delete_expired_sessions(now).await?;
                tracing::debug!(removed, "expired sessions removed");
                let window =
                    i64::try_from(crate::accounts::REPLAY_WINDOW.as_micros()).unwrap_or(i64::MAX);
                let replays = app
                    .stores
                    .accounts
                    .delete_signup_replays_before(now.saturating_sub(window))
                    .await?;
                tracing::debug!(replays, "sign-up answers past their window removed");
                Ok(())
            },
        ),
    ]
}

/// Jobs at least this far apart run once per interval across all nodes (see the
/// module documentation); shorter ones (mail delivery) run on each node's tick.
pub const ONCE_PER_CLUSTER: Duration = Duration::from_secs(600);

/// The `last_runs` kind under which a job's last run is recorded.
fn run_kind(job: &Job) -> String {
    format!("job:{}", job.name)
}

/// Whether some node finished `job` successfully less than half an interval ago.
async fn ran_recently(app: &Datavow, job: &Job) -> Result<bool, datavow_store::StoreError> {
    let kind = run_kind(job);
    let half = i64::try_from(job.every.as_micros() / 2).unwrap_or(i64::MAX);
    let now = chrono::Utc::now().timestamp_micros();
    Ok(app
        .stores
        .console
        .last_runs()
        .await?
        .iter()
        .any(|run| run.kind == kind && run.ok && now.saturating_sub(run.at_micros) < half))
}

/// How a single attempt to run a job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    Ran,
    /// Another node holds the job's lock.
    Skipped,
    Failed,
}

/// Runs `job` once if this node can take its lock.
pub async fn run_once(app: &Datavow, job: &Job) -> RunOutcome {
    let lease = job.every.max(Duration::from_secs(60));
    let lock = match app.stores.locks.try_lock(job.name, lease).await {
        Ok(Some(lock)) => lock,
        Ok(None) => return RunOutcome::Skipped,
        Err(err) => {
            tracing::error!(job = job.name, error = %err, "could not take the job lock");
            return RunOutcome::Failed;
        }
    };
    let once = job.every >= ONCE_PER_CLUSTER;
    let recent = if once {
        ran_recently(app, job).await
    } else {
        Ok(false)
    };
    let outcome = match recent {
        Ok(true) => {
            tracing::debug!(job = job.name, "skipped: another node ran it lately");
            RunOutcome::Skipped
        }
        Ok(false) => run_locked(app, job, once).await,
        Err(err) => {
            tracing::error!(job = job.name, error = %err, "could not read the job's last run");
            RunOutcome::Failed
        }
    };
    if let Err(err) = lock.release().await {
        tracing::warn!(job = job.name, error = %err, "could not release the job lock; it expires on its own");
    }
    outcome
}

/// Runs `job` under its lock; records the run for the other nodes when `once`.
async fn run_locked(app: &Datavow, job: &Job, once: bool) -> RunOutcome {
    let outcome = match (job.run)(app.clone()).await {
        Ok(()) => {
            metrics::counter!("datavow_jobs_runs_total", "job" => job.name, "outcome" => "ok")
                .increment(1);
            tracing::info!(job = job.name, "background job ran");
            RunOutcome::Ran
        }
        Err(err) => {
            metrics::counter!("datavow_jobs_runs_total", "job" => job.name, "outcome" => "error")
                .increment(1);
            tracing::error!(job = job.name, error = %err, "background job failed");
            RunOutcome::Failed
        }
    };
    if once {
        let ok = outcome == RunOutcome::Ran;
        if let Err(err) = crate::console::record_run(app, &run_kind(job), ok, "").await {
            tracing::warn!(job = job.name, error = %err, "could not record the job's run");
        }
    }
    outcome
}

/// Jobs a node runs at the same time; the others wait for their turn. Each running job
/// holds its lock (on PostgreSQL a connection, apart from the requests' pool) and
/// works beside the requests, so a node starting up does not run all of them at once.
pub const JOBS_AT_ONCE: usize = 2;

/// Runs `jobs` on their intervals until `shutdown` turns true; then waits for running
/// jobs to finish.
pub async fn run_until(app: Datavow, jobs: Vec<Job>, shutdown: watch::Receiver<bool>) {
    let mut set = JoinSet::new();
    let turns = Arc::new(tokio::sync::Semaphore::new(JOBS_AT_ONCE));
    for job in jobs {
        let app = app.clone();
        let turns = turns.clone();
        let mut shutdown = shutdown.clone();
        set.spawn(async move {
            let mut ticker = tokio::time::interval(job.every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticker.tick() => {
                        let Ok(_turn) = turns.acquire().await else { break };
                        run_once(&app, &job).await;
                    }
                    _ = stopped(&mut shutdown) => break,
                }
            }
        });
    }
    while set.join_next().await.is_some() {}
}

/// Completes once `shutdown` is true or its sender is gone.
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow_and_update() {
            return;
        }
        if shutdown.changed().await.is_err() {
            return;
        }
    }
}
