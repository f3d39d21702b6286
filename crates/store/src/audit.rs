//! Storage of the audit chain and of operators. The chain's hashing and signing are
//! given as functions by the caller, so this crate stores a chain without knowing how
//! it is computed, and computes nothing it could get wrong.

use crate::{PersonId, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::fmt;

/// An audit entry to append. Holds no plaintext personal data: the subject is a tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    pub at_micros: i64,
    pub actor: String,
    pub action: String,
    pub purpose: Option<String>,
    pub subject: Option<String>,
    /// Field names touched, comma-separated.
    pub fields: String,
    pub outcome: String,
    /// A non-personal detail, such as the role an operator was given.
    pub detail: Option<String>,
}

/// An audit entry as stored, with its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub seq: i64,
    pub entry: NewAuditEntry,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

/// A signed statement that the chain's entry `seq` has hash `hash`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: Vec<u8>,
    pub at_micros: i64,
    pub key_id: String,
    pub signature: Vec<u8>,
}

/// A signed statement that the chain's entries up to `through_seq` were pruned, all of
/// them older than `before_micros`, and that entry `through_seq` had hash `hash`: the
/// chain verifies on from there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPrune {
    pub through_seq: i64,
    pub hash: Vec<u8>,
    pub before_micros: i64,
    pub at_micros: i64,
    pub key_id: String,
    pub signature: Vec<u8>,
}

/// Computes an entry's hash from the previous hash, its sequence number and itself.
pub type ChainFn = fn(&[u8], i64, &NewAuditEntry) -> Vec<u8>;

/// Signs `(seq, hash)` into a checkpoint.
pub type SignFn<'a> = dyn Fn(i64, &[u8]) -> Checkpoint + Send + Sync + 'a;

/// The audit chain's storage. Append-only: there is no update or delete.
#[async_trait]
pub trait AuditStore: Send + Sync + fmt::Debug {
    /// Appends `entries` in order, in one transaction under the chain lock, so that
    /// concurrent writers on any node extend one single chain. When an entry's `seq`
    /// is a multiple of `checkpoint_every`, a checkpoint signed by `sign` is stored in
    /// the same transaction. Returns the last sequence number.
    /// The arguments are owned, so that a backend may run the append on a thread of
    /// its own.
    async fn append(
        &self,
        entries: Vec<NewAuditEntry>,
        chain: ChainFn,
        checkpoint_every: i64,
        sign: std::sync::Arc<SignFn<'static>>,
    ) -> Result<i64, StoreError>;

    /// Signs the current head as a checkpoint (at shutdown), unless it is signed
    /// already or the chain is empty. Returns the checkpoint's `seq`, if one was made.
    async fn checkpoint_head(&self, sign: &SignFn<'_>) -> Result<Option<i64>, StoreError>;

    /// The head: last sequence number and hash (0 and 32 zero bytes when empty).
    async fn head(&self) -> Result<(i64, Vec<u8>), StoreError>;

    /// Up to `limit` entries with `seq > after`, in stored order of `seq`.
    async fn entries_after(&self, after: i64, limit: i64) -> Result<Vec<AuditRecord>, StoreError>;

    /// Every checkpoint, by `seq`.
    async fn checkpoints(&self) -> Result<Vec<Checkpoint>, StoreError>;

    /// Every signed prune, oldest first.
    async fn prunes(&self) -> Result<Vec<AuditPrune>, StoreError>;

    /// Records a signed prune; from then on the entries up to its `through_seq` may be
    /// deleted (and nothing else may). A prune not beyond the newest one is refused.
    async fn insert_prune(&self, prune: &AuditPrune) -> Result<(), StoreError>;

    /// Deletes the entries behind the newest prune, in batches of `batch` entries, each
    /// in its own transaction (so a crash leaves only fewer of them). Returns how many.
    async fn delete_pruned(&self, batch: i64) -> Result<u64, StoreError>;

    /// Records the policy in force unless it is the last one recorded. Returns whether
    /// it was new (then the caller audits the change). Runs under the chain lock, so
    /// nodes starting together record it once.
    async fn record_policy(
        &self,
        digest: &str,
        version: &str,
        origin: &str,
    ) -> Result<bool, StoreError>;

    /// The newest `limit` entries about `subject`, newest first.
    async fn entries_for_subject(
        &self,
        subject: &str,
        limit: i64,
    ) -> Result<Vec<AuditRecord>, StoreError>;
}

/// An operator as stored: secrets only as hashes.
#[derive(Clone, PartialEq, Eq)]
pub struct OperatorRow {
    pub id: PersonId,
    pub name: String,
    pub role: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// SHA-256 of the API token.
    pub token_hash: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub disabled: bool,
}

impl fmt::Debug for OperatorRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OperatorRow")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

/// Operator accounts.
#[async_trait]
pub trait OperatorStore: Send + Sync + fmt::Debug {
    /// Adds an operator; a taken name is [`StoreError::Conflict`].
    async fn insert_operator(&self, operator: &OperatorRow) -> Result<(), StoreError>;
    async fn operator_by_name(&self, name: &str) -> Result<Option<OperatorRow>, StoreError>;
    async fn operator_by_token_hash(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<OperatorRow>, StoreError>;
    async fn operators(&self) -> Result<Vec<OperatorRow>, StoreError>;
    /// Changes an operator's role or disabled flag. Returns whether the operator exists.
    async fn update_operator(
        &self,
        name: &str,
        role: &str,
        disabled: bool,
    ) -> Result<bool, StoreError>;
}
