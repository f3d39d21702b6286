//! The account API over real loopback HTTP, on both backends: sign-up validation with
//! a table of bad inputs, generated credentials, sign-in and its throttle, the person's
//! own data, corrections, export, erasure request, marketing, password change, and the
//! contact form.

mod common;

use common::{start, Server};
use datavow_store::backend_tests;
use datavow_store::testkit::TestStores;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn valid_signup() -> Value {
    json!({
        "name": "Zoë Müller-Łukasiewicz",
        "company": "Müller Webhosting GmbH",
        "email": "zoe.mueller@example.de",
        "phone": "030 901820",
        "postal_address": {"street": "Witzlebenstraße 6", "postal_code": "14057", "city": "Berlin", "country": "DE"},
        "business_sector": "hosting_and_cloud",
        "interest": "Dedicated servers in Frankfurt",
        "birth_date": "1984-02-29",
        "marketing_opt_in": true
    })
}

/// `valid_signup` with one change at a JSON pointer (`None` removes the key).
fn with(pointer: &str, value: Option<Value>) -> Value {
    let mut body = valid_signup();
    let (parent, key) = pointer.rsplit_once('/').expect("pointer");
    let target = body.pointer_mut(parent).expect("parent");
    match value {
        Some(v) => target[key] = v,
        None => {
            target.as_object_mut().expect("object").remove(key);
        }
    }
    body
}

async fn persons(server: &Server) -> u64 {
    server
        .app
        .stores()
        .persons
        .count_persons()
        .await
        .expect("count")
}

async fn sign_up(server: &Server, body: &Value) -> (StatusCode, Value) {
    server.post_json("/api/v1/accounts", None, body).await
}

async fn sign_in(server: &Server, user_id: &str, password: &str) -> (StatusCode, Value) {
    server
        .post_json(
            "/api/v1/session",
            None,
            &json!({"user_id": user_id, "password": password}),
        )
        .await
}

/// Signs up `body` and signs in; returns (user_id, password, token).
async fn account(server: &Server, body: &Value) -> (String, String, String) {
    let (status, created) = sign_up(server, body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let user_id = created["user_id"].as_str().expect("user_id").to_owned();
    let password = created["password"].as_str().expect("password").to_owned();
    let (status, session) = sign_in(server, &user_id, &password).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let token = session["token"].as_str().expect("token").to_owned();
    (user_id, password, token)
}

async fn sign_up_returns_generated_credentials_that_sign_in_and_show_the_data_as_written(
    t: TestStores,
) {
    let server = start(&t).await;
    let (status, created) = sign_up(&server, &valid_signup()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let user_id = created["user_id"].as_str().expect("user_id");
    let password = created["password"].as_str().expect("password");
    assert_eq!(user_id.len(), 9, "{user_id}");
    assert!(password.len() >= 24, "{password}");
    assert_eq!(created["entity"], "asergo_europe");
    let (status, session) = sign_in(&server, user_id, password).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let token = session["token"].as_str().expect("token");
    let (status, me) = server.get(token, "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["name"], "Zoë Müller-Łukasiewicz");
    assert_eq!(me["company"], "Müller Webhosting GmbH");
    assert_eq!(me["phone"], "+4930901820", "phone stored in E.164");
    assert_eq!(me["postal_address"]["city"], "Berlin");
    assert_eq!(me["user_id"], user_id);
    assert_eq!(me["marketing_opt_in"], true);
    assert_eq!(me["entity"]["name"], "ASERGO Europe GmbH");
    assert_eq!(me["policy_version_acknowledged"], "2018-05-18");
    assert!(me.get("password").is_none() && me.get("password_hash").is_none());
    let danish = json!({"name": "Søren Ægidius Østergård", "email": "soren@example.dk",
        "postal_address": {"street": "Agern Allé 24", "postal_code": "2970", "city": "Hørsholm", "country": "DK"}});
    let (status, created) = sign_up(&server, &danish).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["entity"], "asergo_scandinavia");
}

async fn every_bad_sign_up_is_refused_with_its_code_and_nothing_is_stored(t: TestStores) {
    let server = start(&t).await;
    let long = |n: usize| Value::String("x".repeat(n));
    let cases: Vec<(&str, Value, StatusCode, &str)> = vec![
        (
            "empty body",
            json!({}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            "empty name",
            with("/name", Some(json!(""))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            "blank name",
            with("/name", Some(json!("   "))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            "missing name",
            with("/name", None),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            "name too long",
            with("/name", Some(long(201))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            "name is a number",
            with("/name", Some(json!(42))),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            "name with a line break",
            with("/name", Some(json!("Zoë\nMüller"))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            "name with a control character",
            with("/name", Some(json!("Zoë\u{7}"))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            "company too long",
            with("/company", Some(long(201))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            "company is a list",
            with("/company", Some(json!(["a"]))),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            "missing email",
            with("/email", None),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            "email without @",
            with("/email", Some(json!("zoe.example.de"))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            "email without domain dot",
            with("/email", Some(json!("zoe@example"))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            "email with spaces",
            with("/email", Some(json!("zoe mueller@example.de"))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            "email too long",
            with(
                "/email",
                Some(json!(format!("{}@example.de", "a".repeat(250)))),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            "phone too short",
            with("/phone", Some(json!("12"))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            "phone letters",
            with("/phone", Some(json!("call me maybe"))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            "phone impossible",
            with("/phone", Some(json!("+49 0000"))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            "phone is a number",
            with("/phone", Some(json!(4930901820u64))),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            "address without city",
            with("/postal_address/city", Some(json!(""))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            "address missing street key",
            with("/postal_address/street", None),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            "address unknown country",
            with("/postal_address/country", Some(json!("XX"))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            "address country name",
            with("/postal_address/country", Some(json!("Germany"))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            "German postal code of 4 digits",
            with("/postal_address/postal_code", Some(json!("1405"))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            "address unknown field",
            with("/postal_address/floor", Some(json!("3"))),
            StatusCode::BAD_REQUEST,
            "unknown_field",
        ),
        (
            "unknown business sector",
            with("/business_sector", Some(json!("astrology"))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            "interest too long",
            with("/interest", Some(long(2001))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            "birth date in the future",
            with("/birth_date", Some(json!("2099-01-01"))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            "birth date not a date",
            with("/birth_date", Some(json!("29.02.1984"))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            "child under 16 in Germany",
            with("/birth_date", Some(json!("2012-06-01"))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "under_age_of_consent",
        ),
        (
            "unknown entity",
            with("/entity", Some(json!("acme_gmbh"))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            "unknown field",
            with("/favourite_colour", Some(json!("blue"))),
            StatusCode::BAD_REQUEST,
            "unknown_field",
        ),
        (
            "a look-alike email (Cyrillic a)",
            with("/email", Some(json!("p\u{0430}ypal@example.com"))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            "a bidi override in the name",
            with("/name", Some(json!("Zo\u{202E}e"))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            "a card number as a field name",
            with("/4111111111111111", Some(json!("x"))),
            StatusCode::BAD_REQUEST,
            "unknown_field",
        ),
        (
            "an email address as a field name",
            with("/anna@example.dk", Some(json!("x"))),
            StatusCode::BAD_REQUEST,
            "unknown_field",
        ),
        (
            "marketing as text",
            with("/marketing_opt_in", Some(json!("yes"))),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            "card in name, plain",
            with("/name", Some(json!("Zoë 4111111111111111"))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "card_number_refused",
        ),
        (
            "card in company, spaces",
            with("/company", Some(json!("GmbH 4111 1111 1111 1111"))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "card_number_refused",
        ),
        (
            "card in interest, dashes",
            with(
                "/interest",
                Some(json!("pay with 5555-5555-5555-4444 please")),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "card_number_refused",
        ),
        (
            "card in street",
            with("/postal_address/street", Some(json!("378282246310005"))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "card_number_refused",
        ),
    ];
    // The card-guard corpus: every separator, digit script and glue a hostile tester used.
    let written = [
        "4111.1111.1111.1111",
        "4111_1111_1111_1111",
        "4111/1111/1111/1111",
        "4111,1111,1111,1111",
        "4111\t1111\t1111\t1111",
        "4111\n1111\n1111\n1111",
        "4111\u{a0}1111\u{a0}1111\u{a0}1111",
        "4111\u{200b}1111\u{200b}1111\u{200b}1111",
        "\u{ff14}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}\u{ff11}",
        "\u{664}\u{661}\u{661}\u{661}\u{661}\u{661}\u{661}\u{661}\u{661}\u{661}\u{661}\u{661}\u{661}\u{661}\u{661}\u{661}",
        "card4111111111111111",
        "+4111111111111111",
    ];
    let fields = [
        "/name",
        "/company",
        "/interest",
        "/postal_address/street",
        "/phone",
    ];
    let corpus = written.iter().enumerate().map(|(i, card)| {
        let field = fields[i % fields.len()];
        (
            "card written to hide it",
            with(field, Some(json!(card))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "card_number_refused",
        )
    });
    let cases = cases.into_iter().chain(corpus);
    for (what, body, status, code) in cases {
        let (got, text) = server
            .send(
                Method::POST,
                "/api/v1/accounts",
                None,
                Some(&body.to_string()),
            )
            .await;
        assert_eq!(got, status, "{what}: {text}");
        let answer: Value =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{what}: not JSON: {text}"));
        assert_eq!(answer["error"]["code"], code, "{what}: {text}");
        for secret in [
            "4111",
            "5555-5555",
            "378282246310005",
            "Zoë",
            "zoe.example",
            "astrology",
            "blue",
            "anna@example",
        ] {
            assert!(
                !text.contains(secret),
                "{what}: the answer echoes {secret}: {text}"
            );
        }
        assert_eq!(persons(&server).await, 0, "{what}: nothing may be stored");
    }
    let (status, body) = server
        .send(
            Method::POST,
            "/api/v1/accounts",
            None,
            Some("{\"name\": \"Zo"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = server
        .client
        .post(server.url("/api/v1/accounts"))
        .body(valid_signup().to_string())
        .send()
        .await
        .map(|r| (r.status(), ()))
        .expect("request");
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body:?}");
    let (status, invalid) = sign_up(&server, &json!({"name": "", "email": "x"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = invalid["error"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|f| f["field"].as_str())
        .collect();
    assert_eq!(
        fields,
        vec!["name", "email"],
        "every refused field is listed"
    );
}

async fn a_danish_13_year_old_may_sign_up_but_a_german_one_may_not(t: TestStores) {
    let server = start(&t).await;
    let today = chrono::Utc::now().date_naive();
    let thirteen = today
        .with_year(today.year() - 13)
        .unwrap_or(today)
        .to_string();
    let mut danish = json!({"name": "Ida", "email": "ida@example.dk", "birth_date": thirteen,
        "postal_address": {"street": "Vesterbrogade 1", "postal_code": "1620", "city": "København", "country": "DK"}});
    let (status, body) = sign_up(&server, &danish).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    danish["email"] = json!("ida.de@example.de");
    danish["postal_address"] = json!({"street": "Unter den Linden 1", "postal_code": "10117", "city": "Berlin", "country": "DE"});
    let (status, body) = sign_up(&server, &danish).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "under_age_of_consent");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("16"));
    assert_eq!(persons(&server).await, 1);
}

async fn an_email_already_in_use_is_refused_whatever_its_case(t: TestStores) {
    let server = start(&t).await;
    account(&server, &valid_signup()).await;
    let (status, body) = sign_up(
        &server,
        &with("/email", Some(json!("ZOE.Mueller@Example.DE"))),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "email_taken");
    assert_eq!(persons(&server).await, 1);
}

async fn sign_in_answers_alike_for_unknown_users_and_wrong_passwords_and_slows_down_guessing(
    t: TestStores,
) {
    let server = start(&t).await;
    let (user_id, password, _) = account(&server, &valid_signup()).await;
    let (status_a, wrong) = sign_in(&server, &user_id, "not-the-password").await;
    let (status_b, unknown) = sign_in(&server, "ZZZZ-ZZZZ", "not-the-password").await;
    assert_eq!(
        (status_a, status_b),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
    assert_eq!(wrong, unknown, "the same answer for both");
    for _ in 0..4 {
        sign_in(&server, &user_id, "still-wrong").await;
    }
    let response = server
        .client
        .post(server.url("/api/v1/session"))
        .json(&json!({"user_id": user_id, "password": password}))
        .send()
        .await
        .expect("request");
    assert_eq!(
        response.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    assert!(response.headers().get("retry-after").is_some());
    let (status, _) = sign_in(&server, &user_id.to_lowercase(), &password).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the throttle keys on the normalised userID"
    );
}

async fn a_sign_up_repeated_with_its_idempotency_key_answers_the_same_credentials_once(
    t: TestStores,
) {
    let server = start(&t).await;
    let key = "7f1c9a52-3d4e-4b8a-9c61-0e2f5a7b8c9d";
    let post = |key: &'static str, body: Value| {
        let request = server
            .client
            .post(server.url("/api/v1/accounts"))
            .header("idempotency-key", key)
            .json(&body);
        async move {
            let response = request.send().await.expect("answer");
            let replayed = response.headers().contains_key("idempotent-replayed");
            let status = response.status();
            (
                status,
                replayed,
                response.json::<Value>().await.expect("json"),
            )
        }
    };
    let (status, replayed, first) = post(key, valid_signup()).await;
    assert_eq!((status, replayed), (StatusCode::CREATED, false), "{first}");
    let (status, replayed, again) = post(key, valid_signup()).await;
    assert_eq!((status, replayed), (StatusCode::CREATED, true), "{again}");
    assert_eq!(again, first, "the same credentials come back");
    assert_eq!(persons(&server).await, 1, "one account");

    let (status, _, other) = post(key, with("/name", Some(json!("Someone Else")))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{other}");
    assert_eq!(other["error"]["code"], "idempotency_key_reused");
    let (status, _, short) = post("short", with("/email", Some(json!("b@example.de")))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{short}");
    assert_eq!(short["error"]["code"], "invalid_idempotency_key");
    assert_eq!(persons(&server).await, 1, "nothing else stored");

    let user_id = first["user_id"].as_str().expect("user_id");
    let password = first["password"].as_str().expect("password");
    let (status, _) = sign_in(&server, user_id, password).await;
    assert_eq!(status, StatusCode::OK);
    for secret in [user_id.as_bytes(), password.as_bytes()] {
        assert_eq!(
            t.raw_places_containing(secret).await,
            Vec::<String>::new(),
            "the kept answer is sealed"
        );
    }

    // Racing repeats of one new sign-up: one account, every success the same answer.
    let key2 = "0b9e8d7c-6a5f-4e3d-8c2b-1a0f9e8d7c6b";
    let body = with("/email", Some(json!("race@example.de")));
    let mut racing = tokio::task::JoinSet::new();
    for _ in 0..5 {
        let request = server
            .client
            .post(server.url("/api/v1/accounts"))
            .header("idempotency-key", key2)
            .json(&body);
        racing.spawn(async move {
            let response = request.send().await.expect("answer");
            let status = response.status();
            (status, false, response.json::<Value>().await.expect("json"))
        });
    }
    let answers = racing.join_all().await;
    let created: Vec<&Value> = answers
        .iter()
        .filter(|(s, _, _)| *s == StatusCode::CREATED)
        .map(|(_, _, b)| b)
        .collect();
    assert!(!created.is_empty(), "{answers:?}");
    assert!(created.iter().all(|b| *b == created[0]), "{answers:?}");
    for (status, _, body) in &answers {
        assert!(
            *status == StatusCode::CREATED
                || body["error"]["code"] == "idempotency_key_in_progress",
            "{status}: {body}"
        );
    }
    assert_eq!(persons(&server).await, 2);
}

async fn a_stranger_who_knows_a_user_id_cannot_lock_its_owner_out(t: TestStores) {
    let server = common::start_behind_proxy(&t).await;
    let (user_id, password, _) = account(&server, &valid_signup()).await;
    let from = |client: &'static str, password: &str| {
        server
            .client
            .post(server.url("/api/v1/session"))
            .header("x-forwarded-for", client)
            .json(&json!({"user_id": user_id, "password": password}))
            .send()
    };
    for _ in 0..10 {
        from("198.51.100.66", "guess").await.expect("request");
    }
    let stranger = from("198.51.100.66", &password).await.expect("request");
    assert_eq!(
        stranger.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the guessing address waits"
    );
    let owner = from("203.0.113.10", &password).await.expect("request");
    assert_eq!(owner.status(), StatusCode::OK, "the owner signs in");
}

async fn a_session_works_by_cookie_and_ends_at_sign_out(t: TestStores) {
    let server = start(&t).await;
    let (user_id, password, _) = account(&server, &valid_signup()).await;
    let response = server
        .client
        .post(server.url("/api/v1/session"))
        .json(&json!({"user_id": user_id, "password": password}))
        .send()
        .await
        .expect("request");
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("cookie")
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().expect("pair").to_owned();
    let me = server
        .client
        .get(server.url("/api/v1/me"))
        .header("cookie", &pair)
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), StatusCode::OK);
    let out = server
        .client
        .delete(server.url("/api/v1/session"))
        .header("cookie", &pair)
        .send()
        .await
        .expect("out");
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let me = server
        .client
        .get(server.url("/api/v1/me"))
        .header("cookie", &pair)
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    let (status, body) = server.get("dvs_forged", "/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "not_signed_in");
}

async fn a_person_corrects_their_phone_and_the_old_value_is_kept_only_as_ciphertext(t: TestStores) {
    let server = start(&t).await;
    let (_, _, token) = account(&server, &valid_signup()).await;
    let (status, me) = server
        .send(
            Method::PATCH,
            "/api/v1/me",
            Some(&token),
            Some(&json!({"phone": "+49 89 1234567"}).to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    let (_, me) = server.get(&token, "/api/v1/me").await;
    assert_eq!(me["phone"], "+49891234567");
    let (status, body) = server
        .send(
            Method::PATCH,
            "/api/v1/me",
            Some(&token),
            Some(&json!({"interest": "card 4111 1111 1111 1111"}).to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.contains("card_number_refused") && !body.contains("4111"),
        "{body}"
    );
    let (status, _) = server
        .send(
            Method::PATCH,
            "/api/v1/me",
            Some(&token),
            Some(&json!({"user_id": "AAAA-AAAA"}).to_string()),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the userID cannot be changed"
    );
    let (_, me) = server.get(&token, "/api/v1/me").await;
    assert_eq!(me["interest"], "Dedicated servers in Frankfurt");
    for needle in [
        "4930901820",
        "49891234567",
        "Zoë Müller",
        "zoe.mueller@example.de",
    ] {
        let places = t.raw_places_containing(needle.as_bytes()).await;
        assert!(places.is_empty(), "{needle} found in {places:?}");
    }
    let (_, log) = server.get(&token, "/api/v1/me/access-log").await;
    let actions: Vec<&str> = log
        .as_array()
        .expect("log")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"update") && actions.contains(&"sign_in"),
        "{actions:?}"
    );
}

async fn the_export_holds_everything_about_the_person(t: TestStores) {
    let server = start(&t).await;
    let (user_id, _, token) = account(&server, &valid_signup()).await;
    let response = server
        .client
        .get(server.url("/api/v1/me/export"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("export");
    assert_eq!(response.status(), StatusCode::OK);
    let disposition = response
        .headers()
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(disposition.contains("attachment"), "{disposition}");
    let export: Value = response.json().await.expect("json");
    assert_eq!(export["account"]["user_id"], user_id);
    assert_eq!(export["account"]["email"], "zoe.mueller@example.de");
    assert_eq!(export["account"]["birth_date"], "1984-02-29");
    assert_eq!(export["controller"]["name"], "ASERGO Europe GmbH");
    assert_eq!(
        export["policy"]["acknowledgements"][0]["how"],
        "accepted_at_sign_up"
    );
    assert_eq!(export["marketing"]["opted_in"], true);
    assert!(export["access_log"].as_array().expect("log").len() >= 2);
    assert!(
        !export.to_string().contains("$argon2id$"),
        "the password hash is not exported"
    );
}

async fn marketing_can_be_turned_off_at_once(t: TestStores) {
    let server = start(&t).await;
    let (_, _, token) = account(&server, &valid_signup()).await;
    let (status, _) = server
        .post_json(
            "/api/v1/me/marketing",
            Some(&token),
            &json!({"opt_in": false}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, me) = server.get(&token, "/api/v1/me").await;
    assert_eq!(me["marketing_opt_in"], false);
    assert!(me["marketing_changed_at"].is_string());
}

async fn a_password_change_needs_the_current_password_and_refuses_weak_ones(t: TestStores) {
    let server = start(&t).await;
    let (user_id, password, token) = account(&server, &valid_signup()).await;
    let change =
        |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    let (status, body) = server
        .post_json(
            "/api/v1/me/password",
            Some(&token),
            &change("wrong-current", "violet tractor sings at dawn"),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, body) = server
        .post_json(
            "/api/v1/me/password",
            Some(&token),
            &change(&password, "short"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["fields"][0]["code"], "too_short");
    let (status, body) = server
        .post_json(
            "/api/v1/me/password",
            Some(&token),
            &change(&password, "1qaz2wsx3edc"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["fields"][0]["code"], "common_password");
    let (status, body) = server
        .post_json(
            "/api/v1/me/password",
            Some(&token),
            &change(&password, "violet tractor sings at dawn"),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, _) = server.get(&token, "/api/v1/me").await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "sessions end after a password change"
    );
    let (status, _) = sign_in(&server, &user_id, &password).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = sign_in(&server, &user_id, "violet tractor sings at dawn").await;
    assert_eq!(status, StatusCode::OK);
}

async fn a_contact_form_enquiry_is_stored_as_a_lead_and_card_numbers_are_refused(t: TestStores) {
    let server = start(&t).await;
    let enquiry = json!({"name": "Jens Hansen", "email": "jens@example.dk", "message": "Do you have racks in Copenhagen?"});
    let (status, body) = server.post_json("/api/v1/contact", None, &enquiry).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(persons(&server).await, 1);
    let mut with_card = enquiry.clone();
    with_card["message"] = json!("Charge 4111-1111-1111-1111 for the racks");
    let (status, text) = server
        .send(
            Method::POST,
            "/api/v1/contact",
            None,
            Some(&with_card.to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        text.contains("card_number_refused") && !text.contains("4111"),
        "{text}"
    );
    let (status, _) = server
        .post_json("/api/v1/contact", None, &json!({"name": "Jens"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(persons(&server).await, 1);
    assert!(t
        .raw_places_containing(b"racks in Copenhagen")
        .await
        .is_empty());
}

backend_tests!(
    sign_up_returns_generated_credentials_that_sign_in_and_show_the_data_as_written,
    every_bad_sign_up_is_refused_with_its_code_and_nothing_is_stored,
    a_danish_13_year_old_may_sign_up_but_a_german_one_may_not,
    an_email_already_in_use_is_refused_whatever_its_case,
    sign_in_answers_alike_for_unknown_users_and_wrong_passwords_and_slows_down_guessing,
    a_stranger_who_knows_a_user_id_cannot_lock_its_owner_out,
    a_sign_up_repeated_with_its_idempotency_key_answers_the_same_credentials_once,
    a_session_works_by_cookie_and_ends_at_sign_out,
    a_person_corrects_their_phone_and_the_old_value_is_kept_only_as_ciphertext,
    the_export_holds_everything_about_the_person,
    marketing_can_be_turned_off_at_once,
    a_password_change_needs_the_current_password_and_refuses_weak_ones,
    a_contact_form_enquiry_is_stored_as_a_lead_and_card_numbers_are_refused,
);

use chrono::Datelike;
