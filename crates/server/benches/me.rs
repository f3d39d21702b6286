//! `GET /api/v1/me` on loopback against its plaintext twin, in the same run.
//!
//! The anchor is the same request answered from plain SQLite tables: the session by
//! its token's SHA-256, the person's fields as plaintext rows, the account's summary,
//! serialised to the same JSON; no encryption, no key, no grant, no audit. The ratio is
//! the price of the guarantees. A bare axum handler that returns a fixed body (no work
//! at all) is measured too, as the ceiling of the HTTP stack on this machine.
//!
//! All servers run in this process on a multi-threaded runtime; the load comes from
//! `wrk` (Debian package `wrk`), a separate process, with the same connections and
//! duration for each. Prints throughput, p50 and p99 for each and the ratios, and the
//! audit bytes each `GET /me` added.
//!
//! Run: `cargo bench -p datavow-server --bench me` (DATAVOW_BENCH_SECONDS, default 10).

use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::Router;
use datavow_core::accounts;
use datavow_store::testkit::TestStores;
use rusqlite::{Connection, OptionalExtension};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};

/// The plaintext twin's database: what `GET /me` reads, without protection.
struct PlainStore {
    path: std::path::PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl PlainStore {
    const SCHEMA: &'static str = "
        PRAGMA journal_mode = WAL;
        CREATE TABLE sessions (token_hash BLOB PRIMARY KEY, person BLOB NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE person_fields (person BLOB NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (person, field)) WITHOUT ROWID;
        CREATE TABLE accounts (person BLOB PRIMARY KEY, entity TEXT NOT NULL, policy_version TEXT) WITHOUT ROWID;";

    /// A database holding `profile` (as `GET /me` returned it) under `token`.
    fn create(dir: &std::path::Path, token: &str, profile: &serde_json::Value) -> PlainStore {
        let path = dir.join("plain.db");
        let conn = Connection::open(&path).expect("plain db");
        conn.execute_batch(Self::SCHEMA).expect("schema");
        let person = uuid::Uuid::new_v4();
        conn.execute(
            "INSERT INTO sessions VALUES (?1, ?2, ?3)",
            (Sha256::digest(token.as_bytes()).to_vec(), person, i64::MAX),
        )
        .expect("session");
        for (field, value) in profile.as_object().expect("object") {
            if matches!(
                field.as_str(),
                "entity" | "policy_version_acknowledged" | "policy_version_current"
            ) {
                continue;
            }
            conn.execute(
                "INSERT INTO person_fields VALUES (?1, ?2, ?3)",
                (person, field, value.to_string()),
            )
            .expect("field");
        }
        conn.execute(
            "INSERT INTO accounts VALUES (?1, ?2, ?3)",
            (
                person,
                profile["entity"].to_string(),
                profile["policy_version_acknowledged"].as_str(),
            ),
        )
        .expect("account");
        PlainStore {
            path,
            idle: Mutex::new(vec![conn]),
        }
    }

    fn read<T>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        let conn = self.idle.lock().expect("pool").pop();
        let conn = match conn {
            Some(conn) => conn,
            None => Connection::open(&self.path)?,
        };
        let result = read(&conn);
        self.idle.lock().expect("pool").push(conn);
        result
    }

    /// The twin of `GET /me`: the same four point reads, the same JSON.
    fn me(&self, token: &str) -> Option<String> {
        let hash = Sha256::digest(token.as_bytes()).to_vec();
        let person: uuid::Uuid = self
            .read(|c| {
                c.prepare_cached(
                    "SELECT person FROM sessions WHERE token_hash = ?1 AND expires_at > ?2",
                )?
                .query_row((hash, 0_i64), |r| r.get(0))
                .optional()
            })
            .ok()??;
        let mut body = serde_json::Map::new();
        self.read(|c| {
            let mut stmt =
                c.prepare_cached("SELECT field, value FROM person_fields WHERE person = ?1")?;
            let rows = stmt.query_map([person], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?;
            for row in rows {
                let (field, value) = row?;
                body.insert(
                    field,
                    serde_json::from_str(&value).unwrap_or(serde_json::Value::Null),
                );
            }
            Ok(())
        })
        .ok()?;
        let (entity, version): (String, Option<String>) = self
            .read(|c| {
                c.prepare_cached("SELECT entity, policy_version FROM accounts WHERE person = ?1")?
                    .query_row([person], |r| Ok((r.get(0)?, r.get(1)?)))
            })
            .ok()?;
        body.insert(
            "entity".into(),
            serde_json::from_str(&entity).unwrap_or_default(),
        );
        body.insert("policy_version_acknowledged".into(), version.into());
        serde_json::to_string(&body).ok()
    }
}

/// The `datavow` binary's allocator, so the figures stand for the product.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "support/app.rs"]
mod setup;
#[path = "support/wrk.rs"]
mod support;
use support::wrk;

#[allow(clippy::print_stdout)]
fn main() {
    let seconds = support::seconds();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (t, app, token, me_body) = runtime.block_on(async {
        let t = TestStores::sqlite().await;
        let app = datavow_core::testkit::open(&t).await;
        let session = setup::signed_in_person(&app).await;
        let profile = accounts::profile(&app, &session.person)
            .await
            .expect("profile");
        let body = serde_json::to_string(&profile).expect("json");
        (t, app, session.token.expose_secret().to_owned(), body)
    });
    let plain_body = me_body.clone();
    let datavow_addr = runtime.block_on(setup::serve(app.clone()));
    let bare_addr = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let body: &'static str = Box::leak(me_body.into_boxed_str());
        let bare = Router::new().route(
            "/api/v1/me",
            get(move || async move { ([("content-type", "application/json")], body) }),
        );
        tokio::spawn(async move { axum::serve(listener, bare).await });
        addr
    });
    let plain_dir = tempfile::tempdir().expect("dir");
    let plain = Arc::new(PlainStore::create(
        plain_dir.path(),
        &token,
        &serde_json::from_str(&plain_body).expect("profile json"),
    ));
    let plain_addr = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let twin = Router::new().route(
            "/api/v1/me",
            get(move |headers: HeaderMap| {
                let plain = plain.clone();
                async move {
                    let token = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.strip_prefix("Bearer "))
                        .unwrap_or_default();
                    match plain.me(token) {
                        Some(body) => {
                            (StatusCode::OK, [("content-type", "application/json")], body)
                        }
                        None => (
                            StatusCode::UNAUTHORIZED,
                            [("content-type", "application/json")],
                            String::new(),
                        ),
                    }
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, twin).await });
        addr
    });
    let datavow_store::StoreLocation::Sqlite { dir } = &t.location else {
        unreachable!("the bench runs on SQLite")
    };
    let audit_db = dir.join(datavow_store::DATA_FILE);
    // Bytes of the audit rows' values (the table and its subject index hold about
    // this much again in keys and page overhead).
    let audit_bytes = || -> u64 {
        let conn = Connection::open(&audit_db).expect("audit db");
        conn.query_row(
            "SELECT COALESCE(SUM(8 + 8 + length(actor) + length(action) + COALESCE(length(purpose), 0) \
             + COALESCE(length(subject), 0) + length(fields) + length(outcome) \
             + COALESCE(length(detail), 0) + length(prev_hash) + length(hash)), 0) FROM audit_log",
            [],
            |r| r.get::<_, i64>(0),
        )
        .expect("audit size") as u64
    };
    let bare = wrk(
        &format!("http://{bare_addr}/api/v1/me"),
        &token,
        seconds,
        32,
    );
    let twin = wrk(
        &format!("http://{plain_addr}/api/v1/me"),
        &token,
        seconds,
        32,
    );
    let entries_before =
        runtime.block_on(async { app.audit_log().verify().await.expect("verify").entries });
    let bytes_before = audit_bytes();
    let datavow = wrk(
        &format!("http://{datavow_addr}/api/v1/me"),
        &token,
        seconds,
        32,
    );
    let entries_after =
        runtime.block_on(async { app.audit_log().verify().await.expect("verify").entries });
    let bytes_after = audit_bytes();
    println!("GET /api/v1/me on loopback, wrk -t2 -c32 -d{seconds}s, SQLite");
    for (name, f) in [
        ("bare axum handler", &bare),
        ("plaintext twin", &twin),
        ("datavow /me", &datavow),
    ] {
        println!(
            "  {name:<18}: {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms",
            f.requests_per_second, f.p50_ms, f.p99_ms
        );
    }
    println!(
        "  ratio datavow/plaintext twin: {:.3}   (datavow/bare: {:.3})",
        datavow.requests_per_second / twin.requests_per_second,
        datavow.requests_per_second / bare.requests_per_second
    );
    let requests = datavow.requests as f64;
    println!(
        "  audit entries written during the datavow run: {} ({:.2} per request), {:.0} B of audit values per request",
        entries_after - entries_before,
        (entries_after - entries_before) as f64 / requests.max(1.0),
        bytes_after.saturating_sub(bytes_before) as f64 / requests.max(1.0)
    );
    drop(t);
}
