//! The dashboard in a real browser: Debian's headless Chromium, driven by
//! playwright-core (`tests/browser/dashboard_de.mjs`), signs up through the page,
//! signs in, changes the phone number and downloads the export, in German.
//! Screenshots are kept in `test-artifacts/browser/`.
//!
//! `scripts/test.sh` installs Chromium and playwright-core when they are missing and
//! sets DATAVOW_BROWSER_TESTS=1; without it this test says it was skipped.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
#[allow(clippy::print_stderr)] // a skipped test says why
fn a_person_signs_up_signs_in_changes_their_phone_and_downloads_the_export_in_german() {
    if std::env::var("DATAVOW_BROWSER_TESTS").as_deref() != Ok("1") {
        eprintln!("skipped: run scripts/test.sh, which installs Chromium and playwright-core");
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let artefacts = root.join("test-artifacts/browser");
    let _ = std::fs::remove_dir_all(&artefacts);
    let dir = tempfile::tempdir().expect("dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_datavow"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir.path().join("data"))
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
    let output = Command::new("node")
        .arg(root.join("tests/browser/dashboard_de.mjs"))
        .arg(format!("http://127.0.0.1:{port}"))
        .arg(&artefacts)
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
    ] {
        assert!(artefacts.join(shot).exists(), "{shot} missing");
    }
}
