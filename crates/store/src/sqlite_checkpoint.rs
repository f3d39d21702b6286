//! Checkpoints the data file's write-ahead log from a thread of its own.
//!
//! Why: SQLite's automatic checkpoint runs inside the commit that finds the log past
//! its threshold, copies every page not copied yet and syncs the database file. On the
//! data file that commit is usually an audit append (`sqlite_audit`), and every audited
//! request waits for it. This thread runs a passive checkpoint every 50 ms, so the
//! append that reaches the threshold finds almost everything copied already.
//!
//! It cannot replace that checkpoint: a log only restarts from its beginning once it
//! is copied whole, which a background copy never achieves while a writer keeps
//! appending (seen: 424 MB of log after ten seconds of `GET /me` load). So the appender
//! keeps SQLite's automatic checkpoint, at 4,000 pages (16 MiB) instead of 1,000.
//! Measured with `cargo bench -p datavow-server --bench me`, two runs each: p99 of
//! `GET /api/v1/me` 3.5–3.8 ms with this thread, 21–25 ms without it at the same
//! threshold (and 10–13 ms with SQLite's defaults alone); the log stayed at 16.5 MB.
//!
//! Invariants:
//! - `PASSIVE`, as SQLite's own: it never waits for, nor blocks, a reader or a writer.
//! - `synchronous = NORMAL`, as on the writers: the database file is synced before the
//!   log it was copied from can be reused.
//! - The thread ends when its [`Checkpointer`] is dropped (with the last clone of the
//!   store). It and the fold at the end of a process take turns ([`take_turn`]); an
//!   appender's automatic checkpoint that meets it is skipped and tried again by the
//!   next commit, as SQLite does.

use crate::StoreError;
use std::path::Path;
use std::sync::{mpsc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// The checkpoints of this process take turns: SQLite answers a checkpoint that meets
/// another one on the same file with "busy" at once, without waiting, so the fold at
/// the end of a command would otherwise lose to this thread now and then.
static TURN: Mutex<()> = Mutex::new(());

/// Waits for this process's checkpoints to take their turn (see [`TURN`]).
pub(crate) fn take_turn() -> MutexGuard<'static, ()> {
    TURN.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How often the thread checkpoints.
const EVERY: Duration = Duration::from_millis(50);

/// The running checkpoint thread of one database file; dropping this stops it.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    _stop: mpsc::Sender<()>,
}

impl Checkpointer {
    /// Starts checkpointing the (existing, WAL-mode) database at `path`.
    pub(crate) fn start(path: &Path) -> Result<Self, StoreError> {
        let conn = crate::sqlite::open_rusqlite(path, &[("synchronous", &"NORMAL")])?;
        let (stop, stopped) = mpsc::channel::<()>();
        let file = path.display().to_string();
        std::thread::Builder::new()
            .name("datavow-checkpoint".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(EVERY) {
                    let _turn = take_turn();
                    // (busy, frames in the log, frames copied); busy only means "later".
                    if let Err(err) =
                        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    {
                        tracing::warn!(file, error = %err, "write-ahead log checkpoint failed");
                    }
                }
            })
            .map_err(|e| StoreError::Open {
                path: path.display().to_string(),
                reason: format!("cannot start the checkpoint thread: {e}"),
            })?;
        Ok(Checkpointer { _stop: stop })
    }
}
