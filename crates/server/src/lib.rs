//! # datavow-server
//!
//! The HTTP face of Datavow: the JSON API under `/api/v1` (described by the OpenAPI
//! document at `/api/v1/openapi.json`), `/healthz` and Prometheus `/metrics`.
//!
//! Invariants:
//! - Every error is JSON `{"error":{"code","message"}}` with the right status; the
//!   message is for the user, the cause goes to the log, and neither carries personal
//!   data or a stack trace.
//! - Request logs and metrics name the matched route, never the raw path or query
//!   string, which may carry personal data.

pub mod api;
mod connections;
mod error;
mod headers;
mod health;
pub mod json;
mod observability;
pub mod openapi;
pub mod pages;
mod rate_limit;

pub use connections::{default_max_connections, ConnectionLimits};
pub use error::ApiError;
pub use observability::metrics_handle;
pub use rate_limit::PER_MINUTE as PUBLIC_WRITES_PER_MINUTE;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use datavow_core::Datavow;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;

/// Shared state of every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    pub app: Datavow,
    pub options: ServerOptions,
    /// The budget of the public endpoints that write, per client address.
    public_writes: rate_limit::PublicWrites,
}

/// How the HTTP surface behaves.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// Mark cookies `Secure` (set when Datavow is served over HTTPS, e.g. behind a
    /// TLS-terminating proxy).
    pub secure_cookies: bool,
    /// The IP-to-country database for `/api/v1/locale`; without one the country is
    /// `unknown`.
    pub geo: Option<std::sync::Arc<api::locale::GeoDb>>,
    /// The user-agent parser for `POST /api/v1/events`; without one, browsers are
    /// stored as "Other".
    pub user_agents: Option<std::sync::Arc<datavow_ingest::UaParser>>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// How many connections may be open, and how long a client may take.
    pub limits: ConnectionLimits,
}

/// The whole HTTP surface.
pub fn router(app: Datavow, options: ServerOptions) -> Router {
    let state = AppState {
        app,
        options,
        public_writes: rate_limit::PublicWrites::default(),
    };
    Router::new()
        .merge(health::routes())
        .merge(api::routes())
        .merge(pages::routes())
        .merge(openapi::routes())
        .merge(observability::routes())
        .fallback(error::not_found)
        .layer(DefaultBodyLimit::max(64 * 1024))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            rate_limit::public_writes,
        ))
        .layer(axum::middleware::from_fn(observability::track))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        // Outermost, so they also see what the layers inside answer themselves.
        .layer(axum::middleware::from_fn(error::plain_errors_as_json))
        .layer(axum::middleware::from_fn(headers::security_headers))
        .with_state(state)
}

/// Serves `router(app)` on `listener` until `shutdown` completes, then lets requests
/// in flight finish. Connections are limited as `options.limits` says.
pub async fn serve(
    app: Datavow,
    listener: TcpListener,
    options: ServerOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = options.limits.clone();
    let trusted_proxies = options.trusted_proxies.clone();
    connections::serve(
        router(app, options),
        listener,
        limits,
        trusted_proxies,
        shutdown,
    )
    .await
}
