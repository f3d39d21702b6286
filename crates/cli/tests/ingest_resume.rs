//! `datavow ingest FILE` remembers how far it read each file: a second run reads only
//! what was added; a rotated or rewritten file is read from its start; a W3C log keeps
//! its fields when resumed mid-file; and a run killed at random moments, run again,
//! stores every line exactly once with an audit chain that verifies.
//!
//! Short mode (CI): 3 kills. `DATAVOW_LONG_TESTS=1`: 100.

mod common;

use common::*;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// `n` combined-format lines from today, numbered from `from`.
fn lines(from: u64, n: u64) -> String {
    let now = chrono::Utc::now().format("%d/%b/%Y:%H:%M:%S +0000");
    (from..from + n)
        .map(|i| {
            format!(
                "192.0.2.{} - - [{now}] \"GET /page/{i} HTTP/1.1\" 200 {i} \"-\" \"curl/8.4.0\"\n",
                i % 250
            )
        })
        .collect()
}

fn ingest(data: &Path, file: &Path) -> String {
    let out = run(datavow().args(["ingest", "--data-dir"]).arg(data).arg(file));
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

fn stored(data: &Path) -> i64 {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        use sqlx::ConnectOptions;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(data.join("datavow.db"))
            .connect()
            .await
            .expect("open");
        sqlx::query_scalar::<_, Option<i64>>("SELECT SUM(records) FROM browser_days")
            .fetch_one(&mut conn)
            .await
            .expect("sum")
            .unwrap_or(0)
    })
}

fn append(file: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(file)
        .expect("open");
    f.write_all(text.as_bytes()).expect("append");
}

#[test]
fn a_file_ingested_again_reads_only_the_lines_added_since() {
    let dir = tempfile::tempdir().expect("dir");
    let (data, file) = (dir.path().join("data"), dir.path().join("access.log"));
    std::fs::write(&file, lines(0, 100)).expect("write");
    let first = ingest(&data, &file);
    assert!(
        first.contains("stored:     100") && !first.contains("resumed"),
        "{first}"
    );
    append(&file, &lines(100, 50));
    let second = ingest(&data, &file);
    assert!(second.contains("resumed:"), "{second}");
    assert!(second.contains("lines read: 50"), "{second}");
    assert_eq!(stored(&data), 150);
    let third = ingest(&data, &file);
    assert!(third.contains("lines read: 0"), "{third}");
    assert_eq!(stored(&data), 150, "nothing is stored twice");
}

#[test]
fn a_rotated_or_rewritten_file_is_read_from_its_start() {
    let dir = tempfile::tempdir().expect("dir");
    let (data, file) = (dir.path().join("data"), dir.path().join("access.log"));
    std::fs::write(&file, lines(0, 40)).expect("write");
    ingest(&data, &file);
    // Rotated: a new file (new inode) under the same name.
    let fresh = dir.path().join("access.log.new");
    std::fs::write(&fresh, lines(1000, 30)).expect("write");
    std::fs::rename(&fresh, &file).expect("rotate");
    let rotated = ingest(&data, &file);
    assert!(
        rotated.contains("lines read: 30") && !rotated.contains("resumed"),
        "{rotated}"
    );
    // Truncated and rewritten in place (copytruncate): same inode, other first bytes.
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&file)
        .expect("open");
    f.write_all(lines(2000, 45).as_bytes()).expect("write");
    drop(f);
    let rewritten = ingest(&data, &file);
    assert!(rewritten.contains("lines read: 45"), "{rewritten}");
    assert_eq!(stored(&data), 40 + 30 + 45);
}

#[test]
fn a_w3c_log_resumed_mid_file_still_knows_its_fields() {
    let dir = tempfile::tempdir().expect("dir");
    let (data, file) = (dir.path().join("data"), dir.path().join("u_ex.log"));
    let today = chrono::Utc::now().format("%Y-%m-%d");
    let line = |i: u32| {
        format!(
            "{today} 08:00:{:02} 192.0.2.{i} GET /w3c/{i} - 443 - Mozilla/5.0 - 200 0 0 15\n",
            i % 60
        )
    };
    let mut log = String::from("#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n#Date: 2026-11-25 08:00:00\n#Fields: date time c-ip cs-method cs-uri-stem cs-uri-query s-port cs-username cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n");
    for i in 0..20 {
        log.push_str(&line(i));
    }
    std::fs::write(&file, log).expect("write");
    assert!(ingest(&data, &file).contains("stored:     20"));
    append(&file, &(20..30).map(line).collect::<String>());
    let resumed = ingest(&data, &file);
    assert!(resumed.contains("stored:     10"), "{resumed}");
    assert_eq!(stored(&data), 30);
}

#[test]
#[allow(clippy::print_stderr)] // the long mode reports its figures
fn an_ingest_killed_at_random_moments_stores_every_line_once() {
    let long = std::env::var("DATAVOW_LONG_TESTS").is_ok_and(|v| v == "1");
    let trials: u64 = if long { 100 } else { 3 };
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let started = Instant::now();
    let mut total = 0i64;
    let mut kills = 0;
    let mut cut_mid_store = 0;
    for t in 0..trials {
        let file = dir.path().join(format!("access-{t}.log"));
        let n = 200_000;
        std::fs::write(&file, lines(t * 1_000_000, n)).expect("write");
        total += i64::try_from(n).expect("n");
        // Kill once at a moment spread over the run, then run to the end.
        let kill_after = Duration::from_millis(150 + (t * 97) % 600);
        if common::kill_after(
            datavow()
                .args(["ingest", "--data-dir"])
                .arg(&data)
                .arg(&file),
            kill_after,
        ) {
            kills += 1;
        }
        let before = total - i64::try_from(n).expect("n");
        if data.join("datavow.db").exists() {
            let partly = stored(&data) - before;
            if partly > 0 && partly < i64::try_from(n).expect("n") {
                cut_mid_store += 1;
            }
        }
        ingest(&data, &file);
        assert_eq!(stored(&data), total, "trial {t}: every line stored once");
    }
    assert_audit_verifies(&data, "ingests cut by SIGKILL");
    assert!(cut_mid_store > 0, "no run was killed while it was storing");
    eprintln!(
        "ingest crash harness: {trials} trials of 200,000 lines, {kills} killed, {cut_mid_store} of them part-way through storing, every line stored once ({:.0} s)",
        started.elapsed().as_secs_f64()
    );
}
