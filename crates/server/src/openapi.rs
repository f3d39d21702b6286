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
        crate::admin::search,
        crate::admin::view,
        crate::admin::access_log,
    ),
    components(schemas(
        crate::error::ErrorBody,
        crate::error::ErrorDetail,
        crate::health::Health,
        crate::admin::SearchRequest,
        crate::admin::SearchResult,
        crate::admin::PersonView,
        crate::admin::EntityView,
        crate::admin::AccessEntry,
    )),
    modifiers(&OperatorToken),
    tags(
        (name = "operations", description = "Health and monitoring"),
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
