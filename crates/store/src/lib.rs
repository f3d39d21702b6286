//! # datavow-store
//!
//! Storage behind traits, one per capability, each with a SQLite and a PostgreSQL
//! implementation that pass one conformance suite (`tests/conformance.rs`).
//!
//! - [`PersonStore`]: persons, their sealed (encrypted) fields and blind indexes.
//! - [`KeyStore`]: the keystore of wrapped keys. It lives apart from the data store (its
//!   own SQLite file `keystore.db`; its own schema on PostgreSQL), so that a data backup
//!   never contains a key (P9).
//! - [`BrowserStore`]: browser records (P6) in day partitions that retention drops whole.
//! - [`JobLocks`]: one node runs each background job (a lease row on SQLite, a
//!   transaction-scoped advisory lock on PostgreSQL).
//!
//! Invariants:
//! - This crate never sees plaintext personal data: it stores the vault's ciphertext,
//!   keyed digests and wrapped keys as opaque bytes. Its `Debug` output shows lengths,
//!   never bytes.
//! - Migrations are embedded, run at open, and kept in step between the two backends
//!   (same file names; a test checks it).
//! - Every storage method is `#[instrument(skip_all)]`, so traces never carry arguments.

mod accounts;
mod audit;
mod browser;
mod console;
mod error;
mod point_reads;
mod policy_texts;
mod postgres;
mod shared;
mod sqlite;
mod sqlite_audit;
mod sqlite_checkpoint;
mod sqlite_reads;
mod stats;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use accounts::{
    AccountStore, AccountSummary, Acknowledgement, QueuedMail, SessionRow, SignupReplay,
    SubjectRequestRow,
};
pub use audit::{
    AuditPrune, AuditRecord, AuditStore, ChainFn, Checkpoint, NewAuditEntry, OperatorRow,
    OperatorStore, SignFn,
};
pub use browser::{BrowserDay, BrowserStore, EventBlock, IngestMark};
pub use console::{ConsoleStore, LastRun, OperatorSessionRow, SecondFactorRow};
pub use error::StoreError;
pub use policy_texts::{PolicyTextRow, PolicyTextStore, PolicyVersionRow, Published};
pub use postgres::{PgKeyStore, PgStore};
pub use sqlite::{fold_write_ahead_logs, SqliteKeyStore, SqliteStore, DATA_FILE};
pub use sqlite_audit::AUDIT_AUTOCHECKPOINT_PAGES;
pub use stats::{ReleaseRow, RollupRow, StatsStore};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use datavow_policy::Field;
use secrecy::SecretString;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// The internal, random identifier of a person. Not personal data by itself; never the
/// userID shown to the person (which is a sealed field).
pub type PersonId = Uuid;

/// A person's row: who controls the data and since when. Holds no personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRow {
    pub id: PersonId,
    /// The controlling legal entity's id from the policy file (P17).
    pub entity: String,
    pub created_at: DateTime<Utc>,
    pub kind: PersonKind,
}

/// What kind of record a person is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonKind {
    /// A customer with an account.
    Account,
    /// A visitor who wrote through a contact form (P1), with its own retention rule.
    Lead,
}

impl PersonKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PersonKind::Account => "account",
            PersonKind::Lead => "lead",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "account" => Some(PersonKind::Account),
            "lead" => Some(PersonKind::Lead),
            _ => None,
        }
    }
}

/// One personal field as the vault sealed it. Opaque to the store.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedField {
    pub field: Field,
    pub ciphertext: Vec<u8>,
}

impl fmt::Debug for SealedField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SealedField({}, {} bytes)",
            self.field,
            self.ciphertext.len()
        )
    }
}

/// A keyed digest that finds a person by a field value without storing the value.
#[derive(Clone, PartialEq, Eq)]
pub struct IndexEntry {
    /// Which index, such as `email` or `user_id`.
    pub kind: &'static str,
    pub digest: Vec<u8>,
}

impl fmt::Debug for IndexEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IndexEntry({})", self.kind)
    }
}

/// Persons, their sealed fields and blind indexes.
#[async_trait]
pub trait PersonStore: Send + Sync + fmt::Debug {
    /// Inserts a person with their sealed fields and index entries, all or nothing.
    /// An index digest already taken gives [`StoreError::Conflict`].
    async fn insert_person(
        &self,
        person: &PersonRow,
        fields: &[SealedField],
        index: &[IndexEntry],
    ) -> Result<(), StoreError>;

    /// The person's row, if the person exists.
    async fn person(&self, id: PersonId) -> Result<Option<PersonRow>, StoreError>;

    /// All sealed fields of a person.
    async fn sealed_fields(&self, id: PersonId) -> Result<Vec<SealedField>, StoreError>;

    /// Replaces the given fields and, for each index kind given, the person's entry of
    /// that kind; all or nothing. The single path that changes stored fields.
    async fn update_fields(
        &self,
        id: PersonId,
        fields: &[SealedField],
        index: &[IndexEntry],
    ) -> Result<(), StoreError>;

    /// The person whose index entry of `kind` has this digest.
    async fn find_by_index(
        &self,
        kind: &str,
        digest: &[u8],
    ) -> Result<Option<PersonId>, StoreError>;

    /// The persons whose index entries of `kind` have these digests, as
    /// `(digest, person)`; digests without a person are left out.
    async fn find_many_by_index(
        &self,
        kind: &str,
        digests: &[Vec<u8>],
    ) -> Result<Vec<(Vec<u8>, PersonId)>, StoreError>;

    /// How many persons are stored.
    async fn count_persons(&self) -> Result<u64, StoreError>;

    /// Deletes a person and everything that hangs on them (fields, field history,
    /// blind-index entries, sessions, acknowledgements; their requests stay, unlinked),
    /// in one transaction. Returns whether the person was there.
    async fn delete_person(&self, id: PersonId) -> Result<bool, StoreError>;

    /// The ids of every account (not leads), oldest first.
    async fn account_ids(&self) -> Result<Vec<PersonId>, StoreError>;

    /// Up to `limit` accounts whose id is above `after`, by id, each with its sealed
    /// values of `fields` (none where it has none): a pass over every account in pages.
    async fn account_fields_page(
        &self,
        after: PersonId,
        limit: u32,
        fields: &[Field],
    ) -> Result<Vec<(PersonId, Vec<SealedField>)>, StoreError>;

    /// Up to `limit` accounts that hold a value of `has` but none of `lacks`, oldest
    /// first (a field derived from another that is not filled in yet).
    async fn accounts_with_but_not(
        &self,
        has: Field,
        lacks: Field,
        limit: u32,
    ) -> Result<Vec<PersonId>, StoreError>;

    /// Stores a record of a retention class that may outlive the account.
    async fn insert_retained(&self, record: &RetainedRecord) -> Result<(), StoreError>;

    /// The retained records of `owner`, oldest first.
    async fn retained_of(&self, owner: PersonId) -> Result<Vec<RetainedRecord>, StoreError>;

    /// Deletes the retained records of `owner` in `class`. Returns how many.
    async fn delete_retained(&self, owner: PersonId, class: &str) -> Result<u64, StoreError>;

    /// Checks that the database answers and takes a write.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// Who a wrapped key belongs to; bound into the wrapping so a key cannot be moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOwner<'a> {
    /// A person's account-class key (`person_keys`).
    Person(PersonId),
    Named(&'a str),
    /// The key of one retention class of one owner (`class_keys`).
    Class {
        owner: PersonId,
        class: &'a str,
    },
}

/// A record of a retention class that may outlive the account, sealed under its class
/// key (owner, class and field bound as associated data).
#[derive(Clone, PartialEq, Eq)]
pub struct RetainedRecord {
    pub id: uuid::Uuid,
    pub owner: PersonId,
    pub class: String,
    pub field: Field,
    pub ciphertext: Vec<u8>,
    pub created_at_micros: i64,
}

impl fmt::Debug for RetainedRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RetainedRecord({}, {}, {}, {} bytes)",
            self.id,
            self.class,
            self.field,
            self.ciphertext.len()
        )
    }
}

/// A wrapped class key and its state.
#[derive(Clone, PartialEq, Eq)]
pub struct ClassKeyRow {
    pub class: String,
    pub wrapped: Vec<u8>,
    /// When the class's retention period ends; `None` while it has no end yet.
    pub expires_at_micros: Option<i64>,
    /// After the owner's erasure: readable only for the legal obligation.
    pub restricted: bool,
}

impl fmt::Debug for ClassKeyRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClassKeyRow")
            .field("class", &self.class)
            .field("expires_at_micros", &self.expires_at_micros)
            .field("restricted", &self.restricted)
            .finish_non_exhaustive()
    }
}

/// An entry of the erasure ledger: a destroyed key (owner, class), when and why. No
/// personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tombstone {
    pub owner: PersonId,
    pub class: String,
    pub reason: String,
    pub at_micros: i64,
}

/// What one erasure does to the keystore, in one transaction (its commit point).
#[derive(Debug, Clone, Default)]
pub struct KeyErasure {
    /// Destroy the owner's account-class key (`person_keys`).
    pub account_key: bool,
    /// Class keys to destroy.
    pub destroy: Vec<String>,
    /// Class keys to keep, readable only for the legal obligation from now on.
    pub restrict: Vec<String>,
    /// Ledger entries, one per destroyed key.
    pub tombstones: Vec<Tombstone>,
}

/// Re-wraps one wrapped key under a new key-encryption key; see [`KeyStore::rewrap_all`].
pub type RewrapFn<'a> = dyn Fn(KeyOwner<'_>, &[u8]) -> Result<Vec<u8>, String> + Send + Sync + 'a;

/// How many keys the keystore holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeyCounts {
    pub person_keys: u64,
    pub named_keys: u64,
    pub class_keys: u64,
}

/// The keystore: wrapped keys only, never usable key material.
#[async_trait]
pub trait KeyStore: Send + Sync + fmt::Debug {
    /// The identifier of the key-encryption key this keystore is wrapped under.
    async fn kek_id(&self) -> Result<Option<String>, StoreError>;

    /// Records `kek_id` if none is recorded yet; returns the recorded one either way.
    async fn claim_kek_id(&self, kek_id: &str) -> Result<String, StoreError>;

    /// Stores a new person's wrapped data key. A second key for the same person is a
    /// [`StoreError::Conflict`].
    async fn insert_person_key(&self, person: PersonId, wrapped: &[u8]) -> Result<(), StoreError>;

    /// A person's wrapped data key; `None` once shredded (or never made).
    async fn person_key(&self, person: PersonId) -> Result<Option<Vec<u8>>, StoreError>;

    /// The wrapped data keys of the persons whose id lies from `first` to `last`
    /// (inclusive): the keys of one [`PersonStore::account_fields_page`].
    async fn person_keys_between(
        &self,
        first: PersonId,
        last: PersonId,
    ) -> Result<Vec<(PersonId, Vec<u8>)>, StoreError>;

    /// Destroys a person's wrapped data key. Returns whether there was one.
    async fn delete_person_key(&self, person: PersonId) -> Result<bool, StoreError>;

    /// The owners of person keys made from `from` up to `before`, oldest first, at most
    /// `limit` of them.
    async fn person_keys_made_between(
        &self,
        from: chrono::DateTime<chrono::Utc>,
        before: chrono::DateTime<chrono::Utc>,
        limit: i64,
    ) -> Result<Vec<PersonId>, StoreError>;

    /// A named wrapped key (blind-index keys, partition keys, signing keys).
    async fn named_key(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Stores a named key unless one exists; returns the stored one, so that nodes
    /// racing to create the same key all end up with the same one.
    async fn insert_named_key_if_absent(
        &self,
        name: &str,
        wrapped: &[u8],
    ) -> Result<Vec<u8>, StoreError>;

    /// Destroys a named key. Returns whether there was one.
    async fn delete_named_key(&self, name: &str) -> Result<bool, StoreError>;

    /// In one transaction: checks that the keystore is wrapped under `expected_kek_id`,
    /// re-wraps every key with `rewrap` and records `new_kek_id`. On any error nothing
    /// changes. Returns the number of keys re-wrapped.
    async fn rewrap_all(
        &self,
        expected_kek_id: &str,
        new_kek_id: &str,
        rewrap: &RewrapFn<'_>,
    ) -> Result<u64, StoreError>;

    /// Removes physical remnants of destroyed keys (WAL frames, dead tuples).
    async fn compact(&self) -> Result<(), StoreError>;

    /// The key of `owner`'s retention `class`, if it exists.
    async fn class_key(
        &self,
        owner: PersonId,
        class: &str,
    ) -> Result<Option<ClassKeyRow>, StoreError>;

    /// Stores a class key unless one exists; returns the stored one (nodes racing to
    /// create it end up with the same).
    async fn insert_class_key_if_absent(
        &self,
        owner: PersonId,
        class: &str,
        wrapped: &[u8],
        expires_at_micros: Option<i64>,
    ) -> Result<ClassKeyRow, StoreError>;

    /// Every class key of `owner`.
    async fn class_keys_of(&self, owner: PersonId) -> Result<Vec<ClassKeyRow>, StoreError>;

    /// The commit point of an erasure: in one transaction, destroys what `erasure` names,
    /// restricts the kept classes and appends its tombstones to the ledger.
    async fn erase_keys(&self, owner: PersonId, erasure: &KeyErasure) -> Result<(), StoreError>;

    /// `(owner, class)` of the class keys whose retention ended by `now_micros`.
    async fn expired_class_keys(
        &self,
        now_micros: i64,
    ) -> Result<Vec<(PersonId, String)>, StoreError>;

    /// Ledger entries whose data rows are not yet known to be deleted.
    async fn uncleared_tombstones(&self) -> Result<Vec<Tombstone>, StoreError>;

    /// Records that the data rows of `owner`'s `class` are deleted.
    async fn mark_cleared(&self, owner: PersonId, class: &str) -> Result<(), StoreError>;

    /// The ledger's entries about `owner`, oldest first.
    async fn tombstones_of(&self, owner: PersonId) -> Result<Vec<Tombstone>, StoreError>;

    /// How many keys are held.
    async fn key_counts(&self) -> Result<KeyCounts, StoreError>;
}

/// A held job lock. Release it when the job is done; if the holder dies, the lock is
/// freed by the database (PostgreSQL), or on SQLite taken back by the next process that
/// tries it (the holder's process is gone) or when its lease expires.
#[derive(Debug)]
pub struct JobLock(LockInner);

#[derive(Debug)]
enum LockInner {
    Sqlite {
        pool: sqlx::SqlitePool,
        job: String,
        holder: String,
    },
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl JobLock {
    /// Frees the lock.
    pub async fn release(self) -> Result<(), StoreError> {
        match self.0 {
            LockInner::Sqlite { pool, job, holder } => {
                sqlx::query("DELETE FROM job_leases WHERE job = $1 AND holder = $2")
                    .bind(job)
                    .bind(holder)
                    .execute(&pool)
                    .await?;
            }
            LockInner::Postgres(tx) => tx.rollback().await?,
        }
        Ok(())
    }
}

/// Mutual exclusion of background jobs across nodes sharing one database.
#[async_trait]
pub trait JobLocks: Send + Sync + fmt::Debug {
    /// Takes the lock of `job` if no other holder has it. `lease` bounds how long a
    /// crashed holder can keep it on backends without session locks.
    async fn try_lock(&self, job: &str, lease: Duration) -> Result<Option<JobLock>, StoreError>;
}

/// Which database backs a [`Stores`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where the data store and the keystore live.
#[derive(Debug, Clone)]
pub enum StoreLocation {
    /// `DIR/datavow.db` and `DIR/keystore.db`.
    Sqlite { dir: PathBuf },
    /// One PostgreSQL database, data and keys in separate schemas.
    Postgres {
        url: SecretString,
        data_schema: String,
        keys_schema: String,
    },
}

impl StoreLocation {
    /// PostgreSQL with the default schemas `datavow` and `datavow_keys`.
    pub fn postgres(url: SecretString) -> Self {
        StoreLocation::Postgres {
            url,
            data_schema: "datavow".into(),
            keys_schema: "datavow_keys".into(),
        }
    }
}

/// The opened stores.
#[derive(Debug, Clone)]
pub struct Stores {
    pub backend: Backend,
    pub persons: Arc<dyn PersonStore>,
    pub keys: Arc<dyn KeyStore>,
    pub locks: Arc<dyn JobLocks>,
    pub audit: Arc<dyn AuditStore>,
    pub operators: Arc<dyn OperatorStore>,
    pub accounts: Arc<dyn AccountStore>,
    pub browser: Arc<dyn BrowserStore>,
    pub policy_texts: Arc<dyn PolicyTextStore>,
    pub console: Arc<dyn ConsoleStore>,
    pub stats: Arc<dyn StatsStore>,
}

/// Opens (creating if needed) both stores and runs their migrations.
pub async fn open(location: &StoreLocation) -> Result<Stores, StoreError> {
    match location {
        StoreLocation::Sqlite { dir } => {
            let data = Arc::new(SqliteStore::open(dir).await?);
            let keys = Arc::new(SqliteKeyStore::open(dir).await?);
            Ok(Stores {
                backend: Backend::Sqlite,
                persons: data.clone(),
                keys,
                locks: data.clone(),
                audit: data.clone(),
                operators: data.clone(),
                accounts: data.clone(),
                policy_texts: data.clone(),
                console: data.clone(),
                stats: data.clone(),
                browser: data,
            })
        }
        StoreLocation::Postgres {
            url,
            data_schema,
            keys_schema,
        } => {
            let data = Arc::new(PgStore::open(url, data_schema).await?);
            let keys = Arc::new(PgKeyStore::open(url, keys_schema).await?);
            Ok(Stores {
                backend: Backend::Postgres,
                persons: data.clone(),
                keys,
                locks: data.clone(),
                audit: data.clone(),
                operators: data.clone(),
                accounts: data.clone(),
                policy_texts: data.clone(),
                console: data.clone(),
                stats: data.clone(),
                browser: data,
            })
        }
    }
}
