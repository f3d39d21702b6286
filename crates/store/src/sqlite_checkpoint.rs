//! Checkpoints the data file's write-ahead log from a thread of its own.
//!
//! Why: SQLite's automatic checkpoint runs inside the commit that pushes the log past
//! 1,000 pages, and ends with an fsync of the database file. On the data file the
//! commit that does so is usually an audit append (`sqlite_audit`), and every audited
//! request waits for that commit: one checkpoint held them all for milliseconds. The
//! audit appender therefore turns the automatic checkpoint off, and this thread runs
//! the same (passive) checkpoint a few times a second instead. Measured with
//! `cargo bench -p datavow-server --bench me`: p99 of `GET /api/v1/me` 6.3–7.6 ms with
//! the checkpoint in the commit, 2.5 ms with it here.
//!
//! Invariants:
//! - `PASSIVE`, as SQLite's own: it never waits for, nor blocks, a reader or a writer;
//!   it copies what no reader still needs, and the log is reused from its start once
//!   everything is copied.
//! - `synchronous = NORMAL`, as on the writers: the database file is synced before the
//!   log it was copied from can be reused.
//! - The thread ends when its [`Checkpointer`] is dropped (with the last clone of the
//!   store); the sqlx connections keep SQLite's automatic checkpoint as a backstop.

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
const EVERY: Duration = Duration::from_millis(200);

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
