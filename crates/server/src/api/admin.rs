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
use datavow_core::access::Denied;
use datavow_core::operators::{self, Operator};
use datavow_core::persons::{self, PersonKey, PersonsError};
use datavow_core::VaultError;
use datavow_policy::Purpose;
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
        .route(
            "/api/v1/admin/persons/{id}/invoices",
            post(record_invoice).get(invoices),
        )
        .route("/api/v1/admin/persons/{id}/child", post(flag_child))
        .route("/api/v1/admin/mail/dead-letters", get(dead_letters))
        .route(
            "/api/v1/admin/persons/{id}/marketing",
            axum::routing::put(set_marketing),
        )
        .route("/api/v1/admin/marketing/campaigns", post(send_campaign))
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

/// A refused act: 403 with the door's code.
pub(crate) fn denied(err: Denied) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, err.code, err.message)
}

/// Maps errors of operators' acts to API errors; messages never carry personal data.
pub(crate) fn persons_error(err: PersonsError) -> ApiError {
    match err {
        PersonsError::Denied(d) => denied(d),
        PersonsError::NotFound => {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such person")
        }
        PersonsError::Vault(v) => vault_error(v),
        PersonsError::Store(s) => ApiError::unavailable(s),
        PersonsError::Account(a) => crate::api::accounts::account_error(a),
    }
}

/// Maps vault errors to API errors; messages never carry personal data.
pub(crate) fn vault_error(err: VaultError) -> ApiError {
    if err.is_unavailable() {
        return ApiError::unavailable(err);
    }
    match err {
        VaultError::Refused(refused) => ApiError::new(
            StatusCode::FORBIDDEN,
            "purpose_refused",
            refused.to_string(),
        ),
        VaultError::NoConsent(_) => {
            ApiError::new(StatusCode::FORBIDDEN, "no_consent", err.to_string())
        }
        VaultError::Unreadable(_) | VaultError::NotYours => {
            ApiError::new(StatusCode::FORBIDDEN, "purpose_refused", err.to_string())
        }
        VaultError::Restricted => ApiError::new(
            StatusCode::FORBIDDEN,
            "restricted_to_legal_obligation",
            err.to_string(),
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
        (status = 401, body = crate::error::ErrorBody),
        (status = 404, description = "Nobody matches", body = crate::error::ErrorBody),
        (status = 422, description = "Neither or both of email and user_id", body = crate::error::ErrorBody),
    ))]
pub(crate) async fn search(
    State(state): State<AppState>,
    AuthOperator(operator): AuthOperator,
    ApiJson(request): ApiJson<SearchRequest>,
) -> Result<Json<SearchResult>, ApiError> {
    let key = match (request.email, request.user_id) {
        (Some(email), None) => PersonKey::Email(email),
        (None, Some(user_id)) => PersonKey::UserId(user_id),
        _ => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "one_key_required",
                "give exactly one of `email` or `user_id`",
            ))
        }
    };
    let found = persons::search(&state.app, &operator, &key)
        .await
        .map_err(persons_error)?;
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
    pub privacy_contact: String,
}

impl From<&datavow_policy::Entity> for EntityView {
    fn from(e: &datavow_policy::Entity) -> Self {
        EntityView {
            id: e.id.clone(),
            name: e.name.clone(),
            address: e.address.clone(),
            country: e.country.to_string(),
            privacy_contact: e.privacy_contact.clone(),
        }
    }
}

/// A person's data as one purpose may see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonView {
    pub person_id: String,
    pub entity: EntityView,
    pub purpose: String,
    /// Field name to value, only for the categories the purpose may use; a postal
    /// address is an object. Never a password hash.
    #[schema(value_type = Object)]
    pub fields: BTreeMap<String, serde_json::Value>,
    /// Categories held back because the purpose may not use them.
    pub withheld_categories: Vec<String>,
}

fn parse_purpose(name: &str) -> Result<Purpose, ApiError> {
    Purpose::parse(name).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "unknown_purpose",
            match crate::error::repeatable_name(name) {
                Some(name) => format!("`{name}` is not a purpose of the policy"),
                None => "that is not a purpose of the policy".to_owned(),
            },
        )
    })
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
    let purpose = parse_purpose(&query.purpose)?;
    let person = parse_person_id(&id)?;
    let view = persons::view(&state.app, &operator, person, purpose)
        .await
        .map_err(persons_error)?;
    Ok(Json(PersonView {
        person_id: person.to_string(),
        entity: EntityView::from(&view.entity),
        purpose: purpose.to_string(),
        fields: view.fields.0,
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

impl From<datavow_core::audit::AccessEntry> for AccessEntry {
    fn from(e: datavow_core::audit::AccessEntry) -> Self {
        AccessEntry {
            seq: e.seq,
            at: e.at,
            actor: e.actor,
            action: e.action,
            purpose: e.purpose,
            fields: e.fields,
            outcome: e.outcome,
        }
    }
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
    let person = parse_person_id(&id)?;
    let entries = persons::access_log(&state.app, &operator, person, 500)
        .await
        .map_err(persons_error)?;
    Ok(Json(entries.into_iter().map(AccessEntry::from).collect()))
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
    let person = parse_person_id(&id)?;
    persons::set_payment_reference(&state.app, &operator, person, &request.payment_reference)
        .await
        .map_err(persons_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// An invoice to keep for the legal retention period.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceRequest {
    /// `YYYY-MM-DD`: the year of issue starts the retention period (8 years in
    /// Germany, 5 in Denmark, from the end of that year).
    pub issued_on: String,
    /// The invoice as the billing system has it (text or JSON). Never card data.
    pub document: String,
}

/// An invoice held.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceBody {
    pub id: String,
    /// The retention class: `invoices:ENTITY:YEAR`.
    pub class: String,
    pub document: String,
    pub recorded_at: String,
    /// The issuing entity, from the class.
    pub issuer: Option<EntityView>,
}

/// Records an invoice of a person (roles that may use `billing`). It is sealed under its
/// own key, which outlives the account's erasure for the legal retention period.
#[utoipa::path(post, path = "/api/v1/admin/persons/{id}/invoices", tag = "operators",
    params(("id" = String, Path, description = "Person id")),
    request_body = InvoiceRequest,
    security(("operator_token" = [])),
    responses(
        (status = 201, body = InvoiceBody),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody),
    ))]
pub(crate) async fn record_invoice(
    State(state): State<AppState>,
    AuthOperator(operator): AuthOperator,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<InvoiceRequest>,
) -> Result<(StatusCode, Json<InvoiceBody>), ApiError> {
    let person = parse_person_id(&id)?;
    let issued_on =
        chrono::NaiveDate::parse_from_str(&request.issued_on, "%Y-%m-%d").map_err(|_| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_date",
                "issued_on must be a date as YYYY-MM-DD",
            )
        })?;
    let id = persons::record_invoice(&state.app, &operator, person, issued_on, &request.document)
        .await
        .map_err(persons_error)?;
    let held = persons::invoices(&state.app, &operator, person, Purpose::Billing)
        .await
        .map_err(persons_error)?;
    let invoice = held
        .into_iter()
        .find(|i| i.id == id)
        .ok_or_else(|| ApiError::internal("a recorded invoice was not found"))?;
    Ok((StatusCode::CREATED, Json(invoice_body(invoice))))
}

fn invoice_body(invoice: persons::Invoice) -> InvoiceBody {
    InvoiceBody {
        id: invoice.id.to_string(),
        class: invoice.class,
        document: invoice.document,
        recorded_at: invoice.recorded_at,
        issuer: invoice.issuer.as_ref().map(EntityView::from),
    }
}

/// A person's invoices for a purpose: `billing` while the account exists,
/// `legal_obligation` always (and only it after the account's erasure).
#[utoipa::path(get, path = "/api/v1/admin/persons/{id}/invoices", tag = "operators",
    params(("id" = String, Path, description = "Person id"), ViewQuery),
    security(("operator_token" = [])),
    responses(
        (status = 200, body = [InvoiceBody]),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, description = "The role may not use the purpose, or the invoices are restricted to the legal obligation", body = crate::error::ErrorBody),
    ))]
pub(crate) async fn invoices(
    State(state): State<AppState>,
    AuthOperator(operator): AuthOperator,
    Path(id): Path<String>,
    Query(query): Query<ViewQuery>,
) -> Result<Json<Vec<InvoiceBody>>, ApiError> {
    let purpose = parse_purpose(&query.purpose)?;
    let person = parse_person_id(&id)?;
    let held = persons::invoices(&state.app, &operator, person, purpose)
        .await
        .map_err(persons_error)?;
    Ok(Json(held.into_iter().map(invoice_body).collect()))
}

/// Flags a person as a child whose data came without parental consent (P15): everything
/// about them is erased at once, nothing kept restricted. Answers what was erased.
#[utoipa::path(post, path = "/api/v1/admin/persons/{id}/child", tag = "operators",
    params(("id" = String, Path, description = "Person id")),
    security(("operator_token" = [])),
    responses(
        (status = 200, body = crate::api::accounts::ErasureReceiptBody),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
    ))]
pub(crate) async fn flag_child(
    State(state): State<AppState>,
    AuthOperator(operator): AuthOperator,
    Path(id): Path<String>,
) -> Result<Json<crate::api::accounts::ErasureReceiptBody>, ApiError> {
    let person = parse_person_id(&id)?;
    let result = persons::flag_child(&state.app, &operator, person)
        .await
        .map_err(persons_error)?;
    Ok(Json(crate::api::accounts::erasure_body(None, result)))
}

/// A marketing campaign: a subject and a body per language (English required).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignRequest {
    pub subject: String,
    /// `{"en": "...", "de": "...", "da": "..."}`; each person gets their language.
    pub bodies: BTreeMap<String, String>,
    /// Only people of this business sector.
    pub segment: Option<String>,
}

/// Queues a campaign to everyone who opted in (the marketing role). Counts only.
#[utoipa::path(post, path = "/api/v1/admin/marketing/campaigns", tag = "operators",
    request_body = CampaignRequest,
    security(("operator_token" = [])),
    responses(
        (status = 202, description = "Queued and skipped counts"),
        (status = 403, body = crate::error::ErrorBody),
        (status = 422, description = "No English body, or an unknown segment", body = crate::error::ErrorBody),
        (status = 503, description = "Mail is not configured", body = crate::error::ErrorBody),
    ))]
pub(crate) async fn send_campaign(
    State(state): State<AppState>,
    AuthOperator(operator): AuthOperator,
    ApiJson(request): ApiJson<CampaignRequest>,
) -> Result<(StatusCode, Json<datavow_core::mail::SendSummary>), ApiError> {
    let campaign = datavow_core::mail::Campaign {
        subject: request.subject,
        bodies: request.bodies,
        segment: request.segment,
    };
    let summary = datavow_core::mail::send_marketing(
        &state.app,
        datavow_core::mail::Sender::Operator(&operator),
        &campaign,
    )
    .await
    .map_err(crate::api::recovery::mail_error)?;
    Ok((StatusCode::ACCEPTED, Json(summary)))
}

/// Messages given up on after every retry: no content, no address.
#[utoipa::path(get, path = "/api/v1/admin/mail/dead-letters", tag = "operators",
    security(("operator_token" = [])),
    responses((status = 200, description = "id, kind, attempts, last error, when queued"), (status = 403, body = crate::error::ErrorBody)))]
pub(crate) async fn dead_letters(
    State(state): State<AppState>,
    AuthOperator(operator): AuthOperator,
) -> Result<Json<Vec<datavow_core::mail::DeadLetter>>, ApiError> {
    Ok(Json(
        datavow_core::mail::dead_letters(&state.app, &operator)
            .await
            .map_err(crate::api::recovery::mail_error)?,
    ))
}

/// A person's marketing choice, as they told an operator.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarketingChoice {
    pub opt_in: bool,
}

/// Records a marketing choice a person made by phone or letter (roles that answer
/// requests); stored as made by an operator.
#[utoipa::path(put, path = "/api/v1/admin/persons/{id}/marketing", tag = "operators",
    params(("id" = String, Path, description = "Person id")),
    request_body = MarketingChoice,
    security(("operator_token" = [])),
    responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn set_marketing(
    State(state): State<AppState>,
    AuthOperator(operator): AuthOperator,
    Path(id): Path<String>,
    ApiJson(choice): ApiJson<MarketingChoice>,
) -> Result<StatusCode, ApiError> {
    let person = parse_person_id(&id)?;
    persons::set_marketing(&state.app, &operator, person, choice.opt_in)
        .await
        .map_err(persons_error)?;
    Ok(StatusCode::NO_CONTENT)
}
