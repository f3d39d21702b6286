//! `datavow demo`: a server on SQLite in a fresh directory, seeded with sample people
//! of both controlling entities, and a printed tour.

use crate::config::Config;
use datavow_policy::Field;
use datavow_vault::Personal;
use std::path::PathBuf;
use std::process::ExitCode;

/// Sample people: one per controlling entity, with Unicode names as real customers
/// write them.
fn sample_people() -> Vec<(&'static str, Vec<(Field, Personal)>)> {
    vec![
        (
            "asergo_europe",
            vec![
                (Field::Name, "Zoë Müller-Łukasiewicz".into()),
                (Field::Company, "Müller Webhosting GmbH".into()),
                (Field::Email, "zoe.mueller@example.de".into()),
                (Field::Phone, "+4930901820".into()),
                (
                    Field::PostalAddress,
                    "Witzlebenstraße 6, 14057 Berlin, DE".into(),
                ),
                (Field::BusinessSector, "hosting_and_cloud".into()),
                (Field::Interest, "Dedicated servers in Frankfurt".into()),
            ],
        ),
        (
            "asergo_scandinavia",
            vec![
                (Field::Name, "Søren Ægidius Østergård".into()),
                (Field::Company, "Østergård Media ApS".into()),
                (Field::Email, "soren@example.dk".into()),
                (Field::Phone, "+4531234567".into()),
                (
                    Field::PostalAddress,
                    "Agern Allé 24, 2970 Hørsholm, DK".into(),
                ),
                (Field::BusinessSector, "media_and_publishing".into()),
                (Field::Interest, "Colocation, 2 racks".into()),
            ],
        ),
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
        policy: config.policy.clone(),
        master_key_file: None,
        log_format: config.log_format,
        log_level: config.log_level.clone(),
        secure_cookies: false,
    };
    let app = super::open(&demo_config).await?;
    let actor = datavow_vault::Actor::System("demo".into());
    let mut seeded = 0;
    for (entity, fields) in sample_people() {
        match app.vault.create_person(&actor, entity, &fields).await {
            Ok(_) => seeded += 1,
            Err(datavow_vault::VaultError::Taken(_)) => {} // already seeded in a kept dir
            Err(err) => return Err(err.into()),
        }
    }
    let base = format!("http://{}", demo_config.listen);
    println!("Datavow demo");
    println!(
        "  data directory : {} (SQLite, deleted on exit unless --data-dir was given)",
        dir.display()
    );
    println!("  sample people  : {seeded} new, one per controlling entity (DE, DK)");
    println!("  health         : curl {base}/healthz");
    println!("  metrics        : curl {base}/metrics");
    println!("  API description: curl {base}/api/v1/openapi.json");
    println!(
        "  no plaintext   : grep -c 'soren@example.dk' {}/*.db*   (prints 0 for every file)",
        dir.display()
    );
    println!(
        "  keystore       : datavow keys status --data-dir {}",
        dir.display()
    );
    println!("Sign-up, sign-in and the dashboard arrive with the accounts feature.");
    println!("Press Ctrl-C to stop.");
    super::serve::serve_app(app, &demo_config).await?;
    Ok(ExitCode::SUCCESS)
}
