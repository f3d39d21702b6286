//! Security headers on every answer (one layer, so no page can forget them).
//!
//! Invariants:
//! - Every answer says `X-Content-Type-Options: nosniff`.
//! - Every HTML answer forbids framing (`frame-ancestors 'none'` and
//!   `X-Frame-Options: DENY`, so the erasure and consent forms cannot be clicked from
//!   inside another site), loads nothing but the pages' own stylesheets (allowed by
//!   their hashes: the pages carry no script at all), submits forms only to this site, and
//!   sends no referrer to other sites.

use axum::extract::Request;
use axum::http::header::{
    CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// The policy of HTML answers; the stylesheets (the dashboard's and the console's) are
/// allowed by their SHA-256.
static HTML_POLICY: LazyLock<HeaderValue> = LazyLock::new(|| {
    let hash = |css: &str| {
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(css.as_bytes()))
    };
    let policy = format!(
        "default-src 'none'; style-src 'sha256-{}' 'sha256-{}'; img-src 'self'; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'",
        hash(crate::pages::STYLE),
        hash(crate::pages::CONSOLE_STYLE),
    );
    HeaderValue::from_str(&policy)
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"))
});

pub(crate) async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    let html = headers
        .get(CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"text/html"));
    if html {
        headers.insert(CONTENT_SECURITY_POLICY, HTML_POLICY.clone());
        headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    }
    response
}
