//! Three `datavow serve` nodes on one PostgreSQL database behind a real load balancer
//! (nginx from Debian's packages), under mixed load from many clients, with one node
//! killed (SIGKILL) and restarted in the middle of the run.
//!
//! What must hold: no request fails but those the killed node held in flight (a 502
//! from nginx in the moments after the kill); a correction, sign-out or erasure made
//! through one node is seen by the next read through any node; one audit chain verifies after
//! the run; each hourly or daily background job ran on one node only.
//!
//! Needs `DATAVOW_TEST_DATABASE_URL` and `/usr/sbin/nginx` (both set up by
//! `scripts/test.sh`); skipped otherwise. `DATAVOW_MULTI_NODE_SECONDS` sets the length
//! of the load (24 s by default); the figures are printed with `--nocapture`.

mod common;

use common::*;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Concurrent clients of the load.
const CLIENTS: usize = 12;

/// One request of the load: when it ended (since the start), what it was, its status
/// (0: no answer), how long it took.
#[derive(Debug, Clone)]
struct Outcome {
    at: Duration,
    what: &'static str,
    status: u16,
    took: Duration,
}

/// What one client saw that breaks a promise across nodes.
#[derive(Debug, Default)]
struct Findings {
    outcomes: Vec<Outcome>,
    /// A read after a correction that showed the old value, or a read after sign-out
    /// that was still served.
    stale: Vec<String>,
}

fn nginx_config(dir: &Path, port: u16, nodes: &[u16]) -> std::path::PathBuf {
    let d = dir.display();
    let upstreams: String = nodes
        .iter()
        .map(|p| format!("    server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;\n"))
        .collect();
    let config = format!(
        r#"daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log;
events {{}}
http {{
  log_format upstream '$msec $status $upstream_addr $request_method $uri';
  access_log {d}/nginx-access.log upstream;
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  upstream datavow {{
{upstreams}    keepalive 32;
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://datavow;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_next_upstream error timeout;
      proxy_connect_timeout 1s;
    }}
  }}
}}
"#
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, config).expect("nginx config");
    path
}

/// One client's life, over and over until `until`: sign up (from an address of its
/// own), sign in, read, correct, read the correction back, sign out and check the
/// session is gone (or, every third time, erase the account and check that a second
/// session is gone). Every request goes through nginx, so consecutive ones land on
/// different nodes.
async fn client_loop(
    n: usize,
    base: String,
    started: Instant,
    until: Instant,
    findings: Arc<Mutex<Findings>>,
) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let mut round = 0usize;
    while Instant::now() < until {
        round += 1;
        let address = format!("10.{}.{}.{}", n, round / 250, round % 250 + 1);
        let send = |what: &'static str, request: reqwest::RequestBuilder| {
            let findings = findings.clone();
            let address = address.clone();
            async move {
                let begun = Instant::now();
                let answer = request.header("x-forwarded-for", address).send().await;
                let (status, body) = match answer {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        (status, r.json::<Value>().await.unwrap_or(Value::Null))
                    }
                    Err(_) => (0, Value::Null),
                };
                findings.lock().expect("findings").outcomes.push(Outcome {
                    at: started.elapsed(),
                    what,
                    status,
                    took: begun.elapsed(),
                });
                (status, body)
            }
        };
        // A read of the person's data with `bearer`, a sign-in with their password, and
        // a broken promise noted.
        let me = |what: &'static str, bearer: &str| {
            send(
                what,
                http.get(format!("{base}/api/v1/me"))
                    .header("authorization", bearer),
            )
        };
        let sign_in = |account: &Value| {
            send(
                "sign-in",
                http.post(format!("{base}/api/v1/session"))
                    .json(&json!({"user_id": account["user_id"], "password": account["password"]})),
            )
        };
        let stale = |what: &str| {
            findings
                .lock()
                .expect("findings")
                .stale
                .push(format!("client {n}: {what}"));
        };
        let (status, account) = send(
            "sign-up",
            http.post(format!("{base}/api/v1/accounts")).json(&json!({
                "name": format!("Node Trial {n}-{round}"),
                "email": format!("node.{n}.{round}@example.de"),
                "postal_address": {"street": "Witzlebenstraße 6", "postal_code": "14057",
                    "city": "Berlin", "country": "DE"}
            })),
        )
        .await;
        if status != 201 {
            continue;
        }
        let (status, session) = sign_in(&account).await;
        let Some(token) = session["token"].as_str().filter(|_| status == 200) else {
            continue;
        };
        let bearer = format!("Bearer {token}");
        for _ in 0..8 {
            me("read", &bearer).await;
        }
        let interest = format!("Colocation, round {round}");
        let (status, _) = send(
            "correct",
            http.patch(format!("{base}/api/v1/me"))
                .header("authorization", &bearer)
                .json(&json!({"interest": interest})),
        )
        .await;
        if status == 200 {
            let (status, read) = me("read", &bearer).await;
            if status == 200 && read["interest"] != interest.as_str() {
                stale("a read after a correction showed the old value");
            }
        }
        if round.is_multiple_of(3) {
            // Erasure through one node, then the person's other session through the
            // next one.
            let (status, other) = sign_in(&account).await;
            let Some(other) = other["token"].as_str().filter(|_| status == 200) else {
                continue;
            };
            let (status, _) = send(
                "erasure",
                http.post(format!("{base}/api/v1/me/erasure"))
                    .header("authorization", &bearer),
            )
            .await;
            if status == 200 && me("read after erasure", &format!("Bearer {other}")).await.0 == 200
            {
                stale("an erased person's other session was still served");
            }
            continue;
        }
        let (status, _) = send(
            "sign-out",
            http.delete(format!("{base}/api/v1/session"))
                .header("authorization", &bearer),
        )
        .await;
        if status == 204 && me("read after sign-out", &bearer).await.0 == 200 {
            stale("a session signed out was still served");
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[test]
#[allow(clippy::print_stdout, clippy::print_stderr)]
fn three_nodes_behind_nginx_keep_serving_through_a_killed_node_with_one_audit_chain() {
    let Ok(url) = std::env::var("DATAVOW_TEST_DATABASE_URL") else {
        eprintln!("skipped: set DATAVOW_TEST_DATABASE_URL to run the multi-node test");
        return;
    };
    if !Path::new("/usr/sbin/nginx").exists() {
        assert!(
            std::env::var("DATAVOW_WEB_SERVER_TESTS").is_err(),
            "DATAVOW_WEB_SERVER_TESTS is set but nginx is missing"
        );
        eprintln!("skipped: nginx (Debian) is not installed");
        return;
    }
    let seconds: u64 = std::env::var("DATAVOW_MULTI_NODE_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    let dir = tempfile::tempdir().expect("dir");
    let key = dir.path().join("master.key");
    std::fs::write(&key, format!("{}\n", "cd".repeat(32))).expect("key");
    let schema = format!("multinode{}", std::process::id());
    let proxies = std::ffi::OsString::from("127.0.0.1");
    let env: Vec<(&str, &Path)> = vec![
        ("DATAVOW_DATABASE_SCHEMA", Path::new(&schema)),
        ("DATAVOW_MASTER_KEY_FILE", &key),
        ("DATAVOW_TRUSTED_PROXIES", Path::new(&proxies)),
    ];
    let args = |i: usize| -> Vec<std::ffi::OsString> {
        vec![
            "--database-url".into(),
            url.clone().into(),
            "--data-dir".into(),
            dir.path().join(format!("node{i}")).into(),
        ]
    };
    let start = |i: usize, port: u16, log: &str| {
        let args = args(i);
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        Node::start_on(port, &args, &env, &dir.path().join(log))
    };
    let mut nodes: Vec<Option<Node>> = (0..3)
        .map(|i| Some(start(i, free_port(), &format!("node{i}.log"))))
        .collect();
    let ports: Vec<u16> = nodes.iter().flatten().map(|n| n.port).collect();
    let lb_port = free_port();
    let config = nginx_config(dir.path(), lb_port, &ports);
    let mut nginx = std::process::Command::new("/usr/sbin/nginx")
        .arg("-c")
        .arg(&config)
        .arg("-e")
        .arg(dir.path().join("nginx-error.log"))
        .spawn()
        .expect("start nginx");
    let base = format!("http://127.0.0.1:{lb_port}");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let client = reqwest::Client::new();
    rt.block_on(async {
        for node in nodes.iter().flatten() {
            node.wait_healthy(&client, Duration::from_secs(30)).await;
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while healthz(&client, &base).await != 200 {
            assert!(Instant::now() < deadline, "nginx did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });

    let findings = Arc::new(Mutex::new(Findings::default()));
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let load = rt.spawn({
        let findings = findings.clone();
        let base = base.clone();
        async move {
            let clients: Vec<_> = (0..CLIENTS)
                .map(|n| {
                    tokio::spawn(client_loop(
                        n,
                        base.clone(),
                        started,
                        until,
                        findings.clone(),
                    ))
                })
                .collect();
            for c in clients {
                c.await.expect("client");
            }
        }
    });
    // The middle node is killed a third of the way in and started again on its port
    // at two thirds.
    std::thread::sleep(Duration::from_secs(seconds / 3));
    let killed_at = started.elapsed();
    let victim = nodes[1].take().expect("node 1");
    let victim_port = victim.port;
    victim.kill();
    std::thread::sleep(Duration::from_secs(seconds / 3));
    let restarted_at = started.elapsed();
    nodes[1] = Some(start(1, victim_port, "node1-restarted.log"));
    rt.block_on(load).expect("load");
    let elapsed = started.elapsed();

    for node in nodes.iter_mut() {
        node.take().expect("node").stop();
    }
    let _ = nginx.kill();
    let _ = nginx.wait();

    let findings = findings.lock().expect("findings");
    let outcomes = &findings.outcomes;
    let failures: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| {
            let expected = match o.what {
                "read after sign-out" | "read after erasure" => o.status == 401,
                _ => (200..300).contains(&o.status),
            };
            !expected
        })
        .collect();
    let mut took: Vec<Duration> = outcomes.iter().map(|o| o.took).collect();
    took.sort();
    let window = killed_at..killed_at + Duration::from_secs(2);
    println!(
        "multi-node run: 3 nodes behind nginx, {CLIENTS} clients, {:.1} s; node 1 killed at {:.1} s, restarted at {:.1} s",
        elapsed.as_secs_f64(),
        killed_at.as_secs_f64(),
        restarted_at.as_secs_f64()
    );
    println!(
        "  {} requests ({:.0}/s), p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {} failed: {:?}",
        outcomes.len(),
        outcomes.len() as f64 / elapsed.as_secs_f64(),
        percentile(&took, 0.5).as_secs_f64() * 1000.0,
        percentile(&took, 0.99).as_secs_f64() * 1000.0,
        took.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
        failures.len(),
        failures
            .iter()
            .map(|o| (o.what, o.status, o.at.as_millis()))
            .collect::<Vec<_>>()
    );
    for what in [
        "sign-up", "sign-in", "read", "correct", "sign-out", "erasure",
    ] {
        let mut took: Vec<Duration> = outcomes
            .iter()
            .filter(|o| o.what == what)
            .map(|o| o.took)
            .collect();
        took.sort();
        println!(
            "  {what:<9} {:>5} requests, p50 {:>6.1} ms, p99 {:>6.1} ms",
            took.len(),
            percentile(&took, 0.5).as_secs_f64() * 1000.0,
            percentile(&took, 0.99).as_secs_f64() * 1000.0
        );
    }
    assert!(
        outcomes
            .iter()
            .filter(|o| o.what == "sign-up" && o.status == 201)
            .count()
            >= CLIENTS,
        "too little load to show anything: {} requests",
        outcomes.len()
    );
    for failure in &failures {
        assert!(
            failure.status == 502 && window.contains(&failure.at),
            "a request failed outside the killed node's in-flight requests: {failure:?} (kill at {killed_at:?})"
        );
    }
    assert!(
        failures.len() <= CLIENTS,
        "more failures ({}) than requests in flight at the kill ({CLIENTS})",
        failures.len()
    );
    assert!(findings.stale.is_empty(), "{:?}", findings.stale);

    // The restarted node took its share again.
    let access = std::fs::read_to_string(dir.path().join("nginx-access.log")).expect("access log");
    let first_ms = access
        .lines()
        .filter_map(|l| l.split_whitespace().next()?.parse::<f64>().ok())
        .fold(f64::MAX, f64::min);
    let restarted_served = access
        .lines()
        .filter(|l| l.contains(&format!("127.0.0.1:{victim_port}")))
        .filter_map(|l| l.split_whitespace().next()?.parse::<f64>().ok())
        .filter(|t| (t - first_ms) * 1000.0 > restarted_at.as_millis() as f64 + 500.0)
        .count();
    assert!(restarted_served > 0, "the restarted node served nothing");

    // One audit chain, whole, written by four processes.
    let out = run(datavow()
        .args(["audit", "verify", "--database-url", &url, "--data-dir"])
        .arg(dir.path().join("node0"))
        .env("DATAVOW_DATABASE_SCHEMA", &schema)
        .env("DATAVOW_MASTER_KEY_FILE", &key));
    assert!(
        out.status.success(),
        "the audit chain does not verify: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    println!("  {}", text(&out.stdout).trim());

    // Each hourly or daily job ran once in all, on one node, though four processes
    // started and each ran its jobs' first tick at start.
    let logs: String = ["node0.log", "node1.log", "node2.log", "node1-restarted.log"]
        .iter()
        .map(|f| std::fs::read_to_string(dir.path().join(f)).unwrap_or_default())
        .collect();
    for job in [
        "browser-retention",
        "class-retention",
        "audit-prune",
        "audit-verify",
        "orphan-keys",
    ] {
        let ran = logs
            .lines()
            .filter(|l| l.contains("background job ran") && l.contains(&format!("\"{job}\"")))
            .count();
        assert_eq!(ran, 1, "job {job} ran {ran} times across the nodes");
    }
    let _ = std::process::Command::new("psql")
        .args([&url, "-q", "-c"])
        .arg(format!(
            "SET client_min_messages = warning; DROP SCHEMA IF EXISTS {schema} CASCADE; DROP SCHEMA IF EXISTS {schema}_keys CASCADE"
        ))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
}
