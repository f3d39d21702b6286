//! The policy file's format, exactly as written in TOML. Deserialisation checks
//! names and types (with the line of each mistake); [`crate::Policy::from_toml`] then checks
//! the rules that span sections.

use crate::period::Period;
use crate::vocab::{Category, CountryCode, Field, Purpose, Role};
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolicyFile {
    pub policy: Header,
    pub entities: BTreeMap<String, EntityDef>,
    #[serde(default)]
    pub entity_by_country: BTreeMap<CountryCode, Spanned<String>>,
    pub categories: BTreeMap<Category, CategoryDef>,
    pub purposes: BTreeMap<Purpose, PurposeDef>,
    pub roles: BTreeMap<Role, Vec<Purpose>>,
    pub retention: BTreeMap<Category, RetentionDef>,
    pub backups: BackupsDef,
    /// How long the audit log keeps its entries.
    #[serde(default)]
    pub audit: AuditDef,
    pub requests: RequestsDef,
    pub children: ChildrenDef,
    pub accounts: AccountsDef,
    /// Who receives personal data from the controller (processors, authorities).
    #[serde(default)]
    pub recipients: BTreeMap<String, RecipientDef>,
    /// How operators sign in to the console.
    #[serde(default)]
    pub operators: OperatorsDef,
    /// De-identified releases for third parties (P10).
    #[serde(default)]
    pub statistics: StatisticsDef,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatisticsDef {
    /// The smallest count a release may hold (k-anonymity).
    pub k: Option<Spanned<u32>>,
    /// The ε a dataset may spend per period (a day of browser data; a month of accounts).
    pub epsilon_budget: Option<Spanned<f64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OperatorsDef {
    /// Roles that must give a second factor, beyond admin and privacy officer (always).
    #[serde(default)]
    pub second_factor: Vec<Role>,
    /// Minutes without activity after which a console session ends.
    pub idle_minutes: Option<Spanned<u32>>,
    /// Hours after sign-in after which a console session ends, active or not.
    pub session_hours: Option<Spanned<u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Header {
    pub name: String,
    pub version: String,
    pub effective_date: Spanned<String>,
    pub privacy_contact: Spanned<String>,
    pub default_entity: Spanned<String>,
    /// The short name people know the controller by, shown in page headers; the
    /// default entity's name when absent.
    pub controller: Option<String>,
    /// The policy text per language (`en`, `de`, `da`): Markdown files, relative to the
    /// policy file.
    #[serde(default)]
    pub texts: BTreeMap<String, Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EntityDef {
    pub name: String,
    pub address: Vec<String>,
    pub country: CountryCode,
    /// This entity's privacy mailbox; the policy's `privacy_contact` when absent.
    pub privacy_contact: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecipientDef {
    pub name: String,
    /// `processor`, `controller` or `authority`.
    pub role: Spanned<String>,
    pub description: String,
    pub purposes: Vec<Purpose>,
    pub categories: Vec<Category>,
    /// Where the recipient processes the data.
    pub country: Spanned<CountryCode>,
    /// The safeguard for a transfer outside the EEA (GDPR Art. 44-49), such as
    /// "Standard contractual clauses (2021/914)". Required for such a country.
    pub safeguard: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CategoryDef {
    pub description: String,
    pub fields: Vec<Spanned<Field>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PurposeDef {
    pub description: String,
    pub legal_basis: String,
    pub categories: Vec<Category>,
    #[serde(default)]
    pub deny: Vec<Category>,
    #[serde(default)]
    pub requires_consent: bool,
    #[serde(default)]
    pub aggregate_only: bool,
}

/// `keep` is either the word `while_account_open` or a [`Period`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Kept while the account is open; erased when it closes.
    WhileAccountOpen,
    /// Kept for a fixed period from an [`Anchor`].
    For(Period),
}

impl<'de> Deserialize<'de> for Keep {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text == "while_account_open" {
            return Ok(Keep::WhileAccountOpen);
        }
        text.parse().map(Keep::For).map_err(|_| {
            serde::de::Error::custom(format!(
                "`{text}` is neither \"while_account_open\" nor a period such as \"6 months\""
            ))
        })
    }
}

/// The moment a retention period starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Anchor {
    /// When the record was collected.
    Collection,
    /// The end of the calendar year in which the record was made.
    EndOfYear,
    /// The last contact with the person.
    LastContact,
    /// When the account was closed.
    AccountClosed,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RetentionDef {
    pub keep: Spanned<Keep>,
    pub from: Option<Anchor>,
    pub legal_ground: Option<String>,
    /// The retention class whose key seals this category's values.
    pub class: Option<String>,
    #[serde(default)]
    pub countries: BTreeMap<CountryCode, RetentionDef>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditDef {
    /// How long audit entries are kept; absent: for ever.
    pub keep: Option<Period>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BackupsDef {
    pub keep: Period,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RequestsDef {
    pub deadline: Period,
    pub extension: Period,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChildrenDef {
    pub age_of_consent: BTreeMap<String, Spanned<u8>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AccountsDef {
    pub business_sectors: Spanned<Vec<String>>,
}
