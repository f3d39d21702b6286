//! `datavow dsr new|list|show|extend|complete|refuse`: data-subject requests that reach the
//! privacy contact by mail, letter or phone (P13), with their deadlines.

use crate::config::Config;
use chrono::{DateTime, Utc};
use datavow_core::persons::PersonKey;
use datavow_core::requests::{self, By, Request};
use datavow_core::Principal;
use std::process::ExitCode;

fn json(request: &Request, now: DateTime<Utc>) -> serde_json::Value {
    serde_json::json!({
        "id": request.id,
        "kind": request.kind,
        "status": request.status,
        "channel": request.channel,
        "received_at": request.received_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "deadline_at": request.deadline_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "due": request.due.to_string(),
        "overdue": request.overdue(now),
    })
}

#[allow(clippy::print_stdout, reason = "the request is the command's output")]
fn print(request: &Request, as_json: bool) {
    let now = Utc::now();
    if as_json {
        println!("{}", json(request, now));
    } else {
        println!(
            "{}  {:<13} {:<9} received {}  due {}{}",
            request.id,
            request.kind,
            request.status,
            request.received_at.format("%Y-%m-%d"),
            request.due,
            if request.overdue(now) {
                "  OVERDUE"
            } else {
                ""
            }
        );
    }
}

pub async fn new(
    config: &Config,
    kind: &str,
    email: Option<String>,
    user_id: Option<String>,
    received: Option<&str>,
    channel: &str,
    as_json: bool,
) -> anyhow::Result<ExitCode> {
    let received = super::moment_or_now("--received", received)?;
    let key = match (email, user_id) {
        (Some(email), _) => PersonKey::Email(email),
        (None, Some(id)) => PersonKey::UserId(id),
        (None, None) => anyhow::bail!("give --email or --user-id"),
    };
    let app = super::open(config).await?;
    let by = Principal::shell();
    let request = requests::register(&app, By::Owner(&by), &key, kind, received, channel).await?;
    print(&request, as_json);
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::print_stdout, reason = "the list is the command's output")]
pub async fn list(config: &Config, overdue: bool, as_json: bool) -> anyhow::Result<ExitCode> {
    let app = super::open(config).await?;
    let by = Principal::shell();
    let now = Utc::now();
    let open: Vec<Request> = requests::open(&app, By::Owner(&by))
        .await?
        .into_iter()
        .filter(|r| !overdue || r.overdue(now))
        .collect();
    if as_json {
        let list: Vec<serde_json::Value> = open.iter().map(|r| json(r, now)).collect();
        println!("{}", serde_json::Value::Array(list));
    } else if open.is_empty() {
        println!(
            "{}",
            if overdue {
                "no overdue request"
            } else {
                "no open request"
            }
        );
    } else {
        for request in &open {
            print(request, false);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn show(config: &Config, id: uuid::Uuid, as_json: bool) -> anyhow::Result<ExitCode> {
    let app = super::open(config).await?;
    let by = Principal::shell();
    let request = requests::get(&app, By::Owner(&by), id).await?;
    print(&request, as_json);
    Ok(ExitCode::SUCCESS)
}

pub async fn close(
    config: &Config,
    id: uuid::Uuid,
    status: &str,
    reason: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let app = super::open(config).await?;
    let by = Principal::shell();
    let request = requests::close(&app, By::Owner(&by), id, status, reason).await?;
    print(&request, false);
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::print_stdout, reason = "the request is the command's output")]
pub async fn extend(
    config: &Config,
    id: uuid::Uuid,
    months: u32,
    reason: &str,
) -> anyhow::Result<ExitCode> {
    let app = super::open(config).await?;
    let by = Principal::shell();
    let done = requests::extend(&app, By::Owner(&by), id, months, reason).await?;
    print(&done.request, false);
    if done.person_told {
        println!("the person is told the new deadline and the reason by mail");
    } else {
        println!("no mail was queued (mail is not configured, or the person has no address): tell them yourself");
    }
    Ok(ExitCode::SUCCESS)
}
