//! The marketing page (marketing role): a campaign to the people who opted in, each in
//! their language, with a one-click unsubscribe link.

use super::{allowed, csrf_ok, field, layout, respond, signed_in};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use datavow_core::access::OperatorAct;
use datavow_policy::Purpose;
use maud::{html, Markup};
use std::collections::HashMap;

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

pub(super) async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let who = match allowed(&state, &headers, OperatorAct::View(Purpose::Marketing)).await {
        Ok(who) => who,
        Err(response) => return Ok(response),
    };
    let f = &who.frame;
    Ok(respond(
        f,
        StatusCode::OK,
        layout(
            &state,
            &who,
            f.t("nav_marketing"),
            marketing_form(&f.csrf, None),
        ),
        &[],
    ))
}

pub(super) async fn submit(
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
    let value = |k: &str| field(&form, k);
    let respond = |status, notice: &str| {
        respond(
            f,
            status,
            layout(
                &state,
                &who,
                f.t("nav_marketing"),
                marketing_form(&f.csrf, Some(notice)),
            ),
            &[],
        )
    };
    if !csrf_ok(f, &form) {
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
        datavow_core::mail::Sender::Operator(op),
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
