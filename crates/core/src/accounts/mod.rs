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
mod own;
mod session;
mod sign_up;
pub mod throttle;
mod upkeep;
pub mod validate;

pub use datavow_store::SubjectRequestRow as SubjectRequest;
pub use own::{
    access_log, change_password, export, profile, request_erasure, set_marketing, update_profile,
    EntityInfo, ErasureReceipt, Profile,
};
pub(crate) use session::{dummy_phc, reset_password};
pub use session::{session_person, sign_in, sign_out};
pub use sign_up::{contact, sign_up, sign_up_idempotent, REPLAY_WINDOW};
pub use upkeep::fill_account_countries;

use crate::access::VisitorAct;
use crate::audit::AccessEntry;
use crate::operators::argon2;
use crate::Datavow;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Utc};
use datavow_policy::{Category, CountryCode, Field, Purpose};
use datavow_store::{Acknowledgement, PersonId, PersonKind, StoreError, SubjectRequestRow};
use datavow_vault::{
    consent, Action, Actor, AuditEvent, Grant, IndexKind, Outcome, Personal, SymmetricKey,
    VaultError,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;
use subtle::ConstantTimeEq;
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
    #[error("not found")]
    NotFound,
    #[error("the Idempotency-Key must be 16 to 200 letters, digits, '-' or '_' (a random UUID)")]
    BadIdempotencyKey,
    #[error(
        "this Idempotency-Key was used for a different sign-up; use a new key for new content"
    )]
    IdempotencyKeyReused,
    #[error("a sign-up with this Idempotency-Key is in progress; try again in a moment")]
    IdempotencyInProgress,
    #[error(transparent)]
    Denied(#[from] crate::access::Denied),
    #[error(transparent)]
    Vault(VaultError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AccountError {
    /// Whether the request failed because the store is down, full or busy: a 503 to be
    /// retried, not a refusal and not a bug.
    pub fn is_unavailable(&self) -> bool {
        match self {
            AccountError::Busy => true,
            AccountError::Store(err) => err.is_unavailable(),
            AccountError::Vault(err) => err.is_unavailable(),
            _ => false,
        }
    }
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
    hashing: HashingPool,
}

impl Default for AccountsRuntime {
    fn default() -> Self {
        AccountsRuntime {
            throttle: throttle::Throttle::default(),
            hashing: HashingPool::new(),
        }
    }
}

impl AccountsRuntime {
    /// Runs Argon2 work on the hashing pool. A caller that waits more than 10 s for a
    /// place gets [`AccountError::Busy`].
    pub(crate) async fn hash_work<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AccountError> {
        self.hashing.run(work).await
    }
}

/// A job for a hashing thread.
type HashJob = Box<dyn FnOnce() + Send>;

/// Threads that do nothing but Argon2 (password hashing and verification), one per
/// core, each at the lowest scheduling priority ([`lower_priority`]) below the threads
/// that answer requests: idle, a burst of sign-ins gets every core; under load, the kernel gives
/// the other requests their CPU first, so a storm of sign-ins cannot multiply every
/// other endpoint's latency. At most one job per thread runs; others wait in line.
/// The threads end when the pool is dropped.
#[derive(Debug)]
struct HashingPool {
    places: Semaphore,
    jobs: std::sync::mpsc::Sender<HashJob>,
}

impl HashingPool {
    fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let (sender, receiver) = std::sync::mpsc::channel::<HashJob>();
        let receiver = Arc::new(std::sync::Mutex::new(receiver));
        for i in 0..cores {
            let receiver = receiver.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let job = match receiver.lock() {
                            Ok(jobs) => jobs.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(err) = spawned {
                tracing::error!(error = %err, "could not start a password hashing thread");
            }
        }
        HashingPool {
            places: Semaphore::new(cores),
            jobs: sender,
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AccountError> {
        let _place = tokio::time::timeout(Duration::from_secs(10), self.places.acquire())
            .await
            .map_err(|_| AccountError::Busy)?
            .map_err(|_| AccountError::Busy)?;
        let (done, result) = tokio::sync::oneshot::channel();
        let job: HashJob = Box::new(move || {
            let _ = done.send(work());
        });
        self.jobs
            .send(job)
            .map_err(|_| AccountError::Internal("the hashing threads have stopped".into()))?;
        result
            .await
            .map_err(|_| AccountError::Internal("a hashing job stopped".into()))
    }
}

/// Lowers the calling thread's scheduling priority: `SCHED_IDLE` on Linux (it runs
/// when no normal thread wants the core, and yields at once when one wakes up); where
/// that is not allowed, the lowest nice value; else normal priority.
fn lower_priority() {
    use thread_priority::{NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy};
    let id = thread_priority::thread_native_id();
    let idle = thread_priority::set_thread_priority_and_policy(
        id,
        ThreadPriority::Min,
        ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle),
    );
    if idle.is_err() && thread_priority::set_current_thread_priority(ThreadPriority::Min).is_err() {
        tracing::debug!("password hashing runs at normal priority");
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
    session: OwnSession,
}

/// The session a [`SignedIn`] came from, as far as auditing its own reads needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct OwnSession {
    token_hash: Vec<u8>,
    /// The UTC day on which this session's own reads were last put on record.
    reads_recorded_day: Option<i64>,
}

impl SignedIn {
    pub(crate) fn person(&self) -> PersonId {
        self.person
    }

    /// The grant for this person acting on themself.
    fn grant(&self, app: &Datavow) -> Result<Grant, AccountError> {
        Ok(app.door.own(self.person)?)
    }

    /// Runs `view`, a person's own view of their data, under a grant that audits its
    /// reads only if this session's own reads are not on record yet today; then notes
    /// that they are. A person's own page views are thus one audit entry per session
    /// and day (P13 shows that they looked), while every change, download and refusal,
    /// and every operator's and system's read, is an entry each time.
    async fn own_view<T, F, Fut>(&self, app: &Datavow, view: F) -> Result<T, AccountError>
    where
        F: FnOnce(Grant) -> Fut,
        Fut: std::future::Future<Output = Result<T, AccountError>>,
    {
        let today = Utc::now().timestamp().div_euclid(86_400);
        if self.session.reads_recorded_day == Some(today) {
            return view(app.door.own_recorded_today(self.person)?).await;
        }
        let seen = view(self.grant(app)?).await?;
        app.stores
            .accounts
            .mark_own_reads_recorded(&self.session.token_hash, today)
            .await?;
        Ok(seen)
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
    if let Some((a, c)) = address {
        let json = serde_json::to_string(&a).unwrap_or_default();
        values.push((Field::PostalAddress, Personal::new(json)));
        // Its own field, so that statistics count accounts per country (P10) without
        // opening an address.
        values.push((Field::AccountCountry, Personal::new(c.as_str())));
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

/// A new generated password and its Argon2id hash (PHC string), hashed on the bounded
/// pool. The password is shown once by the caller and never stored.
async fn generated_password(app: &Datavow) -> Result<(SecretString, String), AccountError> {
    let password = SecretString::from(credentials::generate_password());
    let phc = password_hash(app, &password).await?;
    Ok((password, phc))
}

/// The Argon2id hash (PHC string) of `password`, on the hashing pool.
async fn password_hash(app: &Datavow, password: &SecretString) -> Result<String, AccountError> {
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
    Ok(phc)
}

/// Records a marketing choice made `how`, under the policy in force, and keeps the
/// suppression list in step: out puts the address's keyed hash on it, in takes it off.
pub(crate) async fn record_marketing_choice(
    app: &Datavow,
    grant: &datavow_vault::Grant,
    person: PersonId,
    opt_in: bool,
    how: consent::How,
) -> Result<(), AccountError> {
    let now = Utc::now();
    let policy_version = crate::policy_versions::in_force(app, now).await?;
    app.vault
        .update(
            grant,
            person,
            &[(
                Field::MarketingConsent,
                consent::value(opt_in, now, how, &policy_version),
            )],
        )
        .await?;
    let record = app.vault.read(grant, person, &[Field::Email]).await?;
    if let Some(email) = record.get(Field::Email) {
        let digest = app.vault.suppression_digest(email.expose()).await?;
        if opt_in {
            app.stores.accounts.unsuppress(&digest).await?;
        } else {
            let reason = match how {
                consent::How::UnsubscribeLink => "unsubscribe_link",
                _ => "opted_out",
            };
            app.stores
                .accounts
                .suppress(&digest, reason, now.timestamp_micros())
                .await?;
        }
    }
    Ok(())
}

/// Shared runtime, created once per instance.
pub fn runtime() -> Arc<AccountsRuntime> {
    Arc::new(AccountsRuntime::default())
}
