//! `datavow operator add|list|set-role|disable`: staff accounts and their roles.

use crate::config::Config;
use datavow_core::operators;
use datavow_policy::Role;
use secrecy::ExposeSecret;
use std::process::ExitCode;

/// Parses a role name, listing the valid ones when it is not one.
pub fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text).ok_or_else(|| {
        let names: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        format!("unknown role `{text}`; roles: {}", names.join(", "))
    })
}

#[allow(clippy::print_stdout)]
pub async fn add(config: &Config, name: &str, role: Role) -> anyhow::Result<ExitCode> {
    let app = super::open(config).await?;
    let creds = operators::add(&app, &datavow_core::Principal::shell(), name, role).await?;
    let purposes: Vec<&str> = app.policy.role_purposes(role).map(|p| p.as_str()).collect();
    println!(
        "operator {name} added with role {role} (purposes: {})",
        purposes.join(", ")
    );
    println!("password : {}", creds.password.expose_secret());
    println!("API token: {}", creds.token.expose_secret());
    println!("Both are shown this once and stored only as hashes; hand them over securely.");
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::print_stdout)]
pub async fn list(config: &Config) -> anyhow::Result<ExitCode> {
    let app = super::open(config).await?;
    for op in operators::list(&app).await? {
        println!(
            "{:<24} {:<16} {}{}",
            op.name,
            op.role,
            op.created_at.format("%Y-%m-%d"),
            if op.disabled { "  disabled" } else { "" }
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::print_stdout)]
pub async fn set_role(config: &Config, name: &str, role: Role) -> anyhow::Result<ExitCode> {
    let app = super::open(config).await?;
    operators::set_role(&app, &datavow_core::Principal::shell(), name, role).await?;
    println!("operator {name} now has role {role}");
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::print_stdout)]
pub async fn disable(config: &Config, name: &str) -> anyhow::Result<ExitCode> {
    let app = super::open(config).await?;
    operators::disable(&app, &datavow_core::Principal::shell(), name).await?;
    println!("operator {name} disabled: their password and token no longer work");
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::print_stdout)]
pub async fn reset_second_factor(config: &Config, name: &str) -> anyhow::Result<ExitCode> {
    let app = super::open(config).await?;
    let had = datavow_core::console::sign_in::reset_second_factor(
        &app,
        &datavow_core::Principal::shell(),
        name,
    )
    .await?;
    if had {
        println!(
            "operator {name}: second factor and recovery codes removed, console sessions ended"
        );
    } else {
        println!("operator {name} had no second factor; their console sessions ended");
    }
    println!("They set up a new authenticator at their next sign-in if their role requires one.");
    Ok(ExitCode::SUCCESS)
}
