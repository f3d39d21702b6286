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
        crate::api::locale::locale,
        crate::api::accounts::sign_up,
        crate::api::accounts::sign_in,
        crate::api::accounts::sign_out,
        crate::api::accounts::me,
        crate::api::accounts::update_me,
        crate::api::accounts::export,
        crate::api::accounts::request_erasure,
        crate::api::accounts::set_marketing,
        crate::api::accounts::change_password,
        crate::api::accounts::access_log,
        crate::api::accounts::contact,
        crate::api::admin::search,
        crate::api::admin::view,
        crate::api::admin::access_log,
        crate::api::admin::set_payment_reference,
        crate::api::admin::record_invoice,
        crate::api::admin::invoices,
        crate::api::admin::flag_child,
        crate::api::admin::send_campaign,
        crate::api::admin::dead_letters,
        crate::api::admin::set_marketing,
        crate::api::recovery::request,
        crate::api::recovery::complete,
        crate::api::events::post_events,
    ),
    components(schemas(
        crate::error::ErrorBody,
        crate::error::ErrorDetail,
        crate::error::FieldError,
        crate::health::Health,
        crate::api::locale::Locale,
        crate::api::accounts::SignUpRequest,
        crate::api::accounts::PostalAddressBody,
        crate::api::accounts::SignUpResponse,
        crate::api::accounts::SignInRequest,
        crate::api::accounts::SignInResponse,
        crate::api::accounts::ErasureReceiptBody,
        crate::api::accounts::KeptBody,
        crate::api::accounts::MarketingRequest,
        crate::api::accounts::PasswordChange,
        crate::api::accounts::ContactRequest,
        crate::api::admin::SearchRequest,
        crate::api::admin::InvoiceRequest,
        crate::api::admin::CampaignRequest,
        crate::api::admin::MarketingChoice,
        crate::api::recovery::RecoveryRequest,
        crate::api::recovery::RecoveryAccepted,
        crate::api::recovery::RecoveredBody,
        crate::api::admin::InvoiceBody,
        crate::api::admin::SearchResult,
        crate::api::admin::PersonView,
        crate::api::admin::EntityView,
        crate::api::admin::AccessEntry,
        crate::api::admin::PaymentReferenceRequest,
        crate::api::events::EventBatch,
        crate::api::events::EventReceipt,
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
