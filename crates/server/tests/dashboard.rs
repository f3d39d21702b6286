//! The HTML dashboard over real HTTP: language negotiation, the switcher, CSRF on form
//! posts, no JavaScript needed, card numbers never sent back into a form.

mod common;

use common::csrf_cookie;

use datavow_store::testkit::TestStores;
use reqwest::header::{ACCEPT_LANGUAGE, COOKIE, SET_COOKIE};
use reqwest::StatusCode;

#[tokio::test]
async fn pages_follow_accept_language_and_the_switcher_and_need_no_javascript() {
    let t = TestStores::sqlite().await;
    let server = common::start(&t).await;
    for (header, lang, heading) in [
        ("da-DK,da;q=0.9,en;q=0.5", "da", "Opret en konto"),
        ("de-AT;q=0.8, fr;q=0.9", "de", "Konto anlegen"),
        ("fr-FR, *;q=0.1", "en", "Create an account"),
    ] {
        let html = server
            .client
            .get(server.url("/signup"))
            .header(ACCEPT_LANGUAGE, header)
            .send()
            .await
            .expect("page")
            .text()
            .await
            .expect("html");
        assert!(
            html.contains(&format!("<html lang=\"{lang}\">")),
            "{header}"
        );
        assert!(html.contains(heading), "{header}: {heading}");
        assert!(!html.contains("<script"), "no JavaScript");
    }
    let response = server
        .client
        .get(server.url("/signin?lang=da"))
        .header(ACCEPT_LANGUAGE, "de")
        .send()
        .await
        .expect("page");
    let remembered = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .any(|v| v.to_str().unwrap_or("").starts_with("dv_lang=da"));
    assert!(remembered, "the switcher's choice is remembered");
    assert!(response.text().await.expect("html").contains("Log ind"));
}

#[tokio::test]
async fn a_form_post_without_the_csrf_token_is_refused_and_stores_nothing() {
    let t = TestStores::sqlite().await;
    let server = common::start(&t).await;
    let form = [
        ("name", "Zoë Müller"),
        ("email", "zoe@example.de"),
        ("_csrf", "forged-token-forged-token-forged!"),
    ];
    let response = server
        .client
        .post(server.url("/signup"))
        .header(COOKIE, "dv_csrf=another-token-another-token-anot")
        .form(&form)
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        server
            .app
            .stores()
            .persons
            .count_persons()
            .await
            .expect("count"),
        0
    );
}

#[tokio::test]
async fn a_card_number_typed_into_the_sign_up_form_is_refused_and_not_sent_back() {
    let t = TestStores::sqlite().await;
    let server = common::start(&t).await;
    let page = server
        .client
        .get(server.url("/signup?lang=en"))
        .send()
        .await
        .expect("page");
    let csrf = csrf_cookie(&page);
    let form = [
        ("_csrf", csrf.as_str()),
        ("name", "Zoë Müller"),
        ("email", "zoe@example.de"),
        ("interest", "please bill 4111 1111 1111 1111"),
    ];
    let response = server
        .client
        .post(server.url("/signup"))
        .header(COOKIE, format!("dv_csrf={csrf}; dv_lang=en"))
        .form(&form)
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.expect("html");
    assert!(
        html.contains("We never store payment card numbers"),
        "{html}"
    );
    assert!(!html.contains("4111"), "the number is not sent back");
    assert!(
        html.contains("Zoë Müller"),
        "the other fields are kept for correction"
    );
    assert_eq!(
        server
            .app
            .stores()
            .persons
            .count_persons()
            .await
            .expect("count"),
        0
    );
}

#[tokio::test]
async fn the_erasure_form_erases_at_once_and_tells_in_german_what_is_kept() {
    let t = TestStores::sqlite().await;
    let server = common::start(&t).await;
    let (status, created) = server
        .post_json(
            "/api/v1/accounts",
            None,
            &serde_json::json!({"name": "Greta Löschmann", "email": "greta.form@example.de",
                "postal_address": {"street": "Witzlebenstraße 6", "postal_code": "14057", "city": "Berlin", "country": "DE"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (_, session) = server
        .post_json(
            "/api/v1/session",
            None,
            &serde_json::json!({"user_id": created["user_id"], "password": created["password"]}),
        )
        .await;
    let token = session["token"].as_str().expect("token").to_owned();
    let page = server
        .client
        .get(server.url("/dashboard?lang=de"))
        .header(COOKIE, format!("dv_session={token}"))
        .send()
        .await
        .expect("dashboard");
    let csrf = csrf_cookie(&page);
    let cookies = format!("dv_session={token}; dv_csrf={csrf}; dv_lang=de");
    // Without the confirmation box nothing happens.
    let html = server
        .client
        .post(server.url("/dashboard/erasure"))
        .header(COOKIE, &cookies)
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .expect("post")
        .text()
        .await
        .expect("html");
    assert!(html.contains("Greta"), "still there without confirmation");
    let response = server
        .client
        .post(server.url("/dashboard/erasure"))
        .header(COOKIE, &cookies)
        .form(&[("_csrf", csrf.as_str()), ("confirm", "yes")])
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::OK);
    let cleared = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .any(|v| v.to_str().unwrap_or("").starts_with("dv_session=;"));
    assert!(cleared, "the session cookie is cleared");
    let html = response.text().await.expect("html");
    assert!(html.contains("Ihr Konto ist gelöscht"), "{html}");
    assert!(
        html.contains("Wir bewahren nichts weiter über Sie auf."),
        "{html}"
    );
    assert!(
        !html.contains("Greta") && !html.contains("greta.form"),
        "{html}"
    );
    let (status, _) = server.get(&token, "/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_sign_out_from_another_site_changes_nothing_and_a_real_one_ends_the_session() {
    let t = TestStores::sqlite().await;
    let server = common::start(&t).await;
    let signup = serde_json::json!({
        "name": "Søren Østergård", "company": "Østergård Media ApS", "email": "soren@example.dk",
        "phone": "+45 31 23 45 67",
        "postal_address": {"street": "Agern Allé 24", "postal_code": "2970", "city": "Hørsholm", "country": "DK"},
        "business_sector": "media_and_publishing", "interest": "Colocation"
    });
    let (_, token) = server.sign_up_and_in(&signup).await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let sign_out = |csrf: Option<&str>| {
        let cookies = match csrf {
            Some(c) => format!("dv_session={token}; dv_csrf={c}"),
            None => format!("dv_session={token}"),
        };
        no_redirects
            .post(server.url("/signout"))
            .header(COOKIE, cookies)
            .form(&[("_csrf", csrf.unwrap_or(""))])
            .send()
    };
    // As a cross-site form would post it: the session cookie, no token.
    let forged = sign_out(None).await.expect("post");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let clears_cookie = forged
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .any(|v| v.to_str().unwrap_or("").starts_with("dv_session="));
    assert!(!clears_cookie, "a forged sign-out leaves the cookie alone");
    let (status, _) = server.get(&token, "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK, "the session still works");

    let csrf = "a-token-a-token-a-token-a-token!";
    let real = sign_out(Some(csrf)).await.expect("post");
    assert_eq!(real.status(), StatusCode::SEE_OTHER);
    let (status, _) = server.get(&token, "/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the session has ended");
}
