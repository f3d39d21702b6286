//! Sign-up (P1, P2, P15) and the contact form for visitors (P1).

use super::*;

/// Creates an account (P1, P2): validates every field, refuses card numbers and
/// children under the age of consent, generates the userID and password, and records
/// the acknowledgement of the policy in force.
pub async fn sign_up(app: &Datavow, input: &SignUpInput) -> Result<NewAccount, AccountError> {
    let prepared = prepare(app, input).await?;
    let (password, phc) = generated_password(app).await?;
    create(app, prepared, None, password, phc).await
}

/// How long a sign-up's answer is kept for a client that sent an `Idempotency-Key`.
pub const REPLAY_WINDOW: Duration = Duration::from_secs(15 * 60);

/// What binds a kept answer to its use.
const REPLAY_LABEL: &[u8] = b"sign-up answer";

/// [`sign_up`] that a client may repeat with the same `key` (an `Idempotency-Key`, at
/// least 16 characters of letters, digits, `-` and `_`; a random UUID is right) and the
/// same input for [`REPLAY_WINDOW`], and get the same userID and password back instead
/// of a second account or an "email taken" error; `true` when the answer is a replay.
///
/// The credentials are made and kept (sealed under a key only `key` derives) before
/// the account is stored, so an account whose answer was lost, even to a crash right
/// after its commit, is answered again; a crash before the commit is finished by the
/// repeat, with the same credentials.
pub async fn sign_up_idempotent(
    app: &Datavow,
    input: &SignUpInput,
    key: &SecretString,
) -> Result<(NewAccount, bool), AccountError> {
    let key = key.expose_secret().as_bytes();
    let key_ok = (16..=200).contains(&key.len())
        && key
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_');
    if !key_ok {
        return Err(AccountError::BadIdempotencyKey);
    }
    let prepared = prepare(app, input).await?;
    let digest = SymmetricKey::holder_digest(key, REPLAY_LABEL);
    let sealer = SymmetricKey::from_holder_secret(key, REPLAY_LABEL);
    let request = request_digest(input);
    let now = Utc::now();
    let window = chrono::Duration::from_std(REPLAY_WINDOW).unwrap_or_default();
    let oldest = (now - window).timestamp_micros();
    let kept = match app.stores.accounts.signup_replay(&digest).await? {
        Some(kept) if kept.created_at_micros < oldest => {
            app.stores
                .accounts
                .delete_signup_replays_before(oldest)
                .await?;
            None
        }
        other => other,
    };
    if let Some(kept) = kept {
        if !bool::from(kept.request_digest.ct_eq(&request)) {
            return Err(AccountError::IdempotencyKeyReused);
        }
        let opened = sealer
            .open(REPLAY_LABEL, &kept.sealed)
            .map_err(|_| AccountError::IdempotencyKeyReused)?;
        let answer: KeptAnswer = serde_json::from_slice(&opened)
            .map_err(|e| AccountError::Internal(format!("a kept sign-up answer: {e}")))?;
        if let Some(account) = existing(app, &answer).await? {
            return Ok((account, true));
        }
        // Kept but never stored: the first attempt ended before its commit.
        let password = SecretString::from(answer.password.clone());
        let phc = password_hash(app, &password).await?;
        return match create(app, prepared, Some(answer.user_id.clone()), password, phc).await {
            Ok(account) => Ok((account, false)),
            // A repeat racing the first attempt: the first one stored it meanwhile.
            Err(err) => match existing(app, &answer).await? {
                Some(account) => Ok((account, true)),
                None => Err(err),
            },
        };
    }
    let (password, phc) = generated_password(app).await?;
    let user_id = credentials::generate_user_id();
    let answer = KeptAnswer {
        user_id: user_id.clone(),
        password: password.expose_secret().to_owned(),
    };
    let plain = zeroize::Zeroizing::new(
        serde_json::to_vec(&answer).map_err(|e| AccountError::Internal(e.to_string()))?,
    );
    let kept = datavow_store::SignupReplay {
        key_digest: digest.to_vec(),
        request_digest: request.to_vec(),
        sealed: sealer.seal(REPLAY_LABEL, &plain),
        created_at_micros: now.timestamp_micros(),
    };
    if !app.stores.accounts.insert_signup_replay(&kept).await? {
        return Err(AccountError::IdempotencyInProgress);
    }
    let account = create(app, prepared, Some(user_id), password, phc).await?;
    Ok((account, false))
}

/// The credentials kept for a repeat, sealed.
#[derive(Serialize, Deserialize, zeroize::ZeroizeOnDrop)]
struct KeptAnswer {
    user_id: String,
    password: String,
}

/// The account the kept answer names, if it was stored (and not erased since).
async fn existing(app: &Datavow, answer: &KeptAnswer) -> Result<Option<NewAccount>, AccountError> {
    let grant = app.door.visitor(VisitorAct::SignIn)?;
    let Some(person) = app
        .vault
        .find(&grant, IndexKind::UserId, &answer.user_id)
        .await?
    else {
        return Ok(None);
    };
    let entity = app
        .stores
        .accounts
        .account_summary(person)
        .await?
        .map(|s| s.entity)
        .unwrap_or_default();
    Ok(Some(NewAccount {
        person,
        user_id: answer.user_id.clone(),
        password: SecretString::from(answer.password.clone()),
        entity,
    }))
}

/// A digest of the sign-up input, to refuse a repeat with other content.
fn request_digest(input: &SignUpInput) -> [u8; 32] {
    let a = input.postal_address.as_ref();
    let parts = [
        input.name.as_deref(),
        input.company.as_deref(),
        input.email.as_deref(),
        input.phone.as_deref(),
        a.map(|a| a.street.as_str()),
        a.map(|a| a.postal_code.as_str()),
        a.map(|a| a.city.as_str()),
        a.map(|a| a.country.as_str()),
        input.business_sector.as_deref(),
        input.interest.as_deref(),
        input.birth_date.as_deref(),
        input.marketing_opt_in.map(|b| if b { "yes" } else { "no" }),
        input.entity.as_deref(),
    ];
    let mut hash = Sha256::new();
    for part in parts {
        match part {
            Some(text) => {
                hash.update([1]);
                hash.update((text.len() as u64).to_be_bytes());
                hash.update(text.as_bytes());
            }
            None => hash.update([0]),
        }
    }
    hash.finalize().into()
}

/// A sign-up that passed every check: what will be stored.
struct Prepared {
    values: Vec<(Field, Personal)>,
    entity: String,
    now: chrono::DateTime<Utc>,
    /// The policy version in force, accepted by signing up.
    policy_version: String,
}

/// Every check of a sign-up, before anything is made or stored.
async fn prepare(app: &Datavow, input: &SignUpInput) -> Result<Prepared, AccountError> {
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
    let policy_version = crate::policy_versions::in_force(app, now).await?;
    let mut values = profile.values;
    if let Some(birth) = birth {
        values.push((Field::BirthDate, Personal::new(birth.to_string())));
    }
    // An address on the suppression list (opted out or erased before) starts out, even
    // if the box was ticked: opting in again is a choice made in the dashboard.
    let suppressed = match values.iter().find(|(f, _)| *f == Field::Email) {
        Some((_, email)) => {
            let digest = app.vault.suppression_digest(email.expose()).await?;
            app.stores.accounts.is_suppressed(&digest).await?
        }
        None => false,
    };
    let (opt_in, how) = match (input.marketing_opt_in.unwrap_or(false), suppressed) {
        (true, true) => (false, consent::How::Suppressed),
        (wanted, _) => (wanted, consent::How::SignUp),
    };
    values.push((
        Field::MarketingConsent,
        consent::value(opt_in, now, how, &policy_version),
    ));
    Ok(Prepared {
        values,
        entity,
        now,
        policy_version,
    })
}

/// Stores the account with its password hash and a userID (`user_id`, or a fresh one
/// retried on the astronomically rare collision), then the acknowledgement.
async fn create(
    app: &Datavow,
    prepared: Prepared,
    given_user_id: Option<String>,
    password: SecretString,
    phc: String,
) -> Result<NewAccount, AccountError> {
    let Prepared {
        mut values,
        entity,
        now,
        policy_version,
    } = prepared;
    values.push((Field::PasswordHash, Personal::new(phc)));
    let grant = app.door.visitor(VisitorAct::SignUp)?;
    let mut attempts = 0;
    let (person, user_id) = loop {
        attempts += 1;
        let user_id = match &given_user_id {
            Some(given) => given.clone(),
            None => credentials::generate_user_id(),
        };
        let mut with_id = values.clone();
        with_id.push((Field::UserId, Personal::new(user_id.clone())));
        match app
            .vault
            .create(&grant, PersonKind::Account, &entity, &with_id)
            .await
        {
            Ok(person) => break (person, user_id),
            Err(VaultError::Taken("user_id")) if attempts < 5 && given_user_id.is_none() => {
                continue
            }
            Err(err) => return Err(err.into()),
        }
    };
    app.stores
        .accounts
        .insert_acknowledgement(
            person,
            &Acknowledgement {
                policy_version: policy_version.clone(),
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
