//! One module per subcommand. Each returns an exit code or an error for `main` to
//! report.

pub mod audit;
pub mod demo;
pub mod keys;
pub mod operator;
pub mod policy;
pub mod serve;

use crate::config::Config;
use anyhow::Context;
use datavow_core::{Datavow, OpenOptions};
use datavow_policy::Policy;
use datavow_store::StoreLocation;
use std::sync::Arc;

/// The policy named by the configuration, or the bundled one.
pub fn load_policy(config: &Config) -> anyhow::Result<Arc<Policy>> {
    let policy = match &config.policy {
        Some(path) => Policy::load(path)?,
        None => Policy::bundled()?,
    };
    Ok(Arc::new(policy))
}

/// Opens the instance the configuration describes.
pub async fn open(config: &Config) -> anyhow::Result<Datavow> {
    let location = match &config.database_url {
        Some(url) => StoreLocation::Postgres {
            url: url.clone(),
            data_schema: config.database_schema.clone(),
            keys_schema: format!("{}_keys", config.database_schema),
        },
        None => StoreLocation::Sqlite {
            dir: config.data_dir.clone(),
        },
    };
    let app = Datavow::open(OpenOptions {
        data_dir: config.data_dir.clone(),
        location,
        policy: load_policy(config)?,
        master_key_file: config.master_key_file.clone(),
    })
    .await
    .context("cannot open the data store")?;
    Ok(app)
}

/// The audit actor for a command run at the shell: the local user, not a customer.
pub fn cli_actor() -> datavow_vault::Actor {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    datavow_vault::Actor::System(format!("cli:{user}"))
}
