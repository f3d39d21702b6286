//! The OpenAPI document, generated from the handlers with utoipa and served at
//! `/api/v1/openapi.json`. A committed copy in `docs/openapi.json` is checked against
//! it by a test, so the published contract cannot drift silently.

use crate::AppState;
use axum::routing::get;
use axum::{Json, Router};
use utoipa::OpenApi;

#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "Datavow API", description = "Customer data platform that keeps the promises of its privacy policy."),
    paths(
        crate::health::healthz,
        crate::locale::locale,
        crate::accounts_api::sign_up,
        crate::accounts_api::sign_in,
        crate::accounts_api::sign_out,
        crate::accounts_api::me,
        crate::accounts_api::update_me,
        crate::accounts_api::export,
        crate::accounts_api::request_erasure,
        crate::accounts_api::set_marketing,
        crate::accounts_api::change_password,
        crate::accounts_api::access_log,
        crate::accounts_api::contact,
        crate::admin::search,
        crate::admin::view,
        crate::admin::access_log,
        crate::admin::set_payment_reference,
        crate::events::post_events,
    ),
    components(schemas(
        crate::error::ErrorBody,
        crate::error::ErrorDetail,
        crate::error::FieldError,
        crate::health::Health,
        crate::locale::Locale,
        crate::accounts_api::SignUpRequest,
        crate::accounts_api::PostalAddressBody,
        crate::accounts_api::SignUpResponse,
        crate::accounts_api::SignInRequest,
        crate::accounts_api::SignInResponse,
        crate::accounts_api::RequestReceipt,
        crate::accounts_api::MarketingRequest,
        crate::accounts_api::PasswordChange,
        crate::accounts_api::ContactRequest,
        crate::admin::SearchRequest,
        crate::admin::SearchResult,
        crate::admin::PersonView,
        crate::admin::EntityView,
        crate::admin::AccessEntry,
        crate::admin::PaymentReferenceRequest,
        crate::events::EventBatch,
        crate::events::EventReceipt,
    )),
    modifiers(&OperatorToken),
    tags(
        (name = "operations", description = "Health and monitoring"),
        (name = "accounts", description = "Sign-up, sign-in and the person's own data"),
        (name = "operators", description = "Staff access to personal data, purpose-bound and audited"),
    ),
)]
pub struct ApiDoc;

/// Declares the operator bearer token scheme.
#[derive(Debug)]
struct OperatorToken;

impl utoipa::Modify for OperatorToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "operator_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document as pretty JSON, exactly as served.
pub fn document() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/openapi.json", get(serve_document))
}

async fn serve_document() -> Json<serde_json::Value> {
    Json(serde_json::to_value(ApiDoc::openapi()).unwrap_or_default())
}
