//! What needs doing today, per role: requests due soon and overdue, the state of
//! operations (audit chain verification, backups, ingest per source), failed mail,
//! operators without a second factor their role requires.
//!
//! Invariants: a panel is filled only when the role may see it (decided by
//! [`crate::access::decide`]), else it is `None` and nothing behind it is read; no
//! panel holds personal data (requests show their id, kind and dates; the person only
//! by Datavow's id).

use crate::access::{decide, OperatorAct};
use crate::operators::Operator;
use crate::requests::{self, Request};
use crate::Datavow;
use chrono::{DateTime, Duration, Utc};
use datavow_store::{LastRun, StoreError};

/// A request is "due soon" this close to its deadline.
pub const DUE_SOON: Duration = Duration::days(7);

/// Kinds of [`LastRun`] the home page reports: the audit chain's verification and
/// backups; ingest kinds start with `ingest:`.
pub const AUDIT_VERIFY: &str = "audit-verify";
pub const BACKUP: &str = "backup";

/// One role's home page.
#[derive(Debug, Clone, Default)]
pub struct Home {
    pub requests: Option<RequestsPanel>,
    pub operations: Option<Operations>,
    /// Messages that could not be delivered after every retry.
    pub failed_mail: Option<usize>,
    pub operators: Option<Vec<OperatorStanding>>,
}

#[derive(Debug, Clone, Default)]
pub struct RequestsPanel {
    pub overdue: Vec<Request>,
    pub due_soon: Vec<Request>,
    pub open: usize,
}

#[derive(Debug, Clone, Default)]
pub struct Operations {
    pub audit_verified: Option<LastRun>,
    pub backup: Option<LastRun>,
    /// The last ingest per source (`ingest:file`, `ingest:stdin`, `ingest:collector`).
    pub ingest: Vec<LastRun>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorStanding {
    pub name: String,
    pub role: String,
    pub disabled: bool,
    pub second_factor: bool,
    pub second_factor_required: bool,
}

/// Why the home page could not be made.
#[derive(Debug, thiserror::Error)]
pub enum HomeError {
    #[error(transparent)]
    Requests(#[from] requests::RequestError),
    #[error(transparent)]
    Mail(#[from] crate::mail::MailError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The home page of `operator` at `now`.
pub async fn home(
    app: &Datavow,
    operator: &Operator,
    now: DateTime<Utc>,
) -> Result<Home, HomeError> {
    let may = |act| decide(&app.policy, operator.role, act).is_ok();
    let mut home = Home::default();
    if may(OperatorAct::HandleRequests) {
        let open = requests::open(app, requests::By::Operator(operator)).await?;
        let (overdue, rest): (Vec<Request>, Vec<Request>) =
            open.iter().cloned().partition(|r| r.overdue(now));
        home.requests = Some(RequestsPanel {
            overdue,
            due_soon: rest
                .into_iter()
                .filter(|r| r.deadline_at <= now + DUE_SOON)
                .collect(),
            open: open.len(),
        });
    }
    if may(OperatorAct::ReadOperations) {
        let runs = app.stores.console.last_runs().await?;
        let find = |kind: &str| runs.iter().find(|r| r.kind == kind).cloned();
        home.operations = Some(Operations {
            audit_verified: find(AUDIT_VERIFY),
            backup: find(BACKUP),
            ingest: runs
                .iter()
                .filter(|r| r.kind.starts_with("ingest:"))
                .cloned()
                .collect(),
        });
    }
    if may(OperatorAct::ReadMailQueue) {
        home.failed_mail = Some(crate::mail::dead_letters(app, operator).await?.len());
    }
    if may(OperatorAct::ReadOperators) {
        let mut standing = Vec::new();
        for op in app.stores.operators.operators().await? {
            let required = datavow_policy::Role::parse(&op.role)
                .is_some_and(|r| app.policy.operator_sign_in.second_factor_required(r));
            standing.push(OperatorStanding {
                second_factor: app.stores.console.second_factor(&op.name).await?.is_some(),
                second_factor_required: required,
                name: op.name,
                role: op.role,
                disabled: op.disabled,
            });
        }
        home.operators = Some(standing);
    }
    Ok(home)
}

/// Records the last run of an operation for the home page. `detail` must hold no
/// personal data (counts, sequence numbers).
pub async fn record_run(
    app: &Datavow,
    kind: &str,
    ok: bool,
    detail: &str,
) -> Result<(), StoreError> {
    app.stores
        .console
        .record_run(&LastRun {
            kind: kind.to_owned(),
            at_micros: Utc::now().timestamp_micros(),
            ok,
            detail: detail.to_owned(),
        })
        .await
}
