//! `datavow marketing send` from the shell against a real SMTP server (P11).

mod common;

use common::*;
use std::process::{Command, Stdio};

#[test]
fn marketing_send_mails_each_person_who_opted_in_in_their_language_from_the_shell() {
    let available = Command::new("/usr/bin/python3")
        .args(["-c", "import aiosmtpd"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !available {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "python3-aiosmtpd is missing"
        );
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let maildir = dir.path().join("maildir");
    let smtp_port = free_port();
    let mut smtp = Command::new("/usr/bin/python3")
        .args([
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &format!("127.0.0.1:{smtp_port}"),
        ])
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(&maildir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("aiosmtpd");
    // Two people sign up through a running server: one opts in, one does not.
    let port = free_port();
    let mut server = start_server(&data, port);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        for (email, country, opt_in) in [
            ("kunde@example.de", "DE", true),
            ("stille@example.de", "DE", false),
        ] {
            let status = reqwest::Client::new()
                .post(format!("http://127.0.0.1:{port}/api/v1/accounts"))
                .json(&serde_json::json!({"name": "Kunde", "email": email, "marketing_opt_in": opt_in,
                    "postal_address": {"street": "Witzlebenstraße 6", "postal_code": "14057", "city": "Berlin", "country": country}}))
                .send()
                .await
                .expect("sign up")
                .status();
            assert_eq!(status, 201);
        }
    });
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let _ = server.wait();
    let body = dir.path().join("news.txt");
    std::fs::write(&body, "New racks.\n").expect("body");
    std::fs::write(dir.path().join("news.txt.de"), "Neue Racks.\n").expect("body de");
    let out = run(datavow()
        .args(["marketing", "send", "--subject", "Racks", "--body"])
        .arg(&body)
        .arg("--data-dir")
        .arg(&data)
        .env("DATAVOW_SMTP_URL", format!("smtp://127.0.0.1:{smtp_port}"))
        .env("DATAVOW_MAIL_FROM", "Datavow <privacy@example.de>")
        .env("DATAVOW_PUBLIC_URL", "https://privacy.example.de"));
    let _ = smtp.kill();
    let _ = smtp.wait();
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("queued 1 (skipped 1"),
        "{}",
        text(&out.stdout)
    );
    let delivered: Vec<String> = std::fs::read_dir(maildir.join("new"))
        .expect("maildir")
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).expect("message"))
        .collect();
    assert_eq!(delivered.len(), 1);
    assert!(
        delivered[0].contains("kunde@example.de") && delivered[0].contains("Neue Racks"),
        "{}",
        delivered[0]
    );
    assert!(delivered[0].contains("https://privacy.example.de/unsubscribe/"));
}
