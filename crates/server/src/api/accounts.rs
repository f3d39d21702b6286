//! The account API (SPEC §3, P1–P4, P13): sign-up, sign-in, the person's own data,
//! corrections, export, erasure request, marketing switch, password change, and the
//! contact form for visitors.

use crate::api::admin::{vault_error, AccessEntry};
use crate::error::FieldError;
use crate::json::ApiJson;
use crate::{ApiError, AppState};
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use datavow_core::accounts::{
    self, AccountError, ContactInput, Profile, ProfileUpdate, SignUpInput, SignedIn,
};
use datavow_core::VaultError;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use utoipa::ToSchema;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "dv_session";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/accounts", post(sign_up))
        .route("/api/v1/session", post(sign_in).delete(sign_out))
        .route("/api/v1/me", get(me).patch(update_me))
        .route("/api/v1/me/export", get(export))
        .route("/api/v1/me/erasure", post(request_erasure))
        .route("/api/v1/me/marketing", post(set_marketing))
        .route("/api/v1/me/password", post(change_password))
        .route("/api/v1/me/access-log", get(access_log))
        .route("/api/v1/contact", post(contact))
}

/// Maps account errors to API errors. Messages never carry submitted values.
pub(crate) fn account_error(err: AccountError) -> ApiError {
    match err {
        AccountError::CardNumber => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "card_number_refused",
            "a payment card number was found in the input; we never store card data, so nothing was saved",
        ),
        AccountError::Invalid(problems) => {
            let message = problems
                .iter()
                .map(|p| p.message.clone())
                .collect::<Vec<_>>()
                .join("; ");
            let mut error = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message);
            error.fields = Some(
                problems
                    .into_iter()
                    .map(|p| FieldError {
                        field: p.field.to_owned(),
                        code: p.code.to_owned(),
                        message: p.message,
                    })
                    .collect(),
            );
            error
        }
        AccountError::UnderAgeOfConsent(age) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "under_age_of_consent",
            format!("our services are not directed to children: you must be at least {age} to sign up without parental consent; nothing was saved"),
        ),
        AccountError::EmailTaken => ApiError::new(StatusCode::CONFLICT, "email_taken", "another account already uses this email address"),
        AccountError::BadCredentials => ApiError::new(StatusCode::UNAUTHORIZED, "invalid_credentials", "the userID or password is wrong"),
        AccountError::TooManyAttempts(wait) => {
            let mut error = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                AccountError::TooManyAttempts(wait).to_string(),
            );
            error.retry_after = Some(wait.as_secs().max(1));
            error
        }
        AccountError::Busy => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", "the service is busy; try again in a moment"),
        AccountError::NotSignedIn => not_signed_in(),
        AccountError::NotFound => ApiError::new(StatusCode::NOT_FOUND, "not_found", "not found"),
        AccountError::BadIdempotencyKey => ApiError::new(StatusCode::BAD_REQUEST, "invalid_idempotency_key", AccountError::BadIdempotencyKey.to_string()),
        AccountError::IdempotencyKeyReused => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused", AccountError::IdempotencyKeyReused.to_string()),
        AccountError::IdempotencyInProgress => {
            let mut error = ApiError::new(StatusCode::CONFLICT, "idempotency_key_in_progress", AccountError::IdempotencyInProgress.to_string());
            error.retry_after = Some(1);
            error
        }
        AccountError::Vault(VaultError::Shredded) => not_signed_in(),
        AccountError::Vault(err) => vault_error(err),
        AccountError::Denied(d) => crate::api::admin::denied(d),
        AccountError::Store(err) if err.is_unavailable() => ApiError::unavailable(err),
        AccountError::Store(err) => ApiError::internal(err),
        AccountError::Internal(cause) => ApiError::internal(cause),
    }
}

fn not_signed_in() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "not_signed_in", "sign in first")
}

/// The session token of a request: bearer header first, then the cookie.
pub(crate) fn session_token(headers: &HeaderMap) -> Option<String> {
    if let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(token.trim().to_owned());
    }
    cookie(headers, SESSION_COOKIE)
}

/// A cookie's value.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A signed-in person (session cookie or `Authorization: Bearer dvs_…`).
#[derive(Debug, Clone)]
pub struct AuthPerson(pub SignedIn);

impl FromRequestParts<AppState> for AuthPerson {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = session_token(&parts.headers).ok_or_else(not_signed_in)?;
        if !parts.method.is_safe() && !has_bearer(&parts.headers) && !same_origin(&parts.headers) {
            // A browser's cookie on a request another site started: refused, whatever
            // the cookie's SameSite setting did (an erasure happens at once).
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "cross_site_request",
                "a request changing your account must come from this site, or carry a bearer token",
            ));
        }
        match accounts::session_person(&state.app, &token).await {
            Ok(Some(person)) => Ok(AuthPerson(person)),
            Ok(None) => Err(not_signed_in()),
            Err(err) => Err(account_error(err)),
        }
    }
}

fn has_bearer(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer "))
}

/// Whether a cookie-borne request that changes something came from this site: its
/// `Origin` (or, without one, its `Referer`) names this host, or the browser says
/// `Sec-Fetch-Site: same-origin`. A request with none of these (not a browser's) is
/// refused too.
fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin";
    }
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let source = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok());
    source.is_some_and(|s| {
        let rest = s.split_once("://").map_or("", |(_, r)| r);
        rest.split('/').next() == Some(host)
    })
}

/// The caller's address (behind a trusted proxy, the forwarded client's), for the
/// sign-in throttle and the locale; `None` without connection information.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl ClientAddr {
    /// The address as a throttle key.
    pub fn key(&self) -> String {
        self.0
            .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
    }
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| {
                crate::api::locale::client_ip(
                    c.0.ip(),
                    &parts.headers,
                    &state.options.trusted_proxies,
                )
            }),
        ))
    }
}

/// A `Set-Cookie` value for the session.
pub(crate) fn session_cookie(state: &AppState, token: &str, max_age_secs: i64) -> HeaderValue {
    let secure = if state.options.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The body of `POST /api/v1/accounts` (SPEC §3).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SignUpRequest {
    pub name: String,
    pub company: Option<String>,
    pub email: String,
    pub phone: Option<String>,
    pub postal_address: Option<PostalAddressBody>,
    pub business_sector: Option<String>,
    pub interest: Option<String>,
    /// `YYYY-MM-DD`; under the country's age of digital consent, nothing is stored.
    pub birth_date: Option<String>,
    pub marketing_opt_in: Option<bool>,
    /// A controlling entity id from the policy; by default chosen from the country.
    pub entity: Option<String>,
}

datavow_policy::redacted_debug!(SignUpRequest {
    name,
    company,
    email,
    phone,
    postal_address,
    business_sector,
    interest,
    birth_date,
    marketing_opt_in,
    entity
});

/// A postal address.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PostalAddressBody {
    pub street: String,
    pub postal_code: String,
    pub city: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
}

datavow_policy::redacted_debug!(PostalAddressBody {
    street,
    postal_code,
    city,
    country
});

/// The credentials, shown this once.
#[derive(Serialize, ToSchema)]
pub struct SignUpResponse {
    pub user_id: String,
    pub password: String,
    pub entity: String,
}

datavow_policy::redacted_debug!(SignUpResponse {
    user_id,
    password,
    entity
});

/// Creates an account; the generated userID and password are in the answer, and only there.
///
/// With an `Idempotency-Key` header (a random UUID), the same request repeated within
/// 15 minutes answers the same credentials (with `Idempotent-Replayed: true`) instead
/// of a second account: a client that lost the answer retries safely.
#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts",
    request_body = SignUpRequest,
    params(
        ("Idempotency-Key" = Option<String>, Header, nullable = false, pattern = "^[A-Za-z0-9_-]{16,200}$", description = "16 to 200 letters, digits, '-' or '_': a random UUID. Repeating the request with it within 15 minutes answers the same credentials."),
    ),
    responses(
        (status = 201, body = SignUpResponse),
        (status = 400, description = "Malformed JSON, an unknown field, or a malformed Idempotency-Key", body = crate::error::ErrorBody),
        (status = 409, description = "The email address is taken, or a sign-up with this Idempotency-Key is in progress", body = crate::error::ErrorBody),
        (status = 422, description = "A field is invalid, a card number was sent, the person is under the age of consent, or the Idempotency-Key was used for other content", body = crate::error::ErrorBody),
    ))]
pub(crate) async fn sign_up(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<SignUpInput>,
) -> Result<Response, ApiError> {
    // An empty header is no key at all.
    let key = headers
        .get("idempotency-key")
        .filter(|v| !v.is_empty())
        .map(|v| SecretString::from(v.to_str().unwrap_or_default().to_owned()));
    let (account, replayed) = match key {
        Some(key) => accounts::sign_up_idempotent(&state.app, &input, &key).await,
        None => accounts::sign_up(&state.app, &input)
            .await
            .map(|a| (a, false)),
    }
    .map_err(account_error)?;
    let body = SignUpResponse {
        user_id: account.user_id,
        password: account.password.expose_secret().to_owned(),
        entity: account.entity,
    };
    let mut response = (
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        Json(body),
    )
        .into_response();
    if replayed {
        response.headers_mut().insert(
            "idempotent-replayed",
            axum::http::HeaderValue::from_static("true"),
        );
    }
    Ok(response)
}

/// Sign-in credentials.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInRequest {
    pub user_id: String,
    pub password: String,
}

datavow_policy::redacted_debug!(SignInRequest { user_id, password });

/// A session: the token also comes as an HttpOnly cookie.
#[derive(Serialize, ToSchema)]
pub struct SignInResponse {
    /// Send as `Authorization: Bearer <token>` from API clients.
    pub token: String,
    pub expires_at: String,
}

datavow_policy::redacted_debug!(SignInResponse { token, expires_at });

/// Signs in. Unknown userID and wrong password get the same answer.
#[utoipa::path(post, path = "/api/v1/session", tag = "accounts",
    request_body = SignInRequest,
    responses(
        (status = 200, body = SignInResponse),
        (status = 401, body = crate::error::ErrorBody),
        (status = 429, description = "Too many failed attempts", body = crate::error::ErrorBody),
    ))]
pub(crate) async fn sign_in(
    State(state): State<AppState>,
    client: ClientAddr,
    ApiJson(request): ApiJson<SignInRequest>,
) -> Result<Response, ApiError> {
    let password = SecretString::from(request.password);
    let session = accounts::sign_in(&state.app, &request.user_id, &password, &client.key())
        .await
        .map_err(account_error)?;
    let token = session.token.expose_secret().to_owned();
    let cookie = session_cookie(&state, &token, accounts::SESSION_LIFETIME.as_secs() as i64);
    let body = SignInResponse {
        token,
        expires_at: session
            .expires_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    };
    Ok((
        [
            (header::SET_COOKIE, cookie),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        Json(body),
    )
        .into_response())
}

/// Signs out.
#[utoipa::path(delete, path = "/api/v1/session", tag = "accounts", responses((status = 204)))]
pub(crate) async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(token) = session_token(&headers) {
        accounts::sign_out(&state.app, &token)
            .await
            .map_err(account_error)?;
    }
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, session_cookie(&state, "", 0))],
    )
        .into_response())
}

/// Everything the account holds (but the password hash).
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts",
    responses((status = 200, description = "The person's own data, controlling entity and policy version"), (status = 401, body = crate::error::ErrorBody)))]
pub(crate) async fn me(
    State(state): State<AppState>,
    AuthPerson(me): AuthPerson,
) -> Result<Json<Profile>, ApiError> {
    Ok(Json(
        accounts::profile(&state.app, &me)
            .await
            .map_err(account_error)?,
    ))
}

/// Corrections: any of name, company, email, phone, postal_address, business_sector, interest.
#[utoipa::path(patch, path = "/api/v1/me", tag = "accounts",
    request_body = ProfileUpdateRequest,
    responses((status = 200, description = "The corrected data"), (status = 400, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(crate) async fn update_me(
    State(state): State<AppState>,
    AuthPerson(me): AuthPerson,
    ApiJson(update): ApiJson<ProfileUpdate>,
) -> Result<Json<Profile>, ApiError> {
    accounts::update_profile(&state.app, &me, &update)
        .await
        .map_err(account_error)?;
    Ok(Json(
        accounts::profile(&state.app, &me)
            .await
            .map_err(account_error)?,
    ))
}

/// Everything held about the person, as a JSON download.
#[utoipa::path(get, path = "/api/v1/me/export", tag = "accounts",
    responses((status = 200, description = "A JSON document with all data held"), (status = 401, body = crate::error::ErrorBody)))]
pub(crate) async fn export(
    State(state): State<AppState>,
    AuthPerson(me): AuthPerson,
) -> Result<Response, ApiError> {
    let document = accounts::export(&state.app, &me)
        .await
        .map_err(account_error)?;
    let body = serde_json::to_string_pretty(&document).map_err(ApiError::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"datavow-export.json\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response())
}

/// A class of data kept after erasure, and why (P14).
#[derive(Debug, Serialize, ToSchema)]
pub struct KeptBody {
    /// The retention class, such as `invoices:asergo_europe:2026`.
    pub class: String,
    pub categories: Vec<String>,
    pub legal_ground: String,
    /// When it is destroyed (RFC 3339), if its period has an end yet.
    pub until: Option<String>,
    /// The only purpose that may read it from now on.
    pub readable_for: String,
}

/// What an erasure request did: the account is erased at once.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErasureReceiptBody {
    /// The request that asked for it (none for an operator's child flag).
    pub request_id: Option<String>,
    pub kind: String,
    pub status: String,
    pub erased_at: String,
    /// Categories whose data is destroyed, in the database and in every backup.
    pub erased: Vec<String>,
    pub kept: Vec<KeptBody>,
}

/// The answer about an erasure, with the request that asked for it if any.
pub(crate) fn erasure_body(
    request: Option<datavow_core::accounts::SubjectRequest>,
    result: datavow_core::erasure::ErasureResult,
) -> ErasureReceiptBody {
    let (request_id, kind, status) = match request {
        Some(r) => (Some(r.id.to_string()), r.kind, r.status),
        None => (
            None,
            format!("erasure ({})", result.reason.as_str()),
            "completed".into(),
        ),
    };
    ErasureReceiptBody {
        request_id,
        kind,
        status,
        erased_at: result.erased_at,
        erased: result.erased,
        kept: result
            .kept
            .into_iter()
            .map(|k| KeptBody {
                class: k.class,
                categories: k.categories,
                legal_ground: k.legal_ground,
                until: k.until,
                readable_for: k.readable_for,
            })
            .collect(),
    }
}

/// Erases the account at once (P13, P14) and says what was erased and what is kept,
/// on which legal ground, until when. The session ends with the account.
#[utoipa::path(post, path = "/api/v1/me/erasure", tag = "accounts", responses((status = 200, body = ErasureReceiptBody), (status = 401, body = crate::error::ErrorBody)))]
pub(crate) async fn request_erasure(
    State(state): State<AppState>,
    AuthPerson(me): AuthPerson,
) -> Result<Response, ApiError> {
    let receipt = accounts::request_erasure(&state.app, &me)
        .await
        .map_err(account_error)?;
    let body = erasure_body(Some(receipt.request), receipt.result);
    Ok((
        StatusCode::OK,
        [(header::SET_COOKIE, session_cookie(&state, "", 0))],
        Json(body),
    )
        .into_response())
}

/// The marketing switch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarketingRequest {
    pub opt_in: bool,
}

/// Turns marketing on or off, effective at once.
#[utoipa::path(post, path = "/api/v1/me/marketing", tag = "accounts", request_body = MarketingRequest, responses((status = 204), (status = 401, body = crate::error::ErrorBody)))]
pub(crate) async fn set_marketing(
    State(state): State<AppState>,
    AuthPerson(me): AuthPerson,
    ApiJson(request): ApiJson<MarketingRequest>,
) -> Result<StatusCode, ApiError> {
    accounts::set_marketing(&state.app, &me, request.opt_in)
        .await
        .map_err(account_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// A password change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    /// At least 12 characters, not a common password.
    pub new_password: String,
}

datavow_policy::redacted_debug!(PasswordChange {
    current_password,
    new_password
});

/// Changes the password; every session ends.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "accounts", request_body = PasswordChange,
    responses((status = 204), (status = 401, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(crate) async fn change_password(
    State(state): State<AppState>,
    AuthPerson(me): AuthPerson,
    ApiJson(request): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let current = SecretString::from(request.current_password);
    let new = SecretString::from(request.new_password);
    accounts::change_password(&state.app, &me, &current, &new)
        .await
        .map_err(account_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who accessed the person's data, when and for which purpose.
#[utoipa::path(get, path = "/api/v1/me/access-log", tag = "accounts", responses((status = 200, body = [AccessEntry]), (status = 401, body = crate::error::ErrorBody)))]
pub(crate) async fn access_log(
    State(state): State<AppState>,
    AuthPerson(me): AuthPerson,
) -> Result<Json<Vec<AccessEntry>>, ApiError> {
    let entries = accounts::access_log(&state.app, &me, 500)
        .await
        .map_err(account_error)?;
    Ok(Json(entries.into_iter().map(AccessEntry::from).collect()))
}

/// The body of `PATCH /api/v1/me`: only the fields to correct.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ProfileUpdateRequest {
    pub name: Option<String>,
    pub company: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub postal_address: Option<PostalAddressBody>,
    pub business_sector: Option<String>,
    pub interest: Option<String>,
}

datavow_policy::redacted_debug!(ProfileUpdateRequest {
    name,
    company,
    email,
    phone,
    postal_address,
    business_sector,
    interest
});

/// The contact form body.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ContactRequest {
    pub name: String,
    pub company: Option<String>,
    pub email: String,
    pub phone: Option<String>,
    pub message: String,
}

datavow_policy::redacted_debug!(ContactRequest {
    name,
    company,
    email,
    phone,
    message
});

/// Receives a contact-form enquiry from a visitor without an account.
#[utoipa::path(post, path = "/api/v1/contact", tag = "accounts", request_body = ContactRequest,
    responses((status = 202), (status = 400, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(crate) async fn contact(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<ContactInput>,
) -> Result<StatusCode, ApiError> {
    accounts::contact(&state.app, &input)
        .await
        .map_err(account_error)?;
    Ok(StatusCode::ACCEPTED)
}

#[cfg(test)]
mod tests {
    #[test]
    fn requests_carrying_passwords_print_redacted() {
        let sign_in = super::SignInRequest {
            user_id: "K7Q2-M9XP".into(),
            password: "correct horse battery".into(),
        };
        let change = super::PasswordChange {
            current_password: "correct horse battery".into(),
            new_password: "staple staple staple".into(),
        };
        let shown = format!("{sign_in:?} {change:?}");
        for secret in ["K7Q2", "correct horse", "staple"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
