//! The `datavow` binary as an operator runs it: real processes, real files, real HTTP.

mod common;

use common::*;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn policy_check_accepts_the_bundled_policy() {
    let out = run(datavow().args(["policy", "check"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("valid"), "{}", text(&out.stdout));
}

#[test]
fn policy_check_on_a_broken_file_exits_2_naming_file_line_and_key() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("policy.toml");
    let broken = datavow_policy::BUNDLED_POLICY_TOML.replacen("DK = 13", "DK = 11", 1);
    std::fs::write(&file, &broken).expect("write");
    let line = broken[..broken.find("DK = 11").expect("present")]
        .matches('\n')
        .count()
        + 1;
    let out = run(datavow().args(["policy", "check", "--policy"]).arg(&file));
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("policy.toml:{line}: children.age_of_consent.DK")),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_malformed_config_file_exits_2_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("datavow.toml");
    std::fs::write(&file, "listen = [unclosed\n").expect("write");
    let out = run(datavow()
        .arg("--config")
        .arg(&file)
        .args(["keys", "status"]));
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("invalid configuration") && err.contains("datavow.toml"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    let out = run(datavow()
        .arg("--config")
        .arg(dir.path().join("missing.toml"))
        .args(["keys", "status"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("missing.toml"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn an_environment_variable_with_a_bad_value_exits_2() {
    let out = run(datavow()
        .env("DATAVOW_LISTEN", "not-an-address")
        .args(["serve"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("not-an-address"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn an_unreachable_postgres_server_is_named_without_a_stack_trace() {
    let dir = tempfile::tempdir().expect("dir");
    let out = run(datavow()
        .args([
            "keys",
            "status",
            "--database-url",
            "postgres://datavow:topsecret@127.0.0.1:1/datavow",
        ])
        .arg("--data-dir")
        .arg(dir.path()));
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("127.0.0.1:1"), "{err}");
    assert!(!err.contains("topsecret"), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("stack backtrace"),
        "{err}"
    );
}

#[test]
fn a_missing_master_key_file_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("dir");
    let out = run(datavow()
        .env("DATAVOW_MASTER_KEY_FILE", dir.path().join("absent.key"))
        .args(["keys", "status", "--data-dir"])
        .arg(dir.path().join("data")));
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("absent.key") && err.contains("does not exist"),
        "{err}"
    );
}

#[test]
fn keys_rotate_changes_the_master_key_and_the_keystore_still_opens() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let status = |data: &Path| {
        let out = run(datavow().args(["keys", "status", "--data-dir"]).arg(data));
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let before = status(&data);
    assert!(before.contains("master.key"), "{before}");
    let out = run(datavow().args(["keys", "rotate", "--data-dir"]).arg(&data));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("re-wrapped 3 keys"),
        "{}",
        text(&out.stdout)
    );
    let after = status(&data);
    assert_ne!(before, after, "the key id changes");
}

#[test]
fn serve_starts_on_sqlite_answers_healthz_and_stops_on_sigterm_leaving_complete_database_files() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("datavow-data");
    let out = run(datavow()
        .args([
            "operator",
            "add",
            "olga",
            "--role",
            "privacy_officer",
            "--data-dir",
        ])
        .arg(&data));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let port = free_port();
    let mut child = start_server(&data, port);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let status = rt.block_on(async {
        reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
            .await
            .expect("healthz")
            .status()
    });
    assert_eq!(status, 200);
    assert!(data.join("datavow.db").exists() && data.join("keystore.db").exists());
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(data.join("master.key"))
            .expect("key")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    for file in ["datavow.db", "datavow.db-wal", "keystore.db"] {
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(data.join(file))
                .expect("file")
                .permissions(),
        );
        assert_eq!(mode & 0o077, 0, "{file} must be private to its owner");
    }
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("wait") {
            break exit;
        }
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit}");
    let mut log = String::new();
    if let Some(stderr) = child.stderr.take() {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            log.push_str(&line);
            log.push('\n');
        }
    }
    assert!(log.contains("stopped"), "{log}");
    assert!(log.contains("signed the audit log's head"), "{log}");
    // Every commit is in the database files: their copy alone is the whole instance.
    let copy = dir.path().join("copy");
    copy_database_files_alone(&data, &copy, "the stop");
    let from_copy = run(datavow().args(["audit", "verify", "--data-dir"]).arg(&copy));
    let out = run(datavow().args(["audit", "verify", "--data-dir"]).arg(&data));
    assert!(
        text(&out.stdout).contains("1 signed checkpoint"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        text(&from_copy.stdout),
        text(&out.stdout),
        "the copy of the database files verifies alike"
    );
}

#[test]
fn json_logs_are_one_json_object_per_line() {
    let dir = tempfile::tempdir().expect("dir");
    let out = run(datavow()
        .args(["--log-style", "json", "keys", "status", "--data-dir"])
        .arg(dir.path().join("d")));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(
        !lines.is_empty(),
        "a new master key is announced in the log"
    );
    for line in lines {
        let value: serde_json::Value = serde_json::from_str(line).expect("JSON log line");
        assert!(value["level"].is_string(), "{line}");
    }
}

#[test]
fn audit_verify_exits_0_when_intact_and_1_naming_the_first_bad_entry() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    for name in ["alice", "bob", "carol"] {
        let out = run(datavow()
            .args(["operator", "add", name, "--role", "support", "--data-dir"])
            .arg(&data));
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains("API token: dvo_"),
            "{}",
            text(&out.stdout)
        );
    }
    let out = run(datavow().args(["audit", "verify", "--data-dir"]).arg(&data));
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("intact: 4 entries"),
        "{}",
        text(&out.stdout)
    );

    // Entry 1 records the policy in force; entries 2-4 the operators. Edit entry 3
    // (bob's) behind the application's back.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        use sqlx::ConnectOptions;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(data.join("datavow.db"))
            .connect()
            .await
            .expect("open db");
        sqlx::raw_sql(
            "DROP TRIGGER audit_log_no_update; \
             UPDATE audit_log SET detail = 'operator bob added with role admin' WHERE seq = 3",
        )
        .execute(&mut conn)
        .await
        .expect("tamper");
    });
    let out = run(datavow().args(["audit", "verify", "--data-dir"]).arg(&data));
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("BROKEN at entry 3"), "{stdout}");
}

#[test]
fn retention_apply_says_what_it_would_drop_then_drops_it_and_refuses_a_moment_it_cannot_read() {
    let dir = tempfile::tempdir().expect("dir");
    let (data, log) = (dir.path().join("data"), dir.path().join("access.log"));
    let today = chrono::Utc::now();
    std::fs::write(
        &log,
        format!(
            "192.0.2.7 - - [{}] \"GET / HTTP/1.1\" 200 1 \"-\" \"curl/8.4.0\"\n",
            today.format("%d/%b/%Y:%H:%M:%S +0000")
        ),
    )
    .expect("log");
    let out = run(datavow()
        .args(["ingest", "--data-dir"])
        .arg(&data)
        .arg(&log));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let apply = |extra: &[&str]| {
        run(datavow()
            .args(["retention", "apply"])
            .args(extra)
            .arg("--data-dir")
            .arg(&data))
    };
    // Today's records are kept six months.
    let out = apply(&[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("browser data: no day past retention"),
        "{}",
        text(&out.stdout)
    );
    // A year on, the day goes with its key: said first by a dry run, which keeps it.
    let later = (today + chrono::Duration::days(366))
        .format("%Y-%m-%d")
        .to_string();
    let day = today.format("%Y-%m-%d").to_string();
    for _ in 0..2 {
        let out = apply(&["--now", &later, "--dry-run"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let said = text(&out.stdout);
        assert!(
            said.contains(&format!(
                "browser data: 1 day past retention would be dropped with its key ({day})"
            )) && said.contains("nothing was changed (dry run)"),
            "{said}"
        );
    }
    let out = apply(&["--now", &later]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!(
            "browser data: 1 day past retention dropped with its key ({day})"
        )),
        "{}",
        text(&out.stdout)
    );
    let out = apply(&["--now", "next week"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--now `next week` is neither YYYY-MM-DD nor RFC 3339"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn audit_prune_says_what_is_due_prunes_it_and_verify_still_proves_the_rest() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    for name in ["alice", "bob"] {
        let out = run(datavow()
            .args(["operator", "add", name, "--role", "support", "--data-dir"])
            .arg(&data));
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    // Nothing is three years old yet.
    let out = run(datavow().args(["audit", "prune", "--data-dir"]).arg(&data));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("no entries older than"),
        "{}",
        text(&out.stdout)
    );
    // As if it were 2035: the policy entry and both operators are due.
    let prune = |extra: &[&str]| {
        run(datavow()
            .args(["audit", "prune", "--now", "2035-01-01"])
            .args(extra)
            .arg("--data-dir")
            .arg(&data))
    };
    let out = prune(&["--dry-run"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("would prune entries 1 to 3"),
        "{}",
        text(&out.stdout)
    );
    let out = prune(&[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("pruned entries 1 to 3"),
        "{}",
        text(&out.stdout)
    );
    let out = run(datavow().args(["audit", "verify", "--data-dir"]).arg(&data));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("intact: 1 entry,") && stdout.contains("entries 1 to 3"),
        "the prune's own entry is kept and the pruned ones are named: {stdout}"
    );
    let out = prune(&["--bad-flag"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let out = run(datavow()
        .args(["audit", "prune", "--now", "next tuesday", "--data-dir"])
        .arg(&data));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--now `next tuesday`"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_command_that_writes_leaves_its_commits_in_the_database_files_alone() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("datavow-data");
    let out = run(datavow()
        .args(["operator", "add", "olga", "--role", "billing", "--data-dir"])
        .arg(&data));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let copy = dir.path().join("copy");
    copy_database_files_alone(&data, &copy, "the command");
    let listed = run(datavow()
        .args(["operator", "list", "--data-dir"])
        .arg(&copy));
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    assert!(
        text(&listed.stdout).contains("olga") && text(&listed.stdout).contains("billing"),
        "the copy of the database files holds the new operator: {}",
        text(&listed.stdout)
    );
}

#[test]
fn an_unknown_role_is_refused_with_the_list_of_roles() {
    let dir = tempfile::tempdir().expect("dir");
    let out = run(datavow()
        .args(["operator", "add", "eve", "--role", "wizard", "--data-dir"])
        .arg(dir.path()));
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("privacy_officer"), "{err}");
}

#[test]
fn the_demo_prints_credentials_that_sign_in() {
    let port = free_port();
    let mut child = datavow()
        .args(["demo", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn demo");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    let mut credentials = Vec::new();
    for line in lines.by_ref() {
        if let (Some(id), Some(pw)) = (line.split("userID ").nth(1), line.split("password ").nth(1))
        {
            let id = id.split_whitespace().next().unwrap_or("").to_owned();
            credentials.push((id, pw.trim().to_owned()));
        }
        if line.starts_with("Press Ctrl-C") {
            break;
        }
    }
    assert_eq!(credentials.len(), 2, "one account per entity");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "demo did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    for (user_id, password) in &credentials {
        let visits = rt.block_on(async {
            let client = reqwest::Client::new();
            let response = client
                .post(format!("http://127.0.0.1:{port}/api/v1/session"))
                .json(&serde_json::json!({"user_id": user_id, "password": password}))
                .send()
                .await
                .expect("sign in");
            assert_eq!(response.status(), 200, "{user_id} signs in");
            let session: serde_json::Value = response.json().await.expect("json");
            let export: serde_json::Value = client
                .get(format!("http://127.0.0.1:{port}/api/v1/me/export"))
                .bearer_auth(session["token"].as_str().expect("token"))
                .send()
                .await
                .expect("export")
                .json()
                .await
                .expect("json");
            export["browser_data"].as_array().map_or(0, Vec::len)
        });
        assert!(visits > 0, "{user_id}'s own visits are in their export");
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

/// Two `datavow serve` processes on one PostgreSQL database take sign-ups at the same
/// time; the audit chain stays single and valid.
#[test]
#[allow(clippy::print_stderr)] // a skipped test says why
fn two_server_processes_on_one_postgres_database_keep_one_valid_audit_chain() {
    let Ok(url) = std::env::var("DATAVOW_TEST_DATABASE_URL") else {
        eprintln!("skipped: set DATAVOW_TEST_DATABASE_URL to run the PostgreSQL test");
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let schema = format!("cli{}", &uuid_like()[..12]);
    let key = dir.path().join("master.key");
    std::fs::write(&key, format!("{}\n", &(uuid_like() + &uuid_like())[..64])).expect("key");
    let node = |port: u16, name: &str| {
        datavow()
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--database-url",
                &url,
                "--data-dir",
            ])
            .arg(dir.path().join(name))
            .env("DATAVOW_DATABASE_SCHEMA", &schema)
            .env("DATAVOW_MASTER_KEY_FILE", &key)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn serve")
    };
    let ports = [free_port(), free_port()];
    let mut nodes = vec![node(ports[0], "a")];
    // The first node creates the schemas; the second joins once they exist.
    let wait = |port: u16| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "node on {port} did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    wait(ports[0]);
    nodes.push(node(ports[1], "b"));
    wait(ports[1]);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let created = rt.block_on(async {
        let client = reqwest::Client::new();
        let mut tasks = Vec::new();
        for i in 0..40 {
            let client = client.clone();
            let port = ports[i % 2];
            tasks.push(tokio::spawn(async move {
                client
                    .post(format!("http://127.0.0.1:{port}/api/v1/accounts"))
                    .json(&serde_json::json!({"name": format!("Person {i}"), "email": format!("p{i}@example.dk")}))
                    .send()
                    .await
                    .expect("sign up")
                    .status()
            }));
        }
        let mut created = 0;
        for task in tasks {
            if task.await.expect("task") == 201 {
                created += 1;
            }
        }
        created
    });
    assert_eq!(created, 40);
    for node in &mut nodes {
        let _ = Command::new("kill")
            .args(["-TERM", &node.id().to_string()])
            .status();
        let _ = node.wait();
    }
    let out = run(datavow()
        .args(["audit", "verify", "--database-url", &url, "--data-dir"])
        .arg(dir.path().join("a"))
        .env("DATAVOW_DATABASE_SCHEMA", &schema)
        .env("DATAVOW_MASTER_KEY_FILE", &key));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    let entries: u64 = stdout
        .split("intact: ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("entry count");
    assert!(
        entries >= 41,
        "one policy entry and at least one entry per sign-up: {stdout}"
    );
    assert!(
        stdout.contains("2 signed checkpoints") || stdout.contains("1 signed checkpoint"),
        "{stdout}"
    );
}

/// 32 random hex characters, from the OS, without extra dependencies.
fn uuid_like() -> String {
    let bytes = std::fs::read("/proc/sys/kernel/random/uuid").expect("kernel uuid");
    String::from_utf8_lossy(&bytes).trim().replace('-', "")
}

/// A small access log dated today, with one line of each kind of trouble.
fn todays_log() -> String {
    let now = chrono::Utc::now().format("%d/%b/%Y:%H:%M:%S +0000");
    [
        format!(
            "203.0.113.20 - - [{now}] \"GET /pricing?x=1 HTTP/1.1\" 200 10 \"-\" \"curl/8.4.0\"\n"
        ),
        format!("2001:db8::20 - - [{now}] \"GET / HTTP/1.1\" 304 - \"-\" \"-\"\n"),
        "this is not a log line\n".to_owned(),
        "203.0.113.21 - - [31/Feb/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"\n"
            .to_owned(),
    ]
    .concat()
}

#[test]
fn ingest_from_a_file_prints_read_stored_and_rejected_by_reason_without_a_progress_bar_when_piped()
{
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("access.log");
    std::fs::write(&log, todays_log()).expect("write log");
    let out = run(datavow()
        .args(["ingest", "--format", "combined", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg(&log));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("lines read: 4"), "{stdout}");
    assert!(stdout.contains("stored:     2"), "{stdout}");
    assert!(stdout.contains("rejected:   2"), "{stdout}");
    assert!(stdout.contains("1  bad client address"), "{stdout}");
    assert!(stdout.contains("1  impossible date"), "{stdout}");
    let stderr = text(&out.stderr);
    assert!(
        !stderr.contains('█') && !stderr.contains("eta"),
        "no progress bar when piped: {stderr}"
    );
    // Nothing of the clients' addresses is in the data directory in clear.
    for file in std::fs::read_dir(dir.path().join("data"))
        .expect("data dir")
        .flatten()
    {
        let bytes = std::fs::read(file.path()).expect("read");
        assert!(
            !bytes.windows(12).any(|w| w == b"203.0.113.20"),
            "{} holds an address",
            file.path().display()
        );
    }
}

#[test]
fn ingest_reads_json_lines_from_standard_input() {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("tempdir");
    let now = chrono::Utc::now().to_rfc3339();
    let mut child = datavow()
        .args(["ingest", "--format", "json", "--data-dir"])
        .arg(dir.path())
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(
        stdin,
        r#"{{"remote_addr":"192.0.2.77","time_iso8601":"{now}","request_uri":"/a?b=c","status":"200","body_bytes_sent":"5","http_referer":"","http_user_agent":"curl/8.4.0"}}"#
    )
    .expect("write");
    writeln!(stdin, "{{not json").expect("write");
    drop(stdin);
    let out = child.wait_with_output().expect("wait");
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("stored:     1"), "{stdout}");
    assert!(stdout.contains("1  not JSON"), "{stdout}");
}

#[test]
fn ingest_of_a_missing_file_fails_clearly_and_creates_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(datavow()
        .args(["ingest", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg(dir.path().join("nope.log")));
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("cannot open") && stderr.contains("nope.log"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        !dir.path().join("data").exists(),
        "no store was created for a failed run"
    );
}

/// Every maximal run of bytes from `alphabet` in `bytes`, as text.
fn runs<'a>(
    bytes: &'a [u8],
    alphabet: &'a dyn Fn(u8) -> bool,
) -> impl Iterator<Item = &'a str> + 'a {
    bytes
        .split(move |b| !alphabet(*b))
        .filter(|r| r.len() >= 3)
        .filter_map(|r| std::str::from_utf8(r).ok())
}

#[test]
fn ingest_keeps_none_of_the_input_client_addresses_anywhere_in_the_data_directory() {
    use std::collections::HashSet;
    use std::net::IpAddr;
    let dir = tempfile::tempdir().expect("tempdir");
    // 3,000 distinct clients, IPv4 and IPv6, over the last day.
    let now = chrono::Utc::now();
    let mut log = String::new();
    let mut clients: HashSet<IpAddr> = HashSet::new();
    for i in 0u32..3000 {
        let ip: IpAddr = if i % 4 == 0 {
            format!("2001:db8:{:x}:{:x}::{:x}", i * 7 % 65536, i, i * 13 % 65536)
                .parse()
                .expect("v6")
        } else {
            let n = i.wrapping_mul(2_654_435_761);
            format!(
                "{}.{}.{}.{}",
                1 + (n >> 24) % 223,
                (n >> 16) & 255,
                (n >> 8) & 255,
                1 + (n & 255) % 254
            )
            .parse()
            .expect("v4")
        };
        clients.insert(ip);
        let time =
            (now - chrono::Duration::seconds(i64::from(i) * 20)).format("%d/%b/%Y:%H:%M:%S +0000");
        log.push_str(&format!(
            "{ip} - - [{time}] \"GET /p/{i}?q={i} HTTP/1.1\" 200 {i} \"https://ref.example/x?y=1\" \"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0\"\n"
        ));
    }
    let file = dir.path().join("access.log");
    std::fs::write(&file, log).expect("write");
    let out = run(datavow()
        .args(["ingest", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg(&file));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("stored:     3,000"),
        "{}",
        text(&out.stdout)
    );

    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir.path().join("data"))
        .expect("data dir")
        .flatten()
    {
        let bytes = std::fs::read(entry.path()).expect("read");
        // Addresses as text, IPv4 and IPv6.
        let v4 = |b: u8| b.is_ascii_digit() || b == b'.';
        let v6 = |b: u8| b.is_ascii_hexdigit() || b == b':';
        for run in runs(&bytes, &v4).chain(runs(&bytes, &v6)) {
            if let Ok(ip) = run.parse::<IpAddr>() {
                if clients.contains(&ip) {
                    found.push(format!("{ip} as text in {}", entry.path().display()));
                }
            }
        }
        // Addresses as 16 raw bytes (IPv6, or IPv4 mapped into IPv6).
        for window in bytes.windows(16) {
            let octets: [u8; 16] = window.try_into().expect("16 bytes");
            let v6 = std::net::Ipv6Addr::from(octets);
            let ip = v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4);
            if clients.contains(&ip) {
                found.push(format!("{ip} as bytes in {}", entry.path().display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "client addresses at rest: {:?}",
        &found[..found.len().min(5)]
    );
}

#[test]
fn a_quiet_stream_on_standard_input_is_stored_while_it_runs() {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = datavow()
        .args(["ingest", "--data-dir"])
        .arg(dir.path())
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let line = |ip: &str| {
        let now = chrono::Utc::now().format("%d/%b/%Y:%H:%M:%S +0000");
        format!("{ip} - - [{now}] \"GET / HTTP/1.1\" 200 1 \"-\" \"curl/8.4.0\"\n")
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    // 0 until the store exists and has its tables.
    let stored = || -> i64 {
        rt.block_on(async {
            use sqlx::ConnectOptions;
            let Ok(mut conn) = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(dir.path().join("datavow.db"))
                .connect()
                .await
            else {
                return 0;
            };
            sqlx::query_scalar::<_, Option<i64>>("SELECT SUM(records) FROM browser_days")
                .fetch_one(&mut conn)
                .await
                .ok()
                .flatten()
                .unwrap_or(0)
        })
    };
    let wait_for = |records: i64| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while stored() < records {
            assert!(
                Instant::now() < deadline,
                "lines of a live stream were not stored within 20 s"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    // Like `tail -F` on a quiet server: lines come, then nothing, and the input stays
    // open; what came in is stored meanwhile, without waiting for a next line.
    for ip in ["192.0.2.1", "192.0.2.2"] {
        stdin.write_all(line(ip).as_bytes()).expect("write");
    }
    stdin.flush().expect("flush");
    wait_for(2);
    stdin
        .write_all(line("192.0.2.3").as_bytes())
        .expect("write");
    stdin.flush().expect("flush");
    wait_for(3);
    assert!(
        child.try_wait().expect("wait").is_none(),
        "still reading the stream"
    );
    drop(stdin);
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    assert!(
        text(&out.stdout).contains("stored:     3"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn an_ingest_killed_mid_run_has_an_audit_entry_for_every_day_it_stored() {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = datavow()
        .args(["ingest", "--data-dir"])
        .arg(dir.path())
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    // Lines of four days, interleaved, written without pause until the process dies.
    let writer = std::thread::spawn(move || {
        let now = chrono::Utc::now();
        for i in 0u64.. {
            let time = now - chrono::Duration::days((i % 4) as i64);
            let line = format!(
                "192.0.2.{} - - [{}] \"GET /p{i} HTTP/1.1\" 200 1 \"-\" \"curl/8.4.0\"\n",
                i % 250,
                time.format("%d/%b/%Y:%H:%M:%S +0000")
            );
            if stdin.write_all(line.as_bytes()).is_err() {
                break;
            }
        }
    });
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let query = |sql: &'static str| -> Vec<String> {
        rt.block_on(async {
            use sqlx::ConnectOptions;
            let Ok(mut conn) = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(dir.path().join("datavow.db"))
                .connect()
                .await
            else {
                return Vec::new();
            };
            sqlx::query_scalar::<_, String>(sql)
                .fetch_all(&mut conn)
                .await
                .unwrap_or_default()
        })
    };
    let stored_days = || query("SELECT CAST(day AS TEXT) FROM browser_days WHERE records > 0");
    let deadline = Instant::now() + Duration::from_secs(60);
    while stored_days().len() < 4 {
        assert!(
            Instant::now() < deadline,
            "four days were not stored within 60 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("wait");
    writer.join().expect("writer");

    let days = stored_days();
    let audited = query("SELECT detail FROM audit_log WHERE action = 'ingest'");
    assert_eq!(days.len(), 4, "{days:?}");
    for day in &days {
        assert!(
            audited
                .iter()
                .any(|d| d.starts_with(&format!("browser records into day {day} "))),
            "day {day} holds records but no audit entry: {audited:?}"
        );
    }
    assert_audit_verifies(dir.path(), "an ingest killed mid-run");
}
