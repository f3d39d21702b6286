//! Sign-in, sessions and sign-out (P2, P3).

use super::*;

/// A dummy Argon2 hash, verified for unknown userIDs so both answers cost the same.
pub(crate) fn dummy_phc() -> &'static str {
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
    // An account's failures count per client address: a stranger who knows a userID
    // can use up only their own attempts, never lock the owner out. Guessing from many
    // addresses is bounded by the generated passwords' strength and Argon2's cost.
    let account_key = format!(
        "account:{}:{client}",
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
    crate::policy_versions::acknowledge_continued_use(app, person, Utc::now()).await?;
    new_session(app, person).await
}

pub(super) async fn new_session(app: &Datavow, person: PersonId) -> Result<Session, AccountError> {
    let token = SecretString::from(format!("dvs_{}", crate::operators::random_text(43)));
    let now = Utc::now();
    let expires_at = now + chrono::Duration::from_std(SESSION_LIFETIME).unwrap_or_default();
    let token_hash = sha256(token.expose_secret());
    app.stores
        .accounts
        .insert_session(
            &token_hash,
            person,
            now.timestamp_micros(),
            expires_at.timestamp_micros(),
        )
        .await?;
    Ok(Session {
        token,
        person: SignedIn {
            person,
            session: OwnSession {
                token_hash,
                reads_recorded_day: None,
            },
        },
        expires_at,
    })
}

/// The person a session token belongs to, if it is valid.
pub async fn session_person(app: &Datavow, token: &str) -> Result<Option<SignedIn>, AccountError> {
    let token_hash = sha256(token);
    Ok(app
        .stores
        .accounts
        .session(&token_hash, Utc::now().timestamp_micros())
        .await?
        .map(|row| SignedIn {
            person: row.person,
            session: OwnSession {
                token_hash,
                reads_recorded_day: row.own_reads_day,
            },
        }))
}

/// Ends a session.
pub async fn sign_out(app: &Datavow, token: &str) -> Result<(), AccountError> {
    Ok(app.stores.accounts.delete_session(&sha256(token)).await?)
}

/// Replaces `person`'s password with a new generated one and ends every session (account
/// recovery). Returns their userID and the new password, to be shown once.
pub(crate) async fn reset_password(
    app: &Datavow,
    grant: &datavow_vault::Grant,
    person: PersonId,
) -> Result<(String, SecretString), AccountError> {
    let (password, phc) = generated_password(app).await?;
    app.vault
        .update(grant, person, &[(Field::PasswordHash, Personal::new(phc))])
        .await?;
    app.stores.accounts.delete_sessions_of(person).await?;
    let record = app.vault.read(grant, person, &[Field::UserId]).await?;
    let user_id = record
        .get(Field::UserId)
        .map(|u| u.expose().to_owned())
        .unwrap_or_default();
    Ok((user_id, password))
}
