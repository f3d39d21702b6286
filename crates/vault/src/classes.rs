//! Retention classes (P7, P9, P14): keys per (owner, class), records kept past the
//! account, and erasure by key destruction.
//!
//! - A person's `account` class key is their data key (`person_keys`); every other class
//!   (invoices of an entity and year, say) has its own key in `class_keys`, wrapped with
//!   owner and class as associated data.
//! - A retained record is sealed under its class key with its id, owner, class and field
//!   as associated data.
//! - [`Vault::erase_keys`] is the commit point of an erasure: one keystore transaction
//!   destroys the account key and every class without a legal ground to stay, restricts
//!   the kept classes and appends one tombstone per destroyed key to the erasure ledger.
//!
//! Invariants: a restricted class opens only for the legal-obligation purpose; every key
//! destruction is audited before it happens; the ledger holds no personal data.

use crate::audit::{Action, AuditEvent, Outcome, SubjectTag};
use crate::cipher::{retained_aad, SymmetricKey};
use crate::grant::{Custody, Grant};
use crate::{Personal, Vault, VaultError};
use datavow_policy::{Field, Purpose};
use datavow_store::{KeyErasure, KeyOwner, PersonId, RetainedRecord, Tombstone};

/// The account class: every category kept while the account is open.
pub const ACCOUNT_CLASS: &str = "account";

/// One retained record, opened.
#[derive(Debug, Clone)]
pub struct OpenedRecord {
    pub id: uuid::Uuid,
    pub class: String,
    pub field: Field,
    pub value: Personal,
    pub created_at_micros: i64,
}

/// What an erasure destroys and keeps, decided by the caller from the policy.
#[derive(Debug, Clone, Default)]
pub struct ErasurePlan {
    /// Why: `request`, `child`, `retention_ended`, `account_closed`.
    pub reason: String,
    /// Destroy the account key (an erasure); `false` when only classes end.
    pub account: bool,
    /// Classes destroyed besides the account key.
    pub destroy: Vec<String>,
    /// Classes kept with a legal ground, restricted from now on.
    pub restrict: Vec<String>,
}

impl Vault {
    /// Destroys the person keys made from `from` up to `before` whose person was never
    /// stored: a sign-up or contact message cut short between its key and its record
    /// (a crash). Such a key sealed nothing that exists; each one is audited before it
    /// goes. Returns how many went.
    pub async fn destroy_orphan_keys(
        &self,
        custody: &Custody,
        from: chrono::DateTime<chrono::Utc>,
        before: chrono::DateTime<chrono::Utc>,
    ) -> Result<u64, VaultError> {
        let owners = self
            .keys
            .person_keys_made_between(from, before, 10_000)
            .await?;
        let mut destroyed = 0;
        for owner in owners {
            if self.persons.person(owner).await?.is_some() {
                continue;
            }
            self.audit
                .record(AuditEvent {
                    detail: Some("data key of a record that was never stored".into()),
                    ..AuditEvent::new(&custody.actor, Action::KeysDestroyed, Outcome::Allowed)
                })
                .await?;
            if self.keys.delete_person_key(owner).await? {
                destroyed += 1;
            }
        }
        Ok(destroyed)
    }

    async fn class_key_of(
        &self,
        owner: PersonId,
        class: &str,
    ) -> Result<Option<(SymmetricKey, bool)>, VaultError> {
        let Some(row) = self.keys.class_key(owner, class).await? else {
            return Ok(None);
        };
        let key = self
            .master
            .key()
            .unwrap_key(KeyOwner::Class { owner, class }, &row.wrapped)
            .map_err(|_| VaultError::KeyTampered(format!("the key of class `{class}`")))?;
        Ok(Some((key, row.restricted)))
    }

    /// Seals `value` as a record of `owner`'s `class` (its key created on first use,
    /// ending at `expires_at_micros`). The grant must cover the field; a restricted class
    /// takes no new records. Audited before the write.
    pub async fn retain(
        &self,
        grant: &Grant,
        owner: PersonId,
        class: &str,
        expires_at_micros: Option<i64>,
        field: Field,
        value: &Personal,
    ) -> Result<uuid::Uuid, VaultError> {
        crate::check_self(grant, owner)?;
        self.covered(grant, field)?;
        let fresh = SymmetricKey::generate();
        let wrapped = self
            .master
            .key()
            .wrap(KeyOwner::Class { owner, class }, &fresh);
        let row = self
            .keys
            .insert_class_key_if_absent(owner, class, &wrapped, expires_at_micros)
            .await?;
        if row.restricted {
            return Err(VaultError::Restricted);
        }
        let key = self
            .master
            .key()
            .unwrap_key(KeyOwner::Class { owner, class }, &row.wrapped)
            .map_err(|_| VaultError::KeyTampered(format!("the key of class `{class}`")))?;
        let mut record = RetainedRecord {
            id: uuid::Uuid::new_v4(),
            owner,
            class: class.to_owned(),
            field,
            ciphertext: Vec::new(),
            created_at_micros: chrono::Utc::now().timestamp_micros(),
        };
        record.ciphertext = key.encrypt(value.expose().as_bytes(), &retained_aad(&record));
        let subject = self.tag_if_held(owner).await;
        let event = AuditEvent {
            purpose: Some(grant.purpose()),
            subject,
            fields: vec![field],
            detail: Some(format!("record of class {class}")),
            ..AuditEvent::new(&grant.actor(None), Action::Create, Outcome::Allowed)
        };
        self.audited(event, async {
            Ok(self.persons.insert_retained(&record).await?)
        })
        .await?;
        Ok(record.id)
    }

    /// The retained records of `owner` the grant may read: fields it covers, and of a
    /// restricted class only for the legal obligation. Records whose class key is gone
    /// are left out (they are erased). Audited, refusals too.
    pub async fn retained(
        &self,
        grant: &Grant,
        owner: PersonId,
    ) -> Result<Vec<OpenedRecord>, VaultError> {
        crate::check_self(grant, owner)?;
        let records = self.persons.retained_of(owner).await?;
        let mut opened = Vec::with_capacity(records.len());
        let mut keys: std::collections::BTreeMap<String, Option<(SymmetricKey, bool)>> =
            std::collections::BTreeMap::new();
        let mut refusal = None;
        for record in &records {
            if let Err(refused) = self.covered(grant, record.field) {
                refusal.get_or_insert(VaultError::Refused(refused));
                continue;
            }
            if !keys.contains_key(&record.class) {
                let key = self.class_key_of(owner, &record.class).await?;
                keys.insert(record.class.clone(), key);
            }
            let Some((key, restricted)) = &keys[&record.class] else {
                continue;
            };
            if *restricted && grant.purpose() != Purpose::LegalObligation {
                refusal.get_or_insert(VaultError::Restricted);
                continue;
            }
            let plain = key
                .decrypt(&record.ciphertext, &retained_aad(record))
                .map_err(|_| VaultError::Tampered(record.field))?;
            let text = String::from_utf8(plain.to_vec())
                .map_err(|_| VaultError::Tampered(record.field))?;
            opened.push(OpenedRecord {
                id: record.id,
                class: record.class.clone(),
                field: record.field,
                value: Personal::new(text),
                created_at_micros: record.created_at_micros,
            });
        }
        let outcome = match (&refusal, opened.is_empty()) {
            (Some(_), true) => Outcome::Refused,
            _ => Outcome::Allowed,
        };
        self.audit
            .record(AuditEvent {
                purpose: Some(grant.purpose()),
                subject: self.tag_if_held(owner).await,
                fields: opened.iter().map(|r| r.field).collect(),
                detail: Some(format!("{} retained records read", opened.len())),
                ..AuditEvent::new(&grant.actor(None), Action::Read, outcome)
            })
            .await?;
        match refusal {
            Some(err) if opened.is_empty() => Err(err),
            _ => Ok(opened),
        }
    }

    /// The subject tag of `owner` while their account key exists.
    async fn tag_if_held(&self, owner: PersonId) -> Option<SubjectTag> {
        self.data_key(owner)
            .await
            .ok()
            .map(|k| SubjectTag::derive(&k))
    }

    /// The classes `owner` holds keys for, beside the account key.
    pub async fn classes_of(
        &self,
        owner: PersonId,
    ) -> Result<Vec<datavow_store::ClassKeyRow>, VaultError> {
        Ok(self.keys.class_keys_of(owner).await?)
    }

    /// The commit point of an erasure (see the module documentation). Audited before,
    /// with the subject's tag while the account key still exists. Returns the
    /// tombstones written; none when there was nothing left to destroy.
    pub async fn erase_keys(
        &self,
        custody: &Custody,
        owner: PersonId,
        plan: &ErasurePlan,
    ) -> Result<Vec<Tombstone>, VaultError> {
        let account_key = plan.account && self.keys.person_key(owner).await?.is_some();
        let held: Vec<String> = self
            .keys
            .class_keys_of(owner)
            .await?
            .into_iter()
            .map(|row| row.class)
            .collect();
        let destroy: Vec<String> = plan
            .destroy
            .iter()
            .filter(|c| held.contains(c))
            .cloned()
            .collect();
        let restrict: Vec<String> = plan
            .restrict
            .iter()
            .filter(|c| held.contains(c))
            .cloned()
            .collect();
        let at_micros = chrono::Utc::now().timestamp_micros();
        let mut tombstones: Vec<Tombstone> = destroy
            .iter()
            .map(|class| Tombstone {
                owner,
                class: class.clone(),
                reason: plan.reason.clone(),
                at_micros,
            })
            .collect();
        if account_key {
            tombstones.insert(
                0,
                Tombstone {
                    owner,
                    class: ACCOUNT_CLASS.into(),
                    reason: plan.reason.clone(),
                    at_micros,
                },
            );
        }
        if tombstones.is_empty() && restrict.is_empty() {
            return Ok(Vec::new());
        }
        let detail = format!(
            "erasure ({}): keys destroyed: {}; kept restricted: {}",
            plan.reason,
            tombstones
                .iter()
                .map(|t| t.class.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            if restrict.is_empty() {
                "none".to_owned()
            } else {
                restrict.join(", ")
            }
        );
        self.audit
            .record(AuditEvent {
                subject: self.tag_if_held(owner).await,
                detail: Some(detail),
                ..AuditEvent::new(&custody.actor, Action::Shred, Outcome::Allowed)
            })
            .await?;
        let erasure = KeyErasure {
            account_key,
            destroy,
            restrict,
            tombstones: tombstones.clone(),
        };
        self.keys.erase_keys(owner, &erasure).await?;
        metrics::counter!("datavow_vault_keys_shredded_total").increment(tombstones.len() as u64);
        Ok(tombstones)
    }

    /// The erasure ledger's entries not yet known to have their data rows deleted.
    pub async fn uncleared_tombstones(&self) -> Result<Vec<Tombstone>, VaultError> {
        Ok(self.keys.uncleared_tombstones().await?)
    }

    /// Records that the rows of `owner`'s `class` are deleted.
    pub async fn mark_cleared(&self, owner: PersonId, class: &str) -> Result<(), VaultError> {
        Ok(self.keys.mark_cleared(owner, class).await?)
    }

    /// The ledger's entries about `owner`.
    pub async fn tombstones_of(&self, owner: PersonId) -> Result<Vec<Tombstone>, VaultError> {
        Ok(self.keys.tombstones_of(owner).await?)
    }

    /// `(owner, class)` of the class keys whose period ended by `now_micros`.
    pub async fn expired_classes(
        &self,
        now_micros: i64,
    ) -> Result<Vec<(PersonId, String)>, VaultError> {
        Ok(self.keys.expired_class_keys(now_micros).await?)
    }
}
