//! Pages reached from mail (P11, P13): the one-click unsubscribe (RFC 8058) and account
//! recovery. Neither needs a sign-in: the link's token is the proof.
//!
//! A mail client's one-click unsubscribe is a POST without cookies, so that form
//! carries no CSRF token; a GET only shows the page with the button (link scanners
//! that follow every link unsubscribe nobody). Recovery links work once.

use super::*;
use axum::extract::Path;
use datavow_core::mail::{self, MailError};

fn message_page(page: &Page, status: StatusCode, title: &str, text: &str) -> Response {
    let body = html! { p role="status" { (text) } };
    respond(page, status, layout(page, title, false, body))
}

pub(super) async fn unsubscribe_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    let page = page(&state, &headers, q.lang.as_deref());
    let t = |k| page.lang.t(k);
    let body = html! {
        p { (t("unsubscribe_explain")) }
        form method="post" action=(format!("/unsubscribe/{token}")) {
            button type="submit" { (t("unsubscribe")) }
        }
    };
    respond(
        &page,
        StatusCode::OK,
        layout(&page, t("unsubscribe"), false, body),
    )
}

pub(super) async fn unsubscribe_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    let page = page(&state, &headers, None);
    let t = |k| page.lang.t(k);
    match mail::unsubscribe(&state.app, &token).await {
        Ok(()) => message_page(&page, StatusCode::OK, t("unsubscribe"), t("unsubscribed")),
        Err(MailError::BadToken) => message_page(
            &page,
            StatusCode::BAD_REQUEST,
            t("unsubscribe"),
            t("link_invalid"),
        ),
        Err(err) => {
            tracing::error!(error = %err, "unsubscribe failed");
            message_page(
                &page,
                StatusCode::SERVICE_UNAVAILABLE,
                t("unsubscribe"),
                t("err_generic"),
            )
        }
    }
}

pub(super) async fn recover_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let page = page(&state, &headers, q.lang.as_deref());
    let t = |k| page.lang.t(k);
    let body = html! {
        p { (t("recover_explain")) }
        form method="post" action="/recover" {
            input type="hidden" name="_csrf" value=(page.csrf);
            (text_input(page.lang, "email", "email", None, "email"))
            p { button type="submit" { (t("recover_send")) } }
        }
    };
    respond(
        &page,
        StatusCode::OK,
        layout(&page, t("recover"), false, body),
    )
}

pub(super) async fn recover_submit(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let page = page(&state, &headers, None);
    let t = |k| page.lang.t(k);
    if !csrf_ok(&headers, &form) {
        return message_page(&page, StatusCode::FORBIDDEN, t("recover"), t("err_csrf"));
    }
    if let Some(email) = field(&form, "email") {
        crate::api::recovery::send_in_background(&state, email, client);
    }
    message_page(&page, StatusCode::ACCEPTED, t("recover"), t("recover_sent"))
}

pub(super) async fn recover_link_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    let page = page(&state, &headers, None);
    let t = |k| page.lang.t(k);
    match mail::recovery_is_valid(&state.app, &token).await {
        Ok(true) => {
            let body = html! {
                p { (t("recover_link_explain")) }
                form method="post" action=(format!("/recover/{token}")) {
                    input type="hidden" name="_csrf" value=(page.csrf);
                    button type="submit" { (t("recover_new_password")) }
                }
            };
            respond(
                &page,
                StatusCode::OK,
                layout(&page, t("recover"), false, body),
            )
        }
        _ => message_page(
            &page,
            StatusCode::BAD_REQUEST,
            t("recover"),
            t("link_invalid"),
        ),
    }
}

pub(super) async fn recover_link_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let page = page(&state, &headers, None);
    let t = |k| page.lang.t(k);
    if !csrf_ok(&headers, &form) {
        return message_page(&page, StatusCode::FORBIDDEN, t("recover"), t("err_csrf"));
    }
    match mail::complete_recovery(&state.app, &token).await {
        Ok(recovered) => {
            let body = html! {
                p role="status" { (t("recover_done")) }
                table {
                    tr { th { (t("user_id")) } td id="user-id" { (recovered.user_id) } }
                    tr { th { (t("password")) } td id="password" { code { (recovered.password.expose_secret()) } } }
                }
                p { a href="/signin" { (t("sign_in")) } }
            };
            respond(
                &page,
                StatusCode::OK,
                layout(&page, t("recover"), false, body),
            )
        }
        Err(MailError::BadToken) => message_page(
            &page,
            StatusCode::BAD_REQUEST,
            t("recover"),
            t("link_invalid"),
        ),
        Err(err) => {
            tracing::error!(error = %err, "account recovery failed");
            message_page(
                &page,
                StatusCode::SERVICE_UNAVAILABLE,
                t("recover"),
                t("err_generic"),
            )
        }
    }
}
