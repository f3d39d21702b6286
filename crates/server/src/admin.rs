//! The operators' API under `/api/v1/admin` (P11, P12, P13): find a person through
//! the blind indexes, view a person's data for a stated purpose (only the categories
//! that purpose may use; the role must allow the purpose), and, for privacy officers,
//! the person's access log. Every step is audited by the vault.

use crate::json::ApiJson;
use crate::{ApiError, AppState};
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use datavow_core::operators::{self, Operator};
use datavow_policy::{Purpose, Role};
use datavow_vault::{IndexKind, VaultError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/admin/persons/search", post(search))
        .route("/api/v1/admin/persons/{id}", get(view))
        .route("/api/v1/admin/persons/{id}/access-log", get(access_log))
        .route(
            "/api/v1/admin/persons/{id}/payment-reference",
            axum::routing::put(set_payment_reference),
        )
}

/// An operator authenticated by `Authorization: Bearer <token>`.
#[derive(Debug)]
pub struct AuthOperator(pub Operator);

impl FromRequestParts<AppState> for AuthOperator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let unauthorized = || {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "send an operator API token as Authorization: Bearer <token>",
            )
        };
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(unauthorized)?;
        match operators::authenticate_token(&state.app, token.trim()).await {
            Ok(Some(operator)) => Ok(AuthOperator(operator)),
            Ok(None) => Err(unauthorized()),
            Err(err) => Err(ApiError::unavailable(err)),
        }
    }
}

/// Maps vault errors to API errors; messages never carry personal data.
pub(crate) fn vault_error(err: VaultError) -> ApiError {
    match err {
        VaultError::Refused(refused) => ApiError::new(
            StatusCode::FORBIDDEN,
            "purpose_refused",
            refused.to_string(),
        ),
        VaultError::Shredded => ApiError::new(
            StatusCode::GONE,
            "erased",
            "this person's data has been erased",
        ),
        VaultError::NoSuchPerson => {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such person")
        }
        VaultError::Taken(what) => ApiError::new(
            StatusCode::CONFLICT,
            "taken",
            format!("another account already uses this {what}"),
        ),
        other => ApiError::internal(other),
    }
}

/// Find a person by exactly one of email or userID.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    pub email: Option<String>,
    pub user_id: Option<String>,
}

/// The person found.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResult {
    pub person_id: String,
}

/// Finds a person through the blind indexes. The look-up is audited.
#[utoipa::path(post, path = "/api/v1/admin/persons/search", tag = "operators",
    request_body = SearchRequest,
    security(("operator_token" = [])),
    responses(
        (status = 200, body = SearchResult),
        (status = 400, description = "Neither or both of email and user_id", body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody),
        (status = 404, description = "Nobody matches", body = crate::error::ErrorBody),
    ))]
pub(crate) async fn search(
    State(state): State<AppState>,
    AuthOperator(operator): AuthOperator,
    ApiJson(request): ApiJson<SearchRequest>,
) -> Result<Json<SearchResult>, ApiError> {
    let (kind, value) = match (&request.email, &request.user_id) {
        (Some(email), None) => (IndexKind::Email, email),
        (None, Some(user_id)) => (IndexKind::UserId, user_id),
        _ => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "one_key_required",
                "give exactly one of `email` or `user_id`",
            ))
        }
    };
    let found = state
        .app
        .vault
        .find(&operator.actor(), kind, value)
        .await
        .map_err(vault_error)?;
    match found {
        Some(id) => Ok(Json(SearchResult {
            person_id: id.to_string(),
        })),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "nobody matches",
        )),
    }
}

/// The purpose an operator states for a view.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ViewQuery {
    /// One of the policy's purposes that the operator's role may use, e.g. `billing`.
    pub purpose: String,
}

/// The controlling legal entity.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntityView {
    pub id: String,
    pub name: String,
    pub address: Vec<String>,
    pub country: String,
}

/// A person's data as one purpose may see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonView {
    pub person_id: String,
    pub entity: EntityView,
    pub purpose: String,
    /// Field name to value, only for the categories the purpose may use.
    pub fields: BTreeMap<String, String>,
    /// Categories held back because the purpose may not use them.
    pub withheld_categories: Vec<String>,
}

fn parse_person_id(id: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(id)
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such person"))
}

/// Views a person's data for a purpose the operator's role may use.
#[utoipa::path(get, path = "/api/v1/admin/persons/{id}", tag = "operators",
    params(("id" = String, Path, description = "Person id"), ViewQuery),
    security(("operator_token" = [])),
    responses(
        (status = 200, body = PersonView),
        (status = 400, description = "Unknown purpose", body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, description = "The role may not use this purpose", body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
        (status = 410, description = "The person was erased", body = crate::error::ErrorBody),
    ))]
pub(crate) async fn view(
    State(state): State<AppState>,
    AuthOperator(operator): AuthOperator,
    Path(id): Path<String>,
    Query(query): Query<ViewQuery>,
) -> Result<Json<PersonView>, ApiError> {
    let purpose = Purpose::parse(&query.purpose).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "unknown_purpose",
            format!("`{}` is not a purpose of the policy", query.purpose),
        )
    })?;
    let person = parse_person_id(&id)?;
    if !state.app.policy.role_allows(operator.role, purpose) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "purpose_not_allowed_for_role",
            format!(
                "role `{}` may not read personal data for `{purpose}`",
                operator.role
            ),
        ));
    }
    let row = state
        .app
        .stores
        .persons
        .person(person)
        .await
        .map_err(ApiError::unavailable)?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such person"))?;
    let view = state
        .app
        .vault
        .read_for_purpose(&operator.actor(), person, purpose)
        .await
        .map_err(vault_error)?;
    let entity = state.app.policy.entity(&row.entity).ok_or_else(|| {
        ApiError::internal("a person names an entity the policy no longer declares")
    })?;
    Ok(Json(PersonView {
        person_id: person.to_string(),
        entity: EntityView {
            id: entity.id.clone(),
            name: entity.name.clone(),
            address: entity.address.clone(),
            country: entity.country.to_string(),
        },
        purpose: purpose.to_string(),
        fields: view
            .record
            .iter()
            .map(|(f, v)| (f.to_string(), v.expose().to_owned()))
            .collect(),
        withheld_categories: view.withheld.iter().map(|c| c.to_string()).collect(),
    }))
}

/// One entry of a person's access log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessEntry {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub purpose: Option<String>,
    pub fields: Vec<String>,
    pub outcome: String,
}

/// Who did what to a person's data, newest first (privacy officers only).
#[utoipa::path(get, path = "/api/v1/admin/persons/{id}/access-log", tag = "operators",
    params(("id" = String, Path, description = "Person id")),
    security(("operator_token" = [])),
    responses(
        (status = 200, body = [AccessEntry]),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 410, body = crate::error::ErrorBody),
    ))]
pub(crate) async fn access_log(
    State(state): State<AppState>,
    AuthOperator(operator): AuthOperator,
    Path(id): Path<String>,
) -> Result<Json<Vec<AccessEntry>>, ApiError> {
    if operator.role != Role::PrivacyOfficer {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "privacy_officer_only",
            "only a privacy officer may read a person's access log",
        ));
    }
    Ok(Json(
        access_entries(&state, parse_person_id(&id)?, 500).await?,
    ))
}

/// The newest `limit` audit entries about a person, for people to read.
pub(crate) async fn access_entries(
    state: &AppState,
    person: uuid::Uuid,
    limit: i64,
) -> Result<Vec<AccessEntry>, ApiError> {
    let tag = state
        .app
        .vault
        .subject_tag(person)
        .await
        .map_err(vault_error)?;
    let entries = state
        .app
        .audit
        .for_subject(&tag, limit)
        .await
        .map_err(ApiError::unavailable)?;
    Ok(entries.into_iter().map(access_entry).collect())
}

fn access_entry(record: datavow_core::store::AuditRecord) -> AccessEntry {
    let e = record.entry;
    AccessEntry {
        seq: record.seq,
        at: chrono::DateTime::from_timestamp_micros(e.at_micros)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default(),
        actor: e.actor,
        action: e.action,
        purpose: e.purpose,
        fields: e
            .fields
            .split(',')
            .filter(|f| !f.is_empty())
            .map(str::to_owned)
            .collect(),
        outcome: e.outcome,
    }
}

/// A payment processor's reference for a person.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentReferenceRequest {
    /// The processor's opaque reference, such as `cus_Q2x9LmT7`. Never card data.
    pub payment_reference: String,
}

/// Sets a person's payment reference (roles that may read for `billing`).
#[utoipa::path(put, path = "/api/v1/admin/persons/{id}/payment-reference", tag = "operators",
    params(("id" = String, Path, description = "Person id")),
    request_body = PaymentReferenceRequest,
    security(("operator_token" = [])),
    responses(
        (status = 204),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 422, description = "Not a processor reference, or a card number", body = crate::error::ErrorBody),
    ))]
pub(crate) async fn set_payment_reference(
    State(state): State<AppState>,
    AuthOperator(operator): AuthOperator,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<PaymentReferenceRequest>,
) -> Result<StatusCode, ApiError> {
    if !state
        .app
        .policy
        .role_allows(operator.role, Purpose::Billing)
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "purpose_not_allowed_for_role",
            format!("role `{}` may not manage billing data", operator.role),
        ));
    }
    let person = parse_person_id(&id)?;
    datavow_core::accounts::set_payment_reference(
        &state.app,
        &operator.actor(),
        person,
        &request.payment_reference,
    )
    .await
    .map_err(crate::accounts_api::account_error)?;
    Ok(StatusCode::NO_CONTENT)
}
