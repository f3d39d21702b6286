//! Finding a person and the person page: their data for the chosen purpose, the
//! categories withheld from it, their requests, and (privacy officers) who accessed
//! their data, with the actions the role may take. Emails travel only in POST bodies,
//! never in URLs.

use super::{allowed, csrf_ok, field, layout, respond, signed_in, SignedIn};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use datavow_core::access::{self, OperatorAct};
use datavow_core::persons::{self, PersonKey, PersonsError};
use datavow_core::requests::{self, By};
use datavow_core::VaultError;
use datavow_policy::Purpose;
use maud::{html, Markup};
use std::collections::HashMap;

fn search_form(
    state: &AppState,
    who: &SignedIn,
    action: &str,
    with_purpose: bool,
    error: Option<&str>,
) -> Markup {
    let f = &who.frame;
    let purposes: Vec<Purpose> = state.app.policy.role_purposes(who.op.role).collect();
    html! {
        @if let Some(error) = error { p role="alert" { (error) } }
        form method="post" action=(action) {
            input type="hidden" name="_csrf" value=(f.csrf);
            label for="email" { (f.t("email")) }
            input id="email" name="email" type="email";
            label for="user_id" { (f.t("or_user_id")) }
            input id="user_id" name="user_id" type="text";
            @if with_purpose {
                label for="purpose" { (f.t("purpose_label")) }
                select id="purpose" name="purpose" {
                    @for p in &purposes { option value=(p.as_str()) { (p.as_str().replace('_', " ")) } }
                }
            }
            p { button type="submit" { (f.t("find")) } }
        }
    }
}

/// A page with the search form: where it posts, whether it asks for a purpose, its
/// title.
#[derive(Clone, Copy)]
struct SearchPage {
    action: &'static str,
    with_purpose: bool,
    title: &'static str,
}

const VIEW: SearchPage = SearchPage {
    action: "/admin/person",
    with_purpose: true,
    title: "nav_search",
};
const LOG: SearchPage = SearchPage {
    action: "/admin/access-log",
    with_purpose: false,
    title: "nav_access_log",
};

impl SearchPage {
    /// The form again, with why it could not be answered.
    fn answer(
        self,
        state: &AppState,
        who: &SignedIn,
        status: StatusCode,
        message: Option<&str>,
    ) -> Response {
        let f = &who.frame;
        let form = search_form(state, who, self.action, self.with_purpose, message);
        respond(f, status, layout(state, who, f.t(self.title), form), &[])
    }

    /// The person the form names, after checking its token; else the form again.
    async fn find(
        self,
        state: &AppState,
        who: &SignedIn,
        form: &HashMap<String, String>,
    ) -> Result<Result<datavow_core::PersonId, Response>, ApiError> {
        let f = &who.frame;
        if !csrf_ok(f, form) {
            return Ok(Err(self.answer(
                state,
                who,
                StatusCode::FORBIDDEN,
                Some(f.t("form_expired")),
            )));
        }
        let Some(key) = key_of(form) else {
            return Ok(Err(self.answer(
                state,
                who,
                StatusCode::BAD_REQUEST,
                Some(f.t("one_key")),
            )));
        };
        match persons::search(&state.app, &who.op, &key).await {
            Ok(Some(person)) => Ok(Ok(person)),
            Ok(None) => Ok(Err(self.answer(
                state,
                who,
                StatusCode::NOT_FOUND,
                Some(f.t("nobody")),
            ))),
            Err(PersonsError::Denied(denied)) => Ok(Err(self.answer(
                state,
                who,
                StatusCode::FORBIDDEN,
                Some(&denied.message),
            ))),
            Err(err) => Err(crate::api::admin::persons_error(err)),
        }
    }
}

pub(super) async fn search_page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let who = match signed_in(&state, &headers).await {
        Ok(who) => who,
        Err(response) => return Ok(response),
    };
    Ok(VIEW.answer(&state, &who, StatusCode::OK, None))
}

fn key_of(form: &HashMap<String, String>) -> Option<PersonKey> {
    match (field(form, "email"), field(form, "user_id")) {
        (Some(email), None) => Some(PersonKey::Email(email)),
        (None, Some(id)) => Some(PersonKey::UserId(id)),
        _ => None,
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

fn access_log_table(f: &super::Frame, log: &[datavow_core::audit::AccessEntry]) -> Markup {
    html! {
        @if log.is_empty() { p class="empty" { (f.t("access_log_empty")) } }
        @else {
            table id="access-log" {
                tr { th { (f.t("when")) } th { (f.t("who")) } th { (f.t("action")) } th { (f.t("purpose")) } th { (f.t("fields")) } th { (f.t("result")) } }
                @for r in log {
                    tr { td { (r.at) } td { (r.actor) } td { (r.action) } td { (r.purpose.clone().unwrap_or_default()) } td { (r.fields.join(", ")) } td { (r.outcome) } }
                }
            }
        }
    }
}

pub(super) async fn person_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let who = match signed_in(&state, &headers).await {
        Ok(who) => who,
        Err(response) => return Ok(response),
    };
    let f = &who.frame;
    let op = &who.op;
    let fail = |status, message: &str| VIEW.answer(&state, &who, status, Some(message));
    let Some(purpose) = form.get("purpose").and_then(|p| Purpose::parse(p)) else {
        return Ok(fail(StatusCode::BAD_REQUEST, f.t("choose_purpose")));
    };
    // The role's right to the purpose is asked first, so a refused view looks nobody up.
    if let Err(denied) = access::decide(&state.app.policy, op.role, OperatorAct::View(purpose)) {
        return Ok(fail(StatusCode::FORBIDDEN, &denied.message));
    }
    let person = match VIEW.find(&state, &who, &form).await? {
        Ok(person) => person,
        Err(answer) => return Ok(answer),
    };
    let view = match persons::view(&state.app, op, person, purpose).await {
        Ok(view) => view,
        Err(PersonsError::Vault(VaultError::Shredded)) => {
            return Ok(fail(StatusCode::GONE, f.t("erased")))
        }
        Err(PersonsError::Vault(err @ VaultError::NoConsent(_))) => {
            return Ok(fail(StatusCode::FORBIDDEN, &err.to_string()))
        }
        Err(err) => return Err(crate::api::admin::persons_error(err)),
    };
    let may = |act| access::decide(&state.app.policy, op.role, act).is_ok();
    let person_requests = if may(OperatorAct::HandleRequests) {
        Some(
            requests::of_person(&state.app, By::Operator(op), person)
                .await
                .map_err(ApiError::internal)?,
        )
    } else {
        None
    };
    let log = if may(OperatorAct::ReadAccessLog) {
        Some(
            persons::access_log(&state.app, op, person, 100)
                .await
                .map_err(crate::api::admin::persons_error)?,
        )
    } else {
        None
    };
    let now = chrono::Utc::now();
    let body = html! {
        p { (f.t("person")) " " code id="person-id" { (person) } " · " (f.t("purpose")) " " strong { (purpose) } }
        table id="fields" {
            @for (name, value) in &view.fields.0 {
                tr { th { (name) } td { (shown(value)) } }
            }
        }
        @if view.withheld.is_empty() { p class="withheld" { (f.t("withheld_none")) } }
        @else {
            p class="withheld" id="withheld" { (f.t("withheld")) ": " (view.withheld.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")) }
        }
        @if let Some(list) = &person_requests {
            section id="person-requests" {
                h2 { (f.t("requests_title")) }
                @if list.is_empty() { p class="empty" { (f.t("person_requests_empty")) } }
                @else {
                    table {
                        tr { th { (f.t("kind")) } th { (f.t("status")) } th { (f.t("received")) } th { (f.t("due")) } }
                        @for r in list {
                            tr { td { (r.kind) } td { (r.status) } td { (r.received_at.format("%Y-%m-%d")) }
                                 td class=(if r.overdue(now) { "overdue" } else { "" }) { (r.due) } }
                        }
                    }
                }
                h3 { (f.t("register_request")) }
                (super::requests::register_form(f, Some(person)))
            }
            section id="person-holds" {
                h2 { (f.t("holds_title")) }
                p class="empty" { (f.t("holds_empty")) }
            }
        }
        @if may(OperatorAct::RecordConsent) || may(OperatorAct::FlagChild) {
            section id="person-actions" {
                h2 { (f.t("actions")) }
                @if may(OperatorAct::RecordConsent) {
                    form method="post" action={ "/admin/person/" (person) "/marketing" } id="record-consent" {
                        input type="hidden" name="_csrf" value=(f.csrf);
                        p { (f.t("consent_intro")) }
                        label { input type="radio" name="opt_in" value="no" checked; " " (f.t("consent_no")) }
                        label { input type="radio" name="opt_in" value="yes"; " " (f.t("consent_yes")) }
                        p { button type="submit" { (f.t("consent_record")) } }
                    }
                }
                @if may(OperatorAct::FlagChild) {
                    form method="post" action={ "/admin/person/" (person) "/child" } id="flag-child" {
                        input type="hidden" name="_csrf" value=(f.csrf);
                        p { (f.t("child_intro")) }
                        label { input type="checkbox" name="confirm" value="yes" required; " " (f.t("child_confirm")) }
                        p { button type="submit" { (f.t("child_flag")) } }
                    }
                }
            }
        }
        @if let Some(log) = &log {
            section { h2 { (f.t("access_log_title")) } (access_log_table(f, log)) }
        }
    };
    Ok(respond(
        f,
        StatusCode::OK,
        layout(&state, &who, f.t("person"), body),
        &[],
    ))
}

/// The privacy officer's page: who accessed a person's data, for which purpose.
pub(super) async fn access_log_page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let who = match allowed(&state, &headers, OperatorAct::ReadAccessLog).await {
        Ok(who) => who,
        Err(response) => return Ok(response),
    };
    let f = &who.frame;
    let body = html! { p { (f.t("access_log_intro")) } (search_form(&state, &who, "/admin/access-log", false, None)) };
    Ok(respond(
        f,
        StatusCode::OK,
        layout(&state, &who, f.t("nav_access_log"), body),
        &[],
    ))
}

pub(super) async fn access_log_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let who = match allowed(&state, &headers, OperatorAct::ReadAccessLog).await {
        Ok(who) => who,
        Err(response) => return Ok(response),
    };
    let f = &who.frame;
    let person = match LOG.find(&state, &who, &form).await? {
        Ok(person) => person,
        Err(answer) => return Ok(answer),
    };
    let log = persons::access_log(&state.app, &who.op, person, 200)
        .await
        .map_err(crate::api::admin::persons_error)?;
    let body = html! {
        p { (f.t("person")) " " code { (person) } }
        (access_log_table(f, &log))
    };
    Ok(respond(
        f,
        StatusCode::OK,
        layout(&state, &who, f.t("access_log_title"), body),
        &[],
    ))
}

/// The outcome of an action, as a page.
// Owning `body` keeps call sites as plain `html! { … }` blocks.
#[allow(clippy::needless_pass_by_value)]
fn outcome(
    state: &AppState,
    who: &SignedIn,
    status: StatusCode,
    alert: bool,
    body: Markup,
) -> Response {
    let f = &who.frame;
    let body = html! {
        @if alert { div role="alert" { (body) } } @else { div role="status" { (body) } }
        p { a href="/admin/search" { (f.t("nav_search")) } }
    };
    respond(f, status, layout(state, who, f.t("person"), body), &[])
}

/// An action refused, with the text of `key`.
fn refusal(state: &AppState, who: &SignedIn, status: StatusCode, key: &'static str) -> Response {
    outcome(state, who, status, true, html! { (who.frame.t(key)) })
}

/// The operator and the person (Datavow's id in the path) of an action form that
/// `act` allows and whose CSRF token is good; else the answer to give.
async fn action(
    state: &AppState,
    headers: &HeaderMap,
    act: OperatorAct,
    id: &str,
    form: &HashMap<String, String>,
) -> Result<(SignedIn, datavow_core::PersonId), Response> {
    let who = allowed(state, headers, act).await?;
    if !csrf_ok(&who.frame, form) {
        return Err(refusal(state, &who, StatusCode::FORBIDDEN, "form_expired"));
    }
    match uuid::Uuid::try_parse(id) {
        Ok(person) => Ok((who, person)),
        Err(_) => Err(refusal(state, &who, StatusCode::BAD_REQUEST, "nobody")),
    }
}

/// The answer to a failed action on a person: 404 when they are gone.
fn action_error(state: &AppState, who: &SignedIn, err: PersonsError) -> Result<Response, ApiError> {
    match err {
        PersonsError::NotFound
        | PersonsError::Vault(VaultError::NoSuchPerson | VaultError::Shredded) => {
            Ok(refusal(state, who, StatusCode::NOT_FOUND, "nobody"))
        }
        err => Err(crate::api::admin::persons_error(err)),
    }
}

/// Records a marketing choice the person gave by phone or letter (P11).
pub(super) async fn record_consent(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Path(id): axum::extract::Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let (who, person) = match action(&state, &headers, OperatorAct::RecordConsent, &id, &form).await
    {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let Some(opt_in) = field(&form, "opt_in").map(|v| v == "yes") else {
        return Ok(refusal(&state, &who, StatusCode::BAD_REQUEST, "nobody"));
    };
    match persons::set_marketing(&state.app, &who.op, person, opt_in).await {
        Ok(()) => Ok(outcome(
            &state,
            &who,
            StatusCode::OK,
            false,
            html! { (who.frame.t("consent_recorded")) },
        )),
        Err(err) => action_error(&state, &who, err),
    }
}

/// Flags the person as a child whose data came without parental consent (P15): erased
/// at once, nothing kept. Needs the confirmation box ticked.
pub(super) async fn flag_child(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Path(id): axum::extract::Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let (who, person) = match action(&state, &headers, OperatorAct::FlagChild, &id, &form).await {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    if field(&form, "confirm").as_deref() != Some("yes") {
        return Ok(refusal(
            &state,
            &who,
            StatusCode::BAD_REQUEST,
            "child_unconfirmed",
        ));
    }
    let f = &who.frame;
    match persons::flag_child(&state.app, &who.op, person).await {
        Ok(result) => Ok(outcome(
            &state,
            &who,
            StatusCode::OK,
            false,
            html! {
                p id="child-erased" { (f.t("child_erased")) " " (result.erased_at) }
                p { (f.t("erased_categories")) ": " (result.erased.join(", ")) }
            },
        )),
        Err(err) => action_error(&state, &who, err),
    }
}
