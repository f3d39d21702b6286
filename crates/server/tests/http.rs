//! The HTTP surface over real loopback HTTP, on both backends.

use datavow_store::backend_tests;
use datavow_store::testkit::TestStores;

mod common;

/// Starts a real server on an ephemeral loopback port; returns its base URL.
async fn start(t: &TestStores) -> String {
    common::start(t).await.base
}

async fn healthz_answers_200_with_the_backend_and_policy_version(t: TestStores) {
    let base = start(&t).await;
    let response = reqwest::get(format!("{base}/healthz"))
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["policy_version"], "2018-05-18");
    let backend = body["backend"].as_str().expect("backend");
    assert!(backend == "sqlite" || backend == "postgres", "{backend}");
}

async fn an_unknown_path_is_a_json_404_that_does_not_echo_the_path(t: TestStores) {
    let base = start(&t).await;
    let response = reqwest::get(format!("{base}/api/v1/people/anna@example.dk"))
        .await
        .expect("request");
    assert_eq!(response.status(), 404);
    let text = response.text().await.expect("body");
    let body: serde_json::Value = serde_json::from_str(&text).expect("json error body");
    assert_eq!(body["error"]["code"], "not_found");
    assert!(body["error"]["message"].is_string());
    assert!(!text.contains("anna"), "{text}");
}

async fn metrics_count_requests_by_route_and_never_by_raw_path_or_query(t: TestStores) {
    let base = start(&t).await;
    let client = reqwest::Client::new();
    client
        .get(format!("{base}/healthz?email=anna%40example.dk"))
        .send()
        .await
        .expect("request");
    client
        .get(format!("{base}/customers/soren-ostergaard"))
        .send()
        .await
        .expect("request");
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(metrics.contains("datavow_http_requests_total"), "{metrics}");
    assert!(metrics.contains("route=\"/healthz\""), "{metrics}");
    assert!(
        !metrics.contains("anna") && !metrics.contains("soren"),
        "{metrics}"
    );
}

async fn html_pages_cannot_be_framed_and_load_only_their_own_hashed_stylesheet(t: TestStores) {
    use sha2::Digest;
    let base = start(&t).await;
    for path in [
        "/",
        "/signup",
        "/signin",
        "/privacy",
        "/contact",
        "/recover",
        "/nowhere.html",
    ] {
        let response = reqwest::get(format!("{base}{path}"))
            .await
            .expect("request");
        let headers = response.headers().clone();
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        if !header("content-type").starts_with("text/html") {
            continue;
        }
        let body = response.text().await.expect("body");
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
        assert_eq!(header("referrer-policy"), "same-origin", "{path}");
        let policy = header("content-security-policy");
        assert!(
            policy.contains("frame-ancestors 'none'"),
            "{path}: {policy}"
        );
        assert!(policy.contains("default-src 'none'"), "{path}: {policy}");
        // The page's one <style> is the one the policy allows by hash, and it has no
        // script or style attribute the policy would block.
        let style = body
            .split_once("<style>")
            .and_then(|(_, rest)| rest.split_once("</style>"))
            .map(|(style, _)| style)
            .unwrap_or_else(|| panic!("{path} has a stylesheet"));
        let hash = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            sha2::Sha256::digest(style.as_bytes()),
        );
        assert!(
            policy.contains(&format!("'sha256-{hash}'")),
            "{path}: {policy}"
        );
        assert!(
            !body.contains("<script") && !body.contains(" style="),
            "{path}"
        );
    }
    let json = reqwest::get(format!("{base}/healthz"))
        .await
        .expect("request");
    assert_eq!(json.headers()["x-content-type-options"], "nosniff");
}

async fn errors_made_before_a_handler_runs_are_json_and_echo_nothing(t: TestStores) {
    let base = start(&t).await;
    let client = reqwest::Client::new();
    let secret = "4111111111111111";
    let cases = [
        (
            client.put(format!("{base}/healthz")),
            405,
            "method_not_allowed",
        ),
        (
            client
                .post(format!("{base}/signup"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("name={}", secret.repeat(5000))),
            413,
            "body_too_large",
        ),
        (
            client.get(format!("{base}/signin?lang=%FF{secret}&lang=x")),
            400,
            "bad_request",
        ),
    ];
    for (request, status, code) in cases {
        let response = request.send().await.expect("request");
        assert_eq!(response.status(), status, "{code}");
        let allow = response.headers().get("allow").is_some();
        let text = response.text().await.expect("body");
        let body: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{code}: not JSON: {text}"));
        assert_eq!(body["error"]["code"], code, "{text}");
        assert!(!text.contains(secret), "{text}");
        if status == 405 {
            assert!(allow, "a 405 keeps its Allow header");
        }
    }
}

async fn metrics_are_for_this_host_or_an_operator_token_only(t: TestStores) {
    let server = common::start_behind_proxy(&t).await;
    let metrics = |forwarded: Option<&str>, token: Option<&str>| {
        let mut request = server.client.get(server.url("/metrics"));
        if let Some(f) = forwarded {
            request = request.header("x-forwarded-for", f);
        }
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        request.send()
    };
    let local = metrics(None, None).await.expect("request");
    assert_eq!(local.status(), 200, "a scraper on this host");
    let remote = metrics(Some("203.0.113.9"), None).await.expect("request");
    assert_eq!(
        remote.status(),
        401,
        "a client from elsewhere, through the proxy"
    );
    let body: serde_json::Value = remote.json().await.expect("json");
    assert_eq!(body["error"]["code"], "unauthorized");
    let token = server
        .token("scraper", datavow_policy::Role::Collector)
        .await;
    let scraper = metrics(Some("203.0.113.9"), Some(&token))
        .await
        .expect("request");
    assert_eq!(
        scraper.status(),
        200,
        "a remote scraper with an operator token"
    );
    assert!(scraper
        .text()
        .await
        .expect("text")
        .contains("datavow_http_requests_total"));
}

backend_tests!(
    metrics_are_for_this_host_or_an_operator_token_only,
    errors_made_before_a_handler_runs_are_json_and_echo_nothing,
    html_pages_cannot_be_framed_and_load_only_their_own_hashed_stylesheet,
    healthz_answers_200_with_the_backend_and_policy_version,
    an_unknown_path_is_a_json_404_that_does_not_echo_the_path,
    metrics_count_requests_by_route_and_never_by_raw_path_or_query,
);

#[tokio::test]
async fn the_served_openapi_document_matches_the_committed_one() {
    let t = TestStores::sqlite().await;
    let base = start(&t).await;
    let served: serde_json::Value = reqwest::get(format!("{base}/api/v1/openapi.json"))
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert!(served["paths"]["/healthz"].is_object(), "{served}");
    let committed_path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let generated = datavow_server::openapi::document();
    if std::env::var_os("DATAVOW_UPDATE_OPENAPI").is_some() {
        std::fs::write(&committed_path, format!("{generated}\n")).expect("write openapi.json");
    }
    let committed = std::fs::read_to_string(&committed_path).unwrap_or_default();
    assert_eq!(
        committed.trim_end(),
        generated.trim_end(),
        "docs/openapi.json is out of date: run DATAVOW_UPDATE_OPENAPI=1 cargo test -p datavow-server and commit it"
    );
    let committed: serde_json::Value = serde_json::from_str(&committed).expect("committed JSON");
    assert_eq!(committed, served);
}
