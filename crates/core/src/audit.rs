//! The tamper-evident audit log (SPEC: "Everything a person or operator does to
//! personal data is written to a tamper-evident audit log").
//!
//! Each entry's hash is SHA-256 over the previous entry's hash, its sequence number
//! and its content, so editing, deleting, inserting or reordering an entry breaks the
//! chain from that entry on. Every `checkpoint_every` entries, and at shutdown, the
//! head `(seq, hash)` is signed with an ed25519 key kept in the keystore, so a chain
//! rewritten from some entry on, or a tail cut off, no longer matches a signature.
//!
//! Entries older than the policy's `[audit] keep` are pruned ([`prune`]): first a
//! statement "entries up to `n` are gone, entry `n` had hash `h`, all were older than
//! `t`" is signed with the same key and stored, then those entries are deleted. The
//! chain then verifies from `h` on, so pruning never weakens what is left.
//!
//! Invariants: entries hold no plaintext personal data (subjects are tags derived from
//! the person's key, fields are names); no code path updates an entry or deletes one
//! that no signed prune covers, and the database refuses both (triggers).

use chrono::DateTime;
use chrono::Utc;
use datavow_store::{
    AuditPrune, AuditRecord, AuditStore, Checkpoint, NewAuditEntry, SignFn, StoreError,
};
use datavow_vault::{AuditError, AuditEvent, AuditSigner, AuditSink, SubjectTag};
use ed25519_dalek::{Signature, Verifier};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Default distance between signed checkpoints.
pub const CHECKPOINT_EVERY: i64 = 1000;
const PAGE: i64 = 10_000;
/// Entries deleted per transaction when pruning.
const PRUNE_BATCH: i64 = 10_000;

/// The most entries one group commit writes.
const GROUP_COMMIT_MAX: usize = 512;

type AppendReply = tokio::sync::oneshot::Sender<Result<i64, String>>;

/// The audit log over an [`AuditStore`].
///
/// Appends go through one writer task that commits whatever has queued up in a single
/// transaction (group commit), so concurrent requests share one write instead of
/// queueing behind SQLite's single writer one by one. Every caller still waits until
/// its own entries are committed: no entry, no data.
#[derive(Debug, Clone)]
pub struct AuditLog {
    store: Arc<dyn AuditStore>,
    signer: AuditSigner,
    queue: tokio::sync::mpsc::Sender<(Vec<NewAuditEntry>, AppendReply)>,
}

/// One entry of a person's access log, as people read it (P13).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AccessEntry {
    pub seq: i64,
    /// RFC 3339, seconds.
    pub at: String,
    pub actor: String,
    pub action: String,
    pub purpose: Option<String>,
    pub fields: Vec<String>,
    pub outcome: String,
    /// A non-personal detail, such as the request id of an erasure request.
    pub detail: Option<String>,
}

impl From<AuditRecord> for AccessEntry {
    fn from(record: AuditRecord) -> Self {
        let e = record.entry;
        AccessEntry {
            seq: record.seq,
            at: chrono::DateTime::from_timestamp_micros(e.at_micros)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default(),
            actor: e.actor,
            action: e.action,
            purpose: e.purpose,
            fields: e
                .fields
                .split(',')
                .filter(|f| !f.is_empty())
                .map(str::to_owned)
                .collect(),
            outcome: e.outcome,
            detail: e.detail,
        }
    }
}

/// The newest `limit` entries about `subject`, read by `reader`: the read itself is
/// audited first when `record` (always for operators, so a privacy officer can see
/// who looked at whose access log; a person's own look once per session and day).
pub(crate) async fn read_access_log(
    app: &crate::Datavow,
    reader: &datavow_vault::Actor,
    subject: &SubjectTag,
    limit: i64,
    record: bool,
) -> Result<Vec<AccessEntry>, StoreError> {
    use datavow_vault::{Action, Outcome};
    if record {
        app.audit
            .append(&[AuditEvent {
                subject: Some(subject.clone()),
                purpose: Some(datavow_policy::Purpose::Requests),
                ..AuditEvent::new(reader, Action::AccessLogRead, Outcome::Allowed)
            }])
            .await?;
    }
    Ok(app
        .audit
        .for_subject(subject, limit)
        .await?
        .into_iter()
        .map(AccessEntry::from)
        .collect())
}

/// Commits `event`, then runs `effect`; if the effect fails, records that too (outcome
/// `failed`). How core's own writes (operator changes, requests) are audited before
/// their effect.
pub(crate) async fn audited_before<T, E: From<StoreError>>(
    app: &crate::Datavow,
    event: AuditEvent,
    effect: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, E> {
    app.audit.append(std::slice::from_ref(&event)).await?;
    match effect.await {
        Ok(done) => Ok(done),
        Err(err) => {
            app.audit
                .append(&[AuditEvent {
                    outcome: datavow_vault::Outcome::Failed,
                    ..event
                }])
                .await?;
            Err(err)
        }
    }
}

/// Verifies the whole chain and records the result for the console's home page
/// (`audit-verify`: entries and checkpoints, or the first broken entry's number).
pub async fn verify_and_record(app: &crate::Datavow) -> Result<VerifyReport, StoreError> {
    let report = app.audit.verify().await?;
    let detail = match &report.broken {
        None => format!(
            "{} entries, {} signed checkpoints{}",
            report.entries,
            report.checkpoints,
            report
                .pruned
                .map(|(seq, _)| format!(", 1 to {seq} pruned"))
                .unwrap_or_default()
        ),
        Some(broken) => format!("broken at entry {}", broken.seq),
    };
    crate::console::record_run(
        app,
        crate::console::home::AUDIT_VERIFY,
        report.broken.is_none(),
        &detail,
    )
    .await?;
    Ok(report)
}

/// What [`prune`] did, or would do with `dry_run`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PruneReport {
    /// Entries older than this are due; `None` when the policy keeps them for ever.
    pub before: Option<DateTime<Utc>>,
    /// The first and last entry newly pruned (or due, with `dry_run`).
    pub range: Option<(i64, i64)>,
    /// Entries deleted by this run, leftovers of an interrupted run included.
    pub deleted: u64,
}

/// Prunes the entries older than the policy's `[audit] keep` at `now`: the longest
/// run of entries from the oldest kept one on that are all older. The prune is audited
/// first, then signed and stored, then the entries are deleted in batches; a run cut
/// short leaves entries the next run deletes. Entries newer than one that is kept are
/// never pruned, so the chain stays one piece.
pub async fn prune(
    app: &crate::Datavow,
    now: DateTime<Utc>,
    dry_run: bool,
) -> Result<PruneReport, StoreError> {
    use datavow_vault::{Action, Actor, Outcome};
    let Some(keep) = app.policy.audit_retention else {
        return Ok(PruneReport {
            before: None,
            range: None,
            deleted: 0,
        });
    };
    let before = keep.before(now);
    let due = app.audit.due_for_pruning(before.timestamp_micros()).await?;
    let mut report = PruneReport {
        before: Some(before),
        range: due.as_ref().map(|d| (d.first, d.through)),
        deleted: 0,
    };
    if dry_run {
        return Ok(report);
    }
    if let Some(due) = due {
        let event = AuditEvent {
            detail: Some(format!(
                "entries {} to {}, all older than {}",
                due.first,
                due.through,
                before.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )),
            ..AuditEvent::new(
                &Actor::System("audit-retention".into()),
                Action::AuditPruned,
                Outcome::Allowed,
            )
        };
        let prune = AuditPrune {
            through_seq: due.through,
            hash: due.hash,
            before_micros: before.timestamp_micros(),
            at_micros: now.timestamp_micros(),
            key_id: app.audit.signer.key_id(),
            signature: Vec::new(),
        };
        let prune = AuditPrune {
            signature: app.audit.signer.sign(&prune_message(&prune)),
            ..prune
        };
        audited_before(app, event, app.audit.store.insert_prune(&prune)).await?;
    }
    report.deleted = app.audit.store.delete_pruned(PRUNE_BATCH).await?;
    metrics::counter!("datavow_audit_entries_pruned_total").increment(report.deleted);
    Ok(report)
}

/// Entries a prune would cut: `first..=through`, and entry `through`'s hash.
struct DueForPruning {
    first: i64,
    through: i64,
    hash: Vec<u8>,
}

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries verified (those kept: pruned ones are not counted).
    pub entries: i64,
    pub checkpoints: usize,
    /// The last entry pruned behind a signed statement, and the moment every pruned
    /// entry was older than, if the log was ever pruned.
    pub pruned: Option<(i64, DateTime<Utc>)>,
    /// The first problem found, if any.
    pub broken: Option<Broken>,
}

/// The first entry at which the chain does not hold, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    pub seq: i64,
    pub reason: String,
}

impl AuditLog {
    /// A log over `store`; spawns its writer task on the current Tokio runtime.
    pub fn new(store: Arc<dyn AuditStore>, signer: AuditSigner, checkpoint_every: i64) -> Self {
        let (queue, mut pending) =
            tokio::sync::mpsc::channel::<(Vec<NewAuditEntry>, AppendReply)>(4096);
        let writer_signer = signer.clone();
        let writer = AuditWriter {
            store: store.clone(),
            sign: Arc::new(move |seq: i64, hash: &[u8]| sign_checkpoint(&writer_signer, seq, hash)),
            checkpoint_every,
        };
        tokio::spawn(async move {
            while let Some(first) = pending.recv().await {
                // Let the requests that are ready to run queue their entries first: a
                // commit that takes only microseconds (SQLite) would otherwise be made
                // for one request at a time, and each commit has a fixed cost.
                tokio::task::yield_now().await;
                let mut batch = vec![first];
                let mut count = batch[0].0.len();
                while count < GROUP_COMMIT_MAX {
                    match pending.try_recv() {
                        Ok(next) => {
                            count += next.0.len();
                            batch.push(next);
                        }
                        Err(_) => break,
                    }
                }
                writer.commit(batch).await;
            }
        });
        AuditLog {
            store,
            signer,
            queue,
        }
    }

    /// Appends events (in one transaction with whatever else is queued); returns the
    /// last sequence number once they are committed.
    pub async fn append(&self, events: &[AuditEvent]) -> Result<i64, StoreError> {
        let now = Utc::now().timestamp_micros();
        let entries: Vec<NewAuditEntry> = events.iter().map(|e| to_entry(e, now)).collect();
        let (reply, committed) = tokio::sync::oneshot::channel();
        self.queue
            .send((entries, reply))
            .await
            .map_err(|_| StoreError::AuditUnavailable("the audit writer has stopped".into()))?;
        committed
            .await
            .map_err(|_| StoreError::AuditUnavailable("the audit writer has stopped".into()))?
            .map_err(StoreError::AuditUnavailable)
    }

    /// Signs the head now (done at shutdown). Returns the signed `seq`, if any.
    pub async fn checkpoint(&self) -> Result<Option<i64>, StoreError> {
        let sign = |seq: i64, hash: &[u8]| sign_checkpoint(&self.signer, seq, hash);
        self.store.checkpoint_head(&sign).await
    }

    /// The newest entries about a person, newest first.
    pub async fn for_subject(
        &self,
        subject: &SubjectTag,
        limit: i64,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        self.store
            .entries_for_subject(subject.as_str(), limit)
            .await
    }

    /// The run of entries after the newest prune that are all older than
    /// `before_micros`, if any. Reads only that run and one page beyond it.
    async fn due_for_pruning(
        &self,
        before_micros: i64,
    ) -> Result<Option<DueForPruning>, StoreError> {
        let pruned = self
            .store
            .prunes()
            .await?
            .last()
            .map_or(0, |p| p.through_seq);
        let mut due: Option<DueForPruning> = None;
        let mut after = pruned;
        loop {
            let page = self.store.entries_after(after, PAGE).await?;
            let Some(last) = page.last() else {
                return Ok(due);
            };
            after = last.seq;
            for record in page {
                if record.entry.at_micros >= before_micros {
                    return Ok(due);
                }
                due = Some(DueForPruning {
                    first: due.as_ref().map_or(record.seq, |d| d.first),
                    through: record.seq,
                    hash: record.hash,
                });
            }
        }
    }

    /// Walks the whole chain and every checkpoint. Reads in pages, so memory stays flat.
    pub async fn verify(&self) -> Result<VerifyReport, StoreError> {
        let checkpoints: BTreeMap<i64, Checkpoint> = self
            .store
            .checkpoints()
            .await?
            .into_iter()
            .map(|c| (c.seq, c))
            .collect();
        let prunes = self.store.prunes().await?;
        let mut report = VerifyReport {
            entries: 0,
            checkpoints: checkpoints.len(),
            pruned: prunes.last().map(|p| {
                (
                    p.through_seq,
                    DateTime::from_timestamp_micros(p.before_micros).unwrap_or_default(),
                )
            }),
            broken: None,
        };
        let broken = |seq: i64, reason: String| Some(Broken { seq, reason });
        for checkpoint in checkpoints.values() {
            if let Err(reason) = self.check_signature(checkpoint) {
                report.broken = broken(checkpoint.seq, reason);
                return Ok(report);
            }
        }
        for prune in &prunes {
            if let Err(reason) = self.check_prune(prune) {
                report.broken = broken(prune.through_seq, reason);
                return Ok(report);
            }
        }
        // The chain starts after the newest signed prune, from its hash.
        let (mut prev, mut expected) = match prunes.last() {
            Some(p) => (p.hash.clone(), p.through_seq + 1),
            None => (vec![0u8; 32], 1),
        };
        if let Some(signed) = checkpoints.get(&(expected - 1)) {
            if signed.hash != prev {
                report.broken = broken(
                    expected - 1,
                    format!(
                        "the prune up to entry {} differs from that entry's signed checkpoint",
                        expected - 1
                    ),
                );
                return Ok(report);
            }
        }
        loop {
            let page = self.store.entries_after(expected - 1, PAGE).await?;
            if page.is_empty() {
                break;
            }
            for record in page {
                if record.seq != expected {
                    report.broken = broken(expected, format!(
                        "entry {expected} is missing: the log jumps to entry {} (deleted or renumbered)",
                        record.seq
                    ));
                    return Ok(report);
                }
                if record.prev_hash != prev {
                    report.broken = broken(
                        record.seq,
                        format!(
                            "entry {} does not follow entry {} (inserted or reordered)",
                            record.seq,
                            record.seq - 1
                        ),
                    );
                    return Ok(report);
                }
                if entry_hash(&prev, record.seq, &record.entry) != record.hash {
                    report.broken = broken(
                        record.seq,
                        format!("entry {} was altered after it was written", record.seq),
                    );
                    return Ok(report);
                }
                if let Some(checkpoint) = checkpoints.get(&record.seq) {
                    if checkpoint.hash != record.hash {
                        report.broken = broken(
                            record.seq,
                            format!(
                            "entry {} differs from the signed checkpoint (the chain was rewritten)",
                            record.seq
                        ),
                        );
                        return Ok(report);
                    }
                }
                prev = record.hash;
                expected += 1;
                report.entries += 1;
            }
        }
        let last = expected - 1;
        if let Some((&last_signed, _)) = checkpoints.iter().next_back() {
            if last_signed > last {
                report.broken = broken(
                    last + 1,
                    format!(
                        "entries {} to {last_signed} were cut off: a signed checkpoint covers them",
                        last + 1
                    ),
                );
                return Ok(report);
            }
        }
        let (head_seq, head_hash) = self.store.head().await?;
        if head_seq != last || (head_seq > 0 && head_hash != prev) {
            report.broken = broken(last.min(head_seq) + 1, format!(
                "the log ends at entry {last} but its head records entry {head_seq} (tail cut or forged)"
            ));
        }
        Ok(report)
    }

    fn check_prune(&self, prune: &AuditPrune) -> Result<(), String> {
        let n = prune.through_seq;
        if prune.key_id != self.signer.key_id() {
            return Err(format!(
                "the prune up to entry {n} is signed by unknown key {}",
                prune.key_id
            ));
        }
        let signature = Signature::from_slice(&prune.signature)
            .map_err(|_| format!("the prune up to entry {n} has a malformed signature"))?;
        self.signer
            .verifying_key()
            .verify(&prune_message(prune), &signature)
            .map_err(|_| format!("the prune up to entry {n} has an invalid signature"))
    }

    fn check_signature(&self, checkpoint: &Checkpoint) -> Result<(), String> {
        if checkpoint.key_id != self.signer.key_id() {
            return Err(format!(
                "checkpoint {} is signed by unknown key {}",
                checkpoint.seq, checkpoint.key_id
            ));
        }
        let signature = Signature::from_slice(&checkpoint.signature)
            .map_err(|_| format!("checkpoint {} has a malformed signature", checkpoint.seq))?;
        self.signer
            .verifying_key()
            .verify(
                &checkpoint_message(checkpoint.seq, &checkpoint.hash),
                &signature,
            )
            .map_err(|_| format!("checkpoint {} has an invalid signature", checkpoint.seq))
    }
}

#[async_trait::async_trait]
impl AuditSink for AuditLog {
    async fn record(&self, event: AuditEvent) -> Result<(), AuditError> {
        self.append(std::slice::from_ref(&event))
            .await
            .map(drop)
            .map_err(|e| AuditError(e.to_string()))
    }
}

/// The writer task's half: commits queued batches.
struct AuditWriter {
    store: Arc<dyn AuditStore>,
    /// Signs checkpoints; handed to every append.
    sign: Arc<SignFn<'static>>,
    checkpoint_every: i64,
}

impl AuditWriter {
    /// Commits every queued request in one transaction and answers each with its own
    /// last sequence number, or with the error if the transaction failed.
    async fn commit(&self, batch: Vec<(Vec<NewAuditEntry>, AppendReply)>) {
        let mut entries = Vec::new();
        let mut replies = Vec::with_capacity(batch.len());
        for (mut own, reply) in batch {
            replies.push((own.len() as i64, reply));
            entries.append(&mut own);
        }
        let count = entries.len() as i64;
        let result = self
            .store
            .append(
                entries,
                entry_hash,
                self.checkpoint_every,
                self.sign.clone(),
            )
            .await;
        match result {
            Ok(last) => {
                let mut seq = last - count;
                for (own, reply) in replies {
                    seq += own;
                    let _ = reply.send(Ok(seq));
                }
            }
            Err(err) => {
                tracing::error!(error = %err, "audit append failed; the operations waiting on it fail");
                for (_, reply) in replies {
                    let _ = reply.send(Err(err.to_string()));
                }
            }
        }
    }
}

fn sign_checkpoint(signer: &AuditSigner, seq: i64, hash: &[u8]) -> Checkpoint {
    Checkpoint {
        seq,
        hash: hash.to_vec(),
        at_micros: Utc::now().timestamp_micros(),
        key_id: signer.key_id(),
        signature: signer.sign(&checkpoint_message(seq, hash)),
    }
}

fn to_entry(event: &AuditEvent, at_micros: i64) -> NewAuditEntry {
    NewAuditEntry {
        at_micros,
        actor: event.actor.to_string(),
        action: event.action.as_str().to_owned(),
        purpose: event.purpose.map(|p| p.as_str().to_owned()),
        subject: event.subject.as_ref().map(|s| s.as_str().to_owned()),
        fields: event
            .fields
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join(","),
        outcome: event.outcome.as_str().to_owned(),
        detail: event.detail.clone(),
    }
}

/// The chain hash of one entry. Every variable-length part is length-prefixed, so no
/// two different entries encode alike.
pub fn entry_hash(prev: &[u8], seq: i64, entry: &NewAuditEntry) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(b"datavow/audit/v1");
    hasher.update(prev);
    hasher.update(seq.to_be_bytes());
    hasher.update(entry.at_micros.to_be_bytes());
    let optional = |v: &Option<String>| v.clone().unwrap_or_else(|| "\u{0}".into());
    for part in [
        entry.actor.clone(),
        entry.action.clone(),
        optional(&entry.purpose),
        optional(&entry.subject),
        entry.fields.clone(),
        entry.outcome.clone(),
        optional(&entry.detail),
    ] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.finalize().to_vec()
}

fn prune_message(prune: &AuditPrune) -> Vec<u8> {
    let mut message = b"datavow/audit-prune/v1".to_vec();
    message.extend_from_slice(&prune.through_seq.to_be_bytes());
    message.extend_from_slice(&prune.before_micros.to_be_bytes());
    message.extend_from_slice(&prune.hash);
    message
}

fn checkpoint_message(seq: i64, hash: &[u8]) -> Vec<u8> {
    let mut message = b"datavow/audit-checkpoint/v1".to_vec();
    message.extend_from_slice(&seq.to_be_bytes());
    message.extend_from_slice(hash);
    message
}
