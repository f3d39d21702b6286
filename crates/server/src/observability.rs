//! Prometheus metrics and request tracing. Both label requests by matched route only.

use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Instant;
use tracing::Instrument;

/// The process-wide Prometheus recorder (installed on first use).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .install_recorder()
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder().handle())
        })
        .clone()
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(render))
}

/// The metrics, for a scraper on this host (the client address, after trusted
/// proxies, is loopback) or one that sends an operator API token. They hold no
/// personal data, but they show the traffic, which is nobody else's business.
async fn render(
    State(state): State<AppState>,
    client: crate::api::accounts::ClientAddr,
    mut parts: axum::http::request::Parts,
) -> Response {
    let local = client.0.is_some_and(|ip| ip.to_canonical().is_loopback());
    if !local {
        use axum::extract::FromRequestParts;
        if let Err(refused) =
            crate::api::admin::AuthOperator::from_request_parts(&mut parts, &state).await
        {
            return refused.into_response();
        }
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics_handle().render(),
    )
        .into_response()
}

/// Traces and counts each request under its matched route, never its raw path.
pub(crate) async fn track(request: Request, next: Next) -> Response {
    let _ = metrics_handle();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let span = tracing::info_span!("http", method = %method, route = %route);
    let started = Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    span.in_scope(|| tracing::debug!(status, elapsed_ms = elapsed.as_millis() as u64, "answered"));
    metrics::counter!("datavow_http_requests_total", "route" => route.clone(), "method" => method, "status" => status.to_string())
        .increment(1);
    metrics::histogram!("datavow_http_request_seconds", "route" => route)
        .record(elapsed.as_secs_f64());
    response
}
