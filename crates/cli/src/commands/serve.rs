//! `datavow serve`: the HTTP API and the background jobs until SIGTERM or Ctrl-C.

use crate::config::Config;
use anyhow::Context;
use datavow_core::{jobs, Datavow};
use std::process::ExitCode;
use std::time::Duration;

pub async fn run(config: &Config) -> anyhow::Result<ExitCode> {
    let app = super::open(config).await?;
    app.publish_policy_file_texts().await?;
    serve_app(app, config).await?;
    Ok(ExitCode::SUCCESS)
}

/// Serves `app` on the configured address with the standard jobs until a shutdown
/// signal, then stops the jobs and lets requests in flight finish.
pub async fn serve_app(app: Datavow, config: &Config) -> anyhow::Result<()> {
    let addr = config.listen_addr()?;
    let secure_cookies = config.secure_cookies.unwrap_or(secure_by_default(addr));
    if !secure_cookies && secure_by_default(addr) {
        tracing::warn!(
            "secure_cookies is off on a public address: session cookies can travel over plain HTTP"
        );
    }
    let options = datavow_server::ServerOptions {
        secure_cookies,
        geo: super::geo_database(config)?,
        user_agents: super::user_agents(&config.user_agent_regexes)?,
        trusted_proxies: config.trusted_proxy_addrs()?,
        limits: config.connection_limits(),
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!(address = %addr, backend = ?app.backend(), policy = %app.policy.origin, "datavow is serving");
    if !app.mail_configured() {
        tracing::info!(
            "no smtp_url: Datavow sends no mail (marketing, account recovery links); set smtp_url, mail_from and public_url to send it"
        );
    }
    let (stop_jobs, jobs_stopped) = tokio::sync::watch::channel(false);
    let job_runner = tokio::spawn(jobs::run_until(
        app.clone(),
        jobs::standard_jobs(),
        jobs_stopped,
    ));
    let app_for_shutdown = app.clone();
    datavow_server::serve(app, listener, options, shutdown_signal()).await?;
    tracing::info!("shutting down: waiting for background jobs");
    let _ = stop_jobs.send(true);
    job_runner.await.context("background jobs")?;
    match app_for_shutdown.audit_log().checkpoint().await {
        Ok(Some(seq)) => tracing::info!(seq, "signed the audit log's head"),
        Ok(None) => {}
        Err(err) => {
            tracing::error!(error = %err, "could not sign the audit log's head at shutdown")
        }
    }
    if config.database_url.is_none() {
        // A copy of the database files alone is then a complete backup.
        match datavow_core::fold_write_ahead_logs(&config.data_dir, Duration::from_secs(10)) {
            Ok(true) => tracing::info!("folded the write-ahead logs into the database files"),
            Ok(false) => tracing::warn!(
                "a read in progress kept the write-ahead logs from being folded; back up the -wal files with the databases"
            ),
            Err(err) => tracing::error!(error = %err, "could not fold the write-ahead logs"),
        }
    }
    tracing::info!("stopped");
    Ok(())
}

/// Completes on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}

/// Whether cookies are `Secure` when the configuration does not say: on any address
/// but loopback, where a TLS proxy in front (or a developer's browser) is the rule.
fn secure_by_default(addr: std::net::SocketAddr) -> bool {
    !addr.ip().to_canonical().is_loopback()
}

#[cfg(test)]
mod tests {
    #[test]
    fn cookies_are_secure_by_default_unless_listening_on_loopback() {
        for (addr, secure) in [
            ("127.0.0.1:8080", false),
            ("[::1]:8080", false),
            ("0.0.0.0:8080", true),
            ("[::]:8080", true),
            ("192.0.2.10:443", true),
        ] {
            let addr = addr.parse().expect("address");
            assert_eq!(super::secure_by_default(addr), secure, "{addr}");
        }
    }
}
