//! # datavow-core
//!
//! The promises of the policy, on top of the vault and the stores. This crate knows
//! nothing of SQL or HTTP: it speaks to storage through `datavow-store`'s traits and to
//! personal data only through `datavow-vault`.
//!
//! - [`app`]: opening a Datavow instance: policy, stores, master key, vault.
//! - [`master_key`]: where the key-encryption key comes from, and its rotation.
//! - [`jobs`]: background jobs, each run by one node at a time under a database lock.
//! - [`audit`]: the tamper-evident audit log (hash chain, signed checkpoints).
//! - [`operators`]: staff accounts, roles and their API tokens.
//! - [`browser`]: access-log ingest into day partitions, linked records, retention.
//! - [`accounts`]: customer sign-up, sign-in, self-service and the contact form.
//! - [`access`]: authorization, the one place that decides who may do what; it alone
//!   holds the vault's grant issuer.
//! - [`persons`]: what operators do to a person's data.
//! - [`erasure`]: the one erasure operation (keys per retention class, ledger).
//! - [`mail`]: the outgoing queue, marketing with one-click opt-out, account recovery.
//!
//! The edges (`datavow-server`, `datavow-cli`) depend on this crate only: the stores
//! and the vault are private to it, and personal data leaves only through functions
//! that ask [`access`] first.

pub mod access;
pub mod accounts;
pub mod app;
pub mod audit;
pub mod browser;
pub mod console;
pub mod erasure;
pub mod jobs;
pub mod mail;
pub mod master_key;
pub mod operators;
pub mod persons;
pub mod policy_versions;
pub mod requests;
pub mod retention;
pub mod ropa;
pub mod stats;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use app::{Datavow, KeyStatus, OpenError, OpenOptions, Unhealthy, MIN_FREE_BYTES};
pub use datavow_ingest as ingest;
pub use datavow_policy as policy;
/// Storage names the edges need to open and maintain an instance; no personal data
/// passes through them.
pub use datavow_store::{
    fold_write_ahead_logs, Backend, PersonId, StoreError, StoreLocation, DATA_FILE,
};
pub use datavow_vault::{MasterKeyError, VaultError};

/// Who acts at an edge that is not a person or an operator: a command run at the shell
/// (the instance's owner, who holds the master key) or a background job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal(datavow_vault::Actor);

impl Principal {
    /// A command run at the shell by the local user `$USER`.
    pub fn shell() -> Principal {
        let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
        Principal(datavow_vault::Actor::System(format!("cli:{user}")))
    }

    /// Datavow itself doing `what` (a job, the demo).
    pub fn system(what: &str) -> Principal {
        Principal(datavow_vault::Actor::System(what.to_owned()))
    }

    /// An operator acting under their role.
    pub fn operator(operator: &operators::Operator) -> Principal {
        Principal(operator.actor())
    }

    pub(crate) fn actor(&self) -> datavow_vault::Actor {
        self.0.clone()
    }
}

impl std::fmt::Display for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}
