//! The record of processing activities (GDPR Art. 30, P17), generated from the policy
//! file and from what this code does, so it cannot drift from either.
//!
//! Invariants:
//! - One record per controlling entity; one activity per purpose, with the categories
//!   that purpose may use (a `deny` removes them), its lawful basis, the people those
//!   categories are about, the recipients of that purpose, transfers outside the EEA
//!   and each category's retention as it applies in the entity's country.
//! - The people each category is about, the fideslang names of categories, purposes
//!   and people, and the security measures are stated here by exhaustive matches on the
//!   code's vocabulary: a purpose or category added to the code does not compile until
//!   it is described here.

use chrono::{DateTime, Utc};
use datavow_policy::{
    in_eea, Anchor, Category, Entity, Keep, LawfulBasis, Policy, Purpose, RecipientRole,
};
use serde::Serialize;

/// People whose data is processed (Art. 30(1)(c)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    /// Account holders.
    Customers,
    /// People who visit the website (access logs).
    Visitors,
    /// People who sent an enquiry without an account.
    Prospects,
}

impl Subject {
    pub fn description(self) -> &'static str {
        match self {
            Subject::Customers => "Customers (account holders)",
            Subject::Visitors => "Visitors of the website",
            Subject::Prospects => "People who sent an enquiry without an account",
        }
    }

    fn fides(self) -> &'static str {
        match self {
            Subject::Customers => "customer",
            Subject::Visitors => "visitor",
            Subject::Prospects => "prospect",
        }
    }
}

/// Whose data a category holds.
pub fn subjects_of(category: Category) -> &'static [Subject] {
    match category {
        Category::Leads => &[Subject::Prospects],
        Category::BrowserData => &[Subject::Visitors, Subject::Customers],
        Category::Identity
        | Category::Contact
        | Category::PostalAddress
        | Category::BusinessProfile
        | Category::AccountSegment
        | Category::Age
        | Category::Credentials
        | Category::PaymentReference
        | Category::BillingRecords
        | Category::MarketingConsent => &[Subject::Customers],
    }
}

/// The fideslang data categories of a category.
fn fides_categories(category: Category) -> &'static [&'static str] {
    match category {
        Category::Identity => &["user.name", "user.contact.organization"],
        Category::Contact => &["user.contact.email", "user.contact.phone_number"],
        Category::PostalAddress => &["user.contact.address"],
        Category::BusinessProfile => &["user.content.private"],
        Category::AccountSegment => &["user.workplace", "user.contact.address.country"],
        Category::Age => &["user.demographic.date_of_birth"],
        Category::Credentials => &["user.account.username", "user.authorization.password"],
        Category::PaymentReference => &["user.payment"],
        Category::BillingRecords => &["user.behavior.purchase_history"],
        Category::MarketingConsent => &["user.privacy_preferences"],
        Category::BrowserData => &[
            "user.device.ip_address",
            "user.device",
            "user.behavior.browsing_history",
            "user.demographic.language",
            "user.location.imprecise",
        ],
        Category::Leads => &[
            "user.name",
            "user.contact.email",
            "user.contact.phone_number",
            "user.contact.organization",
            "user.content.private",
        ],
    }
}

/// The fideslang data use of a purpose.
fn fides_use(purpose: Purpose) -> &'static str {
    match purpose {
        Purpose::Service => "essential.service",
        Purpose::Requests => "essential.legal_obligation",
        Purpose::Billing => "essential.service.payment_processing",
        Purpose::AccountManagement => "essential.service.operations",
        Purpose::Marketing => "marketing.communications.email",
        Purpose::Statistics => "analytics.reporting",
        Purpose::Security => "essential.service.security",
        Purpose::LegalObligation => "essential.legal_obligation",
        Purpose::Leads => "sales",
    }
}

fn fides_basis(basis: LawfulBasis) -> &'static str {
    match basis {
        LawfulBasis::Consent => "Consent",
        LawfulBasis::Contract => "Contract",
        LawfulBasis::LegalObligation => "Legal obligations",
        LawfulBasis::VitalInterests => "Vital interests",
        LawfulBasis::PublicInterest => "Public interest",
        LawfulBasis::LegitimateInterests => "Legitimate interests",
    }
}

/// The technical and organisational measures this code enforces (Art. 30(1)(g),
/// Art. 32), each with where it is enforced.
pub const SECURITY_MEASURES: &[(&str, &str)] = &[
    ("Encryption at rest: every personal value is sealed with XChaCha20-Poly1305 under a key of its owner and retention class; keys are wrapped under a master key kept outside the database", "vault"),
    ("Erasure by key destruction: erasing a person or ending a retention period destroys the key, so every copy, backups included, becomes unreadable", "vault, core::erasure"),
    ("Purpose limitation: every read names a purpose the policy file allows for the data's category, for the reader's role; the grant is made in one place", "core::access"),
    ("Pseudonymised lookups: searches use keyed hashes (HMAC-SHA-256), never plaintext indexes", "vault"),
    ("Passwords are generated and kept only as Argon2id hashes; sign-in attempts are throttled per account and address", "core::accounts"),
    ("A tamper-evident audit log (hash chain with ed25519-signed checkpoints) of every access, holding no personal data in clear", "core::audit"),
    ("No payment card numbers are stored: every input path refuses them", "policy::card_guard"),
    ("Browser data is kept per day under a day key, destroyed with the day when its period ends", "core::browser"),
    ("Sessions in HttpOnly, SameSite cookies (Secure unless on loopback), CSRF tokens on forms, security headers on every page, rate limits on public writes", "server"),
];

/// A category with its description and fields.
#[derive(Debug, Clone, Serialize)]
pub struct CategoryRecord {
    pub category: Category,
    pub description: String,
    pub fields: Vec<String>,
}

/// A recipient of an activity's data.
#[derive(Debug, Clone, Serialize)]
pub struct RecipientRecord {
    pub id: String,
    pub name: String,
    pub role: RecipientRole,
    pub description: String,
    pub country: String,
    /// The categories it receives for this activity.
    pub categories: Vec<Category>,
}

/// A transfer outside the EEA (Art. 30(1)(e)).
#[derive(Debug, Clone, Serialize)]
pub struct TransferRecord {
    pub recipient: String,
    pub country: String,
    pub safeguard: String,
}

/// How long one category is kept, in the entity's country.
#[derive(Debug, Clone, Serialize)]
pub struct RetentionRecord {
    pub category: Category,
    /// Such as "while the account is open" or "8 years from the end of the year".
    pub period: String,
    /// Why: the legal ground, or the purpose's need.
    pub ground: String,
}

/// One processing activity: a purpose.
#[derive(Debug, Clone, Serialize)]
pub struct Activity {
    pub purpose: Purpose,
    pub description: String,
    pub legal_basis: String,
    pub lawful_basis: LawfulBasis,
    pub requires_consent: bool,
    pub aggregate_only: bool,
    pub subjects: Vec<Subject>,
    pub categories: Vec<CategoryRecord>,
    pub recipients: Vec<RecipientRecord>,
    pub transfers: Vec<TransferRecord>,
    pub retention: Vec<RetentionRecord>,
}

/// The record of one controlling entity.
#[derive(Debug, Clone, Serialize)]
pub struct EntityRecord {
    pub id: String,
    pub name: String,
    pub address: Vec<String>,
    pub country: String,
    pub privacy_contact: String,
    /// The other entities under the same policy (joint controllers, Art. 26).
    pub other_entities: Vec<String>,
    pub activities: Vec<Activity>,
    pub backups_kept: String,
    pub request_deadline: String,
    pub security_measures: Vec<String>,
}

/// The whole record.
#[derive(Debug, Clone, Serialize)]
pub struct Ropa {
    pub generated_at: DateTime<Utc>,
    pub policy_name: String,
    pub policy_version: String,
    pub policy_digest: String,
    pub controller: String,
    pub entities: Vec<EntityRecord>,
}

fn period_text(rule: &datavow_policy::RetentionRule) -> String {
    let from = |anchor: Option<Anchor>| match anchor {
        Some(Anchor::Collection) => " from collection",
        Some(Anchor::EndOfYear) => " from the end of the year it was made",
        Some(Anchor::LastContact) => " from the last contact",
        Some(Anchor::AccountClosed) => " from the account's closing",
        None => "",
    };
    match rule.keep {
        Keep::WhileAccountOpen => "while the account is open".to_owned(),
        Keep::For(period) => format!("{period}{}", from(rule.from)),
    }
}

/// The record of processing activities of `policy`, at `now`.
pub fn generate(policy: &Policy, now: DateTime<Utc>) -> Ropa {
    let entities = policy
        .entities()
        .map(|entity| entity_record(policy, entity))
        .collect();
    Ropa {
        generated_at: now,
        policy_name: policy.name.clone(),
        policy_version: policy.version.clone(),
        policy_digest: policy.digest.clone(),
        controller: policy.controller.clone(),
        entities,
    }
}

fn entity_record(policy: &Policy, entity: &Entity) -> EntityRecord {
    let activities = policy
        .purposes()
        .map(|(purpose, rule)| {
            let used: Vec<Category> = Category::ALL
                .iter()
                .copied()
                .filter(|c| policy.grant(purpose, *c).is_ok())
                .collect();
            let mut subjects: Vec<Subject> = used
                .iter()
                .flat_map(|c| subjects_of(*c).iter().copied())
                .collect();
            subjects.sort();
            subjects.dedup();
            let recipients: Vec<RecipientRecord> = policy
                .recipients()
                .iter()
                .filter(|r| r.purposes.contains(&purpose))
                .map(|r| RecipientRecord {
                    id: r.id.clone(),
                    name: r.name.clone(),
                    role: r.role,
                    description: r.description.clone(),
                    country: r.country.to_string(),
                    categories: r
                        .categories
                        .iter()
                        .copied()
                        .filter(|c| used.contains(c))
                        .collect(),
                })
                .collect();
            let transfers = policy
                .recipients()
                .iter()
                .filter(|r| r.purposes.contains(&purpose) && !in_eea(r.country))
                .map(|r| TransferRecord {
                    recipient: r.name.clone(),
                    country: r.country.to_string(),
                    safeguard: r.safeguard.clone().unwrap_or_default(),
                })
                .collect();
            let retention = used
                .iter()
                .map(|c| {
                    let rule = policy.retention(*c).for_country(Some(entity.country));
                    RetentionRecord {
                        category: *c,
                        period: period_text(rule),
                        ground: rule.legal_ground.clone().unwrap_or_else(|| {
                            match rule.keep {
                                Keep::WhileAccountOpen => "needed to provide the account; erased when the person erases it".to_owned(),
                                Keep::For(_) => "the purpose's need, as the policy states it".to_owned(),
                            }
                        }),
                    }
                })
                .collect();
            Activity {
                purpose,
                description: rule.description.clone(),
                legal_basis: rule.legal_basis.clone(),
                lawful_basis: rule.lawful_basis,
                requires_consent: rule.requires_consent,
                aggregate_only: rule.aggregate_only,
                subjects,
                categories: used
                    .iter()
                    .map(|c| CategoryRecord {
                        category: *c,
                        description: policy.category_description(*c).to_owned(),
                        fields: policy
                            .fields_of(*c)
                            .iter()
                            .map(|f| f.as_str().to_owned())
                            .collect(),
                    })
                    .collect(),
                recipients,
                transfers,
                retention,
            }
        })
        .collect();
    EntityRecord {
        id: entity.id.clone(),
        name: entity.name.clone(),
        address: entity.address.clone(),
        country: entity.country.to_string(),
        privacy_contact: entity.privacy_contact.clone(),
        other_entities: policy
            .entities()
            .filter(|e| e.id != entity.id)
            .map(|e| e.name.clone())
            .collect(),
        activities,
        backups_kept: policy.backup_retention.to_string(),
        request_deadline: format!(
            "{}, extendable by {}",
            policy.request_deadline, policy.request_extension
        ),
        security_measures: SECURITY_MEASURES
            .iter()
            .map(|(measure, _)| (*measure).to_owned())
            .collect(),
    }
}

impl Ropa {
    /// A fideslang taxonomy: one organization and one system per entity, one privacy
    /// declaration per activity (what `fideslang`'s `Taxonomy` model validates).
    pub fn to_fides(&self) -> serde_json::Value {
        use serde_json::json;
        let key = |id: &str| format!("datavow_{id}");
        let organizations: Vec<_> = self
            .entities
            .iter()
            .map(|e| {
                json!({
                    "fides_key": key(&e.id),
                    "name": e.name,
                    "description": format!("{}, a controller under {}", e.name, self.policy_name),
                })
            })
            .collect();
        let systems: Vec<_> = self
            .entities
            .iter()
            .map(|e| {
                let transfers: Vec<String> = e
                    .activities
                    .iter()
                    .flat_map(|a| a.transfers.iter().map(|t| format!("{} ({}): {}", t.recipient, t.country, t.safeguard)))
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect();
                let declarations: Vec<_> = e
                    .activities
                    .iter()
                    .filter(|a| !a.categories.is_empty())
                    .map(|a| {
                        let mut categories: Vec<&str> = a
                            .categories
                            .iter()
                            .flat_map(|c| fides_categories(c.category).iter().copied())
                            .collect();
                        categories.sort_unstable();
                        categories.dedup();
                        let shared: Vec<&str> = a
                            .recipients
                            .iter()
                            .flat_map(|r| r.categories.iter())
                            .flat_map(|c| fides_categories(*c).iter().copied())
                            .collect::<std::collections::BTreeSet<_>>()
                            .into_iter()
                            .collect();
                        json!({
                            "name": a.description,
                            "data_use": fides_use(a.purpose),
                            "data_categories": categories,
                            "data_subjects": a.subjects.iter().map(|s| s.fides()).collect::<Vec<_>>(),
                            "legal_basis_for_processing": fides_basis(a.lawful_basis),
                            "flexible_legal_basis_for_processing": false,
                            "retention_period": a.retention.iter().map(|r| format!("{}: {}", r.category, r.period)).collect::<Vec<_>>().join("; "),
                            "data_shared_with_third_parties": !a.recipients.is_empty(),
                            "third_parties": (!a.recipients.is_empty()).then(|| a.recipients.iter().map(|r| r.name.clone()).collect::<Vec<_>>().join(", ")),
                            "shared_categories": shared,
                        })
                    })
                    .collect();
                json!({
                    "fides_key": key(&e.id),
                    "organization_fides_key": key(&e.id),
                    "name": format!("Datavow ({})", e.name),
                    "description": format!("Customer data of {} under {} version {}", e.name, self.policy_name, self.policy_version),
                    "system_type": "Service",
                    "legal_name": e.name,
                    "legal_address": e.address.join(", "),
                    "dpo": e.privacy_contact,
                    "responsibility": ["Controller"],
                    "processes_personal_data": true,
                    "does_international_transfers": !transfers.is_empty(),
                    "legal_basis_for_transfers": transfers,
                    "data_security_practices": e.security_measures.join(" "),
                    "privacy_declarations": declarations,
                })
            })
            .collect();
        json!({ "organization": organizations, "system": systems })
    }
}
