//! Browser data (P6): access-log ingest into day partitions, what a person's export
//! shows of their linked records, and retention that drops whole days.
//!
//! Invariants:
//! - A client address is stored only inside a block part sealed under its day's key;
//!   the visitor hash's salt is destroyed once the day is no longer recent (see
//!   `datavow_vault`'s browser module).
//! - Path and referrer are stored without query string or fragment; a line with a card
//!   number anywhere is dropped unseen; a malformed line is counted by reason and never
//!   stored, and never stops the run.
//! - A record is linked to a person only through a tag derived from their data key.

mod block;
mod pipeline;
mod resume;

pub use block::{decode_addresses, BlockMeta, CompactMeta, CompactRow, Row};
pub use datavow_ingest::{Browser, Clf, Format, LineParser, Template, TemplateError};
pub use pipeline::IngestError;

use crate::access::SystemAct;
use crate::Datavow;
use crate::Principal;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use datavow_ingest::{GeoDb, UaParser};
use datavow_policy::{Category, Field, Keep};
use datavow_store::PersonId;
use datavow_vault::{Action, AuditEvent, Grant, Outcome, VaultError};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::BufRead;
use std::net::IpAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

/// The fields a browser record holds.
pub(crate) const BROWSER_FIELDS: [Field; 6] = [
    Field::ClientIp,
    Field::UserAgent,
    Field::Referrer,
    Field::Path,
    Field::Country,
    Field::Language,
];

/// How a run reads its input's lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputFormat {
    /// The format is recognised from the first lines, among these.
    Recognise(&'static [Format]),
    /// Every line is read with this parser.
    Given(LineParser),
}

impl InputFormat {
    /// Any named format, recognised from the first lines.
    pub const AUTO: InputFormat = InputFormat::Recognise(&Format::NAMED);

    /// A named format; `None` for [`Format::Custom`], which needs its format string.
    pub fn named(format: Format) -> Option<InputFormat> {
        LineParser::named(format).map(InputFormat::Given)
    }

    /// A web server's format string (nginx `log_format` or Apache `LogFormat`).
    pub fn custom(format_string: &str) -> Result<InputFormat, TemplateError> {
        Template::new(format_string).map(|t| InputFormat::Given(LineParser::custom(t)))
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IngestSummary {
    /// The format the lines were read in (`None` for an input without a line).
    pub format: Option<&'static str>,
    /// Whether that format was recognised from the first lines rather than given.
    pub recognised: bool,
    pub read: u64,
    pub stored: u64,
    /// Lines not stored, by reason.
    pub rejected: BTreeMap<String, u64>,
}

impl IngestSummary {
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }
}

/// Ingests browser records. Build one per process: it holds the user-agent parser and
/// the geolocation database.
#[derive(Clone)]
pub struct BrowserIngest {
    app: Datavow,
    ua: Option<Arc<UaParser>>,
    geo: Option<Arc<GeoDb>>,
    audit_every: std::time::Duration,
}

impl std::fmt::Debug for BrowserIngest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrowserIngest")
            .field("user_agents", &self.ua.is_some())
            .field("geolocation", &self.geo.is_some())
            .finish()
    }
}

/// The oldest moment browser data may be from under the policy's retention rule.
fn oldest_kept(app: &Datavow, now: DateTime<Utc>) -> DateTime<Utc> {
    match app.policy.retention(Category::BrowserData).keep {
        Keep::For(period) => period.before(now),
        Keep::WhileAccountOpen => DateTime::<Utc>::MIN_UTC,
    }
}

impl BrowserIngest {
    /// Without a user-agent parser, browsers are stored as "Other"; without a
    /// geolocation database, countries are unknown.
    pub fn new(app: &Datavow, ua: Option<Arc<UaParser>>, geo: Option<Arc<GeoDb>>) -> BrowserIngest {
        BrowserIngest {
            app: app.clone(),
            ua,
            geo,
            audit_every: pipeline::AUDIT_EVERY,
        }
    }

    /// How often a run audits again a day partition it keeps writing to (a stream
    /// such as `tail -F`); a minute unless set.
    pub fn audit_every(mut self, every: std::time::Duration) -> BrowserIngest {
        self.audit_every = every;
        self
    }

    /// Reads `input` to its end for `by`. Each day partition written is audited
    /// before its first write and at least once a minute while written; the run's
    /// outcome is audited at its end. `progress` counts the bytes read so far.
    pub async fn ingest(
        &self,
        by: &Principal,
        input: Box<dyn BufRead + Send>,
        format: InputFormat,
        progress: Arc<AtomicU64>,
    ) -> Result<IngestSummary, IngestError> {
        let actor = by.actor();
        let grant = self.app.door.system(actor.clone(), SystemAct::Ingest)?;
        self.run(actor, grant, input, format, progress, None).await
    }

    /// [`BrowserIngest::ingest`] of a file, starting right after the last line an
    /// earlier run stored from it and recording its progress as it stores (see
    /// `resume`), so a run cut short and run again stores every line once. Returns
    /// the bytes skipped as already stored; `progress` starts there.
    pub async fn ingest_file(
        &self,
        by: &Principal,
        path: &std::path::Path,
        format: InputFormat,
        progress: Arc<AtomicU64>,
    ) -> Result<(IngestSummary, u64), IngestError> {
        let actor = by.actor();
        let grant = self.app.door.system(actor.clone(), SystemAct::Ingest)?;
        let opened = resume::open(self.app.stores.browser.as_ref(), path).await?;
        progress.store(opened.skipped, std::sync::atomic::Ordering::Relaxed);
        let summary = self
            .run(
                actor,
                grant,
                opened.input,
                format,
                progress,
                Some(opened.resume),
            )
            .await?;
        Ok((summary, opened.skipped))
    }

    /// [`BrowserIngest::ingest`] for a web tier posting events, one JSON object per
    /// line in any of the JSON shapes: the operator's role must allow it.
    pub async fn ingest_posted(
        &self,
        operator: &crate::operators::Operator,
        input: Box<dyn BufRead + Send>,
    ) -> Result<IngestSummary, IngestError> {
        let grant = self.app.door.operator(
            &self.app.policy,
            operator,
            crate::access::OperatorAct::PostEvents,
        )?;
        let format = InputFormat::Recognise(&Format::JSON);
        let result = self
            .run(operator.actor(), grant, input, format, Arc::default(), None)
            .await;
        // The console's "last ingest per source", written at most once a minute per node.
        static RECORDED_AT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
        let now = chrono::Utc::now().timestamp();
        let last = RECORDED_AT.load(std::sync::atomic::Ordering::Relaxed);
        if now - last >= 60
            && RECORDED_AT
                .compare_exchange(
                    last,
                    now,
                    std::sync::atomic::Ordering::Relaxed,
                    std::sync::atomic::Ordering::Relaxed,
                )
                .is_ok()
        {
            let (ok, detail) = match &result {
                Ok(s) => (
                    true,
                    format!(
                        "{} events read, {} stored, {} rejected in the last post",
                        s.read,
                        s.stored,
                        s.rejected_total()
                    ),
                ),
                Err(_) => (false, "the last post failed".to_owned()),
            };
            crate::console::record_run(&self.app, "ingest:collector", ok, &detail)
                .await
                .ok();
        }
        result
    }

    async fn run(
        &self,
        actor: datavow_vault::Actor,
        grant: Grant,
        input: Box<dyn BufRead + Send>,
        format: InputFormat,
        progress: Arc<AtomicU64>,
        resume: Option<resume::Resume>,
    ) -> Result<IngestSummary, IngestError> {
        let pipeline = pipeline::Pipeline {
            vault: self.app.vault.clone(),
            grant: Arc::new(grant),
            audit: self.app.audit.clone(),
            actor: actor.clone(),
            audit_every: self.audit_every,
            store: self.app.stores.browser.clone(),
            ua: self.ua.clone(),
            geo: self.geo.clone(),
            oldest: oldest_kept(&self.app, Utc::now()),
            resume,
        };
        let result = pipeline.run(input, format, progress).await;
        let detail = match &result {
            Ok(s) => format!("browser records: {} stored of {} lines", s.stored, s.read),
            Err(_) => "browser records: run failed".to_owned(),
        };
        let outcome = if result.is_ok() {
            Outcome::Allowed
        } else {
            Outcome::Failed
        };
        self.app
            .audit
            .append(&[AuditEvent {
                fields: BROWSER_FIELDS.to_vec(),
                detail: Some(detail),
                ..AuditEvent::new(&actor, Action::Ingest, outcome)
            }])
            .await?;
        let summary = result?;
        metrics::counter!("datavow_ingest_lines_total", "outcome" => "stored")
            .increment(summary.stored);
        metrics::counter!("datavow_ingest_lines_total", "outcome" => "rejected")
            .increment(summary.rejected_total());
        Ok(summary)
    }
}

/// One of a person's browser records, as their export shows it. Prints redacted.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct LinkedRecord {
    pub time: DateTime<Utc>,
    pub ip: IpAddr,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub referrer: Option<String>,
    pub browser: Browser,
    pub country: Option<String>,
    pub language: Option<String>,
}

datavow_policy::redacted_debug!(LinkedRecord {
    time,
    ip,
    method,
    path,
    status,
    referrer,
    browser,
    country,
    language
});

/// The browser records linked to `person`, under `grant` (their own access request,
/// or an operator's). Empty once the person's key is shredded: the link is gone.
pub(crate) async fn linked_records(
    app: &Datavow,
    grant: &Grant,
    person: PersonId,
) -> Result<Vec<LinkedRecord>, VaultError> {
    let tag = match app.vault.link_tag(grant, person).await {
        Ok(tag) => tag,
        Err(VaultError::Shredded | VaultError::NoSuchPerson) => return Ok(Vec::new()),
        Err(err) => return Err(err),
    };
    let mut found = Vec::new();
    for day in app.stores.browser.browser_days().await? {
        let blocks = app.stores.browser.day_blocks(day.day).await?;
        let mut reader = None;
        for block in &blocks {
            if reader.is_none() {
                match app.vault.open_day(grant, day.day).await? {
                    Some(r) => reader = Some(r),
                    None => break,
                }
            }
            let Some(reader) = &reader else { break };
            let tampered = || VaultError::KeyTampered(format!("a browser block of {}", day.day));
            let BlockMeta { browsers, rows } =
                BlockMeta::decode(&reader.open_meta(block)?).ok_or_else(tampered)?;
            if !rows.iter().any(|r| r.link == Some(tag)) {
                continue;
            }
            let ips = block::decode_addresses(&reader.open_ips(block)?).ok_or_else(tampered)?;
            for (row, ip) in rows.into_iter().zip(ips) {
                if row.link != Some(tag) {
                    continue;
                }
                let Some(time) = DateTime::from_timestamp(row.time, 0) else {
                    continue;
                };
                found.push(LinkedRecord {
                    time,
                    ip,
                    method: row.method,
                    path: row.path,
                    status: row.status,
                    referrer: row.referrer,
                    browser: browsers
                        .get(row.browser as usize)
                        .cloned()
                        .unwrap_or_else(Browser::unknown),
                    country: row.country,
                    language: row.language,
                });
            }
        }
    }
    found.sort_by_key(|r| r.time);
    Ok(found)
}

/// What a retention pass did to browser data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionPass {
    /// Days dropped whole, with their keys.
    pub days_dropped: Vec<NaiveDate>,
    /// Visitor salts destroyed.
    pub salts_destroyed: u64,
}

/// Whether every record of `day` is past retention at `now`.
fn past_retention(app: &Datavow, now: DateTime<Utc>, day: NaiveDate) -> bool {
    let day_end = (day + Duration::days(1))
        .and_time(chrono::NaiveTime::MIN)
        .and_utc();
    day_end <= oldest_kept(app, now)
}

/// The stored days that [`apply_retention`] would drop at `now`.
pub async fn days_past_retention(
    app: &Datavow,
    now: DateTime<Utc>,
) -> Result<Vec<NaiveDate>, VaultError> {
    Ok(app
        .stores
        .browser
        .browser_days()
        .await?
        .into_iter()
        .map(|d| d.day)
        .filter(|day| past_retention(app, now, *day))
        .collect())
}

/// Drops every day whose records are all past retention, and destroys the visitor
/// salts of days that are no longer recent. A day's keys are destroyed (audited) before
/// its rows are dropped (audited): an interrupted pass leaves rows nobody can open,
/// which the next pass drops, never a readable day whose key deletion was lost.
pub async fn apply_retention(
    app: &Datavow,
    now: DateTime<Utc>,
) -> Result<RetentionPass, VaultError> {
    let custody = app
        .door
        .custody(Principal::system("browser-retention").actor());
    let days = app.stores.browser.browser_days().await?;
    let mut pass = RetentionPass::default();
    for day in &days {
        if past_retention(app, now, day.day) {
            app.vault.destroy_day_keys(&custody, day.day).await?;
            app.audit
                .append(&[AuditEvent {
                    fields: BROWSER_FIELDS.to_vec(),
                    detail: Some(format!("browser day {} past retention", day.day)),
                    ..AuditEvent::new(
                        &Principal::system("browser-retention").actor(),
                        Action::DayDropped,
                        Outcome::Allowed,
                    )
                }])
                .await?;
            app.stores.browser.drop_day(day.day).await?;
            pass.days_dropped.push(day.day);
        }
    }
    // Salts exist only for days that were recent when written: the stored days, and
    // the last week in case a run wrote a salt but no block.
    let today = now.date_naive();
    let mut candidates: Vec<NaiveDate> = days
        .iter()
        .map(|d| d.day)
        .filter(|d| !pass.days_dropped.contains(d))
        .collect();
    candidates.extend((2..=8).map(|back| today - Duration::days(back)));
    candidates.sort_unstable();
    candidates.dedup();
    pass.salts_destroyed = app
        .vault
        .forget_visitor_salts(&custody, &candidates, today)
        .await?;
    Ok(pass)
}
