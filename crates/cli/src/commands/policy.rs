//! `datavow policy check`: validates a policy file and summarises it.

use datavow_policy::{Policy, PolicyLoadError};
use std::path::Path;
use std::process::ExitCode;

/// Validates `file` (the bundled policy when `None`). Mistakes are returned as an
/// error, which exits with code 2.
#[allow(clippy::print_stdout)]
pub fn check(file: Option<&Path>) -> anyhow::Result<ExitCode> {
    let policy = match file {
        Some(path) => Policy::load(path)?,
        None => Policy::bundled().map_err(PolicyLoadError::from)?,
    };
    println!(
        "{}: valid. {} version {} (effective {}), {} entities, {} categories, {} purposes; privacy contact {}",
        policy.origin,
        policy.name,
        policy.version,
        policy.effective_date,
        policy.entities().count(),
        datavow_policy::Category::ALL.len(),
        datavow_policy::Purpose::ALL.len(),
        policy.privacy_contact,
    );
    Ok(ExitCode::SUCCESS)
}
