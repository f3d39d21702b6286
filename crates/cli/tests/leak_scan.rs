//! A leak scan after a scripted full workload on a real `datavow serve` (debug logging
//! on): sign-ups, sign-ins, corrections, contact messages, posted events, an access-log
//! ingest, an operator's view, an erasure. Then every file of the data directory
//! (databases, write-ahead logs, keystore) and the server's log are searched for every
//! personal value and secret the workload used, as text and client addresses also as
//! raw bytes: after a SIGKILL (write-ahead logs full) and after a clean stop.

mod common;

use common::*;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn start(data: &Path, port: u16, log: &Path) -> Child {
    let child = datavow()
        .args([
            "--log-level",
            "debug",
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(data)
        .stdout(Stdio::null())
        .stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .expect("log"),
        )
        .spawn()
        .expect("serve");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "serve did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

/// Where each needle appears, as text (any case for letters) in every file under `dir`
/// and in `log`.
fn find(needles: &[String], ips: &[std::net::IpAddr], dir: &Path, log: &Path) -> Vec<String> {
    let mut files = vec![log.to_owned()];
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    let mut found = Vec::new();
    for file in files {
        let bytes = std::fs::read(&file).unwrap_or_default();
        let lower = bytes.to_ascii_lowercase();
        for needle in needles {
            let n = needle.to_ascii_lowercase();
            if lower.windows(n.len()).any(|w| w == n.as_bytes()) {
                found.push(format!("{needle:?} in {}", file.display()));
            }
        }
        for ip in ips {
            // As sixteen raw bytes (IPv4 mapped into IPv6): four bytes of an IPv4
            // address alone turn up by chance in ciphertext, sixteen do not.
            let raw = match ip {
                std::net::IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
                std::net::IpAddr::V6(v6) => v6.octets(),
            };
            if bytes.windows(16).any(|w| w == raw) {
                found.push(format!("{ip} as raw bytes in {}", file.display()));
            }
        }
    }
    found
}

#[test]
fn no_personal_value_or_secret_is_at_rest_or_in_the_log_after_a_full_workload() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let log = dir.path().join("serve.log");
    let operator = |name: &str, role: &str| {
        let out = run(datavow()
            .args(["operator", "add", name, "--role", role, "--data-dir"])
            .arg(&data));
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("API token: ").map(str::to_owned))
            .expect("token")
    };
    let collector = operator("web-tier", "collector");
    let support = operator("sam", "support");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = start(&data, port, &log);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let client = reqwest::Client::new();
    let mut needles: Vec<String> = Vec::new();
    let mut ips: Vec<std::net::IpAddr> = Vec::new();
    rt.block_on(async {
        let post = |path: &str, token: Option<&str>, body: Value| {
            let mut request = client.post(format!("{base}{path}")).json(&body);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            async move {
                let response = request.send().await.expect("answer");
                let status = response.status().as_u16();
                (status, response.json::<Value>().await.unwrap_or(Value::Null))
            }
        };
        let mut sessions = Vec::new();
        for i in 0..4 {
            let person = json!({
                "name": format!("Quixote Leakfinder{i}"),
                "company": format!("Zyxwvut{i} Hosting ApS"),
                "email": format!("leak.finder{i}.zq@example.dk"),
                "phone": format!("+45 32 12 34 5{i}"),
                "postal_address": {"street": format!("Quxstræde {i}7"), "postal_code": "2970", "city": "Hørsholm", "country": "DK"},
                "interest": format!("Quasar colocation plan {i}"),
                "birth_date": format!("1980-0{}-15", i + 1),
                "marketing_opt_in": true
            });
            let (status, created) = post("/api/v1/accounts", None, person).await;
            assert_eq!(status, 201, "{created}");
            let (user, password) = (created["user_id"].as_str().expect("id").to_owned(), created["password"].as_str().expect("pw").to_owned());
            let (status, session) = post("/api/v1/session", None, json!({"user_id": user, "password": password})).await;
            assert_eq!(status, 200, "{session}");
            let token = session["token"].as_str().expect("token").to_owned();
            needles.extend([
                format!("Quixote Leakfinder{i}"),
                format!("Zyxwvut{i} Hosting"),
                format!("leak.finder{i}.zq"),
                format!("3212345{i}"),
                format!("Quxstræde {i}7"),
                format!("Quasar colocation plan {i}"),
                format!("1980-0{}-15", i + 1),
                password,
                token.clone(),
            ]);
            sessions.push(token);
        }
        // A correction: the old phone number stays only as ciphertext.
        let response = client
            .patch(format!("{base}/api/v1/me"))
            .bearer_auth(&sessions[1])
            .json(&json!({"phone": "+45 33 98 76 54", "name": "Quixote Renamed"}))
            .send()
            .await
            .expect("patch");
        assert_eq!(response.status().as_u16(), 200);
        needles.extend(["33987654".to_owned(), "Quixote Renamed".to_owned()]);
        let (status, body) = post(
            "/api/v1/contact",
            None,
            json!({"name": "Ulrike Kontaktwunsch", "email": "ulrike.kontakt.zq@example.de", "message": "Please call about the Xylophone racks"}),
        )
        .await;
        assert_eq!(status, 202, "{body}");
        needles.extend(["Ulrike Kontaktwunsch".to_owned(), "ulrike.kontakt.zq".to_owned(), "Xylophone racks".to_owned()]);
        let now = chrono::Utc::now();
        let events: Vec<Value> = (0..20)
            .map(|i| {
                let ip = if i % 2 == 0 { format!("198.51.100.{}", 10 + i) } else { format!("2001:db8:77::{:x}", 0x100 + i) };
                ips.push(ip.parse().expect("ip"));
                json!({"ip": ip, "time": now.to_rfc3339(), "method": "GET", "path": format!("/plans/{i}"), "status": 200,
                       "user_agent": "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"})
            })
            .collect();
        let (status, body) = post("/api/v1/events", Some(&collector), json!({"events": events})).await;
        assert_eq!(status, 200, "{body}");
        let (status, found) = post("/api/v1/admin/persons/search", Some(&support), json!({"email": "leak.finder2.zq@example.dk"})).await;
        assert_eq!(status, 200, "{found}");
        let id = found["person_id"].as_str().expect("id");
        let view = client
            .get(format!("{base}/api/v1/admin/persons/{id}?purpose=service"))
            .bearer_auth(&support)
            .send()
            .await
            .expect("view");
        assert_eq!(view.status().as_u16(), 200);
        let (status, body) = post("/api/v1/me/erasure", Some(&sessions[0]), json!({})).await;
        assert!(status == 200 || status == 202, "{status}: {body}");
    });
    // An access log read while the server runs.
    let access = dir.path().join("access.log");
    let when = chrono::Utc::now().format("%d/%b/%Y:%H:%M:%S +0000");
    let mut lines = String::new();
    for i in 0..20 {
        let ip = format!("203.0.113.{}", 100 + i);
        ips.push(ip.parse().expect("ip"));
        lines.push_str(&format!("{ip} - - [{when}] \"GET /docs/{i}?token=s3cr3t HTTP/1.1\" 200 10 \"-\" \"curl/8.4.0\"\n"));
    }
    std::fs::write(&access, lines).expect("log");
    let out = run(datavow()
        .args(["ingest", "--data-dir"])
        .arg(&data)
        .arg(&access));
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::remove_file(&access).expect("remove the input");
    needles.extend(ips.iter().map(ToString::to_string));
    needles.push("s3cr3t".to_owned());

    // The scan finds what it looks for: a planted value and a planted address.
    let control = dir.path().join("control");
    std::fs::create_dir(&control).expect("control");
    let mut planted = needles[0].to_uppercase().into_bytes();
    if let std::net::IpAddr::V4(v4) = ips[0] {
        planted.extend_from_slice(&v4.to_ipv6_mapped().octets());
    }
    std::fs::write(control.join("planted"), planted).expect("plant");
    assert_eq!(
        find(&needles, &ips, &control, &control.join("planted")).len(),
        4
    );

    // Killed: the write-ahead logs still hold the latest commits.
    let _ = server.kill();
    let _ = server.wait();
    let killed = find(&needles, &ips, &data, &log);
    assert!(killed.is_empty(), "after SIGKILL: {killed:#?}");

    // Restarted and stopped cleanly: logs folded into the databases.
    let mut server = start(&data, port, &log);
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let _ = server.wait();
    let stopped = find(&needles, &ips, &data, &log);
    assert!(stopped.is_empty(), "after a clean stop: {stopped:#?}");
    assert!(
        std::fs::metadata(&log).expect("log").len() > 0,
        "the server logged"
    );
}
