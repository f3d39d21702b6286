//! Storage errors. Messages name places (host, file) and kinds of record, never
//! stored values.

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot reach the PostgreSQL server at {host}:{port} ({reason})")]
    Unreachable {
        host: String,
        port: u16,
        reason: String,
    },
    #[error("cannot open the database {path} ({reason})")]
    Open { path: String, reason: String },
    #[error("invalid database URL ({0})")]
    BadUrl(String),
    #[error("database migration failed: {0}")]
    Migrate(String),
    #[error("a record with this {0} already exists")]
    Conflict(&'static str),
    #[error("the keystore is wrapped under another master key")]
    KekMismatch,
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("re-wrapping a key failed: {0}")]
    Rewrap(String),
    #[error("the audit log cannot take entries: {0}")]
    AuditUnavailable(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("a database read was stopped before it finished")]
    ReadStopped,
}

impl StoreError {
    /// Whether the database cannot be reached or cannot take a write right now: down,
    /// out of connections, disk full, read-only, busy. Such a failure is temporary for
    /// the caller (HTTP 503 with a retry), unlike corruption or a bug.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Unreachable { .. }
            | StoreError::AuditUnavailable(_)
            | StoreError::ReadStopped => true,
            StoreError::Database(err) => match err {
                sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed => true,
                sqlx::Error::Database(db) => db.code().is_some_and(|c| unavailable_code(&c)),
                _ => false,
            },
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(err, _)) => {
                sqlite_unavailable(err.extended_code)
            }
            _ => false,
        }
    }

    /// Maps a unique-constraint violation to [`StoreError::Conflict`].
    pub(crate) fn from_insert(err: sqlx::Error, what: &'static str) -> StoreError {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
            _ => StoreError::Database(err),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migrate(err.to_string())
    }
}

/// PostgreSQL's SQLSTATE classes 08 (connection), 53 (insufficient resources: disk
/// full, out of memory, too many connections) and 57P (shutting down, cannot connect
/// now); or SQLite's numeric result code, which sqlx gives as the code.
fn unavailable_code(code: &str) -> bool {
    if let Ok(sqlite) = code.parse::<i32>() {
        return sqlite_unavailable(sqlite);
    }
    code.starts_with("08") || code.starts_with("53") || code.starts_with("57P")
}

/// SQLite's BUSY (5), LOCKED (6), READONLY (8), IOERR (10), FULL (13), CANTOPEN (14),
/// whatever their extended code.
fn sqlite_unavailable(code: i32) -> bool {
    matches!(code & 0xff, 5 | 6 | 8 | 10 | 13 | 14)
}
