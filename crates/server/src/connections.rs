//! Accepting connections so that slow, silent or greedy clients cannot take the
//! server away from everyone else.
//!
//! Invariants:
//! - At most [`ConnectionLimits::max_connections`] connections are open at once; past
//!   that, new ones wait in the kernel's backlog until one closes.
//! - One client address holds at most [`ConnectionLimits::per_client`] of them (trusted
//!   proxies, which speak for many clients, are exempt); more are closed at once.
//! - A client has [`ConnectionLimits::header_timeout`] to send a request's headers,
//!   counted from the connection's start and again from the end of each response, so
//!   half-sent headers and idle keep-alive connections are closed. Bodies and handlers
//!   are bounded by the router's request time-out.
//! - On shutdown nothing new is accepted and open connections finish the request they
//!   are serving, for at most [`ConnectionLimits::drain`].

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::Service;

/// How many connections, and for how long.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub per_client: usize,
    pub header_timeout: Duration,
    pub drain: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: default_max_connections(),
            per_client: 256,
            header_timeout: Duration::from_secs(10),
            drain: Duration::from_secs(30),
        }
    }
}

/// Raises the process's open-file limit to its hard limit, and keeps a quarter of it
/// for the database, the keystore and log files: at most 16,384 connections.
pub fn default_max_connections() -> usize {
    let files = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
    usize::try_from(files / 4 * 3)
        .unwrap_or(16_384)
        .clamp(64, 16_384)
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes.
pub(crate) async fn serve(
    router: Router,
    listener: TcpListener,
    limits: ConnectionLimits,
    trusted_proxies: Vec<IpAddr>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut make_service = router.into_make_service_with_connect_info::<SocketAddr>();
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let clients = ClientCounts::new(limits.per_client, trusted_proxies);
    let graceful = GracefulShutdown::new();
    // HTTP/1.1 only: a TLS proxy in front speaks it to Datavow, and guessing the
    // version of a connection that sends nothing would wait without a time-out.
    let mut builder = auto::Builder::new(TokioExecutor::new()).http1_only();
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = open.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %err, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(slot) = clients.enter(peer.ip()) else {
            metrics::counter!("datavow_connections_refused_total", "reason" => "per_client")
                .increment(1);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let Ok(service) = make_service.call(peer).await;
        let connection = builder
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A client that went away or timed out: nothing to report.
            let _ = connection.await;
            drop((permit, slot));
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.drain) => {
            tracing::warn!("connections still open after the drain time were closed");
        }
    }
    Ok(())
}

/// Open connections per client address.
#[derive(Clone)]
struct ClientCounts {
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
    per_client: usize,
    exempt: Arc<[IpAddr]>,
}

/// One open connection of a client; closing it frees the slot.
struct Slot {
    counts: ClientCounts,
    client: IpAddr,
}

impl ClientCounts {
    fn new(per_client: usize, exempt: Vec<IpAddr>) -> Self {
        ClientCounts {
            open: Arc::default(),
            per_client,
            exempt: exempt.into(),
        }
    }

    fn enter(&self, client: IpAddr) -> Option<Slot> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(client).or_default();
        if *count >= self.per_client && !self.exempt.contains(&client) {
            return None;
        }
        *count += 1;
        Some(Slot {
            counts: self.clone(),
            client,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.counts.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.client);
            }
        }
    }
}
