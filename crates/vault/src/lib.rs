//! # datavow-vault
//!
//! The one door to personal data. Nothing else in Datavow encrypts, decrypts or reads
//! a personal field (P3), and every read and write takes a [`Grant`] (actor, purpose,
//! the categories the policy allows that purpose) that only the holder of this vault's
//! one [`GrantIssuer`] can make (P11).
//!
//! - Each person has a random 256-bit data key (their `account` retention class),
//!   wrapped by the master key (key-encryption key) and kept in the keystore, apart
//!   from the data; records that may outlive the account have class keys of their own.
//! - Fields are sealed with XChaCha20-Poly1305; the person id and field name are bound
//!   as associated data, so a ciphertext moved to another person or field fails.
//! - Look-ups go through blind indexes (HMAC-SHA256 of a normalised value, one key per
//!   index).
//! - Erasure destroys keys ([`Vault::erase_keys`]): every copy of the ciphertext, in
//!   the database and in every backup, is unreadable at once (P9, P14).
//! - Rotating the master key re-wraps every key in one transaction; sealed data is not
//!   touched.
//!
//! Invariants: a read refused by the policy is an error, never an empty value; no
//! purpose reads a password hash (it is only verified); a purpose that needs consent
//! reads nobody without it; every write and key destruction is audited before its
//! effect; no key or plaintext is ever `Debug`-printable; errors name fields, never
//! values.

mod audit;
mod blind_index;
mod browser;
mod cipher;
mod classes;
pub mod consent;
mod grant;
mod mail;
mod master_key;
mod operator_secrets;
mod personal;
mod tally;

pub use audit::{
    Action, Actor, AuditError, AuditEvent, AuditSigner, AuditSink, Outcome, RecordingSink,
    SubjectTag,
};
pub use blind_index::IndexKind;
pub use browser::{address_bytes, AgentDigest, DayKeys, DayReader, LinkTag};
pub use cipher::{SymmetricKey, Unauthentic};
pub use classes::{ErasurePlan, OpenedRecord, ACCOUNT_CLASS};
pub use grant::{Custody, Grant, GrantIssuer};
pub use master_key::{MasterKey, MasterKeyError};
pub use personal::{Personal, PersonalRecord};
pub use tally::AccountTally;

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
    #[error("`{0}` authenticates and is never read")]
    Unreadable(Field),
    #[error("purpose `{0}` needs the person's consent, which they have not given")]
    NoConsent(Purpose),
    #[error("a person may act on their own data only")]
    NotYours,
    #[error("these records are kept only for a legal obligation and may be read only for it")]
    Restricted,
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

impl VaultError {
    /// Whether the store (or the audit log, without which nothing is read or written)
    /// cannot be reached or cannot take a write right now.
    pub fn is_unavailable(&self) -> bool {
        match self {
            VaultError::Store(err) => err.is_unavailable(),
            VaultError::Audit(_) => true,
            _ => false,
        }
    }
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

/// Name of the marketing suppression list's digest key in the keystore.
const SUPPRESSION_KEY: &str = "mail:suppression";

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
    /// Opens the vault over `stores`, with the one [`GrantIssuer`] of this vault. The
    /// first open records the master key's id in
    /// the keystore; later opens with another key are refused. Creates the blind-index
    /// keys if they do not exist yet.
    pub async fn open(
        stores: &Stores,
        master: MasterKey,
        policy: Arc<Policy>,
        audit: Arc<dyn AuditSink>,
    ) -> Result<(Vault, GrantIssuer), VaultError> {
        Vault::check_master_key(stores, &master).await?;
        let mut index_keys = HashMap::new();
        for kind in IndexKind::ALL {
            index_keys.insert(
                *kind,
                named_key(&*stores.keys, &master, kind.key_name()).await?,
            );
        }
        let issuer = GrantIssuer::new(policy.clone());
        let vault = Vault {
            master,
            keys: stores.keys.clone(),
            persons: stores.persons.clone(),
            policy,
            index_keys,
            audit,
        };
        Ok((vault, issuer))
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

    /// Creates a record of `kind` controlled by `entity` with the given fields: a new
    /// data key, every field sealed, blind indexes for indexed fields. All or nothing.
    /// The grant's purpose must cover every field written. Audited before the effect
    /// (and a failure after it).
    pub async fn create(
        &self,
        grant: &Grant,
        kind: PersonKind,
        entity: &str,
        values: &[(Field, Personal)],
    ) -> Result<PersonId, VaultError> {
        self.check_write(grant, values)?;
        if self.policy.entity(entity).is_none() {
            return Err(VaultError::UnknownEntity(entity.to_owned()));
        }
        let id = uuid::Uuid::new_v4();
        let data_key = SymmetricKey::generate();
        let (sealed, index) = self.seal_all(id, &data_key, values);
        let event = write_event(grant, &data_key, values, Action::Create);
        let stored = async {
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
                return Err(VaultError::from(err));
            }
            Ok(())
        };
        self.audited(event, stored).await?;
        metrics::counter!("datavow_vault_persons_created_total").increment(1);
        Ok(id)
    }

    /// Reads `fields` of a person under `grant`. Every field's category must be covered
    /// by the grant, a purpose that needs consent needs the person's, and no purpose
    /// reads a password hash; otherwise nothing is read and the refusal is returned
    /// (and audited). Fields the person has no value for are absent from the record.
    pub async fn read(
        &self,
        grant: &Grant,
        person: PersonId,
        fields: &[Field],
    ) -> Result<PersonalRecord, VaultError> {
        let purpose = grant.purpose();
        let refusal = self.unreadable(grant, fields);
        // The key and the person's sealed fields (fetched once: the consent check reads
        // them too) at the same time: two reads, one wait.
        let (data_key, stored) = match refusal {
            None => {
                // Refused before anything of another person is fetched.
                check_self(grant, person)?;
                let (key, stored) = tokio::join!(
                    self.key_for(grant, person),
                    self.persons.sealed_fields(person)
                );
                (key?, stored?)
            }
            Some(_) => (self.key_for(grant, person).await?, Vec::new()),
        };
        let subject = SubjectTag::derive(&data_key);
        let actor = grant.actor(Some(&subject));
        let refusal = match refusal {
            Some(r) => Some(r),
            None if self.policy.purpose(purpose).requires_consent
                && !consent_given(&data_key, person, &stored)? =>
            {
                Some(VaultError::NoConsent(purpose))
            }
            None => None,
        };
        if let Some(refused) = refusal {
            metrics::counter!("datavow_vault_reads_total", "purpose" => purpose.as_str(), "outcome" => "refused")
                .increment(1);
            self.audit
                .record(AuditEvent {
                    purpose: Some(purpose),
                    subject: Some(subject),
                    fields: fields.to_vec(),
                    ..AuditEvent::new(&actor, Action::Read, Outcome::Refused)
                })
                .await?;
            return Err(refused);
        }
        let mut record = PersonalRecord::default();
        for sealed in &stored {
            if fields.contains(&sealed.field) {
                record.insert(sealed.field, open_sealed(&data_key, person, sealed)?);
            }
        }
        // Recorded before the values leave the vault: no audit entry, no data (but for
        // a person's own views already on record today, see `grant`).
        if grant.audits_reads {
            self.audit
                .record(AuditEvent {
                    purpose: Some(purpose),
                    subject: Some(subject),
                    fields: record.iter().map(|(f, _)| f).collect(),
                    ..AuditEvent::new(&actor, Action::Read, Outcome::Allowed)
                })
                .await?;
        }
        metrics::counter!("datavow_vault_reads_total", "purpose" => purpose.as_str(), "outcome" => "allowed")
            .increment(1);
        Ok(record)
    }

    /// Reads every readable field of the categories the grant covers; names the
    /// categories it does not cover instead of reading them. Credentials that only
    /// authenticate (the password hash) are never among the fields.
    pub async fn read_for_purpose(
        &self,
        grant: &Grant,
        person: PersonId,
    ) -> Result<PurposeView, VaultError> {
        let (allowed, withheld): (Vec<Category>, Vec<Category>) =
            Category::ALL.iter().partition(|c| grant.covers(**c));
        let fields: Vec<Field> = allowed
            .iter()
            .flat_map(|c| self.policy.fields_of(*c).iter().copied())
            .filter(|f| !f.is_verifier())
            .collect();
        let record = self.read(grant, person, &fields).await?;
        Ok(PurposeView { record, withheld })
    }

    /// The password hash of a person, to verify a password against: never part of a
    /// read, never shown. The grant must cover the credentials category. Audited.
    pub async fn password_verifier(
        &self,
        grant: &Grant,
        person: PersonId,
    ) -> Result<Option<Personal>, VaultError> {
        self.covered(grant, Field::PasswordHash)?;
        let data_key = self.key_for(grant, person).await?;
        let subject = SubjectTag::derive(&data_key);
        let mut verifier = None;
        for sealed in self.persons.sealed_fields(person).await? {
            if sealed.field == Field::PasswordHash {
                verifier = Some(open_sealed(&data_key, person, &sealed)?);
            }
        }
        self.audit
            .record(AuditEvent {
                purpose: Some(grant.purpose()),
                subject: Some(subject.clone()),
                fields: vec![Field::PasswordHash],
                detail: Some("verified, not read".into()),
                ..AuditEvent::new(
                    &grant.actor(Some(&subject)),
                    Action::Verify,
                    Outcome::Allowed,
                )
            })
            .await?;
        Ok(verifier)
    }

    /// Replaces the given fields of a person (and their blind indexes). All or nothing.
    /// The grant's purpose must cover every field written. Audited before the effect
    /// (and a failure after it).
    pub async fn update(
        &self,
        grant: &Grant,
        person: PersonId,
        values: &[(Field, Personal)],
    ) -> Result<(), VaultError> {
        self.check_write(grant, values)?;
        let data_key = self.key_for(grant, person).await?;
        let (sealed, index) = self.seal_all(person, &data_key, values);
        let event = write_event(grant, &data_key, values, Action::Update);
        self.audited(event, async {
            Ok(self.persons.update_fields(person, &sealed, &index).await?)
        })
        .await?;
        Ok(())
    }

    /// Finds the person whose indexed field equals `value` (after normalisation). The
    /// grant must cover the indexed field's category. Audited.
    pub async fn find(
        &self,
        grant: &Grant,
        kind: IndexKind,
        value: &str,
    ) -> Result<Option<PersonId>, VaultError> {
        let field = match kind {
            IndexKind::Email => Field::Email,
            IndexKind::UserId => Field::UserId,
        };
        if let Err(refused) = self.covered(grant, field) {
            self.audit
                .record(AuditEvent {
                    purpose: Some(grant.purpose()),
                    fields: vec![field],
                    ..AuditEvent::new(&grant.actor(None), Action::Search, Outcome::Refused)
                })
                .await?;
            return Err(refused.into());
        }
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
        let outcome = if found.is_some() {
            Outcome::Allowed
        } else {
            Outcome::NotFound
        };
        self.audit
            .record(AuditEvent {
                purpose: Some(grant.purpose()),
                subject,
                fields: vec![field],
                ..AuditEvent::new(&grant.actor(None), Action::Search, outcome)
            })
            .await?;
        Ok(found)
    }

    /// The keyed digest of an email address on the marketing suppression list: the
    /// address normalised as for look-ups, under its own key (`mail:suppression`), so
    /// the list holds no address and matches no blind-index entry.
    pub async fn suppression_digest(&self, email: &str) -> Result<Vec<u8>, VaultError> {
        let key = self.named_key(SUPPRESSION_KEY).await?;
        Ok(IndexKind::Email.digest(&key, email))
    }

    /// The audit tag of a person under `grant`, while their key exists.
    pub async fn subject_tag(
        &self,
        grant: &Grant,
        person: PersonId,
    ) -> Result<SubjectTag, VaultError> {
        Ok(SubjectTag::derive(&self.key_for(grant, person).await?))
    }

    /// The audit actor of `grant` once it has opened `person` (for a person acting on
    /// themself, their own tag).
    pub async fn actor_of(&self, grant: &Grant, person: PersonId) -> Result<Actor, VaultError> {
        let tag = self.subject_tag(grant, person).await?;
        Ok(grant.actor(Some(&tag)))
    }

    /// Records `event`, then runs `effect`; if the effect fails, records that too. The
    /// shape of every write: no effect without its entry committed first.
    async fn audited<T>(
        &self,
        event: AuditEvent,
        effect: impl std::future::Future<Output = Result<T, VaultError>>,
    ) -> Result<T, VaultError> {
        self.audit.record(event.clone()).await?;
        match effect.await {
            Ok(done) => Ok(done),
            Err(err) => {
                self.audit
                    .record(AuditEvent {
                        outcome: Outcome::Failed,
                        ..event
                    })
                    .await?;
                Err(err)
            }
        }
    }

    /// Whether `grant` covers `field`'s category.
    /// Why `grant` may not read `fields`, if it may not: a verifier is never read, and
    /// every field's category must be covered.
    fn unreadable(&self, grant: &Grant, fields: &[Field]) -> Option<VaultError> {
        match fields.iter().find(|f| f.is_verifier()) {
            Some(_) => Some(VaultError::Unreadable(Field::PasswordHash)),
            None => fields
                .iter()
                .find_map(|f| self.covered(grant, *f).err())
                .map(VaultError::Refused),
        }
    }

    fn covered(&self, grant: &Grant, field: Field) -> Result<(), PurposeRefused> {
        let category = self.policy.category_of(field);
        if grant.covers(category) {
            Ok(())
        } else {
            Err(PurposeRefused {
                purpose: grant.purpose(),
                category,
            })
        }
    }

    /// A write must be covered by the grant field by field.
    fn check_write(&self, grant: &Grant, values: &[(Field, Personal)]) -> Result<(), VaultError> {
        for (field, _) in values {
            self.covered(grant, *field)?;
        }
        Ok(())
    }

    /// The data key of `person` for `grant`: the one the grant already opened, or
    /// fetched and kept in the grant. A grant for a person acting on themself opens
    /// nobody else.
    async fn key_for(&self, grant: &Grant, person: PersonId) -> Result<SymmetricKey, VaultError> {
        check_self(grant, person)?;
        if let Some((opened, key)) = grant.opened.get() {
            if *opened == person {
                return Ok(key.clone());
            }
        }
        let key = self.data_key(person).await?;
        let _ = grant.opened.set((person, key.clone()));
        Ok(key)
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
        self.unwrap_data_key(person, &wrapped)
    }

    /// A person's data key from its wrapped form in the keystore.
    fn unwrap_data_key(
        &self,
        person: PersonId,
        wrapped: &[u8],
    ) -> Result<SymmetricKey, VaultError> {
        self.master
            .key()
            .unwrap_key(KeyOwner::Person(person), wrapped)
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
        KeyOwner::Class { class, .. } => format!("class `{class}`"),
    }
}

/// The audit entry of a write of `values` under `grant` to the person of `data_key`.
fn write_event(
    grant: &Grant,
    data_key: &SymmetricKey,
    values: &[(Field, Personal)],
    action: Action,
) -> AuditEvent {
    let subject = SubjectTag::derive(data_key);
    AuditEvent {
        purpose: Some(grant.purpose()),
        fields: values.iter().map(|(f, _)| *f).collect(),
        ..AuditEvent::new(&grant.actor(Some(&subject)), action, Outcome::Allowed)
    }
    .with_subject(subject)
}

/// A grant for a person acting on themself opens nobody else.
fn check_self(grant: &Grant, person: PersonId) -> Result<(), VaultError> {
    match &grant.acting {
        grant::Acting::SelfOf(own) if *own != person => Err(VaultError::NotYours),
        _ => Ok(()),
    }
}

/// Whether the person's recorded marketing consent, among their sealed fields, is "in".
fn consent_given(
    key: &SymmetricKey,
    person: PersonId,
    stored: &[SealedField],
) -> Result<bool, VaultError> {
    match stored.iter().find(|s| s.field == Field::MarketingConsent) {
        Some(sealed) => Ok(consent::is_given(
            open_sealed(key, person, sealed)?.expose(),
        )),
        None => Ok(false),
    }
}

/// Opens one sealed field under its person's key.
fn open_sealed(
    key: &SymmetricKey,
    person: PersonId,
    sealed: &SealedField,
) -> Result<Personal, VaultError> {
    let plain = key
        .open_field(person, sealed.field, &sealed.ciphertext)
        .map_err(|_| VaultError::Tampered(sealed.field))?;
    String::from_utf8(plain.to_vec())
        .map(Personal::new)
        .map_err(|_| VaultError::Tampered(sealed.field))
}
