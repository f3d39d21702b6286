//! The operators' API over real loopback HTTP, on both backends: authentication, search
//! through blind indexes, the role × purpose × category matrix, erased persons and the
//! privacy officer's access log.

use datavow_core::operators;
use datavow_policy::{Category, Field, Purpose, Role};
use datavow_store::backend_tests;
use datavow_store::testkit::TestStores;
use datavow_vault::{Actor, Personal, VaultError};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeMap;

mod common;

use common::start;

/// A person with a value in every category a person record holds.
fn full_person() -> Vec<(Field, Personal)> {
    vec![
        (Field::Name, "Søren Ægidius Østergård".into()),
        (Field::Company, "Østergård Media ApS".into()),
        (Field::Email, "soren.admin@example.dk".into()),
        (Field::Phone, "+4531234567".into()),
        (
            Field::PostalAddress,
            "Agern Allé 24, 2970 Hørsholm, DK".into(),
        ),
        (Field::BusinessSector, "media_and_publishing".into()),
        (Field::Interest, "Colocation".into()),
        (Field::BirthDate, "1981-04-17".into()),
        (Field::UserId, "K7Q2M9XP".into()),
        (Field::PaymentReference, "cus_Q2x9LmT7".into()),
        (Field::MarketingConsent, "opted_in".into()),
    ]
}

async fn requests_without_a_valid_operator_token_are_refused(t: TestStores) {
    let server = start(&t).await;
    let response = server
        .client
        .post(format!("{}/api/v1/admin/persons/search", server.base))
        .json(&json!({"email": "x@example.org"}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let (status, body) = server
        .get(
            "dvo_not-a-token",
            "/api/v1/admin/persons/00000000-0000-0000-0000-000000000000?purpose=billing",
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthorized");
    let token = server.token("gone", Role::Support).await;
    operators::disable(&server.app, &Actor::System("test".into()), "gone")
        .await
        .expect("disable");
    let (status, _) = server.search(&token, r#"{"email":"x@example.org"}"#).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a disabled operator's token stops working"
    );
}

async fn an_operator_finds_a_person_by_email_or_user_id_and_bad_requests_echo_nothing(
    t: TestStores,
) {
    let server = start(&t).await;
    let token = server.token("sam", Role::Support).await;
    let person = server
        .app
        .vault
        .create_person(&Actor::Visitor, "asergo_scandinavia", &full_person())
        .await
        .expect("create");
    let (status, body) = server
        .search(&token, r#"{"email":"  SOREN.ADMIN@example.dk "}"#)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("json")["person_id"],
        person.to_string()
    );
    let (status, body) = server.search(&token, r#"{"user_id":"k7q2-m9xp"}"#).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = server
        .search(&token, r#"{"email":"nobody@example.org"}"#)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = server
        .search(&token, r#"{"email":"a@b.c","user_id":"X"}"#)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = server
        .search(&token, r#"{"email":"a@b.c","phone":"+4531234567"}"#)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body.contains("unknown_field") && !body.contains("+4531234567"),
        "{body}"
    );
    let (status, body) = server
        .search(&token, r#"{"email": ["secret.person@example.dk"]}"#)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(!body.contains("secret.person"), "{body}");
    let (status, body) = server.search(&token, "{not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

async fn every_role_sees_exactly_the_categories_its_purposes_allow(t: TestStores) {
    let server = start(&t).await;
    let policy = server.app.policy.clone();
    let person = server
        .app
        .vault
        .create_person(&Actor::Visitor, "asergo_europe", &full_person())
        .await
        .expect("create");
    let held: BTreeMap<Field, Category> = full_person()
        .iter()
        .map(|(f, _)| (*f, policy.category_of(*f)))
        .collect();
    let mut cells = 0;
    for role in Role::ALL {
        let token = server
            .token(&format!("op-{}", role.as_str().replace('_', "-")), *role)
            .await;
        for purpose in Purpose::ALL {
            let (status, body) = server
                .get(
                    &token,
                    &format!("/api/v1/admin/persons/{person}?purpose={purpose}"),
                )
                .await;
            if !policy.role_allows(*role, *purpose) {
                assert_eq!(status, StatusCode::FORBIDDEN, "{role} × {purpose}: {body}");
                assert_eq!(body["error"]["code"], "purpose_not_allowed_for_role");
                assert!(body.get("fields").is_none());
                cells += 1;
                continue;
            }
            assert_eq!(status, StatusCode::OK, "{role} × {purpose}: {body}");
            let fields = body["fields"].as_object().expect("fields");
            let withheld: Vec<&str> = body["withheld_categories"]
                .as_array()
                .expect("withheld")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            for (field, category) in &held {
                let allowed = policy.grant(*purpose, *category).is_ok();
                assert_eq!(
                    fields.contains_key(field.as_str()),
                    allowed,
                    "{role} × {purpose} × {category}: field {field}"
                );
                assert_eq!(
                    withheld.contains(&category.as_str()),
                    !allowed,
                    "{purpose} × {category}"
                );
                cells += 1;
            }
            assert_eq!(body["entity"]["name"], "ASERGO Europe GmbH");
        }
    }
    assert!(cells > 100, "the matrix covered {cells} cells");
}

async fn every_forbidden_purpose_and_category_cell_is_refused_by_the_vault(t: TestStores) {
    let server = start(&t).await;
    let policy = server.app.policy.clone();
    let person = server
        .app
        .vault
        .create_person(&Actor::Visitor, "asergo_europe", &full_person())
        .await
        .expect("create");
    let actor = Actor::System("matrix".into());
    for purpose in Purpose::ALL {
        for (field, _) in full_person() {
            let read = server
                .app
                .vault
                .read(&actor, person, *purpose, &[field])
                .await;
            match policy.grant_field(*purpose, field) {
                Ok(_) => assert!(
                    read.expect("allowed read").get(field).is_some(),
                    "{purpose} × {field}"
                ),
                Err(_) => assert!(
                    matches!(read, Err(VaultError::Refused(_))),
                    "{purpose} × {field}: {read:?}"
                ),
            }
        }
    }
}

async fn an_erased_person_is_gone_for_operators(t: TestStores) {
    let server = start(&t).await;
    let token = server.token("bill", Role::Billing).await;
    let person = server
        .app
        .vault
        .create_person(&Actor::Visitor, "asergo_europe", &full_person())
        .await
        .expect("create");
    server
        .app
        .vault
        .shred(&Actor::System("test".into()), person)
        .await
        .expect("shred");
    let (status, body) = server
        .get(
            &token,
            &format!("/api/v1/admin/persons/{person}?purpose=billing"),
        )
        .await;
    assert_eq!(status, StatusCode::GONE, "{body}");
    assert_eq!(body["error"]["code"], "erased");
    let (status, _) = server
        .get(&token, "/api/v1/admin/persons/not-a-uuid?purpose=billing")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = server
        .get(
            &token,
            &format!("/api/v1/admin/persons/{person}?purpose=bribery"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

async fn a_privacy_officer_sees_who_read_a_person_and_for_what(t: TestStores) {
    let server = start(&t).await;
    let billing = server.token("bill", Role::Billing).await;
    let officer = server.token("olga", Role::PrivacyOfficer).await;
    let person = server
        .app
        .vault
        .create_person(&Actor::Visitor, "asergo_europe", &full_person())
        .await
        .expect("create");
    let (status, _) = server
        .get(
            &billing,
            &format!("/api/v1/admin/persons/{person}?purpose=billing"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = server
        .get(
            &billing,
            &format!("/api/v1/admin/persons/{person}/access-log"),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = server
        .get(
            &officer,
            &format!("/api/v1/admin/persons/{person}/access-log"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let entries = body.as_array().expect("entries");
    let read = entries
        .iter()
        .find(|e| e["action"] == "read" && e["actor"] == "operator:bill(billing)")
        .expect("the billing read is logged");
    assert_eq!(read["purpose"], "billing");
    assert!(read["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .any(|f| f == "payment_reference"));
    assert!(
        !body.to_string().contains("Østergård"),
        "no personal data in the log"
    );
}

backend_tests!(
    requests_without_a_valid_operator_token_are_refused,
    an_operator_finds_a_person_by_email_or_user_id_and_bad_requests_echo_nothing,
    every_role_sees_exactly_the_categories_its_purposes_allow,
    every_forbidden_purpose_and_category_cell_is_refused_by_the_vault,
    an_erased_person_is_gone_for_operators,
    a_privacy_officer_sees_who_read_a_person_and_for_what,
    a_billing_operator_sets_a_processor_reference_and_never_a_card_number,
);

#[tokio::test]
async fn the_operator_pages_ask_for_credentials_and_show_only_what_the_purpose_allows() {
    let t = TestStores::sqlite().await;
    let server = start(&t).await;
    let token = server.token("bill", Role::Billing).await;
    server
        .app
        .vault
        .create_person(&Actor::Visitor, "asergo_europe", &full_person())
        .await
        .expect("create");
    let response = server
        .client
        .get(server.url("/admin"))
        .send()
        .await
        .expect("page");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().get("www-authenticate").is_some());
    let response = server
        .client
        .get(server.url("/admin"))
        .basic_auth("mallory", Some(&token))
        .send()
        .await
        .expect("page");
    assert_eq!(
        response.status(),
        StatusCode::UNAUTHORIZED,
        "the token must be the named operator's"
    );
    let response = server
        .client
        .get(server.url("/admin"))
        .basic_auth("bill", Some(&token))
        .send()
        .await
        .expect("page");
    assert_eq!(response.status(), StatusCode::OK);
    let csrf = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("dv_admin_csrf="))
        .and_then(|v| v.split(';').next())
        .expect("csrf cookie")
        .to_owned();
    let value = csrf.trim_start_matches("dv_admin_csrf=").to_owned();
    let view = |purpose: &'static str| {
        server
            .client
            .post(server.url("/admin/person"))
            .basic_auth("bill", Some(&token))
            .header("cookie", &csrf)
            .form(&[
                ("_csrf", value.as_str()),
                ("email", "soren.admin@example.dk"),
                ("purpose", purpose),
            ])
            .send()
    };
    let response = view("billing").await.expect("view");
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("html");
    assert!(
        html.contains("cus_Q2x9LmT7") && html.contains("Agern Allé 24"),
        "billing sees these"
    );
    assert!(
        !html.contains("Colocation") && !html.contains("1981-04-17"),
        "but not the interest or birth date"
    );
    assert!(
        html.contains("business_profile"),
        "withheld categories are named"
    );
    let response = view("marketing").await.expect("view");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(!response
        .text()
        .await
        .expect("html")
        .contains("cus_Q2x9LmT7"));
}

async fn a_billing_operator_sets_a_processor_reference_and_never_a_card_number(t: TestStores) {
    let server = start(&t).await;
    let billing = server.token("bill", Role::Billing).await;
    let support = server.token("sam", Role::Support).await;
    let person = server
        .app
        .vault
        .create_person(&Actor::Visitor, "asergo_europe", &full_person())
        .await
        .expect("create");
    let path = format!("/api/v1/admin/persons/{person}/payment-reference");
    let put = |token: &str, reference: &str| {
        let body = json!({"payment_reference": reference}).to_string();
        let token = token.to_owned();
        let path = path.clone();
        let server = &server;
        async move {
            server
                .send(reqwest::Method::PUT, &path, Some(&token), Some(&body))
                .await
        }
    };
    let (status, body) = put(&billing, "cus_NewRef12345").await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, view) = server
        .get(
            &billing,
            &format!("/api/v1/admin/persons/{person}?purpose=billing"),
        )
        .await;
    assert_eq!(view["fields"]["payment_reference"], "cus_NewRef12345");
    let (status, body) = put(&billing, "4111 1111 1111 1111").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.contains("card_number_refused") && !body.contains("4111"),
        "{body}"
    );
    let (status, body) = put(&billing, "not a reference").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = put(&support, "cus_Sneaky12345").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, view) = server
        .get(
            &billing,
            &format!("/api/v1/admin/persons/{person}?purpose=billing"),
        )
        .await;
    assert_eq!(
        view["fields"]["payment_reference"], "cus_NewRef12345",
        "refused changes change nothing"
    );
    assert!(t
        .raw_places_containing(b"4111111111111111")
        .await
        .is_empty());
}
