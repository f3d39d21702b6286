//! # datavow-policy
//!
//! The policy file, made mechanical. A [`Policy`] is the validated form of a TOML file
//! such as the bundled `policy/asergo.toml`: the controlling legal entities (P17), the
//! data categories and the fields in each, the purposes and the categories each may use
//! (P11), operator roles, retention per category (P7, P8, P9), request deadlines (P13)
//! and the age of digital consent per country (P15).
//!
//! Invariants:
//! - A `Policy` value is always valid: every field belongs to exactly one category, every
//!   purpose, category and role is declared, every category has a retention rule.
//! - A [`PurposeGrant`] can only be made by [`Policy::grant`], so code holding one has
//!   passed the purpose check. A `deny` always wins over an allow.
//!
//! It also holds the card-number guard ([`card_guard`], P4), a pure check that every
//! input path of Datavow shares.
//!
//! This crate does no I/O except reading the file in [`Policy::load`].

pub mod card_guard;
mod error;
mod file;
mod period;
pub mod redact;
mod vocab;

pub use error::{PolicyErrors, PolicyIssue, PolicyLoadError};
pub use file::{Anchor, Keep};
pub use period::{end_of_year, Period, PeriodParseError, PeriodUnit};
pub use vocab::{Category, CountryCode, Field, Purpose, Role};

use chrono::NaiveDate;
use error::Issues;
use file::{PolicyFile, RecipientDef, RetentionDef};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The policy Datavow ships with: ASERGO's privacy policy of 18 May 2018.
pub const BUNDLED_POLICY_TOML: &str = include_str!("../../../policy/asergo.toml");

/// Name under which the bundled policy is reported in errors and summaries.
pub const BUNDLED_POLICY_NAME: &str = "bundled:asergo.toml";

/// The bundled policy's texts, by the file names its `[policy.texts]` gives.
const BUNDLED_TEXTS: &[(&str, &str)] = &[(
    "asergo-privacy-policy.md",
    include_str!("../../../policy/asergo-privacy-policy.md"),
)];

/// The languages a policy text may be written in: those the pages speak.
pub const TEXT_LANGUAGES: [&str; 3] = ["en", "de", "da"];

/// Countries of the European Economic Area: a transfer elsewhere needs a safeguard.
const EEA: [&str; 30] = [
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
];

/// What Datavow's own acts read or write under a fixed purpose (`core::access`): a
/// policy must let each purpose use these categories, or the act would fail at run
/// time. (Purpose, categories, the act.)
pub const PURPOSES_THE_CODE_NEEDS: &[(Purpose, &[Category], &str)] = &[
    (
        Purpose::AccountManagement,
        &[
            Category::Identity,
            Category::Contact,
            Category::PostalAddress,
            Category::BusinessProfile,
            Category::AccountSegment,
            Category::Age,
            Category::Credentials,
            Category::MarketingConsent,
        ],
        "sign-up stores a new account under it",
    ),
    (
        Purpose::Service,
        &[Category::Identity, Category::Contact, Category::Credentials],
        "sign-in, account recovery and policy notices use it",
    ),
    (
        Purpose::Marketing,
        &[
            Category::Identity,
            Category::Contact,
            Category::MarketingConsent,
        ],
        "marketing mail reads them for people who opted in",
    ),
    (
        Purpose::Leads,
        &[Category::Leads],
        "the contact form stores enquiries under it",
    ),
    (
        Purpose::Security,
        &[Category::BrowserData],
        "ingest stores access logs under it",
    ),
    (
        Purpose::Requests,
        Category::ALL,
        "a person's own view, export and erasure (GDPR Art. 15-17) cover all their data",
    ),
];

/// Whether `country` is in the European Economic Area.
pub fn in_eea(country: CountryCode) -> bool {
    EEA.contains(&country.as_str())
}

/// A legal entity that controls personal data (P17).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Entity {
    /// Stable identifier used in records, such as `asergo_europe`.
    pub id: String,
    pub name: String,
    pub address: Vec<String>,
    pub country: CountryCode,
    /// Where people write about their data held by this entity.
    pub privacy_contact: String,
}

/// How a recipient stands to the controller (GDPR Art. 4(9), Art. 28).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientRole {
    /// Processes on the controller's behalf, under a contract (Art. 28).
    Processor,
    /// Decides for itself what it does with the data (a bank, an auditor).
    Controller,
    /// A public authority the law makes the controller answer (tax, police).
    Authority,
}

/// Someone the controller discloses personal data to (Art. 30(1)(d), (e)).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Recipient {
    pub id: String,
    pub name: String,
    pub role: RecipientRole,
    pub description: String,
    pub purposes: BTreeSet<Purpose>,
    pub categories: BTreeSet<Category>,
    pub country: CountryCode,
    /// The safeguard of a transfer outside the EEA; `None` inside it.
    pub safeguard: Option<String>,
}

/// The lawful basis of processing, GDPR Art. 6(1)(a)-(f).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LawfulBasis {
    Consent,
    Contract,
    LegalObligation,
    VitalInterests,
    PublicInterest,
    LegitimateInterests,
}

impl LawfulBasis {
    /// The basis a legal-basis text cites as `6(1)(a)` … `6(1)(f)` (the first one).
    pub fn cited_in(text: &str) -> Option<LawfulBasis> {
        let at = text.find("6(1)(")? + "6(1)(".len();
        match text.as_bytes().get(at)? {
            b'a' => Some(LawfulBasis::Consent),
            b'b' => Some(LawfulBasis::Contract),
            b'c' => Some(LawfulBasis::LegalObligation),
            b'd' => Some(LawfulBasis::VitalInterests),
            b'e' => Some(LawfulBasis::PublicInterest),
            b'f' => Some(LawfulBasis::LegitimateInterests),
            _ => None,
        }
    }
}

/// What a purpose may use, and on what legal basis.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PurposeRule {
    pub description: String,
    pub legal_basis: String,
    /// The Art. 6(1) basis `legal_basis` cites.
    pub lawful_basis: LawfulBasis,
    pub allowed: BTreeSet<Category>,
    pub denied: BTreeSet<Category>,
    /// Reads for this purpose need the person's recorded consent (marketing).
    pub requires_consent: bool,
    /// Only aggregates may leave a read for this purpose (statistics).
    pub aggregate_only: bool,
}

/// How long one category is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionRule {
    pub keep: Keep,
    pub from: Option<Anchor>,
    pub legal_ground: Option<String>,
    /// The retention class: values of categories in one class share one key per owner,
    /// destroyed together (`account` for everything kept while the account is open).
    pub class: String,
    /// Country overrides, e.g. billing records: 8 years in DE, 5 in DK.
    pub countries: BTreeMap<CountryCode, RetentionRule>,
}

impl RetentionRule {
    /// The rule that applies to a record controlled in `country`.
    pub fn for_country(&self, country: Option<CountryCode>) -> &RetentionRule {
        country.and_then(|c| self.countries.get(&c)).unwrap_or(self)
    }
}

/// Proof that the policy allows `purpose` to use `category`. Only [`Policy::grant`]
/// makes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurposeGrant {
    purpose: Purpose,
    category: Category,
}

impl PurposeGrant {
    pub fn purpose(&self) -> Purpose {
        self.purpose
    }
    pub fn category(&self) -> Category {
        self.category
    }
}

/// A read the policy does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the policy does not allow purpose `{purpose}` to use `{category}` data")]
pub struct PurposeRefused {
    pub purpose: Purpose,
    pub category: Category,
}

/// A validated policy. See the crate documentation for its invariants.
#[derive(Debug, Clone)]
pub struct Policy {
    pub name: String,
    /// The short name people know the controller by (page headers, mail).
    pub controller: String,
    pub version: String,
    pub effective_date: NaiveDate,
    pub privacy_contact: String,
    /// Where the policy came from: a path, or [`BUNDLED_POLICY_NAME`].
    pub origin: String,
    /// SHA-256 of the policy file's text, hex: tells one text from another.
    pub digest: String,
    entities: BTreeMap<String, Entity>,
    entity_by_country: BTreeMap<CountryCode, String>,
    default_entity: String,
    categories: BTreeMap<Category, (String, Vec<Field>)>,
    category_of: BTreeMap<Field, Category>,
    purposes: BTreeMap<Purpose, PurposeRule>,
    roles: BTreeMap<Role, BTreeSet<Purpose>>,
    retention: BTreeMap<Category, RetentionRule>,
    /// How long backups are kept before they are destroyed (P9).
    pub backup_retention: Period,
    /// How long audit entries are kept before they are pruned behind a signed
    /// statement (`[audit] keep`); `None`: for ever.
    pub audit_retention: Option<Period>,
    /// Deadline for answering a data-subject request (P13).
    pub request_deadline: Period,
    /// The most a deadline may be extended, with a reason (P13).
    pub request_extension: Period,
    age_of_consent: BTreeMap<CountryCode, u8>,
    default_age_of_consent: u8,
    pub business_sectors: Vec<String>,
    recipients: Vec<Recipient>,
    /// `[operators]`: how operators sign in to the console.
    pub operator_sign_in: OperatorSignIn,
    /// `[statistics]`: the limits of de-identified releases.
    pub statistics: StatisticsRules,
    /// `[policy.texts]`: language → file, as written.
    text_files: BTreeMap<String, String>,
    /// The policy text per language, read by [`Policy::load`] (or bundled).
    texts: BTreeMap<String, String>,
}

impl Policy {
    /// The bundled ASERGO policy. It is validated by the test suite, so this never fails
    /// in a released build.
    pub fn bundled() -> Result<Policy, PolicyErrors> {
        let mut policy = Policy::from_toml(BUNDLED_POLICY_TOML, BUNDLED_POLICY_NAME)?;
        policy.texts = policy
            .text_files
            .iter()
            .filter_map(|(lang, file)| {
                let (_, text) = BUNDLED_TEXTS.iter().find(|(name, _)| name == file)?;
                Some((lang.clone(), (*text).to_owned()))
            })
            .collect();
        Ok(policy)
    }

    /// Reads and validates a policy file, and the texts it names (relative to it).
    pub fn load(path: &Path) -> Result<Policy, PolicyLoadError> {
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|source| PolicyLoadError::Read {
                path: path.display().to_string(),
                source,
            })
        };
        let mut policy = Policy::from_toml(&read(path)?, &path.display().to_string())?;
        let dir = path.parent().unwrap_or(Path::new("."));
        for (lang, file) in &policy.text_files {
            policy.texts.insert(lang.clone(), read(&dir.join(file))?);
        }
        Ok(policy)
    }

    /// The policy text in `lang` (Markdown), as the policy file names it.
    pub fn text(&self, lang: &str) -> Option<&str> {
        self.texts.get(lang).map(String::as_str)
    }

    /// The policy texts by language.
    pub fn texts(&self) -> &BTreeMap<String, String> {
        &self.texts
    }

    /// Who receives personal data, in the file's order of ids.
    pub fn recipients(&self) -> &[Recipient] {
        &self.recipients
    }

    /// Every data category with its description and fields.
    pub fn categories(&self) -> impl Iterator<Item = (Category, &str, &[Field])> {
        self.categories
            .iter()
            .map(|(c, (description, fields))| (*c, description.as_str(), fields.as_slice()))
    }

    /// Every purpose with its rule.
    pub fn purposes(&self) -> impl Iterator<Item = (Purpose, &PurposeRule)> {
        self.purposes.iter().map(|(p, rule)| (*p, rule))
    }

    /// Parses and validates policy text; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Policy, PolicyErrors> {
        let mut issues = Issues::new(text);
        let file: PolicyFile = match toml::from_str(text) {
            Ok(file) => file,
            Err(err) => {
                issues.at(err.span(), "", err.message().to_owned());
                return Err(issues.finish(origin).expect_err("an issue was recorded"));
            }
        };
        let mut policy = validate(file, &mut issues, origin);
        issues.finish(origin)?;
        policy.digest = {
            use sha2::Digest;
            sha2::Sha256::digest(text.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        };
        Ok(policy)
    }

    /// Checks that `purpose` may use `category`. A deny wins over an allow.
    pub fn grant(
        &self,
        purpose: Purpose,
        category: Category,
    ) -> Result<PurposeGrant, PurposeRefused> {
        let refused = PurposeRefused { purpose, category };
        let rule = self.purposes.get(&purpose).ok_or(refused)?;
        if rule.denied.contains(&category) || !rule.allowed.contains(&category) {
            return Err(refused);
        }
        Ok(PurposeGrant { purpose, category })
    }

    /// Checks that `purpose` may use the category of `field`.
    pub fn grant_field(
        &self,
        purpose: Purpose,
        field: Field,
    ) -> Result<PurposeGrant, PurposeRefused> {
        self.grant(purpose, self.category_of(field))
    }

    /// The category a field belongs to.
    pub fn category_of(&self, field: Field) -> Category {
        // Validation guarantees every field has exactly one category.
        self.category_of
            .get(&field)
            .copied()
            .unwrap_or(Category::Identity)
    }

    /// The fields of a category, as declared.
    pub fn fields_of(&self, category: Category) -> &[Field] {
        self.categories
            .get(&category)
            .map(|(_, fields)| fields.as_slice())
            .unwrap_or(&[])
    }

    /// The description of a category.
    pub fn category_description(&self, category: Category) -> &str {
        self.categories
            .get(&category)
            .map(|(d, _)| d.as_str())
            .unwrap_or("")
    }

    /// The rule of a purpose.
    pub fn purpose(&self, purpose: Purpose) -> &PurposeRule {
        &self.purposes[&purpose]
    }

    /// Whether an operator with `role` may read for `purpose`.
    pub fn role_allows(&self, role: Role, purpose: Purpose) -> bool {
        self.roles.get(&role).is_some_and(|p| p.contains(&purpose))
    }

    /// The purposes a role may use.
    pub fn role_purposes(&self, role: Role) -> impl Iterator<Item = Purpose> + '_ {
        self.roles.get(&role).into_iter().flatten().copied()
    }

    /// The retention rule of a category.
    pub fn retention(&self, category: Category) -> &RetentionRule {
        &self.retention[&category]
    }

    /// The categories of a retention class.
    pub fn class_categories(&self, class: &str) -> Vec<Category> {
        self.retention
            .iter()
            .filter(|(_, rule)| rule.class == class)
            .map(|(c, _)| *c)
            .collect()
    }

    /// All entities, by id.
    pub fn entities(&self) -> impl Iterator<Item = &Entity> {
        self.entities.values()
    }

    /// The entity with this id.
    pub fn entity(&self, id: &str) -> Option<&Entity> {
        self.entities.get(id)
    }

    /// The entity that controls accounts from `country`, or the default entity.
    pub fn entity_for_country(&self, country: Option<CountryCode>) -> &Entity {
        let id = country
            .and_then(|c| self.entity_by_country.get(&c))
            .unwrap_or(&self.default_entity);
        &self.entities[id]
    }

    /// The age of digital consent in `country` (GDPR Art. 8).
    pub fn age_of_consent(&self, country: Option<CountryCode>) -> u8 {
        country
            .and_then(|c| self.age_of_consent.get(&c).copied())
            .unwrap_or(self.default_age_of_consent)
    }
}

fn validate(file: PolicyFile, issues: &mut Issues<'_>, origin: &str) -> Policy {
    let effective_date =
        NaiveDate::parse_from_str(file.policy.effective_date.get_ref(), "%Y-%m-%d").unwrap_or_else(
            |_| {
                issues.at(
                    Some(file.policy.effective_date.span()),
                    "policy.effective_date",
                    "must be a date written YYYY-MM-DD",
                );
                NaiveDate::MIN
            },
        );
    let check_mailbox = |issues: &mut Issues<'_>, contact: &toml::Spanned<String>, key: &str| {
        let text = contact.get_ref();
        if !text.contains('@') || text.starts_with('@') || text.ends_with('@') {
            issues.at(Some(contact.span()), key, "must be an email address");
        }
    };
    check_mailbox(
        issues,
        &file.policy.privacy_contact,
        "policy.privacy_contact",
    );
    let mut text_files = BTreeMap::new();
    for (lang, path) in file.policy.texts {
        if !TEXT_LANGUAGES.contains(&lang.as_str()) {
            issues.at(
                Some(path.span()),
                &format!("policy.texts.{lang}"),
                format!(
                    "a policy text is written in one of {}",
                    TEXT_LANGUAGES.join(", ")
                ),
            );
        }
        text_files.insert(lang, path.into_inner());
    }

    let entities: BTreeMap<String, Entity> = file
        .entities
        .into_iter()
        .map(|(id, def)| {
            if let Some(contact) = &def.privacy_contact {
                check_mailbox(issues, contact, &format!("entities.{id}.privacy_contact"));
            }
            let entity = Entity {
                id: id.clone(),
                name: def.name,
                address: def.address,
                country: def.country,
                privacy_contact: def.privacy_contact.map_or_else(
                    || file.policy.privacy_contact.get_ref().clone(),
                    toml::Spanned::into_inner,
                ),
            };
            (id, entity)
        })
        .collect();
    if entities.is_empty() {
        issues.at_section("entities", "at least one legal entity is required");
    }
    let check_entity = |issues: &mut Issues<'_>, id: &toml::Spanned<String>, key: &str| {
        if !entities.contains_key(id.get_ref()) {
            issues.at(
                Some(id.span()),
                key,
                format!(
                    "unknown entity `{}`; declare it under [entities]",
                    id.get_ref()
                ),
            );
        }
    };
    check_entity(issues, &file.policy.default_entity, "policy.default_entity");
    for (country, id) in &file.entity_by_country {
        check_entity(issues, id, &format!("entity_by_country.{country}"));
    }

    let mut category_of = BTreeMap::new();
    let mut categories = BTreeMap::new();
    for (category, def) in file.categories {
        let mut fields = Vec::new();
        for field in def.fields {
            let span = field.span();
            let field = field.into_inner();
            if let Some(other) = category_of.insert(field, category) {
                issues.at(
                    Some(span),
                    &format!("categories.{category}.fields"),
                    format!("field `{field}` is already in category `{other}`; a field belongs to exactly one category"),
                );
            }
            fields.push(field);
        }
        categories.insert(category, (def.description, fields));
    }
    for category in Category::ALL {
        if !categories.contains_key(category) {
            issues.at_section(
                &format!("categories.{category}"),
                format!("category `{category}` is not declared"),
            );
        }
    }
    for field in Field::ALL {
        if !category_of.contains_key(field) {
            issues.at_section(
                "categories",
                format!("field `{field}` is in no category; every stored field needs one"),
            );
        }
    }

    let purposes: BTreeMap<Purpose, PurposeRule> = file
        .purposes
        .into_iter()
        .map(|(purpose, def)| {
            let lawful_basis = LawfulBasis::cited_in(&def.legal_basis).unwrap_or_else(|| {
                issues.at_section(
                    &format!("purposes.{purpose}.legal_basis"),
                    "must cite its lawful basis as GDPR Art. 6(1)(a) to 6(1)(f), such as \"GDPR Art. 6(1)(b): performance of a contract\"",
                );
                LawfulBasis::Consent
            });
            let rule = PurposeRule {
                description: def.description,
                legal_basis: def.legal_basis,
                lawful_basis,
                allowed: def.categories.into_iter().collect(),
                denied: def.deny.into_iter().collect(),
                requires_consent: def.requires_consent,
                aggregate_only: def.aggregate_only,
            };
            (purpose, rule)
        })
        .collect();
    for purpose in Purpose::ALL {
        if !purposes.contains_key(purpose) {
            issues.at_section(
                &format!("purposes.{purpose}"),
                format!("purpose `{purpose}` is not declared"),
            );
        }
    }

    for (purpose, needed, act) in PURPOSES_THE_CODE_NEEDS {
        let Some(rule) = purposes.get(purpose) else {
            continue;
        };
        for category in needed.iter() {
            if !rule.allowed.contains(category) || rule.denied.contains(category) {
                issues.at_section(
                    &format!("purposes.{purpose}.categories"),
                    format!("must include `{category}`: {act}"),
                );
            }
        }
    }

    let roles: BTreeMap<Role, BTreeSet<Purpose>> = file
        .roles
        .into_iter()
        .map(|(role, purposes)| (role, purposes.into_iter().collect()))
        .collect();
    if roles.get(&Role::Collector).is_some_and(|p| !p.is_empty()) {
        issues.at_section(
            "roles.collector",
            "the collector role only posts browser events and reads nothing; give it no purposes",
        );
    }
    for role in Role::ALL.iter().filter(|r| **r != Role::Collector) {
        if !roles.contains_key(role) {
            issues.at_section(
                &format!("roles.{role}"),
                format!("role `{role}` is not declared; give it a list of purposes (may be empty)"),
            );
        }
    }

    let operator_sign_in = operator_sign_in(&file.operators, issues);
    let statistics = statistics_rules(&file.statistics, issues);

    let mut retention = BTreeMap::new();
    for (category, def) in file.retention {
        let key = format!("retention.{category}");
        retention.insert(category, retention_rule(def, issues, &key));
    }
    for category in Category::ALL {
        if !retention.contains_key(category) {
            issues.at_section(
                &format!("retention.{category}"),
                format!("category `{category}` has no retention rule"),
            );
        }
    }
    // Everything kept while the account is open is one class (its key is the account's
    // key, destroyed at erasure); a class's categories share one rule.
    let mut by_class: BTreeMap<&str, (&Category, &RetentionRule)> = BTreeMap::new();
    let mut account_class: Option<&str> = None;
    for (category, rule) in &retention {
        if rule.keep == Keep::WhileAccountOpen {
            match account_class {
                Some(class) if class != rule.class => issues.at_section(
                    &format!("retention.{category}"),
                    format!(
                        "everything kept while the account is open must be one class; `{category}` is in `{}`, others in `{class}`",
                        rule.class
                    ),
                ),
                _ => account_class = Some(&rule.class),
            }
        }
        match by_class.get(rule.class.as_str()) {
            Some((other, first)) if first.keep != rule.keep || first.legal_ground != rule.legal_ground => {
                issues.at_section(
                    &format!("retention.{category}"),
                    format!(
                        "class `{}` holds `{other}` and `{category}` with different rules; a class's categories share one rule",
                        rule.class
                    ),
                )
            }
            _ => {
                by_class.insert(&rule.class, (category, rule));
            }
        }
    }

    let mut age_of_consent = BTreeMap::new();
    let mut default_age = None;
    for (key, age) in file.children.age_of_consent {
        let full_key = format!("children.age_of_consent.{key}");
        if !(13..=16).contains(age.get_ref()) {
            issues.at(
                Some(age.span()),
                &full_key,
                "GDPR Art. 8 allows an age of digital consent from 13 to 16",
            );
        }
        if key == "default" {
            default_age = Some(*age.get_ref());
        } else if let Some(country) = CountryCode::parse(&key) {
            age_of_consent.insert(country, *age.get_ref());
        } else {
            issues.at(
                Some(age.span()),
                &full_key,
                format!("`{key}` is neither `default` nor a country code such as DE"),
            );
        }
    }
    if default_age.is_none() {
        issues.at_section(
            "children.age_of_consent.default",
            "a default age of consent is required",
        );
    }

    let sectors_span = file.accounts.business_sectors.span();
    let business_sectors = file.accounts.business_sectors.into_inner();
    if !business_sectors.iter().any(|s| s == "other") {
        issues.at(
            Some(sectors_span),
            "accounts.business_sectors",
            "the list must contain \"other\"",
        );
    }

    let recipients = file
        .recipients
        .into_iter()
        .map(|(id, def)| recipient(id, def, &purposes, issues))
        .collect();
    let controller = file.policy.controller.unwrap_or_else(|| {
        entities
            .get(file.policy.default_entity.get_ref())
            .map(|e| e.name.clone())
            .unwrap_or_default()
    });
    Policy {
        name: file.policy.name,
        controller,
        recipients,
        text_files,
        texts: BTreeMap::new(),
        version: file.policy.version,
        effective_date,
        privacy_contact: file.policy.privacy_contact.into_inner(),
        origin: origin.to_owned(),
        digest: String::new(),
        entity_by_country: file
            .entity_by_country
            .into_iter()
            .map(|(c, id)| (c, id.into_inner()))
            .collect(),
        default_entity: file.policy.default_entity.into_inner(),
        entities,
        categories,
        category_of,
        purposes,
        roles,
        retention,
        backup_retention: file.backups.keep,
        audit_retention: file.audit.keep,
        request_deadline: file.requests.deadline,
        request_extension: file.requests.extension,
        age_of_consent,
        default_age_of_consent: default_age.unwrap_or(16),
        business_sectors,
        operator_sign_in,
        statistics,
    }
}

/// The limits of de-identified releases (`[statistics]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StatisticsRules {
    /// No released cell counts fewer units than this (at least 2; default 10).
    pub min_k: u64,
    /// Millionths of ε a dataset may spend per period (default 2.0).
    pub epsilon_budget_micros: i64,
}

fn statistics_rules(def: &file::StatisticsDef, issues: &mut Issues<'_>) -> StatisticsRules {
    let min_k = match &def.k {
        Some(k) if *k.get_ref() >= 2 => u64::from(*k.get_ref()),
        Some(k) => {
            issues.at(Some(k.span()), "statistics.k", "must be at least 2");
            10
        }
        None => 10,
    };
    let epsilon_budget_micros = match &def.epsilon_budget {
        Some(e) if e.get_ref().is_finite() && *e.get_ref() > 0.0 && *e.get_ref() <= 100.0 => {
            (e.get_ref() * 1_000_000.0).round() as i64
        }
        Some(e) => {
            issues.at(
                Some(e.span()),
                "statistics.epsilon_budget",
                "must be more than 0 and at most 100",
            );
            2_000_000
        }
        None => 2_000_000,
    };
    StatisticsRules {
        min_k,
        epsilon_budget_micros,
    }
}

/// How operators sign in to the console (`[operators]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorSignIn {
    /// Roles that must give a second factor: always admin and privacy officer.
    pub second_factor: BTreeSet<Role>,
    /// A session ends after this long without a request.
    pub idle: std::time::Duration,
    /// A session ends this long after sign-in, whatever its activity.
    pub lifetime: std::time::Duration,
}

impl OperatorSignIn {
    /// Whether operators of `role` must give a second factor.
    pub fn second_factor_required(&self, role: Role) -> bool {
        self.second_factor.contains(&role)
    }
}

fn operator_sign_in(def: &file::OperatorsDef, issues: &mut Issues<'_>) -> OperatorSignIn {
    let mut bounded = |value: &Option<toml::Spanned<u32>>,
                       key: &str,
                       range: std::ops::RangeInclusive<u32>,
                       default: u32| {
        match value {
            Some(v) if range.contains(v.get_ref()) => *v.get_ref(),
            Some(v) => {
                issues.at(
                    Some(v.span()),
                    key,
                    format!("must be from {} to {}", range.start(), range.end()),
                );
                default
            }
            None => default,
        }
    };
    let idle_minutes = bounded(&def.idle_minutes, "operators.idle_minutes", 1..=720, 30);
    let session_hours = bounded(&def.session_hours, "operators.session_hours", 1..=24, 12);
    let mut second_factor: BTreeSet<Role> = def.second_factor.iter().copied().collect();
    second_factor.extend([Role::Admin, Role::PrivacyOfficer]);
    second_factor.remove(&Role::Collector);
    OperatorSignIn {
        second_factor,
        idle: std::time::Duration::from_secs(u64::from(idle_minutes) * 60),
        lifetime: std::time::Duration::from_secs(u64::from(session_hours) * 3600),
    }
}

/// A recipient, checked: a known role, a safeguard outside the EEA, and only
/// categories that one of its purposes may use.
fn recipient(
    id: String,
    def: RecipientDef,
    purposes: &BTreeMap<Purpose, PurposeRule>,
    issues: &mut Issues<'_>,
) -> Recipient {
    let key = format!("recipients.{id}");
    let role = match def.role.get_ref().as_str() {
        "processor" => RecipientRole::Processor,
        "controller" => RecipientRole::Controller,
        "authority" => RecipientRole::Authority,
        _ => {
            issues.at(
                Some(def.role.span()),
                &format!("{key}.role"),
                "must be \"processor\", \"controller\" or \"authority\"",
            );
            RecipientRole::Processor
        }
    };
    let country = *def.country.get_ref();
    if !in_eea(country) && def.safeguard.as_deref().is_none_or(|s| s.trim().is_empty()) {
        issues.at(
            Some(def.country.span()),
            &format!("{key}.country"),
            format!("{country} is outside the EEA: name the transfer's safeguard (GDPR Art. 44-49) in `safeguard`"),
        );
    }
    if def.purposes.is_empty() {
        issues.at_section(&key, "a recipient receives data for at least one purpose");
    }
    for category in &def.categories {
        let allowed = def.purposes.iter().any(|p| {
            purposes
                .get(p)
                .is_some_and(|r| r.allowed.contains(category) && !r.denied.contains(category))
        });
        if !allowed {
            issues.at_section(
                &format!("{key}.categories"),
                format!("none of this recipient's purposes may use `{category}` data"),
            );
        }
    }
    Recipient {
        id,
        name: def.name,
        role,
        description: def.description,
        purposes: def.purposes.into_iter().collect(),
        categories: def.categories.into_iter().collect(),
        country,
        safeguard: def.safeguard,
    }
}

fn retention_rule(def: RetentionDef, issues: &mut Issues<'_>, key: &str) -> RetentionRule {
    let keep_span = def.keep.span();
    let keep = def.keep.into_inner();
    match (keep, def.from) {
        (Keep::For(_), None) => issues.at(
            Some(keep_span.clone()),
            &format!("{key}.from"),
            "a fixed period needs `from` (collection, end_of_year, last_contact or account_closed)",
        ),
        (Keep::WhileAccountOpen, Some(_)) => issues.at(
            Some(keep_span.clone()),
            &format!("{key}.from"),
            "`from` has no meaning with keep = \"while_account_open\"",
        ),
        _ => {}
    }
    let class = def.class.unwrap_or_else(|| {
        key.trim_start_matches("retention.")
            .split('.')
            .next()
            .unwrap_or_default()
            .to_owned()
    });
    if !class
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        || class.is_empty()
    {
        issues.at(
            Some(keep_span),
            &format!("{key}.class"),
            "a class name is lower-case letters, digits and `_`",
        );
    }
    // A country's rule changes the period, never the class.
    let countries = def
        .countries
        .into_iter()
        .map(|(country, def)| {
            let mut rule = retention_rule(def, issues, &format!("{key}.countries.{country}"));
            rule.class.clone_from(&class);
            (country, rule)
        })
        .collect();
    RetentionRule {
        keep,
        from: def.from,
        legal_ground: def.legal_ground,
        class,
        countries,
    }
}

#[cfg(test)]
mod tests;
