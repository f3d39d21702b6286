//! What the vault tells the audit log. Every operation on personal data (create, read,
//! update, shred, search) produces an [`AuditEvent`] that is recorded *before* the
//! result is returned; if it cannot be recorded, the operation fails (fail closed).
//!
//! Subjects are [`SubjectTag`]s: an HMAC of a constant under the person's own data key.
//! The tag says nothing about the person, and once the key is shredded nobody can work
//! out which entries were about them.

use crate::cipher::SymmetricKey;
use datavow_policy::{Field, Purpose, Role};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use std::fmt;

/// A pseudonymous tag for the person an audit entry is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SubjectTag(String);

impl SubjectTag {
    pub(crate) fn derive(data_key: &SymmetricKey) -> Self {
        SubjectTag(hex::encode(data_key.tag(b"datavow/audit-subject/v1")))
    }

    /// A tag as stored in the log.
    pub fn from_stored(text: String) -> Self {
        SubjectTag(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SubjectTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who acts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The person themselves, through the dashboard or API.
    Person(SubjectTag),
    /// A staff member under a role.
    Operator { name: String, role: Role },
    /// Datavow itself: a background job or a command-line tool.
    System(String),
    /// A visitor who is not signed in (sign-up, contact form).
    Visitor,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Person(tag) => write!(f, "person:{tag}"),
            Actor::Operator { name, role } => write!(f, "operator:{name}({role})"),
            Actor::System(what) => write!(f, "system:{what}"),
            Actor::Visitor => f.write_str("visitor"),
        }
    }
}

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Read,
    /// A password checked against its stored hash; the hash is not read out.
    Verify,
    Update,
    Shred,
    /// Keys of a browser day or a visitor salt destroyed by retention.
    KeysDestroyed,
    /// A browser day's rows dropped by retention (after its keys).
    DayDropped,
    /// Browser records written to a day partition (ingest).
    Ingest,
    /// Link tags of signed-in visitors looked up by userID (ingest).
    Link,
    /// A person's access log read.
    AccessLogRead,
    /// A data-subject request registered.
    RequestFiled,
    /// The master key rotated (keys re-wrapped).
    MasterKeyRotated,
    Search,
    Export,
    SignIn,
    OperatorAdded,
    RoleChanged,
    OperatorDisabled,
    PolicyChanged,
    /// A console session ended by its operator.
    SignOut,
    /// An operator enrolled a second factor (TOTP) and got recovery codes.
    SecondFactorEnrolled,
    /// A second-factor code refused (wrong, expired or replayed).
    SecondFactorRefused,
    /// An operator's second factor removed so they enrol again (a lost device).
    SecondFactorReset,
    /// The audit chain verified (its result is the outcome).
    AuditVerified,
    /// A data-subject request's status changed (completed, extended, refused).
    RequestUpdated,
    /// A de-identified statistics release for a third party (its parameters).
    StatsReleased,
    /// Audit entries older than the policy's retention pruned behind a signed statement.
    AuditPruned,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Read => "read",
            Action::Verify => "verify",
            Action::Update => "update",
            Action::Shred => "shred",
            Action::KeysDestroyed => "keys_destroyed",
            Action::DayDropped => "day_dropped",
            Action::Ingest => "ingest",
            Action::Link => "link",
            Action::AccessLogRead => "access_log_read",
            Action::RequestFiled => "request_filed",
            Action::MasterKeyRotated => "master_key_rotated",
            Action::Search => "search",
            Action::Export => "export",
            Action::SignIn => "sign_in",
            Action::OperatorAdded => "operator_added",
            Action::RoleChanged => "role_changed",
            Action::OperatorDisabled => "operator_disabled",
            Action::PolicyChanged => "policy_changed",
            Action::SignOut => "sign_out",
            Action::SecondFactorEnrolled => "second_factor_enrolled",
            Action::SecondFactorRefused => "second_factor_refused",
            Action::SecondFactorReset => "second_factor_reset",
            Action::AuditVerified => "audit_verified",
            Action::RequestUpdated => "request_updated",
            Action::StatsReleased => "stats_released",
            Action::AuditPruned => "audit_pruned",
        }
    }
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Allowed,
    /// The policy or a role refused it.
    Refused,
    /// Nothing matched (a search without a hit, a wrong password).
    NotFound,
    /// Audited before its effect, which then did not happen.
    Failed,
    /// Audited before its effect; a later entry says how it ended.
    Begun,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Refused => "refused",
            Outcome::NotFound => "not_found",
            Outcome::Failed => "failed",
            Outcome::Begun => "begun",
        }
    }
}

/// One thing that happened to personal data, or to the rules that guard it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub actor: Actor,
    pub action: Action,
    pub purpose: Option<Purpose>,
    pub subject: Option<SubjectTag>,
    pub fields: Vec<Field>,
    pub outcome: Outcome,
    /// A non-personal detail, such as the role an operator was given.
    pub detail: Option<String>,
}

impl AuditEvent {
    /// The event about `subject`.
    pub fn with_subject(self, subject: SubjectTag) -> Self {
        AuditEvent {
            subject: Some(subject),
            ..self
        }
    }

    pub fn new(actor: &Actor, action: Action, outcome: Outcome) -> Self {
        AuditEvent {
            actor: actor.clone(),
            action,
            purpose: None,
            subject: None,
            fields: Vec::new(),
            outcome,
            detail: None,
        }
    }
}

/// Why an audit entry could not be written.
#[derive(Debug, thiserror::Error)]
#[error("the audit log could not record the operation: {0}")]
pub struct AuditError(pub String);

/// Where the vault records what it does. Implemented by the audit log.
#[async_trait::async_trait]
pub trait AuditSink: Send + Sync + fmt::Debug {
    async fn record(&self, event: AuditEvent) -> Result<(), AuditError>;
}

/// The ed25519 key that signs audit checkpoints. Kept wrapped in the keystore.
#[derive(Clone)]
pub struct AuditSigner {
    key: SigningKey,
}

impl fmt::Debug for AuditSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuditSigner(key id {})", self.key_id())
    }
}

impl AuditSigner {
    pub(crate) fn from_seed(seed: &SymmetricKey) -> Self {
        AuditSigner {
            key: SigningKey::from_bytes(seed.expose()),
        }
    }

    /// The public half, to verify checkpoints.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// A short public id of the key: the first 8 bytes of SHA-256 of the public key.
    pub fn key_id(&self) -> String {
        hex::encode(&Sha256::digest(self.key.verifying_key().as_bytes())[..8])
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.key.sign(message).to_bytes().to_vec()
    }
}

/// A sink that keeps events in memory: for tests and tools that need no chain.
#[derive(Debug, Default)]
pub struct RecordingSink {
    events: std::sync::Mutex<Vec<AuditEvent>>,
}

impl RecordingSink {
    /// Every event recorded so far.
    pub fn events(&self) -> Vec<AuditEvent> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

#[async_trait::async_trait]
impl AuditSink for RecordingSink {
    async fn record(&self, event: AuditEvent) -> Result<(), AuditError> {
        self.events
            .lock()
            .map_err(|_| AuditError("recording sink poisoned".into()))?
            .push(event);
        Ok(())
    }
}
