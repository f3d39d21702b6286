//! The dashboard in a real browser: Debian's headless Chromium, driven by
//! playwright-core (`tests/browser/dashboard_de.mjs`), signs up through the page,
//! signs in, changes the phone number and downloads the export, in German.
//! Screenshots are kept in `test-artifacts/browser/`; the same journey under the
//! Brightwater example policy in `test-artifacts/browser-brightwater/`.
//!
//! `scripts/test.sh` installs Chromium and playwright-core when they are missing and
//! sets DATAVOW_BROWSER_TESTS=1; without it this test says it was skipped.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Starts `datavow serve` on a free loopback port over the SQLite store in `data`,
/// with `policy` (the bundled one when `None`), and waits until it answers.
fn serve(data: &Path, policy: Option<&Path>) -> (std::process::Child, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_datavow"));
    command
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(data);
    if let Some(policy) = policy {
        command.arg("--policy").arg(policy);
    }
    let server = command
        .env_remove("DATAVOW_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start datavow serve");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "serve did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (server, port)
}

/// Runs `tests/browser/dashboard_de.mjs` against `datavow serve` with `policy` (the
/// bundled one when `None`), the script's expectations in `env`, screenshots into
/// `test-artifacts/NAME`.
fn run_in_chromium(name: &str, policy: Option<&Path>, env: &[(&str, &str)]) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let artefacts = root.join("test-artifacts").join(name);
    let _ = std::fs::remove_dir_all(&artefacts);
    let dir = tempfile::tempdir().expect("dir");
    let (mut server, port) = serve(&dir.path().join("data"), policy);
    let output = Command::new("node")
        .arg(root.join("tests/browser/dashboard_de.mjs"))
        .arg(format!("http://127.0.0.1:{port}"))
        .arg(&artefacts)
        .envs(env.iter().copied())
        .current_dir(root.join("tests/browser"))
        .output()
        .expect("run node");
    let _ = server.kill();
    let _ = server.wait();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "browser test failed:\n{stdout}\n{stderr}\n(screenshots in {})",
        artefacts.display()
    );
    assert!(stdout.contains("browser test passed"), "{stdout}");
    for shot in [
        "01-signup.png",
        "02-credentials.png",
        "03-dashboard.png",
        "04-phone-changed.png",
        "05-privacy.png",
    ] {
        assert!(artefacts.join(shot).exists(), "{shot} missing");
    }
}

fn browser_tests_enabled() -> bool {
    let enabled = std::env::var("DATAVOW_BROWSER_TESTS").as_deref() == Ok("1");
    if !enabled {
        #[allow(clippy::print_stderr)] // a skipped test says why
        {
            eprintln!("skipped: run scripts/test.sh, which installs Chromium and playwright-core");
        }
    }
    enabled
}

#[test]
fn a_person_signs_up_signs_in_changes_their_phone_and_downloads_the_export_in_german() {
    if browser_tests_enabled() {
        run_in_chromium("browser", None, &[]);
    }
}

/// The same journey under a made-up company's policy: its entity, version and
/// sectors, and no page that names ASERGO.
#[test]
fn the_same_journey_under_another_companys_policy_never_shows_asergo() {
    if browser_tests_enabled() {
        let policy = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../policy/examples/brightwater.toml");
        run_in_chromium(
            "browser-brightwater",
            Some(&policy),
            &[
                ("EXPECT_ENTITY", "Brightwater Studio Ltd"),
                ("EXPECT_VERSION", "2026-03"),
                ("SECTOR", "retail"),
                ("FORBIDDEN_TEXT", "asergo"),
            ],
        );
    }
}

/// Adds an operator with the CLI and returns the one-time password it prints.
fn add_operator(data: &Path, name: &str, role: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_datavow"))
        .args(["operator", "add", name, "--role", role, "--data-dir"])
        .arg(data)
        .env_remove("DATAVOW_DATABASE_URL")
        .output()
        .expect("operator add");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("password : "))
        .expect("password printed")
        .trim()
        .to_owned()
}

/// The console in Chromium (`tests/browser/console.mjs`): a privacy officer enrols a
/// TOTP device, sees an overdue request registered with `datavow dsr new`, opens the
/// person and signs out; wrong and replayed codes are refused; a support operator gets
/// 403 on the privacy officer's pages. Screenshots in `test-artifacts/console/`.
#[test]
fn operators_sign_in_with_totp_and_each_role_sees_its_own_console_in_chromium() {
    if !browser_tests_enabled() {
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let artefacts = root.join("test-artifacts").join("console");
    let _ = std::fs::remove_dir_all(&artefacts);
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let mut operators = serde_json::Map::new();
    for (role, name) in [
        ("privacy_officer", "olga"),
        ("support", "sam"),
        ("billing", "bill"),
        ("marketing", "mia"),
        ("security", "sec"),
        ("admin", "adam"),
    ] {
        let password = add_operator(&data, name, role);
        operators.insert(
            role.into(),
            serde_json::json!({"name": name, "password": password}),
        );
    }
    // Two days of access logs for the statistics page.
    let mut log = String::new();
    for days_ago in [2i64, 1] {
        let day = chrono::Utc::now() - chrono::Duration::days(days_ago);
        for v in 0..(90 + 30 * days_ago) {
            for path in ["/", "/pricing", "/docs"].iter().take(1 + (v % 3) as usize) {
                log.push_str(&format!(
                    "203.0.113.{} - - [{}] \"GET {path} HTTP/1.1\" 200 512 \"https://search.example/\" \"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0\"\n",
                    v % 250,
                    day.format("%d/%b/%Y:%H:%M:%S +0000")
                ));
            }
        }
    }
    let log_file = dir.path().join("access.log");
    std::fs::write(&log_file, log).expect("log");
    let output = Command::new(env!("CARGO_BIN_EXE_datavow"))
        .args(["ingest", "--data-dir"])
        .arg(&data)
        .arg(&log_file)
        .env_remove("DATAVOW_DATABASE_URL")
        .output()
        .expect("ingest");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (mut server, port) = serve(&data, None);
    let base = format!("http://127.0.0.1:{port}");
    let email = "ida.console@example.dk";
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let status = runtime.block_on(async {
        reqwest::Client::new()
            .post(format!("{base}/api/v1/accounts"))
            .json(
                &serde_json::json!({"name": "Ida Holm", "email": email, "company": "Holm ApS",
                "phone": "+4531234567", "postal_address": {"street": "Agern Allé 24",
                "postal_code": "2970", "city": "Hørsholm", "country": "DK"},
                "business_sector": "hosting_and_cloud", "interest": "colocation"}),
            )
            .send()
            .await
            .expect("sign up")
            .status()
    });
    assert_eq!(status.as_u16(), 201);
    let received = (chrono::Utc::now() - chrono::Duration::days(40))
        .format("%Y-%m-%d")
        .to_string();
    let output = Command::new(env!("CARGO_BIN_EXE_datavow"))
        .args([
            "dsr",
            "new",
            "--kind",
            "access",
            "--email",
            email,
            "--received",
            &received,
            "--channel",
            "letter",
            "--json",
            "--data-dir",
        ])
        .arg(&data)
        .env_remove("DATAVOW_DATABASE_URL")
        .output()
        .expect("dsr new");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let request: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(request["overdue"], true, "{request}");
    let output = Command::new("node")
        .arg(root.join("tests/browser/console.mjs"))
        .arg(&base)
        .arg(&artefacts)
        .env(
            "OPERATORS",
            serde_json::Value::Object(operators).to_string(),
        )
        .env("PERSON_EMAIL", email)
        .env("REQUEST_ID", request["id"].as_str().expect("id"))
        .current_dir(root.join("tests/browser"))
        .output()
        .expect("run node");
    let _ = server.kill();
    let _ = server.wait();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("console browser test passed"),
        "console browser test failed:\n{stdout}\n{stderr}\n(screenshots in {})",
        artefacts.display()
    );
    for role in [
        "privacy_officer",
        "support",
        "billing",
        "marketing",
        "security",
        "admin",
    ] {
        assert!(
            artefacts.join(format!("{role}-home.png")).exists(),
            "{role} home screenshot"
        );
    }
}
