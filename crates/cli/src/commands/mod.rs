//! One module per subcommand. Each returns an exit code or an error for `main` to
//! report.

pub mod audit;
pub mod demo;
pub mod dsr;
pub mod ingest;
pub mod keys;
pub mod marketing;
pub mod operator;
pub mod policy;
pub mod retention;
pub mod serve;
pub mod stats;

use crate::config::Config;
use anyhow::Context;
use datavow_core::StoreLocation;
use datavow_core::{Datavow, OpenOptions};
use datavow_policy::Policy;
use std::sync::Arc;

/// "1 entry", "2 entries".
pub fn count(n: impl Into<i64>, one: &str, many: &str) -> String {
    match n.into() {
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    }
}

/// A moment given to option `flag`: RFC 3339, or a day (00:00 UTC).
pub fn moment(flag: &str, text: &str) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&chrono::Utc));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|day| day.and_time(chrono::NaiveTime::MIN).and_utc())
        .map_err(|_| anyhow::anyhow!("{flag} `{text}` is neither YYYY-MM-DD nor RFC 3339"))
}

/// [`moment`] of an optional option `flag`; now when it is absent.
pub fn moment_or_now(
    flag: &str,
    text: Option<&str>,
) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    text.map_or_else(|| Ok(chrono::Utc::now()), |t| moment(flag, t))
}

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
        mail: config.mail_settings()?,
    })
    .await
    .context("cannot open the data store")?;
    Ok(app)
}

/// After a command that wrote to a SQLite data directory: folds the write-ahead logs
/// into the database files, so a copy of those files is complete (as after
/// `datavow serve` stops). Waits a second at most (this process's connections close
/// meanwhile): while a server is busy with the instance, the logs are its to fold.
pub fn fold_write_ahead_logs(config: &Config) {
    if config.database_url.is_some() || !config.data_dir.join(datavow_core::DATA_FILE).exists() {
        return;
    }
    match datavow_core::fold_write_ahead_logs(&config.data_dir, std::time::Duration::from_secs(1)) {
        Ok(true) => tracing::debug!("folded the write-ahead logs into the database files"),
        Ok(false) => tracing::debug!("the instance is open elsewhere: write-ahead logs left to it"),
        Err(err) => tracing::debug!(error = %err, "could not fold the write-ahead logs"),
    }
}

/// The browser-data ingest of `app`, with the configured user-agent regexes and
/// geolocation database. Either may be missing: a warning says what is lost and how
/// to get it.
pub fn browser_ingest(
    app: &Datavow,
    config: &Config,
) -> anyhow::Result<datavow_core::browser::BrowserIngest> {
    let (ua, geo) = (
        user_agents(&config.user_agent_regexes)?,
        geo_database(config)?,
    );
    Ok(datavow_core::browser::BrowserIngest::new(app, ua, geo))
}

/// The user-agent parser from uap-core's regexes at `regexes` (the configured
/// `user_agent_regexes`), or `None` with a warning saying how to get them.
pub fn user_agents(
    regexes: &std::path::Path,
) -> anyhow::Result<Option<Arc<datavow_core::ingest::UaParser>>> {
    if !regexes.exists() {
        tracing::warn!(
            path = %regexes.display(),
            "no user-agent regexes: browsers are stored as \"Other\". Install Debian's uap-core \
             package (apt-get install uap-core) or set user_agent_regexes \
             (DATAVOW_USER_AGENT_REGEXES) to uap-core's regexes.yaml"
        );
        return Ok(None);
    }
    let parser =
        datavow_core::ingest::UaParser::from_regexes(regexes).map_err(anyhow::Error::msg)?;
    Ok(Some(Arc::new(parser)))
}

/// The configured geolocation database, or `None` with a warning saying how to get one.
pub fn geo_database(config: &Config) -> anyhow::Result<Option<Arc<datavow_core::ingest::GeoDb>>> {
    match &config.geoip_database {
        Some(path) => Ok(Some(Arc::new(
            datavow_core::ingest::GeoDb::open(path).map_err(anyhow::Error::msg)?,
        ))),
        None => {
            tracing::warn!(
                "no geolocation database: countries are \"unknown\". Get the CC0 database with \
                 `npm install @ip-location-db/geo-whois-asn-country-mmdb` and set geoip_database \
                 (DATAVOW_GEOIP_DATABASE) to its geo-whois-asn-country.mmdb"
            );
            Ok(None)
        }
    }
}
