//! `datavow`: the binary. Parses the command line, sets up logging and hands each
//! subcommand to `commands`. Exit codes: 0 success, 1 failure, 2 invalid configuration,
//! policy or usage.

mod commands;
mod config;

use clap::{Parser, Subcommand};
use config::{Config, ConfigError, Flags, LogFormat};
use std::path::PathBuf;
use std::process::ExitCode;

/// mimalloc instead of the C library's allocator: a request allocates and frees many
/// small buffers across threads (rows, ciphertexts, JSON), where glibc's malloc was
/// 16 % of a `GET /api/v1/me` profile; the `me` bench went from 29.4–31.3k to
/// 32.6–33.6k req/s with it (same box, same runs alternating).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Datavow keeps every promise of your privacy policy mechanically.
#[derive(Debug, Parser)]
#[command(name = "datavow", version, about)]
struct Cli {
    /// A TOML configuration file (keys as in DATAVOW_* variables, lower case).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Datavow's own log lines on standard error: `text` or `json` (the config key
    /// `log_format`). Not to be confused with `ingest --log-format`.
    #[arg(long, global = true, value_enum, value_name = "STYLE")]
    log_style: Option<LogFormat>,
    /// Log level filter, such as `info` or `datavow=debug`.
    #[arg(long, global = true, value_name = "FILTER")]
    log_level: Option<String>,
    #[command(subcommand)]
    command: Command,
}

/// Where the stores live; shared by every subcommand that reads or writes them.
#[derive(Debug, Clone, clap::Args)]
struct StoreArgs {
    /// Data directory: SQLite files and, by default, the master key.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// PostgreSQL URL (postgres://…) instead of SQLite.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Policy file; the bundled ASERGO policy by default.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP API and the background jobs.
    Serve {
        #[command(flatten)]
        store: StoreArgs,
        /// Address to listen on.
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
    /// Start a server with sample data in a fresh directory and say how to explore it.
    Demo {
        /// Address to listen on.
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Keep the demo data here instead of a temporary directory.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Policy file; the bundled ASERGO policy by default (try
        /// policy/examples/brightwater.toml).
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
    },
    /// Read a web server's access log into the browser-data store (P6).
    Ingest {
        #[command(flatten)]
        store: StoreArgs,
        /// The log's format; `auto` recognises it from the first lines and says which
        /// it chose.
        #[arg(long, value_enum, default_value = "auto")]
        format: IngestFormat,
        /// The web server's own format string instead of a named format: an nginx
        /// `log_format` ('$remote_addr - $remote_user [$time_local] "$request" …') or an
        /// Apache `LogFormat` ('%h %l %u %t "%r" %>s %b …').
        #[arg(long, value_name = "STRING", conflicts_with = "format")]
        log_format: Option<String>,
        /// The log file; standard input when `-` or absent.
        #[arg(value_name = "FILE|-")]
        file: Option<PathBuf>,
    },
    /// Work with the policy file.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Manage the master key and the keystore.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage operator accounts and their roles.
    #[command(subcommand)]
    Operator(OperatorCommand),
    /// Verify and read the tamper-evident audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Apply the policy's retention now (what the hourly retention jobs do).
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// Data-subject requests that arrive outside the dashboard (P13).
    #[command(subcommand)]
    Dsr(DsrCommand),
    /// Statistics: reports, and de-identified releases for third parties (P10).
    #[command(subcommand)]
    Stats(StatsCommand),
    /// Marketing mail to the people who opted in.
    #[command(subcommand)]
    Marketing(MarketingCommand),
    /// Print a shell completion script (`datavow completions bash > /etc/bash_completion.d/datavow`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page in roff (`datavow man > datavow.1; man ./datavow.1`).
    Man,
}

#[derive(Debug, Subcommand)]
enum MarketingCommand {
    /// Queue a campaign to everyone who opted in, each in their language, and hand
    /// what is due to the SMTP server.
    Send {
        /// The subject line.
        #[arg(long)]
        subject: String,
        /// The English body; FILE.de and FILE.da beside it, if present, are the German
        /// and Danish ones.
        #[arg(long, value_name = "FILE")]
        body: PathBuf,
        /// Only people of this business sector.
        #[arg(long, value_name = "SECTOR")]
        segment: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Access-log formats `datavow ingest` reads.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum IngestFormat {
    /// Recognised from the first lines among the others.
    Auto,
    /// nginx's and Apache's `combined` (Traefik's CLF too).
    Combined,
    /// `combined` after the virtual host (Apache's `vhost_combined`).
    Vcombined,
    /// NCSA common: no referrer, no user agent.
    Common,
    /// `common` after the virtual host.
    Vcommon,
    /// One flat JSON object per line (nginx `escape=json` logs, web-tier events).
    Json,
    /// Caddy 2's JSON access log.
    Caddy,
    /// Traefik's JSON access log.
    Traefik,
    /// W3C extended (IIS and others), read by its `#Fields:` header.
    W3c,
    /// Amazon CloudFront's standard logs.
    Cloudfront,
    /// AWS Application and Classic Load Balancers.
    Elb,
}

impl IngestFormat {
    fn input(self) -> datavow_core::browser::InputFormat {
        use datavow_core::browser::{Format, InputFormat};
        let named = match self {
            IngestFormat::Auto => return InputFormat::AUTO,
            IngestFormat::Combined => Format::Combined,
            IngestFormat::Vcombined => Format::VCombined,
            IngestFormat::Common => Format::Common,
            IngestFormat::Vcommon => Format::VCommon,
            IngestFormat::Json => Format::Json,
            IngestFormat::Caddy => Format::Caddy,
            IngestFormat::Traefik => Format::Traefik,
            IngestFormat::W3c => Format::W3c,
            IngestFormat::Cloudfront => Format::Cloudfront,
            IngestFormat::Elb => Format::Elb,
        };
        InputFormat::named(named).unwrap_or(InputFormat::AUTO)
    }
}

#[derive(Debug, Subcommand)]
enum OperatorCommand {
    /// Add an operator; prints a one-time password and an API token.
    Add {
        name: String,
        #[arg(long, value_parser = commands::operator::parse_role)]
        role: datavow_policy::Role,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List operators with their roles.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Change an operator's role.
    SetRole {
        name: String,
        #[arg(value_parser = commands::operator::parse_role)]
        role: datavow_policy::Role,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Disable an operator: their password and token stop working.
    Disable {
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Remove an operator's second factor (a lost device): their recovery codes and
    /// console sessions end; they enrol again at their next sign-in. Audited.
    #[command(name = "reset-2fa")]
    ResetSecondFactor {
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
enum StatsCommand {
    /// Print a report (CSV) for operators: visits, pages, countries, browsers,
    /// platforms, devices, referrers, languages or accounts.
    Report {
        #[arg(long)]
        report: String,
        #[arg(long, value_name = "YYYY-MM-DD")]
        from: chrono::NaiveDate,
        #[arg(long, value_name = "YYYY-MM-DD")]
        to: chrono::NaiveDate,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Write a de-identified release (CSV and JSON with its manifest) for a third party:
    /// no cell under k; with --epsilon, differential privacy within the policy's budget.
    Release {
        #[arg(long)]
        report: String,
        #[arg(long, value_name = "YYYY-MM-DD")]
        from: chrono::NaiveDate,
        #[arg(long, value_name = "YYYY-MM-DD")]
        to: chrono::NaiveDate,
        #[arg(long, default_value_t = 10)]
        k: u64,
        #[arg(long)]
        epsilon: Option<String>,
        /// Where to write the files (created if missing).
        #[arg(long, default_value = ".")]
        out: PathBuf,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
enum DsrCommand {
    /// Register a request that arrived by mail, letter or phone.
    New {
        /// access, rectification, erasure, restriction, portability or objection.
        #[arg(long)]
        kind: String,
        /// The person's email address (or use --user-id).
        #[arg(long, conflicts_with = "user_id", required_unless_present = "user_id")]
        email: Option<String>,
        #[arg(long)]
        user_id: Option<String>,
        /// When it arrived (RFC 3339 or YYYY-MM-DD); now when absent.
        #[arg(long)]
        received: Option<String>,
        /// How it arrived.
        #[arg(long, default_value = "email")]
        channel: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List the open requests, the earliest deadline first.
    List {
        /// Only those past their deadline.
        #[arg(long)]
        overdue: bool,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Show one request.
    Show {
        id: uuid::Uuid,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Extend a request's deadline (at most the policy's two months in all) and tell
    /// the person the new deadline and the reason by mail.
    Extend {
        id: uuid::Uuid,
        #[arg(long)]
        months: u32,
        /// Told to the person and kept in the audit log: no personal data.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Mark a request done.
    Complete {
        id: uuid::Uuid,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Refuse a request, with a reason (kept in the audit log; no personal data).
    Refuse {
        id: uuid::Uuid,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
enum RetentionCommand {
    /// Drop browser days past their retention and end retention classes whose period
    /// ended (keys destroyed first, audited; a run cut short is finished by the next).
    Apply {
        /// Say what would be dropped and ended; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Apply retention as if it were this moment (RFC 3339 or YYYY-MM-DD).
        #[arg(long, value_name = "TIME")]
        now: Option<String>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check the hash chain and signed checkpoints; exit 1 naming the first bad entry.
    Verify {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Prune entries older than the policy's `[audit] keep` behind a signed statement
    /// (the daily `audit-prune` job does this too).
    Prune {
        /// Say what would be pruned; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Prune as if it were this moment (RFC 3339 or YYYY-MM-DD).
        #[arg(long, value_name = "TIME")]
        now: Option<String>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Show the entries about one person (by email, userID or person id).
    Show {
        #[arg(long, value_name = "EMAIL|USERID|ID")]
        subject: String,
        /// At most this many entries, newest first.
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Validate a policy file and report every mistake with file, line and key.
    Check {
        /// The policy file (or give it with --policy); the bundled policy by default.
        file: Option<PathBuf>,
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
    },
    /// Publish a new version of the policy text (Markdown) people read at /privacy. It
    /// takes effect at its date without a restart; people who accepted an earlier
    /// version see a notice and get a mail, unless it is --minor.
    Publish {
        /// The text, in Markdown.
        file: PathBuf,
        /// When it takes effect: a date (its start, UTC; today's date means now) or an
        /// RFC 3339 instant. Never earlier than a version published before.
        #[arg(long, value_name = "DATE")]
        effective: String,
        /// The version's name; the effective date by default.
        #[arg(long, value_name = "NAME")]
        version: Option<String>,
        /// The text's language: en, de or da. Publish each language of a version with
        /// the same --version.
        #[arg(long, default_value = "en")]
        lang: String,
        /// Not a material change (a typo, a new address): no notice, no mail.
        #[arg(long)]
        minor: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List the published versions: which is in force, which are scheduled.
    Versions {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// The record of processing activities (GDPR Art. 30) generated from the policy
    /// file: per entity, purposes, legal bases, people, data, recipients, transfers,
    /// retention and security measures.
    Ropa {
        /// `html` for people, `json`, or `fides` (a fideslang system with privacy
        /// declarations).
        #[arg(long, value_enum, default_value = "html")]
        format: RopaFormat,
        /// The policy file; the configured or bundled one by default.
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
    },
}

/// Output formats of `datavow policy ropa`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum RopaFormat {
    Html,
    Json,
    Fides,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Show where the master key comes from and how many keys the keystore holds.
    Status {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Re-wrap every key under a new master key, without touching the data.
    Rotate {
        #[command(flatten)]
        store: StoreArgs,
        /// Write (or read) the new master key here. Required when the current key
        /// comes from DATAVOW_MASTER_KEY_FILE; by default DIR/master.key is replaced.
        #[arg(long, value_name = "FILE")]
        new_key_file: Option<PathBuf>,
    },
}

impl Cli {
    fn flags(&self) -> Flags {
        let mut flags = Flags {
            log_format: self.log_style,
            log_level: self.log_level.clone(),
            ..Flags::default()
        };
        let store = match &self.command {
            Command::Serve { store, listen } => {
                flags.listen = listen.clone();
                Some(store)
            }
            Command::Demo { listen, policy, .. } => {
                flags.listen = listen.clone();
                flags.policy = policy.clone();
                None
            }
            Command::Keys(KeysCommand::Status { store } | KeysCommand::Rotate { store, .. })
            | Command::Ingest { store, .. } => Some(store),
            Command::Operator(
                OperatorCommand::Add { store, .. }
                | OperatorCommand::List { store }
                | OperatorCommand::SetRole { store, .. }
                | OperatorCommand::Disable { store, .. }
                | OperatorCommand::ResetSecondFactor { store, .. },
            )
            | Command::Dsr(
                DsrCommand::New { store, .. }
                | DsrCommand::List { store, .. }
                | DsrCommand::Show { store, .. }
                | DsrCommand::Complete { store, .. }
                | DsrCommand::Extend { store, .. }
                | DsrCommand::Refuse { store, .. },
            )
            | Command::Stats(
                StatsCommand::Report { store, .. } | StatsCommand::Release { store, .. },
            ) => Some(store),
            Command::Audit(
                AuditCommand::Verify { store }
                | AuditCommand::Prune { store, .. }
                | AuditCommand::Show { store, .. },
            ) => Some(store),
            Command::Retention(RetentionCommand::Apply { store, .. }) => Some(store),
            Command::Marketing(MarketingCommand::Send { store, .. }) => Some(store),
            Command::Policy(
                PolicyCommand::Publish { store, .. } | PolicyCommand::Versions { store },
            ) => Some(store),
            Command::Policy(_) | Command::Completions { .. } | Command::Man => None,
        };
        if let Some(store) = store {
            flags.data_dir = store.data_dir.clone();
            flags.database_url = store.database_url.clone();
            flags.policy = store.policy.clone();
        }
        flags
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Generated from the command line's own definition: they need no configuration.
    match &cli.command {
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(
                *shell,
                &mut Cli::command(),
                "datavow",
                &mut std::io::stdout(),
            );
            return ExitCode::SUCCESS;
        }
        Command::Man => {
            use clap::CommandFactory;
            let page = clap_mangen::Man::new(Cli::command());
            return match page.render(&mut std::io::stdout()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => report(&anyhow::Error::new(err)),
            };
        }
        _ => {}
    }
    let config = match Config::load(cli.config.as_deref(), &cli.flags()) {
        Ok(config) => config,
        Err(err) => return report(&anyhow::Error::new(err)),
    };
    init_logging(&config);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => return report(&anyhow::Error::new(err)),
    };
    // `serve` and `demo` fold their logs when they stop; `policy check` and `ropa`
    // open no store.
    let folds_logs_after = !matches!(
        cli.command,
        Command::Serve { .. }
            | Command::Demo { .. }
            | Command::Policy(PolicyCommand::Check { .. } | PolicyCommand::Ropa { .. })
    );
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve { .. } => commands::serve::run(&config).await,
            Command::Demo { data_dir, .. } => commands::demo::run(&config, data_dir).await,
            Command::Ingest {
                format,
                log_format,
                file,
                ..
            } => {
                let format = match log_format {
                    Some(string) => datavow_core::browser::InputFormat::custom(&string)
                        .map_err(|err| anyhow::anyhow!("--log-format: {err}"))?,
                    None => format.input(),
                };
                commands::ingest::run(&config, format, file).await
            }
            Command::Policy(PolicyCommand::Check { file, policy }) => {
                commands::policy::check(file.or(policy).or(config.policy.clone()).as_deref())
            }
            Command::Policy(PolicyCommand::Publish {
                file,
                effective,
                version,
                lang,
                minor,
                ..
            }) => {
                commands::policy::publish(&config, &file, &effective, version, lang, !minor).await
            }
            Command::Policy(PolicyCommand::Versions { .. }) => {
                commands::policy::versions(&config).await
            }
            Command::Policy(PolicyCommand::Ropa { format, policy }) => {
                let format = match format {
                    RopaFormat::Html => commands::policy::RopaFormat::Html,
                    RopaFormat::Json => commands::policy::RopaFormat::Json,
                    RopaFormat::Fides => commands::policy::RopaFormat::Fides,
                };
                commands::policy::ropa(policy.or(config.policy.clone()).as_deref(), format)
            }
            Command::Keys(KeysCommand::Status { .. }) => commands::keys::status(&config).await,
            Command::Keys(KeysCommand::Rotate { new_key_file, .. }) => {
                commands::keys::rotate(&config, new_key_file).await
            }
            Command::Operator(OperatorCommand::Add { name, role, .. }) => {
                commands::operator::add(&config, &name, role).await
            }
            Command::Operator(OperatorCommand::List { .. }) => {
                commands::operator::list(&config).await
            }
            Command::Operator(OperatorCommand::SetRole { name, role, .. }) => {
                commands::operator::set_role(&config, &name, role).await
            }
            Command::Operator(OperatorCommand::Disable { name, .. }) => {
                commands::operator::disable(&config, &name).await
            }
            Command::Operator(OperatorCommand::ResetSecondFactor { name, .. }) => {
                commands::operator::reset_second_factor(&config, &name).await
            }
            Command::Dsr(DsrCommand::New {
                kind,
                email,
                user_id,
                received,
                channel,
                json,
                ..
            }) => {
                commands::dsr::new(
                    &config,
                    &kind,
                    email,
                    user_id,
                    received.as_deref(),
                    &channel,
                    json,
                )
                .await
            }
            Command::Dsr(DsrCommand::List { overdue, json, .. }) => {
                commands::dsr::list(&config, overdue, json).await
            }
            Command::Dsr(DsrCommand::Show { id, json, .. }) => {
                commands::dsr::show(&config, id, json).await
            }
            Command::Dsr(DsrCommand::Extend {
                id, months, reason, ..
            }) => commands::dsr::extend(&config, id, months, &reason).await,
            Command::Dsr(DsrCommand::Complete { id, .. }) => {
                commands::dsr::close(&config, id, "completed", None).await
            }
            Command::Dsr(DsrCommand::Refuse { id, reason, .. }) => {
                commands::dsr::close(&config, id, "refused", Some(&reason)).await
            }
            Command::Stats(StatsCommand::Report {
                report, from, to, ..
            }) => commands::stats::report(&config, &report, from, to).await,
            Command::Stats(StatsCommand::Release {
                report,
                from,
                to,
                k,
                epsilon,
                out,
                ..
            }) => commands::stats::release(&config, report, from, to, k, epsilon, &out).await,
            Command::Audit(AuditCommand::Verify { .. }) => commands::audit::verify(&config).await,
            Command::Audit(AuditCommand::Prune {
                dry_run, now, json, ..
            }) => commands::audit::prune(&config, dry_run, now.as_deref(), json).await,
            Command::Retention(RetentionCommand::Apply {
                dry_run, now, json, ..
            }) => commands::retention::apply(&config, now.as_deref(), dry_run, json).await,
            Command::Audit(AuditCommand::Show { subject, limit, .. }) => {
                commands::audit::show(&config, &subject, limit).await
            }
            Command::Marketing(MarketingCommand::Send {
                subject,
                body,
                segment,
                ..
            }) => commands::marketing::send(&config, subject, &body, segment).await,
            Command::Completions { .. } | Command::Man => Ok(ExitCode::SUCCESS),
        }
    });
    if folds_logs_after {
        commands::fold_write_ahead_logs(&config);
    }
    match result {
        Ok(code) => code,
        Err(err) => report(&err),
    }
}

/// Prints an error for a person and picks the exit code: 2 for configuration and
/// policy mistakes, 1 otherwise.
#[allow(clippy::print_stderr)]
fn report(err: &anyhow::Error) -> ExitCode {
    eprintln!("datavow: {err:#}");
    let usage = err.downcast_ref::<ConfigError>().is_some()
        || err
            .downcast_ref::<datavow_policy::PolicyLoadError>()
            .is_some()
        || err.downcast_ref::<datavow_policy::PolicyErrors>().is_some();
    ExitCode::from(if usage { 2 } else { 1 })
}

fn init_logging(config: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_new(&config.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}
