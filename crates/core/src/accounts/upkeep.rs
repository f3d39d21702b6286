//! Keeping an account's derived fields in step with what the person gave.
//!
//! The `account_country` field copies the country of the postal address (sign-up and
//! every address change write both). Accounts stored before that field existed get it
//! here, read from their address under the account-management purpose (each read and
//! write audited like any other); the statistics purpose never opens the address.

use super::AccountError;
use crate::access::SystemAct;
use crate::{Datavow, Principal};
use datavow_policy::{CountryCode, Field};
use datavow_vault::{Personal, VaultError};

/// Accounts filled per query.
const BATCH: u32 = 500;

/// Gives every account with a postal address but no `account_country` its country.
/// Returns how many accounts were filled. Accounts erased meanwhile are skipped.
pub async fn fill_account_countries(app: &Datavow) -> Result<u64, AccountError> {
    let actor = Principal::system("job:account-upkeep").actor();
    let mut filled = 0;
    let mut skipped = std::collections::HashSet::new();
    loop {
        // Skipped accounts stay in the store's answer; ask for enough to get past them.
        let limit = BATCH.saturating_add(u32::try_from(skipped.len()).unwrap_or(u32::MAX));
        let batch: Vec<_> = app
            .stores
            .persons
            .accounts_with_but_not(Field::PostalAddress, Field::AccountCountry, limit)
            .await?
            .into_iter()
            .filter(|p| !skipped.contains(p))
            .collect();
        if batch.is_empty() {
            return Ok(filled);
        }
        for person in batch {
            let grant = app.door.system(actor.clone(), SystemAct::AccountUpkeep)?;
            let record = match app
                .vault
                .read(&grant, person, &[Field::PostalAddress])
                .await
            {
                Ok(record) => record,
                Err(VaultError::Shredded | VaultError::NoSuchPerson) => {
                    skipped.insert(person);
                    continue;
                }
                Err(e) => return Err(AccountError::Vault(e)),
            };
            let country = record
                .get(Field::PostalAddress)
                .and_then(|a| serde_json::from_str::<super::PostalAddress>(a.expose()).ok())
                .and_then(|a| CountryCode::parse(&a.country));
            let Some(country) = country else {
                // An address without a readable country: nothing to copy; not retried.
                skipped.insert(person);
                continue;
            };
            app.vault
                .update(
                    &grant,
                    person,
                    &[(Field::AccountCountry, Personal::new(country.as_str()))],
                )
                .await
                .map_err(AccountError::Vault)?;
            filled += 1;
        }
    }
}
