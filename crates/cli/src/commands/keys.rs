//! `datavow keys status|rotate`.

use crate::config::Config;
use std::path::PathBuf;
use std::process::ExitCode;

#[allow(clippy::print_stdout)]
pub async fn status(config: &Config) -> anyhow::Result<ExitCode> {
    let app = super::open(config).await?;
    let status = app.key_status().await?;
    let (counts, kek_id) = (status.counts, status.kek_id);
    println!(
        "master key: {} (id {kek_id})",
        app.key_source.path().display()
    );
    println!("person keys: {}", counts.person_keys);
    println!(
        "named keys (blind indexes, partitions, signing): {}",
        counts.named_keys
    );
    println!(
        "class keys (records kept past an account, such as invoices): {}",
        counts.class_keys
    );
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::print_stdout)]
pub async fn rotate(config: &Config, new_key_file: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let app = super::open(config).await?;
    let rotation = app
        .rotate_master_key(&datavow_core::Principal::shell(), new_key_file.as_deref())
        .await?;
    println!(
        "re-wrapped {} keys under the new master key in {}",
        rotation.keys_rewrapped,
        rotation.new_key_file.display()
    );
    if rotation.reconfigure {
        println!(
            "set DATAVOW_MASTER_KEY_FILE={} on every node before it starts again, then destroy the old key file",
            rotation.new_key_file.display()
        );
    } else {
        println!("restart running servers so they load the new key");
    }
    Ok(ExitCode::SUCCESS)
}
