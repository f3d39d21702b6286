//! Data-subject requests: the open ones by deadline (overdue first), registering one
//! that arrived by mail, letter or phone, and closing one. Roles that answer people's
//! requests only.

use super::{allowed, csrf_ok, field, layout, respond, see_other, Frame, SignedIn};
use crate::{ApiError, AppState};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use datavow_core::access::OperatorAct;
use datavow_core::persons::PersonKey;
use datavow_core::requests::{self, By, RequestError};
use maud::{html, Markup};
use std::collections::HashMap;

/// The form that registers a request: for a person already found (by Datavow's id),
/// else by email address or userID.
pub(super) fn register_form(f: &Frame, person: Option<uuid::Uuid>) -> Markup {
    html! {
        form method="post" action="/admin/requests" id="register-request" {
            input type="hidden" name="_csrf" value=(f.csrf);
            @match person {
                Some(id) => input type="hidden" name="person" value=(id);,
                None => {
                    label for="req-email" { (f.t("email")) }
                    input id="req-email" name="email" type="email";
                    label for="req-user-id" { (f.t("or_user_id")) }
                    input id="req-user-id" name="user_id" type="text";
                },
            }
            label for="kind" { (f.t("kind")) }
            select id="kind" name="kind" { @for k in requests::KINDS { option value=(k) { (k) } } }
            label for="received" { (f.t("received_on")) }
            input id="received" name="received" type="date";
            label for="channel" { (f.t("channel")) }
            select id="channel" name="channel" { @for c in ["email", "letter", "phone"] { option value=(c) { (c) } } }
            p { button type="submit" { (f.t("register_request")) } }
        }
    }
}

/// The list again with an alert.
async fn alert(
    state: &AppState,
    who: &SignedIn,
    status: StatusCode,
    text: &str,
) -> Result<Response, ApiError> {
    list(state, who, status, Some((false, text.to_owned()))).await
}

fn request_error(err: RequestError) -> ApiError {
    match err {
        RequestError::Persons(p) => crate::api::admin::persons_error(p),
        RequestError::Store(s) if s.is_unavailable() => ApiError::unavailable(s),
        other => ApiError::internal(other),
    }
}

async fn list(
    state: &AppState,
    who: &SignedIn,
    status: StatusCode,
    notice: Option<(bool, String)>,
) -> Result<Response, ApiError> {
    let f = &who.frame;
    let open = requests::open(&state.app, By::Operator(&who.op))
        .await
        .map_err(request_error)?;
    let now = chrono::Utc::now();
    let body = html! {
        @if let Some((ok, text)) = &notice { p role=(if *ok { "status" } else { "alert" }) { (text) } }
        @if open.is_empty() { p class="empty" { (f.t("requests_empty")) } }
        @else {
            table id="open-requests" {
                tr { th { (f.t("request")) } th { (f.t("kind")) } th { (f.t("channel")) } th { (f.t("received")) } th { (f.t("due")) } th {} }
                @for r in &open {
                    tr id={ "r-" (r.id) } {
                        td { code { (r.id) } }
                        td { (r.kind) }
                        td { (r.channel) }
                        td { (r.received_at.format("%Y-%m-%d")) }
                        td class=(if r.overdue(now) { "overdue" } else { "" }) { (r.due) @if r.overdue(now) { " · " (f.t("overdue")) } }
                        td {
                            form method="post" action={ "/admin/requests/" (r.id) "/close" } class="inline" {
                                input type="hidden" name="_csrf" value=(f.csrf);
                                button type="submit" name="status" value="completed" { (f.t("mark_done")) }
                            }
                            details {
                                summary { (f.t("extend")) }
                                form method="post" action={ "/admin/requests/" (r.id) "/extend" } {
                                    input type="hidden" name="_csrf" value=(f.csrf);
                                    label for={ "months-" (r.id) } { (f.t("extend_months")) }
                                    select id={ "months-" (r.id) } name="months" { option value="1" { "1" } option value="2" { "2" } }
                                    label for={ "reason-" (r.id) } { (f.t("extend_reason")) }
                                    input id={ "reason-" (r.id) } name="reason" type="text" maxlength="500" required;
                                    p { button type="submit" { (f.t("extend")) } }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { (f.t("register_request")) }
        (register_form(f, None))
    };
    Ok(respond(
        f,
        status,
        layout(state, who, f.t("requests_title"), body),
        &[],
    ))
}

pub(super) async fn list_page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let who = match allowed(&state, &headers, OperatorAct::HandleRequests).await {
        Ok(who) => who,
        Err(response) => return Ok(response),
    };
    list(&state, &who, StatusCode::OK, None).await
}

pub(super) async fn register(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let who = match allowed(&state, &headers, OperatorAct::HandleRequests).await {
        Ok(who) => who,
        Err(response) => return Ok(response),
    };
    let f = &who.frame;
    if !csrf_ok(f, &form) {
        return alert(&state, &who, StatusCode::FORBIDDEN, f.t("form_expired")).await;
    }
    let key = match (
        field(&form, "person").and_then(|p| uuid::Uuid::try_parse(&p).ok()),
        field(&form, "email"),
        field(&form, "user_id"),
    ) {
        (Some(id), None, None) => PersonKey::Id(id),
        (None, Some(email), None) => PersonKey::Email(email),
        (None, None, Some(id)) => PersonKey::UserId(id),
        _ => return alert(&state, &who, StatusCode::BAD_REQUEST, f.t("one_key")).await,
    };
    let received = match field(&form, "received") {
        None => chrono::Utc::now(),
        Some(day) => match chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d") {
            Ok(day) => day.and_time(chrono::NaiveTime::MIN).and_utc(),
            Err(_) => return alert(&state, &who, StatusCode::BAD_REQUEST, f.t("bad_date")).await,
        },
    };
    let kind = field(&form, "kind").unwrap_or_default();
    let channel = field(&form, "channel").unwrap_or_else(|| "email".into());
    match requests::register(
        &state.app,
        By::Operator(&who.op),
        &key,
        &kind,
        received,
        &channel,
    )
    .await
    {
        Ok(r) => {
            let text = format!("{} {} · {} {}", f.t("registered"), r.id, f.t("due"), r.due);
            list(&state, &who, StatusCode::CREATED, Some((true, text))).await
        }
        Err(err @ (RequestError::UnknownKind(_) | RequestError::ReceivedInFuture)) => {
            alert(&state, &who, StatusCode::BAD_REQUEST, &err.to_string()).await
        }
        Err(RequestError::NobodyMatches) => {
            alert(&state, &who, StatusCode::NOT_FOUND, f.t("nobody")).await
        }
        Err(err) => Err(request_error(err)),
    }
}

pub(super) async fn close(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let who = match allowed(&state, &headers, OperatorAct::HandleRequests).await {
        Ok(who) => who,
        Err(response) => return Ok(response),
    };
    let f = &who.frame;
    if !csrf_ok(f, &form) {
        return alert(&state, &who, StatusCode::FORBIDDEN, f.t("form_expired")).await;
    }
    let Ok(id) = uuid::Uuid::try_parse(&id) else {
        return alert(&state, &who, StatusCode::NOT_FOUND, f.t("no_request")).await;
    };
    let status = field(&form, "status").unwrap_or_else(|| "completed".into());
    match requests::close(&state.app, By::Operator(&who.op), id, &status, None).await {
        Ok(_) => Ok(see_other("/admin/requests")),
        Err(RequestError::NotFound) => {
            alert(&state, &who, StatusCode::NOT_FOUND, f.t("no_request")).await
        }
        Err(err @ RequestError::Closed(_)) => {
            alert(&state, &who, StatusCode::CONFLICT, &err.to_string()).await
        }
        Err(err) => Err(request_error(err)),
    }
}

pub(super) async fn extend(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let who = match allowed(&state, &headers, OperatorAct::HandleRequests).await {
        Ok(who) => who,
        Err(response) => return Ok(response),
    };
    let f = &who.frame;
    if !csrf_ok(f, &form) {
        return alert(&state, &who, StatusCode::FORBIDDEN, f.t("form_expired")).await;
    }
    let (Ok(id), Some(months)) = (
        uuid::Uuid::try_parse(&id),
        field(&form, "months").and_then(|m| m.parse::<u32>().ok()),
    ) else {
        return alert(&state, &who, StatusCode::BAD_REQUEST, f.t("no_request")).await;
    };
    let reason = field(&form, "reason").unwrap_or_default();
    match requests::extend(&state.app, By::Operator(&who.op), id, months, &reason).await {
        Ok(done) => {
            let told = if done.person_told {
                f.t("person_told")
            } else {
                f.t("person_not_told")
            };
            let text = format!(
                "{} {} · {} {} · {told}",
                f.t("extended"),
                done.request.id,
                f.t("due"),
                done.request.due
            );
            list(&state, &who, StatusCode::OK, Some((true, text))).await
        }
        Err(RequestError::NotFound) => {
            alert(&state, &who, StatusCode::NOT_FOUND, f.t("no_request")).await
        }
        Err(err @ (RequestError::ExtensionTooLong(_) | RequestError::BadReason)) => {
            alert(&state, &who, StatusCode::BAD_REQUEST, &err.to_string()).await
        }
        Err(err @ RequestError::Closed(_)) => {
            alert(&state, &who, StatusCode::CONFLICT, &err.to_string()).await
        }
        Err(err) => Err(request_error(err)),
    }
}
