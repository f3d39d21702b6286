//! Account recovery over the API (P13): ask for a link by email, use the link's token
//! for a new generated password. The first answer is the same whether or not the
//! address has an account, and comes before any work is done for it.

use crate::api::accounts::{account_error, ClientAddr};
use crate::json::ApiJson;
use crate::{ApiError, AppState};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use datavow_core::mail::{self, MailError};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/recovery", post(request))
        .route("/api/v1/recovery/{token}", post(complete))
}

/// Looks the address up and sends the link in the background, so the answer's timing
/// says nothing about whether the address has an account.
pub(crate) fn send_in_background(state: &AppState, email: String, client: ClientAddr) {
    let app = state.app.clone();
    tokio::spawn(async move {
        if let Err(err) = mail::request_recovery(&app, &email, &client.key()).await {
            tracing::warn!(error = %err, "account recovery mail not queued");
        }
    });
}

/// The address to send a recovery link to.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoveryRequest {
    pub email: String,
}

datavow_policy::redacted_debug!(RecoveryRequest { email });

/// Always the same answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryAccepted {
    pub message: &'static str,
}

/// Asks for an account recovery link by email.
#[utoipa::path(post, path = "/api/v1/recovery", tag = "accounts", request_body = RecoveryRequest,
    responses((status = 202, body = RecoveryAccepted), (status = 503, description = "Mail is not configured", body = crate::error::ErrorBody)))]
pub(crate) async fn request(
    State(state): State<AppState>,
    client: ClientAddr,
    ApiJson(body): ApiJson<RecoveryRequest>,
) -> Result<(StatusCode, Json<RecoveryAccepted>), ApiError> {
    if !state.app.mail_configured() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "mail_not_configured",
            "this Datavow sends no mail; ask the privacy contact",
        ));
    }
    send_in_background(&state, body.email, client);
    Ok((
        StatusCode::ACCEPTED,
        Json(RecoveryAccepted {
            message: "if this address belongs to an account, a link is on its way; it works once, for 30 minutes",
        }),
    ))
}

/// New credentials, shown this once.
#[derive(Serialize, ToSchema)]
pub struct RecoveredBody {
    pub user_id: String,
    pub password: String,
}

datavow_policy::redacted_debug!(RecoveredBody { user_id, password });

/// Uses a recovery link's token: a new generated password, every session ended.
#[utoipa::path(post, path = "/api/v1/recovery/{token}", tag = "accounts",
    params(("token" = String, Path, description = "The token of the link")),
    responses((status = 200, body = RecoveredBody), (status = 404, description = "No such link: altered, used or expired", body = crate::error::ErrorBody)))]
pub(crate) async fn complete(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    match mail::complete_recovery(&state.app, &token).await {
        Ok(r) => Ok((
            [(header::CACHE_CONTROL, "no-store")],
            Json(RecoveredBody {
                user_id: r.user_id,
                password: r.password.expose_secret().to_owned(),
            }),
        )
            .into_response()),
        Err(err) => Err(mail_error(err)),
    }
}

/// Maps mail errors to API errors; no content or address in any message.
pub(crate) fn mail_error(err: MailError) -> ApiError {
    match err {
        // A link that does not exist (altered, used, expired) is not found.
        MailError::BadToken => {
            ApiError::new(StatusCode::NOT_FOUND, "invalid_link", err.to_string())
        }
        MailError::NotConfigured => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "mail_not_configured",
            err.to_string(),
        ),
        MailError::NoEnglishBody => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "english_body_required",
            err.to_string(),
        ),
        MailError::Denied(d) => crate::api::admin::denied(d),
        MailError::Vault(v) => crate::api::admin::vault_error(v),
        MailError::Account(a) => account_error(a),
        MailError::Store(s) => ApiError::unavailable(s),
        MailError::Settings(s) => ApiError::internal(s),
    }
}
