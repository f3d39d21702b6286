//! Storage for accounts: sessions, policy acknowledgements and data-subject requests.
//! Nothing here is personal data in clear: sessions are stored as token hashes.

use crate::{PersonId, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::fmt;

/// A policy version a person acknowledged, and how (P16).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledgement {
    pub policy_version: String,
    pub acknowledged_at: DateTime<Utc>,
    /// `accepted_at_sign_up` or `continued_use`.
    pub how: String,
}

/// What `GET /me` shows beside the person's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSummary {
    /// The controlling legal entity's id from the policy file (P17).
    pub entity: String,
    /// The policy version acknowledged last, if any.
    pub policy_version: Option<String>,
}

/// An unexpired session of a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionRow {
    pub person: PersonId,
    /// The UTC day (days since 1970-01-01) on which this session's own reads were last
    /// put on record in the audit log, if ever.
    pub own_reads_day: Option<i64>,
}

/// A data-subject request (P13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectRequestRow {
    pub id: uuid::Uuid,
    pub person_id: Option<PersonId>,
    /// `erasure`, `access`, …
    pub kind: String,
    /// `dashboard`, `email`, …
    pub channel: String,
    pub received_at: DateTime<Utc>,
    pub deadline_at: DateTime<Utc>,
    /// `open`, `extended`, `done`, …
    pub status: String,
}

/// A sign-up's answer kept for a client that may have lost it (`Idempotency-Key`):
/// sealed under a key only the client's idempotency key derives, found by a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignupReplay {
    pub key_digest: Vec<u8>,
    /// A digest of the request it answers: the same key with another body is refused.
    pub request_digest: Vec<u8>,
    pub sealed: Vec<u8>,
    pub created_at_micros: i64,
}

/// Sessions, acknowledgements and requests.
#[async_trait]
pub trait AccountStore: Send + Sync + fmt::Debug {
    async fn insert_session(
        &self,
        token_hash: &[u8],
        person: PersonId,
        created_at_micros: i64,
        expires_at_micros: i64,
    ) -> Result<(), StoreError>;

    /// An unexpired session.
    async fn session(
        &self,
        token_hash: &[u8],
        now_micros: i64,
    ) -> Result<Option<SessionRow>, StoreError>;

    /// Notes that the session's own reads are on record for `day` (see [`SessionRow`]).
    async fn mark_own_reads_recorded(&self, token_hash: &[u8], day: i64) -> Result<(), StoreError>;

    async fn delete_session(&self, token_hash: &[u8]) -> Result<(), StoreError>;

    /// Deletes sessions that expired before `now_micros`. Returns how many.
    async fn delete_expired_sessions(&self, now_micros: i64) -> Result<u64, StoreError>;

    /// Ends every session of a person (password change, erasure).
    async fn delete_sessions_of(&self, person: PersonId) -> Result<u64, StoreError>;

    /// Records an acknowledgement unless this version is acknowledged already.
    async fn insert_acknowledgement(
        &self,
        person: PersonId,
        ack: &Acknowledgement,
    ) -> Result<(), StoreError>;

    async fn acknowledgements(&self, person: PersonId) -> Result<Vec<Acknowledgement>, StoreError>;

    /// A person's controlling entity and the policy version they acknowledged last, in
    /// one query (the dashboard and `GET /me` show both on every view); `None` for no
    /// such person.
    async fn account_summary(&self, person: PersonId)
        -> Result<Option<AccountSummary>, StoreError>;

    async fn insert_request(&self, request: &SubjectRequestRow) -> Result<(), StoreError>;

    /// Adds a keyed address digest to the marketing suppression list (idempotent).
    async fn suppress(&self, digest: &[u8], reason: &str, at_micros: i64)
        -> Result<(), StoreError>;

    /// Whether a digest is on the suppression list.
    async fn is_suppressed(&self, digest: &[u8]) -> Result<bool, StoreError>;

    /// Takes a digest off the list (the person opted in again). Returns whether it was on.
    async fn unsuppress(&self, digest: &[u8]) -> Result<bool, StoreError>;

    /// Queues a message for sending.
    async fn enqueue_mail(&self, mail: &QueuedMail) -> Result<(), StoreError>;

    /// Queued messages whose next attempt is due at `now_micros`, oldest first.
    async fn due_mail(&self, now_micros: i64, limit: i64) -> Result<Vec<QueuedMail>, StoreError>;

    /// Records that the SMTP server took a message.
    async fn mail_sent(&self, id: uuid::Uuid, at_micros: i64) -> Result<(), StoreError>;

    /// Records a failed attempt: the next one at `next_attempt_micros`, or none (`dead`).
    async fn mail_failed(
        &self,
        id: uuid::Uuid,
        next_attempt_micros: i64,
        error: &str,
        dead: bool,
    ) -> Result<(), StoreError>;

    /// Messages given up on (the dead-letter list), newest first.
    async fn dead_mail(&self, limit: i64) -> Result<Vec<QueuedMail>, StoreError>;

    /// Stores the SHA-256 of an account recovery token.
    async fn insert_recovery_token(
        &self,
        token_hash: &[u8],
        person: PersonId,
        expires_at_micros: i64,
    ) -> Result<(), StoreError>;

    /// The person of an unused, unexpired recovery token; with `consume`, marks it used
    /// in the same statement, so a token works once.
    async fn recovery_token(
        &self,
        token_hash: &[u8],
        now_micros: i64,
        consume: bool,
    ) -> Result<Option<PersonId>, StoreError>;

    /// Sets a request's status (such as `completed`).
    async fn set_request_status(&self, id: uuid::Uuid, status: &str) -> Result<(), StoreError>;

    async fn requests_of(&self, person: PersonId) -> Result<Vec<SubjectRequestRow>, StoreError>;

    /// Keeps a sealed sign-up answer under its idempotency key's digest; `false` (and
    /// nothing changed) if that digest is already kept.
    async fn insert_signup_replay(&self, replay: &SignupReplay) -> Result<bool, StoreError>;

    /// The sign-up answer kept under `key_digest`, if any.
    async fn signup_replay(&self, key_digest: &[u8]) -> Result<Option<SignupReplay>, StoreError>;

    /// Drops sign-up answers kept since before `micros`; how many.
    async fn delete_signup_replays_before(&self, micros: i64) -> Result<u64, StoreError>;
}

/// A message in the outgoing queue. `sealed` is the whole message, sealed under the
/// recipient's key; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct QueuedMail {
    pub id: uuid::Uuid,
    pub person: PersonId,
    /// `marketing`, `recovery`, …
    pub kind: String,
    pub sealed: Vec<u8>,
    /// `queued`, `sent` or `dead`.
    pub status: String,
    pub attempts: i64,
    pub next_attempt_micros: i64,
    /// Why the last attempt failed (the SMTP server's answer; no message content).
    pub last_error: Option<String>,
    pub created_at_micros: i64,
}

impl std::fmt::Debug for QueuedMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueuedMail")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("status", &self.status)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}
