//! PostgreSQL backend: data and keys in two schemas of one database (defaults `datavow`
//! and `datavow_keys`), each with its own migrations. Several `datavow serve` nodes may
//! share the database; background jobs take transaction-scoped advisory locks.

use crate::point_reads::{PgPointReads, PointReadsRef, IDLE_CHECK};
use crate::shared::{
    audit_record, impl_account_store, impl_audit_and_operator_store, impl_key_store,
    impl_person_store, operator_row, AuditRow, OperatorTuple,
};
use crate::{JobLock, JobLocks, LockInner, StoreError};
use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// The PostgreSQL data store.
#[derive(Debug, Clone)]
pub struct PgStore {
    pub(crate) pool: PgPool,
    reads: Arc<PgPointReads>,
    /// Connections that hold background jobs' locks (a transaction each, for the
    /// job's whole run), apart from the pool that serves requests.
    locks: PgPool,
    schema: String,
}

/// The PostgreSQL keystore.
#[derive(Debug, Clone)]
pub struct PgKeyStore {
    pub(crate) pool: PgPool,
    reads: Arc<PgPointReads>,
    schema: String,
}

/// A schema name we can splice into SQL: lower-case letters, digits and `_`.
fn checked_schema(schema: &str) -> Result<&str, StoreError> {
    let ok = !schema.is_empty()
        && schema.len() <= 63
        && schema.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(schema)
    } else {
        Err(StoreError::BadUrl(format!(
            "schema name `{schema}` must be lower-case letters, digits and _"
        )))
    }
}

/// Connects a pool whose `search_path` is `schema`, creating the schema first, and
/// the point reads' connections to the same schema; returns their options too.
pub(crate) async fn connect(
    url: &SecretString,
    schema: &str,
) -> Result<(PgPool, Arc<PgPointReads>, PgConnectOptions), StoreError> {
    let schema = checked_schema(schema)?;
    let base = PgConnectOptions::from_str(url.expose_secret())
        .map_err(|e| StoreError::BadUrl(redact_url_error(&e.to_string(), url)))?
        .disable_statement_logging();
    let unreachable = |e: sqlx::Error| StoreError::Unreachable {
        host: base.get_host().to_owned(),
        port: base.get_port(),
        reason: redact_url_error(&e.to_string(), url),
    };
    let mut setup = base.connect().await.map_err(unreachable)?;
    sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
        .execute(&mut setup)
        .await?;
    drop(setup);
    let options = base.clone().options([("search_path", schema)]);
    let reads = Arc::new(PgPointReads::new(options.clone(), pool_size() as usize));
    let pool = PgPoolOptions::new()
        .max_connections(pool_size())
        .acquire_timeout(Duration::from_secs(3))
        // sqlx pings a connection on every acquire by default: a second round trip for
        // each statement. A connection busy a moment ago is alive; one idle longer is
        // checked first (and replaced if the server has gone).
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > IDLE_CHECK {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .connect_with(options.clone())
        .await
        .map_err(unreachable)?;
    Ok((pool, reads, options))
}

/// Connections per pool (a node has four: data and keys, each a sqlx pool and the
/// point reads'): two per core of this node, at least 4 and at most 16. Three 2-core
/// nodes hold at most 48 of PostgreSQL's default 100 connections, and a node does not
/// queue more work on the server than its own cores hand over (4 beat 8 per pool in
/// `me_backends`: fewer server processes competing for the same cores).
fn pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    u32::try_from(cores * 2).unwrap_or(16).clamp(4, 16)
}

/// Keeps a password in the URL out of error messages.
fn redact_url_error(message: &str, url: &SecretString) -> String {
    let url = url.expose_secret();
    match url
        .find('@')
        .and_then(|at| url[..at].rfind(':').map(|c| (c, at)))
    {
        Some((colon, at)) if colon > url.find("://").map_or(0, |i| i + 2) => {
            message.replace(&url[colon + 1..at], "***")
        }
        _ => message.to_owned(),
    }
}

impl PgStore {
    /// The SQL placeholder of the `i`-th (from 1) parameter of a statement built at run
    /// time.
    pub(crate) fn param(i: usize) -> String {
        format!("${i}")
    }

    /// Connects, creates `schema` if needed and runs the data migrations.
    pub async fn open(url: &SecretString, schema: &str) -> Result<Self, StoreError> {
        let (pool, reads, options) = connect(url, schema).await?;
        sqlx::migrate!("./migrations/postgres/data")
            .run(&pool)
            .await?;
        // Opened as jobs run, closed when idle: a node runs at most `JOBS_AT_ONCE`
        // jobs at a time (`core::jobs`), one more for a job run by hand.
        let locks = PgPoolOptions::new()
            .max_connections(3)
            .min_connections(0)
            .idle_timeout(Duration::from_secs(60))
            .acquire_timeout(Duration::from_secs(3))
            .connect_lazy_with(options);
        Ok(PgStore {
            pool,
            reads,
            locks,
            schema: schema.to_owned(),
        })
    }
}

impl PgKeyStore {
    /// Connects, creates `schema` if needed and runs the keystore migrations.
    pub async fn open(url: &SecretString, schema: &str) -> Result<Self, StoreError> {
        let (pool, reads, _) = connect(url, schema).await?;
        sqlx::migrate!("./migrations/postgres/keys")
            .run(&pool)
            .await?;
        Ok(PgKeyStore {
            pool,
            reads,
            schema: schema.to_owned(),
        })
    }

    async fn compact_remnants(&self) -> Result<(), StoreError> {
        // VACUUM FULL rewrites the tables into new files, so deleted keys do not linger
        // in dead tuples. The tables are small; the lock is brief.
        let schema = checked_schema(&self.schema)?;
        for table in ["person_keys", "named_keys"] {
            // One statement per call: several would run as one implicit transaction,
            // which VACUUM refuses.
            sqlx::raw_sql(&format!("VACUUM FULL {schema}.{table}"))
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }
}

impl PgStore {
    /// The long reads of `sqlite_reads` go through the pool here.
    pub(crate) fn point_reads(&self) -> Option<&std::sync::Arc<crate::sqlite_reads::PointReads>> {
        None
    }

    /// The hot point reads, on connections of their own (see `point_reads`).
    pub(crate) fn hot_reads(&self) -> PointReadsRef<'_> {
        PointReadsRef::Postgres(&self.reads)
    }

    /// Audit appends go through the pool too (see `sqlite_audit`).
    pub(crate) fn audit_appender(
        &self,
    ) -> Option<&std::sync::Arc<crate::sqlite_audit::AuditAppender>> {
        None
    }
}

impl PgKeyStore {
    /// The hot point reads, on connections of their own (see `point_reads`).
    pub(crate) fn hot_reads(&self) -> PointReadsRef<'_> {
        PointReadsRef::Postgres(&self.reads)
    }
}

impl_person_store!(PgStore);
impl_audit_and_operator_store!(PgStore, sqlx::Postgres);
impl_account_store!(PgStore);
crate::policy_texts::impl_policy_text_store!(PgStore);
crate::console::impl_console_store!(PgStore);
crate::stats::impl_stats_store!(PgStore);
crate::browser::impl_browser_store!(PgStore, pg_day_partition);

/// A day's partition of `browser_blocks` on PostgreSQL.
fn pg_day_partition(day: chrono::NaiveDate) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} PARTITION OF browser_blocks FOR VALUES IN ('{}')",
        crate::browser::day_table(day),
        day.format("%Y-%m-%d")
    )
}

impl_key_store!(PgKeyStore);

#[async_trait]
impl JobLocks for PgStore {
    #[tracing::instrument(skip_all)]
    async fn try_lock(&self, job: &str, _lease: Duration) -> Result<Option<JobLock>, StoreError> {
        let mut tx = self.locks.begin().await?;
        // Advisory locks are per database; the schema keeps test schemas apart.
        let taken: bool =
            sqlx::query_scalar("SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))")
                .bind(format!("datavow:{}:{job}", self.schema))
                .fetch_one(&mut *tx)
                .await?;
        if taken {
            Ok(Some(JobLock(LockInner::Postgres(tx))))
        } else {
            tx.rollback().await?;
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_the_url_is_kept_out_of_errors() {
        let url = SecretString::from("postgres://app:s3cret@db.example:5432/datavow");
        let msg = redact_url_error("password authentication failed: s3cret", &url);
        assert!(!msg.contains("s3cret"), "{msg}");
    }

    #[test]
    fn schema_names_that_could_inject_sql_are_refused() {
        for bad in ["", "Datavow", "a;drop", "x-y", "1abc", "a b"] {
            assert!(checked_schema(bad).is_err(), "{bad:?}");
        }
        assert!(checked_schema("datavow_keys").is_ok());
    }
}
