//! The audit log on both backends: what is recorded, that the database refuses edits,
//! that `verify` names the first bad entry for every kind of tampering, and that
//! concurrent writers on two nodes keep one valid chain.

use datavow_core::audit::{prune, AuditLog, Broken};
use datavow_core::{Datavow, OpenOptions};
use datavow_policy::{Field, Policy, Purpose};
use datavow_store::backend_tests;
use datavow_store::testkit::TestStores;
use datavow_vault::{Action, Actor, AuditEvent, IndexKind, Outcome, Vault, VaultError};
use std::sync::Arc;

/// Entry 1 of every log records the policy in force when the instance first opened.
const POLICY_ENTRY: i64 = 1;

/// An instance that has published no policy text (which would add an entry).
async fn open(t: &TestStores) -> Datavow {
    Datavow::open(datavow_core::testkit::options(t, None))
        .await
        .expect("open")
}

fn billing_actor() -> Actor {
    Actor::Operator {
        name: "alice".into(),
        role: datavow_policy::Role::Billing,
    }
}

fn operator() -> datavow_core::operators::Operator {
    datavow_core::operators::Operator::for_tests("alice", datavow_policy::Role::Billing)
}

/// A log whose checkpoints come every `every` entries, over the instance's stores.
async fn log_with_checkpoints(app: &Datavow, t: &TestStores, every: i64) -> AuditLog {
    let master =
        datavow_vault::MasterKey::load(&t.scratch_dir().join("data/master.key")).expect("key");
    let signer = Vault::audit_signer(app.stores(), &master)
        .await
        .expect("signer");
    AuditLog::new(app.stores().audit.clone(), signer, every)
}

/// The first break `verify` names in a chain that must be broken.
async fn first_break(log: &AuditLog) -> Broken {
    log.verify()
        .await
        .expect("verify")
        .broken
        .expect("the chain is broken")
}

async fn append_n(log: &AuditLog, n: usize) {
    for i in 0..n {
        log.append(&[AuditEvent {
            detail: Some(format!("event {i}")),
            ..AuditEvent::new(
                &Actor::System("test".into()),
                Action::Read,
                Outcome::Allowed,
            )
        }])
        .await
        .expect("append");
    }
}

async fn every_operation_on_personal_data_is_recorded_without_plaintext(t: TestStores) {
    let app = open(&t).await;
    let op = app.operator_grant(&operator(), Purpose::Billing);
    let person = app
        .vault()
        .create(
            &app.tool_grant(),
            datavow_store::PersonKind::Account,
            "asergo_europe",
            &[
                (Field::Name, "Zoë Müller-Łukasiewicz".into()),
                (Field::Email, "zoe.audit@example.de".into()),
                (
                    Field::PostalAddress,
                    "Witzlebenstraße 6, 14057 Berlin".into(),
                ),
                (Field::Interest, "Colocation".into()),
            ],
        )
        .await
        .expect("create");
    app.vault()
        .read(&op, person, &[Field::Name, Field::PostalAddress])
        .await
        .expect("read");
    let refused = app.vault().read(&op, person, &[Field::Interest]).await;
    assert!(matches!(refused, Err(VaultError::Refused(_))));
    app.vault()
        .find(&op, IndexKind::Email, "zoe.audit@example.de")
        .await
        .expect("find");
    app.vault()
        .update(&op, person, &[(Field::Email, "zoe.new@example.de".into())])
        .await
        .expect("update");
    let tag = app
        .vault()
        .subject_tag(&app.tool_grant(), person)
        .await
        .expect("tag");
    app.destroy_account_key(person).await;

    let entries = app
        .audit_log()
        .for_subject(&tag, 100)
        .await
        .expect("entries");
    let actions: Vec<(&str, &str)> = entries
        .iter()
        .rev()
        .map(|e| (e.entry.action.as_str(), e.entry.outcome.as_str()))
        .collect();
    assert_eq!(
        actions,
        vec![
            ("create", "allowed"),
            ("read", "allowed"),
            ("read", "refused"),
            ("search", "allowed"),
            ("update", "allowed"),
            ("shred", "allowed"),
        ]
    );
    let read = &entries[entries.len() - 2];
    assert_eq!(read.entry.actor, "operator:alice(billing)");
    assert_eq!(read.entry.purpose.as_deref(), Some("billing"));
    assert_eq!(read.entry.fields, "name,postal_address");
    for needle in [
        "Zoë",
        "Müller",
        "zoe.audit@example.de",
        "zoe.new",
        "Witzleben",
        "Colocation",
    ] {
        let places = t.raw_places_containing(needle.as_bytes()).await;
        assert!(places.is_empty(), "{needle} found in {places:?}");
    }
    let report = app.audit_log().verify().await.expect("verify");
    assert_eq!(report.broken, None);
    assert_eq!(report.entries, POLICY_ENTRY + 6);
    let after = app.vault().subject_tag(&app.tool_grant(), person).await;
    assert!(
        matches!(after, Err(VaultError::Shredded)),
        "the tag cannot be derived after erasure"
    );
}

async fn the_database_refuses_to_change_or_delete_audit_entries(t: TestStores) {
    let app = open(&t).await;
    append_n(app.audit_log(), 3).await;
    for sql in [
        "UPDATE audit_log SET actor = 'nobody' WHERE seq = 2",
        "DELETE FROM audit_log WHERE seq = 3",
        "DELETE FROM audit_log",
    ] {
        let err = t.raw_execute(sql).await.expect_err("append-only");
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(
        app.audit_log().verify().await.expect("verify").entries,
        POLICY_ENTRY + 3
    );
}

async fn verify_names_an_edited_entry(t: TestStores) {
    let app = open(&t).await;
    append_n(app.audit_log(), 10).await;
    t.raw_execute(t.drop_audit_guards_sql())
        .await
        .expect("drop guards");
    t.raw_execute("UPDATE audit_log SET actor = 'system:innocent' WHERE seq = 4")
        .await
        .expect("tamper");
    let broken = first_break(app.audit_log()).await;
    assert_eq!(broken.seq, 4, "{broken:?}");
    assert!(broken.reason.contains("altered"), "{broken:?}");
}

async fn verify_names_a_deleted_entry(t: TestStores) {
    let app = open(&t).await;
    append_n(app.audit_log(), 10).await;
    t.raw_execute(t.drop_audit_guards_sql())
        .await
        .expect("drop guards");
    t.raw_execute("DELETE FROM audit_log WHERE seq = 6")
        .await
        .expect("tamper");
    let broken = first_break(app.audit_log()).await;
    assert_eq!(broken.seq, 6, "{broken:?}");
    assert!(broken.reason.contains("missing"), "{broken:?}");
}

async fn verify_names_an_inserted_entry(t: TestStores) {
    let app = open(&t).await;
    append_n(app.audit_log(), 10).await;
    t.raw_execute(t.drop_audit_guards_sql())
        .await
        .expect("drop guards");
    // Make room at 5 by moving 5..=10 up one (from the top down), then forge entry 5
    // as a copy of entry 4 that links to it.
    let last = POLICY_ENTRY + 10;
    for seq in (5..=last).rev() {
        t.raw_execute(&format!(
            "UPDATE audit_log SET seq = {} WHERE seq = {seq}",
            seq + 1
        ))
        .await
        .expect("shift");
    }
    t.raw_execute(
        "INSERT INTO audit_log (seq, at_micros, actor, action, purpose, subject, fields, outcome, detail, prev_hash, hash) \
         SELECT 5, at_micros, 'operator:mallory(admin)', action, purpose, subject, fields, outcome, detail, hash, hash \
         FROM audit_log WHERE seq = 4",
    )
    .await
    .expect("forge");
    let broken = first_break(app.audit_log()).await;
    assert_eq!(broken.seq, 5, "{broken:?}");
}

async fn verify_names_reordered_entries(t: TestStores) {
    let app = open(&t).await;
    append_n(app.audit_log(), 10).await;
    t.raw_execute(t.drop_audit_guards_sql())
        .await
        .expect("drop guards");
    for sql in [
        "UPDATE audit_log SET seq = 1000 WHERE seq = 7",
        "UPDATE audit_log SET seq = 7 WHERE seq = 8",
        "UPDATE audit_log SET seq = 8 WHERE seq = 1000",
    ] {
        t.raw_execute(sql).await.expect("swap");
    }
    let broken = first_break(app.audit_log()).await;
    assert_eq!(broken.seq, 7, "{broken:?}");
    assert!(broken.reason.contains("does not follow"), "{broken:?}");
}

async fn verify_detects_a_tail_cut_after_a_signed_checkpoint(t: TestStores) {
    let app = open(&t).await;
    let log = log_with_checkpoints(&app, &t, 5).await;
    append_n(&log, 12).await;
    let report = log.verify().await.expect("verify");
    assert_eq!(
        (report.entries, report.checkpoints, report.broken.clone()),
        (POLICY_ENTRY + 12, 2, None)
    );
    t.raw_execute(t.drop_audit_guards_sql())
        .await
        .expect("drop guards");
    // Cutting entries 11 and 12, past the last checkpoint (10), with the head rewound,
    // looks like an older log: the known limit between checkpoints.
    t.raw_execute("DELETE FROM audit_log WHERE seq > 10")
        .await
        .expect("cut");
    t.raw_execute(
        "UPDATE audit_head SET seq = 10, hash = (SELECT hash FROM audit_log WHERE seq = 10)",
    )
    .await
    .expect("rewind head");
    assert_eq!(log.verify().await.expect("verify").broken, None);
    // A cut behind a checkpoint cannot be hidden.
    t.raw_execute("DELETE FROM audit_log WHERE seq > 8")
        .await
        .expect("cut");
    t.raw_execute(
        "UPDATE audit_head SET seq = 8, hash = (SELECT hash FROM audit_log WHERE seq = 8)",
    )
    .await
    .expect("rewind head");
    let broken = first_break(&log).await;
    assert_eq!(broken.seq, 9, "{broken:?}");
    assert!(broken.reason.contains("cut off"), "{broken:?}");
}

async fn a_shutdown_checkpoint_signs_the_head_so_a_later_cut_is_detected(t: TestStores) {
    let app = open(&t).await;
    append_n(app.audit_log(), 6).await;
    assert_eq!(
        app.audit_log().checkpoint().await.expect("checkpoint"),
        Some(POLICY_ENTRY + 6)
    );
    assert_eq!(
        app.audit_log().checkpoint().await.expect("again"),
        None,
        "the head is signed already"
    );
    t.raw_execute(t.drop_audit_guards_sql())
        .await
        .expect("drop guards");
    t.raw_execute("DELETE FROM audit_log WHERE seq = 7")
        .await
        .expect("cut");
    t.raw_execute(
        "UPDATE audit_head SET seq = 6, hash = (SELECT hash FROM audit_log WHERE seq = 6)",
    )
    .await
    .expect("rewind head");
    let broken = first_break(app.audit_log()).await;
    assert_eq!(broken.seq, 7, "{broken:?}");
}

async fn a_chain_rewritten_under_a_checkpoint_is_detected(t: TestStores) {
    let app = open(&t).await;
    let log = log_with_checkpoints(&app, &t, 5).await;
    append_n(&log, 5).await;
    t.raw_execute(t.drop_audit_guards_sql())
        .await
        .expect("drop guards");
    // A forged checkpoint signature is refused.
    t.raw_execute("UPDATE audit_checkpoints SET signature = hash || hash WHERE seq = 5")
        .await
        .expect("forge signature");
    let broken = first_break(&log).await;
    assert_eq!(broken.seq, 5, "{broken:?}");
    assert!(broken.reason.contains("invalid signature"), "{broken:?}");
}

async fn two_nodes_appending_at_once_keep_one_valid_chain(t: TestStores) {
    let node_a = open(&t).await;
    let node_b = open(&t).await;
    let mut tasks = Vec::new();
    for node in [node_a.clone(), node_b.clone()] {
        for writer in 0..4 {
            let node = node.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..25 {
                    node.audit_log()
                        .append(&[AuditEvent {
                            detail: Some(format!("writer {writer} event {i}")),
                            ..AuditEvent::new(
                                &Actor::System("load".into()),
                                Action::Read,
                                Outcome::Allowed,
                            )
                        }])
                        .await
                        .expect("append");
                }
            }));
        }
    }
    for task in tasks {
        task.await.expect("writer");
    }
    let report = node_b.audit_log().verify().await.expect("verify");
    assert_eq!(report.broken, None);
    assert_eq!(report.entries, POLICY_ENTRY + 200);
}

async fn an_operator_added_and_its_role_changed_are_audited(t: TestStores) {
    let app = open(&t).await;
    let admin = datavow_core::Principal::system("cli");
    let creds = datavow_core::operators::add(&app, &admin, "bob", datavow_policy::Role::Support)
        .await
        .expect("add");
    use secrecy::ExposeSecret;
    let token = creds.token.expose_secret().to_owned();
    let found = datavow_core::operators::authenticate_token(&app, &token)
        .await
        .expect("auth");
    assert_eq!(found.map(|o| o.role), Some(datavow_policy::Role::Support));
    datavow_core::operators::set_role(&app, &admin, "bob", datavow_policy::Role::Billing)
        .await
        .expect("role");
    datavow_core::operators::disable(&app, &admin, "bob")
        .await
        .expect("disable");
    assert_eq!(
        datavow_core::operators::authenticate_token(&app, &token)
            .await
            .expect("auth"),
        None
    );
    let dup =
        datavow_core::operators::add(&app, &admin, "bob", datavow_policy::Role::Support).await;
    assert!(
        matches!(dup, Err(datavow_core::operators::OperatorError::Taken)),
        "{dup:?}"
    );
    let entries = app
        .stores()
        .audit
        .entries_after(0, 100)
        .await
        .expect("entries");
    let details: Vec<(String, &str)> = entries
        .iter()
        .filter(|e| e.entry.action != "policy_changed")
        .map(|e| {
            (
                e.entry.detail.clone().unwrap_or_default(),
                e.entry.outcome.as_str(),
            )
        })
        .collect();
    // Each change is committed to the log before it is made; the refused duplicate is
    // followed by its failure.
    assert_eq!(
        details,
        vec![
            ("operator bob added with role support".into(), "allowed"),
            ("operator bob: role support -> billing".into(), "allowed"),
            ("operator bob disabled".into(), "allowed"),
            ("operator bob added with role support".into(), "allowed"),
            ("operator bob added with role support".into(), "failed"),
        ]
    );
    let places = t.raw_places_containing(token.as_bytes()).await;
    assert!(
        places.is_empty(),
        "the API token is stored only hashed: {places:?}"
    );
    assert!(t
        .raw_places_containing(creds.password.expose_secret().as_bytes())
        .await
        .is_empty());
}

async fn a_new_policy_text_is_audited_once_and_an_unchanged_one_not_again(t: TestStores) {
    let app = open(&t).await;
    drop(app);
    let reopened = open(&t).await;
    let changed = |e: &datavow_store::AuditRecord| e.entry.action == "policy_changed";
    let entries = reopened
        .stores()
        .audit
        .entries_after(0, 100)
        .await
        .expect("entries");
    assert_eq!(
        entries.iter().filter(|e| changed(e)).count(),
        1,
        "same text, no new entry"
    );
    drop(reopened);
    let text = datavow_policy::BUNDLED_POLICY_TOML.replacen(
        "version = \"2018-05-18\"",
        "version = \"2026-12-01\"",
        1,
    );
    let policy = Policy::from_toml(&text, "asergo-2026.toml").expect("valid");
    Datavow::open(OpenOptions {
        data_dir: t.scratch_dir().join("data"),
        location: t.location.clone(),
        policy: Arc::new(policy),
        master_key_file: None,
        mail: None,
    })
    .await
    .expect("open with the new policy");
    let entries = t
        .reopen()
        .await
        .audit
        .entries_after(0, 100)
        .await
        .expect("entries");
    let policy_entries: Vec<String> = entries
        .iter()
        .filter(|e| changed(e))
        .filter_map(|e| e.entry.detail.clone())
        .collect();
    assert_eq!(policy_entries.len(), 2, "{policy_entries:?}");
    assert!(
        policy_entries[1].contains("2026-12-01") && policy_entries[1].contains("asergo-2026.toml"),
        "{policy_entries:?}"
    );
}

/// SQLite: an append that must wait for the database's write lock waits off the async
/// workers, so a task on the same runtime that holds the lock gets to finish and let it
/// through. On a single worker, an append that blocked the worker would wait out the
/// 10 s busy timeout and fail.
#[tokio::test(flavor = "current_thread")]
async fn an_audit_append_waiting_for_the_write_lock_leaves_the_runtime_free() {
    use std::time::{Duration, Instant};
    let t = TestStores::sqlite().await;
    let app = open(&t).await;
    let holder =
        rusqlite::Connection::open(sqlite_dir(&t).join(datavow_store::DATA_FILE)).expect("open");
    holder
        .execute_batch("BEGIN IMMEDIATE")
        .expect("take the write lock");
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        holder.execute_batch("COMMIT").expect("release the lock");
    });
    let started = Instant::now();
    let seq = app
        .audit_log()
        .append(&[AuditEvent::new(
            &billing_actor(),
            Action::Read,
            Outcome::Allowed,
        )])
        .await
        .expect("the append goes through once the lock is released");
    release.await.expect("lock holder");
    assert_eq!(seq, POLICY_ENTRY + 1);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the append waited {:?}",
        started.elapsed()
    );
    assert_eq!(app.audit_log().verify().await.expect("verify").broken, None);
}

/// 500 audit events of about 250 bytes each.
fn bulky_batch() -> Vec<AuditEvent> {
    (0..500)
        .map(|i| AuditEvent {
            detail: Some(format!("event {i} {}", "x".repeat(200))),
            ..AuditEvent::new(&billing_actor(), Action::Read, Outcome::Allowed)
        })
        .collect()
}

/// The data directory of a SQLite test store.
fn sqlite_dir(t: &TestStores) -> &std::path::Path {
    let datavow_store::StoreLocation::Sqlite { dir } = &t.location else {
        unreachable!("a SQLite test store")
    };
    dir
}

/// The size of a SQLite test store's write-ahead log of the data file.
fn data_wal_bytes(t: &TestStores) -> u64 {
    let wal = format!("{}-wal", datavow_store::DATA_FILE);
    std::fs::metadata(sqlite_dir(t).join(wal)).map_or(0, |m| m.len())
}

/// SQLite: the store's checkpoint thread copies the log into the database file while
/// the store is open, long before the appends' own (raised) checkpoint threshold.
#[tokio::test]
async fn audit_appends_reach_the_database_file_itself_while_the_store_is_open() {
    use std::time::{Duration, Instant};
    let t = TestStores::sqlite().await;
    let app = open(&t).await;
    let dir = sqlite_dir(&t);
    let batch = bulky_batch();
    let mut head = 0;
    for _ in 0..6 {
        head = app.audit_log().append(&batch).await.expect("append");
    }
    // The database file alone, without its log, as a copy of it would be.
    let copy = t.scratch_dir().join("file-only.db");
    let rows_in_the_file = || -> Option<i64> {
        std::fs::copy(dir.join(datavow_store::DATA_FILE), &copy).ok()?;
        let _ = std::fs::remove_file(copy.with_extension("db-wal"));
        let conn = rusqlite::Connection::open(&copy).ok()?;
        conn.query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))
            .ok()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = None;
    while Instant::now() < deadline {
        seen = rows_in_the_file();
        if seen == Some(head) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        seen,
        Some(head),
        "the database file holds the appended entries without its write-ahead log"
    );
    assert_eq!(app.audit_log().verify().await.expect("verify").broken, None);
}

/// SQLite: a log copied only in the background never restarts under a writer that
/// never pauses (it grew to 424 MB in ten seconds of `GET /me` load); the appends' own
/// checkpoint must keep it bounded.
#[tokio::test]
async fn the_write_ahead_log_stays_bounded_under_nonstop_audit_appends() {
    let t = TestStores::sqlite().await;
    let app = open(&t).await;
    let batch = bulky_batch();
    let mut largest = 0;
    for _ in 0..300 {
        app.audit_log().append(&batch).await.expect("append");
        largest = largest.max(data_wal_bytes(&t));
    }
    // The appends' threshold is 4,000 pages of 4 KiB (16 MiB), plus one commit.
    assert!(
        largest < 24 << 20,
        "the write-ahead log reached {largest} bytes"
    );
    assert_eq!(app.audit_log().verify().await.expect("verify").broken, None);
}

/// All entries of the log, in order.
async fn all_entries(app: &Datavow) -> Vec<datavow_store::AuditRecord> {
    app.stores()
        .audit
        .entries_after(0, 100_000)
        .await
        .expect("entries")
}

/// Appends `old` entries, then `new` ones a moment later; returns the moment at which
/// the policy's audit retention has passed for the old ones and not for the new ones.
async fn old_and_new_entries(
    app: &Datavow,
    old: usize,
    new: usize,
) -> chrono::DateTime<chrono::Utc> {
    append_n(app.audit_log(), old).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let cut = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    append_n(app.audit_log(), new).await;
    let keep = app
        .policy
        .audit_retention
        .expect("the policy keeps audit entries 3 years");
    keep.after(cut)
}

async fn entries_older_than_the_audit_retention_are_pruned_and_the_rest_still_verifies(
    t: TestStores,
) {
    let app = open(&t).await;
    // The moment at which everything before the last five has been kept that long.
    let now = old_and_new_entries(&app, 20, 5).await;
    let old = POLICY_ENTRY + 20;

    let planned = prune(&app, now, true).await.expect("dry run");
    assert_eq!(planned.range, Some((1, old)));
    assert_eq!(planned.deleted, 0);
    assert_eq!(
        all_entries(&app).await.len() as i64,
        old + 5,
        "a dry run deletes nothing"
    );

    let done = prune(&app, now, false).await.expect("prune");
    assert_eq!(done.range, Some((1, old)));
    assert_eq!(done.deleted, old as u64);
    let kept = all_entries(&app).await;
    assert_eq!(
        kept.first().map(|e| e.seq),
        Some(old + 1),
        "entries 1 to {old} are gone"
    );
    let record = kept.last().expect("the prune's own entry");
    assert_eq!(record.entry.action, "audit_pruned");
    assert!(
        record
            .entry
            .detail
            .as_deref()
            .unwrap_or_default()
            .contains(&format!("entries 1 to {old}")),
        "{record:?}"
    );

    let report = app.audit_log().verify().await.expect("verify");
    assert_eq!(report.broken, None);
    assert_eq!(
        report.entries,
        5 + 1,
        "the five newer entries and the prune's own"
    );
    assert_eq!(report.pruned.map(|(seq, _)| seq), Some(old));
    // The chain goes on from the prune.
    append_n(app.audit_log(), 3).await;
    let report = app.audit_log().verify().await.expect("verify");
    assert_eq!((report.broken, report.entries), (None, 9));
    // Nothing more is due at the same moment.
    let again = prune(&app, now, false).await.expect("prune again");
    assert_eq!((again.range, again.deleted), (None, 0));
}

async fn a_prune_forged_without_the_signing_key_is_named_by_verify(t: TestStores) {
    let app = open(&t).await;
    let now = old_and_new_entries(&app, 10, 10).await;
    prune(&app, now, false).await.expect("a real prune");
    // Someone with write access to the database but not the signing key claims entries
    // up to 15 were pruned (which would let them delete those), reusing the real key id.
    t.raw_execute(
        "INSERT INTO audit_prunes (through_seq, hash, before_micros, at_micros, key_id, signature) \
         SELECT seq, hash, 0, 0, (SELECT key_id FROM audit_prunes LIMIT 1), hash FROM audit_log WHERE seq = 15",
    )
    .await
    .expect("forged prune");
    t.raw_execute("DELETE FROM audit_log WHERE seq <= 15")
        .await
        .expect("the forged prune lets them delete");
    let broken = first_break(app.audit_log()).await;
    assert_eq!(broken.seq, 15, "{broken:?}");
    assert!(broken.reason.contains("signature"), "{broken:?}");
}

async fn deleting_entries_no_signed_prune_covers_is_refused_after_a_prune(t: TestStores) {
    let app = open(&t).await;
    let now = old_and_new_entries(&app, 5, 5).await;
    let done = prune(&app, now, false).await.expect("prune");
    let (_, last_pruned) = done.range.expect("pruned");
    let err = t
        .raw_execute(&format!(
            "DELETE FROM audit_log WHERE seq = {}",
            last_pruned + 1
        ))
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("append-only"), "{err}");
    let err = t
        .raw_execute("DELETE FROM audit_prunes")
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("append-only"), "{err}");
    assert_eq!(app.audit_log().verify().await.expect("verify").broken, None);
}

async fn a_persons_own_views_are_one_entry_per_session_and_day_and_each_download_one(
    t: TestStores,
) {
    use datavow_core::accounts::{self, SignUpInput};
    let app = open(&t).await;
    let account = accounts::sign_up(
        &app,
        &SignUpInput {
            name: Some("Zoë Own-Reads".into()),
            email: Some("own.reads@example.de".into()),
            ..SignUpInput::default()
        },
    )
    .await
    .expect("sign up");
    let own_reads = || async {
        all_entries(&app)
            .await
            .iter()
            .filter(|e| e.entry.actor.starts_with("person:") && e.entry.action == "read")
            .count()
    };
    let session = accounts::sign_in(&app, &account.user_id, &account.password, "192.0.2.9")
        .await
        .expect("sign in");
    let token = secrecy::ExposeSecret::expose_secret(&session.token).to_owned();
    for _ in 0..5 {
        // As each request does: the session looked up again, then the view.
        let me = accounts::session_person(&app, &token)
            .await
            .expect("session")
            .expect("signed in");
        let profile = accounts::profile(&app, &me).await.expect("profile");
        assert_eq!(profile.name.as_deref(), Some("Zoë Own-Reads"));
    }
    assert_eq!(own_reads().await, 1, "five views in one session: one entry");

    let second = accounts::sign_in(&app, &account.user_id, &account.password, "192.0.2.9")
        .await
        .expect("sign in again");
    let token = secrecy::ExposeSecret::expose_secret(&second.token).to_owned();
    let me = accounts::session_person(&app, &token)
        .await
        .expect("session")
        .expect("signed in");
    accounts::profile(&app, &me).await.expect("profile");
    assert_eq!(own_reads().await, 2, "another session: another entry");

    let exports_before = all_entries(&app).await.len();
    accounts::export(&app, &me).await.expect("export");
    let after_one = all_entries(&app).await.len();
    accounts::export(&app, &me).await.expect("export again");
    let after_two = all_entries(&app).await.len();
    assert!(after_one > exports_before, "a download is on record");
    assert_eq!(
        after_two - after_one,
        after_one - exports_before,
        "each download is on record, however often"
    );
}

backend_tests!(
    a_new_policy_text_is_audited_once_and_an_unchanged_one_not_again,
    every_operation_on_personal_data_is_recorded_without_plaintext,
    the_database_refuses_to_change_or_delete_audit_entries,
    verify_names_an_edited_entry,
    verify_names_a_deleted_entry,
    verify_names_an_inserted_entry,
    verify_names_reordered_entries,
    verify_detects_a_tail_cut_after_a_signed_checkpoint,
    a_shutdown_checkpoint_signs_the_head_so_a_later_cut_is_detected,
    a_chain_rewritten_under_a_checkpoint_is_detected,
    two_nodes_appending_at_once_keep_one_valid_chain,
    an_operator_added_and_its_role_changed_are_audited,
    entries_older_than_the_audit_retention_are_pruned_and_the_rest_still_verifies,
    a_prune_forged_without_the_signing_key_is_named_by_verify,
    deleting_entries_no_signed_prune_covers_is_refused_after_a_prune,
    a_persons_own_views_are_one_entry_per_session_and_day_and_each_download_one,
);
