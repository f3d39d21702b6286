//! The storage conformance suite: every test runs on SQLite and on PostgreSQL.

use chrono::{SubsecRound, Utc};
use datavow_policy::Field;
use datavow_store::testkit::TestStores;
use datavow_store::{
    backend_tests, AccountSummary, Acknowledgement, BrowserDay, EventBlock, IndexEntry, KeyOwner,
    PersonKind, PersonRow, PolicyTextRow, Published, SealedField, SessionRow, StoreError,
};
use std::time::Duration;
use uuid::Uuid;

fn person() -> PersonRow {
    PersonRow {
        id: Uuid::new_v4(),
        entity: "asergo_europe".into(),
        created_at: Utc::now().trunc_subsecs(6),
        kind: PersonKind::Account,
    }
}

fn sealed(field: Field, bytes: &[u8]) -> SealedField {
    SealedField {
        field,
        ciphertext: bytes.to_vec(),
    }
}

fn index(kind: &'static str, digest: &[u8]) -> IndexEntry {
    IndexEntry {
        kind,
        digest: digest.to_vec(),
    }
}

async fn a_person_and_sealed_fields_read_back_as_written(t: TestStores) {
    let p = person();
    let fields = vec![
        sealed(Field::Email, b"\x01ct-email"),
        sealed(Field::Name, b"\x01ct-name"),
    ];
    t.stores
        .persons
        .insert_person(&p, &fields, &[index("email", b"d1")])
        .await
        .expect("insert");
    assert_eq!(
        t.stores.persons.person(p.id).await.expect("read"),
        Some(p.clone())
    );
    let mut got = t.stores.persons.sealed_fields(p.id).await.expect("fields");
    got.sort_by_key(|f| f.field);
    let mut want = fields;
    want.sort_by_key(|f| f.field);
    assert_eq!(got, want);
    assert_eq!(
        t.stores
            .persons
            .find_by_index("email", b"d1")
            .await
            .expect("find"),
        Some(p.id)
    );
    assert_eq!(t.stores.persons.count_persons().await.expect("count"), 1);
}

async fn an_account_summary_names_the_entity_and_the_last_acknowledged_policy(t: TestStores) {
    let p = person();
    t.stores
        .persons
        .insert_person(&p, &[], &[])
        .await
        .expect("insert");
    let summary = || async {
        t.stores
            .accounts
            .account_summary(p.id)
            .await
            .expect("summary")
    };
    assert_eq!(
        summary().await,
        Some(AccountSummary {
            entity: "asergo_europe".into(),
            policy_version: None
        })
    );
    let now = Utc::now().trunc_subsecs(6);
    for (version, days_ago) in [("2026-01", 30), ("2026-06", 1)] {
        let ack = Acknowledgement {
            policy_version: version.into(),
            acknowledged_at: now - chrono::Duration::days(days_ago),
            how: "continued_use".into(),
        };
        t.stores
            .accounts
            .insert_acknowledgement(p.id, &ack)
            .await
            .expect("ack");
    }
    assert_eq!(
        summary().await.and_then(|s| s.policy_version).as_deref(),
        Some("2026-06")
    );
    assert_eq!(
        t.stores
            .accounts
            .account_summary(Uuid::new_v4())
            .await
            .expect("summary"),
        None
    );
}

async fn a_taken_index_digest_is_a_conflict_and_nothing_of_the_second_person_is_stored(
    t: TestStores,
) {
    let first = person();
    t.stores
        .persons
        .insert_person(&first, &[], &[index("email", b"same")])
        .await
        .expect("first");
    let second = person();
    let err = t
        .stores
        .persons
        .insert_person(
            &second,
            &[sealed(Field::Name, b"x")],
            &[index("email", b"same")],
        )
        .await
        .expect_err("duplicate digest");
    assert!(matches!(err, StoreError::Conflict("email")), "{err:?}");
    assert_eq!(
        t.stores.persons.person(second.id).await.expect("read"),
        None
    );
    assert!(t
        .stores
        .persons
        .sealed_fields(second.id)
        .await
        .expect("fields")
        .is_empty());
    assert_eq!(
        t.stores
            .persons
            .find_by_index("email", b"same")
            .await
            .expect("find"),
        Some(first.id)
    );
}

async fn updating_a_field_replaces_its_ciphertext_and_its_index_entry(t: TestStores) {
    let p = person();
    t.stores
        .persons
        .insert_person(
            &p,
            &[sealed(Field::Email, b"old")],
            &[index("email", b"old-digest")],
        )
        .await
        .expect("insert");
    t.stores
        .persons
        .update_fields(
            p.id,
            &[sealed(Field::Email, b"new"), sealed(Field::Phone, b"ph")],
            &[index("email", b"new-digest")],
        )
        .await
        .expect("update");
    let fields = t.stores.persons.sealed_fields(p.id).await.expect("fields");
    assert_eq!(
        fields,
        vec![sealed(Field::Email, b"new"), sealed(Field::Phone, b"ph")]
    );
    assert_eq!(
        t.stores
            .persons
            .find_by_index("email", b"old-digest")
            .await
            .expect("find"),
        None
    );
    assert_eq!(
        t.stores
            .persons
            .find_by_index("email", b"new-digest")
            .await
            .expect("find"),
        Some(p.id)
    );
}

async fn an_update_that_collides_with_another_persons_index_changes_nothing(t: TestStores) {
    let a = person();
    let b = person();
    t.stores
        .persons
        .insert_person(&a, &[sealed(Field::Email, b"a")], &[index("email", b"da")])
        .await
        .expect("a");
    t.stores
        .persons
        .insert_person(&b, &[sealed(Field::Email, b"b")], &[index("email", b"db")])
        .await
        .expect("b");
    let err = t
        .stores
        .persons
        .update_fields(
            b.id,
            &[sealed(Field::Email, b"a-too")],
            &[index("email", b"da")],
        )
        .await
        .expect_err("collision");
    assert!(matches!(err, StoreError::Conflict("email")), "{err:?}");
    assert_eq!(
        t.stores.persons.sealed_fields(b.id).await.expect("fields"),
        vec![sealed(Field::Email, b"b")]
    );
    assert_eq!(
        t.stores
            .persons
            .find_by_index("email", b"db")
            .await
            .expect("find"),
        Some(b.id)
    );
}

async fn sql_in_an_index_kind_or_digest_is_data_not_code(t: TestStores) {
    let p = person();
    t.stores
        .persons
        .insert_person(&p, &[], &[index("email", b"d")])
        .await
        .expect("insert");
    let hostile = "email' OR '1'='1'; DROP TABLE persons; --";
    assert_eq!(
        t.stores
            .persons
            .find_by_index(hostile, b"d")
            .await
            .expect("find"),
        None
    );
    assert_eq!(
        t.stores
            .persons
            .find_by_index("email", hostile.as_bytes())
            .await
            .expect("find"),
        None
    );
    assert_eq!(t.stores.persons.count_persons().await.expect("count"), 1);
}

async fn a_deleted_person_key_is_gone_and_other_keys_stay(t: TestStores) {
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    t.stores
        .keys
        .insert_person_key(a, b"wrapped-a")
        .await
        .expect("a");
    t.stores
        .keys
        .insert_person_key(b, b"wrapped-b")
        .await
        .expect("b");
    let err = t
        .stores
        .keys
        .insert_person_key(a, b"again")
        .await
        .expect_err("second key");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert!(t.stores.keys.delete_person_key(a).await.expect("delete"));
    assert!(!t
        .stores
        .keys
        .delete_person_key(a)
        .await
        .expect("delete twice"));
    assert_eq!(t.stores.keys.person_key(a).await.expect("read"), None);
    assert_eq!(
        t.stores.keys.person_key(b).await.expect("read").as_deref(),
        Some(&b"wrapped-b"[..])
    );
    t.stores.keys.compact().await.expect("compact");
    assert_eq!(
        t.stores
            .keys
            .key_counts()
            .await
            .expect("counts")
            .person_keys,
        1
    );
}

async fn the_first_named_key_wins_when_two_nodes_race_to_create_it(t: TestStores) {
    let other_node = t.reopen().await;
    let first = t
        .stores
        .keys
        .insert_named_key_if_absent("index:email", b"one")
        .await
        .expect("one");
    let second = other_node
        .keys
        .insert_named_key_if_absent("index:email", b"two")
        .await
        .expect("two");
    assert_eq!(first, b"one");
    assert_eq!(second, b"one");
}

async fn the_first_kek_id_claimed_is_kept(t: TestStores) {
    assert_eq!(t.stores.keys.kek_id().await.expect("none yet"), None);
    assert_eq!(t.stores.keys.claim_kek_id("k1").await.expect("claim"), "k1");
    assert_eq!(t.stores.keys.claim_kek_id("k2").await.expect("claim"), "k1");
}

async fn rewrap_all_replaces_every_key_and_the_kek_id_together(t: TestStores) {
    let p = Uuid::new_v4();
    t.stores.keys.claim_kek_id("old").await.expect("claim");
    t.stores
        .keys
        .insert_person_key(p, b"p")
        .await
        .expect("person key");
    t.stores
        .keys
        .insert_named_key_if_absent("n", b"n")
        .await
        .expect("named key");
    t.stores
        .keys
        .insert_class_key_if_absent(p, "invoices:e:2026", b"c", None)
        .await
        .expect("class key");
    let n = t
        .stores
        .keys
        .rewrap_all("old", "new", &|owner, bytes| {
            let tag = match owner {
                KeyOwner::Person(_) => "person",
                KeyOwner::Named(name) => name,
                KeyOwner::Class { class, .. } => class,
            };
            Ok([bytes, b"+", tag.as_bytes()].concat())
        })
        .await
        .expect("rewrap");
    assert_eq!(n, 3);
    assert_eq!(
        t.stores
            .keys
            .class_key(p, "invoices:e:2026")
            .await
            .expect("class")
            .map(|row| row.wrapped),
        Some(b"c+invoices:e:2026".to_vec())
    );
    assert_eq!(
        t.stores.keys.kek_id().await.expect("id").as_deref(),
        Some("new")
    );
    assert_eq!(
        t.stores.keys.person_key(p).await.expect("p").as_deref(),
        Some(&b"p+person"[..])
    );
    assert_eq!(
        t.stores.keys.named_key("n").await.expect("n").as_deref(),
        Some(&b"n+n"[..])
    );
}

async fn an_erasure_commit_destroys_restricts_and_records_in_one_transaction(t: TestStores) {
    use datavow_store::{KeyErasure, Tombstone};
    let (p, other) = (Uuid::new_v4(), Uuid::new_v4());
    let keys = &t.stores.keys;
    keys.insert_person_key(p, b"account")
        .await
        .expect("account");
    keys.insert_person_key(other, b"other")
        .await
        .expect("other");
    keys.insert_class_key_if_absent(p, "lead", b"lead", None)
        .await
        .expect("lead");
    let kept = keys
        .insert_class_key_if_absent(p, "invoices:e:2026", b"inv", Some(2_000))
        .await
        .expect("invoices");
    assert!(!kept.restricted);
    let again = keys
        .insert_class_key_if_absent(p, "invoices:e:2026", b"racer", Some(9))
        .await
        .expect("race");
    assert_eq!(again.wrapped, b"inv".to_vec(), "the first stored key wins");
    let tombstone = |class: &str| Tombstone {
        owner: p,
        class: class.into(),
        reason: "request".into(),
        at_micros: 1_000,
    };
    keys.erase_keys(
        p,
        &KeyErasure {
            account_key: true,
            destroy: vec!["lead".into()],
            restrict: vec!["invoices:e:2026".into()],
            tombstones: vec![tombstone("account"), tombstone("lead")],
        },
    )
    .await
    .expect("erase");
    assert_eq!(keys.person_key(p).await.expect("p"), None);
    assert!(keys.person_key(other).await.expect("other").is_some());
    let left = keys.class_keys_of(p).await.expect("classes");
    assert_eq!(left.len(), 1);
    assert!(left[0].restricted && left[0].class == "invoices:e:2026");
    assert_eq!(keys.tombstones_of(p).await.expect("ledger").len(), 2);
    assert_eq!(keys.uncleared_tombstones().await.expect("pending").len(), 2);
    keys.mark_cleared(p, "account").await.expect("cleared");
    let pending = keys.uncleared_tombstones().await.expect("pending");
    assert_eq!(pending, vec![tombstone("lead")]);
    assert_eq!(
        keys.expired_class_keys(1_999).await.expect("expired"),
        vec![]
    );
    assert_eq!(
        keys.expired_class_keys(2_000).await.expect("expired"),
        vec![(p, "invoices:e:2026".to_owned())]
    );
}

async fn a_failed_rewrap_changes_nothing(t: TestStores) {
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    t.stores.keys.claim_kek_id("old").await.expect("claim");
    t.stores.keys.insert_person_key(a, b"a").await.expect("a");
    t.stores.keys.insert_person_key(b, b"b").await.expect("b");
    let err = t
        .stores
        .keys
        .rewrap_all("old", "new", &move |owner, bytes| match owner {
            KeyOwner::Person(id) if id == b => Err("cannot unwrap".into()),
            _ => Ok([bytes, b"!"].concat()),
        })
        .await
        .expect_err("rewrap fails");
    assert!(matches!(err, StoreError::Rewrap(_)), "{err:?}");
    assert_eq!(
        t.stores.keys.kek_id().await.expect("id").as_deref(),
        Some("old")
    );
    assert_eq!(
        t.stores.keys.person_key(a).await.expect("a").as_deref(),
        Some(&b"a"[..])
    );
    let wrong = t
        .stores
        .keys
        .rewrap_all("not-the-kek", "x", &|_, b| Ok(b.to_vec()))
        .await;
    assert!(matches!(wrong, Err(StoreError::KekMismatch)), "{wrong:?}");
}

async fn only_one_node_holds_a_job_lock_at_a_time(t: TestStores) {
    let other_node = t.reopen().await;
    let lease = Duration::from_secs(60);
    let held = t
        .stores
        .locks
        .try_lock("retention", lease)
        .await
        .expect("lock")
        .expect("free");
    assert!(other_node
        .locks
        .try_lock("retention", lease)
        .await
        .expect("try")
        .is_none());
    let other_job = other_node
        .locks
        .try_lock("backups", lease)
        .await
        .expect("try")
        .expect("free");
    held.release().await.expect("release");
    let again = other_node
        .locks
        .try_lock("retention", lease)
        .await
        .expect("try");
    assert!(again.is_some(), "lock is free after release");
    other_job.release().await.expect("release");
    again.expect("held").release().await.expect("release");
}

/// The hot reads (on SQLite, through `sqlite_reads`) keep nothing above the database:
/// what another node or process changes is what the very next read returns.
async fn changes_from_another_node_are_seen_by_the_next_read(t: TestStores) {
    let p = person();
    let here = &t.stores;
    here.persons
        .insert_person(&p, &[sealed(Field::Email, b"old")], &[])
        .await
        .expect("person");
    here.keys
        .insert_person_key(p.id, b"wrapped")
        .await
        .expect("key");
    let now = Utc::now().timestamp_micros();
    here.accounts
        .insert_session(b"token", p.id, now, now + 60_000_000)
        .await
        .expect("session");
    // (session's person, wrapped key, ciphertexts, last acknowledged version)
    let read_all = || async {
        (
            here.accounts
                .session(b"token", now)
                .await
                .expect("session")
                .map(|s| s.person),
            here.keys.person_key(p.id).await.expect("key"),
            here.persons
                .sealed_fields(p.id)
                .await
                .expect("fields")
                .into_iter()
                .map(|f| f.ciphertext)
                .collect::<Vec<_>>(),
            here.accounts
                .account_summary(p.id)
                .await
                .expect("summary")
                .and_then(|s| s.policy_version),
        )
    };
    // Read everything once, so a cache (if there were one) would now hold it.
    assert_eq!(
        read_all().await,
        (
            Some(p.id),
            Some(b"wrapped".to_vec()),
            vec![b"old".to_vec()],
            None
        )
    );

    let there = t.reopen().await;
    there
        .accounts
        .delete_session(b"token")
        .await
        .expect("sign out");
    assert!(there.keys.delete_person_key(p.id).await.expect("shred"));
    there
        .persons
        .update_fields(p.id, &[sealed(Field::Email, b"new")], &[])
        .await
        .expect("update");
    let ack = Acknowledgement {
        policy_version: "2026-06".into(),
        acknowledged_at: Utc::now().trunc_subsecs(6),
        how: "continued_use".into(),
    };
    there
        .accounts
        .insert_acknowledgement(p.id, &ack)
        .await
        .expect("ack");

    assert_eq!(
        read_all().await,
        (
            None,
            None,
            vec![b"new".to_vec()],
            Some("2026-06".to_owned())
        ),
        "sign-out, shredded key, edit and acknowledgement from elsewhere are all seen here"
    );
}

async fn expired_sessions_no_longer_sign_in_and_are_removed(t: TestStores) {
    let p = person();
    t.stores
        .persons
        .insert_person(&p, &[], &[])
        .await
        .expect("person");
    let now = Utc::now().timestamp_micros();
    let sessions = &t.stores.accounts;
    sessions
        .insert_session(b"live", p.id, now, now + 60_000_000)
        .await
        .expect("live");
    sessions
        .insert_session(b"old", p.id, now - 120_000_000, now - 60_000_000)
        .await
        .expect("old");
    let live = SessionRow {
        person: p.id,
        own_reads_day: None,
    };
    assert_eq!(
        sessions.session(b"live", now).await.expect("live"),
        Some(live)
    );
    assert_eq!(sessions.session(b"old", now).await.expect("old"), None);
    assert_eq!(
        sessions.delete_expired_sessions(now).await.expect("sweep"),
        1
    );
    assert_eq!(
        sessions.session(b"live", now).await.expect("live"),
        Some(live)
    );
    // A person's own reads on record for a day are noted on the session alone.
    sessions
        .mark_own_reads_recorded(b"live", 20_000)
        .await
        .expect("mark");
    assert_eq!(
        sessions.session(b"live", now).await.expect("live"),
        Some(SessionRow {
            own_reads_day: Some(20_000),
            ..live
        })
    );
}

fn block(records: u32, meta: &[u8]) -> EventBlock {
    EventBlock {
        id: Uuid::new_v4(),
        records,
        meta: meta.to_vec(),
        ips: b"sealed-ips".to_vec(),
    }
}

async fn browser_blocks_land_in_their_day_and_a_dropped_day_is_gone_whole(t: TestStores) {
    let browser = &t.stores.browser;
    let (d1, d2) = (
        chrono::NaiveDate::from_ymd_opt(2026, 11, 24).expect("date"),
        chrono::NaiveDate::from_ymd_opt(2026, 11, 25).expect("date"),
    );
    let first = block(3, b"day-one-a");
    browser
        .append_blocks(d1, std::slice::from_ref(&first))
        .await
        .expect("append");
    browser
        .append_blocks(d1, &[block(2, b"day-one-b")])
        .await
        .expect("append again");
    browser
        .append_blocks(d2, &[block(5, b"day-two")])
        .await
        .expect("append");
    assert_eq!(
        browser.browser_days().await.expect("days"),
        vec![
            BrowserDay {
                day: d1,
                records: 5,
                blocks: 2
            },
            BrowserDay {
                day: d2,
                records: 5,
                blocks: 1
            },
        ]
    );
    let blocks = browser.day_blocks(d1).await.expect("blocks");
    assert_eq!(blocks.len(), 2);
    assert!(blocks.contains(&first));

    assert!(browser.drop_day(d1).await.expect("drop"));
    assert!(!browser.drop_day(d1).await.expect("drop twice"));
    assert!(browser.day_blocks(d1).await.expect("blocks").is_empty());
    assert_eq!(browser.browser_days().await.expect("days").len(), 1);
    // A dropped day can be written again (late log lines).
    browser
        .append_blocks(d1, &[block(1, b"late")])
        .await
        .expect("recreate");
    assert_eq!(browser.day_blocks(d1).await.expect("blocks").len(), 1);
}

async fn blocks_of_several_days_and_the_ingest_mark_commit_together_or_not_at_all(t: TestStores) {
    let browser = &t.stores.browser;
    let (d1, d2) = (
        chrono::NaiveDate::from_ymd_opt(2026, 11, 24).expect("date"),
        chrono::NaiveDate::from_ymd_opt(2026, 11, 25).expect("date"),
    );
    let mark = |offset| datavow_store::IngestMark {
        source: b"dev:inode".to_vec(),
        fingerprint: vec![3; 32],
        fingerprint_len: 256,
        offset,
    };
    assert_eq!(browser.ingest_mark(b"dev:inode").await.expect("mark"), None);
    let kept = block(2, b"kept");
    browser
        .append_days(
            &[(d2, vec![block(1, b"b")]), (d1, vec![kept.clone()])],
            Some(&mark(1000)),
        )
        .await
        .expect("append");
    assert_eq!(
        browser.ingest_mark(b"dev:inode").await.expect("mark"),
        Some(mark(1000))
    );
    // A failing write (a block already stored) leaves the mark and every day as they were.
    let err = browser
        .append_days(
            &[(d2, vec![block(5, b"new")]), (d1, vec![kept])],
            Some(&mark(2000)),
        )
        .await;
    assert!(err.is_err());
    assert_eq!(
        browser.ingest_mark(b"dev:inode").await.expect("mark"),
        Some(mark(1000))
    );
    let days = browser.browser_days().await.expect("days");
    assert_eq!(
        days.iter().map(|d| (d.day, d.records)).collect::<Vec<_>>(),
        vec![(d1, 2), (d2, 1)]
    );
}

async fn a_duplicate_block_changes_nothing_of_its_day(t: TestStores) {
    let browser = &t.stores.browser;
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 25).expect("date");
    let b = block(4, b"once");
    browser
        .append_blocks(day, std::slice::from_ref(&b))
        .await
        .expect("append");
    let err = browser
        .append_blocks(day, &[block(1, b"new"), b])
        .await
        .expect_err("duplicate block id");
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    assert_eq!(browser.day_blocks(day).await.expect("blocks").len(), 1);
    assert_eq!(browser.browser_days().await.expect("days")[0].records, 4);
}

async fn writers_racing_to_open_a_new_day_all_land_in_one_partition(t: TestStores) {
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).expect("date");
    let mut writers = tokio::task::JoinSet::new();
    for i in 0..8u8 {
        let browser = t.stores.browser.clone();
        writers.spawn(async move { browser.append_blocks(day, &[block(1, &[i])]).await });
    }
    while let Some(result) = writers.join_next().await {
        result.expect("join").expect("append");
    }
    assert_eq!(
        t.stores
            .browser
            .day_blocks(day)
            .await
            .expect("blocks")
            .len(),
        8
    );
    assert_eq!(
        t.stores.browser.browser_days().await.expect("days")[0].records,
        8
    );
}

async fn a_signup_replay_is_kept_once_per_key_and_dropped_when_old(t: TestStores) {
    let accounts = &t.stores.accounts;
    let replay = |digest: &[u8], at: i64| datavow_store::SignupReplay {
        key_digest: digest.to_vec(),
        request_digest: vec![7; 32],
        sealed: vec![1, 2, 3],
        created_at_micros: at,
    };
    assert!(accounts
        .insert_signup_replay(&replay(b"k1", 100))
        .await
        .expect("insert"));
    let mut second = replay(b"k1", 200);
    second.sealed = vec![9];
    assert!(
        !accounts
            .insert_signup_replay(&second)
            .await
            .expect("insert"),
        "a second answer under the same key is not kept"
    );
    assert_eq!(
        accounts.signup_replay(b"k1").await.expect("read"),
        Some(replay(b"k1", 100)),
        "the first answer stays"
    );
    assert!(accounts
        .insert_signup_replay(&replay(b"k2", 300))
        .await
        .expect("insert"));
    assert_eq!(
        accounts
            .delete_signup_replays_before(250)
            .await
            .expect("delete"),
        1
    );
    assert_eq!(accounts.signup_replay(b"k1").await.expect("read"), None);
    assert!(accounts.signup_replay(b"k2").await.expect("read").is_some());
}

fn policy_text(version: &str, lang: &str, effective_at_micros: i64, body: &str) -> PolicyTextRow {
    PolicyTextRow {
        version: version.into(),
        lang: lang.into(),
        effective_at_micros,
        material: true,
        body: body.into(),
        published_at_micros: 1,
        published_by: "owner:shell".into(),
    }
}

async fn a_published_policy_text_is_never_overwritten_and_versions_list_in_effective_order(
    t: TestStores,
) {
    let texts = &t.stores.policy_texts;
    let later = policy_text("2027-01", "en", 2_000, "# Later");
    let first = policy_text("2026-01", "en", 1_000, "# First");
    for text in [
        &later,
        &first,
        &policy_text("2027-01", "de", 2_000, "# Später"),
    ] {
        assert_eq!(
            texts.publish_policy_text(text).await.expect("publish"),
            Published::Stored
        );
    }
    assert_eq!(
        texts.publish_policy_text(&first).await.expect("again"),
        Published::AlreadyStored
    );
    let changed = policy_text("2026-01", "en", 1_000, "# Rewritten history");
    assert_eq!(
        texts.publish_policy_text(&changed).await.expect("conflict"),
        Published::Conflicts
    );
    let stored = texts.policy_text("2026-01", "en").await.expect("read");
    assert_eq!(stored.map(|t| t.body), Some("# First".to_owned()));
    let versions = texts.policy_versions().await.expect("versions");
    let listed: Vec<(&str, Vec<&str>)> = versions
        .iter()
        .map(|v| {
            (
                v.version.as_str(),
                v.langs.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        vec![("2026-01", vec!["en"]), ("2027-01", vec!["de", "en"])]
    );
}

async fn a_notice_dismissal_is_kept_once_and_goes_with_the_person(t: TestStores) {
    let p = person();
    t.stores
        .persons
        .insert_person(&p, &[], &[])
        .await
        .expect("insert");
    let texts = &t.stores.policy_texts;
    texts
        .dismiss_policy_notice(p.id, "2027-01", 10)
        .await
        .expect("dismiss");
    texts
        .dismiss_policy_notice(p.id, "2027-01", 20)
        .await
        .expect("twice");
    assert_eq!(
        texts.dismissed_policy_notices(p.id).await.expect("read"),
        vec![("2027-01".to_owned(), 10)]
    );
    texts
        .record_policy_announcement("2027-01", 30, 5)
        .await
        .expect("announce");
    assert_eq!(
        texts.policy_announcements().await.expect("announced"),
        vec!["2027-01".to_owned()]
    );
    assert!(t.stores.persons.delete_person(p.id).await.expect("delete"));
    assert!(texts
        .dismissed_policy_notices(p.id)
        .await
        .expect("read")
        .is_empty());
}

async fn a_totp_step_is_accepted_once_and_a_recovery_code_is_spent_once(t: TestStores) {
    let console = &t.stores.console;
    assert!(console.second_factor("olga").await.expect("read").is_none());
    let factor = datavow_store::SecondFactorRow {
        sealed_secret: vec![1, 2, 3],
        last_step: 100,
        enrolled_at_micros: 5,
    };
    console
        .enrol_second_factor("olga", &factor, &[vec![7; 32], vec![8; 32]])
        .await
        .expect("enrol");
    assert_eq!(
        console.second_factor("olga").await.expect("read"),
        Some(factor)
    );
    assert!(
        !console
            .advance_totp_step("olga", 100)
            .await
            .expect("same step"),
        "a replay"
    );
    assert!(!console
        .advance_totp_step("olga", 99)
        .await
        .expect("older step"));
    assert!(console
        .advance_totp_step("olga", 101)
        .await
        .expect("next step"));
    assert!(
        !console.advance_totp_step("olga", 101).await.expect("again"),
        "a replay"
    );
    assert!(
        !console
            .advance_totp_step("oscar", 500)
            .await
            .expect("nobody"),
        "no factor, no step"
    );
    assert_eq!(console.recovery_codes_left("olga").await.expect("count"), 2);
    assert!(console
        .use_recovery_code("olga", &[7; 32])
        .await
        .expect("use"));
    assert!(
        !console
            .use_recovery_code("olga", &[7; 32])
            .await
            .expect("reuse"),
        "spent"
    );
    assert!(
        !console
            .use_recovery_code("oscar", &[8; 32])
            .await
            .expect("other"),
        "not oscar's"
    );
    assert_eq!(console.recovery_codes_left("olga").await.expect("count"), 1);
    // Enrolling again replaces the codes.
    let again = datavow_store::SecondFactorRow {
        sealed_secret: vec![4],
        last_step: 200,
        enrolled_at_micros: 6,
    };
    console
        .enrol_second_factor("olga", &again, &[vec![9; 32]])
        .await
        .expect("re-enrol");
    assert!(!console
        .use_recovery_code("olga", &[8; 32])
        .await
        .expect("old code"));
    assert_eq!(console.recovery_codes_left("olga").await.expect("count"), 1);
}

async fn clearing_a_second_factor_ends_the_operators_console_sessions(t: TestStores) {
    let console = &t.stores.console;
    let session = |operator: &str| datavow_store::OperatorSessionRow {
        operator: operator.into(),
        stage: "signed_in".into(),
        pending_secret: None,
        created_at_micros: 1,
        last_seen_micros: 1,
        expires_at_micros: i64::MAX,
    };
    console
        .insert_operator_session(b"olga-1", &session("olga"))
        .await
        .expect("insert");
    console
        .insert_operator_session(b"olga-2", &session("olga"))
        .await
        .expect("insert");
    console
        .insert_operator_session(b"sam-1", &session("sam"))
        .await
        .expect("insert");
    console
        .set_pending_secret(b"olga-2", Some(&[5, 5]))
        .await
        .expect("pending");
    assert_eq!(
        console
            .operator_session(b"olga-2")
            .await
            .expect("read")
            .and_then(|s| s.pending_secret),
        Some(vec![5, 5])
    );
    console
        .touch_operator_session(b"olga-1", 42)
        .await
        .expect("touch");
    assert_eq!(
        console
            .operator_session(b"olga-1")
            .await
            .expect("read")
            .map(|s| s.last_seen_micros),
        Some(42)
    );
    let factor = datavow_store::SecondFactorRow {
        sealed_secret: vec![1],
        last_step: 1,
        enrolled_at_micros: 1,
    };
    console
        .enrol_second_factor("olga", &factor, &[vec![1; 32]])
        .await
        .expect("enrol");
    assert!(console.clear_second_factor("olga").await.expect("clear"));
    assert!(console
        .operator_session(b"olga-1")
        .await
        .expect("read")
        .is_none());
    assert!(console
        .operator_session(b"olga-2")
        .await
        .expect("read")
        .is_none());
    assert!(
        console
            .operator_session(b"sam-1")
            .await
            .expect("read")
            .is_some(),
        "others stay"
    );
    assert!(console.second_factor("olga").await.expect("read").is_none());
    assert_eq!(console.recovery_codes_left("olga").await.expect("count"), 0);
    assert!(!console.clear_second_factor("olga").await.expect("again"));
    assert_eq!(
        console
            .delete_operator_sessions("sam")
            .await
            .expect("delete"),
        1
    );
}

async fn the_last_run_of_each_kind_replaces_the_one_before(t: TestStores) {
    let console = &t.stores.console;
    let run = |kind: &str, at: i64, ok: bool| datavow_store::LastRun {
        kind: kind.into(),
        at_micros: at,
        ok,
        detail: format!("run at {at}"),
    };
    console
        .record_run(&run("audit-verify", 1, true))
        .await
        .expect("record");
    console
        .record_run(&run("ingest:file", 2, true))
        .await
        .expect("record");
    console
        .record_run(&run("audit-verify", 3, false))
        .await
        .expect("record");
    assert_eq!(
        console.last_runs().await.expect("runs"),
        vec![run("audit-verify", 3, false), run("ingest:file", 2, true)]
    );
}

async fn a_roll_up_lives_and_dies_with_its_day(t: TestStores) {
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 2).expect("day");
    let row = datavow_store::RollupRow {
        day,
        records: 3,
        sealed: vec![1, 2, 3],
    };
    t.stores.stats.put_rollup(&row).await.expect("put");
    assert!(
        t.stores
            .stats
            .rollups(day, day)
            .await
            .expect("read")
            .is_empty(),
        "no roll-up without its day"
    );
    t.stores
        .browser
        .append_blocks(
            day,
            &[datavow_store::EventBlock {
                id: uuid::Uuid::new_v4(),
                records: 3,
                meta: vec![9],
                ips: vec![8],
            }],
        )
        .await
        .expect("append");
    t.stores.stats.put_rollup(&row).await.expect("put");
    let newer = datavow_store::RollupRow {
        records: 4,
        sealed: vec![4],
        ..row.clone()
    };
    t.stores.stats.put_rollup(&newer).await.expect("replace");
    assert_eq!(
        t.stores.stats.rollups(day, day).await.expect("read"),
        vec![newer]
    );
    assert!(t.stores.browser.drop_day(day).await.expect("drop"));
    assert!(
        t.stores
            .stats
            .rollups(day, day)
            .await
            .expect("read")
            .is_empty(),
        "dropped with the day"
    );
}

async fn a_budget_is_spent_for_every_period_or_for_none(t: TestStores) {
    let stats = &t.stores.stats;
    let days = |names: &[&str]| names.iter().map(|d| (*d).to_owned()).collect::<Vec<_>>();
    assert!(stats
        .spend_budget("browser", &days(&["d1", "d2"]), 1_500_000, 2_000_000)
        .await
        .expect("spend"));
    assert!(!stats
        .spend_budget("browser", &days(&["d3", "d2"]), 600_000, 2_000_000)
        .await
        .expect("spend"));
    assert_eq!(
        stats.budget_spent("browser", "d3").await.expect("read"),
        0,
        "all or nothing"
    );
    assert_eq!(
        stats.budget_spent("browser", "d2").await.expect("read"),
        1_500_000
    );
    assert!(stats
        .spend_budget("browser", &days(&["d2"]), 500_000, 2_000_000)
        .await
        .expect("exactly the rest"));
    assert!(!stats
        .spend_budget("browser", &days(&["d2"]), 1, 2_000_000)
        .await
        .expect("spent"));
    assert!(stats
        .spend_budget("accounts", &days(&["d2"]), 2_000_000, 2_000_000)
        .await
        .expect("another dataset"));
    assert!(!stats
        .spend_budget("browser", &days(&["d9"]), 3_000_000, 2_000_000)
        .await
        .expect("over the limit at once"));
}

/// A pass over every account in pages: each account once, in id order, with only the
/// fields asked for; leads are not accounts; the keys of a page's id range come back.
async fn accounts_are_read_in_pages_with_only_the_fields_asked_for(t: TestStores) {
    let mut accounts = Vec::new();
    for i in 0..5u8 {
        let p = person();
        let mut fields = vec![sealed(Field::Name, &[i])];
        if i % 2 == 0 {
            fields.push(sealed(Field::BusinessSector, &[100 + i]));
        }
        t.stores
            .persons
            .insert_person(&p, &fields, &[])
            .await
            .expect("insert");
        t.stores
            .keys
            .insert_person_key(p.id, &[i; 8])
            .await
            .expect("key");
        accounts.push((p.id, i));
    }
    let lead = PersonRow {
        kind: PersonKind::Lead,
        ..person()
    };
    t.stores
        .persons
        .insert_person(&lead, &[sealed(Field::BusinessSector, b"x")], &[])
        .await
        .expect("lead");
    accounts.sort();
    let mut seen = Vec::new();
    let mut after = Uuid::nil();
    loop {
        let page = t
            .stores
            .persons
            .account_fields_page(after, 2, &[Field::BusinessSector])
            .await
            .expect("page");
        assert!(page.len() <= 2, "a page holds at most its limit");
        let (Some((first, _)), Some((last, _))) = (page.first(), page.last()) else {
            break;
        };
        let keys = t
            .stores
            .keys
            .person_keys_between(*first, *last)
            .await
            .expect("keys");
        for (id, fields) in &page {
            let i = accounts
                .iter()
                .find(|(a, _)| a == id)
                .expect("an account")
                .1;
            let want: Vec<SealedField> = if i % 2 == 0 {
                vec![sealed(Field::BusinessSector, &[100 + i])]
            } else {
                Vec::new()
            };
            assert_eq!(fields, &want, "only the fields asked for");
            assert!(keys.contains(&(*id, vec![i; 8])), "its key is in the range");
            seen.push(*id);
        }
        after = *last;
    }
    let ids: Vec<Uuid> = accounts.iter().map(|(id, _)| *id).collect();
    assert_eq!(seen, ids, "every account once, in id order, and no lead");
}

backend_tests!(
    accounts_are_read_in_pages_with_only_the_fields_asked_for,
    blocks_of_several_days_and_the_ingest_mark_commit_together_or_not_at_all,
    a_signup_replay_is_kept_once_per_key_and_dropped_when_old,
    an_erasure_commit_destroys_restricts_and_records_in_one_transaction,
    an_account_summary_names_the_entity_and_the_last_acknowledged_policy,
    writers_racing_to_open_a_new_day_all_land_in_one_partition,
    browser_blocks_land_in_their_day_and_a_dropped_day_is_gone_whole,
    a_duplicate_block_changes_nothing_of_its_day,
    expired_sessions_no_longer_sign_in_and_are_removed,
    changes_from_another_node_are_seen_by_the_next_read,
    a_person_and_sealed_fields_read_back_as_written,
    a_taken_index_digest_is_a_conflict_and_nothing_of_the_second_person_is_stored,
    updating_a_field_replaces_its_ciphertext_and_its_index_entry,
    an_update_that_collides_with_another_persons_index_changes_nothing,
    sql_in_an_index_kind_or_digest_is_data_not_code,
    a_deleted_person_key_is_gone_and_other_keys_stay,
    the_first_named_key_wins_when_two_nodes_race_to_create_it,
    the_first_kek_id_claimed_is_kept,
    rewrap_all_replaces_every_key_and_the_kek_id_together,
    a_failed_rewrap_changes_nothing,
    only_one_node_holds_a_job_lock_at_a_time,
    a_published_policy_text_is_never_overwritten_and_versions_list_in_effective_order,
    a_notice_dismissal_is_kept_once_and_goes_with_the_person,
    a_totp_step_is_accepted_once_and_a_recovery_code_is_spent_once,
    clearing_a_second_factor_ends_the_operators_console_sessions,
    the_last_run_of_each_kind_replaces_the_one_before,
    a_roll_up_lives_and_dies_with_its_day,
    a_budget_is_spent_for_every_period_or_for_none,
);

#[test]
fn sqlite_and_postgres_migrations_are_kept_in_step() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for store in ["data", "keys"] {
        let names = |backend: &str| -> Vec<String> {
            let mut names: Vec<String> = std::fs::read_dir(root.join(backend).join(store))
                .expect("migration folder")
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        };
        let (sqlite, postgres) = (names("sqlite"), names("postgres"));
        assert!(!sqlite.is_empty());
        assert_eq!(
            sqlite, postgres,
            "{store} migrations differ between backends"
        );
    }
}

/// A SQLite lease left by a process of this machine that died (SIGKILL) is taken back
/// at once; one held by a live process is not, however long it has left.
#[tokio::test]
async fn a_sqlite_job_lock_left_by_a_dead_process_is_taken_back_and_a_live_ones_is_not() {
    let t = TestStores::sqlite().await;
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").expect("boot id");
    let namespace = std::fs::read_link("/proc/self/ns/pid").expect("pid namespace");
    let holder = |pid: u32| format!("{}/{}/{pid}/x", boot.trim(), namespace.display());
    let lease = |holder: String| {
        format!(
            "INSERT INTO job_leases (job, holder, expires_at) VALUES ('retention', '{holder}', {}) \
             ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at",
            Utc::now().timestamp_millis() + 3_600_000
        )
    };
    let mut live = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .expect("sleep");
    let try_lock = || {
        t.stores
            .locks
            .try_lock("retention", Duration::from_secs(60))
    };
    t.raw_execute(&lease(holder(live.id())))
        .await
        .expect("lease");
    let taken = try_lock().await.expect("try");
    assert!(taken.is_none(), "a live holder keeps its lock");
    live.kill().expect("SIGKILL");
    live.wait().expect("reaped");
    let taken = try_lock().await.expect("try");
    assert!(taken.is_some(), "a dead holder's lock is taken back");
    taken.expect("held").release().await.expect("release");
    // A process of another pid namespace (another container) cannot be told dead, nor
    // can a lease in a format that does not say who holds it: they run out on their own.
    let dead_pid = live.id();
    for other in [
        format!("{}/pid:[1]/{dead_pid}/x", boot.trim()),
        "some-holder".to_owned(),
    ] {
        t.raw_execute(&lease(other)).await.expect("lease");
        assert!(try_lock().await.expect("try").is_none());
    }
}
