//! Accounts (P1–P4, P13): sign-up with server-generated credentials, sign-in and
//! sessions, the person's own view and corrections, export, the erasure request, the
//! marketing switch, password change, and the contact form for visitors.
//!
//! Invariants:
//! - The generated password is returned once from [`sign_up`] and never stored or
//!   logged; only its Argon2id hash is kept, sealed by the vault like every field.
//! - An input holding a card number is refused whole, before anything is stored (P4).
//! - Sign-in answers the same for an unknown userID and a wrong password, spends the
//!   same Argon2 work on both, and hashes on a bounded pool so a sign-in storm cannot
//!   starve other requests.

/// The card-number guard, shared with every other input path (P4).
pub use datavow_policy::card_guard;
pub mod credentials;
pub mod throttle;
pub mod validate;

use crate::access::VisitorAct;
use crate::audit::AccessEntry;
use crate::operators::argon2;
use crate::Datavow;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Utc};
use datavow_policy::{Category, CountryCode, Field, Purpose};
use datavow_store::{Acknowledgement, PersonId, PersonKind, StoreError, SubjectRequestRow};
use datavow_vault::{
    consent, Action, Actor, AuditEvent, Grant, IndexKind, Outcome, Personal, VaultError,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use validate::{FieldProblem, PostalAddress, Problems};

/// How long a session lasts.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// What `POST /api/v1/accounts` takes (SPEC §3). Unknown fields are refused.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignUpInput {
    pub name: Option<String>,
    pub company: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub postal_address: Option<PostalAddress>,
    pub business_sector: Option<String>,
    pub interest: Option<String>,
    pub birth_date: Option<String>,
    pub marketing_opt_in: Option<bool>,
    pub entity: Option<String>,
}

datavow_policy::redacted_debug!(SignUpInput {
    name,
    company,
    email,
    phone,
    postal_address,
    business_sector,
    interest,
    birth_date,
    marketing_opt_in,
    entity
});

/// Corrections a person makes to their own data (`PATCH /api/v1/me`).
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileUpdate {
    pub name: Option<String>,
    pub company: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub postal_address: Option<PostalAddress>,
    pub business_sector: Option<String>,
    pub interest: Option<String>,
}

datavow_policy::redacted_debug!(ProfileUpdate {
    name,
    company,
    email,
    phone,
    postal_address,
    business_sector,
    interest
});

/// What the contact form takes.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    pub name: Option<String>,
    pub company: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub message: Option<String>,
}

datavow_policy::redacted_debug!(ContactInput {
    name,
    company,
    email,
    phone,
    message
});

/// Why an account operation failed. Messages never carry submitted values.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("a card number was found in the input; we never store card data")]
    CardNumber,
    #[error("some fields are invalid")]
    Invalid(Vec<FieldProblem>),
    #[error("you must be at least {0} to create an account without parental consent")]
    UnderAgeOfConsent(u8),
    #[error("another account already uses this email address")]
    EmailTaken,
    #[error("the userID or password is wrong")]
    BadCredentials,
    #[error("too many failed attempts; try again in {} minutes", .0.as_secs().div_ceil(60))]
    TooManyAttempts(Duration),
    #[error("the service is busy; try again in a moment")]
    Busy,
    #[error("not signed in")]
    NotSignedIn,
    #[error(transparent)]
    Denied(#[from] crate::access::Denied),
    #[error(transparent)]
    Vault(VaultError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<VaultError> for AccountError {
    fn from(err: VaultError) -> Self {
        match err {
            VaultError::Taken("email") => AccountError::EmailTaken,
            other => AccountError::Vault(other),
        }
    }
}

/// Runtime state of accounts: the sign-in throttle and the password hashing pool.
#[derive(Debug)]
pub struct AccountsRuntime {
    pub throttle: throttle::Throttle,
    hashing: Semaphore,
}

impl Default for AccountsRuntime {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        AccountsRuntime {
            throttle: throttle::Throttle::default(),
            hashing: Semaphore::new(cores.max(1)),
        }
    }
}

impl AccountsRuntime {
    /// Runs Argon2 work on the blocking pool, at most one job per core at a time. A
    /// caller that waits more than 10 s gets [`AccountError::Busy`].
    async fn hash_work<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AccountError> {
        let _permit = tokio::time::timeout(Duration::from_secs(10), self.hashing.acquire())
            .await
            .map_err(|_| AccountError::Busy)?
            .map_err(|_| AccountError::Busy)?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| AccountError::Internal(e.to_string()))
    }
}

/// What sign-up returns: shown once, never again.
#[derive(Debug)]
pub struct NewAccount {
    pub person: PersonId,
    pub user_id: String,
    pub password: SecretString,
    pub entity: String,
}

/// A signed-in session; the token goes to a cookie or an API client.
#[derive(Debug)]
pub struct Session {
    pub token: SecretString,
    pub person: SignedIn,
    pub expires_at: DateTime<Utc>,
}

/// A person proven signed in by a valid session. Only [`session_person`] and
/// [`sign_in`] make one, and every function on a person's own data takes it: a person
/// acts on themself and nobody else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    person: PersonId,
}

impl SignedIn {
    /// The grant for this person acting on themself.
    fn grant(&self, app: &Datavow) -> Result<Grant, AccountError> {
        Ok(app.door.own(self.person)?)
    }
}

fn sha256(text: &str) -> Vec<u8> {
    Sha256::digest(text.as_bytes()).to_vec()
}

fn invalid(problems: Problems) -> Result<(), AccountError> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(AccountError::Invalid(problems.0))
    }
}

/// Whether any of the texts or the parts of the address hold a card number (P4).
fn holds_card_number(texts: &[&Option<String>], address: Option<&PostalAddress>) -> bool {
    let address_parts = address
        .into_iter()
        .flat_map(|a| [&a.street, &a.postal_code, &a.city, &a.country]);
    let all = texts
        .iter()
        .filter_map(|t| t.as_deref())
        .chain(address_parts.map(String::as_str));
    validate::any_card_number(all)
}

/// Validated profile fields (shared by sign-up and corrections).
struct ProfileValues {
    values: Vec<(Field, Personal)>,
    country: Option<CountryCode>,
}

#[allow(clippy::too_many_arguments)]
fn validate_profile(
    app: &Datavow,
    problems: &mut Problems,
    name: Option<&str>,
    name_required: bool,
    company: Option<&str>,
    email: Option<&str>,
    email_required: bool,
    phone: Option<&str>,
    address: Option<&PostalAddress>,
    sector: Option<&str>,
    interest: Option<&str>,
) -> ProfileValues {
    let mut values = Vec::new();
    if let Some(v) = validate::text(problems, "name", name, validate::MAX_NAME, name_required) {
        values.push((Field::Name, Personal::new(v)));
    }
    if let Some(v) = validate::text(problems, "company", company, validate::MAX_COMPANY, false) {
        values.push((Field::Company, Personal::new(v)));
    }
    if let Some(v) = validate::email(problems, "email", email, email_required) {
        values.push((Field::Email, Personal::new(v)));
    }
    let address = validate::postal_address(problems, address);
    let country = address.as_ref().map(|(_, c)| *c);
    if let Some(v) = validate::phone(problems, "phone", phone, country) {
        values.push((Field::Phone, Personal::new(v)));
    }
    if let Some((a, _)) = address {
        let json = serde_json::to_string(&a).unwrap_or_default();
        values.push((Field::PostalAddress, Personal::new(json)));
    }
    if let Some(v) = validate::business_sector(problems, &app.policy, sector) {
        values.push((Field::BusinessSector, Personal::new(v)));
    }
    if let Some(v) = validate::text(
        problems,
        "interest",
        interest,
        validate::MAX_INTEREST,
        false,
    ) {
        values.push((Field::Interest, Personal::new(v)));
    }
    ProfileValues { values, country }
}

/// Creates an account (P1, P2): validates every field, refuses card numbers and
/// children under the age of consent, generates the userID and password, and records
/// the acknowledgement of the policy in force.
pub async fn sign_up(app: &Datavow, input: &SignUpInput) -> Result<NewAccount, AccountError> {
    if holds_card_number(
        &[
            &input.name,
            &input.company,
            &input.email,
            &input.phone,
            &input.business_sector,
            &input.interest,
            &input.entity,
        ],
        input.postal_address.as_ref(),
    ) {
        return Err(AccountError::CardNumber);
    }
    let mut problems = Problems::default();
    let profile = validate_profile(
        app,
        &mut problems,
        input.name.as_deref(),
        true,
        input.company.as_deref(),
        input.email.as_deref(),
        true,
        input.phone.as_deref(),
        input.postal_address.as_ref(),
        input.business_sector.as_deref(),
        input.interest.as_deref(),
    );
    let birth = validate::birth_date(&mut problems, input.birth_date.as_deref());
    let entity = match &input.entity {
        Some(id) if app.policy.entity(id).is_none() => {
            problems.add(
                "entity",
                "unknown_entity",
                "entity is not one of the policy's controlling entities",
            );
            None
        }
        Some(id) => Some(id.clone()),
        None => Some(app.policy.entity_for_country(profile.country).id.clone()),
    };
    invalid(problems)?;
    if let Some(birth) = birth {
        let age_of_consent = app.policy.age_of_consent(profile.country);
        if validate::age_on(birth, Utc::now().date_naive()) < i32::from(age_of_consent) {
            // P15: nothing is stored.
            return Err(AccountError::UnderAgeOfConsent(age_of_consent));
        }
    }
    let entity = entity.unwrap_or_default();
    let now = Utc::now();
    let password = SecretString::from(credentials::generate_password());
    let to_hash = password.clone();
    let phc = app
        .accounts
        .hash_work(move || {
            let salt = SaltString::generate(&mut rand::rngs::OsRng);
            argon2()
                .hash_password(to_hash.expose_secret().as_bytes(), &salt)
                .map(|h| h.to_string())
        })
        .await?
        .map_err(|e| AccountError::Internal(e.to_string()))?;
    let mut values = profile.values;
    if let Some(birth) = birth {
        values.push((Field::BirthDate, Personal::new(birth.to_string())));
    }
    values.push((Field::PasswordHash, Personal::new(phc)));
    values.push((
        Field::MarketingConsent,
        consent::value(input.marketing_opt_in.unwrap_or(false), now),
    ));
    let grant = app.door.visitor(VisitorAct::SignUp)?;
    // A userID collision is astronomically rare but possible: retry with a new one.
    let mut attempts = 0;
    let (person, user_id) = loop {
        attempts += 1;
        let user_id = credentials::generate_user_id();
        let mut with_id = values.clone();
        with_id.push((Field::UserId, Personal::new(user_id.clone())));
        match app
            .vault
            .create(&grant, PersonKind::Account, &entity, &with_id)
            .await
        {
            Ok(person) => break (person, user_id),
            Err(VaultError::Taken("user_id")) if attempts < 5 => continue,
            Err(err) => return Err(err.into()),
        }
    };
    app.stores
        .accounts
        .insert_acknowledgement(
            person,
            &Acknowledgement {
                policy_version: app.policy.version.clone(),
                acknowledged_at: now,
                how: "accepted_at_sign_up".into(),
            },
        )
        .await?;
    metrics::counter!("datavow_accounts_created_total").increment(1);
    Ok(NewAccount {
        person,
        user_id,
        password,
        entity,
    })
}

/// A dummy Argon2 hash, verified for unknown userIDs so both answers cost the same.
fn dummy_phc() -> &'static str {
    static PHC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PHC.get_or_init(|| {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        argon2()
            .hash_password(b"datavow-dummy-password", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// Signs in with userID and password (P2, P3). `client` is the caller's address, for
/// the throttle.
pub async fn sign_in(
    app: &Datavow,
    user_id: &str,
    password: &SecretString,
    client: &str,
) -> Result<Session, AccountError> {
    let account_key = format!(
        "account:{}",
        hex::encode(sha256(&IndexKind::UserId.normalise(user_id)))
    );
    let client_key = format!("client:{client}");
    for (key, limit) in [
        (&account_key, throttle::PER_ACCOUNT),
        (&client_key, throttle::PER_CLIENT),
    ] {
        if let Some(wait) = app.accounts.throttle.wait(key, limit) {
            return Err(AccountError::TooManyAttempts(wait));
        }
    }
    let grant = app.door.visitor(VisitorAct::SignIn)?;
    let person = app.vault.find(&grant, IndexKind::UserId, user_id).await?;
    let phc = match person {
        Some(person) => match app.vault.password_verifier(&grant, person).await {
            Ok(phc) => phc.map(|p| p.expose().to_owned()),
            Err(VaultError::Shredded) => None,
            Err(err) => return Err(err.into()),
        },
        None => None,
    };
    let known = phc.is_some();
    let phc = phc.unwrap_or_else(|| dummy_phc().to_owned());
    let candidate = password.clone();
    let verified = app
        .accounts
        .hash_work(move || {
            PasswordHash::new(&phc)
                .map(|parsed| {
                    argon2()
                        .verify_password(candidate.expose_secret().as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false)
        })
        .await?;
    let (Some(person), true, true) = (person, known, verified) else {
        app.accounts.throttle.fail(&account_key);
        app.accounts.throttle.fail(&client_key);
        metrics::counter!("datavow_sign_ins_total", "outcome" => "refused").increment(1);
        return Err(AccountError::BadCredentials);
    };
    app.accounts.throttle.clear(&account_key);
    let tag = app.vault.subject_tag(&grant, person).await?;
    app.audit
        .append(&[AuditEvent {
            subject: Some(tag.clone()),
            ..AuditEvent::new(&Actor::Person(tag), Action::SignIn, Outcome::Allowed)
        }])
        .await?;
    metrics::counter!("datavow_sign_ins_total", "outcome" => "allowed").increment(1);
    new_session(app, person).await
}

async fn new_session(app: &Datavow, person: PersonId) -> Result<Session, AccountError> {
    let token = SecretString::from(format!("dvs_{}", crate::operators::random_text(43)));
    let now = Utc::now();
    let expires_at = now + chrono::Duration::from_std(SESSION_LIFETIME).unwrap_or_default();
    app.stores
        .accounts
        .insert_session(
            &sha256(token.expose_secret()),
            person,
            now.timestamp_micros(),
            expires_at.timestamp_micros(),
        )
        .await?;
    Ok(Session {
        token,
        person: SignedIn { person },
        expires_at,
    })
}

/// The person a session token belongs to, if it is valid.
pub async fn session_person(app: &Datavow, token: &str) -> Result<Option<SignedIn>, AccountError> {
    Ok(app
        .stores
        .accounts
        .session_person(&sha256(token), Utc::now().timestamp_micros())
        .await?
        .map(|person| SignedIn { person }))
}

/// Ends a session.
pub async fn sign_out(app: &Datavow, token: &str) -> Result<(), AccountError> {
    Ok(app.stores.accounts.delete_session(&sha256(token)).await?)
}

/// Everything the person's account holds, as the dashboard and `GET /me` show it.
/// Prints redacted with `{:?}`.
#[derive(Clone, Serialize)]
pub struct Profile {
    pub user_id: String,
    pub name: Option<String>,
    pub company: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub postal_address: Option<PostalAddress>,
    pub business_sector: Option<String>,
    pub interest: Option<String>,
    pub birth_date: Option<String>,
    pub marketing_opt_in: bool,
    pub marketing_changed_at: Option<String>,
    pub entity: EntityInfo,
    pub policy_version_acknowledged: Option<String>,
    pub policy_version_current: String,
}

datavow_policy::redacted_debug!(Profile {
    user_id,
    name,
    company,
    email,
    phone,
    postal_address,
    business_sector,
    interest,
    birth_date,
    marketing_opt_in,
    marketing_changed_at,
    entity,
    policy_version_acknowledged,
    policy_version_current
});

/// The controlling entity as shown to the person (P17).
#[derive(Debug, Clone, Serialize)]
pub struct EntityInfo {
    pub id: String,
    pub name: String,
    pub address: Vec<String>,
}

/// Fields a person sees of themselves: everything but the password hash.
const OWN_FIELDS: &[Field] = &[
    Field::UserId,
    Field::Name,
    Field::Company,
    Field::Email,
    Field::Phone,
    Field::PostalAddress,
    Field::BusinessSector,
    Field::Interest,
    Field::BirthDate,
    Field::MarketingConsent,
];

/// The person's own data, read for the `requests` purpose (their right of access).
pub async fn profile(app: &Datavow, me: &SignedIn) -> Result<Profile, AccountError> {
    profile_with(app, &me.grant(app)?, me.person).await
}

/// [`profile`] under a grant the caller already holds (one key fetch per request).
async fn profile_with(
    app: &Datavow,
    grant: &Grant,
    person: PersonId,
) -> Result<Profile, AccountError> {
    // The fields and the account's summary, read at the same time.
    let (own, summary) = tokio::join!(
        app.vault.read(grant, person, OWN_FIELDS),
        app.stores.accounts.account_summary(person)
    );
    let record = own?;
    let summary = summary?.ok_or(AccountError::NotSignedIn)?;
    let get = |f: Field| record.get(f).map(|v| v.expose().to_owned());
    let consent = get(Field::MarketingConsent).unwrap_or_default();
    let (opted_in, changed) = consent::parse(&consent);
    let entity = app.policy.entity(&summary.entity);
    Ok(Profile {
        user_id: get(Field::UserId).unwrap_or_default(),
        name: get(Field::Name),
        company: get(Field::Company),
        email: get(Field::Email),
        phone: get(Field::Phone),
        postal_address: get(Field::PostalAddress).and_then(|j| serde_json::from_str(&j).ok()),
        business_sector: get(Field::BusinessSector),
        interest: get(Field::Interest),
        birth_date: get(Field::BirthDate),
        marketing_opt_in: opted_in,
        marketing_changed_at: changed.map(str::to_owned),
        entity: EntityInfo {
            id: summary.entity.clone(),
            name: entity.map(|e| e.name.clone()).unwrap_or_default(),
            address: entity.map(|e| e.address.clone()).unwrap_or_default(),
        },
        policy_version_acknowledged: summary.policy_version,
        policy_version_current: app.policy.version.clone(),
    })
}

/// Applies a person's corrections (P13). Every field is validated as at sign-up; a
/// card number refuses the whole update; old values stay only as ciphertext.
pub async fn update_profile(
    app: &Datavow,
    me: &SignedIn,
    update: &ProfileUpdate,
) -> Result<(), AccountError> {
    let (grant, person) = (me.grant(app)?, me.person);
    if holds_card_number(
        &[
            &update.name,
            &update.company,
            &update.email,
            &update.phone,
            &update.business_sector,
            &update.interest,
        ],
        update.postal_address.as_ref(),
    ) {
        return Err(AccountError::CardNumber);
    }
    let mut problems = Problems::default();
    // A phone written without `+` is read in the country of the stored address.
    let region = match &update.postal_address {
        Some(a) => CountryCode::parse(&a.country),
        None if update.phone.is_some() => {
            let own = profile_with(app, &grant, person).await?;
            own.postal_address
                .and_then(|a| CountryCode::parse(&a.country))
        }
        None => None,
    };
    let mut profile_values = validate_profile(
        app,
        &mut problems,
        update.name.as_deref(),
        update.name.is_some(),
        update.company.as_deref(),
        update.email.as_deref(),
        update.email.is_some(),
        None,
        update.postal_address.as_ref(),
        update.business_sector.as_deref(),
        update.interest.as_deref(),
    );
    if let Some(v) = validate::phone(&mut problems, "phone", update.phone.as_deref(), region) {
        profile_values.values.push((Field::Phone, Personal::new(v)));
    }
    invalid(problems)?;
    if profile_values.values.is_empty() {
        return Ok(());
    }
    // Only what really changed is written: the audit log and the field history then
    // show the person's actual corrections, not every field a form sent back.
    let fields: Vec<Field> = profile_values.values.iter().map(|(f, _)| *f).collect();
    let current = app.vault.read(&grant, person, &fields).await?;
    let changed: Vec<(Field, Personal)> = profile_values
        .values
        .into_iter()
        .filter(|(field, value)| current.get(*field).map(Personal::expose) != Some(value.expose()))
        .collect();
    if !changed.is_empty() {
        app.vault.update(&grant, person, &changed).await?;
    }
    Ok(())
}

/// Turns marketing on or off, effective at once (P11).
pub async fn set_marketing(app: &Datavow, me: &SignedIn, opt_in: bool) -> Result<(), AccountError> {
    app.vault
        .update(
            &me.grant(app)?,
            me.person,
            &[(Field::MarketingConsent, consent::value(opt_in, Utc::now()))],
        )
        .await?;
    Ok(())
}

/// Changes the password: the current one must be right; the new one has at least 12
/// characters and is not a common password. Other sessions end.
pub async fn change_password(
    app: &Datavow,
    me: &SignedIn,
    current: &SecretString,
    new: &SecretString,
) -> Result<(), AccountError> {
    if let Err(problem) = credentials::check_chosen_password(new.expose_secret()) {
        let (code, message) = match problem {
            credentials::PasswordProblem::TooShort => (
                "too_short",
                "the new password must have at least 12 characters",
            ),
            credentials::PasswordProblem::TooLong => (
                "too_long",
                "the new password must have at most 256 characters",
            ),
            credentials::PasswordProblem::Common => (
                "common_password",
                "the new password is too common; choose another",
            ),
        };
        let mut problems = Problems::default();
        problems.add("new_password", code, message);
        return Err(AccountError::Invalid(problems.0));
    }
    if validate::any_card_number([new.expose_secret()]) {
        return Err(AccountError::CardNumber);
    }
    let (grant, person) = (me.grant(app)?, me.person);
    let phc = app
        .vault
        .password_verifier(&grant, person)
        .await?
        .map(|p| p.expose().to_owned())
        .unwrap_or_default();
    let (current, new) = (current.clone(), new.clone());
    let result = app
        .accounts
        .hash_work(move || {
            let ok = PasswordHash::new(&phc)
                .map(|parsed| {
                    argon2()
                        .verify_password(current.expose_secret().as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false);
            if !ok {
                return None;
            }
            let salt = SaltString::generate(&mut rand::rngs::OsRng);
            argon2()
                .hash_password(new.expose_secret().as_bytes(), &salt)
                .ok()
                .map(|h| h.to_string())
        })
        .await?;
    let Some(new_phc) = result else {
        return Err(AccountError::BadCredentials);
    };
    app.vault
        .update(
            &grant,
            person,
            &[(Field::PasswordHash, Personal::new(new_phc))],
        )
        .await?;
    app.stores.accounts.delete_sessions_of(person).await?;
    Ok(())
}

/// Registers the person's request to erase their account (P13, P14). The request has
/// the policy's deadline; the data-subject-request workflow completes it.
pub async fn request_erasure(
    app: &Datavow,
    me: &SignedIn,
) -> Result<SubjectRequestRow, AccountError> {
    let (grant, person) = (me.grant(app)?, me.person);
    let now = Utc::now();
    let request = SubjectRequestRow {
        id: uuid::Uuid::new_v4(),
        person_id: Some(person),
        kind: "erasure".into(),
        channel: "dashboard".into(),
        received_at: now,
        deadline_at: app.policy.request_deadline.after(now),
        status: "open".into(),
    };
    let tag = app.vault.subject_tag(&grant, person).await?;
    let event = AuditEvent {
        subject: Some(tag.clone()),
        purpose: Some(Purpose::Requests),
        detail: Some(format!(
            "erasure request {} received via dashboard",
            request.id
        )),
        ..AuditEvent::new(&Actor::Person(tag), Action::RequestFiled, Outcome::Allowed)
    };
    // Audited before the effect; a failure is recorded after it.
    app.audit.append(std::slice::from_ref(&event)).await?;
    if let Err(err) = app.stores.accounts.insert_request(&request).await {
        app.audit
            .append(&[AuditEvent {
                outcome: Outcome::Failed,
                ..event
            }])
            .await?;
        return Err(err.into());
    }
    Ok(request)
}

/// Everything held about the person, for download (P13, GDPR Art. 15 and 20).
pub async fn export(app: &Datavow, me: &SignedIn) -> Result<serde_json::Value, AccountError> {
    let (grant, person) = (me.grant(app)?, me.person);
    let profile = profile_with(app, &grant, person).await?;
    let tag = app.vault.subject_tag(&grant, person).await?;
    let actor = Actor::Person(tag.clone());
    app.audit
        .append(&[AuditEvent {
            subject: Some(tag.clone()),
            purpose: Some(Purpose::Requests),
            ..AuditEvent::new(&actor, Action::Export, Outcome::Allowed)
        }])
        .await?;
    let acks = app.stores.accounts.acknowledgements(person).await?;
    let requests = app.stores.accounts.requests_of(person).await?;
    let access = app.audit.for_subject(&tag, 10_000).await?;
    let browser = crate::browser::linked_records(app, &grant, person).await?;
    let entity = app.policy.entity(&profile.entity.id);
    let held: Vec<serde_json::Value> = [Category::Identity, Category::Contact, Category::PostalAddress, Category::BusinessProfile, Category::Age, Category::Credentials, Category::MarketingConsent, Category::BrowserData]
        .iter()
        .map(|c| serde_json::json!({"category": c.as_str(), "description": app.policy.category_description(*c)}))
        .collect();
    Ok(serde_json::json!({
        "exported_at": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "controller": {
            "id": profile.entity.id,
            "name": profile.entity.name,
            "address": profile.entity.address,
            "country": entity.map(|e| e.country.to_string()),
            "privacy_contact": app.policy.privacy_contact,
        },
        "account": {
            "user_id": profile.user_id,
            "name": profile.name,
            "company": profile.company,
            "email": profile.email,
            "phone": profile.phone,
            "postal_address": profile.postal_address,
            "business_sector": profile.business_sector,
            "interest": profile.interest,
            "birth_date": profile.birth_date,
            "password": "held only as an Argon2id hash, which is not exported",
        },
        "marketing": {"opted_in": profile.marketing_opt_in, "changed_at": profile.marketing_changed_at},
        "categories_held": held,
        "policy": {
            "current_version": app.policy.version,
            "acknowledgements": acks.iter().map(|a| serde_json::json!({
                "version": a.policy_version, "at": a.acknowledged_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), "how": a.how,
            })).collect::<Vec<_>>(),
        },
        "requests": requests.iter().map(|r| serde_json::json!({
            "id": r.id, "kind": r.kind, "channel": r.channel, "status": r.status,
            "received_at": r.received_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "deadline_at": r.deadline_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        })).collect::<Vec<_>>(),
        "access_log": access.iter().map(|a| serde_json::json!({
            "at": DateTime::from_timestamp_micros(a.entry.at_micros).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            "actor": a.entry.actor, "action": a.entry.action, "purpose": a.entry.purpose,
            "fields": a.entry.fields, "outcome": a.entry.outcome,
        })).collect::<Vec<_>>(),
        "browser_data": browser,
    }))
}

/// Stores a contact-form enquiry as a lead with its own retention rule (P1).
pub async fn contact(app: &Datavow, input: &ContactInput) -> Result<PersonId, AccountError> {
    let texts = [
        &input.name,
        &input.company,
        &input.email,
        &input.phone,
        &input.message,
    ];
    if holds_card_number(&texts, None) {
        return Err(AccountError::CardNumber);
    }
    let mut problems = Problems::default();
    let mut values = Vec::new();
    if let Some(v) = validate::text(
        &mut problems,
        "name",
        input.name.as_deref(),
        validate::MAX_NAME,
        true,
    ) {
        values.push((Field::LeadName, Personal::new(v)));
    }
    if let Some(v) = validate::text(
        &mut problems,
        "company",
        input.company.as_deref(),
        validate::MAX_COMPANY,
        false,
    ) {
        values.push((Field::LeadCompany, Personal::new(v)));
    }
    if let Some(v) = validate::email(&mut problems, "email", input.email.as_deref(), true) {
        values.push((Field::LeadEmail, Personal::new(v)));
    }
    if let Some(v) = validate::phone(&mut problems, "phone", input.phone.as_deref(), None) {
        values.push((Field::LeadPhone, Personal::new(v)));
    }
    if let Some(v) = validate::text(
        &mut problems,
        "message",
        input.message.as_deref(),
        validate::MAX_MESSAGE,
        true,
    ) {
        values.push((Field::LeadMessage, Personal::new(v)));
    }
    invalid(problems)?;
    let entity = app.policy.entity_for_country(None).id.clone();
    let grant = app.door.visitor(VisitorAct::Contact)?;
    Ok(app
        .vault
        .create(&grant, PersonKind::Lead, &entity, &values)
        .await?)
}

/// Who read or changed the signed-in person's data, newest first (P13: the dashboard's
/// "who accessed your data"). Reading it is itself audited.
pub async fn access_log(
    app: &Datavow,
    me: &SignedIn,
    limit: i64,
) -> Result<Vec<AccessEntry>, AccountError> {
    let grant = me.grant(app)?;
    let tag = app.vault.subject_tag(&grant, me.person).await?;
    Ok(crate::audit::read_access_log(app, &Actor::Person(tag.clone()), &tag, limit).await?)
}

/// Shared runtime, created once per instance.
pub fn runtime() -> Arc<AccountsRuntime> {
    Arc::new(AccountsRuntime::default())
}
