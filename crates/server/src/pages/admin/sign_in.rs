//! The console's sign-in steps: password, then a code (or enrolment of a TOTP device
//! from a QR code shown once, then recovery codes shown once), and sign-out.

use super::{
    bare_layout, console_error, csrf_ok, field, frame, layout, respond, see_other, session_cookie,
    signed_in, Frame, SESSION_COOKIE,
};
use crate::api::accounts::{cookie, ClientAddr};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use datavow_core::console::sign_in::{self as console, ConsoleError, Stage};
use maud::{html, Markup, PreEscaped};
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;

fn signin_form(f: &Frame, error: Option<&str>) -> Markup {
    html! {
        @if let Some(error) = error { p role="alert" { (error) } }
        form method="post" action="/admin/signin" {
            input type="hidden" name="_csrf" value=(f.csrf);
            label for="name" { (f.t("operator_name")) }
            input id="name" name="name" type="text" autocomplete="username" required;
            label for="password" { (f.t("password")) }
            input id="password" name="password" type="password" autocomplete="current-password" required;
            p { button type="submit" { (f.t("sign_in")) } }
        }
        p class="empty" { (f.t("signin_help")) }
    }
}

fn error_text(f: &Frame, err: &ConsoleError) -> String {
    match err {
        ConsoleError::BadCredentials => f.t("bad_credentials").to_owned(),
        ConsoleError::BadCode => f.t("bad_code").to_owned(),
        ConsoleError::TooManyAttempts(wait) => f
            .t("too_many")
            .replace("{minutes}", &wait.as_secs().div_ceil(60).to_string()),
        other => other.to_string(),
    }
}

fn status_of(err: &ConsoleError) -> StatusCode {
    match err {
        ConsoleError::BadCredentials | ConsoleError::BadCode => StatusCode::UNAUTHORIZED,
        ConsoleError::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::BAD_REQUEST,
    }
}

pub(super) async fn page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if signed_in(&state, &headers).await.is_ok() {
        return see_other("/admin");
    }
    let f = frame(&state, &headers, None);
    respond(
        &f,
        StatusCode::OK,
        bare_layout(&f, f.t("sign_in"), signin_form(&f, None)),
        &[],
    )
}

pub(super) async fn submit(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let f = frame(&state, &headers, None);
    let fail = |status, message: &str| {
        respond(
            &f,
            status,
            bare_layout(&f, f.t("sign_in"), signin_form(&f, Some(message))),
            &[],
        )
    };
    if !csrf_ok(&f, &form) {
        return Ok(fail(StatusCode::FORBIDDEN, f.t("form_expired")));
    }
    let (Some(name), Some(password)) = (
        field(&form, "name"),
        form.get("password").filter(|p| !p.is_empty()),
    ) else {
        return Ok(fail(StatusCode::BAD_REQUEST, f.t("bad_credentials")));
    };
    let password = SecretString::from(password.clone());
    match console::sign_in(&state.app, &name, &password, &client.key()).await {
        Ok(session) => {
            let next = match session.stage {
                Stage::SignedIn => "/admin",
                Stage::SecondFactor => "/admin/second-factor",
                Stage::Enrol => "/admin/enrol",
            };
            let mut response = see_other(next);
            response.headers_mut().append(
                axum::http::header::SET_COOKIE,
                session_cookie(&state, Some(session.token.expose_secret())),
            );
            Ok(response)
        }
        Err(err @ (ConsoleError::BadCredentials | ConsoleError::TooManyAttempts(_))) => {
            Ok(fail(status_of(&err), &error_text(&f, &err)))
        }
        Err(ConsoleError::MachineAccount) => {
            Ok(fail(StatusCode::FORBIDDEN, f.t("machine_account")))
        }
        Err(err) => Err(console_error(&err)),
    }
}

/// The session token and its stage, for the steps between password and signed in.
async fn pending(state: &AppState, headers: &HeaderMap, want: Stage) -> Result<String, Response> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Err(see_other("/admin/signin"));
    };
    match console::current(&state.app, &token).await {
        Ok(Some((_, stage))) if stage == want => Ok(token),
        Ok(Some((_, Stage::SignedIn))) if want == Stage::Enrol => Ok(token),
        Ok(Some((_, Stage::SignedIn))) => Err(see_other("/admin")),
        Ok(Some((_, Stage::SecondFactor))) => Err(see_other("/admin/second-factor")),
        Ok(Some((_, Stage::Enrol))) => Err(see_other("/admin/enrol")),
        Ok(None) => Err(see_other("/admin/signin")),
        Err(err) => Err(console_error(&err).into_response()),
    }
}

fn code_form(f: &Frame, error: Option<&str>) -> Markup {
    html! {
        @if let Some(error) = error { p role="alert" { (error) } }
        form method="post" action="/admin/second-factor" {
            input type="hidden" name="_csrf" value=(f.csrf);
            label for="code" { (f.t("code_label")) }
            input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required;
            p { button type="submit" { (f.t("continue")) } }
        }
        p class="empty" { (f.t("code_help")) }
    }
}

pub(super) async fn code_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let token = match pending(&state, &headers, Stage::SecondFactor).await {
        Ok(token) => token,
        Err(response) => return response,
    };
    let f = frame(&state, &headers, Some(&token));
    respond(
        &f,
        StatusCode::OK,
        bare_layout(&f, f.t("second_factor"), code_form(&f, None)),
        &[],
    )
}

pub(super) async fn code_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let token = match pending(&state, &headers, Stage::SecondFactor).await {
        Ok(token) => token,
        Err(response) => return Ok(response),
    };
    let f = frame(&state, &headers, Some(&token));
    let fail = |status, message: &str| {
        respond(
            &f,
            status,
            bare_layout(&f, f.t("second_factor"), code_form(&f, Some(message))),
            &[],
        )
    };
    if !csrf_ok(&f, &form) {
        return Ok(fail(StatusCode::FORBIDDEN, f.t("form_expired")));
    }
    let code = field(&form, "code").unwrap_or_default();
    match console::second_factor(&state.app, &token, &code).await {
        Ok(session) => {
            let mut response = see_other("/admin");
            response.headers_mut().append(
                axum::http::header::SET_COOKIE,
                session_cookie(&state, Some(session.token.expose_secret())),
            );
            Ok(response)
        }
        Err(err @ (ConsoleError::BadCode | ConsoleError::TooManyAttempts(_))) => {
            Ok(fail(status_of(&err), &error_text(&f, &err)))
        }
        Err(err) => Err(console_error(&err)),
    }
}

/// The QR code of an `otpauth://` URL, as inline SVG.
fn qr_svg(url: &str) -> Option<String> {
    let code = qrcode::QrCode::new(url.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(220, 220)
            .quiet_zone(true)
            .build(),
    )
}

fn enrol_body(f: &Frame, secret: &SecretString, url: &SecretString, error: Option<&str>) -> Markup {
    html! {
        @if let Some(error) = error { p role="alert" { (error) } }
        p { (f.t("enrol_intro")) }
        @if let Some(svg) = qr_svg(url.expose_secret()) {
            figure id="qr" aria-label=(f.t("qr_label")) { (PreEscaped(svg)) }
        }
        p { (f.t("enrol_secret")) " " code id="totp-secret" class="secret" { (secret.expose_secret()) } }
        form method="post" action="/admin/enrol" {
            input type="hidden" name="_csrf" value=(f.csrf);
            label for="code" { (f.t("enrol_code")) }
            input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required;
            p { button type="submit" { (f.t("enrol_confirm")) } }
        }
    }
}

/// Shows a new secret each time it is loaded: the secret is shown once, and a reload
/// replaces the one not yet confirmed.
pub(super) async fn enrol_page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let token = match pending(&state, &headers, Stage::Enrol).await {
        Ok(token) => token,
        Err(response) => return Ok(response),
    };
    let f = frame(&state, &headers, Some(&token));
    match console::begin_enrolment(&state.app, &token).await {
        Ok(e) => Ok(respond(
            &f,
            StatusCode::OK,
            bare_layout(
                &f,
                f.t("enrol_title"),
                enrol_body(&f, &e.secret_base32, &e.otpauth_url, None),
            ),
            &[],
        )),
        Err(ConsoleError::WrongStage) => Ok(see_other("/admin/account")),
        Err(err) => Err(console_error(&err)),
    }
}

/// After a wrong code: a fresh secret (the old one was shown once already).
async fn retry_enrolment(
    state: &AppState,
    token: &str,
    f: &Frame,
    status: StatusCode,
    message: &str,
) -> Result<Response, ApiError> {
    match console::begin_enrolment(&state.app, token).await {
        Ok(e) => Ok(respond(
            f,
            status,
            bare_layout(
                f,
                f.t("enrol_title"),
                enrol_body(f, &e.secret_base32, &e.otpauth_url, Some(message)),
            ),
            &[],
        )),
        Err(err) => Err(console_error(&err)),
    }
}

pub(super) async fn enrol_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let token = match pending(&state, &headers, Stage::Enrol).await {
        Ok(token) => token,
        Err(response) => return Ok(response),
    };
    let f = frame(&state, &headers, Some(&token));
    if !csrf_ok(&f, &form) {
        return retry_enrolment(
            &state,
            &token,
            &f,
            StatusCode::FORBIDDEN,
            f.t("form_expired"),
        )
        .await;
    }
    let code = field(&form, "code").unwrap_or_default();
    match console::confirm_enrolment(&state.app, &token, &code).await {
        Ok((session, codes)) => {
            let f = frame(&state, &headers, Some(session.token.expose_secret()));
            let body = html! {
                p role="status" { (f.t("enrolled")) }
                p { (f.t("recovery_intro")) }
                ol id="recovery-codes" { @for c in &codes { li { code { (c.expose_secret()) } } } }
                p { a href="/admin" { (f.t("continue")) } }
            };
            Ok(respond(
                &f,
                StatusCode::OK,
                bare_layout(&f, f.t("recovery_title"), body),
                &[session_cookie(&state, Some(session.token.expose_secret()))],
            ))
        }
        Err(err @ (ConsoleError::BadCode | ConsoleError::TooManyAttempts(_))) => {
            let text = error_text(&f, &err);
            retry_enrolment(&state, &token, &f, status_of(&err), &text).await
        }
        Err(ConsoleError::WrongStage) => Ok(see_other("/admin/enrol")),
        Err(err) => Err(console_error(&err)),
    }
}

pub(super) async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let Some(token) = cookie(&headers, SESSION_COOKIE) else {
        return Ok(see_other("/admin/signin"));
    };
    let f = frame(&state, &headers, Some(&token));
    if !csrf_ok(&f, &form) {
        // Without the token, a cross-site form cannot end the session; the session
        // stays valid and the operator is told.
        let body = html! { p role="alert" { (f.t("form_expired")) } p { a href="/admin" { (f.t("nav_home")) } } };
        return Ok(respond(
            &f,
            StatusCode::FORBIDDEN,
            bare_layout(&f, f.t("sign_out"), body),
            &[],
        ));
    }
    console::sign_out(&state.app, &token)
        .await
        .map_err(|e| console_error(&e))?;
    let body = html! { p role="status" id="signed-out" { (f.t("signed_out")) } p { a href="/admin/signin" { (f.t("sign_in")) } } };
    Ok(respond(
        &f,
        StatusCode::OK,
        bare_layout(&f, f.t("sign_out"), body),
        &[session_cookie(&state, None)],
    ))
}

/// The operator's own page: their second factor and recovery codes left.
pub(super) async fn account_page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let who = match signed_in(&state, &headers).await {
        Ok(who) => who,
        Err(response) => return Ok(response),
    };
    let f = &who.frame;
    let enrolled = console::enrolled(&state.app, &who.op)
        .await
        .map_err(|e| console_error(&e))?;
    let left = console::recovery_codes_left(&state.app, &who.op)
        .await
        .map_err(|e| console_error(&e))?;
    let required = state
        .app
        .policy
        .operator_sign_in
        .second_factor_required(who.op.role);
    let body = html! {
        section {
            h2 { (f.t("second_factor")) }
            @if enrolled {
                p class="ok" { (f.t("factor_enrolled")) }
                p { (f.t("recovery_left")) ": " strong id="recovery-left" { (left) } }
                p class="empty" { (f.t("factor_reset_help")) }
            } @else {
                p { @if required { (f.t("factor_required")) } @else { (f.t("factor_optional")) } }
                p { a href="/admin/enrol" { (f.t("enrol_title")) } }
            }
        }
    };
    Ok(respond(
        f,
        StatusCode::OK,
        layout(&state, &who, f.t("nav_account"), body),
        &[],
    ))
}
