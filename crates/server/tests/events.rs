//! `POST /api/v1/events` over real loopback HTTP, on both backends: who may post, what
//! a batch stores and rejects, limits, and a signed-in visitor's events in their export.

mod common;

use chrono::Utc;
use common::start;
use datavow_policy::Role;
use datavow_store::backend_tests;
use datavow_store::testkit::TestStores;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn event(ip: &str, path: &str) -> Value {
    json!({
        "ip": ip,
        "time": Utc::now().to_rfc3339(),
        "method": "GET",
        "path": path,
        "status": 200,
        "bytes": 1234,
        "referrer": "https://www.google.com/search?q=colocation",
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
        "accept_language": "da-DK,da;q=0.9"
    })
}

async fn only_a_collector_may_post_events_and_a_batch_reports_what_it_stored(t: TestStores) {
    let server = start(&t).await;
    let batch = json!({"events": [
        event("203.0.113.5", "/pricing?coupon=X"),
        event("2001:db8::5", "/"),
        {"ip": "not-an-ip", "time": Utc::now().to_rfc3339(), "path": "/", "status": 200},
        event("203.0.113.6", "/pay/4111 1111 1111 1111"),
        event("203.0.113.7", "/pay?card=4111 1111 1111 1111"),
    ]});
    let (status, body) = server.post_json("/api/v1/events", None, &batch).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let support = server.token("support-1", Role::Support).await;
    let (status, body) = server
        .post_json("/api/v1/events", Some(&support), &batch)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "collector_only");

    let collector = server.token("web-tier", Role::Collector).await;
    let (status, receipt) = server
        .post_json("/api/v1/events", Some(&collector), &batch)
        .await;
    assert_eq!(status, StatusCode::OK, "{receipt}");
    assert_eq!(receipt["received"], 5);
    assert_eq!(
        receipt["stored"], 3,
        "a card number in a query goes with the query"
    );
    assert_eq!(receipt["rejected"]["bad client address"], 1);
    assert_eq!(
        receipt["rejected"]["card number in line (dropped unseen)"],
        1
    );
    let stored = t.browser_records().await;
    assert_eq!(stored, 3);
    for needle in [&b"203.0.113.5"[..], b"2001:db8::5", b"coupon", b"4111"] {
        assert!(
            t.raw_places_containing(needle).await.is_empty(),
            "{needle:?}"
        );
    }
}

async fn caddy_and_traefik_access_log_entries_are_read_as_events(t: TestStores) {
    let server = start(&t).await;
    let collector = server.token("web-tier", Role::Collector).await;
    let now = Utc::now();
    let caddy = |ip: &str, uri: &str| {
        json!({"level": "info", "ts": now.timestamp_micros() as f64 / 1e6,
            "logger": "http.log.access", "msg": "handled request",
            "request": {"remote_ip": ip, "remote_port": "41342", "proto": "HTTP/2.0",
                "method": "GET", "host": "shop.example", "uri": uri,
                "headers": {"User-Agent": ["curl/8.4.0"], "Referer": ["https://a.example/?q=1"]}},
            "user_id": "", "duration": 0.0009, "size": 10900, "status": 200})
    };
    let batch = json!({"events": [caddy("192.0.2.30", "/?a=1"), caddy("2001:db8::30", "/b")]});
    let (status, receipt) = server
        .post_json("/api/v1/events", Some(&collector), &batch)
        .await;
    assert_eq!(status, StatusCode::OK, "{receipt}");
    assert_eq!(
        (receipt["received"].as_u64(), receipt["stored"].as_u64()),
        (Some(2), Some(2))
    );
    let traefik = json!({"ClientHost": "192.0.2.31", "StartUTC": now.to_rfc3339(),
        "RequestMethod": "GET", "RequestPath": "/c?d=1", "DownstreamStatus": 200,
        "DownstreamContentSize": 5, "request_User-Agent": "curl/8.4.0"});
    let (status, receipt) = server
        .post_json(
            "/api/v1/events",
            Some(&collector),
            &json!({"events": [traefik]}),
        )
        .await;
    assert_eq!(
        (status, receipt["stored"].as_u64()),
        (StatusCode::OK, Some(1)),
        "{receipt}"
    );
    assert_eq!(t.browser_records().await, 3);
}

async fn bad_batches_are_refused_whole_with_a_clear_error(t: TestStores) {
    let server = start(&t).await;
    let collector = server.token("web-tier", Role::Collector).await;
    let (status, body) = server
        .send(
            reqwest::Method::POST,
            "/api/v1/events",
            Some(&collector),
            Some("{\"events\": 5}"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let too_many = json!({"events": vec![event("192.0.2.1", "/"); 10_001]});
    let (status, body) = server
        .post_json("/api/v1/events", Some(&collector), &too_many)
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["error"]["code"], "too_many_events");
    let (status, body) = server
        .post_json(
            "/api/v1/events",
            Some(&collector),
            &json!({"events": [{"hello": "world"}, [1, 2]]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "unknown_event_shape");
    assert!(server
        .app
        .stores()
        .browser
        .browser_days()
        .await
        .expect("days")
        .is_empty());
}

async fn a_signed_in_visitors_own_events_and_only_those_are_in_their_export(t: TestStores) {
    let server = start(&t).await;
    let signup = json!({
        "name": "Søren Østergård", "company": "Østergård Media ApS", "email": "soren@example.dk",
        "phone": "+45 31 23 45 67",
        "postal_address": {"street": "Agern Allé 24", "postal_code": "2970", "city": "Hørsholm", "country": "DK"},
        "business_sector": "media_and_publishing", "interest": "Colocation"
    });
    let (created, token) = server.sign_up_and_in(&signup).await;
    let user_id = created["user_id"].as_str().expect("user_id");

    let collector = server.token("web-tier", Role::Collector).await;
    let mut mine = event("198.51.100.44", "/dashboard/invoices?page=2");
    mine["user_id"] = json!(user_id);
    let batch = json!({"events": [mine, event("198.51.100.45", "/")]});
    let (status, receipt) = server
        .post_json("/api/v1/events", Some(&collector), &batch)
        .await;
    assert_eq!(
        (status, receipt["stored"].as_u64()),
        (StatusCode::OK, Some(2)),
        "{receipt}"
    );

    let (status, export) = server.get(&token, "/api/v1/me/export").await;
    assert_eq!(status, StatusCode::OK, "{export}");
    let browser = export["browser_data"].as_array().expect("browser data");
    assert_eq!(browser.len(), 1, "only the person's own visit: {browser:?}");
    assert_eq!(browser[0]["ip"], "198.51.100.44");
    assert_eq!(browser[0]["path"], "/dashboard/invoices");
    assert_eq!(
        browser[0]["browser"]["family"], "Other",
        "no user-agent parser in this test server"
    );
    assert_eq!(browser[0]["language"], "da-DK");
}

backend_tests!(
    only_a_collector_may_post_events_and_a_batch_reports_what_it_stored,
    bad_batches_are_refused_whole_with_a_clear_error,
    caddy_and_traefik_access_log_entries_are_read_as_events,
    a_signed_in_visitors_own_events_and_only_those_are_in_their_export,
);
