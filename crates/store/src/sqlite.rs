//! SQLite backend: `DIR/datavow.db` for data and `DIR/keystore.db` for keys, both in
//! WAL mode with foreign keys on. The keystore also runs with `secure_delete`, so a
//! shredded key's bytes are overwritten in the file, and compaction truncates its WAL.

use crate::shared::{
    audit_record, impl_account_store, impl_audit_and_operator_store, impl_key_store,
    impl_person_store, operator_row, AuditRow, OperatorTuple,
};
use crate::sqlite_audit::AuditAppender;
use crate::sqlite_checkpoint::Checkpointer;
use crate::sqlite_reads::PointReads;
use crate::{JobLock, JobLocks, LockInner, StoreError};
use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// File name of the data store inside the data directory.
pub const DATA_FILE: &str = "datavow.db";
/// File name of the keystore inside the data directory.
pub const KEYSTORE_FILE: &str = "keystore.db";

/// The SQLite data store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
    /// The hot primary-key reads, without sqlx's thread hop (see `sqlite_reads`).
    reads: Arc<PointReads>,
    /// The audit chain's appends, also without the hop (see `sqlite_audit`).
    audit: Arc<AuditAppender>,
    /// Checkpoints the write-ahead log off the appends' path (see `sqlite_checkpoint`).
    _checkpointer: Arc<Checkpointer>,
}

/// The SQLite keystore.
#[derive(Debug, Clone)]
pub struct SqliteKeyStore {
    pub(crate) pool: SqlitePool,
    reads: Arc<PointReads>,
}

/// Creates the data directory readable by its owner only.
fn ensure_private_dir(dir: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::DirBuilderExt;
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| StoreError::Open {
                path: dir.display().to_string(),
                reason: e.to_string(),
            })?;
    }
    Ok(())
}

/// Creates the database file readable by its owner only, if it does not exist yet.
/// SQLite gives its `-wal` and `-shm` files the same mode.
fn ensure_private_file(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    if path.exists() {
        return Ok(());
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map(drop)
        .map_err(|e| StoreError::Open {
            path: path.display().to_string(),
            reason: e.to_string(),
        })
}

/// How long a connection, sqlx's or rusqlite's, waits for another's lock.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A rusqlite connection to the existing database at `path` (opened read-write, never
/// created, so WAL's shared-memory file works as for sqlx's connections), with
/// [`BUSY_TIMEOUT`] and then `pragmas` set. Errors name the file.
pub(crate) fn open_rusqlite(
    path: &Path,
    pragmas: &[(&str, &dyn rusqlite::ToSql)],
) -> Result<rusqlite::Connection, StoreError> {
    let open_error = |e: rusqlite::Error| StoreError::Open {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(open_error)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(open_error)?;
    for (name, value) in pragmas {
        conn.pragma_update(None, name, value).map_err(open_error)?;
    }
    Ok(conn)
}

async fn connect(path: &Path, keystore: bool) -> Result<SqlitePool, StoreError> {
    if let Some(dir) = path.parent() {
        ensure_private_dir(dir)?;
    }
    ensure_private_file(path)?;
    let mut options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT);
    options = if keystore {
        options
            .synchronous(SqliteSynchronous::Full)
            .pragma("secure_delete", "ON")
    } else {
        options.synchronous(SqliteSynchronous::Normal)
    };
    SqlitePoolOptions::new()
        .max_connections(8)
        // A connection to a local file does not go stale; the default ping before
        // every acquire is one more round trip to the connection's worker thread.
        .test_before_acquire(false)
        .connect_with(options)
        .await
        .map_err(|e| StoreError::Open {
            path: path.display().to_string(),
            reason: e.to_string(),
        })
}

impl SqliteStore {
    /// The SQL placeholder of the `i`-th (from 1) parameter of a statement built at run
    /// time. Anonymous: sqlx-sqlite looks each `$N` up by name, which makes a long
    /// `IN (…)` list cost the square of its length; `?` is bound by position.
    pub(crate) fn param(_i: usize) -> String {
        "?".to_owned()
    }

    /// Opens `DIR/datavow.db`, creating it and running migrations as needed.
    pub async fn open(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(DATA_FILE);
        let pool = connect(&path, false).await?;
        sqlx::migrate!("./migrations/sqlite/data")
            .run(&pool)
            .await?;
        let reads = Arc::new(PointReads::open(&path)?);
        let audit = Arc::new(AuditAppender::open(&path)?);
        Ok(SqliteStore {
            pool,
            reads,
            audit,
            _checkpointer: Arc::new(Checkpointer::start(&path)?),
        })
    }

    pub(crate) fn point_reads(&self) -> Option<&Arc<PointReads>> {
        Some(&self.reads)
    }

    pub(crate) fn hot_reads(&self) -> crate::point_reads::PointReadsRef<'_> {
        crate::point_reads::PointReadsRef::Sqlite(&self.reads)
    }

    pub(crate) fn audit_appender(&self) -> Option<&Arc<AuditAppender>> {
        Some(&self.audit)
    }
}

impl SqliteKeyStore {
    /// Opens `DIR/keystore.db`, creating it and running migrations as needed.
    pub async fn open(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(KEYSTORE_FILE);
        let pool = connect(&path, true).await?;
        sqlx::migrate!("./migrations/sqlite/keys")
            .run(&pool)
            .await?;
        let reads = Arc::new(PointReads::open(&path)?);
        Ok(SqliteKeyStore { pool, reads })
    }

    pub(crate) fn hot_reads(&self) -> crate::point_reads::PointReadsRef<'_> {
        crate::point_reads::PointReadsRef::Sqlite(&self.reads)
    }

    async fn compact_remnants(&self) -> Result<(), StoreError> {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

impl_person_store!(SqliteStore);
impl_audit_and_operator_store!(SqliteStore, sqlx::Sqlite);
impl_account_store!(SqliteStore);
crate::policy_texts::impl_policy_text_store!(SqliteStore);
crate::console::impl_console_store!(SqliteStore);
crate::stats::impl_stats_store!(SqliteStore);
crate::browser::impl_browser_store!(SqliteStore, sqlite_day_table);

/// Moves the commits held in the write-ahead logs of `DIR/datavow.db` and
/// `DIR/keystore.db` into the database files and empties the logs, so that the two
/// files alone are a complete copy of the instance. For the end of a process, when
/// nothing of its own is in flight. `wait` is how long to wait for the locks of other
/// connections (this process's, closing; another process's, such as a running
/// server's). Returns `false` when another connection kept part of a log back (the
/// `-wal` files then still hold it).
pub fn fold_write_ahead_logs(dir: &Path, wait: Duration) -> Result<bool, StoreError> {
    let mut folded = true;
    let _turn = crate::sqlite_checkpoint::take_turn();
    for file in [DATA_FILE, KEYSTORE_FILE] {
        let conn = open_rusqlite(&dir.join(file), &[])?;
        conn.busy_timeout(wait)?;
        // (busy, frames in the log, frames moved); busy = 1 when it could not finish.
        let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))?;
        folded &= busy == 0;
    }
    Ok(folded)
}

/// A day's table on SQLite: an ordinary table, dropped whole by retention.
fn sqlite_day_table(day: chrono::NaiveDate) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (day TEXT NOT NULL, block_id BLOB PRIMARY KEY, \
         records INTEGER NOT NULL, meta BLOB NOT NULL, ips BLOB NOT NULL)",
        crate::browser::day_table(day)
    )
}

impl_key_store!(SqliteKeyStore);

/// Who holds a SQLite job lease: `BOOT/PIDNS/PID/RANDOM`, so that a lease left by a
/// process that died (SIGKILL, a crash) can be taken back at once instead of after its
/// lease.
///
/// A SQLite database is used by processes of one machine (SQLite over a network file
/// system is not supported), so the boot id, the process-id namespace and the process
/// id name the holder. Whenever liveness cannot be told (another format, another
/// namespace such as another container, no `/proc`), the holder counts as alive and
/// the lease runs out on its own: a lock is never taken from a live process.
mod lease_holder {
    fn boot_id() -> Option<String> {
        std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .ok()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty() && !s.contains('/'))
    }

    /// This process's pid namespace, as `/proc/self/ns/pid` names it (`pid:[…]`).
    fn pid_namespace() -> Option<String> {
        std::fs::read_link("/proc/self/ns/pid")
            .ok()
            .and_then(|p| p.to_str().map(str::to_owned))
            .filter(|s| !s.contains('/'))
    }

    pub(super) fn new_holder() -> String {
        format!(
            "{}/{}/{}/{}",
            boot_id().unwrap_or_else(|| "unknown".into()),
            pid_namespace().unwrap_or_else(|| "unknown".into()),
            std::process::id(),
            uuid::Uuid::new_v4()
        )
    }

    /// Whether the process that wrote `holder` is certainly gone.
    pub(super) fn is_dead(holder: &str) -> bool {
        let parts: Vec<&str> = holder.splitn(4, '/').collect();
        let [boot, namespace, pid, _] = parts[..] else {
            return false;
        };
        let (Some(own_boot), Some(own_namespace), Ok(pid)) =
            (boot_id(), pid_namespace(), pid.parse::<u32>())
        else {
            return false;
        };
        if boot == "unknown" || namespace == "unknown" {
            return false;
        }
        if boot != own_boot {
            return true; // written before this machine last started
        }
        if namespace != own_namespace || pid == std::process::id() {
            return false;
        }
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            // The state follows the command name in parentheses: Z zombie, X dead.
            Ok(stat) => stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next())
                .is_some_and(|state| state == 'Z' || state == 'X'),
            Err(e) => e.kind() == std::io::ErrorKind::NotFound,
        }
    }
}

#[async_trait]
impl JobLocks for SqliteStore {
    #[tracing::instrument(skip_all)]
    async fn try_lock(&self, job: &str, lease: Duration) -> Result<Option<JobLock>, StoreError> {
        let holder = lease_holder::new_holder();
        let now = chrono::Utc::now().timestamp_millis();
        let expires = now.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
        let taken = sqlx::query(
            "INSERT INTO job_leases (job, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE job_leases.expires_at < $4",
        )
        .bind(job)
        .bind(&holder)
        .bind(expires)
        .bind(now)
        .execute(&self.pool)
        .await?;
        let mut taken = taken.rows_affected() == 1;
        if !taken {
            // Held: taken back if its holder is a process of this machine that died.
            let current: Option<String> =
                sqlx::query_scalar("SELECT holder FROM job_leases WHERE job = $1")
                    .bind(job)
                    .fetch_optional(&self.pool)
                    .await?;
            if let Some(current) = current.filter(|h| lease_holder::is_dead(h)) {
                taken = sqlx::query(
                    "UPDATE job_leases SET holder = $1, expires_at = $2 WHERE job = $3 AND holder = $4",
                )
                .bind(&holder)
                .bind(expires)
                .bind(job)
                .bind(&current)
                .execute(&self.pool)
                .await?
                .rows_affected()
                    == 1;
            }
        }
        Ok(taken.then(|| {
            JobLock(LockInner::Sqlite {
                pool: self.pool.clone(),
                job: job.to_owned(),
                holder,
            })
        }))
    }
}
