//! A signed-in person on their own data (P13): see, correct, download, ask for
//! erasure, switch marketing, change the password, see who accessed it.

use super::*;

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
    /// How the last choice was made: `sign_up`, `dashboard`, `unsubscribe_link`,
    /// `operator`, or `suppression_list` (out because the address was opted out or
    /// erased before).
    pub marketing_changed_how: Option<String>,
    /// The policy version in force when the last choice was made.
    pub marketing_policy_version: Option<String>,
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
    marketing_changed_how,
    marketing_policy_version,
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
    /// Where the person writes about their data.
    pub privacy_contact: String,
}

/// Fields a person sees of themselves: everything but the password hash.
pub(super) const OWN_FIELDS: &[Field] = &[
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
    me.own_view(app, |grant| async move {
        profile_with(app, &grant, me.person).await
    })
    .await
}

/// [`profile`] under a grant the caller already holds (one key fetch per request).
pub(super) async fn profile_with(
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
    let choice = consent::parse(&consent);
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
        marketing_opt_in: choice.opted_in,
        marketing_changed_at: choice.at,
        marketing_changed_how: choice.how,
        marketing_policy_version: choice.policy,
        entity: EntityInfo {
            id: summary.entity.clone(),
            name: entity.map(|e| e.name.clone()).unwrap_or_default(),
            address: entity.map(|e| e.address.clone()).unwrap_or_default(),
            privacy_contact: entity.map_or_else(
                || app.policy.privacy_contact.clone(),
                |e| e.privacy_contact.clone(),
            ),
        },
        policy_version_acknowledged: summary.policy_version,
        policy_version_current: crate::policy_versions::in_force(app, Utc::now()).await?,
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

/// Turns marketing on or off, effective at once (P11). Opting out puts the address on
/// the suppression list (as a keyed hash); opting in again takes it off.
pub async fn set_marketing(app: &Datavow, me: &SignedIn, opt_in: bool) -> Result<(), AccountError> {
    record_marketing_choice(
        app,
        &me.grant(app)?,
        me.person,
        opt_in,
        consent::How::Dashboard,
    )
    .await
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

/// What an erasure request answers: the request as registered, and what the erasure
/// did (P14).
#[derive(Debug, Clone)]
pub struct ErasureReceipt {
    pub request: SubjectRequestRow,
    pub result: crate::erasure::ErasureResult,
}

/// Erases the person's account at their request (P13, P14), at once: the request is
/// registered (audited before), the erasure runs (see [`crate::erasure`]) and the
/// request is completed. The person is told what was erased and what is kept, on which
/// legal ground, until when. Their session ends with their account.
pub async fn request_erasure(app: &Datavow, me: &SignedIn) -> Result<ErasureReceipt, AccountError> {
    let (grant, person) = (me.grant(app)?, me.person);
    let now = Utc::now();
    let mut request = SubjectRequestRow {
        id: uuid::Uuid::new_v4(),
        person_id: Some(person),
        kind: "erasure".into(),
        channel: "dashboard".into(),
        received_at: now,
        deadline_at: app.policy.request_deadline.after(now),
        status: "in_progress".into(),
    };
    let tag = app.vault.subject_tag(&grant, person).await?;
    let actor = Actor::Person(tag.clone());
    let event = AuditEvent {
        subject: Some(tag),
        purpose: Some(Purpose::Requests),
        detail: Some(format!(
            "erasure request {} received via dashboard",
            request.id
        )),
        ..AuditEvent::new(&actor, Action::RequestFiled, Outcome::Allowed)
    };
    crate::audit::audited_before(app, event, async {
        Ok::<_, AccountError>(app.stores.accounts.insert_request(&request).await?)
    })
    .await?;
    let result = crate::erasure::erase(
        app,
        person,
        crate::erasure::Reason::Request,
        &crate::Principal(actor),
    )
    .await
    .map_err(|err| match err {
        crate::erasure::ErasureError::Vault(v) => AccountError::Vault(v),
        crate::erasure::ErasureError::Store(s) => AccountError::Store(s),
        crate::erasure::ErasureError::NoSuchPerson => AccountError::NotSignedIn,
        crate::erasure::ErasureError::Denied(d) => AccountError::Denied(d),
    })?;
    app.stores
        .accounts
        .set_request_status(request.id, "completed")
        .await?;
    request.status = "completed".into();
    request.person_id = None;
    Ok(ErasureReceipt { request, result })
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
    let dismissed = app
        .stores
        .policy_texts
        .dismissed_policy_notices(person)
        .await?;
    let requests = app.stores.accounts.requests_of(person).await?;
    let access = app.audit.for_subject(&tag, 10_000).await?;
    let browser = crate::browser::linked_records(app, &grant, person).await?;
    let kept = app.vault.retained(&grant, person).await?;
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
            "privacy_contact": entity.map_or(app.policy.privacy_contact.as_str(), |e| e.privacy_contact.as_str()),
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
        "marketing": {
            "opted_in": profile.marketing_opt_in, "changed_at": profile.marketing_changed_at,
            "how": profile.marketing_changed_how, "policy_version": profile.marketing_policy_version,
        },
        "categories_held": held,
        "policy": {
            "current_version": profile.policy_version_current,
            "notice_dismissals": dismissed.iter().map(|(version, at)| serde_json::json!({
                "version": version,
                "at": DateTime::from_timestamp_micros(*at).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            })).collect::<Vec<_>>(),
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
        "records_kept_for_the_law": kept.iter().map(|r| serde_json::json!({
            "class": r.class, "field": r.field.as_str(), "value": r.value.expose(),
            "recorded_at": DateTime::from_timestamp_micros(r.created_at_micros)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        })).collect::<Vec<_>>(),
    }))
}

/// Who read or changed the signed-in person's data, newest first (P13: the dashboard's
/// "who accessed your data"). Reading it is itself audited, once per session and day
/// like the person's other own views.
pub async fn access_log(
    app: &Datavow,
    me: &SignedIn,
    limit: i64,
) -> Result<Vec<AccessEntry>, AccountError> {
    me.own_view(app, |grant| async move {
        let tag = app.vault.subject_tag(&grant, me.person).await?;
        let reader = Actor::Person(tag.clone());
        let record = grant.audits_reads();
        Ok(crate::audit::read_access_log(app, &reader, &tag, limit, record).await?)
    })
    .await
}
