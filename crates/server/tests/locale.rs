//! `GET /api/v1/locale` over real HTTP with the real CC0 country database
//! (`@ip-location-db/geo-whois-asn-country-mmdb`, installed by scripts/test.sh into
//! tests/geo and named by DATAVOW_TEST_GEOIP_DATABASE).

mod common;

use datavow_server::api::locale::GeoDb;
use datavow_store::testkit::TestStores;
use serde_json::Value;
use std::sync::Arc;

/// Serves with the geo database and 127.0.0.1 as a trusted proxy, when the database is
/// there.
async fn start_with_geo(t: &TestStores, trusted: bool) -> Option<String> {
    let path = std::env::var("DATAVOW_TEST_GEOIP_DATABASE").ok()?;
    let geo = Arc::new(GeoDb::open(std::path::Path::new(&path)).expect("geo database"));
    let app = datavow_core::testkit::open(t).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let options = datavow_server::ServerOptions {
        geo: Some(geo),
        trusted_proxies: if trusted {
            vec!["127.0.0.1".parse().expect("ip")]
        } else {
            vec![]
        },
        ..Default::default()
    };
    tokio::spawn(datavow_server::serve(
        app,
        listener,
        options,
        std::future::pending(),
    ));
    Some(base)
}

async fn locale(base: &str, accept_language: Option<&str>, forwarded: Option<&str>) -> Value {
    let mut request = reqwest::Client::new().get(format!("{base}/api/v1/locale"));
    if let Some(al) = accept_language {
        request = request.header("accept-language", al);
    }
    if let Some(xff) = forwarded {
        request = request.header("x-forwarded-for", xff);
    }
    request
        .send()
        .await
        .expect("locale")
        .json()
        .await
        .expect("json")
}

#[tokio::test]
#[allow(clippy::print_stderr)] // a skipped test says why
async fn the_country_comes_from_the_forwarded_client_address_only_through_a_trusted_proxy() {
    let t = TestStores::sqlite().await;
    let Some(base) = start_with_geo(&t, true).await else {
        eprintln!("skipped: run scripts/test.sh, which installs the geolocation database");
        return;
    };
    assert_eq!(locale(&base, None, Some("8.8.8.8")).await["country"], "US");
    assert_eq!(
        locale(&base, None, Some("130.225.0.1")).await["country"],
        "DK"
    );
    assert_eq!(
        locale(&base, None, Some("8.8.8.8, 130.225.0.1")).await["country"],
        "DK",
        "the rightmost untrusted hop"
    );
    assert_eq!(
        locale(&base, None, None).await["country"],
        "unknown",
        "loopback has no country"
    );
    assert_eq!(
        locale(&base, None, Some("not-an-ip")).await["country"],
        "unknown"
    );
    let untrusted = start_with_geo(&t, false).await.expect("base");
    assert_eq!(
        locale(&untrusted, None, Some("8.8.8.8")).await["country"],
        "unknown",
        "a client cannot choose its country"
    );
}

#[tokio::test]
async fn the_language_is_negotiated_from_odd_accept_language_headers() {
    let t = TestStores::sqlite().await;
    let base = common::start(&t).await.base;
    let hundred: String = (0..100)
        .map(|i| format!("x{i:02};q=0.{:01}", i % 9 + 1))
        .collect::<Vec<_>>()
        .join(",")
        + ",da;q=0.05";
    for (header, want) in [
        (Some("*"), "en"),
        (Some("de;q=0"), "en"),
        (Some("de;q=0, da;q=0.2"), "da"),
        (Some("da-DK,da;q=0.9,en-US;q=0.8,en;q=0.7"), "da"),
        (Some("de-CH"), "de"),
        (Some(";;;q=,,,=de"), "en"),
        (Some("tlh, qya"), "en"),
        (Some(hundred.as_str()), "da"),
        (None, "en"),
    ] {
        let body = locale(&base, header, None).await;
        assert_eq!(body["language"], want, "{header:?}");
        assert_eq!(body["country"], "unknown", "no database configured");
    }
}
