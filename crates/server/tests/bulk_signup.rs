//! After a scripted workload of 1,000 sign-ups over HTTP, a raw scan of every file in
//! the SQLite data directory (database, WAL, keystore) finds none of the emails,
//! names, phone numbers, userIDs or passwords in plaintext (P3).

mod common;

use datavow_store::testkit::TestStores;
use reqwest::StatusCode;
use serde_json::json;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

const SIGN_UPS: usize = 1000;

/// Every needle found in `haystack`; needles are grouped by length and looked up in a
/// set at each position, so thousands of needles cost one pass per length.
fn found_in(haystack: &[u8], needles: &[String]) -> Vec<String> {
    let mut by_len: BTreeMap<usize, HashSet<&[u8]>> = BTreeMap::new();
    for n in needles {
        by_len.entry(n.len()).or_default().insert(n.as_bytes());
    }
    let mut found = Vec::new();
    for (len, set) in by_len {
        for window in haystack.windows(len) {
            if set.contains(window) {
                found.push(String::from_utf8_lossy(window).into_owned());
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_sign_ups_leave_no_plaintext_in_the_data_directory() {
    let t = TestStores::sqlite().await;
    let server = Arc::new(common::start(&t).await);
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let server = server.clone();
        tasks.push(tokio::spawn(async move {
            let mut needles = Vec::new();
            for i in (worker..SIGN_UPS).step_by(8) {
                let name = format!("Søren Østergård Nr{i:04}");
                let email = format!("soren.{i:04}@ostergaard-hosting.dk");
                let phone = format!("+4531{:06}", 100_000 + i);
                let (status, created) = server
                    .post_json(
                        "/api/v1/accounts",
                        None,
                        &json!({
                            "name": name,
                            "company": format!("Østergård Hosting {i:04} ApS"),
                            "email": email,
                            "phone": phone,
                            "postal_address": {"street": format!("Agern Allé {i}"), "postal_code": "2970", "city": "Hørsholm", "country": "DK"},
                            "interest": format!("Colocation request {i:04}"),
                        }),
                    )
                    .await;
                assert_eq!(status, StatusCode::CREATED, "{created}");
                needles.push(name);
                needles.push(email);
                needles.push(phone.clone());
                needles.push(phone[1..].to_owned());
                needles.push(created["user_id"].as_str().expect("user_id").to_owned());
                needles.push(created["user_id"].as_str().expect("user_id").replace('-', ""));
                needles.push(created["password"].as_str().expect("password").to_owned());
            }
            needles
        }));
    }
    let mut needles = Vec::new();
    for task in tasks {
        needles.extend(task.await.expect("worker"));
    }
    assert_eq!(needles.len(), SIGN_UPS * 7);
    assert_eq!(
        server
            .app
            .stores()
            .persons
            .count_persons()
            .await
            .expect("count"),
        SIGN_UPS as u64
    );
    needles.push("ostergaard-hosting.dk".into());
    needles.push("Østergård".into());
    needles.push("Colocation request".into());

    let datavow_store::StoreLocation::Sqlite { dir } = &t.location else {
        unreachable!("SQLite stores")
    };
    let mut scanned = 0;
    for entry in std::fs::read_dir(dir).expect("data dir") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read");
        scanned += bytes.len();
        let found = found_in(&bytes, &needles);
        assert!(
            found.is_empty(),
            "{} holds plaintext: {:?}",
            path.display(),
            &found[..found.len().min(5)]
        );
    }
    assert!(
        scanned > 1_000_000,
        "the scan read the stored data ({scanned} bytes)"
    );
    // The scan can find things: the entity ids are stored in clear on purpose.
    let db = std::fs::read(dir.join("datavow.db")).expect("db");
    let wal = std::fs::read(dir.join("datavow.db-wal")).unwrap_or_default();
    assert!(!found_in(&[db, wal].concat(), &["asergo_scandinavia".to_owned()]).is_empty());
}
