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

pub mod accounts;
pub mod app;
pub mod audit;
pub mod browser;
pub mod jobs;
pub mod master_key;
pub mod operators;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use app::{Datavow, OpenError, OpenOptions};
pub use datavow_ingest as ingest;
pub use datavow_policy as policy;
pub use datavow_store as store;
pub use datavow_vault as vault;
