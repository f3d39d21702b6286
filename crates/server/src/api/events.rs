//! `POST /api/v1/events` (P6): the web tier posts a batch of browser events as JSON;
//! they go through the same pipeline as `datavow ingest` (its JSON shapes). Only an
//! operator with the `collector` role may post; that role reads nothing.

use crate::api::admin::AuthOperator;
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::AppState;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use datavow_core::access::OperatorAct;
use datavow_core::browser::{BrowserIngest, IngestError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Most events in one batch.
pub const MAX_EVENTS: usize = 10_000;
/// Largest batch body.
const MAX_BODY: usize = 8 * 1024 * 1024;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route(
        "/api/v1/events",
        post(post_events).layer(DefaultBodyLimit::max(MAX_BODY)),
    )
}

/// A batch of browser events, all in one of three JSON shapes, recognised from the
/// first events: flat objects with `ip`, `time` (RFC 3339), `method`, `path`,
/// `status`, `bytes`, `referrer`, `user_agent`, and optionally `user_id` (the signed-in
/// account's userID) and `language` (nginx's JSON log names `remote_addr`,
/// `time_local`, `request_uri`, … too); Caddy 2's access-log entries; or Traefik's.
#[derive(Debug, Deserialize, ToSchema)]
pub struct EventBatch {
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<serde_json::Value>,
}

/// What happened to a batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventReceipt {
    pub received: u64,
    pub stored: u64,
    /// Events not stored, by reason (malformed, a card number, past retention, …).
    pub rejected: BTreeMap<String, u64>,
}

#[utoipa::path(post, path = "/api/v1/events", tag = "operators",
    request_body = EventBatch,
    security(("operator_token" = [])),
    responses(
        (status = 200, description = "Stored what could be; the rest counted by reason", body = EventReceipt),
        (status = 400, description = "Not a batch, or events in none of the JSON shapes (`unknown_event_shape`)", body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, description = "The operator's role is not `collector`", body = crate::error::ErrorBody),
        (status = 413, description = "Over 10,000 events or 8 MiB", body = crate::error::ErrorBody),
    ))]
pub(crate) async fn post_events(
    State(state): State<AppState>,
    AuthOperator(operator): AuthOperator,
    ApiJson(batch): ApiJson<EventBatch>,
) -> Result<Json<EventReceipt>, ApiError> {
    // Decided before the batch is read; the ingest asks the door again for its grant.
    datavow_core::access::decide(&state.app.policy, operator.role, OperatorAct::PostEvents)
        .map_err(crate::api::admin::denied)?;
    if batch.events.len() > MAX_EVENTS {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_events",
            format!("send at most {MAX_EVENTS} events per batch"),
        ));
    }
    // Compact JSON never holds a raw newline, so one event is one line.
    let mut lines = Vec::new();
    for event in &batch.events {
        serde_json::to_writer(&mut lines, event).map_err(ApiError::internal)?;
        lines.push(b'\n');
    }
    let ingest = BrowserIngest::new(
        &state.app,
        state.options.user_agents.clone(),
        state.options.geo.clone(),
    );
    let summary = ingest
        .ingest_posted(&operator, Box::new(std::io::Cursor::new(lines)))
        .await
        .map_err(|err| match err {
            IngestError::Denied(d) => crate::api::admin::denied(d),
            IngestError::Unrecognised(_) => ApiError::new(
                StatusCode::BAD_REQUEST,
                "unknown_event_shape",
                "the first events are in none of the JSON shapes read here: flat fields \
                 (ip, time, path, status, …), Caddy's or Traefik's access-log entries",
            ),
            other => ApiError::unavailable(other),
        })?;
    Ok(Json(EventReceipt {
        received: summary.read,
        stored: summary.stored,
        rejected: summary.rejected,
    }))
}
