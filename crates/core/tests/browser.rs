//! Browser-data ingest (P6) on both backends: what is stored, what is never stored in
//! clear, who may open what, linking to a person, and retention by whole days.

use chrono::{DateTime, Duration, Utc};
use datavow_core::browser::{
    self, decode_addresses, BlockMeta, BrowserIngest, Format, IngestSummary, InputFormat,
};
use datavow_core::Datavow;
use datavow_policy::{Field, Purpose};
use datavow_store::backend_tests;
use datavow_store::testkit::TestStores;
use datavow_vault::{address_bytes, VaultError};
use std::net::IpAddr;
use std::sync::Arc;

fn actor() -> datavow_core::Principal {
    datavow_core::Principal::system("test")
}

fn line(ip: &str, time: DateTime<Utc>, target: &str, user: &str, ua: &str) -> String {
    format!(
        "{ip} - {user} [{}] \"GET {target} HTTP/1.1\" 200 512 \"https://search.example/?q=hosting\" \"{ua}\"\n",
        time.format("%d/%b/%Y:%H:%M:%S +0000")
    )
}

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";

async fn ingest(app: &Datavow, log: String) -> IngestSummary {
    BrowserIngest::new(app, None, None)
        .ingest(
            &actor(),
            Box::new(std::io::Cursor::new(log.into_bytes())),
            InputFormat::named(Format::Combined).expect("a named format"),
            Arc::default(),
        )
        .await
        .expect("ingest")
}

async fn ingested_logs_keep_no_client_address_or_query_in_clear(t: TestStores) {
    let app = datavow_core::testkit::open(&t).await;
    let now = Utc::now();
    let mut log = String::new();
    for i in 0..300 {
        let ip = if i % 2 == 0 {
            "203.0.113.77"
        } else {
            "2001:db8:aa::17"
        };
        log.push_str(&line(
            ip,
            now - Duration::minutes(i),
            "/pricing?coupon=SECRETCOUPON",
            "-",
            FIREFOX,
        ));
    }
    let summary = ingest(&app, log).await;
    assert_eq!((summary.read, summary.stored), (300, 300), "{summary:?}");
    assert_eq!(t.browser_records().await, 300);
    app.audit_log().checkpoint().await.expect("checkpoint");
    let mapped = address_bytes("203.0.113.77".parse::<IpAddr>().expect("ip"));
    let v6 = address_bytes("2001:db8:aa::17".parse::<IpAddr>().expect("ip"));
    for needle in [
        b"203.0.113.77".as_slice(),
        b"2001:db8:aa::17",
        &[203, 0, 113, 77],
        &mapped,
        &v6,
        b"SECRETCOUPON",
        b"q=hosting",
        b"/pricing",
        b"Firefox",
    ] {
        let found = t.raw_places_containing(needle).await;
        assert!(
            found.is_empty(),
            "{} found in {found:?}",
            String::from_utf8_lossy(needle)
        );
    }
}

async fn statistics_see_browsing_but_never_addresses_and_security_sees_both(t: TestStores) {
    let app = datavow_core::testkit::open(&t).await;
    let now = Utc::now();
    ingest(
        &app,
        line(
            "198.51.100.9",
            now,
            "/products/colocation?ref=x",
            "-",
            FIREFOX,
        ),
    )
    .await;
    let day = now.date_naive();
    let block = app
        .stores()
        .browser
        .day_blocks(day)
        .await
        .expect("blocks")
        .remove(0);

    let stats = app
        .vault()
        .open_day(&app.grant(Purpose::Statistics), day)
        .await
        .expect("open")
        .expect("day");
    let meta = BlockMeta::decode(&stats.open_meta(&block).expect("meta")).expect("decode");
    assert_eq!(
        meta.rows[0].path, "/products/colocation",
        "the query string is cut off"
    );
    assert_eq!(
        meta.rows[0].referrer.as_deref(),
        Some("https://search.example/")
    );
    assert!(matches!(
        stats.open_ips(&block),
        Err(VaultError::AddressesWithheld)
    ));

    let security = app
        .vault()
        .open_day(&app.grant(Purpose::Security), day)
        .await
        .expect("open")
        .expect("day");
    let ips = decode_addresses(&security.open_ips(&block).expect("addresses"));
    assert_eq!(
        ips,
        Some(vec!["198.51.100.9".parse::<IpAddr>().expect("ip")])
    );

    let refused = app
        .vault()
        .open_day(&app.grant(Purpose::Marketing), day)
        .await;
    assert!(
        matches!(refused, Err(VaultError::Refused(_))),
        "marketing may not read browser data"
    );
}

async fn a_signed_in_visit_is_linked_to_the_person_until_their_key_is_shredded(t: TestStores) {
    let app = datavow_core::testkit::open(&t).await;
    let user_id = datavow_core::accounts::credentials::generate_user_id();
    let person = app
        .create_person(
            "asergo_europe",
            &[(Field::UserId, user_id.as_str()), (Field::Name, "Ada")],
        )
        .await;
    let now = Utc::now();
    let log = [
        // As a web server's basic-auth user: typed in lower case.
        line(
            "192.0.2.10",
            now,
            "/dashboard",
            &user_id.to_lowercase(),
            FIREFOX,
        ),
        line("192.0.2.11", now, "/", "-", FIREFOX),
        line("192.0.2.12", now, "/", "somebody-else", FIREFOX),
    ]
    .concat();
    assert_eq!(ingest(&app, log).await.stored, 3);
    let mine = app.linked_records(person).await.expect("linked");
    assert_eq!(mine.len(), 1, "only the person's own visit: {mine:?}");
    assert_eq!(mine[0].ip, "192.0.2.10".parse::<IpAddr>().expect("ip"));
    assert_eq!(mine[0].path, "/dashboard");

    assert!(app.destroy_account_key(person).await);
    let after = app.linked_records(person).await.expect("linked");
    assert!(after.is_empty(), "the link dies with the key");
    let stored = t.browser_records().await;
    assert_eq!(
        stored, 3,
        "the pseudonymous records stay until their retention ends"
    );
}

/// Waits (up to 20 s) until `records` browser records are stored.
async fn stored_at_least(t: &TestStores, records: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while t.browser_records().await < records {
        assert!(
            std::time::Instant::now() < deadline,
            "{records} records not stored within 20 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn a_user_who_signs_up_while_a_stream_runs_is_linked_from_then_on(t: TestStores) {
    use std::io::Write;
    let app = datavow_core::testkit::open(&t).await;
    let user_id = datavow_core::accounts::credentials::generate_user_id();
    let (input, mut stream) = std::io::pipe().expect("pipe");
    let run = {
        let app = app.clone();
        tokio::spawn(async move {
            BrowserIngest::new(&app, None, None)
                .ingest(
                    &actor(),
                    Box::new(std::io::BufReader::new(input)),
                    InputFormat::named(Format::Combined).expect("a named format"),
                    Arc::default(),
                )
                .await
        })
    };
    // Full chunks of lines, so each is handed to a worker at once: every worker sees
    // the userID while it is nobody's.
    let now = Utc::now();
    let chunk = |path: &str| line("192.0.2.20", now, path, &user_id, FIREFOX).repeat(4096);
    for _ in 0..4 {
        stream
            .write_all(chunk("/before").as_bytes())
            .expect("write");
    }
    stored_at_least(&t, 4 * 4096).await;

    // The account is made while the stream keeps running.
    let person = app
        .create_person("asergo_europe", &[(Field::UserId, user_id.as_str())])
        .await;
    for _ in 0..2 {
        stream.write_all(chunk("/after").as_bytes()).expect("write");
    }
    stored_at_least(&t, 6 * 4096).await;
    drop(stream);
    let summary = run.await.expect("join").expect("ingest");
    assert_eq!(summary.stored, 6 * 4096);

    let mine = app.linked_records(person).await.expect("linked");
    assert_eq!(
        mine.len(),
        2 * 4096,
        "every visit after the sign-up is linked, though the run saw the userID before"
    );
    assert!(mine.iter().all(|r| r.path == "/after"));
}

async fn a_live_stream_audits_the_day_it_writes_to_again_and_again(t: TestStores) {
    use std::io::Write;
    let app = datavow_core::testkit::open(&t).await;
    let (input, mut stream) = std::io::pipe().expect("pipe");
    let run = {
        let app = app.clone();
        tokio::spawn(async move {
            BrowserIngest::new(&app, None, None)
                .audit_every(std::time::Duration::from_millis(500))
                .ingest(
                    &actor(),
                    Box::new(std::io::BufReader::new(input)),
                    InputFormat::named(Format::Combined).expect("a named format"),
                    Arc::default(),
                )
                .await
        })
    };
    let day = Utc::now().date_naive();
    let entries_for_day = || async {
        app.stores()
            .audit
            .entries_after(0, 10_000)
            .await
            .expect("entries")
            .into_iter()
            .filter(|e| {
                e.entry.action == "ingest"
                    && e.entry
                        .detail
                        .as_deref()
                        .is_some_and(|d| d.starts_with(&format!("browser records into day {day} ")))
            })
            .count()
    };
    // Like `tail -F`: a line now and then, the input never closing.
    for i in 0..4u64 {
        stream
            .write_all(line("192.0.2.30", Utc::now(), "/live", "-", FIREFOX).as_bytes())
            .expect("write");
        stream.flush().expect("flush");
        stored_at_least(&t, i + 1).await;
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    }
    let while_running = entries_for_day().await;
    assert!(
        while_running >= 3,
        "a day written to for 2 s with a 0.5 s interval was audited {while_running} times"
    );
    drop(stream);
    run.await.expect("join").expect("ingest");
}

async fn every_bad_line_is_counted_by_reason_and_the_run_goes_on(t: TestStores) {
    let app = datavow_core::testkit::open(&t).await;
    let now = Utc::now();
    let mut log = Vec::new();
    log.extend_from_slice(line("192.0.2.1", now, "/", "-", FIREFOX).as_bytes());
    log.extend_from_slice(b"garbage\n");
    log.extend_from_slice(b"\xff\xfe not utf-8\n");
    log.extend_from_slice(line("192.0.2.2", now, "/pay/4111111111111111", "-", FIREFOX).as_bytes());
    // In a query string, the number goes with the query and the record is kept.
    log.extend_from_slice(
        line("192.0.2.6", now, "/pay?card=4111111111111111", "-", FIREFOX).as_bytes(),
    );
    log.extend_from_slice(
        line("192.0.2.3", now - Duration::days(400), "/", "-", FIREFOX).as_bytes(),
    );
    log.extend_from_slice(
        line("192.0.2.4", now + Duration::days(30), "/", "-", FIREFOX).as_bytes(),
    );
    log.extend_from_slice(&vec![b'a'; datavow_core::ingest::MAX_LINE * 3]);
    log.push(b'\n');
    log.extend_from_slice(line("192.0.2.5", now, "/last", "-", FIREFOX).as_bytes());
    let summary = BrowserIngest::new(&app, None, None)
        .ingest(
            &actor(),
            Box::new(std::io::Cursor::new(log)),
            InputFormat::named(Format::Combined).expect("a named format"),
            Arc::default(),
        )
        .await
        .expect("ingest");
    assert_eq!(summary.read, 9, "{summary:?}");
    assert_eq!(summary.stored, 3, "{summary:?}");
    for reason in [
        "missing field",
        // Invalid bytes are read as U+FFFD; this line then has no address.
        "bad client address",
        "card number in line (dropped unseen)",
        "older than the retention period",
        "time in the future",
        "line too long",
    ] {
        assert_eq!(
            summary.rejected.get(reason),
            Some(&1),
            "{reason}: {summary:?}"
        );
    }
    assert!(t
        .raw_places_containing(b"4111111111111111")
        .await
        .is_empty());
}

async fn a_visitor_counts_once_a_day_and_cannot_be_followed_across_days(t: TestStores) {
    let app = datavow_core::testkit::open(&t).await;
    let today = Utc::now();
    let yesterday = today - Duration::days(1);
    let log = [
        line("192.0.2.50", today, "/", "-", FIREFOX),
        line(
            "192.0.2.50",
            today - Duration::seconds(5),
            "/pricing",
            "-",
            FIREFOX,
        ),
        line("192.0.2.51", today, "/", "-", FIREFOX),
        line("192.0.2.50", yesterday, "/", "-", FIREFOX),
    ]
    .concat();
    ingest(&app, log).await;
    let visitors = |day: chrono::NaiveDate| {
        let app = app.clone();
        async move {
            let reader = app
                .vault()
                .open_day(&app.grant(Purpose::Statistics), day)
                .await
                .expect("open")
                .expect("day");
            let mut hashes = Vec::new();
            for block in app.stores().browser.day_blocks(day).await.expect("blocks") {
                let meta =
                    BlockMeta::decode(&reader.open_meta(&block).expect("meta")).expect("decode");
                hashes.extend(meta.rows.iter().map(|r| (r.path.clone(), r.visitor)));
            }
            hashes.sort();
            hashes
        }
    };
    let today_rows = visitors(today.date_naive()).await;
    let same: Vec<u64> = today_rows
        .iter()
        .filter(|(p, _)| p == "/pricing")
        .map(|r| r.1)
        .collect();
    let distinct: std::collections::BTreeSet<u64> = today_rows.iter().map(|r| r.1).collect();
    assert_eq!(distinct.len(), 2, "two visitors today: {today_rows:?}");
    let yesterday_rows = visitors(yesterday.date_naive()).await;
    assert_eq!(yesterday_rows.len(), 1);
    assert_ne!(
        yesterday_rows[0].1, same[0],
        "the same visitor hashes differently on another day"
    );
}

async fn retention_drops_a_day_whole_with_its_key_and_destroys_old_visitor_salts(t: TestStores) {
    let app = datavow_core::testkit::open(&t).await;
    let now = Utc::now();
    let old = now - Duration::days(150);
    ingest(
        &app,
        [
            line("192.0.2.1", old, "/", "-", FIREFOX),
            line("192.0.2.2", now, "/", "-", FIREFOX),
        ]
        .concat(),
    )
    .await;
    let salt = |day: chrono::NaiveDate| format!("browser:salt:{day}");
    assert!(
        app.stores()
            .keys
            .named_key(&salt(now.date_naive()))
            .await
            .expect("key")
            .is_some(),
        "today's salt is kept"
    );
    assert!(
        app.stores()
            .keys
            .named_key(&salt(old.date_naive()))
            .await
            .expect("key")
            .is_none(),
        "an old day's salt never reaches the keystore"
    );

    // Nothing is due yet.
    let pass = browser::apply_retention(&app, now)
        .await
        .expect("retention");
    assert!(pass.days_dropped.is_empty());
    assert_eq!(pass.salts_destroyed, 0);

    // Three days on, today's salt goes; two months on, the old day is past 6 months.
    let pass = browser::apply_retention(&app, now + Duration::days(3))
        .await
        .expect("retention");
    assert_eq!(pass.salts_destroyed, 1);
    assert!(app
        .stores()
        .keys
        .named_key(&salt(now.date_naive()))
        .await
        .expect("key")
        .is_none());
    let pass = browser::apply_retention(&app, now + Duration::days(60))
        .await
        .expect("retention");
    assert_eq!(pass.days_dropped, vec![old.date_naive()]);
    assert!(app
        .stores()
        .browser
        .day_blocks(old.date_naive())
        .await
        .expect("blocks")
        .is_empty());
    assert!(
        app.vault()
            .open_day(&app.grant(Purpose::Security), old.date_naive())
            .await
            .expect("open")
            .is_none(),
        "the day's key is destroyed with its partition"
    );
    let left: Vec<_> = app
        .stores()
        .browser
        .browser_days()
        .await
        .expect("days")
        .iter()
        .map(|d| d.day)
        .collect();
    assert_eq!(left, vec![now.date_naive()]);
    // The day's key went first, each step audited before it: an interrupted pass
    // leaves rows nobody can open, never a readable day whose key deletion was lost.
    let entries = app
        .stores()
        .audit
        .entries_after(0, 1000)
        .await
        .expect("entries");
    let day = old.date_naive().to_string();
    let position = |action: &str| {
        entries
            .iter()
            .position(|e| {
                e.entry.action == action
                    && e.entry.detail.as_deref().is_some_and(|d| d.contains(&day))
            })
            .unwrap_or_else(|| panic!("no {action} entry for {day}"))
    };
    assert!(position("keys_destroyed") < position("day_dropped"));
}

backend_tests!(
    a_live_stream_audits_the_day_it_writes_to_again_and_again,
    a_user_who_signs_up_while_a_stream_runs_is_linked_from_then_on,
    ingested_logs_keep_no_client_address_or_query_in_clear,
    statistics_see_browsing_but_never_addresses_and_security_sees_both,
    a_signed_in_visit_is_linked_to_the_person_until_their_key_is_shredded,
    every_bad_line_is_counted_by_reason_and_the_run_goes_on,
    a_visitor_counts_once_a_day_and_cannot_be_followed_across_days,
    retention_drops_a_day_whole_with_its_key_and_destroys_old_visitor_salts,
);
