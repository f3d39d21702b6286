//! The self-service dashboard (P13, P5): server-rendered HTML that works without
//! JavaScript, in English, German and Danish. Sign-up and sign-in pages, "My data"
//! with every field held, the controlling entity and the policy version accepted,
//! corrections, download, erasure request, the marketing switch, password change, who
//! accessed the data, the contact form and the privacy policy.
//!
//! Every form carries a CSRF token that must equal the `dv_csrf` cookie
//! (double-submit; the cookie is SameSite=Strict and HttpOnly).

pub mod i18n;

use crate::accounts_api::{cookie, session_cookie, session_token, ClientAddr, SESSION_COOKIE};
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use datavow_core::accounts::{
    self, validate::PostalAddress, AccountError, ContactInput, Profile, ProfileUpdate, SignUpInput,
};
use datavow_core::store::PersonId;
use i18n::Lang;
use maud::{html, Markup, DOCTYPE};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::collections::HashMap;
use subtle::ConstantTimeEq;

const CSRF_COOKIE: &str = "dv_csrf";
const LANG_COOKIE: &str = "dv_lang";

/// The policy text served at `/privacy`.
const POLICY_TEXT: &str = include_str!("../../../../policy/asergo-privacy-policy.txt");

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
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
}

/// What every page needs: the language and the CSRF token (new cookies to set).
struct Page {
    lang: Lang,
    csrf: String,
    set_cookies: Vec<HeaderValue>,
}

#[derive(Debug, Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

fn page(headers: &HeaderMap, query_lang: Option<&str>) -> Page {
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
                title { (title) " · ASERGO" }
                style { (maud::PreEscaped(STYLE)) }
            }
            body {
                header {
                    strong { "ASERGO" }
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
            }
        }
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:52rem;margin:0 auto;padding:1rem;color:#1d2733}\
header{display:flex;gap:1.5rem;align-items:center;border-bottom:1px solid #ccd;padding-bottom:.5rem;flex-wrap:wrap}\
nav a,nav button.link{margin-right:1rem}nav.lang{margin-left:auto}nav.lang *{margin-left:.4rem}\
label{display:block;margin-top:.7rem}input,select,textarea{width:100%;padding:.35rem;box-sizing:border-box}\
input[type=checkbox]{width:auto}button{margin-top:1rem;padding:.45rem 1rem}button.link{background:none;border:none;color:#0645ad;text-decoration:underline;cursor:pointer;padding:0;margin:0;font:inherit}\
form.inline{display:inline}.errors{background:#fde8e8;border:1px solid #e0a0a0;padding:.6rem 1rem}.notice{background:#e8f4fd;border:1px solid #9cc3e0;padding:.6rem 1rem}\
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #dde;padding:.3rem;text-align:left;vertical-align:top}\
.secret{font-family:monospace;font-size:1.3rem;background:#fff6d5;padding:.2rem .5rem}section{margin-top:2rem}";

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

async fn signed_in_person(state: &AppState, headers: &HeaderMap) -> Option<PersonId> {
    let token = session_token(headers)?;
    accounts::session_person(&state.app, &token)
        .await
        .ok()
        .flatten()
}

async fn home(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let page = page(&headers, q.lang.as_deref());
    if signed_in_person(&state, &headers).await.is_some() {
        return Redirect::to("/dashboard").into_response();
    }
    let t = |k| page.lang.t(k);
    let body = html! {
        p { (t("intro")) }
        p { a href="/signup" { (t("sign_up")) } " · " a href="/signin" { (t("sign_in")) } }
    };
    respond(
        &page,
        StatusCode::OK,
        layout(&page, t("title"), false, body),
    )
}

fn signup_form(
    page: &Page,
    state: &AppState,
    form: &HashMap<String, String>,
    errors: &[String],
) -> Markup {
    let lang = page.lang;
    let v = |k: &str| form.get(k).cloned();
    html! {
        (errors_box(lang, errors))
        form method="post" action="/signup" {
            input type="hidden" name="_csrf" value=(page.csrf);
            (text_input(lang, "name", "text", v("name").as_deref(), "name"))
            (text_input(lang, "company", "text", v("company").as_deref(), "organization"))
            (text_input(lang, "email", "email", v("email").as_deref(), "email"))
            (text_input(lang, "phone", "tel", v("phone").as_deref(), "tel"))
            fieldset {
                legend { (lang.t("postal_address")) }
                (text_input(lang, "street", "text", v("street").as_deref(), "street-address"))
                (text_input(lang, "postal_code", "text", v("postal_code").as_deref(), "postal-code"))
                (text_input(lang, "city", "text", v("city").as_deref(), "address-level2"))
                (text_input(lang, "country", "text", v("country").as_deref(), "country"))
            }
            label for="business_sector" { (lang.t("business_sector")) }
            select id="business_sector" name="business_sector" {
                option value="" { "—" }
                @for sector in &state.app.policy.business_sectors {
                    option value=(sector) selected[v("business_sector").as_deref() == Some(sector.as_str())] { (sector.replace('_', " ")) }
                }
            }
            label for="interest" { (lang.t("interest")) }
            textarea id="interest" name="interest" rows="3" maxlength="2000" { (v("interest").unwrap_or_default()) }
            (text_input(lang, "birth_date", "date", v("birth_date").as_deref(), "bday"))
            label {
                input type="checkbox" name="marketing_opt_in" value="yes" checked[v("marketing_opt_in").is_some()];
                " " (lang.t("marketing_opt_in"))
            }
            p { a href="/privacy" { (lang.t("privacy")) } }
            button type="submit" { (lang.t("submit_sign_up")) }
        }
    }
}

async fn signup_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let page = page(&headers, q.lang.as_deref());
    let body = signup_form(&page, &state, &HashMap::new(), &[]);
    respond(
        &page,
        StatusCode::OK,
        layout(&page, page.lang.t("sign_up"), false, body),
    )
}

fn address_from(form: &HashMap<String, String>) -> Option<PostalAddress> {
    let parts = ["street", "postal_code", "city", "country"].map(|k| field(form, k));
    parts.iter().any(Option::is_some).then(|| {
        let [street, postal_code, city, country] = parts.map(Option::unwrap_or_default);
        PostalAddress {
            street,
            postal_code,
            city,
            country,
        }
    })
}

async fn signup_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let page = page(&headers, None);
    let lang = page.lang;
    if !csrf_ok(&headers, &form) {
        let body = signup_form(&page, &state, &form, &[lang.t("err_csrf").to_owned()]);
        return respond(
            &page,
            StatusCode::FORBIDDEN,
            layout(&page, lang.t("sign_up"), false, body),
        );
    }
    let input = SignUpInput {
        name: field(&form, "name"),
        company: field(&form, "company"),
        email: field(&form, "email"),
        phone: field(&form, "phone"),
        postal_address: address_from(&form),
        business_sector: field(&form, "business_sector"),
        interest: field(&form, "interest"),
        birth_date: field(&form, "birth_date"),
        marketing_opt_in: Some(form.contains_key("marketing_opt_in")),
        entity: None,
    };
    match accounts::sign_up(&state.app, &input).await {
        Ok(account) => {
            let body = html! {
                p class="notice" { (lang.t("credentials_once")) }
                dl {
                    dt { (lang.t("user_id")) }
                    dd { span id="user-id" class="secret" { (account.user_id) } }
                    dt { (lang.t("password")) }
                    dd { span id="password" class="secret" { (account.password.expose_secret()) } }
                }
                p { a href="/signin" { (lang.t("sign_in")) } }
            };
            respond(
                &page,
                StatusCode::CREATED,
                layout(&page, lang.t("sign_up"), false, body),
            )
        }
        Err(err) => {
            let mut shown = form.clone();
            if matches!(err, AccountError::CardNumber) {
                // Never send a card number back, not even to its owner.
                shown.retain(|k, v| k == "_csrf" || !accounts::card_guard::contains_card_number(v));
            }
            let body = signup_form(&page, &state, &shown, &problem_lines(lang, &err));
            respond(
                &page,
                StatusCode::UNPROCESSABLE_ENTITY,
                layout(&page, lang.t("sign_up"), false, body),
            )
        }
    }
}

fn signin_form(page: &Page, errors: &[String]) -> Markup {
    let lang = page.lang;
    html! {
        (errors_box(lang, errors))
        form method="post" action="/signin" {
            input type="hidden" name="_csrf" value=(page.csrf);
            label for="user_id" { (lang.t("user_id")) }
            input id="user_id" name="user_id" type="text" autocomplete="username";
            label for="password" { (lang.t("password")) }
            input id="password" name="password" type="password" autocomplete="current-password";
            button type="submit" { (lang.t("sign_in")) }
        }
    }
}

async fn signin_page(headers: HeaderMap, Query(q): Query<LangQuery>) -> Response {
    let page = page(&headers, q.lang.as_deref());
    respond(
        &page,
        StatusCode::OK,
        layout(
            &page,
            page.lang.t("sign_in"),
            false,
            signin_form(&page, &[]),
        ),
    )
}

async fn signin_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: ClientAddr,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let page = page(&headers, None);
    let lang = page.lang;
    if !csrf_ok(&headers, &form) {
        return respond(
            &page,
            StatusCode::FORBIDDEN,
            layout(
                &page,
                lang.t("sign_in"),
                false,
                signin_form(&page, &[lang.t("err_csrf").to_owned()]),
            ),
        );
    }
    let user_id = field(&form, "user_id").unwrap_or_default();
    let password = SecretString::from(form.get("password").cloned().unwrap_or_default());
    match accounts::sign_in(&state.app, &user_id, &password, &client.key()).await {
        Ok(session) => {
            let cookie = session_cookie(
                &state,
                session.token.expose_secret(),
                accounts::SESSION_LIFETIME.as_secs() as i64,
            );
            let mut response = Redirect::to("/dashboard").into_response();
            response.headers_mut().append(header::SET_COOKIE, cookie);
            response
        }
        Err(err) => {
            let status = if matches!(err, AccountError::TooManyAttempts(_)) {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::UNAUTHORIZED
            };
            respond(
                &page,
                status,
                layout(
                    &page,
                    lang.t("sign_in"),
                    false,
                    signin_form(&page, &problem_lines(lang, &err)),
                ),
            )
        }
    }
}

async fn signout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if csrf_ok(&headers, &form) {
        if let Some(token) = cookie(&headers, SESSION_COOKIE) {
            let _ = accounts::sign_out(&state.app, &token).await;
        }
    }
    let mut response = Redirect::to("/").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, session_cookie(&state, "", 0));
    response
}

/// The dashboard page, with optional notices and errors from the last form.
async fn render_dashboard(
    state: &AppState,
    page: &Page,
    person: PersonId,
    notice: Option<String>,
    errors: &[String],
) -> Response {
    let lang = page.lang;
    let t = |k| lang.t(k);
    let profile = match accounts::profile(&state.app, person).await {
        Ok(p) => p,
        Err(_) => return Redirect::to("/signin").into_response(),
    };
    let log = match state.app.vault.subject_tag(person).await {
        Ok(tag) => state
            .app
            .audit
            .for_subject(&tag, 50)
            .await
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let Profile {
        ref postal_address, ..
    } = profile;
    let address_line = postal_address
        .as_ref()
        .map(|a| format!("{}, {} {}, {}", a.street, a.postal_code, a.city, a.country));
    let rows: Vec<(&str, Option<String>)> = vec![
        (t("user_id"), Some(profile.user_id.clone())),
        (t("name"), profile.name.clone()),
        (t("company"), profile.company.clone()),
        (t("email"), profile.email.clone()),
        (t("phone"), profile.phone.clone()),
        (t("postal_address"), address_line),
        (t("business_sector"), profile.business_sector.clone()),
        (t("interest"), profile.interest.clone()),
        (t("birth_date"), profile.birth_date.clone()),
    ];
    let body = html! {
        @if let Some(notice) = &notice { p class="notice" role="status" { (notice) } }
        (errors_box(lang, errors))
        @if profile.policy_version_acknowledged.as_deref() != Some(profile.policy_version_current.as_str()) {
            p class="notice" { (t("policy_changed")) " " a href="/privacy" { (t("privacy")) } }
        }
        table id="my-data" {
            @for (label, value) in &rows {
                tr { th { (label) } td { (value.clone().unwrap_or_else(|| "—".into())) } }
            }
            tr { th { (t("controller")) } td { (profile.entity.name) br; (profile.entity.address.join(", ")) } }
            tr { th { (t("policy_version")) } td { (profile.policy_version_acknowledged.clone().unwrap_or_else(|| "—".into())) } }
        }
        p { a id="download" href="/api/v1/me/export" download="datavow-export.json" { (t("download")) } }

        section {
            h2 { (t("edit")) }
            form method="post" action="/dashboard/profile" {
                input type="hidden" name="_csrf" value=(page.csrf);
                (text_input(lang, "name", "text", profile.name.as_deref(), "name"))
                (text_input(lang, "company", "text", profile.company.as_deref(), "organization"))
                (text_input(lang, "email", "email", profile.email.as_deref(), "email"))
                (text_input(lang, "phone", "tel", profile.phone.as_deref(), "tel"))
                (text_input(lang, "street", "text", postal_address.as_ref().map(|a| a.street.as_str()), "street-address"))
                (text_input(lang, "postal_code", "text", postal_address.as_ref().map(|a| a.postal_code.as_str()), "postal-code"))
                (text_input(lang, "city", "text", postal_address.as_ref().map(|a| a.city.as_str()), "address-level2"))
                (text_input(lang, "country", "text", postal_address.as_ref().map(|a| a.country.as_str()), "country"))
                label for="interest" { (t("interest")) }
                textarea id="interest" name="interest" rows="3" maxlength="2000" { (profile.interest.clone().unwrap_or_default()) }
                button type="submit" id="save-profile" { (t("save")) }
            }
        }
        section {
            h2 { (t("marketing")) }
            p { (if profile.marketing_opt_in { t("marketing_on") } else { t("marketing_off") }) }
            form method="post" action="/dashboard/marketing" {
                input type="hidden" name="_csrf" value=(page.csrf);
                input type="hidden" name="opt_in" value=(if profile.marketing_opt_in { "no" } else { "yes" });
                button type="submit" { (if profile.marketing_opt_in { t("marketing_turn_off") } else { t("marketing_turn_on") }) }
            }
        }
        section {
            h2 { (t("change_password")) }
            form method="post" action="/dashboard/password" {
                input type="hidden" name="_csrf" value=(page.csrf);
                label for="current_password" { (t("current_password")) }
                input id="current_password" name="current_password" type="password" autocomplete="current-password";
                label for="new_password" { (t("new_password")) }
                input id="new_password" name="new_password" type="password" autocomplete="new-password" minlength="12";
                button type="submit" { (t("change_password")) }
            }
        }
        section {
            h2 { (t("access_log")) }
            table id="access-log" {
                tr { th { (t("when")) } th { (t("who")) } th { (t("what")) } th { (t("purpose")) } }
                @for record in &log {
                    tr {
                        td { (chrono::DateTime::from_timestamp_micros(record.entry.at_micros).map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default()) }
                        td { (actor_text(lang, &record.entry.actor)) }
                        td { (action_text(lang, &record.entry.action, &record.entry.outcome, &record.entry.fields)) }
                        td { (record.entry.purpose.clone().unwrap_or_else(|| "—".into())) }
                    }
                }
            }
        }
        section {
            h2 { (t("erasure")) }
            p { (t("erasure_explain")) }
            form method="post" action="/dashboard/erasure" {
                input type="hidden" name="_csrf" value=(page.csrf);
                label { input type="checkbox" name="confirm" value="yes" required; " " (t("erasure_confirm")) }
                button type="submit" { (t("erasure")) }
            }
        }
    };
    respond(page, StatusCode::OK, layout(page, t("my_data"), true, body))
}

/// Who acted, for the person: "you", an operator's role, or the service itself.
fn actor_text(lang: Lang, actor: &str) -> String {
    match actor.split_once(':') {
        Some(("person", _)) => lang.t("you").to_owned(),
        None if actor == "visitor" => lang.t("visitor").to_owned(),
        Some(("operator", who)) => who.to_owned(),
        Some((_, what)) => format!("ASERGO ({what})"),
        None => "ASERGO".to_owned(),
    }
}

/// What was done, in the person's language, with the fields by their labels.
fn action_text(lang: Lang, action: &str, outcome: &str, fields: &str) -> String {
    let verb = match action {
        "create" => lang.t("act_create"),
        "read" => lang.t("act_read"),
        "update" => lang.t("act_update"),
        "search" => lang.t("act_search"),
        "export" => lang.t("act_export"),
        "sign_in" => lang.t("act_sign_in"),
        "shred" => lang.t("act_shred"),
        other => return other.to_owned(),
    };
    let labels: Vec<String> = fields
        .split(',')
        .filter(|f| !f.is_empty())
        .map(|f| match f {
            "user_id" => lang.t("user_id").to_owned(),
            "password_hash" => lang.t("password").to_owned(),
            "postal_address" => lang.t("postal_address").to_owned(),
            "marketing_consent" => lang.t("marketing").to_owned(),
            other => field_label(lang, other),
        })
        .collect();
    let refused = if outcome == "refused" {
        format!(" ({})", lang.t("act_refused"))
    } else {
        String::new()
    };
    format!("{verb}: {}{refused}", labels.join(", "))
        .trim_end_matches(": ")
        .to_owned()
}

/// A field's label, or its name when it has none.
fn field_label(lang: Lang, field: &str) -> String {
    match label_for(lang, field) {
        generic if generic == lang.t("err_generic") => field.to_owned(),
        label => label.to_owned(),
    }
}

async fn dashboard(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let page = page(&headers, q.lang.as_deref());
    let Some(person) = signed_in_person(&state, &headers).await else {
        return Redirect::to("/signin").into_response();
    };
    render_dashboard(&state, &page, person, None, &[]).await
}

/// Runs a dashboard form: checks session and CSRF, applies `action`, re-renders.
async fn dashboard_form<F, Fut>(
    state: &AppState,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
    action: F,
) -> Response
where
    F: FnOnce(PersonId) -> Fut,
    Fut: std::future::Future<Output = Result<Option<String>, AccountError>>,
{
    let page = page(headers, None);
    let Some(person) = signed_in_person(state, headers).await else {
        return Redirect::to("/signin").into_response();
    };
    if !csrf_ok(headers, form) {
        return render_dashboard(
            state,
            &page,
            person,
            None,
            &[page.lang.t("err_csrf").to_owned()],
        )
        .await;
    }
    match action(person).await {
        Ok(notice) => {
            render_dashboard(
                state,
                &page,
                person,
                notice.or_else(|| Some(page.lang.t("saved").to_owned())),
                &[],
            )
            .await
        }
        Err(AccountError::BadCredentials) => {
            let lines = vec![format!(
                "{}: {}",
                page.lang.t("current_password"),
                page.lang.t("err_invalid_credentials")
            )];
            render_dashboard(state, &page, person, None, &lines).await
        }
        Err(err) => {
            render_dashboard(state, &page, person, None, &problem_lines(page.lang, &err)).await
        }
    }
}

async fn profile_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let update = ProfileUpdate {
        name: field(&form, "name"),
        company: field(&form, "company"),
        email: field(&form, "email"),
        phone: field(&form, "phone"),
        postal_address: address_from(&form),
        business_sector: field(&form, "business_sector"),
        interest: field(&form, "interest"),
    };
    let app = state.app.clone();
    dashboard_form(&state, &headers, &form, |person| async move {
        accounts::update_profile(&app, person, &update)
            .await
            .map(|()| None)
    })
    .await
}

async fn marketing_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let opt_in = form.get("opt_in").is_some_and(|v| v == "yes");
    let app = state.app.clone();
    dashboard_form(&state, &headers, &form, |person| async move {
        accounts::set_marketing(&app, person, opt_in)
            .await
            .map(|()| None)
    })
    .await
}

async fn erasure_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let lang = page(&headers, None).lang;
    let confirmed = form.get("confirm").is_some_and(|v| v == "yes");
    let app = state.app.clone();
    dashboard_form(&state, &headers, &form, |person| async move {
        if !confirmed {
            return Ok(None);
        }
        let request = accounts::request_erasure(&app, person).await?;
        Ok(Some(format!(
            "{} {}",
            lang.t("erasure_requested"),
            request.deadline_at.format("%Y-%m-%d")
        )))
    })
    .await
}

async fn password_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let current = SecretString::from(form.get("current_password").cloned().unwrap_or_default());
    let new = SecretString::from(form.get("new_password").cloned().unwrap_or_default());
    let app = state.app.clone();
    let page_lang = page(&headers, None).lang;
    dashboard_form(&state, &headers, &form, |person| async move {
        accounts::change_password(&app, person, &current, &new)
            .await
            .map(|()| Some(page_lang.t("saved").to_owned()))
    })
    .await
}

fn contact_form(page: &Page, form: &HashMap<String, String>, errors: &[String]) -> Markup {
    let lang = page.lang;
    let v = |k: &str| form.get(k).cloned();
    html! {
        (errors_box(lang, errors))
        form method="post" action="/contact" {
            input type="hidden" name="_csrf" value=(page.csrf);
            (text_input(lang, "name", "text", v("name").as_deref(), "name"))
            (text_input(lang, "company", "text", v("company").as_deref(), "organization"))
            (text_input(lang, "email", "email", v("email").as_deref(), "email"))
            (text_input(lang, "phone", "tel", v("phone").as_deref(), "tel"))
            label for="message" { (lang.t("message")) }
            textarea id="message" name="message" rows="6" maxlength="5000" { (v("message").unwrap_or_default()) }
            button type="submit" { (lang.t("send")) }
        }
    }
}

async fn contact_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let page = page(&headers, q.lang.as_deref());
    let signed_in = signed_in_person(&state, &headers).await.is_some();
    respond(
        &page,
        StatusCode::OK,
        layout(
            &page,
            page.lang.t("contact"),
            signed_in,
            contact_form(&page, &HashMap::new(), &[]),
        ),
    )
}

async fn contact_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let page = page(&headers, None);
    let lang = page.lang;
    if !csrf_ok(&headers, &form) {
        return respond(
            &page,
            StatusCode::FORBIDDEN,
            layout(
                &page,
                lang.t("contact"),
                false,
                contact_form(&page, &form, &[lang.t("err_csrf").to_owned()]),
            ),
        );
    }
    let input = ContactInput {
        name: field(&form, "name"),
        company: field(&form, "company"),
        email: field(&form, "email"),
        phone: field(&form, "phone"),
        message: field(&form, "message"),
    };
    match accounts::contact(&state.app, &input).await {
        Ok(_) => respond(
            &page,
            StatusCode::OK,
            layout(
                &page,
                lang.t("contact"),
                false,
                html! { p class="notice" { (lang.t("contact_thanks")) } },
            ),
        ),
        Err(err) => {
            let mut shown = form.clone();
            shown.retain(|k, v| k == "_csrf" || !accounts::card_guard::contains_card_number(v));
            respond(
                &page,
                StatusCode::UNPROCESSABLE_ENTITY,
                layout(
                    &page,
                    lang.t("contact"),
                    false,
                    contact_form(&page, &shown, &problem_lines(lang, &err)),
                ),
            )
        }
    }
}

async fn privacy(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let page = page(&headers, q.lang.as_deref());
    let signed_in = signed_in_person(&state, &headers).await.is_some();
    let policy = &state.app.policy;
    let body = html! {
        p { (policy.name) " · " (policy.version) " · " (policy.effective_date) }
        pre style="white-space:pre-wrap" { (POLICY_TEXT) }
    };
    respond(
        &page,
        StatusCode::OK,
        layout(&page, page.lang.t("privacy"), signed_in, body),
    )
}
