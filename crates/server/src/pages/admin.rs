//! Operator pages under `/admin` (P11, P12): find a person and view their data for a
//! stated purpose, without JavaScript. The browser's own HTTP Basic prompt carries the
//! operator's name and API token; the search form is a POST with a CSRF token, so
//! emails never appear in URLs. Everything is audited through the vault.

use crate::api::accounts::cookie;
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use datavow_core::access::{self, OperatorAct};
use datavow_core::operators::{self, Operator};
use datavow_core::persons::{self, PersonKey, PersonsError};
use datavow_core::VaultError;
use datavow_policy::Purpose;
use maud::{html, Markup, DOCTYPE};
use std::collections::HashMap;
use subtle::ConstantTimeEq;

const CSRF_COOKIE: &str = "dv_admin_csrf";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(search_page))
        .route("/admin/person", post(person_page))
        .route(
            "/admin/marketing",
            get(marketing_page).post(marketing_submit),
        )
}

fn challenge() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(
            header::WWW_AUTHENTICATE,
            "Basic realm=\"Datavow operators\", charset=\"UTF-8\"",
        )],
        Html("<p>Sign in with your operator name and API token.</p>"),
    )
        .into_response()
}

/// The operator named in `Authorization: Basic name:token`, if the token is theirs.
async fn operator(state: &AppState, headers: &HeaderMap) -> Result<Option<Operator>, ApiError> {
    let Some(encoded) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    else {
        return Ok(None);
    };
    let Some(decoded) = base64_decode(encoded.trim()) else {
        return Ok(None);
    };
    let Some((name, token)) = decoded.split_once(':') else {
        return Ok(None);
    };
    let found = operators::authenticate_token(&state.app, token)
        .await
        .map_err(ApiError::unavailable)?;
    Ok(found.filter(|op| bool::from(op.name.as_bytes().ct_eq(name.as_bytes()))))
}

/// Decodes the standard base64 of HTTP Basic credentials.
fn base64_decode(text: &str) -> Option<String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()?;
    String::from_utf8(bytes).ok()
}

// Owning `body` keeps call sites as plain `html! { … }` blocks.
#[allow(clippy::needless_pass_by_value)]
fn page(title: &str, operator: &Operator, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { (title) " · Datavow operators" }
                style { "body{font-family:system-ui,sans-serif;max-width:52rem;margin:0 auto;padding:1rem}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #dde;padding:.3rem;text-align:left}label{display:block;margin-top:.6rem}.withheld{color:#666}" }
            }
            body {
                p {
                    "Signed in as " strong { (operator.name) } " (" (operator.role) ")" " · " a href="/admin" { "Search" }
                    @if operator.role == datavow_policy::Role::Marketing { " · " a href="/admin/marketing" { "Marketing" } }
                }
                h1 { (title) }
                (body)
            }
        }
    }
}

fn csrf(headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    match cookie(headers, CSRF_COOKIE).filter(|c| c.len() == 32) {
        Some(existing) => (existing, None),
        None => {
            let fresh = operators::random_text(32);
            let set = HeaderValue::from_str(&format!(
                "{CSRF_COOKIE}={fresh}; Path=/admin; HttpOnly; SameSite=Strict"
            ))
            .ok();
            (fresh, set)
        }
    }
}

/// Whether the form's CSRF token is the cookie's (double submit).
fn csrf_matches(headers: &HeaderMap, form: &HashMap<String, String>) -> bool {
    match (cookie(headers, CSRF_COOKIE), form.get("_csrf")) {
        (Some(c), Some(f)) => c.len() == 32 && bool::from(c.as_bytes().ct_eq(f.as_bytes())),
        _ => false,
    }
}

fn with_cookie(markup: Markup, status: StatusCode, set: Option<HeaderValue>) -> Response {
    let mut response = (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Html(markup.into_string()),
    )
        .into_response();
    if let Some(set) = set {
        response.headers_mut().append(header::SET_COOKIE, set);
    }
    response
}

fn search_form(
    operator: &Operator,
    purposes: &[Purpose],
    csrf: &str,
    error: Option<&str>,
) -> Markup {
    html! {
        @if let Some(error) = error { p role="alert" { strong { (error) } } }
        form method="post" action="/admin/person" {
            input type="hidden" name="_csrf" value=(csrf);
            label for="email" { "Email address" }
            input id="email" name="email" type="email";
            label for="user_id" { "or userID" }
            input id="user_id" name="user_id" type="text";
            label for="purpose" { "Purpose of this look-up (your role: " (operator.role) ")" }
            select id="purpose" name="purpose" {
                @for p in purposes { option value=(p.as_str()) { (p.as_str().replace('_', " ")) } }
            }
            p { button type="submit" { "Find and view" } }
        }
    }
}

async fn search_page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some(op) = operator(&state, &headers).await? else {
        return Ok(challenge());
    };
    let (token, set) = csrf(&headers);
    let purposes: Vec<Purpose> = state.app.policy.role_purposes(op.role).collect();
    Ok(with_cookie(
        page(
            "Find a person",
            &op,
            search_form(&op, &purposes, &token, None),
        ),
        StatusCode::OK,
        set,
    ))
}

async fn person_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let Some(op) = operator(&state, &headers).await? else {
        return Ok(challenge());
    };
    let (token, set) = csrf(&headers);
    let purposes: Vec<Purpose> = state.app.policy.role_purposes(op.role).collect();
    let fail = |status: StatusCode, message: &str| {
        with_cookie(
            page(
                "Find a person",
                &op,
                search_form(&op, &purposes, &token, Some(message)),
            ),
            status,
            set.clone(),
        )
    };
    let csrf_ok = csrf_matches(&headers, &form);
    if !csrf_ok {
        return Ok(fail(
            StatusCode::FORBIDDEN,
            "The form expired; search again.",
        ));
    }
    let Some(purpose) = form.get("purpose").and_then(|p| Purpose::parse(p)) else {
        return Ok(fail(StatusCode::BAD_REQUEST, "Choose a purpose."));
    };
    let value = |k: &str| super::field(&form, k);
    let key = match (value("email"), value("user_id")) {
        (Some(email), None) => PersonKey::Email(email),
        (None, Some(id)) => PersonKey::UserId(id),
        _ => {
            return Ok(fail(
                StatusCode::BAD_REQUEST,
                "Give exactly one of email or userID.",
            ))
        }
    };
    // The role's right to the purpose is asked first, so a refused view looks nobody up.
    if let Err(denied) = access::decide(&state.app.policy, op.role, OperatorAct::View(purpose)) {
        return Ok(fail(StatusCode::FORBIDDEN, &denied.message));
    }
    let person = match persons::search(&state.app, &op, &key).await {
        Ok(Some(person)) => person,
        Ok(None) => return Ok(fail(StatusCode::NOT_FOUND, "Nobody matches.")),
        Err(PersonsError::Denied(denied)) => {
            return Ok(fail(StatusCode::FORBIDDEN, &denied.message))
        }
        Err(err) => return Err(crate::api::admin::persons_error(err)),
    };
    let view = match persons::view(&state.app, &op, person, purpose).await {
        Ok(view) => view,
        Err(PersonsError::Vault(VaultError::Shredded)) => {
            return Ok(fail(
                StatusCode::GONE,
                "This person's data has been erased.",
            ))
        }
        Err(PersonsError::Vault(err @ VaultError::NoConsent(_))) => {
            return Ok(fail(StatusCode::FORBIDDEN, &err.to_string()))
        }
        Err(err) => return Err(crate::api::admin::persons_error(err)),
    };
    let log = if access::decide(&state.app.policy, op.role, OperatorAct::ReadAccessLog).is_ok() {
        persons::access_log(&state.app, &op, person, 100)
            .await
            .map_err(crate::api::admin::persons_error)?
    } else {
        Vec::new()
    };
    let body = html! {
        p { "Person " code { (person) } " · purpose " strong { (purpose) } }
        table id="fields" {
            @for (field, value) in &view.fields.0 {
                tr { th { (field) } td { (shown(value)) } }
            }
        }
        @if !view.withheld.is_empty() {
            p class="withheld" { "Withheld for this purpose: " (view.withheld.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")) }
        }
        @if !log.is_empty() {
            h2 { "Access log" }
            table id="access-log" {
                tr { th { "#" } th { "Actor" } th { "Action" } th { "Purpose" } th { "Fields" } th { "Outcome" } }
                @for r in &log {
                    tr { td { (r.seq) } td { (r.actor) } td { (r.action) } td { (r.purpose.clone().unwrap_or_default()) } td { (r.fields.join(",")) } td { (r.outcome) } }
                }
            }
        }
    };
    Ok(with_cookie(page("Person", &op, body), StatusCode::OK, set))
}

fn marketing_form(csrf: &str, notice: Option<&str>) -> Markup {
    html! {
        @if let Some(notice) = notice { p role="status" { strong { (notice) } } }
        p { "The campaign goes only to people who opted in, each in their language (German for Germany, Danish for Denmark, English otherwise), with a one-click unsubscribe link. People who opted out or were erased get nothing." }
        form method="post" action="/admin/marketing" {
            input type="hidden" name="_csrf" value=(csrf);
            label for="subject" { "Subject" }
            input id="subject" name="subject" type="text" required;
            label for="body_en" { "Text in English (required)" }
            textarea id="body_en" name="body_en" rows="6" required {}
            label for="body_de" { "Text in German" }
            textarea id="body_de" name="body_de" rows="6" {}
            label for="body_da" { "Text in Danish" }
            textarea id="body_da" name="body_da" rows="6" {}
            label for="segment" { "Only this business sector (optional)" }
            input id="segment" name="segment" type="text";
            p { button type="submit" { "Queue the campaign" } }
        }
    }
}

async fn marketing_page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some(op) = operator(&state, &headers).await? else {
        return Ok(challenge());
    };
    let (token, set) = csrf(&headers);
    if let Err(denied) = access::decide(
        &state.app.policy,
        op.role,
        OperatorAct::View(Purpose::Marketing),
    ) {
        let body = html! { p role="alert" { (denied.message) } };
        return Ok(with_cookie(
            page("Marketing", &op, body),
            StatusCode::FORBIDDEN,
            set,
        ));
    }
    Ok(with_cookie(
        page("Marketing", &op, marketing_form(&token, None)),
        StatusCode::OK,
        set,
    ))
}

async fn marketing_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let Some(op) = operator(&state, &headers).await? else {
        return Ok(challenge());
    };
    let (token, set) = csrf(&headers);
    let csrf_ok = csrf_matches(&headers, &form);
    let value = |k: &str| super::field(&form, k);
    let respond = |status, notice: &str| {
        with_cookie(
            page("Marketing", &op, marketing_form(&token, Some(notice))),
            status,
            set.clone(),
        )
    };
    if !csrf_ok {
        return Ok(respond(
            StatusCode::FORBIDDEN,
            "The form expired; send it again.",
        ));
    }
    let (Some(subject), Some(english)) = (value("subject"), value("body_en")) else {
        return Ok(respond(
            StatusCode::BAD_REQUEST,
            "A subject and an English text are needed.",
        ));
    };
    let mut bodies = std::collections::BTreeMap::from([("en".to_owned(), english)]);
    for lang in ["de", "da"] {
        if let Some(text) = value(&format!("body_{lang}")) {
            bodies.insert(lang.to_owned(), text);
        }
    }
    let campaign = datavow_core::mail::Campaign {
        subject,
        bodies,
        segment: value("segment"),
    };
    match datavow_core::mail::send_marketing(
        &state.app,
        datavow_core::mail::Sender::Operator(&op),
        &campaign,
    )
    .await
    {
        Ok(summary) => Ok(respond(
            StatusCode::OK,
            &format!(
                "Queued for {} people; {} skipped (no consent, unsubscribed, erased or outside the segment).",
                summary.queued, summary.skipped
            ),
        )),
        Err(datavow_core::mail::MailError::Denied(d)) => Ok(respond(StatusCode::FORBIDDEN, &d.message)),
        Err(datavow_core::mail::MailError::NotConfigured) => Ok(respond(
            StatusCode::SERVICE_UNAVAILABLE,
            "Mail is not configured: set smtp_url, mail_from and public_url.",
        )),
        Err(err) => Err(crate::api::recovery::mail_error(err)),
    }
}

/// A value for a table cell: a postal address as one line of its parts.
fn shown(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Object(parts) => ["street", "postal_code", "city", "country"]
            .iter()
            .filter_map(|k| parts.get(*k).and_then(|v| v.as_str()))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_decodes_basic_credentials() {
        assert_eq!(
            super::base64_decode("YWxpY2U6ZHZvX3Rva2Vu").as_deref(),
            Some("alice:dvo_token")
        );
        assert_eq!(
            super::base64_decode("w7h2ZTpwYXNz").as_deref(),
            Some("øve:pass")
        );
        assert_eq!(super::base64_decode("not*base64"), None);
    }
}
