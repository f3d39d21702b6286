//! The operator console under `/admin`: sign-in with password and second factor,
//! each role's home page, finding a person, requests, marketing. Server-rendered,
//! readable without JavaScript, in English, German and Danish.
//!
//! Invariants:
//! - Every page but the sign-in steps needs a signed-in console session (cookie
//!   `dv_console`, Path=/admin, HttpOnly, SameSite=Strict); API tokens are not accepted
//!   here, and the customers' session cookie opens nothing here (nor the reverse: the
//!   two live in different tables).
//! - Every form carries a CSRF token: derived from the session token when there is a
//!   session (so it dies with the session), else a double-submit cookie.
//! - Navigation shows only what the role may use; a page the role may not use
//!   answers 403 whatever the navigation shows. Both ask `access::decide`.

mod home;
mod marketing;
mod person;
mod requests;
mod sign_in;
mod stats;
mod texts;

use crate::api::accounts::cookie;
use crate::pages::i18n::{self, Lang};
use crate::{ApiError, AppState};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use datavow_core::access::{decide, OperatorAct};
use datavow_core::console::sign_in as console;
use datavow_core::operators::Operator;
use datavow_policy::Purpose;
use maud::{html, Markup, DOCTYPE};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use subtle::ConstantTimeEq;
pub(crate) use texts::t;

/// The console session's cookie.
pub(crate) const SESSION_COOKIE: &str = "dv_console";
/// The sign-in form's double-submit CSRF cookie (before there is a session).
const CSRF_COOKIE: &str = "dv_admin_csrf";
const LANG_COOKIE: &str = "dv_lang";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(home::page))
        .route("/admin/signin", get(sign_in::page).post(sign_in::submit))
        .route(
            "/admin/second-factor",
            get(sign_in::code_page).post(sign_in::code_submit),
        )
        .route(
            "/admin/enrol",
            get(sign_in::enrol_page).post(sign_in::enrol_submit),
        )
        .route("/admin/signout", post(sign_in::sign_out))
        .route("/admin/account", get(sign_in::account_page))
        .route("/admin/search", get(person::search_page))
        .route("/admin/person", post(person::person_page))
        .route("/admin/person/{id}/marketing", post(person::record_consent))
        .route("/admin/person/{id}/child", post(person::flag_child))
        .route(
            "/admin/access-log",
            get(person::access_log_page).post(person::access_log_submit),
        )
        .route(
            "/admin/requests",
            get(requests::list_page).post(requests::register),
        )
        .route("/admin/requests/{id}/close", post(requests::close))
        .route("/admin/requests/{id}/extend", post(requests::extend))
        .route(
            "/admin/marketing",
            get(marketing::page).post(marketing::submit),
        )
        .route("/admin/stats", get(stats::page))
        .route("/admin/stats.csv", get(stats::csv))
        .route_layer(axum::middleware::from_fn(lang_switch))
}

/// What every console page knows: the language, the CSRF token, cookies to set.
pub(crate) struct Frame {
    pub lang: Lang,
    pub csrf: String,
    set_cookies: Vec<HeaderValue>,
    controller: String,
}

impl Frame {
    /// The text of `key` in the page's language.
    pub fn t(&self, key: &'static str) -> &'static str {
        t(self.lang, key)
    }
}

/// The console's CSRF token for a session: bound to it, worthless without the cookie.
fn session_csrf(token: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(b"datavow console csrf\0");
    hash.update(token.as_bytes());
    hash.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn frame(state: &AppState, headers: &HeaderMap, session: Option<&str>) -> Frame {
    let lang = i18n::negotiate(None, cookie(headers, LANG_COOKIE).as_deref(), headers);
    let mut set_cookies = Vec::new();
    let csrf = match session {
        Some(token) => session_csrf(token),
        None => match cookie(headers, CSRF_COOKIE).filter(|c| c.len() == 32) {
            Some(existing) => existing,
            None => {
                let fresh = datavow_core::operators::random_text(32);
                if let Ok(v) = HeaderValue::from_str(&format!(
                    "{CSRF_COOKIE}={fresh}; Path=/admin; HttpOnly; SameSite=Strict"
                )) {
                    set_cookies.push(v);
                }
                fresh
            }
        },
    };
    Frame {
        lang,
        csrf,
        set_cookies,
        controller: state.app.policy.controller.clone(),
    }
}

/// Whether a submitted form's `_csrf` is the frame's token.
fn csrf_ok(frame: &Frame, form: &HashMap<String, String>) -> bool {
    form.get("_csrf")
        .is_some_and(|f| bool::from(f.as_bytes().ct_eq(frame.csrf.as_bytes())))
}

/// The console session cookie with `token`, or one that clears it.
fn session_cookie(state: &AppState, token: Option<&str>) -> HeaderValue {
    let secure = if state.options.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let text = match token {
        Some(token) => {
            format!("{SESSION_COOKIE}={token}; Path=/admin; HttpOnly; SameSite=Strict{secure}")
        }
        None => {
            format!("{SESSION_COOKIE}=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0{secure}")
        }
    };
    HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static(""))
}

/// A signed-in operator and their page frame.
pub(crate) struct SignedIn {
    pub op: Operator,
    pub frame: Frame,
}

/// The signed-in operator, or the response that sends the browser to sign in.
async fn signed_in(state: &AppState, headers: &HeaderMap) -> Result<SignedIn, Response> {
    let token = cookie(headers, SESSION_COOKIE);
    let found = match &token {
        Some(token) => console::current(&state.app, token).await,
        None => Ok(None),
    };
    match found {
        Ok(Some((op, console::Stage::SignedIn))) => Ok(SignedIn {
            frame: frame(state, headers, token.as_deref()),
            op,
        }),
        Ok(Some((_, console::Stage::SecondFactor))) => Err(see_other("/admin/second-factor")),
        Ok(Some((_, console::Stage::Enrol))) => Err(see_other("/admin/enrol")),
        Ok(None) => Err(see_other("/admin/signin")),
        Err(err) => Err(console_error(&err).into_response()),
    }
}

fn see_other(to: &'static str) -> Response {
    Redirect::to(to).into_response()
}

pub(crate) fn console_error(err: &console::ConsoleError) -> ApiError {
    if err.is_unavailable() {
        ApiError::unavailable(err)
    } else {
        ApiError::internal(err)
    }
}

/// A page answer: no caching, the frame's cookies, plus `extra` cookies.
fn respond(frame: &Frame, status: StatusCode, markup: Markup, extra: &[HeaderValue]) -> Response {
    let mut response = (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Html(markup.into_string()),
    )
        .into_response();
    for c in frame.set_cookies.iter().chain(extra) {
        response.headers_mut().append(header::SET_COOKIE, c.clone());
    }
    response
}

/// What the navigation offers a role: (path, text key, act that allows it).
fn nav_items(state: &AppState, op: &Operator) -> Vec<(&'static str, &'static str)> {
    let may = |act| decide(&state.app.policy, op.role, act).is_ok();
    let mut items = vec![("/admin", "nav_home")];
    if may(OperatorAct::SearchByEmail) || may(OperatorAct::SearchByUserId) {
        items.push(("/admin/search", "nav_search"));
    }
    if may(OperatorAct::HandleRequests) {
        items.push(("/admin/requests", "nav_requests"));
    }
    if may(OperatorAct::ReadAccessLog) {
        items.push(("/admin/access-log", "nav_access_log"));
    }
    if may(OperatorAct::View(Purpose::Statistics)) {
        items.push(("/admin/stats", "nav_stats"));
    }
    if may(OperatorAct::View(Purpose::Marketing)) {
        items.push(("/admin/marketing", "nav_marketing"));
    }
    items.push(("/admin/account", "nav_account"));
    items
}

/// A console page: `nav` (the signed-in operator's navigation and who they are) or
/// none (the sign-in steps), then the title and body.
// Owning `body` keeps call sites as plain `html! { … }` blocks.
#[allow(clippy::needless_pass_by_value)]
fn frame_page(f: &Frame, nav: Option<(Markup, Markup)>, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(f.lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (f.controller) " · Datavow" }
                style { (maud::PreEscaped(CONSOLE_STYLE)) }
            }
            body {
                header {
                    strong { (f.controller) " · " (f.t("console")) }
                    @if let Some((nav, _)) = &nav { (nav) }
                    nav class="lang" aria-label=(f.t("language")) {
                        @for lang in Lang::ALL {
                            @if lang == f.lang { strong { (lang.code().to_uppercase()) } }
                            @else { a href={ "?lang=" (lang.code()) } hreflang=(lang.code()) { (lang.code().to_uppercase()) } }
                        }
                    }
                }
                @if let Some((_, who)) = &nav { (who) }
                main { h1 { (title) } (body) }
            }
        }
    }
}

/// The console's frame around a page of a signed-in operator: their navigation and
/// sign-out.
fn layout(state: &AppState, who: &SignedIn, title: &str, body: Markup) -> Markup {
    let f = &who.frame;
    let nav = html! {
        nav id="console-nav" aria-label=(f.t("navigation")) {
            @for (path, key) in nav_items(state, &who.op) {
                a href=(path) { (f.t(key)) }
            }
            form method="post" action="/admin/signout" class="inline" {
                input type="hidden" name="_csrf" value=(f.csrf);
                button type="submit" class="link" id="sign-out" { (f.t("sign_out")) }
            }
        }
    };
    let signed_in_as = html! {
        p class="who" { (f.t("signed_in_as")) " " strong { (who.op.name) } " (" (f.t(role_key(who.op.role))) ")" }
    };
    frame_page(f, Some((nav, signed_in_as)), title, body)
}

/// A page outside a session (the sign-in steps).
fn bare_layout(f: &Frame, title: &str, body: Markup) -> Markup {
    frame_page(f, None, title, body)
}

/// The signed-in operator if their role may do `act`; else the answer to give (the
/// sign-in steps, or 403).
async fn allowed(
    state: &AppState,
    headers: &HeaderMap,
    act: OperatorAct,
) -> Result<SignedIn, Response> {
    let who = signed_in(state, headers).await?;
    match decide(&state.app.policy, who.op.role, act) {
        Ok(_) => Ok(who),
        Err(denied) => Err(forbidden(state, &who, &denied.message)),
    }
}

/// A 403 page for a role that may not use a page.
fn forbidden(state: &AppState, who: &SignedIn, message: &str) -> Response {
    let body = html! { p role="alert" { (message) } };
    respond(
        &who.frame,
        StatusCode::FORBIDDEN,
        layout(state, who, who.frame.t("forbidden"), body),
        &[],
    )
}

fn role_key(role: datavow_policy::Role) -> &'static str {
    use datavow_policy::Role;
    match role {
        Role::Support => "role_support",
        Role::Billing => "role_billing",
        Role::Marketing => "role_marketing",
        Role::Security => "role_security",
        Role::PrivacyOfficer => "role_privacy_officer",
        Role::Admin => "role_admin",
        Role::Collector => "role_collector",
    }
}

/// A form field, trimmed; `None` when empty.
fn field(form: &HashMap<String, String>, key: &str) -> Option<String> {
    super::field(form, key)
}

/// The `?lang=` switch on any console page: remembers the language in a cookie and
/// shows the same page again without the query.
async fn lang_switch(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let chosen = request.uri().query().and_then(|q| {
        q.split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == "lang")
            .and_then(|(_, v)| Lang::parse(v))
    });
    match chosen {
        Some(lang) if request.method() == axum::http::Method::GET => {
            let mut response = Redirect::to(request.uri().path()).into_response();
            if let Ok(v) = HeaderValue::from_str(&format!(
                "{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000",
                lang.code()
            )) {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
            response
        }
        _ => next.run(request).await,
    }
}

/// The console's stylesheet (allowed by its hash in the Content-Security-Policy).
pub(crate) const CONSOLE_STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1rem;color:#1d2733}\
header{display:flex;gap:1.5rem;align-items:center;border-bottom:1px solid #ccd;padding-bottom:.5rem;flex-wrap:wrap}\
nav a,nav button.link{margin-right:1rem}nav.lang{margin-left:auto}nav.lang *{margin-left:.4rem}\
form.inline{display:inline}button.link{background:none;border:0;color:#0645ad;text-decoration:underline;cursor:pointer;font:inherit;padding:0}\
label{display:block;margin-top:.6rem}input,select,textarea{padding:.35rem;box-sizing:border-box;min-width:16rem}\
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #dde;padding:.3rem;text-align:left}\
section{border:1px solid #dde;border-radius:.4rem;padding:.2rem 1rem;margin:1rem 0}.empty,.withheld,.who{color:#555}\
.overdue{color:#a00;font-weight:bold}.ok{color:#070}.bad{color:#a00}code.secret{font-size:1.2rem;letter-spacing:.1rem}\
[role=alert]{color:#a00}";
