//! Operator accounts: staff who work on personal data under a role. The role decides
//! which purposes they may read for (the policy file's `[roles]`).
//!
//! An operator is created with a one-time password (Argon2id, m = 19 MiB, t = 2,
//! p = 1) and an API token (256 random bits; only its SHA-256 is stored, so a stolen
//! database yields no usable token). Every change is audited.

use crate::audit::audited_before;
use crate::{Datavow, Principal};
use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use datavow_policy::Role;
use datavow_store::{OperatorRow, StoreError};
use datavow_vault::{Action, Actor, AuditEvent, Outcome};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// An authenticated operator. Only [`authenticate_token`] makes one outside tests.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Operator {
    pub name: String,
    pub role: Role,
}

impl Operator {
    /// An operator as if authenticated, for tests of authorization.
    #[cfg(feature = "testkit")]
    pub fn for_tests(name: &str, role: Role) -> Operator {
        Operator {
            name: name.to_owned(),
            role,
        }
    }

    /// The audit actor for this operator.
    pub(crate) fn actor(&self) -> Actor {
        Actor::Operator {
            name: self.name.clone(),
            role: self.role,
        }
    }
}

/// The secrets shown once when an operator is created.
#[derive(Debug)]
pub struct Credentials {
    pub password: SecretString,
    pub token: SecretString,
}

/// Why an operator command failed.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error("operator names are 1 to 64 characters: lower-case letters, digits, `.`, `_` and `-`")]
    BadName,
    #[error("an operator with this name already exists")]
    Taken,
    #[error("no operator with this name")]
    Unknown,
    #[error("password hashing failed: {0}")]
    Hashing(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for OperatorError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict(_) => OperatorError::Taken,
            other => OperatorError::Store(other),
        }
    }
}

/// Argon2id with the parameters SPEC P3 asks for: m = 19 MiB, t = 2, p = 1.
pub fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password to a PHC string, off the async threads.
pub async fn hash_password(password: SecretString) -> Result<String, OperatorError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        argon2()
            .hash_password(password.expose_secret().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| OperatorError::Hashing(e.to_string()))
    })
    .await
    .map_err(|e| OperatorError::Hashing(e.to_string()))?
}

/// `len` characters from an alphabet without look-alikes (0/O, 1/l/I).
pub fn random_text(len: usize) -> String {
    const ALPHABET: &[u8] = b"23456789abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";
    let mut rng = rand::rngs::OsRng;
    (0..len)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
}

/// Creates an operator and returns the one-time secrets.
pub async fn add(
    app: &Datavow,
    by: &Principal,
    name: &str,
    role: Role,
) -> Result<Credentials, OperatorError> {
    if !valid_name(name) {
        return Err(OperatorError::BadName);
    }
    // 24 characters of a 57-letter alphabet: 140 bits. 43 of the same for the token: 250 bits.
    let password = SecretString::from(random_text(24));
    let token = SecretString::from(format!("dvo_{}", random_text(43)));
    let row = OperatorRow {
        id: uuid::Uuid::new_v4(),
        name: name.to_owned(),
        role: role.as_str().to_owned(),
        password_hash: hash_password(password.clone()).await?,
        token_hash: token_hash(token.expose_secret()),
        created_at: chrono::Utc::now(),
        disabled: false,
    };
    let event = AuditEvent {
        detail: Some(format!("operator {name} added with role {role}")),
        ..AuditEvent::new(&by.actor(), Action::OperatorAdded, Outcome::Allowed)
    };
    audited_before(app, event, async {
        Ok::<_, OperatorError>(app.stores.operators.insert_operator(&row).await?)
    })
    .await?;
    Ok(Credentials { password, token })
}

/// Changes an operator's role.
pub async fn set_role(
    app: &Datavow,
    by: &Principal,
    name: &str,
    role: Role,
) -> Result<(), OperatorError> {
    change(app, by, name, Action::RoleChanged, |current| {
        (
            role.as_str().to_owned(),
            current.disabled,
            format!("operator {name}: role {} -> {role}", current.role),
        )
    })
    .await
}

/// Disables an operator: their token and password stop working at once.
pub async fn disable(app: &Datavow, by: &Principal, name: &str) -> Result<(), OperatorError> {
    change(app, by, name, Action::OperatorDisabled, |current| {
        (
            current.role.clone(),
            true,
            format!("operator {name} disabled"),
        )
    })
    .await
}

/// Applies `(role, disabled, audit detail)` computed from the operator's current row,
/// and audits it.
async fn change(
    app: &Datavow,
    by: &Principal,
    name: &str,
    action: Action,
    next: impl FnOnce(&OperatorRow) -> (String, bool, String),
) -> Result<(), OperatorError> {
    let current = app
        .stores
        .operators
        .operator_by_name(name)
        .await?
        .ok_or(OperatorError::Unknown)?;
    let (role, disabled, detail) = next(&current);
    let event = AuditEvent {
        detail: Some(detail),
        ..AuditEvent::new(&by.actor(), action, Outcome::Allowed)
    };
    audited_before(app, event, async {
        app.stores
            .operators
            .update_operator(name, &role, disabled)
            .await
            .map_err(OperatorError::from)
    })
    .await
    .map(|_| ())
}

/// An operator as `datavow operator list` shows them: no password or token hash.
#[derive(Debug, Clone)]
pub struct OperatorSummary {
    pub name: String,
    pub role: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub disabled: bool,
}

/// Every operator.
pub async fn list(app: &Datavow) -> Result<Vec<OperatorSummary>, OperatorError> {
    Ok(app
        .stores
        .operators
        .operators()
        .await?
        .into_iter()
        .map(|row| OperatorSummary {
            name: row.name,
            role: row.role,
            created_at: row.created_at,
            disabled: row.disabled,
        })
        .collect())
}

/// The operator holding `token`, if it is valid and the operator is enabled.
pub async fn authenticate_token(
    app: &Datavow,
    token: &str,
) -> Result<Option<Operator>, StoreError> {
    let hash = token_hash(token);
    let Some(row) = app.stores.operators.operator_by_token_hash(&hash).await? else {
        return Ok(None);
    };
    // The look-up already matched; compare again in constant time for defence in depth.
    if !bool::from(row.token_hash.ct_eq(&hash)) || row.disabled {
        return Ok(None);
    }
    Ok(Role::parse(&row.role).map(|role| Operator {
        name: row.name,
        role,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_names_are_plain_identifiers() {
        for good in ["alice", "bob.smith", "ops-1", "a_b"] {
            assert!(valid_name(good), "{good}");
        }
        for bad in [
            "",
            "Alice",
            "alice smith",
            "al'ice",
            "ålice",
            &"a".repeat(65),
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn generated_secrets_are_long_and_distinct() {
        let a = random_text(24);
        assert_eq!(a.chars().count(), 24);
        assert_ne!(a, random_text(24));
    }

    #[tokio::test]
    async fn passwords_are_argon2id_with_at_least_19_mib_and_2_passes() {
        let phc = hash_password(SecretString::from(
            "correct horse battery staple".to_owned(),
        ))
        .await
        .expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    }
}
