//! Policy versions (P16): the texts people read at `/privacy`, each with a version and
//! an effective instant; which one is in force; acknowledgements, the dashboard's notice
//! of a material change and its announcement by mail.
//!
//! Invariants:
//! - A published text is never changed or removed: a version is added, never edited.
//!   Versions take effect in the order they were published, each strictly after the
//!   one before it, so the version in force at any instant is the last one whose
//!   effective instant is at or before it.
//! - Every node computes the version in force from the store (cached for at most
//!   [`CACHE_FOR`]), so a version published ahead of its instant switches on every node
//!   at that instant, without a restart.
//! - A person acknowledges the version in force when they sign up (`accepted_at_sign_up`)
//!   and, by continued use, at their first sign-in while a later version is in force
//!   (`continued_use`). A material version that took effect after the one they accepted
//!   at sign-up shows a notice until they dismiss it.
//! - Publishing is audited (who, which version and language, the text's digest, the
//!   instant); the text holds no personal data.

use crate::accounts::{AccountError, SignedIn};
use crate::{Datavow, Principal};
use chrono::{DateTime, NaiveDate, Utc};
use datavow_policy::Policy;
use datavow_store::{
    Acknowledgement, PolicyTextRow, PolicyVersionRow, Published, StoreError, Stores,
};
use datavow_vault::{Action, AuditEvent, Outcome};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a node reuses the list of versions before reading it again.
pub const CACHE_FOR: Duration = Duration::from_secs(2);
/// The longest policy text accepted (Markdown).
pub const MAX_TEXT_BYTES: usize = 512 * 1024;
/// How long after its effective instant a material version is still announced by mail
/// (a version published before mail was configured is not mailed years later).
pub const ANNOUNCE_WITHIN: chrono::Duration = chrono::Duration::days(30);

/// One version of the policy text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PolicyVersion {
    pub version: String,
    pub effective_at: DateTime<Utc>,
    /// A material change: people who accepted an earlier version are told.
    pub material: bool,
    /// The languages it is published in.
    pub langs: Vec<String>,
}

impl From<PolicyVersionRow> for PolicyVersion {
    fn from(row: PolicyVersionRow) -> Self {
        PolicyVersion {
            version: row.version,
            effective_at: DateTime::from_timestamp_micros(row.effective_at_micros)
                .unwrap_or_default(),
            material: row.material,
            langs: row.langs,
        }
    }
}

/// Every published version, in effective order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyVersions(Vec<PolicyVersion>);

impl PolicyVersions {
    pub fn new(mut versions: Vec<PolicyVersion>) -> Self {
        versions.sort_by(|a, b| (a.effective_at, &a.version).cmp(&(b.effective_at, &b.version)));
        PolicyVersions(versions)
    }

    /// Every version, oldest first (including ones not yet in force).
    pub fn all(&self) -> &[PolicyVersion] {
        &self.0
    }

    /// The version in force at `now`: the last one whose instant is at or before it.
    pub fn in_force(&self, now: DateTime<Utc>) -> Option<&PolicyVersion> {
        self.0.iter().rev().find(|v| v.effective_at <= now)
    }

    pub fn get(&self, version: &str) -> Option<&PolicyVersion> {
        self.0.iter().find(|v| v.version == version)
    }

    /// The version before `version`, if any.
    pub fn before(&self, version: &str) -> Option<&PolicyVersion> {
        let at = self.0.iter().position(|v| v.version == version)?;
        at.checked_sub(1).map(|i| &self.0[i])
    }

    fn rank(&self, version: &str) -> Option<usize> {
        self.0.iter().position(|v| v.version == version)
    }
}

/// The per-node cache of [`PolicyVersions`].
#[derive(Debug, Default)]
pub(crate) struct Cache(Mutex<Option<(Instant, Arc<PolicyVersions>)>>);

impl Cache {
    pub(crate) fn fresh(&self) -> Option<Arc<PolicyVersions>> {
        let guard = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        guard
            .as_ref()
            .filter(|(at, _)| at.elapsed() < CACHE_FOR)
            .map(|(_, versions)| versions.clone())
    }

    pub(crate) fn put(&self, versions: Arc<PolicyVersions>) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((Instant::now(), versions));
    }

    pub(crate) fn clear(&self) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }
}

/// Every published version (from the cache when it is fresh).
pub async fn versions(app: &Datavow) -> Result<Arc<PolicyVersions>, StoreError> {
    if let Some(versions) = app.policy_versions.fresh() {
        return Ok(versions);
    }
    let rows = app.stores.policy_texts.policy_versions().await?;
    let versions = Arc::new(PolicyVersions::new(
        rows.into_iter().map(PolicyVersion::from).collect(),
    ));
    app.policy_versions.put(versions.clone());
    Ok(versions)
}

/// The version in force at `now`; the policy file's version when nothing is published
/// (a policy file without a text).
pub async fn in_force(app: &Datavow, now: DateTime<Utc>) -> Result<String, StoreError> {
    Ok(versions(app)
        .await?
        .in_force(now)
        .map_or_else(|| app.policy.version.clone(), |v| v.version.clone()))
}

/// A published text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PolicyText {
    pub version: String,
    /// The language of `body`: the one asked for, else English, else the first.
    pub lang: String,
    pub effective_at: DateTime<Utc>,
    pub material: bool,
    /// Markdown.
    pub body: String,
}

/// The text of `version` in `lang` (falling back to English, then any language).
pub async fn text(
    app: &Datavow,
    version: &str,
    lang: &str,
) -> Result<Option<PolicyText>, StoreError> {
    let versions = versions(app).await?;
    let Some(v) = versions.get(version) else {
        return Ok(None);
    };
    let chosen = [lang, "en"]
        .into_iter()
        .find(|l| v.langs.iter().any(|have| have == l))
        .or_else(|| v.langs.first().map(String::as_str));
    let Some(chosen) = chosen else {
        return Ok(None);
    };
    let row = app.stores.policy_texts.policy_text(version, chosen).await?;
    Ok(row.map(|row| PolicyText {
        version: row.version,
        lang: row.lang,
        effective_at: DateTime::from_timestamp_micros(row.effective_at_micros).unwrap_or_default(),
        material: row.material,
        body: row.body,
    }))
}

/// One line of a diff between two texts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "change", content = "line", rename_all = "snake_case")]
pub enum DiffLine {
    Same(String),
    Removed(String),
    Added(String),
}

/// The line-by-line difference from `from` to `to`, both in `lang` (with the same
/// fallback as [`text`]). `None` when either version is unknown.
pub async fn diff(
    app: &Datavow,
    from: &str,
    to: &str,
    lang: &str,
) -> Result<Option<Vec<DiffLine>>, StoreError> {
    let (Some(old), Some(new)) = (text(app, from, lang).await?, text(app, to, lang).await?) else {
        return Ok(None);
    };
    let diff = similar::TextDiff::from_lines(&old.body, &new.body);
    Ok(Some(
        diff.iter_all_changes()
            .map(|change| {
                let line = change.value().trim_end_matches('\n').to_owned();
                match change.tag() {
                    similar::ChangeTag::Equal => DiffLine::Same(line),
                    similar::ChangeTag::Delete => DiffLine::Removed(line),
                    similar::ChangeTag::Insert => DiffLine::Added(line),
                }
            })
            .collect(),
    ))
}

/// A text to publish.
#[derive(Debug, Clone)]
pub struct Publication {
    pub version: String,
    pub lang: String,
    pub effective_at: DateTime<Utc>,
    pub material: bool,
    /// Markdown.
    pub body: String,
}

impl Publication {
    /// The instant a date takes effect: its start, in UTC.
    pub fn start_of(date: NaiveDate) -> DateTime<Utc> {
        date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
    }
}

/// Why a text was not published. Nothing was stored.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("a version is 1 to 64 letters, digits, dots, dashes or underscores, such as 2026-12")]
    BadVersion,
    #[error("a policy text is written in one of {}", datavow_policy::TEXT_LANGUAGES.join(", "))]
    BadLanguage,
    #[error("the text is empty")]
    Empty,
    #[error("the text is longer than {} KiB", MAX_TEXT_BYTES / 1024)]
    TooLong,
    #[error(
        "{0} is in the past: a version takes effect today or later (today's date publishes it now)"
    )]
    InThePast(NaiveDate),
    #[error("version {other} takes effect at {at}: a new version must take effect after every version published before it")]
    NotAfter { other: String, at: DateTime<Utc> },
    #[error("version {version} is published with another effective instant or materiality; a language added to it must match ({at}, {})", if *material { "material" } else { "not material" })]
    Mismatch {
        version: String,
        at: DateTime<Utc>,
        material: bool,
    },
    #[error(
        "version {version} in {lang} is published with another text; publish a new version instead"
    )]
    Conflicts { version: String, lang: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What [`publish`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishOutcome {
    Published,
    /// The same text was published already; nothing changed.
    AlreadyPublished,
}

/// Publishes a text (see the module invariants), audited. A new version's date of
/// today takes effect now; an earlier one is refused. A translation added to a
/// published version takes that version's instant, whatever date it was given.
pub async fn publish(
    app: &Datavow,
    by: &Principal,
    mut publication: Publication,
    now: DateTime<Utc>,
) -> Result<PublishOutcome, PublishError> {
    check(&publication)?;
    app.policy_versions.clear();
    let known = versions(app).await?;
    let existing = known.get(&publication.version);
    if existing.is_none() && publication.effective_at < now {
        if publication.effective_at.date_naive() == now.date_naive() {
            publication.effective_at = now;
        } else {
            return Err(PublishError::InThePast(
                publication.effective_at.date_naive(),
            ));
        }
    }
    if let Some(same) = existing {
        let language_added = !same.langs.contains(&publication.lang);
        if language_added && same.material == publication.material {
            publication.effective_at = same.effective_at;
        } else if language_added {
            return Err(PublishError::Mismatch {
                version: same.version.clone(),
                at: same.effective_at,
                material: same.material,
            });
        } else if let Some(text) = text(app, &same.version, &publication.lang).await? {
            if text.body == publication.body && text.material == publication.material {
                return Ok(PublishOutcome::AlreadyPublished);
            }
            return Err(PublishError::Conflicts {
                version: publication.version,
                lang: publication.lang,
            });
        }
    } else if let Some(last) = known.all().last() {
        if publication.effective_at <= last.effective_at {
            return Err(PublishError::NotAfter {
                other: last.version.clone(),
                at: last.effective_at,
            });
        }
    }
    let outcome = store(&app.stores, &app.audit, by.actor(), &publication, now).await?;
    app.policy_versions.clear();
    Ok(outcome)
}

fn check(publication: &Publication) -> Result<(), PublishError> {
    let version = &publication.version;
    if version.is_empty()
        || version.len() > 64
        || !version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    {
        return Err(PublishError::BadVersion);
    }
    if !datavow_policy::TEXT_LANGUAGES.contains(&publication.lang.as_str()) {
        return Err(PublishError::BadLanguage);
    }
    if publication.body.trim().is_empty() {
        return Err(PublishError::Empty);
    }
    if publication.body.len() > MAX_TEXT_BYTES {
        return Err(PublishError::TooLong);
    }
    Ok(())
}

/// Stores one text and audits it.
async fn store(
    stores: &Stores,
    audit: &crate::audit::AuditLog,
    actor: datavow_vault::Actor,
    publication: &Publication,
    now: DateTime<Utc>,
) -> Result<PublishOutcome, PublishError> {
    let row = PolicyTextRow {
        version: publication.version.clone(),
        lang: publication.lang.clone(),
        effective_at_micros: publication.effective_at.timestamp_micros(),
        material: publication.material,
        body: publication.body.clone(),
        published_at_micros: now.timestamp_micros(),
        published_by: actor.to_string(),
    };
    match stores.policy_texts.publish_policy_text(&row).await? {
        Published::AlreadyStored => return Ok(PublishOutcome::AlreadyPublished),
        Published::Conflicts => {
            return Err(PublishError::Conflicts {
                version: row.version,
                lang: row.lang,
            })
        }
        Published::Stored => {}
    }
    let digest = hex::encode(Sha256::digest(row.body.as_bytes()));
    audit
        .append(&[AuditEvent {
            detail: Some(format!(
                "policy text {} ({}, sha256 {}) published, effective {}{}",
                row.version,
                row.lang,
                &digest[..12],
                publication
                    .effective_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                if row.material { ", material" } else { "" },
            )),
            ..AuditEvent::new(&actor, Action::PolicyChanged, Outcome::Allowed)
        }])
        .await?;
    Ok(PublishOutcome::Published)
}

/// Publishes the policy file's texts as its version, at its effective date, when that
/// version is not published yet and takes effect after every published one. A text
/// that differs from the published one of the same version is left unpublished, with
/// a warning: published texts are not changed.
pub(crate) async fn publish_policy_file_texts(
    stores: &Stores,
    audit: &crate::audit::AuditLog,
    policy: &Policy,
) -> Result<(), StoreError> {
    let known = stores.policy_texts.policy_versions().await?;
    let effective_at = Publication::start_of(policy.effective_date);
    let listed = known.iter().any(|v| v.version == policy.version);
    if !listed
        && known
            .iter()
            .any(|v| v.effective_at_micros >= effective_at.timestamp_micros())
    {
        tracing::warn!(
            version = %policy.version,
            "the policy file's version takes effect before a published version; its text is not published"
        );
        return Ok(());
    }
    // The first version people ever saw is not a change; a later one from the file is.
    // A version published already keeps its materiality (for its other languages, and
    // so a restart finds its texts published alike).
    let material = match known.iter().find(|v| v.version == policy.version) {
        Some(published) => published.material,
        None => !known.is_empty(),
    };
    for (lang, body) in policy.texts() {
        let publication = Publication {
            version: policy.version.clone(),
            lang: lang.clone(),
            effective_at,
            material,
            body: body.clone(),
        };
        let actor = datavow_vault::Actor::System("policy-file".into());
        match store(stores, audit, actor, &publication, Utc::now()).await {
            Ok(_) => {}
            Err(PublishError::Conflicts { version, lang }) => tracing::warn!(
                %version, %lang,
                "the policy file's text differs from the published text of this version; \
                 the published text stays in force (publish a new version to change it)"
            ),
            Err(PublishError::Store(err)) => return Err(err),
            Err(other) => tracing::warn!(error = %other, "a policy file text was not published"),
        }
    }
    Ok(())
}

/// Records that `person` acknowledged the version in force by continued use, unless
/// they have already acknowledged it (called at sign-in).
pub(crate) async fn acknowledge_continued_use(
    app: &Datavow,
    person: datavow_store::PersonId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Some(current) = versions(app).await?.in_force(now).cloned() else {
        return Ok(());
    };
    app.stores
        .accounts
        .insert_acknowledgement(
            person,
            &Acknowledgement {
                policy_version: current.version,
                acknowledged_at: now,
                how: "continued_use".into(),
            },
        )
        .await
}

/// A notice of a material change the person has not dismissed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Notice {
    /// The material version to read.
    pub version: String,
    pub effective_at: DateTime<Utc>,
    /// The version the person knew before it, for a diff.
    pub since: Option<String>,
}

/// The person's standing towards the policy.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PolicyStatus {
    pub in_force: Option<PolicyVersion>,
    pub acknowledgements: Vec<AcknowledgementView>,
    pub notice: Option<Notice>,
}

/// An acknowledgement, as the person sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AcknowledgementView {
    pub version: String,
    pub at: DateTime<Utc>,
    /// `accepted_at_sign_up` or `continued_use`.
    pub how: String,
}

/// The notice rule: the latest material version in force at `now` that took effect
/// after the version the person accepted at sign-up, unless they dismissed it.
pub fn notice_for(
    versions: &PolicyVersions,
    acknowledged: &[Acknowledgement],
    dismissed: &[String],
    now: DateTime<Utc>,
) -> Option<Notice> {
    let accepted = acknowledged
        .iter()
        .filter(|a| a.how == "accepted_at_sign_up")
        .filter_map(|a| versions.rank(&a.policy_version))
        .max();
    let latest_material = versions
        .all()
        .iter()
        .enumerate()
        .rev()
        .find(|(_, v)| v.material && v.effective_at <= now)?;
    let (rank, version) = latest_material;
    if accepted.is_some_and(|a| a >= rank) || dismissed.contains(&version.version) {
        return None;
    }
    let since = acknowledged
        .iter()
        .filter_map(|a| versions.rank(&a.policy_version))
        .filter(|r| *r < rank)
        .max()
        .map(|r| versions.all()[r].version.clone())
        .or_else(|| versions.before(&version.version).map(|v| v.version.clone()));
    Some(Notice {
        version: version.version.clone(),
        effective_at: version.effective_at,
        since,
    })
}

/// The signed-in person's acknowledgements and notice at `now`.
pub async fn status(
    app: &Datavow,
    me: &SignedIn,
    now: DateTime<Utc>,
) -> Result<PolicyStatus, AccountError> {
    let person = me.person();
    let versions = versions(app).await?;
    let acknowledged = app.stores.accounts.acknowledgements(person).await?;
    let dismissed: Vec<String> = app
        .stores
        .policy_texts
        .dismissed_policy_notices(person)
        .await?
        .into_iter()
        .map(|(v, _)| v)
        .collect();
    Ok(PolicyStatus {
        in_force: versions.in_force(now).cloned(),
        notice: notice_for(&versions, &acknowledged, &dismissed, now),
        acknowledgements: acknowledged
            .into_iter()
            .map(|a| AcknowledgementView {
                version: a.policy_version,
                at: a.acknowledged_at,
                how: a.how,
            })
            .collect(),
    })
}

/// Dismisses the notice of `version` for the signed-in person. An unknown version is
/// refused as not found.
pub async fn dismiss_notice(
    app: &Datavow,
    me: &SignedIn,
    version: &str,
    now: DateTime<Utc>,
) -> Result<(), AccountError> {
    if versions(app).await?.get(version).is_none() {
        return Err(AccountError::NotFound);
    }
    app.stores
        .policy_texts
        .dismiss_policy_notice(me.person(), version, now.timestamp_micros())
        .await?;
    Ok(())
}

/// Queues the announcement mail of every material version published and not yet
/// announced whose instant is less than [`ANNOUNCE_WITHIN`] ago (the
/// `policy-announcements` job). Does nothing when mail is not configured. Returns the
/// number of messages queued.
pub async fn announce_due(
    app: &Datavow,
    now: DateTime<Utc>,
) -> Result<u64, crate::mail::MailError> {
    if app.mailer.is_none() {
        return Ok(0);
    }
    let announced = app.stores.policy_texts.policy_announcements().await?;
    let versions = versions(app).await?;
    let mut queued = 0;
    for version in versions.all() {
        if !version.material
            || announced.contains(&version.version)
            || version.effective_at + ANNOUNCE_WITHIN < now
        {
            continue;
        }
        let since = versions.before(&version.version).map(|v| v.version.clone());
        let count = crate::mail::announce_policy(app, version, since.as_deref()).await?;
        // Recorded after the queueing: a crash in between sends some twice rather than
        // leaving people untold.
        app.stores
            .policy_texts
            .record_policy_announcement(&version.version, now.timestamp_micros(), count as i64)
            .await?;
        queued += count;
    }
    Ok(queued)
}
