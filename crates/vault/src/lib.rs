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

mod blind_index;
mod cipher;
mod master_key;
mod personal;

pub use blind_index::IndexKind;
pub use cipher::{SymmetricKey, Unauthentic};
pub use master_key::{MasterKey, MasterKeyError};
pub use personal::{Personal, PersonalRecord};

use datavow_policy::{Field, Policy, Purpose, PurposeRefused};
use datavow_store::{
    IndexEntry, KeyCounts, KeyOwner, KeyStore, PersonId, PersonRow, PersonStore, SealedField,
    StoreError, Stores,
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
}

impl Vault {
    /// Opens the vault over `stores`. The first open records the master key's id in
    /// the keystore; later opens with another key are refused. Creates the blind-index
    /// keys if they do not exist yet.
    pub async fn open(
        stores: &Stores,
        master: MasterKey,
        policy: Arc<Policy>,
    ) -> Result<Vault, VaultError> {
        let given = master.id();
        let expected = stores.keys.claim_kek_id(&given).await?;
        if expected != given {
            return Err(VaultError::WrongMasterKey { expected, given });
        }
        let mut index_keys = HashMap::new();
        for kind in IndexKind::ALL {
            let owner = KeyOwner::Named(kind.key_name());
            let fresh = master.key().wrap(owner, &SymmetricKey::generate());
            let stored = stores
                .keys
                .insert_named_key_if_absent(kind.key_name(), &fresh)
                .await?;
            let key = master
                .key()
                .unwrap_key(owner, &stored)
                .map_err(|_| VaultError::KeyTampered(kind.key_name().to_owned()))?;
            index_keys.insert(*kind, key);
        }
        Ok(Vault {
            master,
            keys: stores.keys.clone(),
            persons: stores.persons.clone(),
            policy,
            index_keys,
        })
    }

    /// The policy this vault enforces.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Creates a person controlled by `entity` with the given fields: a new data key,
    /// every field sealed, blind indexes for indexed fields. All or nothing.
    pub async fn create_person(
        &self,
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
            created_at: chrono_now(),
        };
        if let Err(err) = self.persons.insert_person(&row, &sealed, &index).await {
            // Leave no orphan key behind a person that was not stored.
            if let Err(cleanup) = self.keys.delete_person_key(id).await {
                tracing::warn!(error = %cleanup, "could not remove the data key of a person that failed to store");
            }
            return Err(err.into());
        }
        metrics::counter!("datavow_vault_persons_created_total").increment(1);
        Ok(id)
    }

    /// Reads `fields` of a person for `purpose`. Every field's category must be allowed
    /// for the purpose, or nothing is read and the refusal is returned. Fields the person
    /// has no value for are absent from the record.
    pub async fn read(
        &self,
        person: PersonId,
        purpose: Purpose,
        fields: &[Field],
    ) -> Result<PersonalRecord, VaultError> {
        for field in fields {
            if let Err(refused) = self.policy.grant_field(purpose, *field) {
                metrics::counter!("datavow_vault_reads_total", "purpose" => purpose.as_str(), "outcome" => "refused")
                    .increment(1);
                return Err(refused.into());
            }
        }
        let data_key = self.data_key(person).await?;
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
        metrics::counter!("datavow_vault_reads_total", "purpose" => purpose.as_str(), "outcome" => "allowed")
            .increment(1);
        Ok(record)
    }

    /// Replaces the given fields of a person (and their blind indexes). All or nothing.
    pub async fn update(
        &self,
        person: PersonId,
        values: &[(Field, Personal)],
    ) -> Result<(), VaultError> {
        let data_key = self.data_key(person).await?;
        let (sealed, index) = self.seal_all(person, &data_key, values);
        self.persons.update_fields(person, &sealed, &index).await?;
        Ok(())
    }

    /// Finds the person whose indexed field equals `value` (after normalisation).
    pub async fn find(&self, kind: IndexKind, value: &str) -> Result<Option<PersonId>, VaultError> {
        let digest = kind.digest(&self.index_keys[&kind], value);
        Ok(self.persons.find_by_index(kind.as_str(), &digest).await?)
    }

    /// Destroys a person's data key. Their ciphertext, wherever it is, can no longer be
    /// opened. Returns whether a key was destroyed.
    pub async fn shred(&self, person: PersonId) -> Result<bool, VaultError> {
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

fn chrono_now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}
