//! Each role's home page: what needs doing today, each item linking to its page, and
//! an empty state that says what will appear.

use super::{layout, respond, signed_in, Frame};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use datavow_core::console::home::{self, Home};
use datavow_core::console::LastRun;
use datavow_core::requests::Request;
use maud::{html, Markup};

fn when(micros: i64) -> String {
    DateTime::from_timestamp_micros(micros)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

fn request_rows(f: &Frame, requests: &[Request], class: &str) -> Markup {
    html! {
        table {
            tr { th { (f.t("request")) } th { (f.t("kind")) } th { (f.t("received")) } th { (f.t("due")) } }
            @for r in requests {
                tr {
                    td { a href={ "/admin/requests#r-" (r.id) } { code { (r.id.to_string()[..8]) } } }
                    td { (r.kind) }
                    td { (r.received_at.format("%Y-%m-%d")) }
                    td class=(class) { (r.due) }
                }
            }
        }
    }
}

fn last_run(f: &Frame, run: Option<&LastRun>, empty_key: &'static str) -> Markup {
    html! {
        @match run {
            Some(run) => p class=(if run.ok { "ok" } else { "bad" }) {
                (if run.ok { f.t("run_ok") } else { f.t("run_failed") }) " · " (when(run.at_micros)) " · " (run.detail)
            },
            None => p class="empty" { (f.t(empty_key)) },
        }
    }
}

fn body(f: &Frame, home: &Home) -> Markup {
    html! {
        @if let Some(r) = &home.requests {
            section id="requests" {
                h2 { a href="/admin/requests" { (f.t("requests_title")) } }
                @if r.overdue.is_empty() && r.due_soon.is_empty() {
                    p class="empty" { (f.t("requests_empty")) }
                }
                @if !r.overdue.is_empty() {
                    h3 class="overdue" { (f.t("overdue")) " (" (r.overdue.len()) ")" }
                    (request_rows(f, &r.overdue, "overdue"))
                }
                @if !r.due_soon.is_empty() {
                    h3 { (f.t("due_soon")) " (" (r.due_soon.len()) ")" }
                    (request_rows(f, &r.due_soon, "due-soon"))
                }
                p { (f.t("open_requests")) ": " (r.open) }
            }
            section id="holds" {
                h2 { (f.t("holds_title")) }
                p class="empty" { (f.t("holds_empty")) }
            }
        }
        @if let Some(ops) = &home.operations {
            section id="audit" {
                h2 { (f.t("audit_title")) }
                (last_run(f, ops.audit_verified.as_ref(), "audit_empty"))
            }
            section id="backups" {
                h2 { (f.t("backups_title")) }
                (last_run(f, ops.backup.as_ref(), "backups_empty"))
            }
            section id="ingest" {
                h2 { (f.t("ingest_title")) }
                @if ops.ingest.is_empty() { p class="empty" { (f.t("ingest_empty")) } }
                @else {
                    table {
                        tr { th { (f.t("source")) } th { (f.t("last_run")) } th { (f.t("result")) } }
                        @for run in &ops.ingest {
                            tr {
                                td { (run.kind.trim_start_matches("ingest:")) }
                                td { (when(run.at_micros)) }
                                td class=(if run.ok { "ok" } else { "bad" }) { (run.detail) }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(failed) = home.failed_mail {
            section id="mail" {
                h2 { (f.t("mail_title")) }
                @if failed == 0 { p class="empty" { (f.t("mail_empty")) } }
                @else { p class="bad" { (f.t("mail_failed")) ": " strong { (failed) } } }
            }
        }
        @if let Some(ops) = &home.operators {
            section id="operators" {
                h2 { (f.t("operators_title")) }
                @let missing: Vec<_> = ops.iter().filter(|o| !o.disabled && o.second_factor_required && !o.second_factor).collect();
                @if missing.is_empty() { p class="empty" { (f.t("operators_empty")) } }
                @else {
                    p class="bad" { (f.t("operators_missing")) }
                    ul { @for o in missing { li { (o.name) " (" (o.role) ")" } } }
                }
            }
        }
        @if home.requests.is_none() && home.operations.is_none() && home.failed_mail.is_none() && home.operators.is_none() {
            p class="empty" { (f.t("home_nothing")) }
        }
    }
}

pub(super) async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let who = match signed_in(&state, &headers).await {
        Ok(who) => who,
        Err(response) => return Ok(response),
    };
    let home = home::home(&state.app, &who.op, Utc::now())
        .await
        .map_err(|err| match err {
            home::HomeError::Store(e) if e.is_unavailable() => ApiError::unavailable(e),
            other => ApiError::internal(other),
        })?;
    let f = &who.frame;
    Ok(respond(
        f,
        StatusCode::OK,
        layout(&state, &who, f.t("home_title"), body(f, &home)),
        &[],
    ))
}
