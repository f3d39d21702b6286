//! The self-service dashboard (P13, P5): server-rendered HTML that works without
//! JavaScript, in English, German and Danish. Sign-up and sign-in pages, "My data"
//! with every field held, the controlling entity and the policy version accepted,
//! corrections, download, erasure request, the marketing switch, password change, who
//! accessed the data, the contact form and the privacy policy.
//!
//! Every form carries a CSRF token that must equal the `dv_csrf` cookie
//! (double-submit; the cookie is SameSite=Strict and HttpOnly).

mod account;
mod admin;
pub(crate) use admin::CONSOLE_STYLE;
mod contact;
pub mod i18n;
mod mail;
mod me;
mod privacy;
mod ropa;

use account::*;
use contact::*;
use mail::*;
use me::*;
use privacy::*;
pub use ropa::ropa_html;

use crate::api::accounts::{cookie, session_cookie, session_token, ClientAddr, SESSION_COOKIE};
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use datavow_core::accounts::{
    self, validate::PostalAddress, AccountError, ContactInput, Profile, ProfileUpdate, SignUpInput,
    SignedIn,
};
use i18n::Lang;
use maud::{html, Markup, DOCTYPE};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::collections::HashMap;
use subtle::ConstantTimeEq;

const CSRF_COOKIE: &str = "dv_csrf";
const LANG_COOKIE: &str = "dv_lang";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .merge(admin::routes())
        .route("/", get(home))
        .route("/signup", get(signup_page).post(signup_submit))
        .route("/signin", get(signin_page).post(signin_submit))
        .route("/signout", post(signout))
        .route("/dashboard", get(dashboard))
        .route("/dashboard/profile", post(profile_submit))
        .route("/dashboard/marketing", post(marketing_submit))
        .route("/dashboard/erasure", post(erasure_submit))
        .route("/dashboard/password", post(password_submit))
        .route("/contact", get(contact_page).post(contact_submit))
        .route("/privacy", get(privacy))
        .route("/privacy/diff", get(privacy_diff))
        .route("/dashboard/policy-notice", post(dismiss_policy_notice))
        .route(
            "/unsubscribe/{token}",
            get(unsubscribe_page).post(unsubscribe_submit),
        )
        .route("/recover", get(recover_page).post(recover_submit))
        .route(
            "/recover/{token}",
            get(recover_link_page).post(recover_link_submit),
        )
}

/// What every page needs: the language, the CSRF token (new cookies to set) and the
/// policy in force, which names the controller.
struct Page {
    lang: Lang,
    csrf: String,
    set_cookies: Vec<HeaderValue>,
    policy: std::sync::Arc<datavow_core::policy::Policy>,
}

impl Page {
    /// The text of `key` with the controller's name in place of `{controller}`.
    fn text(&self, key: &'static str) -> String {
        self.lang
            .t(key)
            .replace("{controller}", &self.policy.controller)
    }
}

#[derive(Debug, Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

fn page(state: &AppState, headers: &HeaderMap, query_lang: Option<&str>) -> Page {
    let lang = i18n::negotiate(query_lang, cookie(headers, LANG_COOKIE).as_deref(), headers);
    let mut set_cookies = Vec::new();
    if query_lang.and_then(Lang::parse).is_some() {
        if let Ok(v) = HeaderValue::from_str(&format!(
            "{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000",
            lang.code()
        )) {
            set_cookies.push(v);
        }
    }
    let csrf = match cookie(headers, CSRF_COOKIE).filter(|c| c.len() == 32) {
        Some(existing) => existing,
        None => {
            let fresh = datavow_core::operators::random_text(32);
            if let Ok(v) = HeaderValue::from_str(&format!(
                "{CSRF_COOKIE}={fresh}; Path=/; HttpOnly; SameSite=Strict"
            )) {
                set_cookies.push(v);
            }
            fresh
        }
    };
    Page {
        lang,
        csrf,
        set_cookies,
        policy: state.app.policy.clone(),
    }
}

fn csrf_ok(headers: &HeaderMap, form: &HashMap<String, String>) -> bool {
    match (cookie(headers, CSRF_COOKIE), form.get("_csrf")) {
        (Some(c), Some(f)) => c.len() == 32 && bool::from(c.as_bytes().ct_eq(f.as_bytes())),
        _ => false,
    }
}

fn respond(page: &Page, status: StatusCode, body: Markup) -> Response {
    let mut response = (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::response::Html(body.into_string()),
    )
        .into_response();
    for c in &page.set_cookies {
        response.headers_mut().append(header::SET_COOKIE, c.clone());
    }
    response
}

// Owning `body` keeps call sites as plain `html! { … }` blocks.
#[allow(clippy::needless_pass_by_value)]
fn layout(page: &Page, title: &str, signed_in: bool, body: Markup) -> Markup {
    let t = |k| page.lang.t(k);
    html! {
        (DOCTYPE)
        html lang=(page.lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (page.policy.controller) }
                style { (maud::PreEscaped(STYLE)) }
            }
            body {
                header {
                    strong { (page.policy.controller) }
                    nav {
                        @if signed_in {
                            a href="/dashboard" { (t("my_data")) }
                            form method="post" action="/signout" class="inline" {
                                input type="hidden" name="_csrf" value=(page.csrf);
                                button type="submit" class="link" { (t("sign_out")) }
                            }
                        } @else {
                            a href="/signup" { (t("sign_up")) }
                            a href="/signin" { (t("sign_in")) }
                        }
                        a href="/contact" { (t("contact")) }
                        a href="/privacy" { (t("privacy")) }
                    }
                    nav class="lang" aria-label=(t("language")) {
                        @for lang in Lang::ALL {
                            @if lang == page.lang {
                                strong { (lang.code().to_uppercase()) }
                            } @else {
                                a href={ "?lang=" (lang.code()) } hreflang=(lang.code()) { (lang.code().to_uppercase()) }
                            }
                        }
                    }
                }
                main { h1 { (title) } (body) }
                footer {
                    @for entity in page.policy.entities() {
                        p {
                            strong { (entity.name) } ", " (entity.address.join(", ")) " · "
                            (t("privacy_contact")) ": " a href={ "mailto:" (entity.privacy_contact) } { (entity.privacy_contact) }
                        }
                    }
                }
            }
        }
    }
}

pub(crate) const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:52rem;margin:0 auto;padding:1rem;color:#1d2733}\
header{display:flex;gap:1.5rem;align-items:center;border-bottom:1px solid #ccd;padding-bottom:.5rem;flex-wrap:wrap}\
nav a,nav button.link{margin-right:1rem}nav.lang{margin-left:auto}nav.lang *{margin-left:.4rem}\
label{display:block;margin-top:.7rem}input,select,textarea{width:100%;padding:.35rem;box-sizing:border-box}\
input[type=checkbox]{width:auto}button{margin-top:1rem;padding:.45rem 1rem}button.link{background:none;border:none;color:#0645ad;text-decoration:underline;cursor:pointer;padding:0;margin:0;font:inherit}\
form.inline{display:inline}.errors{background:#fde8e8;border:1px solid #e0a0a0;padding:.6rem 1rem}.notice{background:#e8f4fd;border:1px solid #9cc3e0;padding:.6rem 1rem}\
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #dde;padding:.3rem;text-align:left;vertical-align:top}\
.secret{font-family:monospace;font-size:1.3rem;background:#fff6d5;padding:.2rem .5rem}section{margin-top:2rem}footer{margin-top:3rem;border-top:1px solid #ccd;font-size:.85rem;color:#4a5563}\
footer p{margin:.3rem 0}.policy-text h1{font-size:1.5rem}ins{background:#e3f6e3;text-decoration:none;display:block}del{background:#fbe4e4;display:block}\
.diff p{margin:0;white-space:pre-wrap;font-family:monospace;font-size:.9rem}";

/// A localized line for a refused field or request.
fn problem_lines(lang: Lang, err: &AccountError) -> Vec<String> {
    match err {
        AccountError::Invalid(problems) => problems
            .iter()
            .map(|p| {
                let field = p.field.rsplit('.').next().unwrap_or(p.field);
                let label = match field {
                    "new_password" => lang.t("new_password"),
                    other => label_for(lang, other),
                };
                let code = match p.code {
                    "required" => "err_required",
                    "too_long" => "err_too_long",
                    "invalid_email" => "err_invalid_email",
                    "invalid_phone" => "err_invalid_phone",
                    "invalid_country" => "err_invalid_country",
                    "invalid_postal_code" => "err_invalid_postal_code",
                    "unknown_business_sector" => "err_unknown_business_sector",
                    "invalid_birth_date" => "err_invalid_birth_date",
                    "line_breaks" => "err_line_breaks",
                    "control_characters" => "err_control_characters",
                    "too_short" => "err_too_short",
                    "common_password" => "err_common_password",
                    _ => "err_generic",
                };
                format!("{label}: {}", lang.t(code))
            })
            .collect(),
        AccountError::CardNumber => vec![lang.t("err_card_number_refused").to_owned()],
        AccountError::UnderAgeOfConsent(_) => vec![lang.t("err_under_age_of_consent").to_owned()],
        AccountError::EmailTaken => vec![lang.t("err_email_taken").to_owned()],
        AccountError::BadCredentials => vec![lang.t("err_invalid_credentials").to_owned()],
        AccountError::TooManyAttempts(_) => vec![lang.t("err_too_many_attempts").to_owned()],
        other => {
            tracing::error!(error = %other, "dashboard request failed");
            vec![lang.t("err_generic").to_owned()]
        }
    }
}

fn label_for(lang: Lang, field: &str) -> &'static str {
    match field {
        "name" => lang.t("name"),
        "company" => lang.t("company"),
        "email" => lang.t("email"),
        "phone" => lang.t("phone"),
        "street" => lang.t("street"),
        "postal_code" => lang.t("postal_code"),
        "city" => lang.t("city"),
        "country" => lang.t("country"),
        "business_sector" => lang.t("business_sector"),
        "interest" => lang.t("interest"),
        "birth_date" => lang.t("birth_date"),
        "message" => lang.t("message"),
        _ => lang.t("err_generic"),
    }
}

fn errors_box(lang: Lang, lines: &[String]) -> Markup {
    html! {
        @if !lines.is_empty() {
            div class="errors" role="alert" {
                strong { (lang.t("error_heading")) }
                ul { @for line in lines { li { (line) } } }
            }
        }
    }
}

fn field(form: &HashMap<String, String>, key: &str) -> Option<String> {
    form.get(key)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn text_input(
    lang: Lang,
    name: &str,
    kind: &str,
    value: Option<&str>,
    autocomplete: &str,
) -> Markup {
    html! {
        label for=(name) { (label_for(lang, name)) }
        input id=(name) name=(name) type=(kind) value=[value] autocomplete=(autocomplete);
    }
}

async fn signed_in_person(state: &AppState, headers: &HeaderMap) -> Option<SignedIn> {
    let token = session_token(headers)?;
    accounts::session_person(&state.app, &token)
        .await
        .ok()
        .flatten()
}
