//! The `datavow` binary as the tests run it: a clean environment, free ports, a
//! server that is up before the test goes on.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn datavow() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_datavow"));
    for (key, _) in std::env::vars() {
        if key.starts_with("DATAVOW_") {
            cmd.env_remove(key);
        }
    }
    cmd.stdin(Stdio::null());
    cmd
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run datavow")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Asserts that the write-ahead logs of the instance in `data` are empty after `what`,
/// then copies only its database files and master key into `copy`: a backup that
/// leaves the `-wal` files behind.
pub fn copy_database_files_alone(data: &Path, copy: &Path, what: &str) {
    for wal in ["datavow.db-wal", "keystore.db-wal"] {
        let len = std::fs::metadata(data.join(wal)).map_or(0, |m| m.len());
        assert_eq!(len, 0, "{wal} still holds commits after {what}");
    }
    std::fs::create_dir(copy).expect("copy dir");
    for file in ["datavow.db", "keystore.db", "master.key"] {
        std::fs::copy(data.join(file), copy.join(file)).expect("copy");
    }
}

/// Asserts that `datavow audit verify` finds the audit chain of the instance in `data`
/// intact; `after` says what came before, for the failure message.
pub fn assert_audit_verifies(data: &Path, after: &str) {
    let out = run(datavow().args(["audit", "verify", "--data-dir"]).arg(data));
    assert!(
        out.status.success(),
        "the audit chain does not verify after {after}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// Starts `datavow serve` and waits until `/healthz` answers.
pub fn start_server(data_dir: &Path, port: u16) -> Child {
    start_server_with(data_dir, port, &[])
}

/// [`start_server`] with extra environment variables.
pub fn start_server_with(data_dir: &Path, port: u16, env: &[(&str, &str)]) -> Child {
    let mut command = datavow();
    command.envs(env.iter().copied());
    let mut child = command
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(data_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn serve");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return child;
        }
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            if let Some(stderr) = child.stderr.take() {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    err.push_str(&line);
                }
            }
            panic!("serve exited early with {status}: {err}");
        }
        assert!(Instant::now() < deadline, "serve did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}
