//! Erasing a person with 1,000,000 linked browser records against one with 10.
//!
//! Erasure destroys keys: the browser records stay where they are and become
//! unlinkable because their link tag came from the person's account key, so the cost
//! must not grow with what the person left behind. Goal: ratio ≤ 2, both under 50 ms.
//!
//! Run: `cargo bench -p datavow-core --bench erasure` (SQLite; with
//! `DATAVOW_TEST_DATABASE_URL=postgres://…` on PostgreSQL too, in fresh schemas).

use datavow_core::accounts::{self, SignUpInput};
use datavow_core::browser::{BrowserIngest, Format, InputFormat};
use datavow_core::erasure::{self, Reason};
use datavow_core::Principal;
use datavow_store::testkit::TestStores;
use std::time::{Duration, Instant};

const HEAVY: usize = 1_000_000;
const LIGHT: usize = 10;
const ROUNDS: usize = 3;

fn log(user_id: &str, lines: usize) -> Vec<u8> {
    let now = chrono::Utc::now()
        .format("%d/%b/%Y:%H:%M:%S +0000")
        .to_string();
    let mut out = Vec::with_capacity(lines * 120);
    for i in 0..lines {
        out.extend_from_slice(
            format!(
                "198.51.100.{} - {user_id} [{now}] \"GET /p/{} HTTP/1.1\" 200 512 \"-\" \"curl/8.4.0\"\n",
                i % 250,
                i % 500
            )
            .as_bytes(),
        );
    }
    out
}

async fn person_with_records(app: &datavow_core::Datavow, n: usize, lines: usize) -> uuid::Uuid {
    let input = SignUpInput {
        name: Some(format!("Bench Person {n}")),
        email: Some(format!("bench.{n}@example.de")),
        ..Default::default()
    };
    let account = accounts::sign_up(app, &input).await.expect("sign up");
    let summary = BrowserIngest::new(app, None, None)
        .ingest(
            &Principal::system("bench"),
            Box::new(std::io::Cursor::new(log(&account.user_id, lines))),
            InputFormat::named(Format::Combined).expect("a named format"),
            Default::default(),
        )
        .await
        .expect("ingest");
    assert_eq!(summary.stored as usize, lines);
    account.person
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[allow(clippy::print_stdout)]
async fn run(t: &TestStores, backend: &str) {
    let app = datavow_core::testkit::open(t).await;
    let by = Principal::system("bench");
    let (mut heavy, mut light) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let h = person_with_records(&app, round * 2, HEAVY).await;
        let l = person_with_records(&app, round * 2 + 1, LIGHT).await;
        // Alternate which goes first, so neither always meets a warmer cache.
        let order = if round % 2 == 0 {
            [(h, true), (l, false)]
        } else {
            [(l, false), (h, true)]
        };
        for (person, is_heavy) in order {
            let start = Instant::now();
            let result = erasure::erase(&app, person, Reason::Request, &by)
                .await
                .expect("erase");
            let took = start.elapsed();
            assert!(result.performed_now);
            if is_heavy {
                heavy.push(took)
            } else {
                light.push(took)
            }
        }
    }
    let (h, l) = (median(heavy), median(light));
    println!("erasure on {backend}, median of {ROUNDS}:");
    println!(
        "  person with {HEAVY:>9} linked browser records: {:>8.2} ms",
        h.as_secs_f64() * 1000.0
    );
    println!(
        "  person with {LIGHT:>9} linked browser records: {:>8.2} ms",
        l.as_secs_f64() * 1000.0
    );
    println!("  ratio: {:.2}", h.as_secs_f64() / l.as_secs_f64());
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let t = TestStores::sqlite().await;
        run(&t, "SQLite").await;
        if let Some(t) = TestStores::postgres().await {
            run(&t, "PostgreSQL").await;
        }
    });
}
