//! Fresh stores for tests, and raw scans of what the stores hold.
//!
//! Each test gets its own database: a temporary directory on SQLite, two new schemas
//! on PostgreSQL (when `DATAVOW_TEST_DATABASE_URL` is set), so tests run in parallel.
//! [`backend_tests!`](crate::backend_tests) runs one async test body against both.

use crate::{open, Backend, StoreLocation, Stores};
use secrecy::{ExposeSecret, SecretString};
use sqlx::Row;
use std::path::{Path, PathBuf};

/// Environment variable naming the PostgreSQL server used by tests.
pub const TEST_DATABASE_URL: &str = "DATAVOW_TEST_DATABASE_URL";

/// A fresh pair of stores that lives as long as this value.
#[derive(Debug)]
pub struct TestStores {
    pub stores: Stores,
    pub location: StoreLocation,
    dir: tempfile::TempDir,
}

impl TestStores {
    /// Stores in a new temporary SQLite directory.
    pub async fn sqlite() -> TestStores {
        let dir = tempfile::tempdir().expect("temporary directory");
        let location = StoreLocation::Sqlite {
            dir: dir.path().join("data"),
        };
        let stores = open(&location).await.expect("open SQLite stores");
        TestStores {
            stores,
            location,
            dir,
        }
    }

    /// Stores in two new schemas of the test PostgreSQL database, or `None` when
    /// `DATAVOW_TEST_DATABASE_URL` is not set.
    pub async fn postgres() -> Option<TestStores> {
        let url = std::env::var(TEST_DATABASE_URL).ok()?;
        let tag = uuid::Uuid::new_v4().simple().to_string();
        let location = StoreLocation::Postgres {
            url: SecretString::from(url),
            data_schema: format!("t{}_data", &tag[..12]),
            keys_schema: format!("t{}_keys", &tag[..12]),
        };
        let stores = open(&location).await.expect("open PostgreSQL stores");
        Some(TestStores {
            stores,
            location,
            dir: tempfile::tempdir().expect("temporary directory"),
        })
    }

    /// Fresh stores of the given backend; `None` for PostgreSQL without a test server.
    pub async fn of(backend: Backend) -> Option<TestStores> {
        match backend {
            Backend::Sqlite => Some(TestStores::sqlite().await),
            Backend::Postgres => TestStores::postgres().await,
        }
    }

    /// A scratch directory that lives as long as these stores (for key files etc.).
    pub fn scratch_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Opens the same databases again, as a restarted or second node would.
    pub async fn reopen(&self) -> Stores {
        open(&self.location).await.expect("reopen stores")
    }

    /// Runs SQL directly against the data store, bypassing the traits: what an
    /// attacker with database access could do. Returns the rows affected.
    pub async fn raw_execute(&self, sql: &str) -> Result<u64, sqlx::Error> {
        Ok(match self.raw_connection().await? {
            RawConnection::Sqlite(mut conn) => {
                sqlx::raw_sql(sql).execute(&mut conn).await?.rows_affected()
            }
            RawConnection::Postgres(mut conn) => {
                sqlx::raw_sql(sql).execute(&mut conn).await?.rows_affected()
            }
        })
    }

    /// One integer from a query run directly against the data store (table sizes and
    /// sums for benches).
    pub async fn raw_scalar(&self, sql: &str) -> Result<i64, sqlx::Error> {
        match self.raw_connection().await? {
            RawConnection::Sqlite(mut conn) => sqlx::query_scalar(sql).fetch_one(&mut conn).await,
            RawConnection::Postgres(mut conn) => sqlx::query_scalar(sql).fetch_one(&mut conn).await,
        }
    }

    /// A connection of its own to the data store, outside the stores' pools.
    async fn raw_connection(&self) -> Result<RawConnection, sqlx::Error> {
        use sqlx::ConnectOptions;
        Ok(match &self.location {
            StoreLocation::Sqlite { dir } => RawConnection::Sqlite(
                sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(dir.join(crate::sqlite::DATA_FILE))
                    .connect()
                    .await?,
            ),
            StoreLocation::Postgres {
                url, data_schema, ..
            } => {
                let options: sqlx::postgres::PgConnectOptions = url.expose_secret().parse()?;
                RawConnection::Postgres(
                    options
                        .options([("search_path", data_schema.as_str())])
                        .connect()
                        .await?,
                )
            }
        })
    }

    /// SQL that lifts the append-only guard on the audit tables (an attacker's first step).
    pub fn drop_audit_guards_sql(&self) -> &'static str {
        match self.stores.backend {
            Backend::Sqlite => {
                "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;                  DROP TRIGGER audit_checkpoints_no_update; DROP TRIGGER audit_checkpoints_no_delete;"
            }
            Backend::Postgres => {
                "ALTER TABLE audit_log DISABLE TRIGGER USER; ALTER TABLE audit_checkpoints DISABLE TRIGGER USER;"
            }
        }
    }

    /// How many browser records all stored days hold together.
    pub async fn browser_records(&self) -> u64 {
        let days = self
            .stores
            .browser
            .browser_days()
            .await
            .expect("browser days");
        days.iter().map(|d| d.records).sum()
    }

    /// Every place in the raw stored bytes that contains `needle`: each file of the
    /// SQLite data directory (database, WAL and keystore), or each table of both
    /// PostgreSQL schemas (as text, bytea shown in hex, so the needle is also looked
    /// for hex-encoded).
    pub async fn raw_places_containing(&self, needle: &[u8]) -> Vec<String> {
        assert!(!needle.is_empty(), "an empty needle matches everything");
        match &self.location {
            StoreLocation::Sqlite { dir } => files_containing(dir, needle),
            StoreLocation::Postgres {
                url,
                data_schema,
                keys_schema,
            } => tables_containing(url, &[data_schema, keys_schema], needle).await,
        }
    }
}

/// A direct connection to either backend's data store.
enum RawConnection {
    Sqlite(sqlx::sqlite::SqliteConnection),
    Postgres(sqlx::postgres::PgConnection),
}

fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending: Vec<PathBuf> = vec![dir.to_owned()];
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).expect("read data dir").flatten() {
                pending.push(entry.path());
            }
        } else if let Ok(bytes) = std::fs::read(&path) {
            if bytes.windows(needle.len()).any(|w| w == needle) {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

async fn tables_containing(url: &SecretString, schemas: &[&String], needle: &[u8]) -> Vec<String> {
    use sqlx::ConnectOptions;
    let options: sqlx::postgres::PgConnectOptions =
        url.expose_secret().parse().expect("test database URL");
    let mut conn = options.connect().await.expect("connect for raw scan");
    let hex_needle: String = needle.iter().map(|b| format!("{b:02x}")).collect();
    let text_needle = String::from_utf8_lossy(needle).into_owned();
    let mut found = Vec::new();
    for schema in schemas {
        let tables = sqlx::query(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1",
        )
        .bind(schema.as_str())
        .fetch_all(&mut conn)
        .await
        .expect("list tables");
        for table in tables {
            let table: String = table.get(0);
            let dump: Option<String> = sqlx::query_scalar(&format!(
                "SELECT string_agg(t::text, E'\\n') FROM {schema}.\"{table}\" t"
            ))
            .fetch_one(&mut conn)
            .await
            .expect("dump table");
            let dump = dump.unwrap_or_default();
            if dump.contains(&text_needle) || dump.to_ascii_lowercase().contains(&hex_needle) {
                found.push(format!("{schema}.{table}"));
            }
        }
    }
    found
}

/// Runs each listed `async fn name(stores: TestStores)` once on SQLite and once on
/// PostgreSQL (when `DATAVOW_TEST_DATABASE_URL` is set; otherwise the PostgreSQL
/// variant says it was skipped and passes).
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::testkit::TestStores::sqlite().await).await
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    match $crate::testkit::TestStores::postgres().await {
                        Some(stores) => super::$name(stores).await,
                        None => eprintln!(
                            "skipped: set {} to run the PostgreSQL conformance suite",
                            $crate::testkit::TEST_DATABASE_URL
                        ),
                    }
                }
            )+
        }
    };
}
