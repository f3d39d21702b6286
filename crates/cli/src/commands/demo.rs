//! `datavow demo`: a server on SQLite in a fresh directory, seeded with customer
//! accounts of both controlling entities and two operators, and a printed tour.

use crate::config::Config;
use datavow_core::accounts::{self, validate::PostalAddress, SignUpInput};
use datavow_core::operators;
use datavow_policy::Role;
use secrecy::ExposeSecret;
use std::path::PathBuf;
use std::process::ExitCode;

/// Sample accounts: one per controlling entity, with Unicode names as real customers
/// write them. Created through the same sign-up path as real ones.
fn sample_accounts() -> Vec<SignUpInput> {
    let address = |street: &str, code: &str, city: &str, country: &str| PostalAddress {
        street: street.into(),
        postal_code: code.into(),
        city: city.into(),
        country: country.into(),
    };
    vec![
        SignUpInput {
            name: Some("Zoë Müller-Łukasiewicz".into()),
            company: Some("Müller Webhosting GmbH".into()),
            email: Some("zoe.mueller@example.de".into()),
            phone: Some("+49 30 901820".into()),
            postal_address: Some(address("Witzlebenstraße 6", "14057", "Berlin", "DE")),
            business_sector: Some("hosting_and_cloud".into()),
            interest: Some("Dedicated servers in Frankfurt".into()),
            marketing_opt_in: Some(true),
            ..SignUpInput::default()
        },
        SignUpInput {
            name: Some("Søren Ægidius Østergård".into()),
            company: Some("Østergård Media ApS".into()),
            email: Some("soren@example.dk".into()),
            phone: Some("+45 31 23 45 67".into()),
            postal_address: Some(address("Agern Allé 24", "2970", "Hørsholm", "DK")),
            business_sector: Some("media_and_publishing".into()),
            interest: Some("Colocation, 2 racks".into()),
            ..SignUpInput::default()
        },
    ]
}

#[allow(clippy::print_stdout)]
pub async fn run(config: &Config, data_dir: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let temp;
    let dir = match data_dir {
        Some(dir) => dir,
        None => {
            temp = tempfile::Builder::new().prefix("datavow-demo-").tempdir()?;
            temp.path().to_owned()
        }
    };
    let demo_config = Config {
        data_dir: dir.clone(),
        listen: config.listen.clone(),
        database_url: None,
        database_url_file: None,
        database_schema: config.database_schema.clone(),
        policy: config.policy.clone(),
        master_key_file: None,
        log_format: config.log_format,
        log_level: config.log_level.clone(),
        secure_cookies: false,
        geoip_database: config.geoip_database.clone(),
        trusted_proxies: None,
    };
    let app = super::open(&demo_config).await?;
    let base = format!("http://{}", demo_config.listen);
    println!("Datavow demo: {base}");
    println!(
        "  data directory: {} (SQLite; deleted on exit unless --data-dir was given)",
        dir.display()
    );
    println!();
    println!("Customer accounts (sign in at {base}/signin; shown once, like a real sign-up):");
    for input in sample_accounts() {
        match accounts::sign_up(&app, &input).await {
            Ok(account) => println!(
                "  {:<26} entity {:<20} userID {}  password {}",
                input.name.unwrap_or_default(),
                account.entity,
                account.user_id,
                account.password.expose_secret()
            ),
            Err(accounts::AccountError::EmailTaken) => {
                println!(
                    "  {} exists already in this data directory",
                    input.name.unwrap_or_default()
                );
            }
            Err(err) => return Err(err.into()),
        }
    }
    println!();
    println!("Operators (API tokens for /api/v1/admin/...):");
    let actor = super::cli_actor();
    for (name, role) in [
        ("demo-billing", Role::Billing),
        ("demo-officer", Role::PrivacyOfficer),
    ] {
        match operators::add(&app, &actor, name, role).await {
            Ok(creds) => println!(
                "  {name:<14} role {:<16} token {}",
                role.as_str(),
                creds.token.expose_secret()
            ),
            Err(operators::OperatorError::Taken) => println!("  {name} exists already"),
            Err(err) => return Err(err.into()),
        }
    }
    println!();
    println!("Try:");
    println!("  open {base}/ in a browser (English, Deutsch, Dansk), sign in, correct your data, download it");
    println!("  curl -s -H \"Authorization: Bearer <demo-billing token>\" -H 'content-type: application/json' \\");
    println!("       -d '{{\"email\":\"soren@example.dk\"}}' {base}/api/v1/admin/persons/search");
    println!("  curl -s -H \"Authorization: Bearer <demo-billing token>\" \"{base}/api/v1/admin/persons/<id>?purpose=billing\"");
    println!(
        "  grep -c 'soren@example.dk' {}/*.db*    # 0 in every file: nothing is stored in clear",
        dir.display()
    );
    println!("  datavow audit verify --data-dir {}", dir.display());
    println!("Press Ctrl-C to stop.");
    super::serve::serve_app(app, &demo_config).await?;
    Ok(ExitCode::SUCCESS)
}
