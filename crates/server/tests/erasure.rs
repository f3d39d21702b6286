//! Erasure (P9, P13, P14) over real HTTP, on both backends: the person is gone for
//! every door at once, the email is free again, nothing at rest holds their values,
//! no remaining key opens their ciphertexts, and records the law keeps stay readable
//! only for the legal obligation until their period ends.

use chrono::{TimeZone, Utc};
use datavow_policy::Role;
use datavow_store::backend_tests;
use datavow_store::testkit::TestStores;
use reqwest::StatusCode;
use serde_json::{json, Value};

mod common;

use common::{start, Server};

const NAME: &str = "Henrike Østergaard-Løvgren";
const EMAIL: &str = "henrike.erasure@example.de";
const PHONE: &str = "+4930901821";

fn signup(email: &str, country: &str) -> Value {
    let (postal_code, city) = if country == "DK" {
        ("2970", "Hørsholm")
    } else {
        ("14057", "Berlin")
    };
    json!({
        "name": NAME,
        "company": "Løvgren Rechenzentrum GmbH",
        "email": email,
        "phone": PHONE,
        "postal_address": {"street": "Witzlebenstraße 7", "postal_code": postal_code, "city": city, "country": country},
        "business_sector": "hosting_and_cloud",
        "interest": "Erasure drills",
        "marketing_opt_in": true
    })
}

/// Signs up and signs in; returns (user_id, password, token).
async fn account(server: &Server, body: &Value) -> (String, String, String) {
    let (status, created) = server.post_json("/api/v1/accounts", None, body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let user_id = created["user_id"].as_str().expect("user_id").to_owned();
    let password = created["password"].as_str().expect("password").to_owned();
    let (status, token) = sign_in(server, &user_id, &password).await;
    assert_eq!(status, StatusCode::OK);
    (user_id, password, token.expect("token"))
}

async fn sign_in(server: &Server, user_id: &str, password: &str) -> (StatusCode, Option<String>) {
    let (status, session) = server
        .post_json(
            "/api/v1/session",
            None,
            &json!({"user_id": user_id, "password": password}),
        )
        .await;
    (status, session["token"].as_str().map(str::to_owned))
}

async fn person_id(server: &Server, token: &str, email: &str) -> Option<uuid::Uuid> {
    let (status, body) = server
        .search(token, &json!({"email": email}).to_string())
        .await;
    (status == StatusCode::OK).then(|| {
        let body: Value = serde_json::from_str(&body).expect("json");
        body["person_id"]
            .as_str()
            .expect("id")
            .parse()
            .expect("uuid")
    })
}

async fn an_erased_person_is_gone_for_every_door_and_the_email_signs_up_again(t: TestStores) {
    let server = start(&t).await;
    let support = server.token("sam", Role::Support).await;
    let collector = server.token("web", Role::Collector).await;
    let (user_id, password, token) = account(&server, &signup(EMAIL, "DE")).await;
    let second_session = sign_in(&server, &user_id, &password)
        .await
        .1
        .expect("second session");
    let person = person_id(&server, &support, EMAIL).await.expect("found");
    // A signed-in visit, linked to the person.
    let (status, _) = server
        .post_json(
            "/api/v1/events",
            Some(&collector),
            &json!({"events": [{"ip": "198.51.100.23", "time": Utc::now().to_rfc3339(),
                    "path": "/dashboard", "status": 200, "user_agent": "curl/8.4.0", "user_id": user_id}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, export) = server.get(&token, "/api/v1/me/export").await;
    assert_eq!(
        export["browser_data"].as_array().map(Vec::len),
        Some(1),
        "{export}"
    );
    // What an attacker would keep from before: the ciphertexts and the wrapped key.
    let old_fields = server
        .app
        .stores()
        .persons
        .sealed_fields(person)
        .await
        .expect("fields");
    let old_key = server
        .app
        .stores()
        .keys
        .person_key(person)
        .await
        .expect("key")
        .expect("held");

    let (status, receipt) = server
        .post_json("/api/v1/me/erasure", Some(&token), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{receipt}");
    assert_eq!(receipt["status"], "completed");
    let erased: Vec<&str> = receipt["erased"]
        .as_array()
        .expect("erased")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for category in [
        "identity",
        "contact",
        "postal_address",
        "credentials",
        "marketing_consent",
    ] {
        assert!(erased.contains(&category), "{category} in {erased:?}");
    }
    assert_eq!(receipt["kept"], json!([]), "no invoices were held");
    assert!(!receipt.to_string().contains(EMAIL));

    // Every door is shut.
    for session in [&token, &second_session] {
        let (status, _) = server.get(session, "/api/v1/me").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "every session ends");
    }
    assert_eq!(
        sign_in(&server, &user_id, &password).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        person_id(&server, &support, EMAIL).await,
        None,
        "no search finds the old person"
    );
    let (status, again) = server
        .post_json("/api/v1/me/erasure", Some(&token), &json!({}))
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "no second request: {again}"
    );
    assert_eq!(
        server.app.linked_records(person).await.expect("linked"),
        vec![],
        "browser records unlinked"
    );

    // Nothing at rest holds the person's values or their key.
    for needle in [
        NAME.as_bytes(),
        EMAIL.as_bytes(),
        PHONE.as_bytes(),
        user_id.as_bytes(),
        &old_key,
    ] {
        let places = t.raw_places_containing(needle).await;
        assert!(
            places.is_empty(),
            "{:?} found in {places:?}",
            String::from_utf8_lossy(needle)
        );
    }

    // The same email signs up again, as somebody new.
    let (new_user, _, new_token) = account(&server, &signup(EMAIL, "DE")).await;
    assert_ne!(new_user, user_id);
    let newcomer = person_id(&server, &support, EMAIL)
        .await
        .expect("the new account");
    assert_ne!(newcomer, person);
    let (_, log) = server.get(&new_token, "/api/v1/me/access-log").await;
    let actions: Vec<&str> = log
        .as_array()
        .expect("log")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        !actions.contains(&"request_filed") && !actions.contains(&"shred"),
        "old entries tie to the new account: {actions:?}"
    );
    let (_, export) = server.get(&new_token, "/api/v1/me/export").await;
    assert_eq!(
        export["browser_data"],
        json!([]),
        "the old visits are not the newcomer's"
    );

    // No key that remains opens the old ciphertexts.
    let hex = std::fs::read_to_string(t.scratch_dir().join("data/master.key")).expect("master");
    let bytes: Vec<u8> = (0..64)
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex.trim()[i..i + 2], 16).expect("hex"))
        .collect();
    let master = datavow_vault::SymmetricKey::from_bytes(&bytes).expect("master key");
    let mut keys = Vec::new();
    if let Some(wrapped) = server
        .app
        .stores()
        .keys
        .person_key(newcomer)
        .await
        .expect("key")
    {
        keys.push(
            master
                .unwrap_key(datavow_store::KeyOwner::Person(newcomer), &wrapped)
                .expect("unwrap"),
        );
    }
    for name in ["index:email", "index:user_id", "audit:signing"] {
        if let Some(wrapped) = server.app.stores().keys.named_key(name).await.expect("key") {
            keys.push(
                master
                    .unwrap_key(datavow_store::KeyOwner::Named(name), &wrapped)
                    .expect("unwrap"),
            );
        }
    }
    assert!(keys.len() >= 3);
    for sealed in &old_fields {
        for key in &keys {
            assert!(key
                .open_field(person, sealed.field, &sealed.ciphertext)
                .is_err());
        }
    }
    let report = server.app.audit_log().verify().await.expect("verify");
    assert_eq!(report.broken, None);
}

async fn a_kept_invoice_is_readable_only_for_the_legal_obligation_and_goes_when_its_period_ends(
    t: TestStores,
) {
    let server = start(&t).await;
    let billing = server.token("bill", Role::Billing).await;
    let officer = server.token("olga", Role::PrivacyOfficer).await;
    let support = server.token("sam", Role::Support).await;
    let mut people = Vec::new();
    for (email, country, document) in [
        (
            "de.invoice@example.de",
            "DE",
            "INV-2026-0042 Colocation rack 12, 1.200,00 EUR",
        ),
        (
            "dk.invoice@example.dk",
            "DK",
            "INV-2026-0043 Colocation rack 14, 9.000,00 DKK",
        ),
    ] {
        let (_, _, token) = account(&server, &signup(email, country)).await;
        let person = person_id(&server, &support, email).await.expect("found");
        let (status, body) = server
            .post_json(
                &format!("/api/v1/admin/persons/{person}/invoices"),
                Some(&billing),
                &json!({"issued_on": "2026-03-01", "document": document}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        people.push((person, token, document, country));
    }
    let invoices = |person: uuid::Uuid, token: &str, purpose: &str| {
        let path = format!("/api/v1/admin/persons/{person}/invoices?purpose={purpose}");
        let token = token.to_owned();
        let server = &server;
        async move { server.get(&token, &path).await }
    };
    for (person, token, document, country) in &people {
        let (status, held) = invoices(*person, &billing, "billing").await;
        assert_eq!(status, StatusCode::OK, "{held}");
        assert_eq!(held[0]["document"], *document);

        let (status, receipt) = server
            .post_json("/api/v1/me/erasure", Some(token), &json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{receipt}");
        let kept = &receipt["kept"][0];
        let (ground, until) = match *country {
            "DE" => ("AO § 147", "2035-01-01T00:00:00Z"),
            _ => ("Bookkeeping Act", "2032-01-01T00:00:00Z"),
        };
        assert!(
            kept["legal_ground"]
                .as_str()
                .expect("ground")
                .contains(ground),
            "{receipt}"
        );
        assert_eq!(kept["until"], until, "{receipt}");
        assert_eq!(kept["categories"], json!(["billing_records"]));
        assert_eq!(kept["readable_for"], "legal_obligation");

        let (status, body) = invoices(*person, &billing, "billing").await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "billing may not read it any more: {body}"
        );
        assert_eq!(body["error"]["code"], "restricted_to_legal_obligation");
        let (status, held) = invoices(*person, &officer, "legal_obligation").await;
        assert_eq!(status, StatusCode::OK, "{held}");
        assert_eq!(held[0]["document"], *document);
    }
    // The end of the Danish period (5 years) destroys the Danish invoice only.
    let at = |y| {
        Utc.with_ymd_and_hms(y, 1, 2, 0, 0, 0)
            .single()
            .expect("time")
    };
    let ended = datavow_core::erasure::end_expired_classes(&server.app, at(2032))
        .await
        .expect("retention");
    assert_eq!(ended, 1);
    let (de, dk) = (&people[0], &people[1]);
    assert_eq!(
        invoices(dk.0, &officer, "legal_obligation").await.1,
        json!([])
    );
    assert!(t.raw_places_containing(dk.2.as_bytes()).await.is_empty());
    assert_eq!(
        invoices(de.0, &officer, "legal_obligation").await.1[0]["document"],
        de.2
    );
    assert_eq!(
        datavow_core::erasure::end_expired_classes(&server.app, at(2035))
            .await
            .expect("retention"),
        1
    );
    assert_eq!(
        invoices(de.0, &officer, "legal_obligation").await.1,
        json!([])
    );
    let report = server.app.audit_log().verify().await.expect("verify");
    assert_eq!(report.broken, None);
}

async fn a_repeated_erasure_changes_nothing_and_answers_the_same(t: TestStores) {
    let server = start(&t).await;
    let support = server.token("sam", Role::Support).await;
    account(&server, &signup("twice@example.de", "DE")).await;
    let person = person_id(&server, &support, "twice@example.de")
        .await
        .expect("found");
    let by = datavow_core::Principal::system("test");
    let reason = datavow_core::erasure::Reason::AccountClosed;
    let first = datavow_core::erasure::erase(&server.app, person, reason, &by)
        .await
        .expect("erase");
    let second = datavow_core::erasure::erase(&server.app, person, reason, &by)
        .await
        .expect("again");
    assert!(first.performed_now && !second.performed_now);
    assert_eq!(first.erased_at, second.erased_at);
    assert_eq!(first.erased, second.erased);
    let tombstones = server
        .app
        .vault()
        .tombstones_of(person)
        .await
        .expect("ledger");
    assert_eq!(tombstones.len(), 1, "{tombstones:?}");
    assert_eq!(
        (tombstones[0].class.as_str(), tombstones[0].reason.as_str()),
        ("account", "account_closed")
    );
    let nobody = datavow_core::erasure::erase(&server.app, uuid::Uuid::new_v4(), reason, &by).await;
    assert!(matches!(
        nobody,
        Err(datavow_core::erasure::ErasureError::NoSuchPerson)
    ));
}

async fn a_child_flag_erases_at_once_and_keeps_nothing_not_even_invoices(t: TestStores) {
    let server = start(&t).await;
    let support = server.token("sam", Role::Support).await;
    let billing = server.token("bill", Role::Billing).await;
    let officer = server.token("olga", Role::PrivacyOfficer).await;
    let (user_id, password, _) = account(&server, &signup("child@example.de", "DE")).await;
    let person = person_id(&server, &support, "child@example.de")
        .await
        .expect("found");
    let (status, invoice) = server
        .post_json(
            &format!("/api/v1/admin/persons/{person}/invoices"),
            Some(&billing),
            &json!({"issued_on": "2026-03-01", "document": "INV-CHILD-1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // The invoice names its issuer with its address and privacy contact (P17).
    assert_eq!(invoice["issuer"]["name"], "ASERGO Europe GmbH");
    assert_eq!(invoice["issuer"]["privacy_contact"], "privacy@asergo.com");
    let (status, receipt) = server
        .post_json(
            &format!("/api/v1/admin/persons/{person}/child"),
            Some(&support),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{receipt}");
    assert_eq!(
        receipt["kept"],
        json!([]),
        "a child's data is not restricted, it is deleted"
    );
    assert!(
        receipt["erased"]
            .as_array()
            .expect("erased")
            .iter()
            .any(|c| c == "billing_records"),
        "{receipt}"
    );
    assert_eq!(
        sign_in(&server, &user_id, &password).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (_, held) = server
        .get(
            &officer,
            &format!("/api/v1/admin/persons/{person}/invoices?purpose=legal_obligation"),
        )
        .await;
    assert_eq!(held, json!([]));
    assert!(t.raw_places_containing(b"INV-CHILD-1").await.is_empty());
    let tombstones = server
        .app
        .vault()
        .tombstones_of(person)
        .await
        .expect("ledger");
    assert!(
        tombstones.iter().all(|t| t.reason == "child") && tombstones.len() == 2,
        "{tombstones:?}"
    );
}

async fn an_erased_address_signs_up_again_with_marketing_off_until_the_person_opts_in(
    t: TestStores,
) {
    let server = start(&t).await;
    let email = "suppressed@example.de";
    let (_, _, token) = account(&server, &signup(email, "DE")).await;
    let (_, me) = server.get(&token, "/api/v1/me").await;
    assert_eq!(me["marketing_opt_in"], true, "{me}");
    assert_eq!(me["marketing_changed_how"], "sign_up");
    assert_eq!(me["marketing_policy_version"], server.app.policy.version);
    let (status, _) = server
        .post_json("/api/v1/me/erasure", Some(&token), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);

    // The new sign-up ticks the box; the address was erased, so marketing stays off.
    let (_, _, token) = account(&server, &signup(email, "DE")).await;
    let (_, me) = server.get(&token, "/api/v1/me").await;
    assert_eq!(me["marketing_opt_in"], false, "{me}");
    assert_eq!(me["marketing_changed_how"], "suppression_list");
    assert!(
        t.raw_places_containing(email.as_bytes()).await.is_empty(),
        "the list holds no address"
    );
    // Opting in again is the person's own choice, and takes the address off the list.
    let (status, _) = server
        .post_json(
            "/api/v1/me/marketing",
            Some(&token),
            &json!({"opt_in": true}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, me) = server.get(&token, "/api/v1/me").await;
    assert_eq!(
        (
            me["marketing_opt_in"].clone(),
            me["marketing_changed_how"].clone()
        ),
        (json!(true), json!("dashboard"))
    );
    // An opt-out puts it back on: the next sign-up with it would start out again.
    let (status, _) = server
        .post_json(
            "/api/v1/me/marketing",
            Some(&token),
            &json!({"opt_in": false}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let digest = server
        .app
        .vault()
        .suppression_digest(email)
        .await
        .expect("digest");
    assert!(server
        .app
        .stores()
        .accounts
        .is_suppressed(&digest)
        .await
        .expect("list"));
    let marketing = server.token("mia", Role::Marketing).await;
    let support = server.token("sam", Role::Support).await;
    let person = person_id(&server, &support, email).await.expect("found");
    let (status, body) = server
        .get(
            &marketing,
            &format!("/api/v1/admin/persons/{person}?purpose=marketing"),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

backend_tests!(
    an_erased_address_signs_up_again_with_marketing_off_until_the_person_opts_in,
    a_child_flag_erases_at_once_and_keeps_nothing_not_even_invoices,
    an_erased_person_is_gone_for_every_door_and_the_email_signs_up_again,
    a_kept_invoice_is_readable_only_for_the_legal_obligation_and_goes_when_its_period_ends,
    a_repeated_erasure_changes_nothing_and_answers_the_same,
);

#[tokio::test]
async fn another_site_cannot_erase_an_account_with_its_visitor_s_cookie() {
    let t = TestStores::sqlite().await;
    let server = start(&t).await;
    let (user_id, password, token) = account(&server, &signup("csrf@example.de", "DE")).await;
    let host = server.base.trim_start_matches("http://").to_owned();
    let post = |origin: Option<&str>| {
        let mut request = server
            .client
            .post(server.url("/api/v1/me/erasure"))
            .header("cookie", format!("dv_session={token}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("confirm=yes");
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send()
    };
    for origin in [Some("https://evil.example"), Some("null"), None] {
        let response = post(origin).await.expect("post");
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{origin:?}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"]["code"], "cross_site_request");
    }
    assert_eq!(
        sign_in(&server, &user_id, &password).await.0,
        StatusCode::OK,
        "nothing erased"
    );
    let response = post(Some(&format!("http://{host}"))).await.expect("post");
    assert_eq!(response.status(), StatusCode::OK, "from this site it works");
}
