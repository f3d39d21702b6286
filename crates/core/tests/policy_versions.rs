//! Policy versions (P16) on both backends: the version in force switches at its
//! instant, publishing rules, acknowledgements and the notice of a material change.

use chrono::{DateTime, Duration, Utc};
use datavow_core::accounts::{self, SignUpInput};
use datavow_core::policy_versions::{self, Publication, PublishError, PublishOutcome};
use datavow_core::{Datavow, Principal};
use datavow_store::backend_tests;
use datavow_store::testkit::TestStores;
use secrecy::SecretString;

const BUNDLED_VERSION: &str = "2018-05-18";

fn text(version: &str, at: DateTime<Utc>, material: bool, body: &str) -> Publication {
    Publication {
        version: version.into(),
        lang: "en".into(),
        effective_at: at,
        material,
        body: body.into(),
    }
}

async fn publish(app: &Datavow, p: Publication) -> Result<PublishOutcome, PublishError> {
    policy_versions::publish(app, &Principal::system("test"), p, Utc::now()).await
}

/// Signs up a person and signs them in; returns their session's person and userID.
async fn customer(app: &Datavow, email: &str) -> (accounts::SignedIn, String, SecretString) {
    let account = accounts::sign_up(
        app,
        &SignUpInput {
            name: Some("Zoë Test".into()),
            email: Some(email.into()),
            ..SignUpInput::default()
        },
    )
    .await
    .expect("sign up");
    let session = accounts::sign_in(app, &account.user_id, &account.password, "192.0.2.7")
        .await
        .expect("sign in");
    (session.person, account.user_id, account.password)
}

async fn the_version_in_force_switches_at_its_effective_instant(t: TestStores) {
    let app = datavow_core::testkit::open(&t).await;
    let now = Utc::now();
    let at = now + Duration::hours(3);
    publish(
        &app,
        text("2027-01", at, true, "# New\n\nWe changed things.\n"),
    )
    .await
    .expect("publish");
    let versions = policy_versions::versions(&app).await.expect("versions");
    let in_force = |instant| versions.in_force(instant).map(|v| v.version.clone());
    assert_eq!(in_force(now).as_deref(), Some(BUNDLED_VERSION));
    assert_eq!(
        in_force(at - Duration::microseconds(1)).as_deref(),
        Some(BUNDLED_VERSION)
    );
    assert_eq!(in_force(at).as_deref(), Some("2027-01"));
    assert_eq!(
        policy_versions::in_force(&app, now).await.expect("now"),
        BUNDLED_VERSION
    );
    // Another node (a second instance on the same store) sees the same switch.
    let other = datavow_core::testkit::open(&t).await;
    assert_eq!(
        policy_versions::in_force(&other, at)
            .await
            .expect("other node"),
        "2027-01"
    );
}

async fn published_texts_keep_their_order_and_are_never_rewritten(t: TestStores) {
    let app = datavow_core::testkit::open(&t).await;
    let later = Utc::now() + Duration::days(10);
    let yesterday = Utc::now() - Duration::days(1);
    assert!(matches!(
        publish(&app, text("old", yesterday, true, "x")).await,
        Err(PublishError::InThePast(_))
    ));
    publish(&app, text("2027-01", later, true, "# v2\n"))
        .await
        .expect("publish");
    assert_eq!(
        publish(&app, text("2027-01", later, true, "# v2\n"))
            .await
            .expect("same again"),
        PublishOutcome::AlreadyPublished
    );
    assert!(matches!(
        publish(&app, text("2027-01", later, true, "# rewritten\n")).await,
        Err(PublishError::Conflicts { .. })
    ));
    assert!(matches!(
        publish(
            &app,
            text("2026-12", later - Duration::days(1), true, "# between\n")
        )
        .await,
        Err(PublishError::NotAfter { .. })
    ));
    for (bad, lang) in [("no spaces", "en"), ("ok", "fr"), ("", "en")] {
        let mut p = text(bad, later + Duration::days(1), true, "# x\n");
        p.lang = lang.into();
        assert!(
            matches!(
                publish(&app, p).await,
                Err(PublishError::BadVersion | PublishError::BadLanguage)
            ),
            "{bad:?} {lang:?}"
        );
    }
    // A translation joins its version at the version's instant.
    let mut german = text(
        "2027-01",
        later + Duration::days(5),
        true,
        "# v2 auf Deutsch\n",
    );
    german.lang = "de".into();
    publish(&app, german).await.expect("German text");
    let versions = policy_versions::versions(&app).await.expect("versions");
    let v2 = versions.get("2027-01").expect("v2");
    assert_eq!(v2.effective_at.timestamp(), later.timestamp());
    assert_eq!(v2.langs, vec!["de".to_owned(), "en".to_owned()]);
    // A translation of the version in force, added later, joins it too.
    let mut danish = text(
        BUNDLED_VERSION,
        Utc::now() - Duration::days(400),
        false,
        "# Privatlivspolitik\n",
    );
    danish.lang = "da".into();
    publish(&app, danish)
        .await
        .expect("a Danish text of the version in force");
    let shown = policy_versions::text(&app, BUNDLED_VERSION, "da")
        .await
        .expect("read")
        .expect("Danish");
    assert_eq!(shown.body, "# Privatlivspolitik\n");
    let shown = policy_versions::text(&app, "2027-01", "da")
        .await
        .expect("read")
        .expect("falls back to English");
    assert_eq!((shown.lang.as_str(), shown.body.as_str()), ("en", "# v2\n"));
    // Publishing is audited, and the chain still verifies.
    let report = app.audit_log().verify().await.expect("verify");
    assert_eq!(report.broken, None);
    let published = app
        .stores()
        .audit
        .entries_after(0, 1000)
        .await
        .expect("entries")
        .into_iter()
        .filter(|e| {
            e.entry.action == "policy_changed"
                && e.entry
                    .detail
                    .as_deref()
                    .is_some_and(|d| d.starts_with("policy text 2027-01"))
        })
        .count();
    assert_eq!(published, 2, "each published text is audited once");
}

async fn sign_up_accepts_the_version_in_force_and_a_later_one_is_acknowledged_at_the_next_sign_in(
    t: TestStores,
) {
    let app = datavow_core::testkit::open(&t).await;
    let (me, user_id, password) = customer(&app, "zoe@example.de").await;
    let status = policy_versions::status(&app, &me, Utc::now())
        .await
        .expect("status");
    let acks: Vec<(String, String)> = status
        .acknowledgements
        .iter()
        .map(|a| (a.version.clone(), a.how.clone()))
        .collect();
    assert_eq!(
        acks,
        vec![(BUNDLED_VERSION.to_owned(), "accepted_at_sign_up".to_owned())]
    );
    assert_eq!(status.notice, None);

    // Today's date takes effect now.
    let today = Publication::start_of(Utc::now().date_naive());
    publish(&app, text("2026-rev", today, true, "# Revised\n"))
        .await
        .expect("publish");
    let before_sign_in = policy_versions::status(&app, &me, Utc::now())
        .await
        .expect("status");
    assert_eq!(
        before_sign_in.acknowledgements.len(),
        1,
        "not yet signed in again"
    );
    for _ in 0..2 {
        accounts::sign_in(&app, &user_id, &password, "192.0.2.7")
            .await
            .expect("sign in again");
    }
    let after = policy_versions::status(&app, &me, Utc::now())
        .await
        .expect("status");
    let acks: Vec<(String, String)> = after
        .acknowledgements
        .iter()
        .map(|a| (a.version.clone(), a.how.clone()))
        .collect();
    assert_eq!(
        acks,
        vec![
            (BUNDLED_VERSION.to_owned(), "accepted_at_sign_up".to_owned()),
            ("2026-rev".to_owned(), "continued_use".to_owned()),
        ],
        "acknowledged once, by continued use"
    );
    // A person who signs up under the new version accepts it.
    let (newcomer, _, _) = customer(&app, "newcomer@example.de").await;
    let status = policy_versions::status(&app, &newcomer, Utc::now())
        .await
        .expect("status");
    assert_eq!(status.acknowledgements[0].version, "2026-rev");
    assert_eq!(status.acknowledgements[0].how, "accepted_at_sign_up");
    assert_eq!(status.notice, None, "nothing changed since they signed up");
}

async fn a_material_change_shows_a_notice_until_dismissed_and_a_minor_one_shows_none(
    t: TestStores,
) {
    let app = datavow_core::testkit::open(&t).await;
    let (me, _, _) = customer(&app, "soren@example.dk").await;
    let at = Utc::now() + Duration::hours(1);
    publish(&app, text("2027-minor", at, false, "# Typo fixed\n"))
        .await
        .expect("minor");
    let later = at + Duration::hours(1);
    let status = policy_versions::status(&app, &me, later)
        .await
        .expect("status");
    assert_eq!(
        status.in_force.map(|v| v.version).as_deref(),
        Some("2027-minor")
    );
    assert_eq!(status.notice, None, "a minor change tells nobody");

    let material_at = at + Duration::hours(2);
    publish(
        &app,
        text("2027-material", material_at, true, "# We now share more\n"),
    )
    .await
    .expect("material");
    let before = policy_versions::status(&app, &me, material_at - Duration::seconds(1))
        .await
        .expect("status");
    assert_eq!(before.notice, None, "no notice before it takes effect");
    let after = material_at + Duration::minutes(1);
    let notice = policy_versions::status(&app, &me, after)
        .await
        .expect("status")
        .notice
        .expect("a notice once it is in force");
    assert_eq!(notice.version, "2027-material");
    assert_eq!(
        notice.since.as_deref(),
        Some(BUNDLED_VERSION),
        "the diff starts at what they accepted"
    );

    assert!(matches!(
        policy_versions::dismiss_notice(&app, &me, "no-such-version", after).await,
        Err(accounts::AccountError::NotFound)
    ));
    policy_versions::dismiss_notice(&app, &me, "2027-material", after)
        .await
        .expect("dismiss");
    let status = policy_versions::status(&app, &me, after)
        .await
        .expect("status");
    assert_eq!(status.notice, None, "dismissed");
    let export = accounts::export(&app, &me).await.expect("export");
    assert_eq!(
        export["policy"]["notice_dismissals"][0]["version"],
        "2027-material"
    );
}

/// Opens an instance over `t` with the bundled policy renamed to `version` (effective
/// 2019-01-01) and texts in `langs`, and publishes its texts as `serve` does.
async fn open_with_file_version(t: &TestStores, version: &str, langs: &[&str]) -> Datavow {
    let dir = t
        .scratch_dir()
        .join(format!("policy-{version}-{}", langs.join("-")));
    std::fs::create_dir_all(&dir).expect("dir");
    let mut toml = datavow_policy::BUNDLED_POLICY_TOML
        .replacen(
            "version = \"2018-05-18\"",
            &format!("version = \"{version}\""),
            1,
        )
        .replacen(
            "effective_date = \"2018-05-18\"",
            "effective_date = \"2019-01-01\"",
            1,
        )
        .replacen("en = \"asergo-privacy-policy.md\"\n", "", 1);
    let texts: String = langs
        .iter()
        .map(|l| format!("{l} = \"{l}.md\"\n"))
        .collect();
    toml = toml.replacen("[policy.texts]\n", &format!("[policy.texts]\n{texts}"), 1);
    for lang in langs {
        std::fs::write(
            dir.join(format!("{lang}.md")),
            format!("# Policy ({lang})\n"),
        )
        .expect("text");
    }
    std::fs::write(dir.join("policy.toml"), toml).expect("policy");
    let mut options = datavow_core::testkit::options(t, None);
    options.policy = std::sync::Arc::new(
        datavow_policy::Policy::load(&dir.join("policy.toml")).expect("policy"),
    );
    let app = Datavow::open(options).await.expect("open");
    app.publish_policy_file_texts().await.expect("publish");
    app
}

async fn a_later_version_from_the_policy_file_stays_material_across_restarts_and_translations(
    t: TestStores,
) {
    drop(datavow_core::testkit::open(&t).await);
    let app = open_with_file_version(&t, "2019-01", &["en"]).await;
    let versions = policy_versions::versions(&app).await.expect("versions");
    assert!(versions.get("2019-01").expect("published").material);
    drop(app);
    // A restart with a German text added to the file: the translation joins the version
    // as material, and the English text is found published alike.
    let app = open_with_file_version(&t, "2019-01", &["en", "de"]).await;
    for lang in ["en", "de"] {
        let text = policy_versions::text(&app, "2019-01", lang)
            .await
            .expect("read")
            .expect("published");
        assert_eq!(text.lang, lang);
        assert!(text.material, "{lang} published as material");
    }
}

backend_tests!(
    the_version_in_force_switches_at_its_effective_instant,
    published_texts_keep_their_order_and_are_never_rewritten,
    sign_up_accepts_the_version_in_force_and_a_later_one_is_acknowledged_at_the_next_sign_in,
    a_material_change_shows_a_notice_until_dismissed_and_a_minor_one_shows_none,
    a_later_version_from_the_policy_file_stays_material_across_restarts_and_translations,
);
