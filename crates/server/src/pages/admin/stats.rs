//! Statistics for operators whose role has the `statistics` purpose: a report over a
//! date range as a server-rendered SVG chart (plotters) with its numbers beside it, and
//! as CSV. No JavaScript.

use super::{allowed, layout, respond, Frame};
use crate::{ApiError, AppState};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, NaiveDate, Utc};
use datavow_core::access::OperatorAct;
use datavow_core::stats::{self, By, StatsError, Table};
use datavow_policy::Purpose;
use maud::{html, Markup, PreEscaped};
use plotters::prelude::*;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub(super) struct Params {
    report: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// The report and period asked for; the last 28 days of visits by default.
fn chosen(params: &Params) -> Result<(String, NaiveDate, NaiveDate), ()> {
    let today = Utc::now().date_naive();
    let parse =
        |v: &Option<String>, default: NaiveDate| match v.as_deref().filter(|s| !s.is_empty()) {
            None => Ok(default),
            Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| ()),
        };
    let to = parse(&params.to, today)?;
    let from = parse(&params.from, to - Duration::days(27))?;
    Ok((
        params.report.clone().unwrap_or_else(|| "visits".into()),
        from,
        to,
    ))
}

const WIDTH: u32 = 640;

/// A bar chart of the table's first column: one bar per day for `visits`, else the top
/// 15 values as horizontal bars. Returns SVG text.
fn chart(table: &Table, title: &str) -> String {
    let mut svg = String::new();
    let rows: Vec<&(String, Vec<u64>)> = if table.report == "visits" {
        table.rows.iter().collect()
    } else {
        table.rows.iter().take(15).collect()
    };
    let height: u32 = if table.report == "visits" {
        260
    } else {
        40 + 22 * rows.len().max(1) as u32
    };
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let font = ("sans-serif", 13).into_font();
        let _ = root.draw(&Text::new(title.to_owned(), (8, 6), font.clone()));
        let column = if table.report == "visits" { 1 } else { 0 };
        let max = rows.iter().map(|r| r.1[column]).max().unwrap_or(0).max(1);
        let bar = RGBColor(0x2f, 0x6f, 0xb3);
        if table.report == "visits" {
            let (left, top, bottom) = (40i32, 30i32, height as i32 - 30);
            let step = (WIDTH as i32 - left - 10) / rows.len().max(1) as i32;
            for (i, (day, numbers)) in rows.iter().enumerate() {
                let x = left + i as i32 * step;
                let h = ((bottom - top) as u64 * numbers[column] / max) as i32;
                let _ = root.draw(&Rectangle::new(
                    [(x + 1, bottom - h), (x + step.max(2) - 1, bottom)],
                    bar.filled(),
                ));
                if i == 0 || i + 1 == rows.len() || rows.len() <= 8 {
                    let _ = root.draw(&Text::new(
                        day[5..].to_owned(),
                        (x, bottom + 6),
                        ("sans-serif", 11).into_font(),
                    ));
                }
            }
            let _ = root.draw(&Text::new(
                max.to_string(),
                (4, top),
                ("sans-serif", 11).into_font(),
            ));
            let _ = root.draw(&Text::new(
                "0".to_owned(),
                (4, bottom - 10),
                ("sans-serif", 11).into_font(),
            ));
        } else {
            let (left, right) = (200i32, WIDTH as i32 - 60);
            for (i, (value, numbers)) in rows.iter().enumerate() {
                let y = 30 + i as i32 * 22;
                let w = ((right - left) as u64 * numbers[column] / max) as i32;
                let label: String = value.chars().take(28).collect();
                let _ = root.draw(&Text::new(
                    label,
                    (6, y + 3),
                    ("sans-serif", 12).into_font(),
                ));
                let _ = root.draw(&Rectangle::new(
                    [(left, y), (left + w.max(1), y + 16)],
                    bar.filled(),
                ));
                let _ = root.draw(&Text::new(
                    numbers[column].to_string(),
                    (left + w + 6, y + 3),
                    ("sans-serif", 12).into_font(),
                ));
            }
        }
        let _ = root.present();
    }
    svg
}

fn numbers(f: &Frame, table: &Table) -> Markup {
    html! {
        table id="stats-table" {
            tr {
                th { (if table.report == "visits" { f.t("day") } else { f.t("value") }) }
                @for c in &table.columns { th { (f.t(column_key(c))) } }
            }
            @for (value, numbers) in &table.rows {
                tr { td { (value) } @for n in numbers { td { (n) } } }
            }
        }
    }
}

fn column_key(column: &str) -> &'static str {
    match column {
        "visitors" => "col_visitors",
        "visits" => "col_visits",
        _ => "col_accounts",
    }
}

/// The accounts report split per dimension (`entity:…`, `sector:…`, `country:…`), each
/// part's rows labelled by value alone, in the report's order.
fn per_dimension(table: &Table) -> Vec<(String, Table)> {
    let mut parts: Vec<(String, Table)> = Vec::new();
    for (cell, numbers) in &table.rows {
        let (dimension, value) = stats::split_cell(cell);
        if parts.last().map(|(d, _)| d.as_str()) != Some(dimension) {
            parts.push((
                dimension.to_owned(),
                Table {
                    rows: Vec::new(),
                    ..table.clone()
                },
            ));
        }
        if let Some((_, part)) = parts.last_mut() {
            part.rows.push((value.to_owned(), numbers.clone()));
        }
    }
    parts
}

fn dimension_key(dimension: &str) -> &'static str {
    match dimension {
        "entity" => "dim_entity",
        "sector" => "dim_sector",
        _ => "dim_country",
    }
}

fn report_key(report: &str) -> &'static str {
    match report {
        "visits" => "report_visits",
        "pages" => "report_pages",
        "countries" => "report_countries",
        "browsers" => "report_browsers",
        "platforms" => "report_platforms",
        "devices" => "report_devices",
        "referrers" => "report_referrers",
        "languages" => "report_languages",
        _ => "report_accounts",
    }
}

async fn table(
    state: &AppState,
    who: &super::SignedIn,
    params: &Params,
) -> Result<Result<Table, (StatusCode, String)>, ApiError> {
    let f = &who.frame;
    let Ok((report, from, to)) = chosen(params) else {
        return Ok(Err((StatusCode::BAD_REQUEST, f.t("bad_date").to_owned())));
    };
    match stats::report(&state.app, By::Operator(&who.op), &report, from, to).await {
        Ok(table) => Ok(Ok(table)),
        Err(err @ (StatsError::UnknownReport(_) | StatsError::BadPeriod)) => {
            Ok(Err((StatusCode::BAD_REQUEST, err.to_string())))
        }
        Err(StatsError::Denied(d)) => Ok(Err((StatusCode::FORBIDDEN, d.message))),
        Err(err) if err.is_unavailable() => Err(ApiError::unavailable(err)),
        Err(err) => Err(ApiError::internal(err)),
    }
}

pub(super) async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    let who = match allowed(&state, &headers, OperatorAct::View(Purpose::Statistics)).await {
        Ok(who) => who,
        Err(response) => return Ok(response),
    };
    let f = &who.frame;
    let (report, from, to) = chosen(&params).unwrap_or_else(|()| {
        (
            "visits".into(),
            Utc::now().date_naive() - Duration::days(27),
            Utc::now().date_naive(),
        )
    });
    let answer = table(&state, &who, &params).await?;
    let form = html! {
        form method="get" action="/admin/stats" id="stats-form" {
            label for="report" { (f.t("report")) }
            select id="report" name="report" {
                @for r in stats::REPORTS { option value=(r) selected[r == report] { (f.t(report_key(r))) } }
            }
            label for="from" { (f.t("from")) }
            input id="from" name="from" type="date" value=(from);
            label for="to" { (f.t("to")) }
            input id="to" name="to" type="date" value=(to);
            p { button type="submit" { (f.t("show")) } }
        }
    };
    let (status, body) = match answer {
        Ok(table) => {
            let title = format!(
                "{} · {} – {}",
                f.t(report_key(&table.report)),
                table.from,
                table.to
            );
            let csv = format!(
                "/admin/stats.csv?report={}&from={}&to={}",
                table.report, table.from, table.to
            );
            (
                StatusCode::OK,
                html! {
                    (form)
                    p class="empty" { (f.t(if table.report == "accounts" { "accounts_intro" } else { "stats_intro" })) }
                    @if table.rows.is_empty() { p class="empty" { (f.t("stats_empty")) } }
                    @else {
                        @if table.report == "accounts" {
                            @for (dimension, part) in per_dimension(&table) {
                                @let title = format!("{} · {}", f.t("col_accounts"), f.t(dimension_key(&dimension)));
                                figure id=(format!("chart-{dimension}")) aria-label=(title) { (PreEscaped(chart(&part, &title))) }
                            }
                        } @else {
                            figure id="chart" aria-label=(title) { (PreEscaped(chart(&table, &title))) }
                        }
                        (numbers(f, &table))
                    }
                    p { a href=(csv) id="csv" download { (f.t("download_csv")) } }
                },
            )
        }
        Err((status, message)) => (status, html! { p role="alert" { (message) } (form) }),
    };
    Ok(respond(
        f,
        status,
        layout(&state, &who, f.t("nav_stats"), body),
        &[],
    ))
}

pub(super) async fn csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    let who = match allowed(&state, &headers, OperatorAct::View(Purpose::Statistics)).await {
        Ok(who) => who,
        Err(response) => return Ok(response),
    };
    match table(&state, &who, &params).await? {
        Ok(table) => {
            let name = format!("{}-{}-{}.csv", table.report, table.from, table.to);
            Ok((
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{name}\""),
                    ),
                    (header::CACHE_CONTROL, "no-store".to_owned()),
                ],
                table.csv(),
            )
                .into_response())
        }
        Err((status, message)) => {
            let code = if status == StatusCode::FORBIDDEN {
                "purpose_not_allowed_for_role"
            } else {
                "bad_request"
            };
            Ok(ApiError::new(status, code, message).into_response())
        }
    }
}
