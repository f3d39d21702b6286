//! `GET /api/v1/locale` (P5): the language from `Accept-Language`, negotiated with
//! q-values against the supported languages, and the country from the client's IP
//! through an MMDB country database (read with `maxminddb`). The IP is used for the
//! look-up and not kept.
//!
//! The client's IP is the connection's peer, unless the peer is a configured trusted
//! proxy: then `X-Forwarded-For` is read from the right, skipping trusted proxies, and
//! the first address that is not one is the client. From any other peer the header
//! is ignored, so a client cannot choose its own country.

use crate::api::accounts::ClientAddr;
use crate::pages::i18n;
use crate::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use std::net::IpAddr;
use utoipa::ToSchema;

pub use datavow_ingest::GeoDb;

/// The client's address: see the module documentation.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &[IpAddr]) -> IpAddr {
    if !trusted_proxies.contains(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|part| part.trim().parse().ok())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !trusted_proxies.contains(ip))
        .unwrap_or(peer)
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/locale", get(locale))
}

/// The negotiated language and the country of the request.
#[derive(Debug, Serialize, ToSchema)]
pub struct Locale {
    /// `en`, `de` or `da`.
    pub language: String,
    /// ISO 3166-1 alpha-2, or `unknown`.
    pub country: String,
}

/// Language and country for this request; the IP is not stored.
#[utoipa::path(get, path = "/api/v1/locale", tag = "accounts", responses((status = 200, body = Locale)))]
pub(crate) async fn locale(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: ClientAddr,
) -> Json<Locale> {
    let language = i18n::from_accept_language(
        headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or(""),
    );
    let country = match (&state.options.geo, client.0) {
        (Some(geo), Some(ip)) => geo.country(ip),
        _ => None,
    };
    Json(Locale {
        language: language.code().to_owned(),
        country: country.unwrap_or_else(|| "unknown".to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().expect("header"));
        h
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.2".parse().expect("ip");
        let client: IpAddr = "130.225.1.1".parse().expect("ip");
        let forged: IpAddr = "8.8.8.8".parse().expect("ip");
        let h = headers("8.8.8.8, 130.225.1.1");
        assert_eq!(
            client_ip(proxy, &h, &[proxy]),
            client,
            "the rightmost untrusted hop"
        );
        assert_eq!(
            client_ip(client, &headers("8.8.8.8"), &[proxy]),
            client,
            "ignored from others"
        );
        assert_ne!(client_ip(proxy, &h, &[proxy]), forged);
        assert_eq!(
            client_ip(proxy, &headers("garbage, 10.0.0.2"), &[proxy]),
            proxy
        );
    }
}
