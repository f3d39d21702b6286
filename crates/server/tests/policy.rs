//! Policy versions over real HTTP (P16, P17): the public versions API, a person's
//! acknowledgements and notice, the dashboard's notice and its dismissal form, and the
//! controlling entity with its privacy contact on every page.

mod common;

use common::csrf_cookie;

use chrono::Utc;
use datavow_core::policy_versions::{self, Publication};
use datavow_core::Principal;
use datavow_store::backend_tests;
use datavow_store::testkit::TestStores;
use reqwest::header::COOKIE;
use reqwest::StatusCode;
use serde_json::json;

fn publication(version: &str, material: bool) -> Publication {
    Publication {
        version: version.into(),
        lang: "en".into(),
        effective_at: Publication::start_of(Utc::now().date_naive()),
        material,
        body: format!("# Privacy Policy {version}\n\nWe changed section 2.\n"),
    }
}

async fn publish(server: &common::Server, version: &str, material: bool) {
    policy_versions::publish(
        &server.app,
        &Principal::system("test"),
        publication(version, material),
        Utc::now(),
    )
    .await
    .expect("publish");
}

const DE_SIGNUP: &str = r#"{"name": "Greta Neu", "email": "greta.policy@example.de",
    "postal_address": {"street": "Witzlebenstraße 6", "postal_code": "14057", "city": "Berlin", "country": "DE"}}"#;

async fn the_policy_api_lists_versions_and_a_persons_notice_until_dismissed(t: TestStores) {
    let server = common::start(&t).await;
    let signup: serde_json::Value = serde_json::from_str(DE_SIGNUP).expect("json");
    let (_, token) = server.sign_up_and_in(&signup).await;
    let (status, listed) = server.get("", "/api/v1/policy").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["in_force"], "2018-05-18");
    publish(&server, "2026-rev", true).await;
    let (_, listed) = server.get("", "/api/v1/policy").await;
    assert_eq!(listed["in_force"], "2026-rev");
    assert_eq!(listed["versions"].as_array().map(Vec::len), Some(2));
    let (status, text) = server.get("", "/api/v1/policy/2026-rev?lang=de").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        text["lang"], "en",
        "no German text: English is served, and says so"
    );
    assert!(text["body"]
        .as_str()
        .is_some_and(|b| b.contains("section 2")));
    let (status, missing) = server.get("", "/api/v1/policy/1999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(missing["error"]["code"], "not_found");

    let (status, mine) = server.get(&token, "/api/v1/me/policy").await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine["notice"]["version"], "2026-rev");
    assert_eq!(mine["notice"]["since"], "2018-05-18");
    assert_eq!(mine["acknowledgements"][0]["how"], "accepted_at_sign_up");

    let (status, err) = server
        .post_json(
            "/api/v1/me/policy/dismissals",
            Some(&token),
            &json!({"version": "nope"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{err}");
    let (status, _) = server
        .post_json(
            "/api/v1/me/policy/dismissals",
            Some(&token),
            &json!({"version": "2026-rev"}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, mine) = server.get(&token, "/api/v1/me/policy").await;
    assert_eq!(mine["notice"], serde_json::Value::Null);
    let (status, _) = server.get("", "/api/v1/me/policy").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

backend_tests!(the_policy_api_lists_versions_and_a_persons_notice_until_dismissed);

#[tokio::test]
async fn the_dashboard_shows_a_material_change_until_the_person_dismisses_it() {
    let t = TestStores::sqlite().await;
    let server = common::start(&t).await;
    let signup: serde_json::Value = serde_json::from_str(DE_SIGNUP).expect("json");
    let (_, token) = server.sign_up_and_in(&signup).await;
    let dashboard = |lang: &'static str| {
        server
            .client
            .get(server.url(&format!("/dashboard?lang={lang}")))
            .header(COOKIE, format!("dv_session={token}"))
            .send()
    };
    let html = dashboard("en")
        .await
        .expect("get")
        .text()
        .await
        .expect("html");
    assert!(!html.contains("policy-notice"), "nothing changed yet");
    assert!(html.contains("ASERGO Europe GmbH") && html.contains("mailto:privacy@asergo.com"));

    publish(&server, "2026-minor", false).await;
    let html = dashboard("en")
        .await
        .expect("get")
        .text()
        .await
        .expect("html");
    assert!(
        !html.contains("policy-notice"),
        "a minor change shows no notice"
    );

    let later = Publication {
        effective_at: Utc::now(),
        ..publication("2026-material", true)
    };
    policy_versions::publish(&server.app, &Principal::system("test"), later, Utc::now())
        .await
        .expect("material");
    let page = dashboard("de").await.expect("get");
    let csrf = csrf_cookie(&page);
    let html = page.text().await.expect("html");
    assert!(html.contains("id=\"policy-notice\""), "{html}");
    assert!(
        html.contains("Version 2026-material gilt seit"),
        "in German"
    );
    assert!(html.contains("/privacy/diff?from=2018-05-18&amp;to=2026-material"));

    let dismissed = server
        .client
        .post(server.url("/dashboard/policy-notice"))
        .header(COOKIE, format!("dv_session={token}; dv_csrf={csrf}"))
        .form(&[("_csrf", csrf.as_str()), ("version", "2026-material")])
        .send()
        .await
        .expect("post");
    assert_eq!(dismissed.status(), StatusCode::OK);
    assert!(!dismissed
        .text()
        .await
        .expect("html")
        .contains("id=\"policy-notice\""));
    let html = dashboard("en")
        .await
        .expect("get")
        .text()
        .await
        .expect("html");
    assert!(!html.contains("policy-notice"), "dismissed for good");
}

#[tokio::test]
async fn the_privacy_page_lists_every_version_and_compares_two() {
    let t = TestStores::sqlite().await;
    let server = common::start(&t).await;
    let page = |path: &str| {
        let url = server.url(path);
        let client = server.client.clone();
        async move {
            let response = client.get(url).send().await.expect("get");
            (response.status(), response.text().await.expect("html"))
        }
    };
    let (status, html) = page("/privacy?lang=da").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("<h1>Privacy Policy</h1>"),
        "the Markdown text is rendered"
    );
    assert!(
        html.contains("vises på English"),
        "the Danish reader is told it is in English"
    );
    assert!(
        html.contains("ASERGO Scandinavia ApS"),
        "every entity in the footer"
    );
    publish(&server, "2026-rev", true).await;
    let (_, html) = page("/privacy").await;
    assert!(html.contains("Privacy Policy 2026-rev"));
    assert!(html.contains("href=\"/privacy?version=2018-05-18\""));
    let (status, old) = page("/privacy?version=2018-05-18").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        old.contains("replaced on"),
        "an old version says when it was replaced"
    );
    let (status, diff) = page("/privacy/diff").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the default compares the version in force with the one before"
    );
    assert!(diff.contains("<ins>+ We changed section 2.</ins>"));
    assert!(diff.contains("<del>− Our Privacy Policy") || diff.contains("<del>"));
    let (status, _) = page("/privacy/diff?from=2018-05-18&to=nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
