//! Operators' sign-in to the console: their password (Argon2id), then a second factor
//! where the policy file requires one or the operator enrolled one: a TOTP code
//! (RFC 6238: SHA-1, 6 digits, 30-second steps) or a one-time recovery code.
//!
//! Invariants:
//! - Only [`sign_in`] makes a console session. A session that has not passed its
//!   second factor opens nothing but the second-factor and enrolment steps: only a
//!   [`Stage::SignedIn`] session yields an [`Operator`] from [`current`].
//! - Unknown names and wrong passwords get the same answer after the same Argon2
//!   work, under the customers' throttle (per name and address, and per address).
//! - A TOTP code is accepted once: its time step must be later than the last accepted
//!   one, which moves forward in one conditional write. A recovery code is deleted as
//!   it is used. Wrong codes count against the operator (5 per 15 minutes).
//! - Passing the second factor replaces the session's token, so a token seen before
//!   the second factor is worthless after it.
//! - A session ends after the policy file's idle time-out or lifetime, at sign-out,
//!   and when the operator is disabled or their second factor is reset.
//! - Tokens (`dvc_…`, 250 bits) are stored only as SHA-256; TOTP secrets only sealed by
//!   the vault. Neither is logged.

use crate::accounts::throttle;
use crate::audit::audited_before;
use crate::operators::{argon2, random_text, Operator, OperatorError};
use crate::{Datavow, Principal};
use argon2::password_hash::{PasswordHash, PasswordVerifier};
use chrono::Utc;
use datavow_policy::Role;
use datavow_store::{OperatorSessionRow, SecondFactorRow, StoreError};
use datavow_vault::{Action, AuditEvent, Outcome, VaultError};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::time::Duration;
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};

/// Recovery codes given at enrolment.
pub const RECOVERY_CODES: usize = 10;
/// TOTP's time step.
const STEP_SECONDS: i64 = 30;
/// Bytes of a TOTP secret: 160 bits, as RFC 4226 recommends.
const SECRET_BYTES: usize = 20;
/// Session activity is written at most this often (the idle time-out's resolution).
const TOUCH_EVERY: i64 = 60_000_000;

/// Where a console session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Password given; a code from the enrolled device (or a recovery code) is next.
    SecondFactor,
    /// Password given; the role requires a second factor and none is enrolled yet.
    Enrol,
    /// Signed in.
    SignedIn,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Stage::SecondFactor => "second_factor",
            Stage::Enrol => "enrol",
            Stage::SignedIn => "signed_in",
        }
    }

    fn parse(text: &str) -> Option<Stage> {
        [Stage::SecondFactor, Stage::Enrol, Stage::SignedIn]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// A console session as the browser holds it: its token goes in the cookie.
#[derive(Debug)]
pub struct ConsoleSession {
    pub token: SecretString,
    pub stage: Stage,
    pub operator: Operator,
}

/// A TOTP secret being enrolled, shown once: as text and as an `otpauth://` URL for
/// a QR code.
#[derive(Debug)]
pub struct Enrolment {
    pub secret_base32: SecretString,
    pub otpauth_url: SecretString,
}

/// Why a console step failed. Messages name no secret and no personal data.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("the name or password is wrong")]
    BadCredentials,
    #[error("the code is wrong, expired or already used")]
    BadCode,
    #[error("too many failed attempts; try again in {} minutes", .0.as_secs().div_ceil(60))]
    TooManyAttempts(Duration),
    #[error("the session has ended; sign in again")]
    NotSignedIn,
    #[error("this step does not apply to the session")]
    WrongStage,
    #[error("this is a machine account: it uses its API token, not the console")]
    MachineAccount,
    #[error("the service is busy; try again in a moment")]
    Busy,
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ConsoleError {
    /// Whether the store cannot be reached or written right now (a 503).
    pub fn is_unavailable(&self) -> bool {
        match self {
            ConsoleError::Store(err) => err.is_unavailable(),
            ConsoleError::Vault(err) => err.is_unavailable(),
            ConsoleError::Busy => true,
            _ => false,
        }
    }
}

fn digest(text: &str) -> Vec<u8> {
    Sha256::digest(text.as_bytes()).to_vec()
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

fn operator_of(name: &str, role: &str) -> Option<Operator> {
    Role::parse(role).map(|role| Operator {
        name: name.to_owned(),
        role,
    })
}

async fn audit(
    app: &Datavow,
    operator: &Operator,
    action: Action,
    outcome: Outcome,
    detail: &str,
) -> Result<(), StoreError> {
    app.audit
        .append(&[AuditEvent {
            detail: Some(detail.to_owned()),
            ..AuditEvent::new(&operator.actor(), action, outcome)
        }])
        .await
        .map(|_| ())
}

/// Starts a session of `stage` for `operator`, replacing `previous` if given.
async fn start(
    app: &Datavow,
    operator: Operator,
    stage: Stage,
    created_at_micros: Option<i64>,
    previous: Option<&str>,
) -> Result<ConsoleSession, ConsoleError> {
    let token = SecretString::from(format!("dvc_{}", random_text(43)));
    let now = Utc::now().timestamp_micros();
    let created = created_at_micros.unwrap_or(now);
    let row = OperatorSessionRow {
        operator: operator.name.clone(),
        stage: stage.as_str().to_owned(),
        pending_secret: None,
        created_at_micros: created,
        last_seen_micros: now,
        expires_at_micros: created.saturating_add(micros(app.policy.operator_sign_in.lifetime)),
    };
    if let Some(previous) = previous {
        app.stores
            .console
            .delete_operator_session(&digest(previous))
            .await?;
    }
    app.stores
        .console
        .insert_operator_session(&digest(token.expose_secret()), &row)
        .await?;
    Ok(ConsoleSession {
        token,
        stage,
        operator,
    })
}

/// Signs an operator in with their name and password. `client` is the caller's
/// address, for the throttle.
pub async fn sign_in(
    app: &Datavow,
    name: &str,
    password: &SecretString,
    client: &str,
) -> Result<ConsoleSession, ConsoleError> {
    let name_key = format!(
        "operator:{}:{client}",
        hex::encode(Sha256::digest(name.as_bytes()))
    );
    let client_key = format!("client:{client}");
    for (key, limit) in [
        (&name_key, throttle::PER_ACCOUNT),
        (&client_key, throttle::PER_CLIENT),
    ] {
        if let Some(wait) = app.accounts.throttle.wait(key, limit) {
            return Err(ConsoleError::TooManyAttempts(wait));
        }
    }
    let row = app.stores.operators.operator_by_name(name).await?;
    let known = row.as_ref().is_some_and(|r| !r.disabled);
    let phc = row.as_ref().filter(|_| known).map_or_else(
        || crate::accounts::dummy_phc().to_owned(),
        |r| r.password_hash.clone(),
    );
    let candidate = password.clone();
    let verified = app
        .accounts
        .hash_work(move || {
            PasswordHash::new(&phc).is_ok_and(|parsed| {
                argon2()
                    .verify_password(candidate.expose_secret().as_bytes(), &parsed)
                    .is_ok()
            })
        })
        .await
        .map_err(|_| ConsoleError::Busy)?;
    let operator = row.as_ref().and_then(|r| operator_of(&r.name, &r.role));
    let (Some(operator), true, true) = (operator, known, verified) else {
        app.accounts.throttle.fail(&name_key);
        app.accounts.throttle.fail(&client_key);
        metrics::counter!("datavow_console_sign_ins_total", "outcome" => "refused").increment(1);
        if let Some(op) = row.as_ref().and_then(|r| operator_of(&r.name, &r.role)) {
            audit(
                app,
                &op,
                Action::SignIn,
                Outcome::Refused,
                "console sign-in refused: wrong password or disabled",
            )
            .await?;
        }
        return Err(ConsoleError::BadCredentials);
    };
    app.accounts.throttle.clear(&name_key);
    if operator.role == Role::Collector {
        return Err(ConsoleError::MachineAccount);
    }
    let enrolled = app.stores.console.second_factor(name).await?.is_some();
    let stage = if enrolled {
        Stage::SecondFactor
    } else if app
        .policy
        .operator_sign_in
        .second_factor_required(operator.role)
    {
        Stage::Enrol
    } else {
        Stage::SignedIn
    };
    if stage == Stage::SignedIn {
        audit(
            app,
            &operator,
            Action::SignIn,
            Outcome::Allowed,
            "console sign-in with password",
        )
        .await?;
        metrics::counter!("datavow_console_sign_ins_total", "outcome" => "allowed").increment(1);
    }
    start(app, operator, stage, None, None).await
}

/// The session behind `token`, if it is live: its operator and stage. Ends sessions
/// past their time-outs and sessions of disabled operators.
pub async fn current(
    app: &Datavow,
    token: &str,
) -> Result<Option<(Operator, Stage)>, ConsoleError> {
    Ok(live(app, token)
        .await?
        .map(|(operator, stage, _)| (operator, stage)))
}

/// [`current`], with the session's stored row (for the steps that need its pending
/// secret or start).
async fn live(
    app: &Datavow,
    token: &str,
) -> Result<Option<(Operator, Stage, OperatorSessionRow)>, ConsoleError> {
    let hash = digest(token);
    let Some(row) = app.stores.console.operator_session(&hash).await? else {
        return Ok(None);
    };
    let now = Utc::now().timestamp_micros();
    let idle = micros(app.policy.operator_sign_in.idle);
    let operator = app.stores.operators.operator_by_name(&row.operator).await?;
    let live = now < row.expires_at_micros
        && now.saturating_sub(row.last_seen_micros) < idle
        && operator.as_ref().is_some_and(|o| !o.disabled);
    let (Some(stage), Some(operator), true) = (
        Stage::parse(&row.stage),
        operator.and_then(|o| operator_of(&o.name, &o.role)),
        live,
    ) else {
        app.stores.console.delete_operator_session(&hash).await?;
        return Ok(None);
    };
    if now.saturating_sub(row.last_seen_micros) >= TOUCH_EVERY {
        app.stores
            .console
            .touch_operator_session(&hash, now)
            .await?;
    }
    Ok(Some((operator, stage, row)))
}

/// The signed-in operator behind `token`: `None` unless the session passed every step.
pub async fn signed_in(app: &Datavow, token: &str) -> Result<Option<Operator>, ConsoleError> {
    Ok(current(app, token)
        .await?
        .and_then(|(op, stage)| (stage == Stage::SignedIn).then_some(op)))
}

fn totp(app: &Datavow, name: &str, secret: &[u8]) -> Result<TOTP, ConsoleError> {
    // The issuer and account name appear in the authenticator app; neither may hold `:`.
    let issuer = format!("Datavow {}", app.policy.controller.replace(':', " "));
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        30,
        secret.to_vec(),
        Some(issuer),
        name.to_owned(),
    )
    .map_err(|e| ConsoleError::Internal(format!("TOTP set-up: {e}")))
}

/// The time step `code` belongs to, within one step either side of now.
fn matching_step(totp: &TOTP, code: &str, now_seconds: i64) -> Option<i64> {
    let current = now_seconds.div_euclid(STEP_SECONDS);
    (current - 1..=current + 1).find(|step| {
        let at = u64::try_from(step * STEP_SECONDS).unwrap_or(0);
        bool::from(totp.generate(at).as_bytes().ct_eq(code.as_bytes()))
    })
}

/// Makes a new TOTP secret for a session at [`Stage::Enrol`] (or a signed-in operator
/// without one), keeps it sealed in the session until confirmed, and returns it to be
/// shown once. Asking again replaces it.
pub async fn begin_enrolment(app: &Datavow, token: &str) -> Result<Enrolment, ConsoleError> {
    let (operator, stage) = current(app, token)
        .await?
        .ok_or(ConsoleError::NotSignedIn)?;
    let enrolled = app
        .stores
        .console
        .second_factor(&operator.name)
        .await?
        .is_some();
    if !(stage == Stage::Enrol || (stage == Stage::SignedIn && !enrolled)) {
        return Err(ConsoleError::WrongStage);
    }
    let mut secret = zeroize::Zeroizing::new([0u8; SECRET_BYTES]);
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, secret.as_mut_slice());
    let sealed = app
        .vault
        .seal_operator_secret(&operator.name, secret.as_slice())
        .await?;
    app.stores
        .console
        .set_pending_secret(&digest(token), Some(&sealed))
        .await?;
    let totp = totp(app, &operator.name, secret.as_slice())?;
    Ok(Enrolment {
        secret_base32: SecretString::from(totp.get_secret_base32()),
        otpauth_url: SecretString::from(totp.get_url()),
    })
}

fn recovery_code() -> String {
    const ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
    let mut rng = rand::rngs::OsRng;
    let text: String = (0..10)
        .map(|_| char::from(ALPHABET[rand::Rng::gen_range(&mut rng, 0..ALPHABET.len())]))
        .collect();
    format!("{}-{}", &text[..5], &text[5..])
}

/// A recovery code as typed, reduced to what is hashed: lower case, no dashes or spaces.
fn normalise_recovery_code(code: &str) -> String {
    code.chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

fn code_throttle_key(operator: &Operator) -> String {
    format!(
        "operator-code:{}",
        hex::encode(Sha256::digest(operator.name.as_bytes()))
    )
}

fn check_code_throttle(app: &Datavow, operator: &Operator) -> Result<String, ConsoleError> {
    let key = code_throttle_key(operator);
    match app.accounts.throttle.wait(&key, throttle::PER_ACCOUNT) {
        Some(wait) => Err(ConsoleError::TooManyAttempts(wait)),
        None => Ok(key),
    }
}

async fn refuse_code(app: &Datavow, operator: &Operator, key: &str, why: &str) -> ConsoleError {
    app.accounts.throttle.fail(key);
    match audit(
        app,
        operator,
        Action::SecondFactorRefused,
        Outcome::Refused,
        why,
    )
    .await
    {
        Ok(()) => ConsoleError::BadCode,
        Err(err) => err.into(),
    }
}

/// Confirms the secret being enrolled with a code from the device: the factor is
/// stored, the session is signed in under a new token, and the recovery codes are
/// returned to be shown once.
pub async fn confirm_enrolment(
    app: &Datavow,
    token: &str,
    code: &str,
) -> Result<(ConsoleSession, Vec<SecretString>), ConsoleError> {
    let (operator, _, session) = live(app, token).await?.ok_or(ConsoleError::NotSignedIn)?;
    let pending = session.pending_secret.ok_or(ConsoleError::WrongStage)?;
    let key = check_code_throttle(app, &operator)?;
    let secret = app
        .vault
        .open_operator_secret(&operator.name, &pending)
        .await?;
    let totp = totp(app, &operator.name, &secret)?;
    let Some(step) = matching_step(&totp, code.trim(), Utc::now().timestamp()) else {
        return Err(refuse_code(app, &operator, &key, "enrolment code wrong or expired").await);
    };
    app.accounts.throttle.clear(&key);
    let codes: Vec<SecretString> = (0..RECOVERY_CODES)
        .map(|_| SecretString::from(recovery_code()))
        .collect();
    let hashes: Vec<Vec<u8>> = codes
        .iter()
        .map(|c| digest(&normalise_recovery_code(c.expose_secret())))
        .collect();
    let factor = SecondFactorRow {
        sealed_secret: pending,
        last_step: step,
        enrolled_at_micros: Utc::now().timestamp_micros(),
    };
    let event = AuditEvent {
        detail: Some(format!(
            "TOTP enrolled with {RECOVERY_CODES} recovery codes"
        )),
        ..AuditEvent::new(
            &operator.actor(),
            Action::SecondFactorEnrolled,
            Outcome::Allowed,
        )
    };
    audited_before(app, event, async {
        app.stores
            .console
            .enrol_second_factor(&operator.name, &factor, &hashes)
            .await
    })
    .await?;
    audit(
        app,
        &operator,
        Action::SignIn,
        Outcome::Allowed,
        "console sign-in with password and new TOTP",
    )
    .await?;
    let session = start(app, operator, Stage::SignedIn, None, Some(token)).await?;
    Ok((session, codes))
}

/// Completes a sign-in at [`Stage::SecondFactor`] with a TOTP code or a recovery code;
/// the session is signed in under a new token.
pub async fn second_factor(
    app: &Datavow,
    token: &str,
    code: &str,
) -> Result<ConsoleSession, ConsoleError> {
    let (operator, stage, session) = live(app, token).await?.ok_or(ConsoleError::NotSignedIn)?;
    if stage != Stage::SecondFactor {
        return Err(ConsoleError::WrongStage);
    }
    let created = Some(session.created_at_micros);
    let key = check_code_throttle(app, &operator)?;
    let code = code.trim();
    let how = if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        let factor = app
            .stores
            .console
            .second_factor(&operator.name)
            .await?
            .ok_or(ConsoleError::WrongStage)?;
        let secret = app
            .vault
            .open_operator_secret(&operator.name, &factor.sealed_secret)
            .await?;
        let totp = totp(app, &operator.name, &secret)?;
        let Some(step) = matching_step(&totp, code, Utc::now().timestamp()) else {
            return Err(refuse_code(app, &operator, &key, "TOTP code wrong or expired").await);
        };
        if !app
            .stores
            .console
            .advance_totp_step(&operator.name, step)
            .await?
        {
            return Err(refuse_code(app, &operator, &key, "TOTP code replayed").await);
        }
        "TOTP"
    } else {
        let used = app
            .stores
            .console
            .use_recovery_code(&operator.name, &digest(&normalise_recovery_code(code)))
            .await?;
        if !used {
            return Err(refuse_code(app, &operator, &key, "recovery code wrong or used").await);
        }
        "a recovery code"
    };
    app.accounts.throttle.clear(&key);
    audit(
        app,
        &operator,
        Action::SignIn,
        Outcome::Allowed,
        &format!("console sign-in with password and {how}"),
    )
    .await?;
    start(app, operator, Stage::SignedIn, created, Some(token)).await
}

/// How many unused recovery codes `operator` has.
pub async fn recovery_codes_left(app: &Datavow, operator: &Operator) -> Result<i64, ConsoleError> {
    Ok(app
        .stores
        .console
        .recovery_codes_left(&operator.name)
        .await?)
}

/// Whether `operator` has enrolled a second factor.
pub async fn enrolled(app: &Datavow, operator: &Operator) -> Result<bool, ConsoleError> {
    Ok(app
        .stores
        .console
        .second_factor(&operator.name)
        .await?
        .is_some())
}

/// Ends the session behind `token` (audited when it was signed in).
pub async fn sign_out(app: &Datavow, token: &str) -> Result<(), ConsoleError> {
    if let Some((operator, Stage::SignedIn)) = current(app, token).await? {
        audit(
            app,
            &operator,
            Action::SignOut,
            Outcome::Allowed,
            "console sign-out",
        )
        .await?;
    }
    app.stores
        .console
        .delete_operator_session(&digest(token))
        .await?;
    Ok(())
}

/// Removes `name`'s second factor and recovery codes and ends their console sessions
/// (a lost device), audited before. They enrol again at their next sign-in if their
/// role requires it.
pub async fn reset_second_factor(
    app: &Datavow,
    by: &Principal,
    name: &str,
) -> Result<bool, OperatorError> {
    app.stores
        .operators
        .operator_by_name(name)
        .await?
        .ok_or(OperatorError::Unknown)?;
    let event = AuditEvent {
        detail: Some(format!(
            "second factor of operator {name} reset; their console sessions ended"
        )),
        ..AuditEvent::new(&by.actor(), Action::SecondFactorReset, Outcome::Allowed)
    };
    audited_before(app, event, async {
        app.stores
            .console
            .clear_second_factor(name)
            .await
            .map_err(OperatorError::from)
    })
    .await
}

/// The TOTP code of `secret_base32` at `unix_seconds`: what an authenticator app shows.
/// For tests that play the operator's device.
#[cfg(feature = "testkit")]
pub fn code_at(secret_base32: &str, unix_seconds: u64) -> String {
    let secret = totp_rs::Secret::Encoded(secret_base32.to_owned())
        .to_bytes()
        .unwrap_or_default();
    TOTP::new_unchecked(Algorithm::SHA1, 6, 1, 30, secret, None, String::new())
        .generate(unix_seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_typed_loosely_and_hashed_strictly() {
        let code = recovery_code();
        assert_eq!(code.len(), 11);
        assert_eq!(
            normalise_recovery_code(&code.to_uppercase().replace('-', " ")),
            code.replace('-', "")
        );
        assert_ne!(recovery_code(), code);
    }

    #[test]
    fn a_code_matches_its_own_step_and_its_neighbours_only() {
        let secret = [7u8; SECRET_BYTES];
        let totp = TOTP::new_unchecked(
            Algorithm::SHA1,
            6,
            1,
            30,
            secret.to_vec(),
            None,
            String::new(),
        );
        let now = 1_800_000_000_i64;
        let step = now / STEP_SECONDS;
        let code = totp.generate(u64::try_from(now).expect("positive"));
        assert_eq!(matching_step(&totp, &code, now), Some(step));
        assert_eq!(matching_step(&totp, &code, now + 30), Some(step));
        assert_eq!(matching_step(&totp, &code, now - 30), Some(step));
        assert_eq!(matching_step(&totp, &code, now + 90), None);
        assert_eq!(matching_step(&totp, "000000x", now), None);
    }

    #[test]
    fn rfc_6238_test_vector_for_sha1() {
        // RFC 6238 Appendix B: secret "12345678901234567890", T = 59 s → 94287082 (8 digits).
        let totp = TOTP::new_unchecked(
            Algorithm::SHA1,
            8,
            1,
            30,
            b"12345678901234567890".to_vec(),
            None,
            String::new(),
        );
        assert_eq!(totp.generate(59), "94287082");
        assert_eq!(totp.generate(1_111_111_109), "07081804");
    }
}
