//! The privacy policy pages (P16, P17): the version in force (or any other), every
//! version with its effective date, and the changes between two versions.
//!
//! Policy texts are Markdown written by the controller. They are rendered with
//! `pulldown-cmark` and then cleaned by `ammonia` (an allow-list of tags, attributes and
//! URL schemes), so a text can never run script or change the page around it.

use super::*;
use datavow_core::policy_versions::{self, DiffLine, PolicyVersion, PolicyVersions};

#[derive(Debug, Deserialize)]
pub(super) struct PrivacyQuery {
    lang: Option<String>,
    version: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct DiffQuery {
    lang: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// Markdown to safe HTML.
fn render_markdown(text: &str) -> maud::PreEscaped<String> {
    let mut html = String::with_capacity(text.len() * 3 / 2);
    let parser = pulldown_cmark::Parser::new_ext(text, pulldown_cmark::Options::ENABLE_TABLES);
    pulldown_cmark::html::push_html(&mut html, parser);
    maud::PreEscaped(ammonia::clean(&html))
}

fn date(at: chrono::DateTime<chrono::Utc>) -> String {
    if at.time() == chrono::NaiveTime::MIN {
        at.format("%Y-%m-%d").to_string()
    } else {
        at.format("%Y-%m-%d %H:%M UTC").to_string()
    }
}

/// "in force since …", "in force from …" or "replaced on …", for `v` at `now`.
fn standing(
    lang: Lang,
    versions: &PolicyVersions,
    v: &PolicyVersion,
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    let next = versions
        .all()
        .iter()
        .find(|other| other.effective_at > v.effective_at && other.effective_at <= now);
    match next {
        _ if v.effective_at > now => {
            format!("{} {}", lang.t("in_force_from"), date(v.effective_at))
        }
        Some(next) => format!("{} {}", lang.t("replaced_on"), date(next.effective_at)),
        None => format!("{} {}", lang.t("in_force_since"), date(v.effective_at)),
    }
}

fn language_name(code: &str) -> &'static str {
    match code {
        "de" => "Deutsch",
        "da" => "Dansk",
        _ => "English",
    }
}

pub(super) async fn privacy(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<PrivacyQuery>,
) -> Response {
    let page = page(&state, &headers, q.lang.as_deref());
    let signed_in = signed_in_person(&state, &headers).await.is_some();
    let now = chrono::Utc::now();
    let versions = match policy_versions::versions(&state.app).await {
        Ok(v) => v,
        Err(err) => return store_failure_page(&page, &err),
    };
    let lang = page.lang;
    let t = |k| lang.t(k);
    let chosen = match q.version.as_deref() {
        Some(v) => versions.get(v),
        None => versions.in_force(now).or_else(|| versions.all().first()),
    };
    let Some(chosen) = chosen.cloned() else {
        if q.version.is_some() {
            return not_found_page(&page, signed_in);
        }
        return respond(
            &page,
            StatusCode::OK,
            layout(&page, t("privacy"), signed_in, policy_file_summary(&page)),
        );
    };
    let text = match policy_versions::text(&state.app, &chosen.version, lang.code()).await {
        Ok(Some(text)) => text,
        Ok(None) => return not_found_page(&page, signed_in),
        Err(err) => return store_failure_page(&page, &err),
    };
    let previous = versions.before(&chosen.version).map(|v| v.version.clone());
    let body = html! {
        p id="policy-version" {
            (t("policy_version_label")) " " strong { (chosen.version) } " · " (standing(lang, &versions, &chosen, now))
            @if chosen.material { " · " (t("material")) }
            @if let Some(previous) = &previous {
                " · " a href={ "/privacy/diff?from=" (previous) "&to=" (chosen.version) } { (t("see_changes")) }
            }
        }
        @if text.lang != lang.code() {
            p class="notice" { (t("only_in")) " " (language_name(&text.lang)) "." }
        }
        article class="policy-text" lang=(text.lang) { (render_markdown(&text.body)) }
        section {
            h2 { (t("versions")) }
            table id="policy-versions" {
                @for v in versions.all().iter().rev() {
                    tr {
                        td { a href={ "/privacy?version=" (v.version) } { (v.version) } }
                        td { (date(v.effective_at)) }
                        td {
                            @if versions.in_force(now).is_some_and(|f| f.version == v.version) { (t("status_in_force")) }
                            @else if v.effective_at > now { (t("status_upcoming")) }
                            @else { (t("status_past")) }
                        }
                        td { @if v.material { (t("material")) } }
                    }
                }
            }
            @if versions.all().len() > 1 {
                h2 { (t("compare")) }
                form method="get" action="/privacy/diff" {
                    label for="from" { (t("compare_from")) }
                    select id="from" name="from" {
                        @for v in versions.all() {
                            option value=(v.version) selected[previous.as_deref() == Some(v.version.as_str())] { (v.version) " (" (date(v.effective_at)) ")" }
                        }
                    }
                    label for="to" { (t("compare_to")) }
                    select id="to" name="to" {
                        @for v in versions.all() {
                            option value=(v.version) selected[v.version == chosen.version] { (v.version) " (" (date(v.effective_at)) ")" }
                        }
                    }
                    button type="submit" { (t("compare_submit")) }
                }
            }
        }
    };
    respond(
        &page,
        StatusCode::OK,
        layout(&page, t("privacy"), signed_in, body),
    )
}

pub(super) async fn privacy_diff(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<DiffQuery>,
) -> Response {
    let page = page(&state, &headers, q.lang.as_deref());
    let signed_in = signed_in_person(&state, &headers).await.is_some();
    let versions = match policy_versions::versions(&state.app).await {
        Ok(v) => v,
        Err(err) => return store_failure_page(&page, &err),
    };
    let lang = page.lang;
    let t = |k| lang.t(k);
    let to = q.to.clone().or_else(|| {
        versions
            .in_force(chrono::Utc::now())
            .map(|v| v.version.clone())
    });
    let from = q.from.clone().or_else(|| {
        to.as_deref()
            .and_then(|to| versions.before(to))
            .map(|v| v.version.clone())
    });
    let (Some(from), Some(to)) = (from, to) else {
        return not_found_page(&page, signed_in);
    };
    let lines = match policy_versions::diff(&state.app, &from, &to, lang.code()).await {
        Ok(Some(lines)) => lines,
        Ok(None) => return not_found_page(&page, signed_in),
        Err(err) => return store_failure_page(&page, &err),
    };
    let title = t("changes_title")
        .replace("{from}", &from)
        .replace("{to}", &to);
    let changed = lines.iter().any(|l| !matches!(l, DiffLine::Same(_)));
    let body = html! {
        p {
            a href={ "/privacy?version=" (from) } { (from) } " → " a href={ "/privacy?version=" (to) } { (to) }
        }
        @if !changed { p class="notice" { (t("no_changes")) } }
        div class="diff" id="policy-diff" {
            @for line in &lines {
                @match line {
                    DiffLine::Same(text) => p { (text) " " },
                    DiffLine::Removed(text) => del { "− " (text) },
                    DiffLine::Added(text) => ins { "+ " (text) },
                }
            }
        }
    };
    respond(
        &page,
        StatusCode::OK,
        layout(&page, &title, signed_in, body),
    )
}

fn not_found_page(page: &Page, signed_in: bool) -> Response {
    let body = html! { p class="errors" { (page.lang.t("unknown_version")) } };
    respond(
        page,
        StatusCode::NOT_FOUND,
        layout(page, page.lang.t("privacy"), signed_in, body),
    )
}

fn store_failure_page(page: &Page, err: &datavow_core::StoreError) -> Response {
    let status = if err.is_unavailable() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        crate::error::log_failure(
            "policy_texts",
            StatusCode::INTERNAL_SERVER_ERROR,
            &err.to_string(),
        );
        StatusCode::INTERNAL_SERVER_ERROR
    };
    let body = html! { p class="errors" { (page.lang.t("err_generic")) } };
    respond(
        page,
        status,
        layout(page, page.lang.t("privacy"), false, body),
    )
}

/// What the policy file says, for an instance that has published no text.
fn policy_file_summary(page: &Page) -> Markup {
    let lang = page.lang;
    let policy = &page.policy;
    html! {
        p class="notice" { (lang.t("no_policy_text")) }
        p { (policy.name) " · " (policy.version) " · " (policy.effective_date) }
        table id="policy-purposes" {
            tr { th { (lang.t("purpose")) } th { (lang.t("legal_basis")) } }
            @for (_, rule) in policy.purposes() {
                tr { td { (rule.description) } td { (rule.legal_basis) } }
            }
        }
    }
}
