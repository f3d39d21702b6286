//! Opening an instance, master key handling and background jobs, on both backends.

use datavow_core::jobs::{run_once, Job, RunOutcome};
use datavow_core::master_key::{self, RotateError};
use datavow_core::{Datavow, OpenError, OpenOptions};
use datavow_policy::{Field, Purpose};
use datavow_store::backend_tests;
use datavow_store::testkit::TestStores;
use datavow_vault::{MasterKey, Personal, Vault, VaultError};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

fn options(t: &TestStores, master_key_file: Option<PathBuf>) -> OpenOptions {
    datavow_core::testkit::options(t, master_key_file)
}

async fn email_of(app: &Datavow, person: uuid::Uuid) -> String {
    let record = app
        .vault()
        .read(&app.grant(Purpose::Requests), person, &[Field::Email])
        .await
        .expect("read");
    record
        .get(Field::Email)
        .map(Personal::expose)
        .unwrap_or_default()
        .to_owned()
}

async fn a_restarted_instance_reads_what_it_wrote_with_the_key_it_created(t: TestStores) {
    let app = Datavow::open(options(&t, None)).await.expect("first start");
    let person = app
        .create_person("asergo_europe", &[(Field::Email, "zoe@example.de")])
        .await;
    let key_file = t.scratch_dir().join("data").join("master.key");
    assert!(
        key_file.exists(),
        "the default master key is created in the data dir"
    );
    drop(app);
    let app = Datavow::open(options(&t, None))
        .await
        .expect("second start");
    assert_eq!(email_of(&app, person).await, "zoe@example.de");
}

async fn rotating_the_default_key_replaces_master_key_and_keeps_data_readable(t: TestStores) {
    let app = Datavow::open(options(&t, None)).await.expect("start");
    let person = app
        .create_person("asergo_europe", &[(Field::Email, "rotate@example.de")])
        .await;
    let key_file = t.scratch_dir().join("data").join("master.key");
    let before = std::fs::read_to_string(&key_file).expect("key");
    let rotation = app
        .rotate_master_key(&datavow_core::Principal::system("test"), None)
        .await
        .expect("rotate");
    assert!(!rotation.reconfigure);
    assert_eq!(
        rotation.keys_rewrapped, 4,
        "a person key, two index keys, the audit signing key"
    );
    assert_ne!(std::fs::read_to_string(&key_file).expect("key"), before);
    // Audited before (begun) and after (how it ended).
    let outcomes: Vec<String> = app
        .stores()
        .audit
        .entries_after(0, 100)
        .await
        .expect("entries")
        .into_iter()
        .filter(|e| e.entry.action == "master_key_rotated")
        .map(|e| e.entry.outcome)
        .collect();
    assert_eq!(outcomes, vec!["begun", "allowed"]);
    drop(app);
    let app = Datavow::open(options(&t, None))
        .await
        .expect("restart with new key");
    assert_eq!(email_of(&app, person).await, "rotate@example.de");
}

async fn a_rotation_interrupted_before_the_rename_is_finished_at_the_next_start(t: TestStores) {
    let app = Datavow::open(options(&t, None)).await.expect("start");
    let person = app
        .create_person("asergo_europe", &[(Field::Email, "crash@example.de")])
        .await;
    let dir = t.scratch_dir().join("data");
    let current = MasterKey::load(&dir.join("master.key")).expect("current");
    // The rotation commits, then the process dies before renaming the new file.
    let next = MasterKey::create(&dir.join("master.key.next")).expect("next");
    Vault::rotate_master_key(app.stores(), &current, &next)
        .await
        .expect("rewrap");
    drop(app);
    let app = Datavow::open(options(&t, None))
        .await
        .expect("recovering start");
    assert_eq!(email_of(&app, person).await, "crash@example.de");
    assert!(!dir.join("master.key.next").exists());
    assert_eq!(
        MasterKey::load(&dir.join("master.key")).expect("key").id(),
        next.id()
    );
}

async fn an_explicit_key_file_needs_a_named_new_file_to_rotate(t: TestStores) {
    let key_file = t.scratch_dir().join("outside.key");
    MasterKey::create(&key_file).expect("key");
    let app = Datavow::open(options(&t, Some(key_file.clone())))
        .await
        .expect("start");
    let err = app
        .rotate_master_key(&datavow_core::Principal::system("test"), None)
        .await
        .expect_err("needs a new file");
    assert!(matches!(err, RotateError::NeedNewKeyFile(_)), "{err:?}");
    let new_file = t.scratch_dir().join("new.key");
    let rotation = app
        .rotate_master_key(&datavow_core::Principal::system("test"), Some(&new_file))
        .await
        .expect("rotate");
    assert!(rotation.reconfigure);
    drop(app);
    let stale = Datavow::open(options(&t, Some(key_file))).await;
    assert!(
        matches!(
            stale,
            Err(OpenError::Vault(VaultError::WrongMasterKey { .. }))
        ),
        "{stale:?}"
    );
    Datavow::open(options(&t, Some(new_file)))
        .await
        .expect("new key opens");
}

async fn a_missing_explicit_master_key_file_is_a_clear_error(t: TestStores) {
    let err = Datavow::open(options(&t, Some(t.scratch_dir().join("nope.key"))))
        .await
        .expect_err("missing key");
    assert!(err.to_string().contains("nope.key"), "{err}");
    assert!(err.to_string().contains("DATAVOW_MASTER_KEY_FILE"), "{err}");
}

async fn a_job_runs_on_one_node_while_another_holds_its_lock(t: TestStores) {
    let node_a = Datavow::open(options(&t, None)).await.expect("node a");
    let node_b = Datavow::open(options(&t, None)).await.expect("node b");
    let runs = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counter = runs.clone();
    let job = Job::new("count", Duration::from_secs(60), move |_| {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        }
    });
    let held = node_a
        .stores()
        .locks
        .try_lock("count", Duration::from_secs(60))
        .await
        .expect("lock")
        .expect("free");
    assert_eq!(run_once(&node_b, &job).await, RunOutcome::Skipped);
    held.release().await.expect("release");
    assert_eq!(run_once(&node_b, &job).await, RunOutcome::Ran);
    assert_eq!(
        run_once(&node_a, &job).await,
        RunOutcome::Ran,
        "the lock is released after a run"
    );
    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 2);
}

/// A job that counts its runs in `runs`.
fn counting_job(
    name: &'static str,
    every: Duration,
    runs: &Arc<std::sync::atomic::AtomicU32>,
) -> Job {
    let counter = runs.clone();
    Job::new(name, every, move |_| {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        }
    })
}

async fn an_hourly_job_one_node_ran_is_not_run_again_by_another_within_the_hour(t: TestStores) {
    let node_a = Datavow::open(options(&t, None)).await.expect("node a");
    let node_b = Datavow::open(options(&t, None)).await.expect("node b");
    let runs = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let hourly = counting_job("hourly-count", Duration::from_secs(3600), &runs);
    assert_eq!(run_once(&node_a, &hourly).await, RunOutcome::Ran);
    assert_eq!(
        run_once(&node_b, &hourly).await,
        RunOutcome::Skipped,
        "node b's tick comes after node a's run"
    );
    assert_eq!(run_once(&node_a, &hourly).await, RunOutcome::Skipped);
    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 1);
    // Mail delivery and other short jobs run on every node's tick.
    let frequent = counting_job("frequent-count", Duration::from_secs(5), &runs);
    assert_eq!(run_once(&node_a, &frequent).await, RunOutcome::Ran);
    assert_eq!(run_once(&node_b, &frequent).await, RunOutcome::Ran);
    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 3);
}

async fn the_keystore_compaction_job_runs(t: TestStores) {
    let app = Datavow::open(options(&t, None)).await.expect("start");
    let person = app
        .create_person("asergo_europe", &[(Field::Email, "gone@example.de")])
        .await;
    app.destroy_account_key(person).await;
    for job in datavow_core::jobs::standard_jobs() {
        assert_eq!(run_once(&app, &job).await, RunOutcome::Ran, "{}", job.name);
    }
}

async fn a_data_key_whose_record_was_never_stored_is_destroyed_and_no_other(t: TestStores) {
    let app = Datavow::open(options(&t, None)).await.expect("start");
    let person = app
        .create_person("asergo_europe", &[(Field::Email, "kept@example.de")])
        .await;
    // A sign-up cut short: its key was stored, its record never was.
    let orphan = uuid::Uuid::new_v4();
    app.stores()
        .keys
        .insert_person_key(orphan, b"wrapped key of nobody")
        .await
        .expect("orphan key");
    let now = chrono::Utc::now();
    assert_eq!(
        datavow_core::erasure::destroy_orphan_keys(&app, now)
            .await
            .expect("sweep"),
        0,
        "a key made within the hour may belong to a sign-up in progress"
    );
    let later = now + chrono::Duration::hours(2);
    assert_eq!(
        datavow_core::erasure::destroy_orphan_keys(&app, later)
            .await
            .expect("sweep"),
        1
    );
    let keys = &app.stores().keys;
    assert_eq!(keys.person_key(orphan).await.expect("read"), None);
    assert!(keys.person_key(person).await.expect("read").is_some());
    assert_eq!(email_of(&app, person).await, "kept@example.de");
    let verified = app.audit_log().verify().await.expect("verify");
    assert!(verified.entries > 0);
}

backend_tests!(
    a_data_key_whose_record_was_never_stored_is_destroyed_and_no_other,
    a_restarted_instance_reads_what_it_wrote_with_the_key_it_created,
    rotating_the_default_key_replaces_master_key_and_keeps_data_readable,
    a_rotation_interrupted_before_the_rename_is_finished_at_the_next_start,
    an_explicit_key_file_needs_a_named_new_file_to_rotate,
    a_missing_explicit_master_key_file_is_a_clear_error,
    a_job_runs_on_one_node_while_another_holds_its_lock,
    an_hourly_job_one_node_ran_is_not_run_again_by_another_within_the_hour,
    the_keystore_compaction_job_runs,
);

#[test]
fn the_default_key_source_is_master_key_in_the_data_dir() {
    let src = master_key::source(None, std::path::Path::new("/srv/datavow"));
    assert_eq!(src.path(), std::path::Path::new("/srv/datavow/master.key"));
}
