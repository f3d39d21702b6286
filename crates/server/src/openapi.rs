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
        crate::api::policy::versions,
        crate::api::policy::text,
        crate::api::policy::status,
        crate::api::policy::dismiss,
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
        crate::api::accounts::ProfileUpdateRequest,
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
        crate::api::policy::VersionBody,
        crate::api::policy::VersionsBody,
        crate::api::policy::TextBody,
        crate::api::policy::AcknowledgementBody,
        crate::api::policy::NoticeBody,
        crate::api::policy::PolicyStatusBody,
        crate::api::policy::DismissRequest,
        crate::api::events::EventReceipt,
    )),
    modifiers(&OperatorToken, &StandardAnswers),
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

/// The answers every operation of a kind can give, stated once instead of on each
/// handler, so the document says all the server does:
/// - a person's own endpoints (`/api/v1/me…`, sign-out) need their session
///   (`person_session`: the bearer token or the session cookie) and answer 401 without;
/// - an operator's endpoints answer 401 without a valid token;
/// - a JSON body answers 400 when malformed and 415 when not sent as JSON;
/// - every operation but `/healthz` answers 503 (with `Retry-After`) while the store
///   cannot be reached or written;
/// - an operation on a person (`{id}`) answers 404 when there is no such person;
/// - an operation with query parameters answers 400 when one is missing or malformed;
/// - a `purpose` is one of the policy vocabulary's purposes;
/// - request bodies take no property the schema does not name;
/// - the public endpoints that write answer 429 past their rate limit.
#[derive(Debug)]
struct StandardAnswers;

impl utoipa::Modify for StandardAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::Operation;
        use utoipa::openapi::security::{
            HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
        };
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "person_session",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The token from POST /api/v1/session, or its HttpOnly cookie",
                    ))
                    .build(),
            ),
        );
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        let add = |op: &mut Operation, status: &str, description: &str| {
            op.responses
                .responses
                .entry(status.to_owned())
                .or_insert_with(|| error(description).into());
        };
        let mut request_schemas = Vec::new();
        for (path, item) in &mut openapi.paths.paths {
            // Sign-out needs no session: it answers 204 either way.
            let person = path.starts_with("/api/v1/me");
            let ops = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in ops {
                let Some(op) = op.as_mut() else { continue };
                if person && op.security.is_none() {
                    op.security = Some(vec![SecurityRequirement::new(
                        "person_session",
                        Vec::<String>::new(),
                    )]);
                }
                if person || op.security.is_some() {
                    add(op, "401", "Not signed in, or the token is not valid");
                }
                if let Some(body) = &op.request_body {
                    for content in body.content.values() {
                        if let Some(utoipa::openapi::RefOr::Ref(r)) = &content.schema {
                            request_schemas.push(r.ref_location.clone());
                        }
                    }
                    add(
                        op,
                        "400",
                        "The body is not valid JSON or has an unknown field",
                    );
                    add(op, "415", "The body was not sent as application/json");
                }
                if path.contains('{') {
                    add(op, "404", "No such person, or no such link");
                }
                if crate::rate_limit::LIMITED.contains(&path.as_str()) {
                    add(op, "429", "Too many writes from this address in a minute; retry after the Retry-After seconds");
                }
                let mut queries = false;
                for param in op.parameters.iter_mut().flatten() {
                    if param.name == "purpose" {
                        param.schema = Some(purpose_schema().into());
                    }
                    queries |= param.parameter_in == utoipa::openapi::path::ParameterIn::Query;
                }
                if queries {
                    add(op, "400", "A query parameter is missing or malformed");
                }
                if path != "/healthz" {
                    add(op, "503", "The store cannot be reached or written; nothing was changed, retry after the Retry-After seconds");
                }
            }
        }
        let schemas = &mut openapi
            .components
            .get_or_insert_with(Default::default)
            .schemas;
        while let Some(location) = request_schemas.pop() {
            let name = location.rsplit('/').next().unwrap_or_default().to_owned();
            if let Some(utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::Object(
                object,
            ))) = schemas.get_mut(&name)
            {
                if object.additional_properties.is_none() {
                    object.additional_properties = Some(Box::new(
                        utoipa::openapi::schema::AdditionalProperties::FreeForm(false),
                    ));
                    // Nested request objects (a postal address, maybe null) refuse
                    // extras too: every schema a property refers to.
                    for property in object.properties.values() {
                        let json = serde_json::to_value(property).unwrap_or_default();
                        collect_refs(&json, &mut request_schemas);
                    }
                }
            }
        }
    }
}

/// Every `$ref` inside `json`.
fn collect_refs(json: &serde_json::Value, into: &mut Vec<String>) {
    match json {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", serde_json::Value::String(r)) => into.push(r.clone()),
                    _ => collect_refs(value, into),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_refs(v, into)),
        _ => {}
    }
}

/// A purpose: one of the names the policy vocabulary knows.
fn purpose_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(
            datavow_policy::Purpose::ALL.iter().map(|p| p.as_str()),
        ))
        .build()
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
