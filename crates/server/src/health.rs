//! `GET /healthz`: 200 when the database answers and takes a write (and a SQLite
//! node's disk is not full), 503 when not.

use crate::{ApiError, AppState};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

/// The health answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` when the node can serve.
    pub status: &'static str,
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// The version of the policy in force.
    pub policy_version: String,
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

/// Whether this node can serve.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses(
        (status = 200, description = "The node and its database answer", body = Health),
        (status = 503, description = "The database does not answer or cannot write, or its disk is full", body = crate::error::ErrorBody),
    ))]
pub(crate) async fn healthz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    if let Err(why) = state.app.health().await {
        let mut error = ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            why.to_string(),
        );
        error.retry_after = Some(5);
        return Err(error);
    }
    Ok(Json(Health {
        status: "ok",
        backend: match state.app.backend() {
            datavow_core::Backend::Sqlite => "sqlite",
            datavow_core::Backend::Postgres => "postgres",
        },
        policy_version: state.app.policy.version.clone(),
    }))
}
