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
