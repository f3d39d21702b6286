//! The vault's promises, on SQLite and on PostgreSQL: purpose-checked reads, no
//! plaintext at rest, shredding, ciphertexts bound to their place, master key rotation.

use datavow_policy::{Category, Field, Policy, Purpose};
use datavow_store::testkit::TestStores;
use datavow_store::{backend_tests, SealedField};
use datavow_store::{PersonId, PersonKind};
use datavow_vault::{
    Actor, GrantIssuer, IndexKind, MasterKey, Personal, PersonalRecord, RecordingSink, SubjectTag,
    Vault, VaultError,
};
use std::sync::Arc;

/// A vault with its grant issuer, and the grants a caller of the old purpose-naming API
/// would have asked for: tests of storage promises, not of authorization.
#[derive(Debug)]
struct Opened {
    vault: Vault,
    issuer: GrantIssuer,
}

impl Opened {
    fn grant(&self, actor: &Actor, purpose: Purpose) -> datavow_vault::Grant {
        self.issuer.grant(actor.clone(), purpose).expect("grant")
    }

    async fn create_person(
        &self,
        actor: &Actor,
        entity: &str,
        values: &[(Field, Personal)],
    ) -> Result<PersonId, VaultError> {
        let grant = self.grant(actor, Purpose::Requests);
        self.vault
            .create(&grant, PersonKind::Account, entity, values)
            .await
    }

    async fn read(
        &self,
        actor: &Actor,
        person: PersonId,
        purpose: Purpose,
        fields: &[Field],
    ) -> Result<PersonalRecord, VaultError> {
        let grant = self.grant(actor, purpose);
        self.vault.read(&grant, person, fields).await
    }

    async fn update(
        &self,
        actor: &Actor,
        person: PersonId,
        values: &[(Field, Personal)],
    ) -> Result<(), VaultError> {
        let grant = self.grant(actor, Purpose::Requests);
        self.vault.update(&grant, person, values).await
    }

    async fn find(
        &self,
        actor: &Actor,
        kind: IndexKind,
        value: &str,
    ) -> Result<Option<PersonId>, VaultError> {
        let grant = self.grant(actor, Purpose::Requests);
        self.vault.find(&grant, kind, value).await
    }

    /// Destroys the person's account key, as an erasure's commit point does.
    async fn shred(&self, actor: &Actor, person: PersonId) -> Result<bool, VaultError> {
        let plan = datavow_vault::ErasurePlan {
            reason: "test".into(),
            account: true,
            ..Default::default()
        };
        let tombstones = self
            .vault
            .erase_keys(&self.issuer.custody(actor.clone()), person, &plan)
            .await?;
        Ok(!tombstones.is_empty())
    }

    async fn subject_tag(&self, person: PersonId) -> Result<SubjectTag, VaultError> {
        let grant = self.grant(&actor(), Purpose::Requests);
        self.vault.subject_tag(&grant, person).await
    }

    async fn day_keys(&self, day: chrono::NaiveDate) -> Result<datavow_vault::DayKeys, VaultError> {
        let grant = self.grant(&actor(), Purpose::Security);
        self.vault.day_keys(&grant, day).await
    }
}

fn policy() -> Arc<Policy> {
    Arc::new(Policy::bundled().expect("bundled policy"))
}

fn actor() -> Actor {
    Actor::System("test".into())
}

async fn vault(t: &TestStores, master: MasterKey) -> Opened {
    open(t, master).await.expect("open vault")
}

async fn open(t: &TestStores, master: MasterKey) -> Result<Opened, VaultError> {
    open_with(t, master, Arc::new(RecordingSink::default())).await
}

async fn open_with(
    t: &TestStores,
    master: MasterKey,
    sink: Arc<RecordingSink>,
) -> Result<Opened, VaultError> {
    let (vault, issuer) = Vault::open(&t.stores, master, policy(), sink).await?;
    Ok(Opened { vault, issuer })
}

/// A person with ten fields whose values are unlikely to appear by chance.
fn sample(tag: &str) -> Vec<(Field, Personal)> {
    vec![
        (Field::Name, format!("Søren Ægidius Østergård {tag}").into()),
        (
            Field::Company,
            format!("Østergård Hosting ApS {tag}").into(),
        ),
        (
            Field::Email,
            format!("soren.{tag}@ostergaard-hosting.dk").into(),
        ),
        (Field::Phone, format!("+4531{tag:0>6}").into()),
        (
            Field::PostalAddress,
            format!("Agern Allé 24 {tag}, 2970 Hørsholm, DK").into(),
        ),
        (Field::BusinessSector, "hosting_and_cloud".into()),
        (
            Field::Interest,
            format!("Colocation in Copenhagen {tag}").into(),
        ),
        (Field::BirthDate, "1981-04-17".into()),
        (Field::UserId, format!("K7Q2M9{tag}").into()),
        (Field::PaymentReference, format!("cus_Q2x9{tag}").into()),
    ]
}

async fn fields_read_back_with_an_allowed_purpose_and_are_refused_with_a_disallowed_one(
    t: TestStores,
) {
    let vault = vault(&t, MasterKey::generate()).await;
    let person = vault
        .create_person(&actor(), "asergo_europe", &sample("101"))
        .await
        .expect("create");

    let billing = vault
        .read(
            &actor(),
            person,
            Purpose::Billing,
            &[Field::Name, Field::PostalAddress, Field::PaymentReference],
        )
        .await
        .expect("billing may read these");
    assert_eq!(
        billing.get(Field::Name).map(Personal::expose),
        Some("Søren Ægidius Østergård 101")
    );
    assert_eq!(
        billing.get(Field::PaymentReference).map(Personal::expose),
        Some("cus_Q2x9101")
    );

    let refused = vault
        .read(
            &actor(),
            person,
            Purpose::Billing,
            &[Field::Name, Field::Interest],
        )
        .await
        .expect_err("billing must not read the marketing interest");
    match refused {
        VaultError::Refused(r) => {
            assert_eq!(
                (r.purpose, r.category),
                (Purpose::Billing, Category::BusinessProfile)
            )
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let refused = vault
        .read(&actor(), person, Purpose::Marketing, &[Field::UserId])
        .await;
    assert!(
        matches!(refused, Err(VaultError::Refused(_))),
        "{refused:?}"
    );
}

async fn a_raw_scan_of_the_store_finds_none_of_the_plaintext_values(t: TestStores) {
    let vault = vault(&t, MasterKey::generate()).await;
    let mut people = Vec::new();
    for tag in ["201", "202", "203"] {
        let values = sample(tag);
        let id = vault
            .create_person(&actor(), "asergo_scandinavia", &values)
            .await
            .expect("create");
        people.push((id, values));
    }
    let (first, _) = &people[0];
    vault
        .update(&actor(), *first, &[(Field::Phone, "+4930901820".into())])
        .await
        .expect("update");
    let mut needles: Vec<String> = vec!["+4930901820".into(), "4930901820".into()];
    for (_, values) in &people {
        for (field, value) in values {
            if *field != Field::BusinessSector && *field != Field::BirthDate {
                needles.push(value.expose().to_owned());
            }
        }
    }
    needles.push("ostergaard-hosting.dk".into());
    needles.push("Østergård".into());
    for needle in &needles {
        let places = t.raw_places_containing(needle.as_bytes()).await;
        assert!(places.is_empty(), "plaintext found in {places:?}");
    }
    // The scan itself works: what is stored in clear on purpose is found.
    let places = t.raw_places_containing(b"asergo_scandinavia").await;
    assert!(!places.is_empty(), "the raw scan must see stored bytes");
}

async fn shredding_one_persons_key_makes_exactly_that_person_unreadable(t: TestStores) {
    let vault = vault(&t, MasterKey::generate()).await;
    let erased = vault
        .create_person(&actor(), "asergo_europe", &sample("301"))
        .await
        .expect("a");
    let kept = vault
        .create_person(&actor(), "asergo_europe", &sample("302"))
        .await
        .expect("b");
    assert!(vault.shred(&actor(), erased).await.expect("shred"));
    let read = vault
        .read(&actor(), erased, Purpose::Requests, &[Field::Name])
        .await;
    assert!(matches!(read, Err(VaultError::Shredded)), "{read:?}");
    let other = vault
        .read(
            &actor(),
            kept,
            Purpose::Requests,
            &Field::ALL
                .iter()
                .copied()
                .filter(|f| !f.is_verifier())
                .collect::<Vec<_>>(),
        )
        .await
        .expect("other person intact");
    assert_eq!(
        other.get(Field::Email).map(Personal::expose),
        Some("soren.302@ostergaard-hosting.dk")
    );
    assert_eq!(other.len(), 10);
    vault.vault.compact_keystore().await.expect("compact");
    let read = vault
        .read(&actor(), erased, Purpose::Requests, &[Field::Name])
        .await;
    assert!(matches!(read, Err(VaultError::Shredded)), "{read:?}");
}

async fn a_ciphertext_swapped_between_two_people_or_two_fields_fails_to_decrypt(t: TestStores) {
    let vault = vault(&t, MasterKey::generate()).await;
    let a = vault
        .create_person(&actor(), "asergo_europe", &sample("401"))
        .await
        .expect("a");
    let b = vault
        .create_person(&actor(), "asergo_europe", &sample("402"))
        .await
        .expect("b");
    let a_fields = t.stores.persons.sealed_fields(a).await.expect("a fields");
    let email_of_a = a_fields
        .iter()
        .find(|f| f.field == Field::Email)
        .expect("email")
        .clone();
    let name_of_a = a_fields
        .iter()
        .find(|f| f.field == Field::Name)
        .expect("name")
        .clone();

    // Another person's ciphertext pasted into b's email.
    t.stores
        .persons
        .update_fields(b, std::slice::from_ref(&email_of_a), &[])
        .await
        .expect("tamper");
    let read = vault
        .read(&actor(), b, Purpose::Requests, &[Field::Email])
        .await;
    assert!(
        matches!(read, Err(VaultError::Tampered(Field::Email))),
        "{read:?}"
    );

    // a's name ciphertext pasted into a's company field.
    let moved = SealedField {
        field: Field::Company,
        ciphertext: name_of_a.ciphertext,
    };
    t.stores
        .persons
        .update_fields(a, &[moved], &[])
        .await
        .expect("tamper");
    let read = vault
        .read(&actor(), a, Purpose::Requests, &[Field::Company])
        .await;
    assert!(
        matches!(read, Err(VaultError::Tampered(Field::Company))),
        "{read:?}"
    );
    let intact = vault
        .read(&actor(), a, Purpose::Requests, &[Field::Email])
        .await
        .expect("untouched field");
    assert_eq!(
        intact.get(Field::Email).map(Personal::expose),
        Some("soren.401@ostergaard-hosting.dk")
    );
}

async fn data_written_before_a_master_key_rotation_still_reads_after_it(t: TestStores) {
    let old = MasterKey::generate();
    let new = MasterKey::generate();
    let person = {
        let vault = vault(&t, old.clone()).await;
        vault
            .create_person(&actor(), "asergo_europe", &sample("501"))
            .await
            .expect("create")
    };
    let sealed_before = t
        .stores
        .persons
        .sealed_fields(person)
        .await
        .expect("before");
    let rewrapped = Vault::rotate_master_key(&t.stores, &old, &new)
        .await
        .expect("rotate");
    assert_eq!(rewrapped, 1 + IndexKind::ALL.len() as u64);
    assert_eq!(
        t.stores.persons.sealed_fields(person).await.expect("after"),
        sealed_before,
        "data untouched"
    );

    let vault = vault(&t, new).await;
    let record = vault
        .read(&actor(), person, Purpose::Requests, &[Field::Email])
        .await
        .expect("reads");
    assert_eq!(
        record.get(Field::Email).map(Personal::expose),
        Some("soren.501@ostergaard-hosting.dk")
    );
    assert_eq!(
        vault
            .find(
                &actor(),
                IndexKind::Email,
                "SOREN.501@ostergaard-hosting.dk"
            )
            .await
            .expect("find"),
        Some(person)
    );

    let stale = open(&t, old.clone()).await;
    assert!(
        matches!(stale, Err(VaultError::WrongMasterKey { .. })),
        "old key must be refused"
    );
    let again = Vault::rotate_master_key(&t.stores, &old, &MasterKey::generate()).await;
    assert!(
        matches!(again, Err(VaultError::WrongMasterKey { .. })),
        "{again:?}"
    );
}

async fn a_vault_opened_with_another_master_key_is_refused_with_a_clear_message(t: TestStores) {
    let _first = vault(&t, MasterKey::generate()).await;
    let err = open(&t, MasterKey::generate())
        .await
        .expect_err("wrong key");
    assert!(
        err.to_string().contains("master key does not match"),
        "{err}"
    );
}

async fn people_are_found_by_email_and_user_id_and_a_taken_email_is_refused(t: TestStores) {
    let vault = vault(&t, MasterKey::generate()).await;
    let person = vault
        .create_person(&actor(), "asergo_europe", &sample("601"))
        .await
        .expect("create");
    assert_eq!(
        vault
            .find(&actor(), IndexKind::UserId, "k7q2-m9601")
            .await
            .expect("find"),
        Some(person)
    );
    assert_eq!(
        vault
            .find(&actor(), IndexKind::Email, "nobody@example.org")
            .await
            .expect("find"),
        None
    );
    let dup = vault
        .create_person(&actor(), "asergo_europe", &sample("601"))
        .await;
    assert!(matches!(dup, Err(VaultError::Taken("email"))), "{dup:?}");
    assert_eq!(
        t.stores
            .keys
            .key_counts()
            .await
            .expect("counts")
            .person_keys,
        1,
        "no orphan key"
    );
    assert_eq!(t.stores.persons.count_persons().await.expect("count"), 1);
}

async fn a_person_for_an_undeclared_entity_is_refused(t: TestStores) {
    let vault = vault(&t, MasterKey::generate()).await;
    let err = vault
        .create_person(&actor(), "acme_gmbh", &sample("701"))
        .await
        .expect_err("unknown entity");
    assert!(matches!(err, VaultError::UnknownEntity(_)), "{err:?}");
    assert_eq!(t.stores.persons.count_persons().await.expect("count"), 0);
}

async fn a_persons_own_read_is_made_and_audited_in_their_name_and_opens_nobody_else(t: TestStores) {
    let sink = Arc::new(RecordingSink::default());
    let v = open_with(&t, MasterKey::generate(), sink.clone())
        .await
        .expect("open");
    let person = v
        .create_person(&actor(), "asergo_europe", &sample("own"))
        .await
        .expect("create");
    let other = v
        .create_person(&actor(), "asergo_europe", &sample("oth"))
        .await
        .expect("create");
    let own = v.issuer.own(person, Purpose::Requests).expect("grant");
    let record = v
        .vault
        .read(&own, person, &[Field::Email])
        .await
        .expect("own read");
    let tag = v.subject_tag(person).await.expect("tag");
    assert_eq!(
        record.get(Field::Email).map(Personal::expose),
        Some("soren.own@ostergaard-hosting.dk")
    );
    let last = sink.events().pop().expect("audited");
    assert_eq!(
        (last.actor, last.subject),
        (Actor::Person(tag.clone()), Some(tag))
    );

    let elsewhere = v.vault.read(&own, other, &[Field::Email]).await;
    assert!(
        matches!(elsewhere, Err(VaultError::NotYours)),
        "{elsewhere:?}"
    );
}

async fn no_purpose_reads_a_password_hash_it_is_only_verified(t: TestStores) {
    let sink = Arc::new(RecordingSink::default());
    let v = open_with(&t, MasterKey::generate(), sink.clone())
        .await
        .expect("open");
    let mut values = sample("pwd");
    values.push((
        Field::PasswordHash,
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
    ));
    let person = v
        .create_person(&actor(), "asergo_europe", &values)
        .await
        .expect("create");
    for purpose in Purpose::ALL {
        let grant = match v.issuer.grant(actor(), *purpose) {
            Ok(grant) => grant,
            Err(_) => continue,
        };
        let read = v.vault.read(&grant, person, &[Field::PasswordHash]).await;
        assert!(
            matches!(read, Err(VaultError::Unreadable(Field::PasswordHash))),
            "{purpose}: {read:?}"
        );
        if let Ok(view) = v.vault.read_for_purpose(&grant, person).await {
            assert!(view.record.get(Field::PasswordHash).is_none(), "{purpose}");
        }
    }
    let grant = v.grant(&actor(), Purpose::Service);
    let verifier = v
        .vault
        .password_verifier(&grant, person)
        .await
        .expect("verifier")
        .expect("held");
    assert!(verifier.expose().starts_with("$argon2id$"));
    let last = sink.events().pop().expect("audited");
    assert_eq!(last.action, datavow_vault::Action::Verify);
}

async fn a_purpose_that_needs_consent_reads_only_people_who_opted_in(t: TestStores) {
    let v = vault(&t, MasterKey::generate()).await;
    let now = chrono::Utc::now();
    let mut opted_in = sample("in1");
    opted_in.push((
        Field::MarketingConsent,
        datavow_vault::consent::value(true, now, datavow_vault::consent::How::SignUp, "v1"),
    ));
    let mut opted_out = sample("out");
    opted_out.push((
        Field::MarketingConsent,
        datavow_vault::consent::value(false, now, datavow_vault::consent::How::Dashboard, "v1"),
    ));
    let silent = sample("sil");
    let marketing = v.grant(&actor(), Purpose::Marketing);
    for (values, allowed) in [(opted_in, true), (opted_out, false), (silent, false)] {
        let person = v
            .create_person(&actor(), "asergo_europe", &values)
            .await
            .expect("create");
        let read = v.vault.read(&marketing, person, &[Field::Email]).await;
        assert_eq!(read.is_ok(), allowed, "{read:?}");
        if !allowed {
            assert!(matches!(
                read,
                Err(VaultError::NoConsent(Purpose::Marketing))
            ));
        }
    }
}

async fn a_write_outside_the_grants_categories_is_refused_and_changes_nothing(t: TestStores) {
    let v = vault(&t, MasterKey::generate()).await;
    let person = v
        .create_person(&actor(), "asergo_europe", &sample("wrt"))
        .await
        .expect("create");
    // Billing may not touch the marketing interest or the password hash.
    let billing = v.grant(&actor(), Purpose::Billing);
    for field in [Field::Interest, Field::PasswordHash, Field::BirthDate] {
        let write = v
            .vault
            .update(&billing, person, &[(field, "changed".into())])
            .await;
        assert!(
            matches!(write, Err(VaultError::Refused(_))),
            "{field}: {write:?}"
        );
    }
    let create = v
        .vault
        .create(
            &billing,
            PersonKind::Account,
            "asergo_europe",
            &sample("wr2"),
        )
        .await;
    assert!(matches!(create, Err(VaultError::Refused(_))), "{create:?}");
    let record = v
        .read(&actor(), person, Purpose::Requests, &[Field::Interest])
        .await
        .expect("read");
    assert_eq!(
        record.get(Field::Interest).map(Personal::expose),
        Some("Colocation in Copenhagen wrt")
    );
    assert_eq!(t.stores.persons.count_persons().await.expect("count"), 1);
}

async fn the_visitor_hash_is_stable_within_a_day_and_differs_across_days_and_visitors(
    t: TestStores,
) {
    use datavow_vault::{address_bytes, AgentDigest};
    let v = vault(&t, MasterKey::generate()).await;
    let today = chrono::Utc::now().date_naive();
    let yesterday = today.pred_opt().expect("yesterday");
    let ip = address_bytes("192.0.2.7".parse().expect("ip"));
    let other_ip = address_bytes("192.0.2.8".parse().expect("ip"));
    let firefox = AgentDigest::of("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Firefox/121.0");
    let curl = AgentDigest::of("curl/8.4.0");

    let (a, b) = (
        v.day_keys(today).await.expect("keys"),
        v.day_keys(today).await.expect("keys"),
    );
    // Two runs on the same day (the salt is kept while the day is recent) agree.
    assert_eq!(a.visitor_hash(&ip, &firefox), b.visitor_hash(&ip, &firefox));
    assert_ne!(
        a.visitor_hash(&ip, &firefox),
        a.visitor_hash(&other_ip, &firefox)
    );
    assert_ne!(a.visitor_hash(&ip, &firefox), a.visitor_hash(&ip, &curl));
    let before = v.day_keys(yesterday).await.expect("keys");
    assert_ne!(
        a.visitor_hash(&ip, &firefox),
        before.visitor_hash(&ip, &firefox),
        "the same visitor must not be followed from one day to the next"
    );
}

backend_tests!(
    the_visitor_hash_is_stable_within_a_day_and_differs_across_days_and_visitors,
    a_persons_own_read_is_made_and_audited_in_their_name_and_opens_nobody_else,
    no_purpose_reads_a_password_hash_it_is_only_verified,
    a_purpose_that_needs_consent_reads_only_people_who_opted_in,
    a_write_outside_the_grants_categories_is_refused_and_changes_nothing,
    fields_read_back_with_an_allowed_purpose_and_are_refused_with_a_disallowed_one,
    a_raw_scan_of_the_store_finds_none_of_the_plaintext_values,
    shredding_one_persons_key_makes_exactly_that_person_unreadable,
    a_ciphertext_swapped_between_two_people_or_two_fields_fails_to_decrypt,
    data_written_before_a_master_key_rotation_still_reads_after_it,
    a_vault_opened_with_another_master_key_is_refused_with_a_clear_message,
    people_are_found_by_email_and_user_id_and_a_taken_email_is_refused,
    a_person_for_an_undeclared_entity_is_refused,
);
