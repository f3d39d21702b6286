//! Point reads on SQLite on the calling thread, and long reads on Tokio's blocking
//! pool, through rusqlite.
//!
//! Why a second driver: sqlx-sqlite runs every statement on its connection's own worker
//! thread and hands the rows back over a channel, so each statement costs two context
//! switches. For `GET /api/v1/me` (a session, a key, the sealed fields and the account's
//! summary: four primary-key lookups) that hand-over was about two thirds of the time
//! under load, while SQLite's own work was a few percent. The reads here are those
//! lookups; SQLite answers them from its page cache in microseconds, which is short
//! enough to run inline on an async worker. Everything else, and every write, stays on
//! sqlx.
//!
//! Invariants:
//! - Nothing is cached above SQLite: each call is its own read transaction and sees
//!   every commit made before it, by this process or another (WAL). A sign-out, an
//!   erasure or a shredded key is therefore seen by the very next read.
//! - The connections are `query_only`: no statement through them can change the file.
//! - Errors name the statement's kind, never a value (rusqlite's messages carry none).
//!
//! The audit chain's pages (`verify`) go the same way but on the blocking pool: a page
//! of 10,000 rows takes milliseconds, too long for an async worker, and through sqlx
//! every row crossed a channel (verify spent 24× the time of its hashing).
//!
//! Trade-off: a point read blocks its async worker while it runs. In WAL mode a reader never
//! waits for the writer; it waits for a lock only in rare moments (recovering the WAL
//! after a crash), and then under the same 10 s busy timeout as sqlx's connections.

use crate::StoreError;
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Idle connections kept for reuse; more may be open while calls overlap.
const MAX_IDLE: usize = 8;

/// A small pool of read-only rusqlite connections to one database file.
pub(crate) struct PointReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for PointReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PointReads")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl PointReads {
    /// Readers of the (existing, migrated) database at `path`. Opens one connection at
    /// once, so a file that cannot be read fails at start, not on the first request.
    pub(crate) fn open(path: &Path) -> Result<Self, StoreError> {
        let reads = PointReads {
            path: path.to_owned(),
            idle: Mutex::new(Vec::new()),
        };
        let first = reads.connect()?;
        reads.lock().push(first);
        Ok(reads)
    }

    fn connect(&self) -> Result<Connection, StoreError> {
        // `query_only` refuses every change through these connections.
        crate::sqlite::open_rusqlite(&self.path, &[("query_only", &true)])
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        // A panic inside `read` drops its connection; the list itself stays sound.
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `read` on an idle connection (or a new one) and puts the connection back.
    pub(crate) fn read<T>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let conn = match self.lock().pop() {
            Some(conn) => conn,
            None => self.connect()?,
        };
        let result = read(&conn);
        let mut idle = self.lock();
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
        Ok(result?)
    }

    /// One optional row of a cached statement.
    pub(crate) fn optional<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        row: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Option<T>, StoreError> {
        use rusqlite::OptionalExtension;
        self.read(|conn| conn.prepare_cached(sql)?.query_row(params, row).optional())
    }
}

/// The four hot point reads, with the same SQL as their sqlx twins in `shared.rs`.
impl PointReads {
    /// `(person_id, own_reads_day)` of an unexpired session.
    pub(crate) fn session(
        &self,
        token_hash: &[u8],
        now_micros: i64,
    ) -> Result<Option<(uuid::Uuid, Option<i64>)>, StoreError> {
        self.optional(
            crate::shared::SQL_SESSION,
            rusqlite::params![token_hash, now_micros],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
    }

    /// `(entity, last acknowledged policy version)` of a person.
    pub(crate) fn account_summary(
        &self,
        person: uuid::Uuid,
    ) -> Result<Option<(String, Option<String>)>, StoreError> {
        self.optional(crate::shared::SQL_ACCOUNT_SUMMARY, [person], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
    }

    /// `(field, ciphertext)` rows of a person, by field name.
    pub(crate) fn sealed_fields(
        &self,
        person: uuid::Uuid,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.read(|conn| {
            conn.prepare_cached(crate::shared::SQL_SEALED_FIELDS)?
                .query_map([person], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect()
        })
    }

    /// A person's wrapped data key (keystore file).
    pub(crate) fn person_key(&self, person: uuid::Uuid) -> Result<Option<Vec<u8>>, StoreError> {
        self.optional(crate::shared::SQL_PERSON_KEY, [person], |row| row.get(0))
    }
}

/// Reads too long to run inline.
impl PointReads {
    /// Runs `read` like [`PointReads::read`], on Tokio's blocking pool.
    async fn on_blocking_pool<T: Send + 'static>(
        self: &Arc<Self>,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let reads = Arc::clone(self);
        match tokio::task::spawn_blocking(move || reads.read(read)).await {
            Ok(result) => result,
            Err(stopped) => match stopped.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(_) => Err(StoreError::ReadStopped),
            },
        }
    }

    /// See [`crate::AuditStore::entries_after`].
    pub(crate) async fn audit_entries_after(
        self: &Arc<Self>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<crate::AuditRecord>, StoreError> {
        self.on_blocking_pool(move |conn| {
            conn.prepare_cached(crate::shared::SQL_AUDIT_ENTRIES_AFTER)?
                .query_map([after, limit], |row| {
                    crate::shared::AuditRow::try_from(row).map(crate::shared::audit_record)
                })?
                .collect()
        })
        .await
    }
}
