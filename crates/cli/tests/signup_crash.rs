//! Sign-up under power cuts: clients sign up in a burst with `Idempotency-Key`s while
//! the server is killed (SIGKILL) at a random moment. After a restart every request is
//! repeated with its key: each answers 201, an acknowledged answer comes back
//! unchanged (no acknowledged account lost), no email is taken twice (no duplicate),
//! every account signs in, and the audit chain verifies.
//!
//! Short mode (CI): 3 trials. `DATAVOW_LONG_TESTS=1`: 100 trials.

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

struct Sent {
    key: String,
    body: Value,
    /// The answer, if one reached the client before the kill.
    acknowledged: Option<Value>,
}

/// One trial on `data`: a burst of sign-ups cut by SIGKILL after `kill_after`; returns
/// (requests sent, acknowledged before the kill).
fn trial(data: &std::path::Path, trial: u64, kill_after: Duration) -> (usize, usize) {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = start_server(data, port);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client");
    let mut burst = tokio::task::JoinSet::new();
    for worker in 0..6 {
        let (client, base) = (client.clone(), base.clone());
        burst.spawn_on(
            async move {
                let mut sent = Vec::new();
                for n in 0.. {
                    let key = format!("trial-{trial}-worker-{worker}-request-{n}-{}", std::process::id());
                    let body = json!({"name": "Crash Burst", "email": format!("t{trial}.w{worker}.n{n}@example.de"),
                        "postal_address": {"street": "Witzlebenstraße 6", "postal_code": "14057", "city": "Berlin", "country": "DE"}});
                    let answer = client
                        .post(format!("{base}/api/v1/accounts"))
                        .header("idempotency-key", &key)
                        .json(&body)
                        .send()
                        .await;
                    let acknowledged = match answer {
                        Ok(r) if r.status().as_u16() == 201 => r.json::<Value>().await.ok(),
                        _ => None,
                    };
                    let died = acknowledged.is_none();
                    sent.push(Sent { key, body, acknowledged });
                    if died {
                        return sent;
                    }
                }
                sent
            },
            rt.handle(),
        );
    }
    std::thread::sleep(kill_after);
    let _ = child.kill();
    let _ = child.wait();
    let sent: Vec<Sent> = rt
        .block_on(burst.join_all())
        .into_iter()
        .flatten()
        .collect();
    let acknowledged = sent.iter().filter(|s| s.acknowledged.is_some()).count();

    let mut child = start_server(data, port);
    rt.block_on(async {
        for s in &sent {
            let response = client
                .post(format!("{base}/api/v1/accounts"))
                .header("idempotency-key", &s.key)
                .json(&s.body)
                .send()
                .await
                .expect("repeat");
            let status = response.status().as_u16();
            let answer: Value = response.json().await.expect("json");
            assert_eq!(
                status, 201,
                "trial {trial}: the repeat of {} answered {answer}",
                s.key
            );
            if let Some(first) = &s.acknowledged {
                assert_eq!(
                    &answer, first,
                    "trial {trial}: an acknowledged answer changed"
                );
            }
            let session = client
                .post(format!("{base}/api/v1/session"))
                .json(&json!({"user_id": answer["user_id"], "password": answer["password"]}))
                .send()
                .await
                .expect("sign in");
            assert_eq!(
                session.status().as_u16(),
                200,
                "trial {trial}: {} cannot sign in",
                s.key
            );
        }
    });
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    (sent.len(), acknowledged)
}

#[test]
#[allow(clippy::print_stderr)] // the long mode reports its figures
fn sign_ups_cut_by_sigkill_are_each_stored_once_and_none_acknowledged_is_lost() {
    let long = std::env::var("DATAVOW_LONG_TESTS").is_ok_and(|v| v == "1");
    let trials: u64 = if long { 100 } else { 3 };
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let started = Instant::now();
    let (mut sent, mut acknowledged) = (0, 0);
    for t in 0..trials {
        // Spread the kill over the burst: 150 ms to about 1.3 s after the start.
        let kill_after = Duration::from_millis(150 + (t * 397) % 1150);
        let (s, a) = trial(&data, t, kill_after);
        sent += s;
        acknowledged += a;
    }
    assert_audit_verifies(&data, "sign-ups cut by SIGKILL");
    assert!(
        acknowledged > 0,
        "no sign-up was acknowledged before a kill"
    );
    eprintln!(
        "sign-up crash harness: {trials} trials, {sent} sign-ups sent, {acknowledged} acknowledged before the kill, all stored once ({:.0} s)",
        started.elapsed().as_secs_f64()
    );
}
