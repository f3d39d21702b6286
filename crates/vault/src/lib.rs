//! # datavow-vault
//!
//! The one door to personal data. Nothing else in Datavow encrypts, decrypts or reads
//! a personal field (P3), and every read names a purpose that the policy must allow for
//! the field's category (P11).
//!
//! - Each person has a random 256-bit data key, wrapped by the master key
//!   (key-encryption key) and kept in the keystore, apart from the data.
//! - Fields are sealed with XChaCha20-Poly1305; the person id and field name are bound
//!   as associated data, so a ciphertext moved to another person or field fails.
//! - Look-ups go through blind indexes (HMAC-SHA256 of a normalised value, one key per
//!   index).
//! - Shredding destroys a person's data key: every copy of their ciphertext, in the
//!   database and in every backup, is unreadable at once (P9, P14).
//! - Rotating the master key re-wraps every key in one transaction; sealed data is not
//!   touched.
//!
//! Invariants: a read refused by the policy is an error, never an empty value; no key or
//! plaintext is ever `Debug`-printable; errors name fields, never values.

mod audit;
mod blind_index;
mod browser;
mod cipher;
mod master_key;
mod personal;

pub use audit::{
    Action, Actor, AuditError, AuditEvent, AuditSigner, AuditSink, Outcome, RecordingSink,
    SubjectTag,
};
pub use blind_index::IndexKind;
pub use browser::{address_bytes, AgentDigest, DayKeys, DayReader, LinkTag};
pub use cipher::{SymmetricKey, Unauthentic};
pub use master_key::{MasterKey, MasterKeyError};
pub use personal::{Personal, PersonalRecord};

use datavow_policy::{Category, Field, Policy, Purpose, PurposeRefused};
use datavow_store::{
    IndexEntry, KeyCounts, KeyOwner, KeyStore, PersonId, PersonKind, PersonRow, PersonStore,
    SealedField, StoreError, Stores,
};
use std::collections::HashMap;
use std::sync::Arc;

/// Why a vault operation failed. Messages name fields and purposes, never values.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(transparent)]
    Refused(#[from] PurposeRefused),
    #[error("this person's data key has been destroyed: their data is erased")]
    Shredded,
    #[error("no such person")]
    NoSuchPerson,
    #[error("the stored `{0}` failed authentication: it was altered or moved")]
    Tampered(Field),
    #[error("a stored key failed authentication: {0}")]
    KeyTampered(String),
    #[error("the master key does not match this keystore (keystore key id {expected}, given key id {given}); use the master key the keystore was created with")]
    WrongMasterKey { expected: String, given: String },
    #[error("unknown controlling entity `{0}`; the policy file declares the entities")]
    UnknownEntity(String),
    #[error("another account already uses this {0}")]
    Taken(&'static str),
    #[error("client addresses are not shown for this purpose")]
    AddressesWithheld,
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for VaultError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict(what) => VaultError::Taken(what),
            other => VaultError::Store(other),
        }
    }
}

/// The vault. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Vault {
    master: MasterKey,
    keys: Arc<dyn KeyStore>,
    persons: Arc<dyn PersonStore>,
    policy: Arc<Policy>,
    index_keys: HashMap<IndexKind, SymmetricKey>,
    audit: Arc<dyn AuditSink>,
}

/// Name of the audit checkpoint signing key in the keystore.
const AUDIT_SIGNING_KEY: &str = "audit:signing";

/// Loads a named key, creating it on first use; nodes racing to create it end up
/// with the same one.
async fn named_key(
    keys: &dyn KeyStore,
    master: &MasterKey,
    name: &str,
) -> Result<SymmetricKey, VaultError> {
    let owner = KeyOwner::Named(name);
    let fresh = master.key().wrap(owner, &SymmetricKey::generate());
    let stored = keys.insert_named_key_if_absent(name, &fresh).await?;
    master
        .key()
        .unwrap_key(owner, &stored)
        .map_err(|_| VaultError::KeyTampered(name.to_owned()))
}

/// A person's fields read for a purpose, and the categories the purpose may not see.
#[derive(Debug)]
pub struct PurposeView {
    pub record: PersonalRecord,
    pub withheld: Vec<Category>,
}

impl Vault {
    /// Opens the vault over `stores`. The first open records the master key's id in
    /// the keystore; later opens with another key are refused. Creates the blind-index
    /// keys if they do not exist yet.
    pub async fn open(
        stores: &Stores,
        master: MasterKey,
        policy: Arc<Policy>,
        audit: Arc<dyn AuditSink>,
    ) -> Result<Vault, VaultError> {
        Vault::check_master_key(stores, &master).await?;
        let mut index_keys = HashMap::new();
        for kind in IndexKind::ALL {
            index_keys.insert(
                *kind,
                named_key(&*stores.keys, &master, kind.key_name()).await?,
            );
        }
        Ok(Vault {
            master,
            keys: stores.keys.clone(),
            persons: stores.persons.clone(),
            policy,
            index_keys,
            audit,
        })
    }

    /// Refuses a master key other than the one the keystore was created with (the
    /// first check records it).
    pub async fn check_master_key(stores: &Stores, master: &MasterKey) -> Result<(), VaultError> {
        let given = master.id();
        let expected = stores.keys.claim_kek_id(&given).await?;
        if expected != given {
            return Err(VaultError::WrongMasterKey { expected, given });
        }
        Ok(())
    }

    /// The key that signs audit checkpoints, created on first use.
    pub async fn audit_signer(
        stores: &Stores,
        master: &MasterKey,
    ) -> Result<AuditSigner, VaultError> {
        Vault::check_master_key(stores, master).await?;
        Ok(AuditSigner::from_seed(
            &named_key(&*stores.keys, master, AUDIT_SIGNING_KEY).await?,
        ))
    }

    /// The policy this vault enforces.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Creates a person controlled by `entity` with the given fields: a new data key,
    /// every field sealed, blind indexes for indexed fields. All or nothing.
    pub async fn create_person(
        &self,
        actor: &Actor,
        entity: &str,
        values: &[(Field, Personal)],
    ) -> Result<PersonId, VaultError> {
        self.create(actor, PersonKind::Account, entity, values)
            .await
    }

    /// Creates a record of the given kind; see [`Vault::create_person`].
    pub async fn create(
        &self,
        actor: &Actor,
        kind: PersonKind,
        entity: &str,
        values: &[(Field, Personal)],
    ) -> Result<PersonId, VaultError> {
        if self.policy.entity(entity).is_none() {
            return Err(VaultError::UnknownEntity(entity.to_owned()));
        }
        let id = uuid::Uuid::new_v4();
        let data_key = SymmetricKey::generate();
        let (sealed, index) = self.seal_all(id, &data_key, values);
        self.keys
            .insert_person_key(id, &self.master.key().wrap(KeyOwner::Person(id), &data_key))
            .await?;
        let row = PersonRow {
            id,
            entity: entity.to_owned(),
            created_at: chrono::Utc::now(),
            kind,
        };
        if let Err(err) = self.persons.insert_person(&row, &sealed, &index).await {
            // Leave no orphan key behind a person that was not stored.
            if let Err(cleanup) = self.keys.delete_person_key(id).await {
                tracing::warn!(error = %cleanup, "could not remove the data key of a person that failed to store");
            }
            return Err(err.into());
        }
        self.audit
            .record(AuditEvent {
                subject: Some(SubjectTag::derive(&data_key)),
                fields: values.iter().map(|(f, _)| *f).collect(),
                ..AuditEvent::new(actor, Action::Create, Outcome::Allowed)
            })
            .await?;
        metrics::counter!("datavow_vault_persons_created_total").increment(1);
        Ok(id)
    }

    /// Reads `fields` of a person for `purpose`. Every field's category must be allowed
    /// for the purpose, or nothing is read and the refusal is returned (and audited).
    /// Fields the person has no value for are absent from the record.
    pub async fn read(
        &self,
        actor: &Actor,
        person: PersonId,
        purpose: Purpose,
        fields: &[Field],
    ) -> Result<PersonalRecord, VaultError> {
        if let Some(refused) = fields
            .iter()
            .find_map(|f| self.policy.grant_field(purpose, *f).err())
        {
            metrics::counter!("datavow_vault_reads_total", "purpose" => purpose.as_str(), "outcome" => "refused")
                .increment(1);
            let subject = self
                .data_key(person)
                .await
                .ok()
                .map(|k| SubjectTag::derive(&k));
            self.audit
                .record(AuditEvent {
                    purpose: Some(purpose),
                    subject,
                    fields: fields.to_vec(),
                    ..AuditEvent::new(actor, Action::Read, Outcome::Refused)
                })
                .await?;
            return Err(refused.into());
        }
        let data_key = self.data_key(person).await?;
        self.read_with_key(actor, person, &data_key, purpose, fields)
            .await
    }

    /// Reads `fields` of a person for the person themselves: one key fetch serves both
    /// the audit tag of the actor and the decryption. Returns the actor too, for the
    /// caller's further audit entries.
    pub async fn read_own(
        &self,
        person: PersonId,
        purpose: Purpose,
        fields: &[Field],
    ) -> Result<(Actor, PersonalRecord), VaultError> {
        let data_key = self.data_key(person).await?;
        let actor = Actor::Person(SubjectTag::derive(&data_key));
        if fields
            .iter()
            .any(|f| self.policy.grant_field(purpose, *f).is_err())
        {
            // The refusal is audited and returned by the general path.
            let record = self.read(&actor, person, purpose, fields).await?;
            return Ok((actor, record));
        }
        let record = self
            .read_with_key(&actor, person, &data_key, purpose, fields)
            .await?;
        Ok((actor, record))
    }

    /// The read itself, once the purpose is allowed and the key fetched.
    async fn read_with_key(
        &self,
        actor: &Actor,
        person: PersonId,
        data_key: &SymmetricKey,
        purpose: Purpose,
        fields: &[Field],
    ) -> Result<PersonalRecord, VaultError> {
        let mut record = PersonalRecord::default();
        for sealed in self.persons.sealed_fields(person).await? {
            if !fields.contains(&sealed.field) {
                continue;
            }
            let plain = data_key
                .open_field(person, sealed.field, &sealed.ciphertext)
                .map_err(|_| VaultError::Tampered(sealed.field))?;
            let text = String::from_utf8(plain.to_vec())
                .map_err(|_| VaultError::Tampered(sealed.field))?;
            record.insert(sealed.field, Personal::new(text));
        }
        // Recorded before the values leave the vault: no audit entry, no data.
        self.audit
            .record(AuditEvent {
                purpose: Some(purpose),
                subject: Some(SubjectTag::derive(data_key)),
                fields: record.iter().map(|(f, _)| f).collect(),
                ..AuditEvent::new(actor, Action::Read, Outcome::Allowed)
            })
            .await?;
        metrics::counter!("datavow_vault_reads_total", "purpose" => purpose.as_str(), "outcome" => "allowed")
            .increment(1);
        Ok(record)
    }

    /// Reads every field of the categories `purpose` may use; names the categories it
    /// may not see instead of reading them.
    pub async fn read_for_purpose(
        &self,
        actor: &Actor,
        person: PersonId,
        purpose: Purpose,
    ) -> Result<PurposeView, VaultError> {
        let (allowed, withheld): (Vec<Category>, Vec<Category>) = Category::ALL
            .iter()
            .partition(|c| self.policy.grant(purpose, **c).is_ok());
        let fields: Vec<Field> = allowed
            .iter()
            .flat_map(|c| self.policy.fields_of(*c).iter().copied())
            .collect();
        let record = self.read(actor, person, purpose, &fields).await?;
        Ok(PurposeView { record, withheld })
    }

    /// Replaces the given fields of a person (and their blind indexes). All or nothing.
    pub async fn update(
        &self,
        actor: &Actor,
        person: PersonId,
        values: &[(Field, Personal)],
    ) -> Result<(), VaultError> {
        let data_key = self.data_key(person).await?;
        let (sealed, index) = self.seal_all(person, &data_key, values);
        self.persons.update_fields(person, &sealed, &index).await?;
        self.audit
            .record(AuditEvent {
                subject: Some(SubjectTag::derive(&data_key)),
                fields: values.iter().map(|(f, _)| *f).collect(),
                ..AuditEvent::new(actor, Action::Update, Outcome::Allowed)
            })
            .await?;
        Ok(())
    }

    /// Finds the person whose indexed field equals `value` (after normalisation).
    pub async fn find(
        &self,
        actor: &Actor,
        kind: IndexKind,
        value: &str,
    ) -> Result<Option<PersonId>, VaultError> {
        let digest = kind.digest(&self.index_keys[&kind], value);
        let found = self.persons.find_by_index(kind.as_str(), &digest).await?;
        let subject = match found {
            Some(person) => self
                .data_key(person)
                .await
                .ok()
                .map(|k| SubjectTag::derive(&k)),
            None => None,
        };
        let field = match kind {
            IndexKind::Email => Field::Email,
            IndexKind::UserId => Field::UserId,
        };
        let outcome = if found.is_some() {
            Outcome::Allowed
        } else {
            Outcome::NotFound
        };
        self.audit
            .record(AuditEvent {
                subject,
                fields: vec![field],
                ..AuditEvent::new(actor, Action::Search, outcome)
            })
            .await?;
        Ok(found)
    }

    /// The audit tag of a person, while their key exists.
    pub async fn subject_tag(&self, person: PersonId) -> Result<SubjectTag, VaultError> {
        Ok(SubjectTag::derive(&self.data_key(person).await?))
    }

    /// Destroys a person's data key. Their ciphertext, wherever it is, can no longer be
    /// opened. Returns whether a key was destroyed.
    pub async fn shred(&self, actor: &Actor, person: PersonId) -> Result<bool, VaultError> {
        let subject = match self.data_key(person).await {
            Ok(key) => Some(SubjectTag::derive(&key)),
            Err(VaultError::Shredded | VaultError::NoSuchPerson) => return Ok(false),
            Err(err) => return Err(err),
        };
        // Recorded first: if the log cannot take it, the key stays and nothing is lost
        // silently. The tag is computed while the key still exists.
        self.audit
            .record(AuditEvent {
                subject,
                ..AuditEvent::new(actor, Action::Shred, Outcome::Allowed)
            })
            .await?;
        let shredded = self.keys.delete_person_key(person).await?;
        if shredded {
            metrics::counter!("datavow_vault_keys_shredded_total").increment(1);
        }
        Ok(shredded)
    }

    /// Removes physical remnants of shredded keys from the keystore.
    pub async fn compact_keystore(&self) -> Result<(), VaultError> {
        Ok(self.keys.compact().await?)
    }

    /// How many keys the keystore holds.
    pub async fn key_counts(&self) -> Result<KeyCounts, VaultError> {
        Ok(self.keys.key_counts().await?)
    }

    /// Re-wraps every key in the keystore from `old` to `new` in one transaction.
    /// Sealed data is untouched. Returns how many keys were re-wrapped.
    pub async fn rotate_master_key(
        stores: &Stores,
        old: &MasterKey,
        new: &MasterKey,
    ) -> Result<u64, VaultError> {
        let (old_id, new_id) = (old.id(), new.id());
        let rewrap = |owner: KeyOwner<'_>, wrapped: &[u8]| {
            let key = old.key().unwrap_key(owner, wrapped).map_err(|_| {
                format!(
                    "a key of {} does not open under the current master key",
                    owner_label(owner)
                )
            })?;
            Ok(new.key().wrap(owner, &key))
        };
        match stores.keys.rewrap_all(&old_id, &new_id, &rewrap).await {
            Err(StoreError::KekMismatch) => Err(VaultError::WrongMasterKey {
                expected: stores.keys.kek_id().await?.unwrap_or_default(),
                given: old_id,
            }),
            other => Ok(other?),
        }
    }

    /// A named key, created on first use (see [`named_key`]).
    async fn named_key(&self, name: &str) -> Result<SymmetricKey, VaultError> {
        named_key(&*self.keys, &self.master, name).await
    }

    /// A named key if it exists; never creates one.
    async fn existing_named_key(&self, name: &str) -> Result<Option<SymmetricKey>, VaultError> {
        let Some(stored) = self.keys.named_key(name).await? else {
            return Ok(None);
        };
        self.master
            .key()
            .unwrap_key(KeyOwner::Named(name), &stored)
            .map(Some)
            .map_err(|_| VaultError::KeyTampered(name.to_owned()))
    }

    async fn data_key(&self, person: PersonId) -> Result<SymmetricKey, VaultError> {
        let Some(wrapped) = self.keys.person_key(person).await? else {
            return Err(match self.persons.person(person).await? {
                Some(_) => VaultError::Shredded,
                None => VaultError::NoSuchPerson,
            });
        };
        self.master
            .key()
            .unwrap_key(KeyOwner::Person(person), &wrapped)
            .map_err(|_| VaultError::KeyTampered("a person's data key".into()))
    }

    fn seal_all(
        &self,
        person: PersonId,
        data_key: &SymmetricKey,
        values: &[(Field, Personal)],
    ) -> (Vec<SealedField>, Vec<IndexEntry>) {
        let mut sealed = Vec::with_capacity(values.len());
        let mut index = Vec::new();
        for (field, value) in values {
            sealed.push(SealedField {
                field: *field,
                ciphertext: data_key.seal_field(person, *field, value.expose().as_bytes()),
            });
            if let Some(kind) = IndexKind::for_field(*field) {
                index.push(IndexEntry {
                    kind: kind.as_str(),
                    digest: kind.digest(&self.index_keys[&kind], value.expose()),
                });
            }
        }
        (sealed, index)
    }
}

fn owner_label(owner: KeyOwner<'_>) -> String {
    match owner {
        KeyOwner::Person(_) => "a person".into(),
        KeyOwner::Named(name) => format!("`{name}`"),
    }
}
