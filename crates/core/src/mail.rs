//! Mail (P11, P13): marketing to people who opted in, with a one-click opt-out in every
//! message (RFC 8058), and transactional mail (account recovery) — all through one
//! queue in the store and one SMTP transport (`lettre`, rustls).
//!
//! - A message is composed, DKIM-signed when a key is configured (the signature covers
//!   `List-Unsubscribe` and `List-Unsubscribe-Post`), sealed under its recipient's key
//!   and queued; [`deliver_due`] (the `mail-delivery` job, one node at a time) hands it
//!   to the SMTP server, retrying with backoff (30 s doubling to 1 h) and giving up
//!   after [`MAX_ATTEMPTS`] into the dead-letter list. A queued message survives
//!   restarts and an SMTP server that is down; an erased recipient's mail is dropped.
//! - Marketing goes only to people the vault lets the marketing purpose read (their
//!   consent is "in") whose address is not on the suppression list; each gets their
//!   language (their controlling entity's country: de for Germany, da for Denmark, en
//!   otherwise).
//! - An unsubscribe link carries a signed per-person token; [`unsubscribe`] needs no
//!   sign-in, is idempotent, and the opt-out is stored before it answers.
//! - Account recovery sends a link valid once for [`RECOVERY_LIFETIME`]; asking for one
//!   answers alike whether or not the address has an account.
//!
//! Invariants: no message content or address is logged; the SMTP server's refusals are
//! kept as the reason of a failed attempt (they name no content).

use crate::access::{OperatorAct, SystemAct, VisitorAct};
use crate::accounts::AccountError;
use crate::operators::Operator;
use crate::{Datavow, Principal};
use chrono::{DateTime, Utc};
use datavow_policy::{Field, Purpose};
use datavow_store::{PersonId, QueuedMail, StoreError};
use datavow_vault::{consent, Grant, IndexKind, VaultError};
use lettre::message::dkim::{
    DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm,
    DkimSigningKey,
};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::Duration;

/// Attempts before a message goes to the dead-letter list.
pub const MAX_ATTEMPTS: i64 = 12;
/// How long an account recovery link works.
pub const RECOVERY_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// Where and how mail is sent (settings `smtp_url`, `mail_from`, `public_url`,
/// `dkim_key_file`, `dkim_selector`).
#[derive(Clone)]
pub struct MailSettings {
    /// `smtp://host:port` (STARTTLS when offered), `smtps://host:port` (implicit TLS),
    /// with `user:password@` for authentication.
    pub smtp_url: SecretString,
    /// `Name <address>` or an address.
    pub mail_from: String,
    /// The base of links in messages, such as `https://privacy.example.com`.
    pub public_url: String,
    /// A PKCS#1 PEM RSA key and its selector; the domain is `mail_from`'s.
    pub dkim: Option<(String, SecretString)>,
    /// A PEM certificate to trust for the SMTP server besides the public roots (an
    /// internal relay with its own certificate authority).
    pub smtp_ca_pem: Option<String>,
}

impl std::fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailSettings")
            .field("mail_from", &self.mail_from)
            .field("public_url", &self.public_url)
            .field("dkim", &self.dkim.as_ref().map(|(selector, _)| selector))
            .finish_non_exhaustive()
    }
}

/// Why mail could not be sent or set up. No message content or address.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("mail is not configured: set smtp_url, mail_from and public_url")]
    NotConfigured,
    #[error("mail settings: {0}")]
    Settings(String),
    #[error("this link is not valid (it was altered, used, or has expired)")]
    BadToken,
    #[error("the campaign needs an English body; German and Danish ones are optional")]
    NoEnglishBody,
    #[error(transparent)]
    Denied(#[from] crate::access::Denied),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Account(#[from] AccountError),
}

/// The SMTP transport, the sender and the DKIM key of an instance.
pub(crate) struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    public_url: String,
    dkim: Option<DkimConfig>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("public_url", &self.public_url)
            .field("dkim", &self.dkim.is_some())
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// Checks the settings; nothing is sent yet.
    pub(crate) fn new(settings: &MailSettings) -> Result<Mailer, MailError> {
        let url = settings.smtp_url.expose_secret();
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|_| {
                MailError::Settings(
                    "smtp_url must be smtp://host:port or smtps://host:port, with user:password@ for authentication".into(),
                )
            })?
            .timeout(Some(Duration::from_secs(20)));
        if let Some(pem) = &settings.smtp_ca_pem {
            use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
            let certificate = Certificate::from_pem(pem.as_bytes())
                .map_err(|_| MailError::Settings("smtp_ca_file is not a PEM certificate".into()))?;
            let parameters = TlsParameters::builder(smtp_host(url))
                .add_root_certificate(certificate)
                .build_rustls()
                .map_err(|_| {
                    MailError::Settings("smtp_ca_file could not be used for TLS".into())
                })?;
            // smtps:// is TLS from the first byte; smtp:// must upgrade with STARTTLS.
            builder = builder.tls(if url.starts_with("smtps://") {
                Tls::Wrapper(parameters)
            } else {
                Tls::Required(parameters)
            });
        }
        let transport = builder.build();
        let from: Mailbox = settings
            .mail_from
            .parse()
            .map_err(|_| MailError::Settings("mail_from is not an email address".into()))?;
        let public_url = settings.public_url.trim_end_matches('/').to_owned();
        if !(public_url.starts_with("https://") || public_url.starts_with("http://")) {
            return Err(MailError::Settings(
                "public_url must be the https:// address people reach Datavow at".into(),
            ));
        }
        let dkim = match &settings.dkim {
            None => None,
            Some((selector, pem)) => {
                let key = DkimSigningKey::new(pem.expose_secret(), DkimSigningAlgorithm::Rsa)
                    .map_err(|_| {
                        MailError::Settings(
                            "dkim_key_file must hold an RSA private key in PKCS#1 PEM (BEGIN RSA PRIVATE KEY)".into(),
                        )
                    })?;
                let headers = [
                    "From",
                    "To",
                    "Subject",
                    "Date",
                    "Message-ID",
                    "List-Unsubscribe",
                    "List-Unsubscribe-Post",
                ]
                .into_iter()
                .map(HeaderName::new_from_ascii_str)
                .collect();
                Some(DkimConfig::new(
                    selector.clone(),
                    from.email.domain().to_owned(),
                    key,
                    headers,
                    DkimCanonicalization {
                        header: DkimCanonicalizationType::Relaxed,
                        body: DkimCanonicalizationType::Relaxed,
                    },
                ))
            }
        };
        Ok(Mailer {
            transport,
            from,
            public_url,
            dkim,
        })
    }
}

/// The host of an SMTP URL (after any `user:password@`, before the port).
fn smtp_host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.split([':', '/', '?'])
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// A person's language for mail (their controlling entity's country) and the
/// signature that closes every message: that entity's name, address and privacy
/// contact (P17).
async fn language(app: &Datavow, person: PersonId) -> Result<(&'static str, String), MailError> {
    let entity = app
        .stores
        .persons
        .person(person)
        .await?
        .and_then(|row| app.policy.entity(&row.entity).cloned())
        .unwrap_or_else(|| app.policy.entity_for_country(None).clone());
    let lang = match entity.country.as_str() {
        "DE" => "de",
        "DK" => "da",
        _ => "en",
    };
    let signature = format!(
        "{}\n{}\n{}: {}",
        entity.name,
        entity.address.join(", "),
        text(lang, "privacy_contact"),
        entity.privacy_contact
    );
    Ok((lang, signature))
}

/// Texts of the messages Datavow writes itself, per language.
fn text(lang: &str, key: &str) -> &'static str {
    match (lang, key) {
        ("de", "greeting") => "Guten Tag",
        ("da", "greeting") => "Hej",
        (_, "greeting") => "Hello",
        ("de", "privacy_contact") => "Datenschutz",
        ("da", "privacy_contact") => "Databeskyttelse",
        (_, "privacy_contact") => "Privacy",
        ("de", "footer") => "Sie erhalten diese Nachricht, weil Sie Werbung von uns zugestimmt haben. Abmelden mit einem Klick:",
        ("da", "footer") => "Du modtager denne besked, fordi du har sagt ja til markedsføring fra os. Afmeld med ét klik:",
        (_, "footer") => "You receive this because you agreed to hear from us. Unsubscribe with one click:",
        ("de", "recovery_subject") => "Ihr Link für ein neues Passwort",
        ("da", "recovery_subject") => "Dit link til en ny adgangskode",
        (_, "recovery_subject") => "Your link to a new password",
        ("de", "recovery_body") => "Öffnen Sie diesen Link, um ein neues Passwort zu erhalten. Er gilt einmal und 30 Minuten lang. Wenn Sie ihn nicht angefordert haben, ignorieren Sie diese Nachricht.",
        ("da", "recovery_body") => "Åbn dette link for at få en ny adgangskode. Det virker én gang og i 30 minutter. Hvis du ikke har bedt om det, så se bort fra denne besked.",
        (_, "recovery_body") => "Open this link to get a new password. It works once, for 30 minutes. If you did not ask for it, ignore this message.",
        ("de", "policy_subject") => "Unsere Datenschutzerklärung ändert sich",
        ("da", "policy_subject") => "Vores privatlivspolitik ændres",
        (_, "policy_subject") => "Our privacy policy is changing",
        ("de", "policy_body") => "wir haben unsere Datenschutzerklärung geändert. Die neue Fassung gilt ab dem unten genannten Datum; wenn Sie unsere Dienste danach weiter nutzen, gilt sie für Sie. Sie können sie hier lesen, und auch sehen, was sich geändert hat:",
        ("da", "policy_body") => "vi har ændret vores privatlivspolitik. Den nye udgave gælder fra datoen nedenfor; bruger du vores tjenester derefter, gælder den for dig. Du kan læse den her og se, hvad der er ændret:",
        (_, "policy_body") => "we have changed our privacy policy. The new version applies from the date below; if you go on using our services after it, it applies to you. You can read it here, and see what changed:",
        ("de", "policy_effective") => "Gültig ab",
        ("da", "policy_effective") => "Gælder fra",
        (_, "policy_effective") => "In force from",
        ("de", "extension_subject") => "Ihre Anfrage: die Frist verlängert sich",
        ("da", "extension_subject") => "Din anmodning: fristen forlænges",
        (_, "extension_subject") => "Your request: we need more time",
        ("de", "extension_body") => "wir brauchen für die Beantwortung Ihrer Anfrage mehr Zeit (Art. 12 Abs. 3 DSGVO). Die neue Frist und der Grund:",
        ("da", "extension_body") => "vi har brug for mere tid til at besvare din anmodning (GDPR art. 12, stk. 3). Den nye frist og grunden:",
        (_, "extension_body") => "we need more time to answer your request (GDPR Art. 12(3)). The new deadline and the reason:",
        ("de", "new_deadline") => "Neue Frist",
        ("da", "new_deadline") => "Ny frist",
        (_, "new_deadline") => "New deadline",
        ("de", "reason") => "Grund",
        ("da", "reason") => "Grund",
        (_, "reason") => "Reason",
        _ => "",
    }
}

/// The mailbox of `person` (their name and address) under `grant`; `None` once they
/// are erased or have no valid address.
async fn recipient(
    app: &Datavow,
    grant: &datavow_vault::Grant,
    person: PersonId,
) -> Result<Option<Mailbox>, MailError> {
    let record = match app
        .vault
        .read(grant, person, &[Field::Name, Field::Email])
        .await
    {
        Ok(record) => record,
        Err(VaultError::Shredded | VaultError::NoSuchPerson) => return Ok(None),
        Err(err) => return Err(err.into()),
    };
    let name = record.get(Field::Name).map(|n| n.expose().to_owned());
    Ok(record
        .get(Field::Email)
        .and_then(|e| e.expose().parse().ok())
        .map(|address| Mailbox::new(name, address)))
}

/// Queues the announcement of a material policy version to every account holder whose
/// address the service purpose may read (transactional: no consent needed, no
/// unsubscribe). `since` is the version before it, for the link to the changes. Returns
/// the number queued.
pub(crate) async fn announce_policy(
    app: &Datavow,
    version: &crate::policy_versions::PolicyVersion,
    since: Option<&str>,
) -> Result<u64, MailError> {
    let grant = app.door.system(
        datavow_vault::Actor::System("policy-announcements".into()),
        SystemAct::PolicyNotice,
    )?;
    let base = mailer(app)?.public_url.clone();
    let read_link = format!("{base}/privacy?version={}", version.version);
    let changes_link =
        since.map(|s| format!("{base}/privacy/diff?from={s}&to={}", version.version));
    let mut queued = 0;
    for person in app.stores.persons.account_ids().await? {
        let Some(to) = recipient(app, &grant, person).await? else {
            continue;
        };
        let (lang, signature) = language(app, person).await?;
        let body = format!(
            "{} {},\n\n{}\n\n{read_link}\n{}\n\n{}: {}\n\n{signature}\n",
            text(lang, "greeting"),
            to.name.as_deref().unwrap_or_default(),
            text(lang, "policy_body"),
            changes_link.as_deref().unwrap_or_default(),
            text(lang, "policy_effective"),
            version.effective_at.format("%Y-%m-%d %H:%M UTC"),
        );
        queue(
            app,
            &grant,
            person,
            "policy_notice",
            to,
            text(lang, "policy_subject"),
            body,
            None,
        )
        .await?;
        queued += 1;
    }
    Ok(queued)
}

/// Tells `person` that the deadline of their request (`kind`) moved to `due`, and
/// why (GDPR Art. 12(3)): a transactional message under the requests purpose.
pub(crate) async fn tell_request_extended(
    app: &Datavow,
    person: PersonId,
    kind: &str,
    due: chrono::NaiveDate,
    reason: &str,
) -> Result<(), MailError> {
    mailer(app)?;
    let grant = app.door.system(
        datavow_vault::Actor::System("requests".into()),
        SystemAct::RequestNotice,
    )?;
    let Some(to) = recipient(app, &grant, person).await? else {
        return Ok(());
    };
    let (lang, signature) = language(app, person).await?;
    let body = format!(
        "{} {},\n\n{}\n\n{} ({kind}): {due}\n{}: {reason}\n\n{signature}\n",
        text(lang, "greeting"),
        to.name.as_deref().unwrap_or_default(),
        text(lang, "extension_body"),
        text(lang, "new_deadline"),
        text(lang, "reason"),
    );
    queue(
        app,
        &grant,
        person,
        "request_extended",
        to,
        text(lang, "extension_subject"),
        body,
        None,
    )
    .await
}

/// A marketing campaign: a subject and a body per language (English required).
#[derive(Debug, Clone, Default)]
pub struct Campaign {
    pub subject: String,
    /// `en`, `de`, `da` → body text.
    pub bodies: BTreeMap<String, String>,
    /// Only people whose business sector is this one.
    pub segment: Option<String>,
}

/// What a send did. Counts only.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SendSummary {
    pub queued: u64,
    /// Without consent, on the suppression list, outside the segment, or erased.
    pub skipped: u64,
}

/// Who sends a campaign: a marketing operator, or the instance's owner at the shell.
#[derive(Debug, Clone)]
pub enum Sender<'a> {
    Operator(&'a Operator),
    Owner(&'a Principal),
}

fn mailer(app: &Datavow) -> Result<&Mailer, MailError> {
    app.mailer.as_deref().ok_or(MailError::NotConfigured)
}

/// Composes, signs, seals and queues one message to `person` (whose grant is open).
#[allow(clippy::too_many_arguments)]
async fn queue(
    app: &Datavow,
    grant: &Grant,
    person: PersonId,
    kind: &str,
    to: Mailbox,
    subject: &str,
    body: String,
    unsubscribe: Option<&str>,
) -> Result<(), MailError> {
    let mailer = mailer(app)?;
    let mut builder = Message::builder()
        .from(mailer.from.clone())
        .to(to.clone())
        .subject(subject)
        .header(ContentType::TEXT_PLAIN);
    if let Some(token) = unsubscribe {
        let link = format!("{}/unsubscribe/{token}", mailer.public_url);
        let mailto = format!("mailto:{}?subject=unsubscribe%20{token}", mailer.from.email);
        builder = builder
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{link}>, <{mailto}>"),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".into(),
            ));
    }
    let mut message = builder
        .body(body)
        .map_err(|e| MailError::Settings(format!("the message could not be built: {e}")))?;
    if let Some(dkim) = &mailer.dkim {
        message.sign(dkim);
    }
    // The envelope's recipient travels sealed with the message.
    let mut payload = to.email.to_string().into_bytes();
    payload.push(b'\n');
    payload.extend_from_slice(&message.formatted());
    let id = uuid::Uuid::new_v4();
    let sealed = app.vault.seal_message(grant, person, id, &payload).await?;
    let now = Utc::now().timestamp_micros();
    app.stores
        .accounts
        .enqueue_mail(&QueuedMail {
            id,
            person,
            kind: kind.to_owned(),
            sealed,
            status: "queued".into(),
            attempts: 0,
            next_attempt_micros: now,
            last_error: None,
            created_at_micros: now,
        })
        .await?;
    metrics::counter!("datavow_mail_queued_total", "kind" => kind.to_owned()).increment(1);
    Ok(())
}

/// Queues `campaign` to every person who may get it (see the module documentation).
pub async fn send_marketing(
    app: &Datavow,
    sender: Sender<'_>,
    campaign: &Campaign,
) -> Result<SendSummary, MailError> {
    mailer(app)?;
    let english = campaign.bodies.get("en").ok_or(MailError::NoEnglishBody)?;
    let grant = match sender {
        Sender::Operator(op) => {
            app.door
                .operator(&app.policy, op, OperatorAct::View(Purpose::Marketing))?
        }
        Sender::Owner(by) => app.door.system(by.actor(), SystemAct::Marketing)?,
    };
    // The business sector only for a segment: a policy may keep it from marketing.
    let mut fields = vec![Field::Name, Field::Email, Field::MarketingConsent];
    if campaign.segment.is_some() {
        fields.push(Field::BusinessSector);
    }
    let mut summary = SendSummary::default();
    for person in app.stores.persons.account_ids().await? {
        let record = match app.vault.read(&grant, person, &fields).await {
            Ok(record) => record,
            Err(VaultError::NoConsent(_) | VaultError::Shredded | VaultError::NoSuchPerson) => {
                summary.skipped += 1;
                continue;
            }
            Err(err) => return Err(err.into()),
        };
        let get = |f: Field| record.get(f).map(|v| v.expose().to_owned());
        let (Some(email), name) = (get(Field::Email), get(Field::Name)) else {
            summary.skipped += 1;
            continue;
        };
        let digest = app.vault.suppression_digest(&email).await?;
        let outside = campaign
            .segment
            .as_ref()
            .is_some_and(|s| get(Field::BusinessSector).as_deref() != Some(s.as_str()));
        if outside || app.stores.accounts.is_suppressed(&digest).await? {
            summary.skipped += 1;
            continue;
        }
        let Ok(address) = email.parse() else {
            summary.skipped += 1;
            continue;
        };
        let (lang, signature) = language(app, person).await?;
        let body = campaign.bodies.get(lang).unwrap_or(english);
        let token = app.vault.unsubscribe_token(person).await?;
        let mailer = mailer(app)?;
        let text = format!(
            "{} {},\n\n{}\n\n{signature}\n\n-- \n{}\n{}/unsubscribe/{token}\n",
            text(lang, "greeting"),
            name.as_deref().unwrap_or_default(),
            body.trim_end(),
            text(lang, "footer"),
            mailer.public_url,
        );
        let to = Mailbox::new(name, address);
        queue(
            app,
            &grant,
            person,
            "marketing",
            to,
            &campaign.subject,
            text,
            Some(&token),
        )
        .await?;
        summary.queued += 1;
    }
    Ok(summary)
}

/// What a delivery pass did. Counts only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DeliverySummary {
    pub sent: u64,
    pub retried: u64,
    pub dead: u64,
}

/// The wait before attempt `attempts + 1`: 30 s doubling, at most an hour.
fn backoff(attempts: i64) -> chrono::Duration {
    let seconds = 30_i64.saturating_mul(1 << attempts.clamp(0, 7));
    chrono::Duration::seconds(seconds.min(3600))
}

/// Messages handed to the SMTP server at the same time (over as many pooled
/// connections): one connection at a time does a few dozen a second.
const CONCURRENT_SENDS: usize = 8;

/// Hands every message due at `now` to the SMTP server (up to 500 a pass, several at a
/// time). A refusal or an unreachable server schedules a retry; after [`MAX_ATTEMPTS`]
/// the message is dead. A message whose recipient was erased is dead at once, unread.
pub async fn deliver_due(app: &Datavow, now: DateTime<Utc>) -> Result<DeliverySummary, MailError> {
    let mailer = mailer(app)?;
    let grant = app
        .door
        .system(Principal::system("mail-delivery").actor(), SystemAct::Mail)?;
    let mut summary = DeliverySummary::default();
    let mut sending = tokio::task::JoinSet::new();
    for mail in app
        .stores
        .accounts
        .due_mail(now.timestamp_micros(), 500)
        .await?
    {
        let payload = match app
            .vault
            .open_message(&grant, mail.person, mail.id, &mail.sealed)
            .await
        {
            Ok(payload) => payload,
            Err(VaultError::Shredded | VaultError::NoSuchPerson) => {
                app.stores
                    .accounts
                    .mail_failed(
                        mail.id,
                        now.timestamp_micros(),
                        "the recipient was erased",
                        true,
                    )
                    .await?;
                summary.dead += 1;
                continue;
            }
            Err(err) => return Err(err.into()),
        };
        if sending.len() >= CONCURRENT_SENDS {
            if let Some(done) = sending.join_next().await {
                record_attempt(app, now, done, &mut summary).await?;
            }
        }
        let (transport, from) = (mailer.transport.clone(), mailer.from.email.clone());
        sending.spawn(async move {
            let result = send_one(&transport, from, &payload).await;
            (mail, result)
        });
    }
    while let Some(done) = sending.join_next().await {
        record_attempt(app, now, done, &mut summary).await?;
    }
    Ok(summary)
}

/// Sends one stored payload (recipient line, then the message).
async fn send_one(
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    from: lettre::Address,
    payload: &[u8],
) -> Result<(), String> {
    let split = payload
        .iter()
        .position(|b| *b == b'\n')
        .ok_or_else(|| "the stored message is malformed".to_owned())?;
    let to: lettre::Address = String::from_utf8_lossy(&payload[..split])
        .parse()
        .map_err(|_| "the stored recipient is not an address".to_owned())?;
    let envelope = lettre::address::Envelope::new(Some(from), vec![to])
        .map_err(|_| "the stored recipient is not an address".to_owned())?;
    transport
        .send_raw(&envelope, &payload[split + 1..])
        .await
        .map(|_| ())
        .map_err(|e| smtp_reason(&e))
}

/// Records how one attempt ended.
async fn record_attempt(
    app: &Datavow,
    now: DateTime<Utc>,
    done: Result<(QueuedMail, Result<(), String>), tokio::task::JoinError>,
    summary: &mut DeliverySummary,
) -> Result<(), MailError> {
    let Ok((mail, result)) = done else {
        // A sending task that panicked leaves its message queued for the next pass.
        return Ok(());
    };
    match result {
        Ok(()) => {
            app.stores
                .accounts
                .mail_sent(mail.id, Utc::now().timestamp_micros())
                .await?;
            summary.sent += 1;
            metrics::counter!("datavow_mail_sent_total").increment(1);
        }
        Err(reason) => {
            let dead = mail.attempts + 1 >= MAX_ATTEMPTS;
            let next = (now + backoff(mail.attempts)).timestamp_micros();
            app.stores
                .accounts
                .mail_failed(mail.id, next, &reason, dead)
                .await?;
            if dead {
                summary.dead += 1;
                tracing::warn!(mail = %mail.id, attempts = mail.attempts + 1, reason, "mail given up: in the dead-letter list");
            } else {
                summary.retried += 1;
            }
        }
    }
    Ok(())
}

/// The reason of a failed SMTP attempt, without content: the server's code, or that
/// it could not be reached.
fn smtp_reason(err: &lettre::transport::smtp::Error) -> String {
    match err.status() {
        Some(code) => format!("refused by the SMTP server ({code})"),
        None if err.is_timeout() => "the SMTP server did not answer in time".into(),
        None => "the SMTP server could not be reached".into(),
    }
}

/// A message given up on, as operators see it: no content, no address.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeadLetter {
    pub id: String,
    pub kind: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    /// RFC 3339.
    pub queued_at: String,
}

/// The dead-letter list (roles that answer people's requests).
pub async fn dead_letters(
    app: &Datavow,
    operator: &Operator,
) -> Result<Vec<DeadLetter>, MailError> {
    app.door
        .operator(&app.policy, operator, OperatorAct::ReadMailQueue)?;
    Ok(app
        .stores
        .accounts
        .dead_mail(500)
        .await?
        .into_iter()
        .map(|m| DeadLetter {
            id: m.id.to_string(),
            kind: m.kind,
            attempts: m.attempts,
            last_error: m.last_error,
            queued_at: DateTime::from_timestamp_micros(m.created_at_micros)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default(),
        })
        .collect())
}

/// Opts the person an unsubscribe token names out of marketing, at once, and puts
/// their address on the suppression list. Idempotent. No sign-in.
pub async fn unsubscribe(app: &Datavow, token: &str) -> Result<(), MailError> {
    let person = app
        .vault
        .unsubscribe_person(token)
        .await?
        .ok_or(MailError::BadToken)?;
    let grant = app.door.system(
        Principal::system("unsubscribe-link").actor(),
        SystemAct::Unsubscribe,
    )?;
    let record = match app
        .vault
        .read(&grant, person, &[Field::Email, Field::MarketingConsent])
        .await
    {
        Ok(record) => record,
        // An erased person gets nothing anyway; the answer is the same.
        Err(VaultError::Shredded | VaultError::NoSuchPerson) => return Ok(()),
        Err(err) => return Err(err.into()),
    };
    let already_out = record
        .get(Field::MarketingConsent)
        .is_none_or(|c| !consent::is_given(c.expose()));
    if already_out {
        // Keep the first opt-out's record; make sure the address is suppressed.
        if let Some(email) = record.get(Field::Email) {
            let digest = app.vault.suppression_digest(email.expose()).await?;
            app.stores
                .accounts
                .suppress(&digest, "unsubscribe_link", Utc::now().timestamp_micros())
                .await?;
        }
    } else {
        crate::accounts::record_marketing_choice(
            app,
            &grant,
            person,
            false,
            consent::How::UnsubscribeLink,
        )
        .await?;
    }
    metrics::counter!("datavow_unsubscribes_total").increment(1);
    Ok(())
}

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Recovery links sent per address within the throttle's window (15 minutes).
pub const RECOVERY_PER_ADDRESS: u32 = 3;
/// Recovery requests taken per client address within the window.
pub const RECOVERY_PER_CLIENT: u32 = 10;

/// Sends an account recovery link to `email` if it belongs to an account; does nothing
/// otherwise, and nothing once the address or the asking `client` has asked too often
/// (so nobody can flood a person's mailbox). Callers answer alike either way (and should
/// not wait for this).
pub async fn request_recovery(app: &Datavow, email: &str, client: &str) -> Result<(), MailError> {
    mailer(app)?;
    let address_key = format!(
        "recovery:address:{}",
        hex::encode(token_hash(&IndexKind::Email.normalise(email)))
    );
    let client_key = format!("recovery:client:{client}");
    let throttle = &app.accounts.throttle;
    if throttle.wait(&address_key, RECOVERY_PER_ADDRESS).is_some()
        || throttle.wait(&client_key, RECOVERY_PER_CLIENT).is_some()
    {
        return Ok(());
    }
    throttle.fail(&address_key);
    throttle.fail(&client_key);
    let grant = app.door.visitor(VisitorAct::Recovery)?;
    let Some(person) = app.vault.find(&grant, IndexKind::Email, email).await? else {
        return Ok(());
    };
    let Some(to) = recipient(app, &grant, person).await? else {
        return Ok(());
    };
    let token = format!("dvr_{}", crate::operators::random_text(43));
    let expires = Utc::now() + chrono::Duration::from_std(RECOVERY_LIFETIME).unwrap_or_default();
    app.stores
        .accounts
        .insert_recovery_token(&token_hash(&token), person, expires.timestamp_micros())
        .await?;
    let (lang, signature) = language(app, person).await?;
    let link = format!("{}/recover/{token}", mailer(app)?.public_url);
    let body = format!(
        "{} {},\n\n{}\n\n{link}\n\n{signature}\n",
        text(lang, "greeting"),
        to.name.as_deref().unwrap_or_default(),
        text(lang, "recovery_body"),
    );
    queue(
        app,
        &grant,
        person,
        "recovery",
        to,
        text(lang, "recovery_subject"),
        body,
        None,
    )
    .await
}

/// Whether a recovery link is still good (for the page that offers to use it).
pub async fn recovery_is_valid(app: &Datavow, token: &str) -> Result<bool, MailError> {
    Ok(app
        .stores
        .accounts
        .recovery_token(&token_hash(token), Utc::now().timestamp_micros(), false)
        .await?
        .is_some())
}

/// New credentials from a recovery link, shown once.
pub struct Recovered {
    pub user_id: String,
    pub password: SecretString,
}

impl std::fmt::Debug for Recovered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Recovered([personal])")
    }
}

/// Uses a recovery link, once: a new generated password replaces the old one, every
/// session of the account ends, and the userID and password are shown this once.
pub async fn complete_recovery(app: &Datavow, token: &str) -> Result<Recovered, MailError> {
    let person = app
        .stores
        .accounts
        .recovery_token(&token_hash(token), Utc::now().timestamp_micros(), true)
        .await?
        .ok_or(MailError::BadToken)?;
    let grant = app.door.visitor(VisitorAct::Recovery)?;
    let (user_id, password) = crate::accounts::reset_password(app, &grant, person).await?;
    Ok(Recovered { user_id, password })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_smtp_host_is_read_past_credentials_and_port() {
        assert_eq!(
            super::smtp_host("smtps://u:p%40ss@mail.example.com:465"),
            "mail.example.com"
        );
        assert_eq!(super::smtp_host("smtp://127.0.0.1:2525"), "127.0.0.1");
        assert_eq!(super::smtp_host("smtp://relay?tls=required"), "relay");
    }

    #[test]
    fn retries_wait_longer_each_time_but_never_more_than_an_hour() {
        let waits: Vec<i64> = (0..10).map(|a| super::backoff(a).num_seconds()).collect();
        assert_eq!(waits[0], 30);
        assert!(waits.windows(2).all(|w| w[0] <= w[1]), "{waits:?}");
        assert_eq!(*waits.last().expect("last"), 3600);
    }
}
