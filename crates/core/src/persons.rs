//! What operators do to a person's data (P11, P12, P13, P4): find a person through the
//! blind indexes, see their data for a purpose, read their access log, record a payment
//! reference. The JSON API and the HTML pages both call these; each first asks
//! [`crate::access`] whether the operator's role may do the act.
//!
//! Invariants: a refused act touches nothing and is answered with [`PersonsError::Denied`];
//! values keep their shape (a postal address is an object); no view carries a password
//! hash, whatever the purpose.

use crate::access::{Denied, OperatorAct};
use crate::accounts::{validate, AccountError};
use crate::audit::AccessEntry;
use crate::operators::Operator;
use crate::Datavow;
use datavow_policy::{Category, Field, Purpose};
use datavow_store::{PersonId, StoreError};
use datavow_vault::{IndexKind, Personal, VaultError};
use std::collections::BTreeMap;

/// How an operator names the person they look for. Prints redacted.
#[derive(Clone, PartialEq, Eq)]
pub enum PersonKey {
    Email(String),
    UserId(String),
    /// Datavow's own id of the person (not personal data).
    Id(PersonId),
}

impl std::fmt::Debug for PersonKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PersonKey::Email(_) => f.write_str("Email([personal])"),
            PersonKey::UserId(_) => f.write_str("UserId([personal])"),
            PersonKey::Id(id) => write!(f, "Id({id})"),
        }
    }
}

/// Why an operator's act on a person failed. Messages carry no personal data.
#[derive(Debug, thiserror::Error)]
pub enum PersonsError {
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error("no such person")]
    NotFound,
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Account(#[from] AccountError),
}

/// Finds a person through the blind index of an email address or a userID. The
/// look-up is audited, hit or miss.
pub async fn search(
    app: &Datavow,
    operator: &Operator,
    key: &PersonKey,
) -> Result<Option<PersonId>, PersonsError> {
    let act = match key {
        PersonKey::Email(_) => OperatorAct::SearchByEmail,
        PersonKey::UserId(_) | PersonKey::Id(_) => OperatorAct::SearchByUserId,
    };
    let grant = app.door.operator(&app.policy, operator, act)?;
    find(app, &grant, key).await
}

/// The person `key` names, under `grant` (audited by the vault).
pub(crate) async fn find(
    app: &Datavow,
    grant: &datavow_vault::Grant,
    key: &PersonKey,
) -> Result<Option<PersonId>, PersonsError> {
    Ok(match key {
        PersonKey::Email(v) => app.vault.find(grant, IndexKind::Email, v).await?,
        PersonKey::UserId(v) => app.vault.find(grant, IndexKind::UserId, v).await?,
        PersonKey::Id(id) => app.stores.persons.person(*id).await?.map(|row| row.id),
    })
}

/// A person's data as one purpose may see it.
#[derive(Debug, Clone)]
pub struct PersonView {
    pub person: PersonId,
    pub entity: datavow_policy::Entity,
    pub purpose: Purpose,
    /// Field name to value (a postal address as an object), only for the categories
    /// the purpose may use. Prints redacted.
    pub fields: RedactedFields,
    /// Categories held back because the purpose may not use them.
    pub withheld: Vec<Category>,
}

/// Field values of a view; `{:?}` shows the field names only.
#[derive(Clone, Default)]
pub struct RedactedFields(pub BTreeMap<String, serde_json::Value>);

impl std::fmt::Debug for RedactedFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

/// A value as it leaves Datavow: structured fields as their structure.
fn shaped(field: Field, value: &Personal) -> serde_json::Value {
    match field {
        Field::PostalAddress => serde_json::from_str(value.expose())
            .unwrap_or_else(|_| serde_json::Value::String(value.expose().to_owned())),
        _ => serde_json::Value::String(value.expose().to_owned()),
    }
}

/// Shows a person's data for `purpose`, if the operator's role may use it. The vault
/// reads only the categories the purpose may use and refuses a purpose that needs
/// consent for a person without it.
pub async fn view(
    app: &Datavow,
    operator: &Operator,
    person: PersonId,
    purpose: Purpose,
) -> Result<PersonView, PersonsError> {
    let grant = app
        .door
        .operator(&app.policy, operator, OperatorAct::View(purpose))?;
    let row = app
        .stores
        .persons
        .person(person)
        .await?
        .ok_or(PersonsError::NotFound)?;
    let view = app.vault.read_for_purpose(&grant, person).await?;
    let entity = app
        .policy
        .entity(&row.entity)
        .cloned()
        .ok_or(PersonsError::NotFound)?;
    Ok(PersonView {
        person,
        entity,
        purpose,
        fields: RedactedFields(
            view.record
                .iter()
                .map(|(f, v)| (f.to_string(), shaped(f, v)))
                .collect(),
        ),
        withheld: view.withheld,
    })
}

/// Who did what to a person's data, newest first (privacy officers). The read is
/// audited.
pub async fn access_log(
    app: &Datavow,
    operator: &Operator,
    person: PersonId,
    limit: i64,
) -> Result<Vec<AccessEntry>, PersonsError> {
    let grant = app
        .door
        .operator(&app.policy, operator, OperatorAct::ReadAccessLog)?;
    let tag = app.vault.subject_tag(&grant, person).await?;
    Ok(crate::audit::read_access_log(app, &operator.actor(), &tag, limit, true).await?)
}

/// Sets a person's payment reference (billing, P4). Only a processor token is
/// accepted; a card number is refused and never stored.
pub async fn set_payment_reference(
    app: &Datavow,
    operator: &Operator,
    person: PersonId,
    reference: &str,
) -> Result<(), PersonsError> {
    let grant = app
        .door
        .operator(&app.policy, operator, OperatorAct::SetPaymentReference)?;
    let reference = reference.trim();
    if validate::any_card_number([reference]) {
        return Err(AccountError::CardNumber.into());
    }
    if !validate::is_payment_reference(reference) {
        let mut problems = validate::Problems::default();
        problems.add(
            "payment_reference",
            "invalid_payment_reference",
            "payment_reference must be the payment processor's reference, such as cus_Q2x9LmT7",
        );
        return Err(AccountError::Invalid(problems.0).into());
    }
    app.vault
        .update(
            &grant,
            person,
            &[(Field::PaymentReference, Personal::new(reference))],
        )
        .await?;
    Ok(())
}

/// The access log of the person named by an email address or userID, for the
/// instance's owner at the command line (`datavow audit show`). `None` when nobody
/// matches; an erased person's entries can no longer be found (their tag is gone).
pub async fn access_log_for_owner(
    app: &Datavow,
    by: &crate::Principal,
    key: &PersonKey,
    limit: i64,
) -> Result<Option<Vec<AccessEntry>>, PersonsError> {
    let grant = app
        .door
        .system(by.actor(), crate::access::SystemAct::PrivacyTool)?;
    let Some(person) = find(app, &grant, key).await? else {
        return Ok(None);
    };
    let tag = app.vault.subject_tag(&grant, person).await?;
    Ok(Some(
        crate::audit::read_access_log(app, &by.actor(), &tag, limit, true).await?,
    ))
}

/// An invoice as recorded and read back (P7: kept 8 years in Germany, 5 in Denmark,
/// from the end of the year of issue).
#[derive(Clone, PartialEq, Eq)]
pub struct Invoice {
    pub id: uuid::Uuid,
    /// The retention class, `invoices:ENTITY:YEAR`.
    pub class: String,
    /// The invoice as the billing system sent it (text or JSON).
    pub document: String,
    /// RFC 3339.
    pub recorded_at: String,
    /// The entity that issued it (from its class), with its address and privacy
    /// contact (P17).
    pub issuer: Option<datavow_policy::Entity>,
}

datavow_policy::redacted_debug!(Invoice {
    id,
    class,
    document,
    recorded_at,
    issuer
});

/// The retention class and end of an invoice of `entity` issued in `year`: its own key,
/// kept for the billing-records period of the entity's country from the end of the year.
fn invoice_class(
    app: &Datavow,
    entity: &datavow_policy::Entity,
    year: i32,
) -> (String, Option<i64>) {
    use chrono::TimeZone;
    let rule = app
        .policy
        .retention(Category::BillingRecords)
        .for_country(Some(entity.country));
    let base = app.policy.retention(Category::BillingRecords).class.clone();
    let expires = match rule.keep {
        datavow_policy::Keep::For(period) => chrono::Utc
            .with_ymd_and_hms(year, 12, 31, 23, 59, 59)
            .single()
            .map(|t| {
                period
                    .after(datavow_policy::end_of_year(t))
                    .timestamp_micros()
            }),
        datavow_policy::Keep::WhileAccountOpen => None,
    };
    (format!("{base}:{}:{year}", entity.id), expires)
}

/// Records an invoice of `person` issued on `issued_on` (billing). It is sealed under
/// its own class key (entity and year of issue), so it can outlive the account for the
/// legal retention period. A card number is refused.
pub async fn record_invoice(
    app: &Datavow,
    operator: &Operator,
    person: PersonId,
    issued_on: chrono::NaiveDate,
    document: &str,
) -> Result<uuid::Uuid, PersonsError> {
    use chrono::Datelike;
    let grant = app
        .door
        .operator(&app.policy, operator, OperatorAct::RecordInvoice)?;
    if validate::any_card_number([document]) {
        return Err(AccountError::CardNumber.into());
    }
    if document.trim().is_empty() || document.len() > 64 * 1024 {
        let mut problems = validate::Problems::default();
        problems.add(
            "document",
            "invalid_document",
            "document must be the invoice, 1 byte to 64 KiB",
        );
        return Err(AccountError::Invalid(problems.0).into());
    }
    let row = app
        .stores
        .persons
        .person(person)
        .await?
        .ok_or(PersonsError::NotFound)?;
    let entity = app
        .policy
        .entity(&row.entity)
        .ok_or(PersonsError::NotFound)?;
    let (class, expires) = invoice_class(app, entity, issued_on.year());
    Ok(app
        .vault
        .retain(
            &grant,
            person,
            &class,
            expires,
            Field::Invoice,
            &Personal::new(document),
        )
        .await?)
}

/// The invoices of `person`, read for `purpose` (billing while the account exists; the
/// legal obligation always, and only it once the account is erased).
pub async fn invoices(
    app: &Datavow,
    operator: &Operator,
    person: PersonId,
    purpose: Purpose,
) -> Result<Vec<Invoice>, PersonsError> {
    let grant = app
        .door
        .operator(&app.policy, operator, OperatorAct::View(purpose))?;
    Ok(app
        .vault
        .retained(&grant, person)
        .await?
        .into_iter()
        .filter(|r| r.field == Field::Invoice)
        .map(|r| Invoice {
            id: r.id,
            issuer: r
                .class
                .split(':')
                .nth(1)
                .and_then(|id| app.policy.entity(id))
                .cloned(),
            class: r.class,
            document: r.value.expose().to_owned(),
            recorded_at: chrono::DateTime::from_timestamp_micros(r.created_at_micros)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default(),
        })
        .collect())
}

/// Flags `person` as a child whose data was collected without parental consent (P15):
/// their data is erased at once, with no grace period and nothing kept restricted.
pub async fn flag_child(
    app: &Datavow,
    operator: &Operator,
    person: PersonId,
) -> Result<crate::erasure::ErasureResult, PersonsError> {
    app.door
        .operator(&app.policy, operator, OperatorAct::FlagChild)?;
    crate::erasure::erase(
        app,
        person,
        crate::erasure::Reason::Child,
        &crate::Principal::operator(operator),
    )
    .await
    .map_err(|err| match err {
        crate::erasure::ErasureError::NoSuchPerson => PersonsError::NotFound,
        crate::erasure::ErasureError::Vault(v) => PersonsError::Vault(v),
        crate::erasure::ErasureError::Store(s) => PersonsError::Store(s),
        crate::erasure::ErasureError::Denied(d) => PersonsError::Denied(d),
    })
}

/// Records a person's marketing choice that reached an operator (roles that answer
/// people's requests): stored as made by an operator, under the policy in force;
/// opting out puts the address on the suppression list, opting in takes it off.
pub async fn set_marketing(
    app: &Datavow,
    operator: &Operator,
    person: PersonId,
    opt_in: bool,
) -> Result<(), PersonsError> {
    let grant = app
        .door
        .operator(&app.policy, operator, OperatorAct::RecordConsent)?;
    crate::accounts::record_marketing_choice(
        app,
        &grant,
        person,
        opt_in,
        datavow_vault::consent::How::Operator,
    )
    .await?;
    Ok(())
}
