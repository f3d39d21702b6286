//! Audit log figures: append throughput (one entry per transaction, and batched) and
//! `verify` time on a chain of DATAVOW_BENCH_AUDIT_ENTRIES entries (default 1,000,000),
//! on SQLite. Anchors in the same run: the same rows inserted into a plain table with
//! the same subject index but no chain, the way the SQLite audit log writes them (one
//! cached single-row INSERT per entry through rusqlite, one transaction per batch, the
//! same automatic-checkpoint threshold), and SHA-256 over the same number of entries
//! without any I/O.
//!
//! Run: `cargo bench -p datavow-core --bench audit`

use datavow_policy::{Field, Purpose};
use datavow_store::testkit::TestStores;
use datavow_store::NewAuditEntry;
use datavow_vault::{Action, Actor, AuditEvent, Outcome, SubjectTag};
use sha2::{Digest, Sha256};
use std::time::Instant;

const BATCH: usize = 1000;

/// The subject of the `i`-th entry: 5,000 persons, in turn.
fn subject(i: usize) -> String {
    format!("{:032x}", i % 5000)
}

fn event(i: usize) -> AuditEvent {
    AuditEvent {
        purpose: Some(Purpose::Billing),
        subject: Some(SubjectTag::from_stored(subject(i))),
        fields: vec![Field::Name, Field::PostalAddress, Field::PaymentReference],
        ..AuditEvent::new(
            &Actor::Operator {
                name: "alice".into(),
                role: datavow_policy::Role::Billing,
            },
            Action::Read,
            Outcome::Allowed,
        )
    }
}

#[allow(clippy::print_stdout)]
fn main() {
    let total: usize = std::env::var("DATAVOW_BENCH_AUDIT_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let single: usize = 5_000.min(total);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let t = TestStores::sqlite().await;
        let app = datavow_core::testkit::open(&t).await;
        // Opening an instance audits the policy it runs with.
        let opened_with = app.audit_log().verify().await.expect("verify").entries as usize;

        let started = Instant::now();
        for i in 0..single {
            app.audit_log().append(&[event(i)]).await.expect("append");
        }
        let single_rate = single as f64 / started.elapsed().as_secs_f64();

        let batches: Vec<Vec<AuditEvent>> = (single..total)
            .step_by(BATCH)
            .map(|start| (start..(start + BATCH).min(total)).map(event).collect())
            .collect();
        let started = Instant::now();
        for batch in &batches {
            app.audit_log().append(batch).await.expect("append batch");
        }
        let batched = total - single;
        let batch_secs = started.elapsed().as_secs_f64();
        let batch_rate = batched as f64 / batch_secs;

        // Anchor 1: the same rows into a plain table, same batching, no chain.
        t.raw_execute(
            "CREATE TABLE bench_plain (seq INTEGER PRIMARY KEY, at_micros INTEGER, actor TEXT, action TEXT, \
             purpose TEXT, subject TEXT, fields TEXT, outcome TEXT, detail TEXT, prev_hash BLOB, hash BLOB)",
        )
        .await
        .expect("anchor table");
        // The audit log's own index, which "who read my data" looks up.
        t.raw_execute("CREATE INDEX bench_plain_subject ON bench_plain (subject, seq)")
            .await
            .expect("anchor index");
        let mut conn = {
            let datavow_store::StoreLocation::Sqlite { dir } = &t.location else { unreachable!() };
            let conn = rusqlite::Connection::open(dir.join(datavow_store::DATA_FILE)).expect("anchor connection");
            conn.pragma_update(None, "synchronous", "NORMAL").expect("synchronous");
            // As the audit appender (the store's checkpoint thread copies most of the log).
            conn.pragma_update(None, "wal_autocheckpoint", datavow_store::AUDIT_AUTOCHECKPOINT_PAGES)
                .expect("wal_autocheckpoint");
            conn
        };
        let plain = NewAuditEntry {
            at_micros: 0,
            actor: "operator:alice(billing)".into(),
            action: "read".into(),
            purpose: Some("billing".into()),
            subject: Some(subject(7)),
            fields: "name,postal_address,payment_reference".into(),
            outcome: "allowed".into(),
            detail: None,
        };
        let started = Instant::now();
        let mut seq = 0i64;
        for batch in &batches {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .expect("tx");
            {
                let mut insert = tx
                    .prepare_cached("INSERT INTO bench_plain VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
                    .expect("prepare");
                for _ in batch {
                    seq += 1;
                    insert
                        .execute(rusqlite::params![
                            seq,
                            plain.at_micros,
                            plain.actor,
                            plain.action,
                            plain.purpose,
                            subject(seq as usize),
                            plain.fields,
                            plain.outcome,
                            plain.detail,
                            &[0u8; 32][..],
                            &[0u8; 32][..],
                        ])
                        .expect("plain insert");
                }
            }
            tx.commit().expect("commit");
        }
        let plain_rate = batched as f64 / started.elapsed().as_secs_f64();

        let started = Instant::now();
        let report = app.audit_log().verify().await.expect("verify");
        let verify_secs = started.elapsed().as_secs_f64();
        assert_eq!(report.broken, None);
        assert_eq!(report.entries as usize, opened_with + total);

        // Anchor 2: SHA-256 over as many entries, no I/O.
        let started = Instant::now();
        let mut prev = vec![0u8; 32];
        for i in 0..total {
            prev = datavow_core::audit::entry_hash(&prev, i as i64, &plain);
        }
        let hash_secs = started.elapsed().as_secs_f64();
        std::hint::black_box(Sha256::digest(&prev));

        println!("audit bench on SQLite, {total} entries");
        println!("  append, one entry per transaction : {single_rate:>10.0} entries/s ({single} entries)");
        println!("  append, {BATCH} entries per transaction: {batch_rate:>10.0} entries/s ({batched} entries in {batch_secs:.1} s)");
        println!("  anchor: plain INSERTs, same batches: {plain_rate:>10.0} rows/s  -> chained/plain = {:.2}", batch_rate / plain_rate);
        println!("  verify {total} entries           : {verify_secs:>10.2} s ({:.0} entries/s, {} checkpoints)", total as f64 / verify_secs, report.checkpoints);
        println!("  anchor: hashing alone             : {hash_secs:>10.2} s  -> verify/hash-only = {:.1}", verify_secs / hash_secs);
        drop(t);
    });
}
