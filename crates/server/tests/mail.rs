//! Mail against a real SMTP server (Debian's `python3-aiosmtpd`, started here on
//! loopback), on both backends: marketing only to people who opted in, each in their
//! language; the one-click unsubscribe of a delivered message stops the next send; a
//! forged token is refused; the DKIM signature verifies (`python3-dkim`) and covers the
//! unsubscribe headers; a message queued while the SMTP server is down is delivered when
//! it is back, across a restart; account recovery by a link that works once.

use chrono::Utc;
use datavow_core::mail::{self, Campaign, MailSettings, Sender};
use datavow_core::Principal;
use datavow_policy::Role;
use datavow_store::backend_tests;
use datavow_store::testkit::TestStores;
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::{start_with, Server};

/// A real SMTP server writing what it receives to a Maildir.
struct Smtp {
    port: u16,
    maildir: PathBuf,
    child: Option<Child>,
    /// Extra arguments, such as a TLS certificate.
    tls: Vec<String>,
    _dir: tempfile::TempDir,
}

/// Whether Debian's aiosmtpd and dkim can run here; CI installs them (scripts/test.sh).
#[allow(clippy::print_stderr)]
fn smtp_tools_available() -> bool {
    let ok = Command::new("/usr/bin/python3")
        .args(["-c", "import aiosmtpd, dkim"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "python3-aiosmtpd and python3-dkim are missing"
        );
        eprintln!("skipped: python3-aiosmtpd / python3-dkim not installed");
    }
    ok
}

impl Smtp {
    fn on_free_port() -> Smtp {
        Smtp::with_tls(Vec::new())
    }

    fn with_tls(tls: Vec<String>) -> Smtp {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let dir = tempfile::tempdir().expect("dir");
        let mut smtp = Smtp {
            port,
            maildir: dir.path().join("maildir"),
            child: None,
            tls,
            _dir: dir,
        };
        smtp.start();
        smtp
    }

    fn start(&mut self) {
        let child = Command::new("/usr/bin/python3")
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{}", self.port),
            ])
            .args(&self.tls)
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&self.maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Every delivered message, as raw text.
    fn messages(&self) -> Vec<String> {
        let new = self.maildir.join("new");
        let Ok(entries) = std::fs::read_dir(&new) else {
            return Vec::new();
        };
        entries
            .flatten()
            .map(|e| std::fs::read_to_string(e.path()).expect("message"))
            .collect()
    }

    fn settings(&self, base: &str, dkim: Option<(String, SecretString)>) -> MailSettings {
        MailSettings {
            smtp_url: SecretString::from(format!(
                "{}://127.0.0.1:{}",
                if self.tls.iter().any(|a| a == "--smtpscert") {
                    "smtps"
                } else {
                    "smtp"
                },
                self.port
            )),
            mail_from: "ASERGO Privacy <privacy@asergo.example>".into(),
            public_url: base.to_owned(),
            dkim,
            smtp_ca_pem: None,
        }
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn account(server: &Server, email: &str, country: &str, opt_in: bool) -> String {
    let (postal_code, city) = if country == "DK" {
        ("2970", "Hørsholm")
    } else {
        ("14057", "Berlin")
    };
    let (status, created) = server
        .post_json(
            "/api/v1/accounts",
            None,
            &json!({"name": format!("Mail {email}"), "email": email, "marketing_opt_in": opt_in,
                "postal_address": {"street": "Witzlebenstraße 6", "postal_code": postal_code, "city": city, "country": country}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["user_id"].as_str().expect("user_id").to_owned()
}

fn campaign(subject: &str) -> Campaign {
    Campaign {
        subject: subject.into(),
        bodies: [
            ("en", "New racks in Copenhagen."),
            ("de", "Neue Racks in Kopenhagen."),
            ("da", "Nye racks i København."),
        ]
        .into_iter()
        .map(|(l, b)| (l.to_owned(), b.to_owned()))
        .collect(),
        segment: None,
    }
}

/// Sends a campaign as the owner and delivers it; returns the messages that arrived
/// for `to` with that subject.
async fn send_and_collect(server: &Server, smtp: &Smtp, subject: &str) -> Vec<String> {
    let by = Principal::system("test");
    mail::send_marketing(&server.app, Sender::Owner(&by), &campaign(subject))
        .await
        .expect("send");
    mail::deliver_due(&server.app, Utc::now())
        .await
        .expect("deliver");
    smtp.messages()
        .into_iter()
        .filter(|m| m.contains(subject))
        .collect()
}

/// A header's value, unfolded (continuation lines joined).
fn header(message: &str, name: &str) -> Option<String> {
    let prefix = format!("{}:", name.to_ascii_lowercase());
    let mut lines = message
        .lines()
        .skip_while(|l| !l.to_ascii_lowercase().starts_with(&prefix));
    let first = lines.next()?;
    let mut value = first[prefix.len()..].trim().to_owned();
    for more in lines.take_while(|l| l.starts_with([' ', '\t'])) {
        value.push(' ');
        value.push_str(more.trim());
    }
    Some(value)
}

/// A message's body, with quoted-printable soft breaks and escapes decoded.
fn body_text(message: &str) -> String {
    let body = message
        .split_once("\n\n")
        .or_else(|| message.split_once("\r\n\r\n"))
        .map_or(message, |(_, b)| b)
        .replace("=\r\n", "")
        .replace("=\n", "");
    let bytes = body.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1..i + 3)) {
            (b'=', Some(hex)) if hex.iter().all(u8::is_ascii_hexdigit) => {
                out.push(
                    u8::from_str_radix(std::str::from_utf8(hex).unwrap_or("3D"), 16)
                        .unwrap_or(b'='),
                );
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn marketing_reaches_only_people_who_opted_in_and_one_click_stops_the_next_send(
    t: TestStores,
) {
    if !smtp_tools_available() {
        return;
    }
    let smtp = Smtp::on_free_port();
    let server = start_with(&t, |base| Some(smtp.settings(base, None))).await;
    account(&server, "in.de@example.de", "DE", true).await;
    account(&server, "in.dk@example.dk", "DK", true).await;
    account(&server, "out@example.de", "DE", false).await;

    let first = send_and_collect(&server, &smtp, "Campaign one").await;
    assert_eq!(first.len(), 2, "only the two who opted in");
    assert!(first.iter().all(|m| !m.contains("out@example.de")));
    let german = first
        .iter()
        .find(|m| m.contains("in.de@example.de"))
        .expect("german");
    let danish = first
        .iter()
        .find(|m| m.contains("in.dk@example.dk"))
        .expect("danish");
    let (german_body, danish_body) = (body_text(german), body_text(danish));
    assert!(
        german_body.contains("Neue Racks") && german_body.contains("Guten Tag"),
        "{german}"
    );
    assert!(
        danish_body.contains("Nye racks") && danish_body.contains("Hej"),
        "{danish}"
    );
    assert_eq!(
        header(german, "List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    let list = header(german, "List-Unsubscribe").expect("List-Unsubscribe");
    let link = list
        .split(['<', '>'])
        .find(|p| p.starts_with("http"))
        .expect("an https link")
        .to_owned();
    assert!(list.contains("<mailto:"), "{list}");

    // A forged or altered token is refused and changes nothing.
    let forged = format!(
        "{}0",
        link.trim_end_matches(|c: char| c.is_ascii_hexdigit())
    );
    for bad in [forged, format!("{}/unsubscribe/not-a-token", server.base)] {
        let response = server
            .client
            .post(&bad)
            .body("List-Unsubscribe=One-Click")
            .header("content-type", "application/x-www-form-urlencoded")
            .send()
            .await
            .expect("post");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    // The one-click POST, as a mail client makes it: no cookie, no sign-in. Twice.
    for _ in 0..2 {
        let response = server
            .client
            .post(&link)
            .body("List-Unsubscribe=One-Click")
            .header("content-type", "application/x-www-form-urlencoded")
            .send()
            .await
            .expect("one-click");
        assert_eq!(response.status(), StatusCode::OK);
    }
    let second = send_and_collect(&server, &smtp, "Campaign two").await;
    assert_eq!(second.len(), 1, "the unsubscribed person gets nothing");
    assert!(second[0].contains("in.dk@example.dk"));
    let support = server.token("sam", Role::Support).await;
    let (_, found) = server
        .search(&support, r#"{"email":"in.de@example.de"}"#)
        .await;
    let person = serde_json::from_str::<serde_json::Value>(&found).expect("json")["person_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (status, view) = server
        .get(
            &support,
            &format!("/api/v1/admin/persons/{person}?purpose=requests"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        view["fields"]["marketing_consent"]
            .as_str()
            .expect("consent")
            .contains("how=unsubscribe_link"),
        "{view}"
    );
    // The person says on the phone they want it again; support records it.
    let (status, body) = server
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/admin/persons/{person}/marketing"),
            Some(&support),
            Some(r#"{"opt_in": true}"#),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let third = send_and_collect(&server, &smtp, "Campaign three").await;
    assert_eq!(
        third.len(),
        2,
        "both again, the German one by the operator's record"
    );
    let report = server.app.audit_log().verify().await.expect("verify");
    assert_eq!(report.broken, None);
}

/// Verifies a message's DKIM signature with dkimpy, the public key given as its DNS
/// record would be.
fn dkim_verifies(message: &str, public_pem: &Path) -> bool {
    let script = r#"
import sys, dkim
pem = open(sys.argv[1]).read()
key = "".join(l for l in pem.splitlines() if "-----" not in l)
def dns(name, timeout=5):
    return ("v=DKIM1; k=rsa; p=" + key).encode()
message = sys.stdin.buffer.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
sys.exit(0 if dkim.verify(message, dnsfunc=dns) else 1)
"#;
    let mut child = Command::new("/usr/bin/python3")
        .args(["-c", script])
        .arg(public_pem)
        .stdin(Stdio::piped())
        .spawn()
        .expect("python3");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(message.as_bytes())
        .expect("write");
    child.wait().expect("wait").success()
}

async fn the_dkim_signature_verifies_and_covers_the_unsubscribe_headers(t: TestStores) {
    if !smtp_tools_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let private = dir.path().join("dkim.pem");
    let public = dir.path().join("dkim.pub");
    let ok = Command::new("openssl")
        .args(["genrsa", "-traditional", "-out"])
        .arg(&private)
        .arg("2048")
        .stderr(Stdio::null())
        .status()
        .expect("openssl")
        .success()
        && Command::new("openssl")
            .args(["rsa", "-pubout", "-in"])
            .arg(&private)
            .arg("-out")
            .arg(&public)
            .stderr(Stdio::null())
            .status()
            .expect("openssl")
            .success();
    assert!(ok, "openssl made the key");
    let pem = std::fs::read_to_string(&private).expect("pem");
    let smtp = Smtp::on_free_port();
    let server = start_with(&t, |base| {
        Some(smtp.settings(base, Some(("mail2026".into(), SecretString::from(pem)))))
    })
    .await;
    account(&server, "signed@example.de", "DE", true).await;
    let delivered = send_and_collect(&server, &smtp, "Signed campaign").await;
    assert_eq!(delivered.len(), 1);
    let message = &delivered[0];
    let signature: String = message
        .split("\n")
        .skip_while(|l| !l.to_ascii_lowercase().starts_with("dkim-signature:"))
        .take_while(|l| {
            l.to_ascii_lowercase().starts_with("dkim-signature:") || l.starts_with([' ', '\t'])
        })
        .collect();
    let lowered = signature
        .to_ascii_lowercase()
        .replace([' ', '\t', '\r'], "");
    assert!(
        lowered.contains("d=asergo.example") && lowered.contains("s=mail2026"),
        "{signature}"
    );
    assert!(
        lowered.contains("list-unsubscribe:list-unsubscribe-post"),
        "the signature covers both unsubscribe headers: {signature}"
    );
    assert!(
        dkim_verifies(message, &public),
        "dkimpy verifies the signature"
    );
    let altered = message.replace("Signed campaign", "Altered campaign");
    assert!(!dkim_verifies(&altered, &public), "an altered body fails");
}

async fn a_message_queued_while_the_smtp_server_is_down_arrives_when_it_is_back(t: TestStores) {
    if !smtp_tools_available() {
        return;
    }
    let mut smtp = Smtp::on_free_port();
    smtp.stop();
    let server = start_with(&t, |base| Some(smtp.settings(base, None))).await;
    account(&server, "patient@example.de", "DE", true).await;
    let by = Principal::system("test");
    let sent = mail::send_marketing(&server.app, Sender::Owner(&by), &campaign("While down"))
        .await
        .expect("queue");
    assert_eq!(sent.queued, 1);
    let pass = mail::deliver_due(&server.app, Utc::now())
        .await
        .expect("deliver");
    assert_eq!(
        (pass.sent, pass.retried),
        (0, 1),
        "the server is down: retried later"
    );
    // A restart in between: the queue is in the store.
    let mut options = datavow_core::testkit::options(&t, None);
    options.mail = Some(smtp.settings(&server.base, None));
    let reopened = datavow_core::Datavow::open(options).await.expect("reopen");
    smtp.start();
    let early = mail::deliver_due(&reopened, Utc::now())
        .await
        .expect("deliver");
    assert_eq!(early.sent, 0, "not before its backoff");
    let later = Utc::now() + chrono::Duration::minutes(2);
    let pass = mail::deliver_due(&reopened, later).await.expect("deliver");
    assert_eq!(pass.sent, 1);
    assert_eq!(smtp.messages().len(), 1);
    // Given up after every retry: the dead-letter list names it, without content.
    smtp.stop();
    mail::send_marketing(&reopened, Sender::Owner(&by), &campaign("Never"))
        .await
        .expect("queue");
    let mut at = Utc::now();
    for _ in 0..mail::MAX_ATTEMPTS {
        mail::deliver_due(&reopened, at).await.expect("deliver");
        at += chrono::Duration::hours(2);
    }
    let officer = server.token("olga", Role::PrivacyOfficer).await;
    let (status, dead) = server
        .get(&officer, "/api/v1/admin/mail/dead-letters")
        .await;
    assert_eq!(status, StatusCode::OK, "{dead}");
    assert_eq!(dead.as_array().map(Vec::len), Some(1), "{dead}");
    assert_eq!(dead[0]["attempts"], mail::MAX_ATTEMPTS);
    assert!(!dead.to_string().contains("patient@example.de"));
    let collector = server.token("web", Role::Collector).await;
    let (status, _) = server
        .get(&collector, "/api/v1/admin/mail/dead-letters")
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn a_material_policy_change_is_announced_once_to_every_account_in_its_language(
    t: TestStores,
) {
    if !smtp_tools_available() {
        return;
    }
    use datavow_core::policy_versions::{self, Publication};
    let smtp = Smtp::on_free_port();
    let server = start_with(&t, |base| Some(smtp.settings(base, None))).await;
    account(&server, "de-customer@example.de", "DE", false).await;
    account(&server, "dk-customer@example.dk", "DK", true).await;
    let by = Principal::system("test");
    let publish = |version: &str, material: bool, days: i64| Publication {
        version: version.into(),
        lang: "en".into(),
        effective_at: Utc::now() + chrono::Duration::days(days),
        material,
        body: format!("# Policy {version}\n"),
    };
    policy_versions::publish(
        &server.app,
        &by,
        publish("2027-minor", false, 10),
        Utc::now(),
    )
    .await
    .expect("minor");
    assert_eq!(
        policy_versions::announce_due(&server.app, Utc::now())
            .await
            .expect("announce"),
        0,
        "a minor change is not mailed"
    );
    policy_versions::publish(&server.app, &by, publish("2027-02", true, 30), Utc::now())
        .await
        .expect("material");
    assert_eq!(
        policy_versions::announce_due(&server.app, Utc::now())
            .await
            .expect("announce"),
        2
    );
    assert_eq!(
        policy_versions::announce_due(&server.app, Utc::now())
            .await
            .expect("again"),
        0,
        "announced once"
    );
    mail::deliver_due(&server.app, Utc::now())
        .await
        .expect("deliver");
    let messages = smtp.messages();
    assert_eq!(
        messages.len(),
        2,
        "one each, consent or not: it is not marketing"
    );
    for message in &messages {
        assert_eq!(header(message, "List-Unsubscribe"), None, "transactional");
        let text = body_text(message);
        assert!(text.contains("/privacy?version=2027-02"), "{text}");
        assert!(
            text.contains("/privacy/diff?from=2027-minor&to=2027-02"),
            "{text}"
        );
    }
    let subjects: Vec<String> = messages
        .iter()
        .filter_map(|m| header(m, "Subject"))
        .collect();
    assert!(
        subjects.iter().any(|s| s.contains("Datenschutzerkl"))
            || subjects.iter().any(|s| s.contains("=?utf-8?")),
        "the German customer gets German: {subjects:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| body_text(m).contains("privatlivspolitik")),
        "the Danish customer gets Danish"
    );
    // Each message is signed by the person's controlling entity (P17).
    for (entity, address) in [
        ("ASERGO Europe GmbH", "Witzlebenstrasse 6"),
        ("ASERGO Scandinavia ApS", "DTU Science Park 24"),
    ] {
        assert!(
            messages.iter().any(|m| {
                let text = body_text(m);
                text.contains(entity)
                    && text.contains(address)
                    && text.contains("privacy@asergo.com")
            }),
            "a message signed by {entity}"
        );
    }
}

async fn a_lost_password_is_replaced_through_a_link_that_works_once(t: TestStores) {
    if !smtp_tools_available() {
        return;
    }
    let smtp = Smtp::on_free_port();
    let server = start_with(&t, |base| Some(smtp.settings(base, None))).await;
    let user_id = account(&server, "forgetful@example.dk", "DK", false).await;
    let answers = [
        server
            .post_json(
                "/api/v1/recovery",
                None,
                &json!({"email": "forgetful@example.dk"}),
            )
            .await,
        server
            .post_json(
                "/api/v1/recovery",
                None,
                &json!({"email": "nobody@example.dk"}),
            )
            .await,
    ];
    assert_eq!(
        answers[0], answers[1],
        "the same answer for an unknown address"
    );
    assert_eq!(answers[0].0, StatusCode::ACCEPTED);
    // The link is queued in the background, then delivered.
    let deadline = Instant::now() + Duration::from_secs(10);
    let message = loop {
        mail::deliver_due(&server.app, Utc::now())
            .await
            .expect("deliver");
        if let Some(m) = smtp.messages().into_iter().next() {
            break m;
        }
        assert!(Instant::now() < deadline, "no recovery mail arrived");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(smtp.messages().len(), 1, "nothing for the unknown address");
    let text = body_text(&message);
    assert!(text.contains("ny adgangskode"), "Danish: {text}");
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/recover/dvr_"))
        .expect("link")
        .to_owned();
    let token = link.rsplit('/').next().expect("token").to_owned();
    let (status, recovered) = server
        .post_json(&format!("/api/v1/recovery/{token}"), None, &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{recovered}");
    assert_eq!(recovered["user_id"], user_id);
    let (status, session) = server
        .post_json(
            "/api/v1/session",
            None,
            &json!({"user_id": user_id, "password": recovered["password"]}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the new password signs in: {session}"
    );
    let (status, again) = server
        .post_json(&format!("/api/v1/recovery/{token}"), None, &json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a link works once: {again}");
}

/// A certificate authority and a server certificate it signed for 127.0.0.1:
/// (authority's certificate, server certificate, server key).
fn authority_and_server_certificate(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let file = |name: &str| dir.join(name);
    let openssl = |args: &[&str]| {
        let ok = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("openssl")
            .success();
        assert!(ok, "openssl {args:?}");
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=Test relay CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "smtp.key",
        "-out",
        "smtp.csr",
    ]);
    std::fs::write(
        file("ext.cnf"),
        "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\n",
    )
    .expect("ext");
    openssl(&[
        "x509",
        "-req",
        "-in",
        "smtp.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        "-out",
        "smtp.crt",
    ]);
    (file("ca.crt"), file("smtp.crt"), file("smtp.key"))
}

async fn mail_goes_over_starttls_and_implicit_tls_to_a_server_whose_certificate_is_trusted(
    t: TestStores,
) {
    if !smtp_tools_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let (authority, cert, key) = authority_and_server_certificate(dir.path());
    let pem = std::fs::read_to_string(&authority).expect("pem");
    let path = |p: &Path| p.display().to_string();
    for (round, (mode, args)) in [
        (
            "STARTTLS",
            vec![
                "--tlscert".to_owned(),
                path(&cert),
                "--tlskey".to_owned(),
                path(&key),
            ],
        ),
        (
            "implicit TLS",
            vec![
                "--smtpscert".to_owned(),
                path(&cert),
                "--smtpskey".to_owned(),
                path(&key),
            ],
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let smtp = Smtp::with_tls(args);
        // Without the certificate's authority the connection is refused: nothing leaves.
        let untrusted = start_with(&t, |base| Some(smtp.settings(base, None))).await;
        let email = format!("tls.{}@example.de", mode.len());
        account(&untrusted, &email, "DE", true).await;
        let by = Principal::system("test");
        mail::send_marketing(&untrusted.app, Sender::Owner(&by), &campaign(mode))
            .await
            .expect("queue");
        let pass = mail::deliver_due(&untrusted.app, Utc::now())
            .await
            .expect("deliver");
        assert_eq!(
            pass.sent, 0,
            "{mode}: an unknown certificate is not trusted"
        );
        // With it, the queued message goes.
        let mut options = datavow_core::testkit::options(&t, None);
        options.mail = Some(MailSettings {
            smtp_ca_pem: Some(pem.clone()),
            ..smtp.settings(&untrusted.base, None)
        });
        let trusted = datavow_core::Datavow::open(options).await.expect("reopen");
        let later = Utc::now() + chrono::Duration::minutes(2);
        let pass = mail::deliver_due(&trusted, later).await.expect("deliver");
        let left = trusted
            .stores()
            .accounts
            .due_mail(i64::MAX, 10)
            .await
            .expect("queue");
        // Each round's campaign goes to every account opted in so far, one per round.
        assert_eq!(
            pass.sent,
            round as u64 + 1,
            "{mode}: {:?}",
            left.iter()
                .map(|m| m.last_error.clone())
                .collect::<Vec<_>>()
        );
        assert!(smtp.messages().iter().any(|m| m.contains(&email)), "{mode}");
    }
}

async fn an_extended_request_tells_the_person_the_new_deadline_and_the_reason_in_their_language(
    t: TestStores,
) {
    if !smtp_tools_available() {
        return;
    }
    use datavow_core::persons::PersonKey;
    use datavow_core::requests::{self, By, RequestError};
    let smtp = Smtp::on_free_port();
    let server = start_with(&t, |base| Some(smtp.settings(base, None))).await;
    account(&server, "extend.me@example.de", "DE", false).await;
    let by = Principal::system("test");
    let received = Utc::now() - chrono::Duration::days(20);
    let request = requests::register(
        &server.app,
        By::Owner(&by),
        &PersonKey::Email("extend.me@example.de".into()),
        "access",
        received,
        "letter",
    )
    .await
    .expect("register");
    let done = requests::extend(
        &server.app,
        By::Owner(&by),
        request.id,
        2,
        "many archived tickets to search",
    )
    .await
    .expect("extend");
    assert!(done.person_told);
    assert_eq!(done.request.status, "extended");
    let expected = request
        .deadline_at
        .checked_add_months(chrono::Months::new(2))
        .expect("date");
    assert_eq!(
        done.request.deadline_at.timestamp_micros(),
        expected.timestamp_micros(),
        "two months later"
    );
    assert!(
        matches!(
            requests::extend(&server.app, By::Owner(&by), request.id, 1, "more").await,
            Err(RequestError::ExtensionTooLong(_))
        ),
        "two months in all at most"
    );
    assert!(matches!(
        requests::extend(&server.app, By::Owner(&by), request.id, 1, "   ").await,
        Err(RequestError::BadReason)
    ));
    mail::deliver_due(&server.app, Utc::now())
        .await
        .expect("deliver");
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1, "one message");
    let text = body_text(&messages[0]);
    assert!(text.contains("many archived tickets to search"), "{text}");
    assert!(
        text.contains(&done.request.due.to_string()),
        "the new due day: {text}"
    );
    assert!(
        text.contains("Neue Frist"),
        "in German for a German account: {text}"
    );
}

backend_tests!(
    a_material_policy_change_is_announced_once_to_every_account_in_its_language,
    mail_goes_over_starttls_and_implicit_tls_to_a_server_whose_certificate_is_trusted,
    marketing_reaches_only_people_who_opted_in_and_one_click_stops_the_next_send,
    the_dkim_signature_verifies_and_covers_the_unsubscribe_headers,
    a_message_queued_while_the_smtp_server_is_down_arrives_when_it_is_back,
    a_lost_password_is_replaced_through_a_link_that_works_once,
    an_extended_request_tells_the_person_the_new_deadline_and_the_reason_in_their_language,
);
