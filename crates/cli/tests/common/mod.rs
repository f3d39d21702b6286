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

/// Runs `cmd` (output discarded) and SIGKILLs it after `after` if it is still running;
/// returns whether it was killed. The process is reaped either way.
pub fn kill_after(cmd: &mut Command, after: Duration) -> bool {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn datavow");
    std::thread::sleep(after);
    let killed = child.try_wait().expect("wait").is_none();
    if killed {
        child.kill().expect("SIGKILL");
    }
    child.wait().expect("reaped");
    killed
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

/// A `datavow serve` process logging to a file; killed if dropped while running.
pub struct Node {
    pub port: u16,
    pub child: Child,
    pub base: String,
    pub log: std::path::PathBuf,
}

impl Node {
    /// `datavow serve` on a free port with `args` after it, and `env`.
    pub fn start(args: &[&std::ffi::OsStr], env: &[(&str, &Path)], log: &Path) -> Node {
        Node::start_on(free_port(), args, env, log)
    }

    /// [`Node::start`] on `port` (a node restarted where it was).
    pub fn start_on(
        port: u16,
        args: &[&std::ffi::OsStr],
        env: &[(&str, &Path)],
        log: &Path,
    ) -> Node {
        let file = std::fs::File::create(log).expect("log file");
        let child = datavow()
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("spawn serve");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "serve did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Node {
            port,
            child,
            base: format!("http://127.0.0.1:{port}"),
            log: log.to_owned(),
        }
    }

    /// The last lines the server logged, for a failure message.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(8)..].join("\n")
    }

    /// Waits until `/healthz` says 200, at most `within`.
    pub async fn wait_healthy(&self, client: &reqwest::Client, within: Duration) {
        let deadline = Instant::now() + within;
        while healthz(client, &self.base).await != 200 {
            assert!(
                Instant::now() < deadline,
                "healthz did not recover:\n{}",
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub fn failure_lines(&self) -> usize {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        log.lines().filter(|l| l.contains("request failed")).count()
    }

    /// SIGKILL: no shutdown, as a crash.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits for a clean stop.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    /// A test that fails leaves no server behind.
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The status `/healthz` answers.
pub async fn healthz(client: &reqwest::Client, base: &str) -> u16 {
    let response = client.get(format!("{base}/healthz")).send().await;
    response.expect("answer").status().as_u16()
}
