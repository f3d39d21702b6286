//! The hot point reads of `GET /api/v1/me` and every signed-in request (a session, a
//! person's key, their sealed fields, their account's summary), each on its backend's
//! fastest path: SQLite's through rusqlite on the calling thread ([`sqlite_reads`]),
//! PostgreSQL's through connections kept apart from sqlx's pool ([`PgPointReads`]).
//!
//! Why not sqlx's pool on PostgreSQL: it pings a connection when it is returned, a
//! network round trip and two wake-ups per statement, and a signed-in request makes
//! four statements. Here a connection goes back to the idle list as it is; one idle for
//! longer than [`IDLE_CHECK`] is pinged before use, and one that failed is dropped.
//!
//! Invariants (both backends): nothing is cached above the database, so every read sees
//! every commit made before it, on any node: a sign-out, an edit, an erasure or a
//! shredded key is seen by the very next read. The statements are the sqlx twins'
//! (`shared::SQL_*`). Errors name no value.
//!
//! [`sqlite_reads`]: crate::sqlite_reads

use crate::sqlite_reads::PointReads;
use crate::StoreError;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// A connection idle longer than this is pinged before use.
pub(crate) const IDLE_CHECK: Duration = Duration::from_secs(10);

/// How long opening a new connection may take before the read fails as unavailable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The point reads of one store, on its backend.
pub(crate) enum PointReadsRef<'a> {
    Sqlite(&'a PointReads),
    Postgres(&'a PgPointReads),
}

impl PointReadsRef<'_> {
    /// `(person_id, own_reads_day)` of an unexpired session.
    pub(crate) async fn session(
        &self,
        token_hash: &[u8],
        now_micros: i64,
    ) -> Result<Option<(Uuid, Option<i64>)>, StoreError> {
        match self {
            PointReadsRef::Sqlite(r) => r.session(token_hash, now_micros),
            PointReadsRef::Postgres(r) => {
                r.fetch_optional(
                    sqlx::query_as(crate::shared::SQL_SESSION)
                        .bind(token_hash)
                        .bind(now_micros),
                )
                .await
            }
        }
    }

    /// `(entity, last acknowledged policy version)` of a person.
    pub(crate) async fn account_summary(
        &self,
        person: Uuid,
    ) -> Result<Option<(String, Option<String>)>, StoreError> {
        match self {
            PointReadsRef::Sqlite(r) => r.account_summary(person),
            PointReadsRef::Postgres(r) => {
                r.fetch_optional(sqlx::query_as(crate::shared::SQL_ACCOUNT_SUMMARY).bind(person))
                    .await
            }
        }
    }

    /// `(field, ciphertext)` rows of a person, by field name.
    pub(crate) async fn sealed_fields(
        &self,
        person: Uuid,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        match self {
            PointReadsRef::Sqlite(r) => r.sealed_fields(person),
            PointReadsRef::Postgres(r) => {
                r.fetch_all(sqlx::query_as(crate::shared::SQL_SEALED_FIELDS).bind(person))
                    .await
            }
        }
    }

    /// A person's wrapped data key (keystore).
    pub(crate) async fn person_key(&self, person: Uuid) -> Result<Option<Vec<u8>>, StoreError> {
        match self {
            PointReadsRef::Sqlite(r) => r.person_key(person),
            PointReadsRef::Postgres(r) => {
                let row: Option<(Vec<u8>,)> = r
                    .fetch_optional(sqlx::query_as(crate::shared::SQL_PERSON_KEY).bind(person))
                    .await?;
                Ok(row.map(|(wrapped,)| wrapped))
            }
        }
    }
}

/// PostgreSQL connections for the point reads: see the module documentation. At most
/// `size` are open; a read waits for one (up to [`CONNECT_TIMEOUT`]) like a pool's.
pub(crate) struct PgPointReads {
    options: PgConnectOptions,
    idle: Mutex<Vec<(PgConnection, Instant)>>,
    open: tokio::sync::Semaphore,
}

impl std::fmt::Debug for PgPointReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgPointReads").finish_non_exhaustive()
    }
}

/// A statement of the point reads, with its arguments bound.
type PgQuery<'q, T> = sqlx::query::QueryAs<'q, sqlx::Postgres, T, sqlx::postgres::PgArguments>;

/// What a row of a point read is read into.
trait PgRowType: Send + Unpin + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> {}
impl<T: Send + Unpin + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>> PgRowType for T {}

/// A read's right to hold one of the connections.
type Permit<'a> = tokio::sync::SemaphorePermit<'a>;

impl PgPointReads {
    /// Reads through at most `size` connections made with `options` (the schema in
    /// `search_path`).
    pub(crate) fn new(options: PgConnectOptions, size: usize) -> Self {
        PgPointReads {
            options,
            idle: Mutex::new(Vec::with_capacity(size)),
            open: tokio::sync::Semaphore::new(size),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(PgConnection, Instant)>> {
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A connection that answers: an idle one, or a new one while fewer than `size`
    /// are open. Waits at most [`CONNECT_TIMEOUT`] in all, then fails as unavailable.
    async fn take(&self) -> Result<(PgConnection, Permit<'_>), StoreError> {
        let unavailable = || StoreError::Database(sqlx::Error::PoolTimedOut);
        tokio::time::timeout(CONNECT_TIMEOUT, async {
            let permit = self.open.acquire().await.map_err(|_| unavailable())?;
            loop {
                let Some((mut conn, since)) = self.lock().pop() else {
                    break;
                };
                if since.elapsed() < IDLE_CHECK || conn.ping().await.is_ok() {
                    return Ok((conn, permit));
                }
            }
            let conn = self.options.connect().await.map_err(StoreError::Database)?;
            Ok((conn, permit))
        })
        .await
        .map_err(|_| unavailable())?
    }

    /// Keeps `conn` for the next read unless its statement failed for a reason other
    /// than the database's answer (a broken connection is dropped, and its place
    /// freed for a new one).
    fn give_back<T>(
        &self,
        conn: PgConnection,
        permit: Permit<'_>,
        result: &Result<T, sqlx::Error>,
    ) {
        if matches!(result, Ok(_) | Err(sqlx::Error::Database(_))) {
            self.lock().push((conn, Instant::now()));
        }
        drop(permit);
    }

    /// One optional row of `query`.
    async fn fetch_optional<T: PgRowType>(
        &self,
        query: PgQuery<'_, T>,
    ) -> Result<Option<T>, StoreError> {
        let (mut conn, permit) = self.take().await?;
        let row = query.fetch_optional(&mut conn).await;
        self.give_back(conn, permit, &row);
        Ok(row?)
    }

    /// Every row of `query`.
    async fn fetch_all<T: PgRowType>(&self, query: PgQuery<'_, T>) -> Result<Vec<T>, StoreError> {
        let (mut conn, permit) = self.take().await?;
        let rows = query.fetch_all(&mut conn).await;
        self.give_back(conn, permit, &rows);
        Ok(rows?)
    }
}
