//! Other requests under a storm of sign-ins: `GET /api/v1/me` measured by `wrk` idle,
//! then again while 16 clients sign in with valid passwords without pause (each one an
//! Argon2id verification). The goal: `GET /me`'s p99 under the storm within 2x of idle.
//! Prints both, their ratio, and the sign-ins per second the storm got through.
//!
//! All in this process on a multi-threaded runtime, SQLite; the `GET /me` load comes
//! from `wrk` (Debian package `wrk`), a separate process.
//!
//! Run: `cargo bench -p datavow-server --bench signin_storm` (DATAVOW_BENCH_SECONDS,
//! default 10).

use datavow_core::accounts;
use datavow_store::testkit::TestStores;
use secrecy::ExposeSecret;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// The `datavow` binary's allocator, so the figures stand for the product.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Sign-ins in flight during the storm.
const STORM: usize = 16;

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
    let (_t, token, credentials, addr) = runtime.block_on(async {
        let t = TestStores::sqlite().await;
        let app = datavow_core::testkit::open(&t).await;
        let mut credentials = Vec::new();
        for i in 0..STORM {
            let input = accounts::SignUpInput {
                name: Some(format!("Storm Person {i}")),
                email: Some(format!("storm{i}@example.de")),
                ..Default::default()
            };
            let account = accounts::sign_up(&app, &input).await.expect("sign up");
            credentials.push((account.user_id, account.password.expose_secret().to_owned()));
        }
        let session = accounts::sign_in(
            &app,
            &credentials[0].0,
            &credentials[0].1.clone().into(),
            "bench",
        )
        .await
        .expect("sign in");
        let addr = setup::serve(app).await;
        (
            t,
            session.token.expose_secret().to_owned(),
            credentials,
            addr,
        )
    });
    let url = format!("http://{addr}/api/v1/me");
    let idle = wrk(&url, &token, seconds, 32);

    // The storm's clients run on a runtime of their own, on their own thread, as a
    // separate client would: not in the server's task queues.
    let stop = Arc::new(AtomicBool::new(false));
    let signed_in = Arc::new(AtomicU64::new(0));
    let storm_thread = {
        let (stop, signed_in) = (stop.clone(), signed_in.clone());
        std::thread::spawn(move || {
            let clients = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("client runtime");
            clients.block_on(async move {
                let client = reqwest::Client::new();
                let session_url = format!("http://{addr}/api/v1/session");
                let mut tasks = tokio::task::JoinSet::new();
                for (user_id, password) in credentials {
                    let (stop, signed_in, client, url) = (
                        stop.clone(),
                        signed_in.clone(),
                        client.clone(),
                        session_url.clone(),
                    );
                    tasks.spawn(async move {
                        while !stop.load(Ordering::Relaxed) {
                            let answer = client
                                .post(&url)
                                .json(
                                    &serde_json::json!({"user_id": user_id, "password": password}),
                                )
                                .send()
                                .await;
                            if answer.is_ok_and(|r| r.status().is_success()) {
                                signed_in.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    });
                }
                tasks.join_all().await;
            });
        })
    };
    std::thread::sleep(std::time::Duration::from_secs(1));
    let before = signed_in.load(Ordering::Relaxed);
    let started = std::time::Instant::now();
    let storm = wrk(&url, &token, seconds, 32);
    let rate =
        (signed_in.load(Ordering::Relaxed) - before) as f64 / started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let _ = storm_thread.join();

    println!(
        "GET /api/v1/me on loopback, wrk -t2 -c32 -d{seconds}s, SQLite, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "{:<28} {:>10} {:>9} {:>9} {:>10}",
        "", "req/s", "p50 ms", "p99 ms", "requests"
    );
    println!(
        "{:<28} {:>10.0} {:>9.2} {:>9.2} {:>10}",
        "idle", idle.requests_per_second, idle.p50_ms, idle.p99_ms, idle.requests
    );
    println!(
        "{:<28} {:>10.0} {:>9.2} {:>9.2} {:>10}",
        format!("{STORM} sign-ins in flight"),
        storm.requests_per_second,
        storm.p50_ms,
        storm.p99_ms,
        storm.requests
    );
    println!("sign-ins completed during the storm: {rate:.1}/s");
    println!(
        "p99 under the storm / idle: {:.2}x (goal <= 2x); throughput {:.2}x of idle",
        storm.p99_ms / idle.p99_ms.max(1e-9),
        storm.requests_per_second / idle.requests_per_second.max(1e-9)
    );
}
