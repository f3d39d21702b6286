//! `GET /api/v1/me` on loopback against a bare axum handler, in the same run.
//!
//! Both servers run in this process on a multi-threaded runtime; the load comes from
//! `wrk` (Debian package `wrk`), a separate process, with the same connections and
//! duration for both. Prints throughput, p50 and p99 for each and the ratio.
//!
//! Run: `cargo bench -p datavow-server --bench me` (DATAVOW_BENCH_SECONDS, default 10).

use axum::routing::get;
use axum::Router;
use datavow_core::accounts;
use datavow_store::testkit::TestStores;
use secrecy::ExposeSecret;
use std::process::Command;

/// The `datavow` binary's allocator, so the figures stand for the product.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Figures {
    requests_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// Runs wrk and reads its summary (`Requests/sec`, and the 50% and 99% lines of
/// `--latency`).
fn wrk(url: &str, token: &str, seconds: u64) -> Figures {
    let output = Command::new("wrk")
        .args(["-t2", "-c32", &format!("-d{seconds}s"), "--latency", "-H"])
        .arg(format!("Authorization: Bearer {token}"))
        .arg(url)
        .output()
        .expect("wrk (apt-get install wrk)");
    let text = String::from_utf8_lossy(&output.stdout);
    let non_2xx = text.lines().find(|l| l.contains("Non-2xx"));
    assert!(non_2xx.is_none(), "errors during the run: {text}");
    let value = |prefix: &str| -> String {
        text.lines()
            .map(str::trim)
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or_else(|| panic!("no `{prefix}` in wrk output: {text}"))
            .to_owned()
    };
    let ms = |v: String| -> f64 {
        if let Some(us) = v.strip_suffix("us") {
            us.parse::<f64>().unwrap_or(0.0) / 1000.0
        } else if let Some(ms) = v.strip_suffix("ms") {
            ms.parse().unwrap_or(0.0)
        } else if let Some(s) = v.strip_suffix('s') {
            s.parse::<f64>().unwrap_or(0.0) * 1000.0
        } else {
            0.0
        }
    };
    Figures {
        requests_per_second: value("Requests/sec:").parse().unwrap_or(0.0),
        p50_ms: ms(value("50%")),
        p99_ms: ms(value("99%")),
    }
}

#[allow(clippy::print_stdout)]
fn main() {
    let seconds: u64 = std::env::var("DATAVOW_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (t, app, token, me_body) = runtime.block_on(async {
        let t = TestStores::sqlite().await;
        let app = datavow_core::testkit::open(&t).await;
        let input = accounts::SignUpInput {
            name: Some("Zoë Müller-Łukasiewicz".into()),
            company: Some("Müller Webhosting GmbH".into()),
            email: Some("zoe@example.de".into()),
            phone: Some("+49 30 901820".into()),
            interest: Some("Dedicated servers".into()),
            ..Default::default()
        };
        let account = accounts::sign_up(&app, &input).await.expect("sign up");
        let session = accounts::sign_in(&app, &account.user_id, &account.password, "bench")
            .await
            .expect("sign in");
        let profile = accounts::profile(&app, account.person)
            .await
            .expect("profile");
        let body = serde_json::to_string(&profile).expect("json");
        (t, app, session.token.expose_secret().to_owned(), body)
    });
    let datavow_addr = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(datavow_server::serve(
            app.clone(),
            listener,
            Default::default(),
            std::future::pending(),
        ));
        addr
    });
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
    let bare = wrk(&format!("http://{bare_addr}/api/v1/me"), &token, seconds);
    let datavow = wrk(&format!("http://{datavow_addr}/api/v1/me"), &token, seconds);
    println!("GET /api/v1/me on loopback, wrk -t2 -c32 -d{seconds}s, SQLite");
    println!(
        "  bare axum handler : {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms",
        bare.requests_per_second, bare.p50_ms, bare.p99_ms
    );
    println!(
        "  datavow /me       : {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms",
        datavow.requests_per_second, datavow.p50_ms, datavow.p99_ms
    );
    println!(
        "  ratio datavow/bare: {:.3}",
        datavow.requests_per_second / bare.requests_per_second
    );
    let entries = runtime.block_on(async { app.audit.verify().await.expect("verify").entries });
    println!("  audit entries written during the run: {entries}");
    drop(t);
}
