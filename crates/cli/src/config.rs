//! Configuration, layered: built-in defaults < TOML file (`--config`) < `DATAVOW_*`
//! environment variables < command-line flags. A secret may be given as a file with
//! the `_file` suffix (`DATAVOW_DATABASE_URL_FILE`). `Debug` never prints a secret.

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Keys read from the environment, as `DATAVOW_<KEY>` in upper case.
const ENV_KEYS: &[&str] = &[
    "data_dir",
    "listen",
    "database_url",
    "database_url_file",
    "database_schema",
    "policy",
    "master_key_file",
    "log_format",
    "log_level",
    "secure_cookies",
    "geoip_database",
    "user_agent_regexes",
    "trusted_proxies",
    "smtp_url",
    "smtp_url_file",
    "mail_from",
    "public_url",
    "dkim_key_file",
    "dkim_selector",
    "smtp_ca_file",
    "max_connections",
    "connections_per_client",
    "header_timeout_secs",
];

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// The effective configuration.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub data_dir: PathBuf,
    pub listen: String,
    pub database_url: Option<SecretString>,
    pub database_url_file: Option<PathBuf>,
    /// PostgreSQL schema for the data; the keystore goes to `<schema>_keys`.
    pub database_schema: String,
    pub policy: Option<PathBuf>,
    pub master_key_file: Option<PathBuf>,
    pub log_format: LogFormat,
    pub log_level: String,
    /// Mark cookies `Secure`. Unset: yes, unless Datavow listens on loopback only (a
    /// TLS proxy in front is then the usual set-up, or a developer's machine).
    pub secure_cookies: Option<bool>,
    /// An IP-to-country MMDB file for `/api/v1/locale`.
    pub geoip_database: Option<PathBuf>,
    /// uap-core's `regexes.yaml` for parsing user agents; Debian's `uap-core` package
    /// path by default.
    pub user_agent_regexes: PathBuf,
    /// Addresses of reverse proxies whose `X-Forwarded-For` is believed, separated by
    /// commas or spaces.
    pub trusted_proxies: Option<String>,
    /// `smtp://host:port` (STARTTLS when offered) or `smtps://host:port`, with
    /// `user:password@` for authentication. Without it Datavow sends no mail.
    pub smtp_url: Option<SecretString>,
    pub smtp_url_file: Option<PathBuf>,
    /// The sender of every message, `Name <address>` or an address.
    pub mail_from: Option<String>,
    /// The base of links in messages: where people reach this Datavow over https.
    pub public_url: Option<String>,
    /// An RSA private key (PKCS#1 PEM) to DKIM-sign mail with, and its selector.
    pub dkim_key_file: Option<PathBuf>,
    pub dkim_selector: Option<String>,
    /// A PEM certificate to trust for the SMTP server (an internal relay's own CA).
    pub smtp_ca_file: Option<PathBuf>,
    /// Open connections at most; by default three quarters of the open-file limit,
    /// at most 16,384.
    pub max_connections: Option<usize>,
    /// Open connections at most from one client address (trusted proxies exempt).
    pub connections_per_client: Option<usize>,
    /// Seconds a client has to send a request's headers, also on an idle connection.
    pub header_timeout_secs: Option<u64>,
}

/// Values given as command-line flags; `None` leaves the lower layers in force.
#[derive(Debug, Default, Serialize)]
pub struct Flags {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_level: Option<String>,
}

/// A configuration that cannot be used. Exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    MissingFile(String),
    #[error("invalid configuration: {0}")]
    Invalid(String),
    #[error("cannot read {key} from {path}: {reason}")]
    SecretFile {
        key: &'static str,
        path: String,
        reason: String,
    },
    #[error("`{0}` is not a listen address such as 127.0.0.1:8080")]
    Listen(String),
    #[error("`{0}` in trusted_proxies is not an IP address")]
    Proxy(String),
}

impl Config {
    /// Builds the configuration from all layers.
    pub fn load(config_file: Option<&Path>, flags: &Flags) -> Result<Config, ConfigError> {
        let mut figment = Figment::new()
            .merge(Serialized::default("data_dir", "./datavow-data"))
            .merge(Serialized::default("listen", "127.0.0.1:8080"))
            .merge(Serialized::default("database_schema", "datavow"))
            .merge(Serialized::default("log_format", "text"))
            .merge(Serialized::default("log_level", "info"))
            .merge(Serialized::default(
                "user_agent_regexes",
                datavow_core::ingest::DEBIAN_REGEXES,
            ));
        if let Some(file) = config_file {
            if !file.is_file() {
                return Err(ConfigError::MissingFile(file.display().to_string()));
            }
            figment = figment.merge(Toml::file(file));
        }
        figment = figment
            .merge(Env::prefixed("DATAVOW_").only(ENV_KEYS))
            .merge(Serialized::defaults(flags));
        let mut config: Config = figment
            .extract()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        if config.database_url.is_none() {
            if let Some(path) = &config.database_url_file {
                let text = std::fs::read_to_string(path).map_err(|e| ConfigError::SecretFile {
                    key: "database_url",
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })?;
                config.database_url = Some(SecretString::from(text.trim().to_owned()));
            }
        }
        if config.smtp_url.is_none() {
            if let Some(path) = &config.smtp_url_file {
                let text = std::fs::read_to_string(path).map_err(|e| ConfigError::SecretFile {
                    key: "smtp_url",
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })?;
                config.smtp_url = Some(SecretString::from(text.trim().to_owned()));
            }
        }
        config.listen_addr()?;
        config.trusted_proxy_addrs()?;
        config.mail_settings()?;
        Ok(config)
    }

    /// The mail settings, if `smtp_url` is set: then `mail_from` and `public_url` are
    /// needed too, and a DKIM key needs its selector.
    pub fn mail_settings(&self) -> Result<Option<datavow_core::mail::MailSettings>, ConfigError> {
        let Some(smtp_url) = &self.smtp_url else {
            return Ok(None);
        };
        let (Some(mail_from), Some(public_url)) = (&self.mail_from, &self.public_url) else {
            return Err(ConfigError::Invalid(
                "smtp_url is set: set mail_from (the sender) and public_url (the https:// base of links) too".into(),
            ));
        };
        let dkim = match (&self.dkim_key_file, &self.dkim_selector) {
            (None, _) => None,
            (Some(_), None) => {
                return Err(ConfigError::Invalid(
                    "dkim_key_file is set: set dkim_selector too".into(),
                ))
            }
            (Some(file), Some(selector)) => {
                let pem = std::fs::read_to_string(file).map_err(|e| ConfigError::SecretFile {
                    key: "dkim_key_file",
                    path: file.display().to_string(),
                    reason: e.to_string(),
                })?;
                Some((selector.clone(), SecretString::from(pem)))
            }
        };
        let smtp_ca_pem = match &self.smtp_ca_file {
            Some(file) => {
                Some(
                    std::fs::read_to_string(file).map_err(|e| ConfigError::SecretFile {
                        key: "smtp_ca_file",
                        path: file.display().to_string(),
                        reason: e.to_string(),
                    })?,
                )
            }
            None => None,
        };
        Ok(Some(datavow_core::mail::MailSettings {
            smtp_url: smtp_url.clone(),
            mail_from: mail_from.clone(),
            public_url: public_url.clone(),
            dkim,
            smtp_ca_pem,
        }))
    }

    /// The parsed trusted proxy addresses.
    pub fn trusted_proxy_addrs(&self) -> Result<Vec<std::net::IpAddr>, ConfigError> {
        self.trusted_proxies
            .as_deref()
            .unwrap_or("")
            .split([',', ' '])
            .filter(|p| !p.is_empty())
            .map(|p| p.parse().map_err(|_| ConfigError::Proxy(p.to_owned())))
            .collect()
    }

    /// The connection limits, defaults filled in.
    pub fn connection_limits(&self) -> datavow_server::ConnectionLimits {
        let defaults = datavow_server::ConnectionLimits::default();
        datavow_server::ConnectionLimits {
            max_connections: self
                .max_connections
                .unwrap_or(defaults.max_connections)
                .max(1),
            per_client: self
                .connections_per_client
                .unwrap_or(defaults.per_client)
                .max(1),
            header_timeout: self
                .header_timeout_secs
                .map_or(defaults.header_timeout, |s| {
                    std::time::Duration::from_secs(s.max(1))
                }),
            drain: defaults.drain,
        }
    }

    /// The parsed listen address.
    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.listen
            .parse()
            .map_err(|_| ConfigError::Listen(self.listen.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_database_password() {
        let flags = Flags {
            database_url: Some("postgres://app:hunter2secret@db:5432/datavow".into()),
            ..Flags::default()
        };
        let config = Config::load(None, &flags).expect("valid");
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2secret"), "{shown}");
    }

    #[test]
    fn flags_override_the_file_which_overrides_the_defaults() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("datavow.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\ndata_dir = \"/srv/datavow\"\n",
        )
        .expect("write");
        let flags = Flags {
            listen: Some("127.0.0.1:9100".into()),
            ..Flags::default()
        };
        let config = Config::load(Some(&file), &flags).expect("valid");
        assert_eq!(config.listen, "127.0.0.1:9100");
        assert_eq!(config.data_dir, PathBuf::from("/srv/datavow"));
        assert_eq!(config.log_format, LogFormat::Text);
    }

    #[test]
    fn the_database_url_can_come_from_a_file() {
        let dir = tempfile::tempdir().expect("dir");
        let secret = dir.path().join("db-url");
        std::fs::write(&secret, "postgres://u:p@h/db\n").expect("write");
        let file = dir.path().join("datavow.toml");
        std::fs::write(
            &file,
            format!("database_url_file = {:?}\n", secret.display().to_string()),
        )
        .expect("write");
        let config = Config::load(Some(&file), &Flags::default()).expect("valid");
        use secrecy::ExposeSecret;
        assert_eq!(
            config.database_url.expect("url").expose_secret(),
            "postgres://u:p@h/db"
        );
    }

    #[test]
    fn an_unknown_key_or_a_bad_address_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("datavow.toml");
        std::fs::write(&file, "lisen = \"127.0.0.1:9000\"\n").expect("write");
        let err = Config::load(Some(&file), &Flags::default()).expect_err("unknown key");
        assert!(err.to_string().contains("lisen"), "{err}");
        let flags = Flags {
            listen: Some("localhost".into()),
            ..Flags::default()
        };
        let err = Config::load(None, &flags).expect_err("bad address");
        assert!(matches!(err, ConfigError::Listen(_)), "{err}");
    }
}
