//! `datavow demo`: a server on SQLite in a fresh directory, seeded with customer
//! accounts of both controlling entities and two operators, and a printed tour.

use crate::config::Config;
use datavow_core::accounts::{self, validate::PostalAddress, SignUpInput};
use datavow_core::operators;
use datavow_policy::Role;
use secrecy::ExposeSecret;
use std::path::PathBuf;
use std::process::ExitCode;

/// Sample accounts: one in Germany and one in Denmark (one per controlling entity
/// under the bundled policy), with Unicode names as real customers write them, in
/// business sectors the policy offers. Created through the same sign-up path as real
/// ones.
fn sample_accounts(sectors: &[String]) -> Vec<SignUpInput> {
    let sector = |wanted: &str, nth: usize| {
        sectors
            .iter()
            .find(|s| *s == wanted)
            .or_else(|| sectors.get(nth))
            .cloned()
    };
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
            business_sector: sector("hosting_and_cloud", 0),
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
            business_sector: sector("media_and_publishing", 1),
            interest: Some("Colocation, 2 racks".into()),
            ..SignUpInput::default()
        },
    ]
}

fn actor_for_demo() -> datavow_core::Principal {
    datavow_core::Principal::system("demo")
}

/// An access log of the last two days in combined format: anonymous visitors, and
/// visits of the sample accounts (their userID as the log's user field).
fn sample_access_log(user_ids: &[String]) -> Vec<u8> {
    const AGENTS: [&str; 4] = [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        "Googlebot/2.1 (+http://www.google.com/bot.html)",
    ];
    const PATHS: [&str; 5] = [
        "/",
        "/pricing?plan=pro",
        "/products/colocation",
        "/dashboard",
        "/contact",
    ];
    let now = chrono::Utc::now();
    let mut log = String::new();
    for i in 0..240u32 {
        let time = now - chrono::Duration::minutes(i64::from(i) * 11);
        // Every third visit is a signed-in customer's, each customer in turn.
        let user = match user_ids.get((i / 3) as usize % user_ids.len().max(1)) {
            Some(id) if i % 3 == 0 => id.as_str(),
            _ => "-",
        };
        log.push_str(&format!(
            "192.0.2.{} - {user} [{}] \"GET {} HTTP/1.1\" 200 {} \"https://www.google.com/search?q=hosting\" \"{}\"\n",
            1 + i % 200,
            time.format("%d/%b/%Y:%H:%M:%S +0000"),
            PATHS[i as usize % PATHS.len()],
            1000 + i * 37,
            AGENTS[i as usize % AGENTS.len()],
        ));
    }
    log.into_bytes()
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
        secure_cookies: Some(false),
        geoip_database: config.geoip_database.clone(),
        user_agent_regexes: config.user_agent_regexes.clone(),
        trusted_proxies: None,
        // The demo sends mail only where the operator configured a server for it.
        smtp_url: config.smtp_url.clone(),
        smtp_url_file: None,
        mail_from: config.mail_from.clone(),
        public_url: config.public_url.clone(),
        dkim_key_file: config.dkim_key_file.clone(),
        dkim_selector: config.dkim_selector.clone(),
        smtp_ca_file: config.smtp_ca_file.clone(),
        max_connections: config.max_connections,
        connections_per_client: config.connections_per_client,
        header_timeout_secs: config.header_timeout_secs,
    };
    let app = super::open(&demo_config).await?;
    app.publish_policy_file_texts().await?;
    let base = format!("http://{}", demo_config.listen);
    println!("Datavow demo: {base}");
    println!(
        "  data directory: {} (SQLite; deleted on exit unless --data-dir was given)",
        dir.display()
    );
    println!(
        "  policy: {} version {} ({}); its text at {base}/privacy",
        app.policy.name, app.policy.version, app.policy.origin
    );
    println!();
    println!("Customer accounts (sign in at {base}/signin; shown once, like a real sign-up):");
    let mut user_ids = Vec::new();
    let mut demo_emails = Vec::new();
    for input in sample_accounts(&app.policy.business_sectors) {
        demo_emails.push(input.email.clone().unwrap_or_default());
        match accounts::sign_up(&app, &input).await {
            Ok(account) => {
                user_ids.push(account.user_id.clone());
                println!(
                    "  {:<26} entity {:<20} userID {}  password {}",
                    input.name.unwrap_or_default(),
                    account.entity,
                    account.user_id,
                    account.password.expose_secret()
                );
            }
            Err(accounts::AccountError::EmailTaken) => {
                println!(
                    "  {} exists already in this data directory",
                    input.name.unwrap_or_default()
                );
            }
            Err(err) => return Err(err.into()),
        }
    }
    let summary = super::browser_ingest(&app, &demo_config)?
        .ingest(
            &actor_for_demo(),
            Box::new(std::io::Cursor::new(sample_access_log(&user_ids))),
            datavow_core::browser::InputFormat::Given(datavow_core::browser::LineParser::Clf(
                datavow_core::browser::Clf::COMBINED,
            )),
            std::sync::Arc::default(),
        )
        .await?;
    println!();
    println!(
        "Browser data: {} access-log records of the last two days, the accounts' own visits \
         linked to them (see their export)",
        summary.stored
    );
    println!();
    println!("Operators (sign in at {base}/admin with name and password; the API token is for /api/v1/admin/...):");
    let actor = datavow_core::Principal::shell();
    for (name, role) in [
        ("demo-billing", Role::Billing),
        ("demo-marketing", Role::Marketing),
        ("demo-officer", Role::PrivacyOfficer),
        ("demo-collector", Role::Collector),
    ] {
        match operators::add(&app, &actor, name, role).await {
            Ok(creds) => println!(
                "  {name:<14} role {:<16} password {}  token {}",
                role.as_str(),
                creds.password.expose_secret(),
                creds.token.expose_secret()
            ),
            Err(operators::OperatorError::Taken) => println!("  {name} exists already"),
            Err(err) => return Err(err.into()),
        }
    }
    // A request that arrived by letter 35 days ago: overdue on the officer's home page.
    let letter = chrono::Utc::now() - chrono::Duration::days(35);
    let owner = datavow_core::Principal::system("demo");
    if let Some(email) = demo_emails.first() {
        datavow_core::requests::register(
            &app,
            datavow_core::requests::By::Owner(&owner),
            &datavow_core::persons::PersonKey::Email(email.clone()),
            "access",
            letter,
            "letter",
        )
        .await
        .ok();
    }
    println!("  demo-officer signs in with an authenticator app (TOTP): the first sign-in shows a QR code;");
    println!("  demo-marketing sees Statistics (charts of the browser data, CSV).");
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
    println!(
        "  datavow ingest --data-dir {} /var/log/nginx/access.log    # your own web server's log",
        dir.display()
    );
    println!("  datavow audit verify --data-dir {}", dir.display());
    println!(
        "  datavow policy publish NEW-POLICY.md --effective {} --data-dir {}    # a new version; the dashboard tells people",
        chrono::Utc::now().format("%Y-%m-%d"),
        dir.display()
    );
    println!("  datavow policy ropa > ropa.html    # the record of processing activities");
    println!("Press Ctrl-C to stop.");
    super::serve::serve_app(app, &demo_config).await?;
    Ok(ExitCode::SUCCESS)
}
