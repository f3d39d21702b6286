//! Erasure (P9, P13, P14, P15): one operation for everything that erases — a person's
//! request, the child flag, the end of a retention period, account closure.
//!
//! What it does, in order:
//! 1. decides from the policy which of the person's retention classes have a legal
//!    ground to stay (kept, restricted to the legal obligation, until their period
//!    ends) and which go;
//! 2. the commit point, one keystore transaction ([`datavow_vault::Vault::erase_keys`],
//!    audited before): the account key and every class without a ground are destroyed,
//!    the kept classes restricted, one tombstone per destroyed key written to the
//!    erasure ledger. From here the person is erased in every copy of the data,
//!    backups included: nothing can open their fields, and their browser records and
//!    audit entries can no longer be tied to them (both tags came from the account key);
//! 3. the person's rows go in one data transaction: fields, history, blind-index
//!    entries (the email can sign up again, no search finds the old person), sessions,
//!    acknowledgements; requests stay, unlinked;
//! 4. the ledger marks the rows cleared.
//!
//! Invariants: a crash before 2 leaves the person intact; after 2, erased, and
//! [`resume`] (run when an instance opens) finishes 3 and 4. A repeated erasure is a
//! no-op that answers with what the ledger recorded. The result tells the person what
//! was erased and what is kept, on which legal ground, until when; it holds no
//! personal data.

use crate::Datavow;
use chrono::{DateTime, TimeZone, Utc};
use datavow_policy::{Category, Keep, Purpose};
use datavow_store::{PersonId, StoreError};
use datavow_vault::{ErasurePlan, VaultError, ACCOUNT_CLASS};
use serde::Serialize;

/// Why a person's data is erased.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The person asked (dashboard, API, or a request registered by an operator).
    Request,
    /// Data of a child collected without parental consent (P15): at once.
    Child,
    /// The account was closed.
    AccountClosed,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Request => "request",
            Reason::Child => "child",
            Reason::AccountClosed => "account_closed",
        }
    }
}

/// A class kept after erasure, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Kept {
    pub class: String,
    pub categories: Vec<String>,
    pub legal_ground: String,
    /// When its key is destroyed (RFC 3339), if its period has an end yet.
    pub until: Option<String>,
    /// The only purpose that may read it from now on.
    pub readable_for: String,
}

/// What an erasure did, as the person is told (P14). No personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErasureResult {
    pub person_id: String,
    pub reason: Reason,
    /// RFC 3339.
    pub erased_at: String,
    /// Categories whose data is destroyed.
    pub erased: Vec<String>,
    pub kept: Vec<Kept>,
    /// Whether this call did it (false: it had been done before).
    pub performed_now: bool,
}

/// Why an erasure failed. Nothing is half-done: see the module invariants.
#[derive(Debug, thiserror::Error)]
pub enum ErasureError {
    #[error("no such person")]
    NoSuchPerson,
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Denied(#[from] crate::access::Denied),
}

/// The base class of a class key name (`invoices:asergo_europe:2026` → `invoices`).
pub(crate) fn base_class(class: &str) -> &str {
    class.split(':').next().unwrap_or(class)
}

fn rfc3339(micros: i64) -> Option<String> {
    Utc.timestamp_micros(micros)
        .single()
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// A test hook for the crash tests: with `DATAVOW_FAULT_ERASURE_STEP=N`, the process
/// aborts at step N of an erasure, as a power cut would stop it. Only in debug builds
/// (the test binaries); a release build has no such switch.
#[cfg(debug_assertions)]
fn fault_point(step: u32) {
    static STEP: std::sync::OnceLock<Option<u32>> = std::sync::OnceLock::new();
    let at = STEP.get_or_init(|| {
        std::env::var("DATAVOW_FAULT_ERASURE_STEP")
            .ok()
            .and_then(|v| v.parse().ok())
    });
    if *at == Some(step) {
        std::process::abort();
    }
}

#[cfg(not(debug_assertions))]
fn fault_point(_step: u32) {}

/// Erases `person` for `reason`, acting as `by`. See the module documentation.
pub async fn erase(
    app: &Datavow,
    person: PersonId,
    reason: Reason,
    by: &crate::Principal,
) -> Result<ErasureResult, ErasureError> {
    let policy = &app.policy;
    let custody = app.door.custody(by.actor());
    let classes = app.vault.classes_of(person).await?;
    let row = app.stores.persons.person(person).await?;
    let tombstones = app.vault.tombstones_of(person).await?;
    if row.is_none() && classes.iter().all(|c| c.restricted) && tombstones.is_empty() {
        return Err(ErasureError::NoSuchPerson);
    }
    let mut plan = ErasurePlan {
        reason: reason.as_str().into(),
        account: true,
        ..ErasurePlan::default()
    };
    let mut kept = Vec::new();
    for class in &classes {
        let base = base_class(&class.class);
        let categories = policy.class_categories(base);
        // A class named `BASE:ENTITY:…` follows the rule of its entity's country.
        let country = class
            .class
            .split(':')
            .nth(1)
            .and_then(|entity| policy.entity(entity))
            .map(|e| e.country);
        let rule = categories
            .first()
            .map(|c| policy.retention(*c).for_country(country));
        // A legal ground keeps a class through erasure — except for a child's data,
        // which the policy deletes at once with nothing restricted (P15).
        match rule.and_then(|r| r.legal_ground.clone()) {
            Some(ground) if reason != Reason::Child => {
                if !class.restricted {
                    plan.restrict.push(class.class.clone());
                }
                kept.push(Kept {
                    class: class.class.clone(),
                    categories: categories.iter().map(|c| c.to_string()).collect(),
                    legal_ground: ground,
                    until: class.expires_at_micros.and_then(rfc3339),
                    readable_for: Purpose::LegalObligation.to_string(),
                });
            }
            _ => plan.destroy.push(class.class.clone()),
        }
    }
    suppress_address(app, person, by).await?;
    fault_point(1);
    let written = app.vault.erase_keys(&custody, person, &plan).await?;
    fault_point(2);
    let performed_now = !written.is_empty();
    finish_rows(app, person, &plan.destroy).await?;
    fault_point(3);
    let erased_at = match written.first().or(tombstones.first()) {
        Some(t) => rfc3339(t.at_micros),
        None => None,
    }
    .unwrap_or_else(|| Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    let kept_categories: Vec<String> = kept.iter().flat_map(|k| k.categories.clone()).collect();
    let erased = Category::ALL
        .iter()
        .filter(|c| {
            let rule = policy.retention(**c);
            rule.class == ACCOUNT_CLASS
                || (rule.keep != Keep::WhileAccountOpen
                    && !kept_categories.contains(&c.to_string())
                    && plan.destroy.iter().any(|d| base_class(d) == rule.class))
        })
        .map(|c| c.to_string())
        .collect();
    if performed_now {
        metrics::counter!("datavow_erasures_total", "reason" => reason.as_str()).increment(1);
    }
    Ok(ErasureResult {
        person_id: person.to_string(),
        reason,
        erased_at,
        erased,
        kept,
        performed_now,
    })
}

/// Puts the person's email address on the marketing suppression list (a keyed hash)
/// while their key can still open it: an erased address is never mailed marketing
/// again, and signs up again opted out (P11). Nothing to do once the key is gone. Done
/// before the commit point, so a crash in between leaves an intact person who is no
/// longer mailed marketing: the safe side.
async fn suppress_address(
    app: &Datavow,
    person: PersonId,
    by: &crate::Principal,
) -> Result<(), ErasureError> {
    let grant = app
        .door
        .system(by.actor(), crate::access::SystemAct::Suppress)?;
    let record = match app
        .vault
        .read(&grant, person, &[datavow_policy::Field::Email])
        .await
    {
        Ok(record) => record,
        Err(VaultError::Shredded | VaultError::NoSuchPerson) => return Ok(()),
        Err(err) => return Err(err.into()),
    };
    if let Some(email) = record.get(datavow_policy::Field::Email) {
        let digest = app.vault.suppression_digest(email.expose()).await?;
        app.stores
            .accounts
            .suppress(&digest, "erased", Utc::now().timestamp_micros())
            .await?;
    }
    Ok(())
}

/// Steps 3 and 4: deletes the person's rows and those of destroyed classes, then marks
/// the ledger. Safe to repeat.
async fn finish_rows(
    app: &Datavow,
    person: PersonId,
    classes: &[String],
) -> Result<(), ErasureError> {
    for class in classes {
        app.stores.persons.delete_retained(person, class).await?;
    }
    app.stores.persons.delete_person(person).await?;
    app.vault.mark_cleared(person, ACCOUNT_CLASS).await?;
    for class in classes {
        app.vault.mark_cleared(person, class).await?;
    }
    // Shredded keys leave no remnant in the keystore's files (best effort: a busy
    // server's write-ahead log is folded by the hourly compaction job).
    if let Err(err) = app.vault.compact_keystore().await {
        tracing::debug!(error = %err, "keystore compaction after an erasure deferred");
    }
    Ok(())
}

/// Finishes erasures that a crash interrupted after their commit point, and deletes the
/// rows of classes whose keys ended: every tombstone of the ledger whose rows are not
/// cleared. Run when an instance opens.
pub async fn resume(app: &Datavow) -> Result<usize, ErasureError> {
    let pending = app.vault.uncleared_tombstones().await?;
    for tombstone in &pending {
        if tombstone.class == ACCOUNT_CLASS {
            app.stores.persons.delete_person(tombstone.owner).await?;
        } else {
            app.stores
                .persons
                .delete_retained(tombstone.owner, &tombstone.class)
                .await?;
        }
        app.vault
            .mark_cleared(tombstone.owner, &tombstone.class)
            .await?;
    }
    if !pending.is_empty() {
        tracing::info!(count = pending.len(), "finished interrupted erasures");
    }
    Ok(pending.len())
}

/// Destroys the class keys whose retention period ended by `now` (invoices 8 years
/// after the end of their year in Germany, say), with their tombstones, then their
/// records. Returns how many classes ended.
pub async fn end_expired_classes(app: &Datavow, now: DateTime<Utc>) -> Result<usize, ErasureError> {
    let custody = app
        .door
        .custody(crate::Principal::system("retention").actor());
    let expired = app.vault.expired_classes(now.timestamp_micros()).await?;
    for (owner, class) in &expired {
        let plan = ErasurePlan {
            reason: "retention_ended".into(),
            account: false,
            destroy: vec![class.clone()],
            restrict: Vec::new(),
        };
        app.vault.erase_keys(&custody, *owner, &plan).await?;
        app.stores.persons.delete_retained(*owner, class).await?;
        app.vault.mark_cleared(*owner, class).await?;
    }
    Ok(expired.len())
}

/// Destroys the data keys that belong to no record: made more than an hour before
/// `now` (so no sign-up still in progress) and less than a week, for a person that was
/// never stored because a crash cut the sign-up short between its key and its record.
pub async fn destroy_orphan_keys(
    app: &Datavow,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<u64, VaultError> {
    let custody = app
        .door
        .custody(crate::Principal::system("orphan-keys").actor());
    app.vault
        .destroy_orphan_keys(
            &custody,
            now - chrono::Duration::days(7),
            now - chrono::Duration::hours(1),
        )
        .await
}
