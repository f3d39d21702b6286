//! Mail throughput against a local SMTP server (Debian's `python3-aiosmtpd`, started
//! here): messages handed to the server per second through Datavow's queue (compose,
//! seal under the recipient's key, store, open, send eight at a time) against sending
//! the same messages directly with `lettre`, one at a time and eight at a time, in the
//! same run.
//!
//! Run: `cargo bench -p datavow-core --bench mail` (DATAVOW_BENCH_MESSAGES, default 500).

use chrono::Utc;
use datavow_core::mail::{self, Campaign, MailSettings, Sender};
use datavow_core::Principal;
use datavow_policy::Field;
use datavow_store::testkit::TestStores;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::SecretString;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[allow(clippy::print_stdout)]
fn main() {
    let messages: usize = std::env::var("DATAVOW_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let dir = tempfile::tempdir().expect("dir");
    let mut smtp = Command::new("/usr/bin/python3")
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
        .args(["-c", "aiosmtpd.handlers.Sink"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("aiosmtpd (apt-get install python3-aiosmtpd)");
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(Duration::from_millis(50));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let t = TestStores::sqlite().await;
        let mut options = datavow_core::testkit::options(&t, None);
        options.mail = Some(MailSettings {
            smtp_url: SecretString::from(format!("smtp://127.0.0.1:{port}")),
            mail_from: "Bench <bench@example.org>".into(),
            public_url: "https://privacy.example.org".into(),
            dkim: None,
            smtp_ca_pem: None,
        });
        let app = datavow_core::Datavow::open(options).await.expect("open");
        let consent = "opted_in@2026-01-01T00:00:00Z;how=sign_up;policy=bench";
        for i in 0..messages {
            let email = format!("reader{i}@example.org");
            app.create_person(
                "asergo_europe",
                &[
                    (Field::Name, "Bench Reader"),
                    (Field::Email, email.as_str()),
                    (Field::MarketingConsent, consent),
                ],
            )
            .await;
        }
        let campaign = Campaign {
            subject: "Bench".into(),
            bodies: [("en".to_owned(), "A short message.".to_owned())].into(),
            segment: None,
        };

        // Direct: the same kind of message, straight to the server, one at a time on
        // one connection (the simplest sender).
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(port)
            .build();
        let start = Instant::now();
        for i in 0..messages {
            let message = Message::builder()
                .from("Bench <bench@example.org>".parse().expect("from"))
                .to(format!("Bench Reader <reader{i}@example.org>")
                    .parse()
                    .expect("to"))
                .subject("Bench")
                .body("Hello Bench Reader,\n\nA short message.\n".to_owned())
                .expect("message");
            transport.send(message).await.expect("send");
        }
        let direct = start.elapsed();
        // Direct, eight at a time over the pool: what the queue's delivery does.
        let start = Instant::now();
        let mut sending: tokio::task::JoinSet<Result<(), lettre::transport::smtp::Error>> =
            tokio::task::JoinSet::new();
        for i in 0..messages {
            if sending.len() >= 8 {
                sending
                    .join_next()
                    .await
                    .expect("task")
                    .expect("join")
                    .expect("send");
            }
            let transport = transport.clone();
            sending.spawn(async move {
                let message = Message::builder()
                    .from("Bench <bench@example.org>".parse().expect("from"))
                    .to(format!("Bench Reader <reader{i}@example.org>")
                        .parse()
                        .expect("to"))
                    .subject("Bench")
                    .body("Hello Bench Reader,\n\nA short message.\n".to_owned())
                    .expect("message");
                transport.send(message).await.map(|_| ())
            });
        }
        while let Some(done) = sending.join_next().await {
            done.expect("join").expect("send");
        }
        let direct_parallel = start.elapsed();

        // Through the queue.
        let by = Principal::system("bench");
        let start = Instant::now();
        let queued = mail::send_marketing(&app, Sender::Owner(&by), &campaign)
            .await
            .expect("queue");
        let enqueue = start.elapsed();
        let mut sent = 0;
        while sent < queued.queued {
            sent += mail::deliver_due(&app, Utc::now())
                .await
                .expect("deliver")
                .sent;
        }
        let through_queue = start.elapsed();
        assert_eq!(queued.queued as usize, messages);
        let rate = |d: Duration| messages as f64 / d.as_secs_f64();
        println!("{messages} messages to a local aiosmtpd (SQLite store):");
        println!("  direct, one at a time:    {:>8.0} msg/s", rate(direct));
        println!(
            "  direct, 8 at a time:      {:>8.0} msg/s",
            rate(direct_parallel)
        );
        println!(
            "  through Datavow's queue:  {:>8.0} msg/s  (queueing {:.0} msg/s, then delivery)",
            rate(through_queue),
            rate(enqueue)
        );
        println!(
            "  queue / direct 8 at a time: {:.2}",
            direct_parallel.as_secs_f64() / through_queue.as_secs_f64()
        );
        drop(dir);
    });
    let _ = smtp.kill();
    let _ = smtp.wait();
}
