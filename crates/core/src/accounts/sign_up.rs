//! Sign-up (P1, P2, P15) and the contact form for visitors (P1).

use super::*;

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
    let (password, phc) = generated_password(app).await?;
    let mut values = profile.values;
    if let Some(birth) = birth {
        values.push((Field::BirthDate, Personal::new(birth.to_string())));
    }
    values.push((Field::PasswordHash, Personal::new(phc)));
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
        consent::value(opt_in, now, how, &app.policy.version),
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
