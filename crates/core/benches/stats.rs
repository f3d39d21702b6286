//! Statistics (P10): what roll-ups cost at ingest, how fast a month's report answers
//! from them, and how accurate differentially private counts are.
//!
//! Goals (issue "Anonymous statistics"): a 28-day report over 1 M records a day answers
//! in under 1 s from roll-ups; roll-ups cost ≤ 10 % of ingest throughput (same run, with
//! and without, day by day); at ε = 1 over ≥ 1,000 trials, cells with a true count of at
//! least 100 have a median relative error ≤ 1 % and a 95th percentile ≤ 3.5 %.
//!
//! Run: `cargo bench -p datavow-core --bench stats [-- DAYS RECORDS_PER_DAY]`
//! (defaults 28 and 1,000,000; SQLite in a temporary directory; uap-core's regexes
//! when installed, as `datavow ingest` uses them).

use chrono::{Duration, NaiveDate, Utc};
use datavow_core::browser::{BrowserIngest, Format, InputFormat};
use datavow_core::stats::{self, dp, By};
use datavow_core::Principal;
use datavow_store::testkit::TestStores;
use std::sync::Arc;
use std::time::Instant;

const AGENTS: [&str; 4] = [
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
];

/// A day of combined-format lines: `records` requests from `records / 20` visitors over
/// 2,000 pages (a few very popular) and 40 referrers.
fn day_log(day: NaiveDate, records: usize) -> Vec<u8> {
    let visitors = (records / 20).max(1);
    let stamp = day
        .and_hms_opt(12, 0, 0)
        .expect("noon")
        .and_utc()
        .format("%d/%b/%Y:%H:%M:%S +0000")
        .to_string();
    let mut out = Vec::with_capacity(records * 190);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ day.to_string().len() as u64;
    for i in 0..records {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let v = (x % visitors as u64) as usize;
        let page = ((x >> 20) % 2000) * ((x >> 40) % 2000) / 2000;
        let referrer = if i % 3 == 0 {
            "-".to_owned()
        } else {
            format!("https://site{}.example/p", (x >> 30) % 40)
        };
        out.extend_from_slice(
            format!(
                "10.{}.{}.{} - - [{stamp}] \"GET /p/{page} HTTP/1.1\" 200 512 \"{referrer}\" \"{}\"\n",
                (v >> 16) & 255,
                (v >> 8) & 255,
                v & 255,
                AGENTS[v % AGENTS.len()]
            )
            .as_bytes(),
        );
    }
    out
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

#[allow(clippy::print_stdout)]
fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let days: i64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(28);
    let records: usize = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async move {
        let t = TestStores::sqlite().await;
        let app = datavow_core::testkit::open(&t).await;
        let ua = datavow_core::ingest::UaParser::from_regexes(std::path::Path::new(datavow_core::ingest::DEBIAN_REGEXES))
            .ok()
            .map(Arc::new);
        println!(
            "stats bench: {days} days × {records} records, SQLite, user agents {}",
            if ua.is_some() { "parsed (uap-core)" } else { "not parsed (uap-core missing)" }
        );
        let owner = Principal::system("bench");
        let today = Utc::now().date_naive();
        let first = today - Duration::days(days);
        let mut ingest_s = Vec::new();
        let mut rollup_s = Vec::new();
        for d in 0..days {
            let day = first + Duration::days(d);
            let log = day_log(day, records);
            let started = Instant::now();
            BrowserIngest::new(&app, ua.clone(), None)
                .ingest(&owner, Box::new(std::io::Cursor::new(log)), InputFormat::named(Format::Combined).expect("format"), Arc::default())
                .await
                .expect("ingest");
            let ingested = started.elapsed().as_secs_f64();
            let started = Instant::now();
            stats::report(&app, By::Owner(&owner), "visits", day, day).await.expect("roll-up");
            let rolled = started.elapsed().as_secs_f64();
            ingest_s.push(ingested);
            rollup_s.push(rolled);
        }
        let (i, r) = (median(ingest_s.clone()), median(rollup_s.clone()));
        println!(
            "per day (median of {days}): ingest {i:.3} s = {:.0} records/s; roll-up {r:.3} s; with roll-ups {:.0} records/s: roll-ups cost {:.1} % of ingest throughput (goal ≤ 10 %)",
            records as f64 / i,
            records as f64 / (i + r),
            100.0 * r / (i + r)
        );
        let last = today - Duration::days(1);
        let mut report_s = Vec::new();
        let mut rows = 0;
        for _ in 0..5 {
            let started = Instant::now();
            let table = stats::report(&app, By::Owner(&owner), "pages", first, last).await.expect("report");
            report_s.push(started.elapsed().as_secs_f64());
            rows = table.rows.len();
        }
        let from_rollups = median(report_s);
        t.raw_execute("DELETE FROM browser_rollups").await.expect("drop roll-ups");
        let started = Instant::now();
        stats::report(&app, By::Owner(&owner), "pages", first, last).await.expect("report");
        let from_blocks = started.elapsed().as_secs_f64();
        println!(
            "{days}-day pages report ({rows} pages): {from_rollups:.3} s from roll-ups (median of 5; goal < 1 s); {from_blocks:.3} s from the blocks (anchor, computing every roll-up): {:.1}× faster",
            from_blocks / from_rollups
        );

        // Accuracy of the released counts at ε = 1, on the true counts of this data's
        // cells with at least 100 visitor-days, 1,000 trials each. Single-valued reports
        // (visits, countries, browsers, platforms, devices, languages) have sensitivity 1;
        // pages 5 (a visitor-day counts in up to 5 pages).
        let table = stats::report(&app, By::Owner(&owner), "pages", first, last).await.expect("report");
        let counts: Vec<u64> = table.rows.iter().map(|r| r.1[0]).filter(|n| *n >= 100).take(200).collect();
        let eps = dp::Epsilon::parse("1").expect("epsilon");
        let mut rng = rand::rngs::OsRng;
        for sensitivity in [1u64, 5] {
            let mut errors = Vec::new();
            for count in &counts {
                for _ in 0..1000 {
                    let noise = dp::noise(&mut rng, sensitivity, eps);
                    errors.push(noise.unsigned_abs() as f64 / *count as f64);
                }
            }
            println!(
                "accuracy at ε = 1, sensitivity {sensitivity}: {} cells with counts {}..{}, 1,000 trials each: median relative error {:.3} %, 95th percentile {:.3} % (goals ≤ 1 % and ≤ 3.5 %)",
                counts.len(),
                counts.iter().min().unwrap_or(&0),
                counts.iter().max().unwrap_or(&0),
                100.0 * median(errors.clone()),
                100.0 * percentile(errors, 0.95)
            );
        }
        // The worst case of the goal: cells of exactly 100.
        let mut at_100 = Vec::new();
        for _ in 0..10_000 {
            at_100.push(dp::noise(&mut rng, 1, eps).unsigned_abs() as f64 / 100.0);
        }
        println!(
            "accuracy at ε = 1, sensitivity 1, true count exactly 100, 10,000 trials: median {:.2} %, 95th percentile {:.2} %",
            100.0 * median(at_100.clone()),
            100.0 * percentile(at_100, 0.95)
        );
    });
}
