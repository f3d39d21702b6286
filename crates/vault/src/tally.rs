//! Counting accounts per value of a field (P10), for statistics.
//!
//! Invariants:
//! - Only counts leave: a tally never says which account holds which value.
//! - Every field must be covered by the grant, or the whole tally is refused; a grant
//!   made for a person acting on themself cannot tally.
//! - One audit entry per tally (fields, purpose, how many accounts), recorded before
//!   the counts leave the vault; refusals are audited too.
//! - Erased accounts (key destroyed) are not counted: their values cannot be opened.

use crate::audit::{Action, AuditEvent, Outcome};
use crate::grant::{Acting, Grant};
use crate::{open_sealed, Vault, VaultError};
use datavow_policy::Field;
use datavow_store::PersonId;
use std::collections::{BTreeMap, HashMap};

/// Accounts read per page.
const PAGE: u32 = 1000;

/// Accounts per value of each tallied field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountTally {
    /// Accounts counted (open, readable).
    pub accounts: u64,
    /// Per field, accounts per value; accounts without a value are under `None`.
    pub counts: BTreeMap<Field, BTreeMap<Option<String>, u64>>,
}

impl Vault {
    /// Counts every open account per value of each of `fields`. See the module
    /// documentation.
    pub async fn tally_accounts(
        &self,
        grant: &Grant,
        fields: &[Field],
    ) -> Result<AccountTally, VaultError> {
        let purpose = grant.purpose();
        let refusal = if matches!(grant.acting, Acting::SelfOf(_)) {
            Some(VaultError::NotYours)
        } else {
            self.unreadable(grant, fields)
        };
        let actor = grant.actor(None);
        if let Some(refused) = refusal {
            self.audit
                .record(AuditEvent {
                    purpose: Some(purpose),
                    fields: fields.to_vec(),
                    detail: Some("count of accounts".into()),
                    ..AuditEvent::new(&actor, Action::Read, Outcome::Refused)
                })
                .await?;
            return Err(refused);
        }
        let mut tally = AccountTally {
            accounts: 0,
            counts: fields.iter().map(|f| (*f, BTreeMap::new())).collect(),
        };
        // Page by page: the accounts' sealed values, then the keys of the same id range,
        // two queries per page rather than two per account.
        let mut after = PersonId::nil();
        loop {
            let page = self
                .persons
                .account_fields_page(after, PAGE, fields)
                .await?;
            let (Some((first, _)), Some((last, _))) = (page.first(), page.last()) else {
                break;
            };
            let keys: HashMap<PersonId, Vec<u8>> = self
                .keys
                .person_keys_between(*first, *last)
                .await?
                .into_iter()
                .collect();
            after = *last;
            for (person, stored) in &page {
                // No key: erased (its rows go next), not counted.
                let Some(wrapped) = keys.get(person) else {
                    continue;
                };
                let key = self.unwrap_data_key(*person, wrapped)?;
                tally.accounts += 1;
                for field in fields {
                    let value = match stored.iter().find(|s| s.field == *field) {
                        Some(sealed) => {
                            Some(open_sealed(&key, *person, sealed)?.expose().to_owned())
                        }
                        None => None,
                    };
                    if let Some(per_value) = tally.counts.get_mut(field) {
                        *per_value.entry(value).or_default() += 1;
                    }
                }
            }
        }
        self.audit
            .record(AuditEvent {
                purpose: Some(purpose),
                fields: fields.to_vec(),
                detail: Some(format!("count of {} accounts", tally.accounts)),
                ..AuditEvent::new(&actor, Action::Read, Outcome::Allowed)
            })
            .await?;
        metrics::counter!("datavow_vault_tallies_total", "purpose" => purpose.as_str())
            .increment(1);
        Ok(tally)
    }
}
