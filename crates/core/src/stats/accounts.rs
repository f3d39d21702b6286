//! The `accounts` report: open accounts per controlling entity, business sector and
//! country (P10).
//!
//! Invariants:
//! - Cells are named `dimension:value` (`entity:asergo_europe`, `sector:software`,
//!   `country:DE`), the same in pages, CSV and releases; an account without a sector
//!   or country counts under `sector:unknown` / `country:unknown`.
//! - Every account counts once per dimension, so each dimension's cells sum to the
//!   number of accounts, and a person touches one cell per dimension (the sensitivity
//!   of a release).
//! - Sector and country are counted by the vault ([`datavow_vault::Vault::tally_accounts`]),
//!   which lets only counts out, and only where the policy lets the statistics purpose
//!   use their category; otherwise the report has the entity cells alone. The country is
//!   the account's own `account_country` field, never read out of an address.

use super::StatsError;
use crate::Datavow;
use datavow_policy::Field;
use datavow_vault::Grant;
use std::collections::BTreeMap;

/// The dimensions, in the order reports show them, with the field each counts
/// (`None`: the entity, which is not personal data).
const DIMENSIONS: [(&str, Option<Field>); 3] = [
    ("entity", None),
    ("sector", Some(Field::BusinessSector)),
    ("country", Some(Field::AccountCountry)),
];

/// A cell's dimension and value: `sector:software` → (`sector`, `software`).
pub fn split_cell(cell: &str) -> (&str, &str) {
    cell.split_once(':').unwrap_or(("", cell))
}

/// Where a cell's dimension comes in [`DIMENSIONS`].
pub(crate) fn dimension_rank(cell: &str) -> usize {
    let (d, _) = split_cell(cell);
    DIMENSIONS
        .iter()
        .position(|(name, _)| *name == d)
        .unwrap_or(DIMENSIONS.len())
}

/// The order cells are shown and released in: by dimension, then the larger count
/// first, then by name.
pub(crate) fn cell_order<T: Ord>(a: &(String, T), b: &(String, T)) -> std::cmp::Ordering {
    dimension_rank(&a.0)
        .cmp(&dimension_rank(&b.0))
        .then_with(|| b.1.cmp(&a.1))
        .then_with(|| a.0.cmp(&b.0))
}

/// Open accounts per cell, and how many dimensions were counted (the cells one person
/// touches).
pub(crate) async fn counts(
    app: &Datavow,
    grant: &Grant,
) -> Result<(BTreeMap<String, u64>, u64), StatsError> {
    let mut counts = BTreeMap::new();
    for (entity, n) in app.stores.stats.accounts_per_entity().await? {
        counts.insert(format!("entity:{entity}"), u64::try_from(n).unwrap_or(0));
    }
    let fields: Vec<(&str, Field)> = DIMENSIONS
        .iter()
        .filter_map(|(name, field)| field.map(|f| (*name, f)))
        .filter(|(_, f)| grant.covers(app.policy.category_of(*f)))
        .collect();
    if !fields.is_empty() {
        let only: Vec<Field> = fields.iter().map(|(_, f)| *f).collect();
        let tally = app.vault.tally_accounts(grant, &only).await?;
        for (name, field) in &fields {
            for (value, n) in tally.counts.get(field).into_iter().flatten() {
                let value = value.as_deref().unwrap_or("unknown");
                *counts.entry(format!("{name}:{value}")).or_default() += n;
            }
        }
    }
    Ok((counts, 1 + fields.len() as u64))
}
