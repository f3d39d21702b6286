//! The operators' API over real loopback HTTP, on both backends: authentication, search
//! through blind indexes, the role × purpose × category matrix, erased persons and the
//! privacy officer's access log.

use datavow_core::operators;
use datavow_core::{Principal, VaultError};
use datavow_policy::{Category, Field, Purpose, Role};
use datavow_store::backend_tests;
use datavow_store::testkit::TestStores;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeMap;

mod common;

use common::start;

/// The stored password hash of [`full_person`]: never in any operator's answer.
const PASSWORD_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$aGFzaG9mYXBhc3N3b3Jk";

/// A person with a value in every category a person record holds, opted in to marketing.
fn full_person() -> Vec<(Field, &'static str)> {
    vec![
        (Field::Name, "Søren Ægidius Østergård"),
        (Field::Company, "Østergård Media ApS"),
        (Field::Email, "soren.admin@example.dk"),
        (Field::Phone, "+4531234567"),
        (
            Field::PostalAddress,
            r#"{"street":"Agern Allé 24","postal_code":"2970","city":"Hørsholm","country":"DK"}"#,
        ),
        (Field::BusinessSector, "media_and_publishing"),
        (Field::Interest, "Colocation"),
        (Field::BirthDate, "1981-04-17"),
        (Field::UserId, "K7Q2M9XP"),
        (Field::PasswordHash, PASSWORD_HASH),
        (Field::PaymentReference, "cus_Q2x9LmT7"),
        (Field::MarketingConsent, "opted_in@2026-01-02T03:04:05Z"),
    ]
}

/// The same person, who never opted in to marketing.
fn silent_person() -> Vec<(Field, &'static str)> {
    full_person()
        .into_iter()
        .map(|(f, v)| match f {
            Field::Email => (f, "silent.admin@example.dk"),
            Field::UserId => (f, "S1LENTXP"),
            Field::MarketingConsent => (f, "opted_out@2026-01-02T03:04:05Z"),
            _ => (f, v),
        })
        .collect()
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
    operators::disable(&server.app, &Principal::system("test"), "gone")
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
        .create_person("asergo_scandinavia", &full_person())
        .await;
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
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
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
        .create_person("asergo_europe", &full_person())
        .await;
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
                let allowed = policy.grant(*purpose, *category).is_ok() && !field.is_verifier();
                assert_eq!(
                    fields.contains_key(field.as_str()),
                    allowed,
                    "{role} × {purpose} × {category}: field {field}"
                );
                assert_eq!(
                    withheld.contains(&category.as_str()),
                    policy.grant(*purpose, *category).is_err(),
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
        .create_person("asergo_europe", &full_person())
        .await;
    for purpose in Purpose::ALL {
        let grant = server.app.grant(*purpose);
        for (field, _) in full_person() {
            let read = server.app.vault().read(&grant, person, &[field]).await;
            match policy.grant_field(*purpose, field) {
                _ if field.is_verifier() => assert!(
                    matches!(read, Err(VaultError::Unreadable(_))),
                    "{purpose} × {field}: {read:?}"
                ),
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
        .create_person("asergo_europe", &full_person())
        .await;
    server.app.destroy_account_key(person).await;
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
        .create_person("asergo_europe", &full_person())
        .await;
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

/// What the policy file says a role may do, read from its `[roles]` and `[purposes]`
/// tables directly (not from `datavow_core::access`, whose decisions are under test).
struct Expected<'a> {
    policy: &'a datavow_policy::Policy,
    role: Role,
}

impl Expected<'_> {
    fn view(&self, purpose: Purpose) -> bool {
        self.policy.role_purposes(self.role).any(|p| p == purpose)
    }
    fn search(&self, category: Category) -> bool {
        self.policy
            .role_purposes(self.role)
            .any(|p| self.policy.grant(p, category).is_ok())
    }
}

/// Posts the console's search-and-view form in a signed-in console session.
async fn page_view(
    console: &common::console::Console,
    email: &str,
    purpose: &str,
) -> (StatusCode, String) {
    let response = console
        .post("/admin/person", &[("email", email), ("purpose", purpose)])
        .await;
    (response.status(), response.text().await.expect("html"))
}

async fn every_role_at_every_operator_entry_point_gets_exactly_what_the_policy_allows(
    t: TestStores,
) {
    let server = start(&t).await;
    let policy = server.app.policy.clone();
    let person = server
        .app
        .create_person("asergo_europe", &full_person())
        .await;
    let email = "soren.admin@example.dk";
    let mut cells = 0;
    for role in Role::ALL {
        let name = format!("t-{}", role.as_str().replace('_', "-"));
        let token = server.token(&name, *role).await;
        let expected = Expected {
            policy: &policy,
            role: *role,
        };
        let allowed = |status: StatusCode| status != StatusCode::FORBIDDEN;

        // API: search by email and by userID.
        let (status, body) = server
            .search(&token, &json!({"email": email}).to_string())
            .await;
        assert_eq!(
            allowed(status),
            expected.search(Category::Contact),
            "{role} search email: {body}"
        );
        if !allowed(status) {
            assert!(!body.contains(&person.to_string()), "{body}");
        }
        let (status, body) = server.search(&token, r#"{"user_id":"K7Q2M9XP"}"#).await;
        assert_eq!(
            allowed(status),
            expected.search(Category::Credentials),
            "{role} search userID: {body}"
        );
        // API: view for each purpose.
        for purpose in Purpose::ALL {
            let (status, body) = server
                .get(
                    &token,
                    &format!("/api/v1/admin/persons/{person}?purpose={purpose}"),
                )
                .await;
            assert_eq!(
                allowed(status),
                expected.view(*purpose),
                "{role} view {purpose}: {body}"
            );
            cells += 1;
        }
        // API: the access log and the payment reference.
        let (status, body) = server
            .get(
                &token,
                &format!("/api/v1/admin/persons/{person}/access-log"),
            )
            .await;
        assert_eq!(
            allowed(status),
            *role == Role::PrivacyOfficer,
            "{role} access log: {body}"
        );
        let (status, body) = server
            .send(
                reqwest::Method::PUT,
                &format!("/api/v1/admin/persons/{person}/payment-reference"),
                Some(&token),
                Some(r#"{"payment_reference":"cus_Table12345"}"#),
            )
            .await;
        assert_eq!(
            allowed(status),
            expected.view(Purpose::Billing),
            "{role} payment: {body}"
        );
        // API: posting browser events.
        let (status, body) = server
            .post_json("/api/v1/events", Some(&token), &json!({"events": []}))
            .await;
        assert_eq!(
            allowed(status),
            *role == Role::Collector,
            "{role} events: {body}"
        );
        // Pages: the search-and-view form, for each purpose. A collector is a machine
        // account and gets no console session at all.
        if *role == Role::Collector {
            let password = server.operator_password(&format!("c-{name}"), *role).await;
            let response = server
                .console_password(&common::console::browser(), &format!("c-{name}"), &password)
                .await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{role} console");
            cells += Purpose::ALL.len();
        } else {
            let console = server.console(&format!("c-{name}"), *role).await;
            for purpose in Purpose::ALL {
                let (status, html) = page_view(&console, email, purpose.as_str()).await;
                let may = expected.view(*purpose) && expected.search(Category::Contact);
                assert_eq!(
                    status == StatusCode::OK,
                    may,
                    "{role} page {purpose}: {status}"
                );
                if !may {
                    assert!(
                        !html.contains("Østergård"),
                        "{role} page {purpose} leaked data"
                    );
                }
                cells += 1;
            }
        }
        cells += 5;
    }
    assert!(
        cells >= Role::ALL.len() * (2 * Purpose::ALL.len() + 5),
        "{cells}"
    );

    // Spelled out: a collector cannot even learn whether an email is a customer's.
    let collector = server.token("web-tier", Role::Collector).await;
    let (status, body) = server
        .search(&collector, &json!({"email": email}).to_string())
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("search_not_allowed_for_role"), "{body}");
}

async fn marketing_reads_nobody_who_did_not_opt_in(t: TestStores) {
    let server = start(&t).await;
    let marketing = server.token("mia", Role::Marketing).await;
    let opted_in = server
        .app
        .create_person("asergo_europe", &full_person())
        .await;
    let silent = server
        .app
        .create_person("asergo_europe", &silent_person())
        .await;
    let (status, body) = server
        .get(
            &marketing,
            &format!("/api/v1/admin/persons/{opted_in}?purpose=marketing"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["fields"]["email"], "soren.admin@example.dk");
    let (status, body) = server
        .get(
            &marketing,
            &format!("/api/v1/admin/persons/{silent}?purpose=marketing"),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "no_consent");
    assert!(!body.to_string().contains("silent.admin"), "{body}");
    let console = server.console("mia-console", Role::Marketing).await;
    let (status, html) = page_view(&console, "silent.admin@example.dk", "marketing").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!html.contains("Østergård"), "{html}");
}

async fn no_operator_answer_or_export_carries_a_password_hash(t: TestStores) {
    let server = start(&t).await;
    let policy = server.app.policy.clone();
    let person = server
        .app
        .create_person("asergo_europe", &full_person())
        .await;
    let mut answers = Vec::new();
    for role in Role::ALL {
        let name = format!("h-{}", role.as_str().replace('_', "-"));
        let token = server.token(&name, *role).await;
        let console = if *role == Role::Collector {
            None
        } else {
            Some(server.console(&format!("c-{name}"), *role).await)
        };
        for purpose in policy.role_purposes(*role) {
            let (status, body) = server
                .get(
                    &token,
                    &format!("/api/v1/admin/persons/{person}?purpose={purpose}"),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{role} {purpose}: {body}");
            answers.push(body.to_string());
            if let Some(console) = &console {
                answers.push(
                    page_view(console, "soren.admin@example.dk", purpose.as_str())
                        .await
                        .1,
                );
            }
        }
        let (_, body) = server
            .get(
                &token,
                &format!("/api/v1/admin/persons/{person}/access-log"),
            )
            .await;
        answers.push(body.to_string());
    }
    // A customer's own answers: sign up, then /me and the export.
    let (status, created) = server
        .post_json(
            "/api/v1/accounts",
            None,
            &json!({"name": "Hash Scan", "email": "hash.scan@example.dk",
                    "postal_address": {"street": "Agern Allé 24", "postal_code": "2970",
                                       "city": "Hørsholm", "country": "DK"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (_, session) = server
        .post_json(
            "/api/v1/session",
            None,
            &json!({"user_id": created["user_id"], "password": created["password"]}),
        )
        .await;
    let token = session["token"].as_str().expect("token").to_owned();
    for path in ["/api/v1/me", "/api/v1/me/export", "/api/v1/me/access-log"] {
        let (status, body) = server.get(&token, path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        answers.push(body.to_string());
    }
    assert!(answers.len() > 10);
    for answer in &answers {
        assert!(
            !answer.contains("$argon2") && !answer.contains(PASSWORD_HASH),
            "a password hash left Datavow: {answer}"
        );
        assert!(!answer.contains("\"password_hash\":\""), "{answer}");
    }
    // Values keep their shape: the postal address is an object, not a JSON string.
    let officer = server.token("shape", Role::PrivacyOfficer).await;
    let (_, body) = server
        .get(
            &officer,
            &format!("/api/v1/admin/persons/{person}?purpose=requests"),
        )
        .await;
    assert_eq!(
        body["fields"]["postal_address"]["city"], "Hørsholm",
        "{body}"
    );
}

backend_tests!(
    every_role_at_every_operator_entry_point_gets_exactly_what_the_policy_allows,
    marketing_reads_nobody_who_did_not_opt_in,
    no_operator_answer_or_export_carries_a_password_hash,
    requests_without_a_valid_operator_token_are_refused,
    an_operator_finds_a_person_by_email_or_user_id_and_bad_requests_echo_nothing,
    every_role_sees_exactly_the_categories_its_purposes_allow,
    every_forbidden_purpose_and_category_cell_is_refused_by_the_vault,
    an_erased_person_is_gone_for_operators,
    a_privacy_officer_sees_who_read_a_person_and_for_what,
    a_billing_operator_sets_a_processor_reference_and_never_a_card_number,
);

#[tokio::test]
async fn the_console_person_page_shows_only_what_the_purpose_allows_and_names_what_it_withholds() {
    let t = TestStores::sqlite().await;
    let server = start(&t).await;
    let token = server.token("api-bill", Role::Billing).await;
    server
        .app
        .create_person("asergo_europe", &full_person())
        .await;
    let response = server
        .client
        .get(server.url("/admin"))
        .basic_auth("api-bill", Some(&token))
        .send()
        .await
        .expect("page");
    assert!(
        response.url().path() == "/admin/signin",
        "an API token is not a console sign-in: {}",
        response.url()
    );
    let console = server.console("bill", Role::Billing).await;
    let (status, html) = page_view(&console, "soren.admin@example.dk", "billing").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("cus_Q2x9LmT7") && html.contains("Agern Allé 24, 2970, Hørsholm, DK"),
        "billing sees these, the address as one line: {html}"
    );
    assert!(
        !html.contains("Colocation") && !html.contains("1981-04-17"),
        "but not the interest or birth date"
    );
    assert!(
        html.contains("business_profile"),
        "withheld categories are named"
    );
    let (status, html) = page_view(&console, "soren.admin@example.dk", "marketing").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!html.contains("cus_Q2x9LmT7"));
}

async fn a_billing_operator_sets_a_processor_reference_and_never_a_card_number(t: TestStores) {
    let server = start(&t).await;
    let billing = server.token("bill", Role::Billing).await;
    let support = server.token("sam", Role::Support).await;
    let person = server
        .app
        .create_person("asergo_europe", &full_person())
        .await;
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

#[tokio::test]
async fn the_marketing_page_is_for_the_marketing_role_and_says_when_mail_is_not_set_up() {
    let t = TestStores::sqlite().await;
    let server = start(&t).await;
    let marketing = server.console("mia", Role::Marketing).await;
    let support = server.console("sam", Role::Support).await;
    assert_eq!(
        support.get("/admin/marketing").await.status(),
        StatusCode::FORBIDDEN
    );
    let response = marketing.get("/admin/marketing").await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("html");
    assert!(
        html.contains("name=\"body_de\"") && !html.contains("<script"),
        "{html}"
    );
    let response = marketing
        .post(
            "/admin/marketing",
            &[("subject", "Hello"), ("body_en", "News")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response
        .text()
        .await
        .expect("html")
        .contains("Mail is not configured"));
}
