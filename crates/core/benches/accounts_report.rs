//! The `accounts` statistics report (P10) over many accounts, on SQLite and (with
//! `DATAVOW_TEST_DATABASE_URL`) PostgreSQL.
//!
//! Three ways to the same kind of answer, timed in one run, alternating:
//! - the report: the vault's tally, a page of 1,000 accounts' sealed sector and country
//!   and the keys of their id range per two queries, opened in memory;
//! - anchor, per account: what a report built on `Vault::read` would do (the key and
//!   the fields fetched for each account, one audit entry each);
//! - floor: `accounts_per_entity`, a `GROUP BY` over the plaintext entity column.
//!
//! Run: `cargo bench -p datavow-core --bench accounts_report [-- ACCOUNTS]` (default
//! 20,000).

use chrono::Utc;
use datavow_core::stats::{self, By};
use datavow_core::Principal;
use datavow_policy::{Field, Purpose};
use datavow_store::testkit::TestStores;
use datavow_store::Backend;
use std::time::Instant;

const SECTORS: [&str; 5] = [
    "software",
    "hosting_and_cloud",
    "e_commerce",
    "finance",
    "other",
];
const COUNTRIES: [&str; 6] = ["DE", "DK", "SE", "NL", "FR", "IS"];

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[allow(clippy::print_stdout)]
fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(20_000);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async move {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let Some(t) = TestStores::of(backend).await else {
                println!("{backend:?}: skipped (no DATAVOW_TEST_DATABASE_URL)");
                continue;
            };
            let app = datavow_core::testkit::open(&t).await;
            let made = Instant::now();
            for i in 0..n {
                let values = [
                    (Field::Name, "A. Customer"),
                    (Field::BusinessSector, SECTORS[i % SECTORS.len()]),
                    (Field::AccountCountry, COUNTRIES[i % COUNTRIES.len()]),
                ];
                let entity = if i % 2 == 0 { "asergo_europe" } else { "asergo_scandinavia" };
                app.create_person(entity, &values).await;
            }
            println!(
                "{backend:?}: {n} accounts stored in {:.1} s",
                made.elapsed().as_secs_f64()
            );
            let owner = Principal::system("bench");
            let today = Utc::now().date_naive();
            let ids = app.stores().persons.account_ids().await.expect("ids");
            let (mut report, mut per_account, mut floor) = (Vec::new(), Vec::new(), Vec::new());
            for round in 0..5 {
                let started = Instant::now();
                let table = stats::report(&app, By::Owner(&owner), "accounts", today, today)
                    .await
                    .expect("report");
                report.push(started.elapsed().as_secs_f64());
                assert!(table.rows.contains(&("sector:software".into(), vec![(n as u64).div_ceil(5)])));

                let started = Instant::now();
                app.stores().stats.accounts_per_entity().await.expect("floor");
                floor.push(started.elapsed().as_secs_f64());

                if round < 3 {
                    let started = Instant::now();
                    let grant = app.grant(Purpose::Statistics);
                    let mut counted = 0;
                    for id in &ids {
                        let record = app
                            .vault()
                            .read(&grant, *id, &[Field::BusinessSector, Field::AccountCountry])
                            .await
                            .expect("read");
                        counted += usize::from(record.get(Field::BusinessSector).is_some());
                    }
                    assert_eq!(counted, n);
                    per_account.push(started.elapsed().as_secs_f64());
                }
            }
            let (r, a, f) = (median(report), median(per_account), median(floor));
            println!(
                "{backend:?}: accounts report {:.3} s ({:.1} µs an account); per-account reads (anchor) {:.3} s: {:.1}× the report's time; plaintext GROUP BY (floor) {:.4} s",
                r,
                r * 1e6 / n as f64,
                a,
                a / r,
                f
            );
        }
    });
}
