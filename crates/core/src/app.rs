//! Opening a Datavow instance: the policy, both stores, the master key and the vault.

use crate::access::Door;
use crate::audit::{AuditLog, CHECKPOINT_EVERY};
use crate::master_key::{self, KeySource};
use datavow_policy::Policy;
use datavow_store::{Backend, StoreError, StoreLocation, Stores};
use datavow_vault::{MasterKey, MasterKeyError, Vault, VaultError};
use std::path::PathBuf;
use std::sync::Arc;

/// What [`Datavow::open`] needs.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    pub data_dir: PathBuf,
    pub location: StoreLocation,
    pub policy: Arc<Policy>,
    /// `DATAVOW_MASTER_KEY_FILE`, if set.
    pub master_key_file: Option<PathBuf>,
    /// How to send mail; `None` sends nothing (and says so where mail is asked for).
    pub mail: Option<crate::mail::MailSettings>,
}

/// Why an instance could not be opened. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    MasterKey(#[from] MasterKeyError),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error("could not finish an interrupted erasure: {0}")]
    Erasure(String),
    #[error("{0}")]
    Mail(String),
}

/// An open Datavow instance. Its stores and vault are reachable only from inside
/// `datavow-core`, and personal data only through grants of [`crate::access`].
#[derive(Debug, Clone)]
pub struct Datavow {
    pub policy: Arc<Policy>,
    pub(crate) stores: Stores,
    pub(crate) vault: Arc<Vault>,
    pub(crate) door: Arc<Door>,
    pub(crate) audit: Arc<AuditLog>,
    pub(crate) accounts: Arc<crate::accounts::AccountsRuntime>,
    pub(crate) mailer: Option<Arc<crate::mail::Mailer>>,
    pub key_source: KeySource,
    master: MasterKey,
    /// Where the SQLite files live (none for PostgreSQL): its free space is watched.
    sqlite_dir: Option<PathBuf>,
    pub(crate) policy_versions: Arc<crate::policy_versions::Cache>,
}

impl Datavow {
    /// Opens the stores (running migrations), loads or creates the master key and
    /// opens the vault.
    pub async fn open(options: OpenOptions) -> Result<Datavow, OpenError> {
        let mailer = match &options.mail {
            Some(settings) => Some(Arc::new(
                crate::mail::Mailer::new(settings).map_err(|e| OpenError::Mail(e.to_string()))?,
            )),
            None => None,
        };
        let stores = datavow_store::open(&options.location).await?;
        let sqlite_dir = match &options.location {
            StoreLocation::Sqlite { dir } => Some(dir.clone()),
            StoreLocation::Postgres { .. } => None,
        };
        let key_source = master_key::source(options.master_key_file.as_deref(), &options.data_dir);
        let mut master = master_key::load(&key_source)?;
        if let Err(err) = Vault::check_master_key(&stores, &master).await {
            let VaultError::WrongMasterKey { expected, .. } = &err else {
                return Err(err.into());
            };
            master = master_key::recover_interrupted_rotation(&key_source, expected).ok_or(err)?;
        }
        let signer = Vault::audit_signer(&stores, &master).await?;
        let audit = Arc::new(AuditLog::new(
            stores.audit.clone(),
            signer,
            CHECKPOINT_EVERY,
        ));
        let (vault, issuer) = Vault::open(
            &stores,
            master.clone(),
            options.policy.clone(),
            audit.clone(),
        )
        .await?;
        record_policy(&stores, &audit, &options.policy).await?;
        let app = Datavow {
            policy: options.policy,
            stores,
            vault: Arc::new(vault),
            door: Arc::new(Door::new(issuer)),
            audit,
            accounts: crate::accounts::runtime(),
            mailer,
            key_source,
            master,
            sqlite_dir,
            policy_versions: Arc::default(),
        };
        // The erasure ledger is the authority on who no longer exists: erasures a
        // crash interrupted after their commit point are finished first.
        crate::erasure::resume(&app)
            .await
            .map_err(|e| OpenError::Erasure(e.to_string()))?;
        Ok(app)
    }

    /// Publishes the policy file's texts as its version when that version is new (see
    /// [`crate::policy_versions`]). Run by the service at start, not by every command,
    /// so a tool run with another policy file never publishes its text.
    pub async fn publish_policy_file_texts(&self) -> Result<(), StoreError> {
        crate::policy_versions::publish_policy_file_texts(&self.stores, &self.audit, &self.policy)
            .await?;
        self.policy_versions.clear();
        Ok(())
    }

    /// Re-wraps the keystore under a new master key; see [`master_key::rotate`].
    /// Audited before (begun) and after (how it ended).
    pub async fn rotate_master_key(
        &self,
        by: &crate::Principal,
        new_file: Option<&std::path::Path>,
    ) -> Result<master_key::Rotation, master_key::RotateError> {
        use datavow_vault::{Action, AuditEvent, Outcome};
        let event = |outcome, detail: String| AuditEvent {
            detail: Some(detail),
            ..AuditEvent::new(&by.actor(), Action::MasterKeyRotated, outcome)
        };
        let from = self.master.id();
        self.audit
            .append(&[event(Outcome::Begun, format!("from master key {from}"))])
            .await
            .map_err(master_key::RotateError::Store)?;
        let result =
            master_key::rotate(&self.stores, &self.key_source, &self.master, new_file).await;
        let after = match &result {
            Ok(rotation) => event(
                Outcome::Allowed,
                format!(
                    "{} keys re-wrapped from master key {from}",
                    rotation.keys_rewrapped
                ),
            ),
            Err(_) => event(Outcome::Failed, format!("from master key {from}")),
        };
        // The keystore now opens only under the new key; the audit log needs none.
        self.audit
            .append(&[after])
            .await
            .map_err(master_key::RotateError::Store)?;
        result
    }

    /// Whether mail is configured.
    pub fn mail_configured(&self) -> bool {
        self.mailer.is_some()
    }

    /// Which database backend holds the data.
    pub fn backend(&self) -> Backend {
        self.stores.backend
    }

    /// Whether this node can serve: the database answers and takes a write, and the
    /// SQLite files' disk has at least [`MIN_FREE_BYTES`] free (a write that fits in
    /// space SQLite already holds would hide a full disk). The error says which.
    pub async fn health(&self) -> Result<(), Unhealthy> {
        if let Some(dir) = &self.sqlite_dir {
            if let Ok(stat) = rustix::fs::statvfs(dir.as_path()) {
                if stat.f_bavail.saturating_mul(stat.f_frsize) < MIN_FREE_BYTES {
                    return Err(Unhealthy::DiskFull);
                }
            }
        }
        self.stores
            .persons
            .ping()
            .await
            .map_err(|_| Unhealthy::Database)
    }

    /// The master key's id, where it comes from, and how many keys the keystore holds.
    pub async fn key_status(&self) -> Result<KeyStatus, VaultError> {
        Ok(KeyStatus {
            kek_id: self.stores.keys.kek_id().await?.unwrap_or_default(),
            counts: self.vault.key_counts().await?,
        })
    }

    /// The tamper-evident audit log's own checks: verify, checkpoint.
    pub fn audit_log(&self) -> &AuditLog {
        &self.audit
    }
}

/// Free space below which a SQLite node says it is unhealthy.
pub const MIN_FREE_BYTES: u64 = 1 << 20;

/// Why a node cannot serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unhealthy {
    #[error("the database does not answer or cannot take a write")]
    Database,
    #[error("the disk holding the database is full")]
    DiskFull,
}

/// What `datavow keys status` shows.
#[derive(Debug, Clone)]
pub struct KeyStatus {
    pub kek_id: String,
    pub counts: datavow_store::KeyCounts,
}

/// Audits the policy in force when it differs from the last one recorded (P16: the
/// privacy officer can see when which policy text took effect).
async fn record_policy(
    stores: &Stores,
    audit: &AuditLog,
    policy: &Policy,
) -> Result<(), StoreError> {
    let new = stores
        .audit
        .record_policy(&policy.digest, &policy.version, &policy.origin)
        .await?;
    if new {
        use datavow_vault::{Action, Actor, AuditEvent, Outcome};
        audit
            .append(&[AuditEvent {
                detail: Some(format!(
                    "policy {} (sha256 {}) in force, from {}",
                    policy.version,
                    &policy.digest[..12.min(policy.digest.len())],
                    policy.origin
                )),
                ..AuditEvent::new(
                    &Actor::System("startup".into()),
                    Action::PolicyChanged,
                    Outcome::Allowed,
                )
            }])
            .await?;
    }
    Ok(())
}
