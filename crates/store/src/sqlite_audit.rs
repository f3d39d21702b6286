//! Appends to the audit chain on SQLite, through rusqlite on Tokio's blocking pool.
//!
//! Why not sqlx here: an append is a transaction of a handful of statements (take the
//! chain lock, read the head, insert the entries, move the head), and sqlx-sqlite hands
//! every one of them to its connection's worker thread and back. Every audited request
//! waits for such a commit, so under load those hand-overs, not SQLite, were the audit
//! log's cost. Here the whole transaction runs as one synchronous call with cached
//! statements, handed to Tokio's blocking pool once: one hop per group commit instead
//! of two per statement.
//!
//! Invariants:
//! - One transaction per call, begun `IMMEDIATE`: SQLite's write lock is the chain
//!   lock, so appends from other connections or processes wait and then extend the
//!   head they find; nothing is written unless everything is (a failed call rolls back).
//! - The same statements, on the same tables, as the sqlx path in `shared.rs` uses for
//!   PostgreSQL, so `verify`, the triggers and both backends' tests see one format.
//! - It never runs on an async worker: waiting for SQLite's write lock (held by another
//!   process, or by a sqlx transaction whose task needs a worker to finish) would stall
//!   that worker; on the blocking pool it waits, like sqlx's connections, up to the
//!   10 s busy timeout.

use crate::shared::{
    SQL_AUDIT_CHECKPOINT, SQL_AUDIT_HEAD, SQL_AUDIT_INSERT_ONE, SQL_AUDIT_MOVE_HEAD,
};
use crate::{ChainFn, NewAuditEntry, SignFn, StoreError};
use rusqlite::{params, Connection, TransactionBehavior};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Log pages after which an audit append runs SQLite's automatic checkpoint (SQLite's
/// default is 1,000); by then `sqlite_checkpoint`'s thread has copied most of them
/// (why both: see there).
pub const AUDIT_AUTOCHECKPOINT_PAGES: i64 = 4000;

/// The audit chain's writer connection to one (existing, migrated) database file.
pub(crate) struct AuditAppender {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for AuditAppender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditAppender").finish_non_exhaustive()
    }
}

impl AuditAppender {
    pub(crate) fn open(path: &Path) -> Result<Self, StoreError> {
        // As on the sqlx connections to the data file (`synchronous` is per connection).
        let conn = crate::sqlite::open_rusqlite(
            path,
            &[
                ("synchronous", &"NORMAL"),
                ("foreign_keys", &true),
                ("wal_autocheckpoint", &AUDIT_AUTOCHECKPOINT_PAGES),
            ],
        )?;
        Ok(AuditAppender {
            conn: Mutex::new(conn),
        })
    }

    /// See [`crate::AuditStore::append`].
    pub(crate) async fn append_on_blocking_pool(
        self: &Arc<Self>,
        entries: Vec<NewAuditEntry>,
        chain: ChainFn,
        checkpoint_every: i64,
        sign: Arc<SignFn<'static>>,
    ) -> Result<i64, StoreError> {
        let appender = self.clone();
        tokio::task::spawn_blocking(move || {
            appender.append(&entries, chain, checkpoint_every, &*sign)
        })
        .await
        .map_err(|_| StoreError::AuditUnavailable("the audit append stopped".into()))?
    }

    fn append(
        &self,
        entries: &[NewAuditEntry],
        chain: ChainFn,
        checkpoint_every: i64,
        sign: &SignFn<'_>,
    ) -> Result<i64, StoreError> {
        // A panic inside drops the transaction (rolled back); the connection stays sound.
        let mut conn = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (mut seq, mut hash): (i64, Vec<u8>) =
            tx.query_row(SQL_AUDIT_HEAD, [], |row| Ok((row.get(0)?, row.get(1)?)))?;
        {
            let mut insert = tx.prepare_cached(SQL_AUDIT_INSERT_ONE)?;
            for entry in entries {
                seq += 1;
                let next = chain(&hash, seq, entry);
                insert.execute(params![
                    seq,
                    entry.at_micros,
                    entry.actor,
                    entry.action,
                    entry.purpose,
                    entry.subject,
                    entry.fields,
                    entry.outcome,
                    entry.detail,
                    hash,
                    next,
                ])?;
                if checkpoint_every > 0 && seq % checkpoint_every == 0 {
                    let cp = sign(seq, &next);
                    tx.prepare_cached(SQL_AUDIT_CHECKPOINT)?.execute(params![
                        cp.seq,
                        cp.hash,
                        cp.at_micros,
                        cp.key_id,
                        cp.signature,
                    ])?;
                }
                hash = next;
            }
        }
        tx.prepare_cached(SQL_AUDIT_MOVE_HEAD)?
            .execute(params![seq, hash])?;
        tx.commit()?;
        Ok(seq)
    }
}
