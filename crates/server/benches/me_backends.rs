//! `GET /api/v1/me` on PostgreSQL against SQLite, in alternating runs of one process.
//!
//! The anchor is the same server on the embedded SQLite default. Both servers run in
//! this process on one multi-threaded runtime (only one is loaded at a time); the load
//! comes from `wrk -t2 -c64` (Debian package `wrk`), a separate process. Rounds
//! alternate SQLite, PostgreSQL, SQLite, … so a noisy box moves both alike. Prints each
//! run's throughput, p50 and p99, the ratio PostgreSQL/SQLite per round, and how many
//! audit entries and bytes of audit values each `GET /me` added on each backend (and
//! the growth of PostgreSQL's `audit_log` relation, indexes included).
//!
//! Run: `DATAVOW_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/DB cargo bench
//! -p datavow-server --bench me_backends` (DATAVOW_BENCH_SECONDS, default 10;
//! DATAVOW_BENCH_ROUNDS, default 3).

use datavow_store::testkit::TestStores;
use secrecy::ExposeSecret;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "support/app.rs"]
mod setup;
#[path = "support/wrk.rs"]
mod support;

/// Bytes of the audit rows' values (keys and page overhead come on top).
const AUDIT_VALUE_BYTES: &str = "SELECT CAST(COALESCE(SUM(16 + length(actor) + length(action) \
     + COALESCE(length(purpose), 0) + COALESCE(length(subject), 0) + length(fields) \
     + length(outcome) + COALESCE(length(detail), 0) + length(prev_hash) + length(hash)), 0) AS BIGINT) \
     FROM audit_log";
const AUDIT_ENTRIES: &str = "SELECT COUNT(*) FROM audit_log";

/// One backend under test: its stores, its server's address, a signed-in person's token.
struct Target {
    name: &'static str,
    stores: TestStores,
    url: String,
    token: String,
}

impl Target {
    async fn start(name: &'static str, stores: TestStores) -> Target {
        let app = datavow_core::testkit::open(&stores).await;
        let session = setup::signed_in_person(&app).await;
        let addr = setup::serve(app).await;
        Target {
            name,
            stores,
            url: format!("http://{addr}/api/v1/me"),
            token: session.token.expose_secret().to_owned(),
        }
    }

    async fn scalar(&self, sql: &str) -> i64 {
        self.stores.raw_scalar(sql).await.expect("audit figure")
    }

    /// The audit log's entries, bytes of values and (PostgreSQL) bytes on disk with
    /// its indexes.
    async fn audit_size(&self) -> (i64, i64, Option<i64>) {
        let relation = match self.name {
            "PostgreSQL" => Some(
                self.scalar("SELECT pg_total_relation_size('audit_log')")
                    .await,
            ),
            _ => None,
        };
        (
            self.scalar(AUDIT_ENTRIES).await,
            self.scalar(AUDIT_VALUE_BYTES).await,
            relation,
        )
    }
}

/// One wrk run and what it added to the audit log.
struct Run {
    figures: support::Figures,
    entries: i64,
    value_bytes: i64,
    relation_bytes: Option<i64>,
}

#[allow(clippy::print_stdout)]
fn main() {
    let seconds = support::seconds();
    let rounds: usize = std::env::var("DATAVOW_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let targets = runtime.block_on(async {
        let Some(pg) = TestStores::postgres().await else {
            println!("set DATAVOW_TEST_DATABASE_URL to a PostgreSQL database to run this bench");
            std::process::exit(2);
        };
        vec![
            Target::start("SQLite", TestStores::sqlite().await).await,
            Target::start("PostgreSQL", pg).await,
        ]
    });
    let mut runs: Vec<Vec<Run>> = (0..targets.len()).map(|_| Vec::new()).collect();
    for _ in 0..rounds {
        for (i, target) in targets.iter().enumerate() {
            let before = runtime.block_on(target.audit_size());
            let figures = support::wrk(&target.url, &target.token, seconds, 64);
            let after = runtime.block_on(target.audit_size());
            runs[i].push(Run {
                figures,
                entries: after.0 - before.0,
                value_bytes: after.1 - before.1,
                relation_bytes: after.2.zip(before.2).map(|(a, b)| a - b),
            });
        }
    }
    println!("GET /api/v1/me on loopback, wrk -t2 -c64 -d{seconds}s, {rounds} alternating rounds");
    for (round, (lite, pg)) in runs[0].iter().zip(&runs[1]).enumerate() {
        for (target, run) in targets.iter().zip([lite, pg]) {
            let requests = run.figures.requests.max(1) as f64;
            println!(
                "  round {} {:<10}: {:>8.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  audit {:.3} entries, {:.1} B of values{} per request",
                round + 1,
                target.name,
                run.figures.requests_per_second,
                run.figures.p50_ms,
                run.figures.p99_ms,
                run.entries as f64 / requests,
                run.value_bytes as f64 / requests,
                run.relation_bytes
                    .map(|b| format!(", {:.1} B of table and indexes", b as f64 / requests))
                    .unwrap_or_default(),
            );
        }
        println!(
            "  round {} ratio PostgreSQL/SQLite: {:.3}",
            round + 1,
            pg.figures.requests_per_second / lite.figures.requests_per_second
        );
    }
}
