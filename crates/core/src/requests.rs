//! Data-subject requests (P13) that reach the privacy contact by mail, letter or phone,
//! registered by an operator or at the command line, beside the erasure requests the
//! dashboard files itself.
//!
//! Invariants:
//! - Each request has the policy's deadline from its receipt (`[requests] deadline`,
//!   one month); it is overdue once that instant passes while it is open. Its `due`
//!   day is the deadline's date where the controlling entity sits.
//! - Registering, completing and refusing are audited before they take effect; the
//!   audit entry names the request's id and kind, never the person's data.
//! - Only roles that may answer requests (the `requests` purpose) register or close
//!   them; the instance's owner may at the shell.

use crate::access::{OperatorAct, SystemAct};
use crate::audit::audited_before;
use crate::operators::Operator;
use crate::persons::{PersonKey, PersonsError};
use crate::{Datavow, Principal};
use chrono::{DateTime, NaiveDate, Utc};
use datavow_policy::{CountryCode, Purpose};
use datavow_store::{PersonId, SubjectRequestRow};
use datavow_vault::{Action, Actor, AuditEvent, Outcome};

/// The kinds of request GDPR gives a person (Art. 15–18, 20, 21).
pub const KINDS: [&str; 6] = [
    "access",
    "rectification",
    "erasure",
    "restriction",
    "portability",
    "objection",
];

/// Statuses after which a request is no longer open.
const CLOSED: [&str; 2] = ["completed", "refused"];

/// Who acts on a request.
#[derive(Debug, Clone, Copy)]
pub enum By<'a> {
    Operator(&'a Operator),
    /// The instance's owner at the command line.
    Owner(&'a Principal),
}

/// A request as operators see it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Request {
    pub id: uuid::Uuid,
    pub kind: String,
    pub status: String,
    pub channel: String,
    pub received_at: DateTime<Utc>,
    pub deadline_at: DateTime<Utc>,
    /// The deadline's date in the controlling entity's time zone.
    pub due: NaiveDate,
    /// Datavow's id of the person (not personal data); `None` once they are erased.
    pub person: Option<PersonId>,
}

impl Request {
    /// Whether the deadline passed while the request is open.
    pub fn overdue(&self, now: DateTime<Utc>) -> bool {
        self.is_open() && self.deadline_at <= now
    }

    pub fn is_open(&self) -> bool {
        !CLOSED.contains(&self.status.as_str())
    }
}

/// Why a request could not be registered or changed. No personal data in messages.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("unknown request kind `{0}`; kinds: access, rectification, erasure, restriction, portability, objection")]
    UnknownKind(String),
    #[error("nobody matches; check the address or userID")]
    NobodyMatches,
    #[error("no request with this id")]
    NotFound,
    #[error("this request is already {0}")]
    Closed(String),
    #[error("the receipt time may not be in the future")]
    ReceivedInFuture,
    #[error("a deadline may be extended by {0} in all (GDPR Art. 12(3)); this would pass it")]
    ExtensionTooLong(String),
    #[error("give the person a reason for the extension (1 to 500 characters, no card numbers)")]
    BadReason,
    #[error(transparent)]
    Persons(#[from] PersonsError),
    #[error(transparent)]
    Store(#[from] datavow_store::StoreError),
}

impl From<crate::access::Denied> for RequestError {
    fn from(denied: crate::access::Denied) -> Self {
        RequestError::Persons(PersonsError::Denied(denied))
    }
}

impl From<datavow_vault::VaultError> for RequestError {
    fn from(err: datavow_vault::VaultError) -> Self {
        RequestError::Persons(PersonsError::Vault(err))
    }
}

/// The IANA zone of an entity's country: where its deadlines fall due. Countries
/// outside this list count in UTC.
fn zone(country: CountryCode) -> chrono_tz::Tz {
    use chrono_tz::Europe;
    match country.as_str() {
        "DE" => Europe::Berlin,
        "DK" => Europe::Copenhagen,
        "IE" => Europe::Dublin,
        "NL" => Europe::Amsterdam,
        "SE" => Europe::Stockholm,
        "NO" => Europe::Oslo,
        "FI" => Europe::Helsinki,
        "FR" => Europe::Paris,
        "AT" => Europe::Vienna,
        "BE" => Europe::Brussels,
        "ES" => Europe::Madrid,
        "IT" => Europe::Rome,
        "PL" => Europe::Warsaw,
        "GB" => Europe::London,
        _ => chrono_tz::UTC,
    }
}

async fn request_of(app: &Datavow, row: SubjectRequestRow) -> Result<Request, RequestError> {
    let entity = match row.person_id {
        Some(person) => app
            .stores
            .persons
            .person(person)
            .await?
            .and_then(|p| app.policy.entity(&p.entity).cloned()),
        None => None,
    };
    let entity = entity.unwrap_or_else(|| app.policy.entity_for_country(None).clone());
    let due = row
        .deadline_at
        .with_timezone(&zone(entity.country))
        .date_naive();
    Ok(Request {
        id: row.id,
        kind: row.kind,
        status: row.status,
        channel: row.channel,
        received_at: row.received_at,
        deadline_at: row.deadline_at,
        due,
        person: row.person_id,
    })
}

fn actor(by: By<'_>) -> Actor {
    match by {
        By::Operator(op) => op.actor(),
        By::Owner(principal) => principal.actor(),
    }
}

fn check(app: &Datavow, by: By<'_>) -> Result<(), RequestError> {
    if let By::Operator(op) = by {
        crate::access::decide(&app.policy, op.role, OperatorAct::HandleRequests)?;
    }
    Ok(())
}

/// Registers a request of `kind` from the person `key` names, received at `received_at`
/// through `channel` (`email`, `letter`, `phone`, …).
pub async fn register(
    app: &Datavow,
    by: By<'_>,
    key: &PersonKey,
    kind: &str,
    received_at: DateTime<Utc>,
    channel: &str,
) -> Result<Request, RequestError> {
    check(app, by)?;
    if !KINDS.contains(&kind) {
        return Err(RequestError::UnknownKind(kind.chars().take(32).collect()));
    }
    if received_at > Utc::now() {
        return Err(RequestError::ReceivedInFuture);
    }
    let grant = match by {
        By::Operator(op) => {
            let act = match key {
                PersonKey::Email(_) => OperatorAct::SearchByEmail,
                _ => OperatorAct::SearchByUserId,
            };
            app.door.operator(&app.policy, op, act)?
        }
        By::Owner(principal) => app.door.system(principal.actor(), SystemAct::PrivacyTool)?,
    };
    let person = crate::persons::find(app, &grant, key)
        .await?
        .ok_or(RequestError::NobodyMatches)?;
    let tag = app.vault.subject_tag(&grant, person).await?;
    let row = SubjectRequestRow {
        id: uuid::Uuid::new_v4(),
        person_id: Some(person),
        kind: kind.to_owned(),
        channel: channel
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(32)
            .collect(),
        received_at,
        deadline_at: app.policy.request_deadline.after(received_at),
        status: "open".into(),
    };
    let event = AuditEvent {
        subject: Some(tag),
        purpose: Some(Purpose::Requests),
        detail: Some(format!(
            "{kind} request {} received via {}",
            row.id, row.channel
        )),
        ..AuditEvent::new(&actor(by), Action::RequestFiled, Outcome::Allowed)
    };
    audited_before(app, event, async {
        Ok::<_, RequestError>(app.stores.accounts.insert_request(&row).await?)
    })
    .await?;
    request_of(app, row).await
}

/// Every open request, the earliest deadline first.
pub async fn open(app: &Datavow, by: By<'_>) -> Result<Vec<Request>, RequestError> {
    check(app, by)?;
    let mut out = Vec::new();
    for row in app.stores.console.open_requests().await? {
        out.push(request_of(app, row).await?);
    }
    Ok(out)
}

/// One request (open or closed).
pub async fn get(app: &Datavow, by: By<'_>, id: uuid::Uuid) -> Result<Request, RequestError> {
    check(app, by)?;
    let row = app
        .stores
        .console
        .request(id)
        .await?
        .ok_or(RequestError::NotFound)?;
    request_of(app, row).await
}

/// The requests of one person (for the person page).
pub async fn of_person(
    app: &Datavow,
    by: By<'_>,
    person: PersonId,
) -> Result<Vec<Request>, RequestError> {
    check(app, by)?;
    let mut out = Vec::new();
    for row in app.stores.accounts.requests_of(person).await? {
        out.push(request_of(app, row).await?);
    }
    Ok(out)
}

/// Closes an open request as `completed` or `refused` (with a reason kept in the
/// audit log; it must not hold personal data).
pub async fn close(
    app: &Datavow,
    by: By<'_>,
    id: uuid::Uuid,
    status: &str,
    reason: Option<&str>,
) -> Result<Request, RequestError> {
    let mut request = get(app, by, id).await?;
    if !request.is_open() {
        return Err(RequestError::Closed(request.status));
    }
    let status = if status == "refused" {
        "refused"
    } else {
        "completed"
    };
    let event = AuditEvent {
        purpose: Some(Purpose::Requests),
        detail: Some(match reason {
            Some(reason) => format!("{} request {id} {status}: {reason}", request.kind),
            None => format!("{} request {id} {status}", request.kind),
        }),
        ..AuditEvent::new(&actor(by), Action::RequestUpdated, Outcome::Allowed)
    };
    audited_before(app, event, async {
        Ok::<_, RequestError>(app.stores.accounts.set_request_status(id, status).await?)
    })
    .await?;
    status.clone_into(&mut request.status);
    Ok(request)
}

/// What [`extend`] did.
#[derive(Debug, Clone)]
pub struct Extended {
    pub request: Request,
    /// Whether a message telling the person was queued (mail is configured and they
    /// have an address); if not, they must be told another way.
    pub person_told: bool,
}

/// Extends an open request's deadline by `months`, within the policy's limit counted
/// from the original deadline (`[requests] extension`, two months), and tells the
/// person the new deadline and `reason` by mail (GDPR Art. 12(3)). The reason goes to
/// the person and the audit log: it must not hold personal data.
pub async fn extend(
    app: &Datavow,
    by: By<'_>,
    id: uuid::Uuid,
    months: u32,
    reason: &str,
) -> Result<Extended, RequestError> {
    let reason = reason.trim();
    if reason.is_empty()
        || reason.chars().count() > 500
        || crate::accounts::card_guard::contains_card_number(reason)
    {
        return Err(RequestError::BadReason);
    }
    let request = get(app, by, id).await?;
    if !request.is_open() {
        return Err(RequestError::Closed(request.status));
    }
    let limit = app
        .policy
        .request_extension
        .after(app.policy.request_deadline.after(request.received_at));
    let deadline = (months > 0)
        .then(|| {
            request
                .deadline_at
                .checked_add_months(chrono::Months::new(months))
        })
        .flatten();
    let Some(deadline) = deadline.filter(|d| *d <= limit) else {
        return Err(RequestError::ExtensionTooLong(
            app.policy.request_extension.to_string(),
        ));
    };
    let event = AuditEvent {
        purpose: Some(Purpose::Requests),
        detail: Some(format!(
            "{} request {id} extended by {months} months: {reason}",
            request.kind
        )),
        ..AuditEvent::new(&actor(by), Action::RequestUpdated, Outcome::Allowed)
    };
    let extended = audited_before(app, event, async {
        Ok::<_, RequestError>(app.stores.console.extend_request(id, deadline).await?)
    })
    .await?;
    if !extended {
        return Err(RequestError::Closed("closed".into()));
    }
    let request = get(app, by, id).await?;
    let person_told = match request.person {
        Some(person) => {
            crate::mail::tell_request_extended(app, person, &request.kind, request.due, reason)
                .await
                .is_ok()
        }
        None => false,
    };
    Ok(Extended {
        request,
        person_told,
    })
}
