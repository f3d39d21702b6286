//! The ingest pipeline: a reader thread reads the input in blocks, a chunker thread
//! cuts them into chunks of lines, worker threads (one per core) parse, enrich and seal
//! those into blocks per day, and the async side appends the blocks to the store.
//! Every queue between them is bounded, so memory stays flat whatever the input's size.

use super::block::{encode_addresses, BlockBuilder, NewRow};
use super::{IngestSummary, InputFormat};
use crate::accounts::credentials::could_be_user_id;
use chrono::{DateTime, NaiveDate, Utc};
use datavow_ingest::{
    recognise, Browser, Format, GeoDb, LineParser, LogRecord, Reject, UaParser, MAX_LINE,
};
use datavow_store::{BrowserStore, EventBlock};
use datavow_vault::{
    address_bytes, Action, Actor, AgentDigest, AuditEvent, DayKeys, Grant, LinkTag, Outcome, Vault,
    VaultError,
};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};

/// Lines per chunk (and so at most per block).
const CHUNK_LINES: usize = 4096;
/// The longest a read line waits in a partial chunk while more lines arrive.
const STREAM_FLUSH: std::time::Duration = std::time::Duration::from_secs(1);
/// Distinct accounts whose link tags a worker remembers.
const LINK_CACHE: usize = 100_000;
/// Distinct user agents a worker remembers parsed (real logs have a few thousand).
const AGENT_CACHE: usize = 20_000;
/// The longest a run writes to a day partition without a fresh audit entry for it, by
/// default.
pub(crate) const AUDIT_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Why a parsed record is still not stored.
pub(crate) const PAST_RETENTION: &str = "older than the retention period";
pub(crate) const IN_FUTURE: &str = "time in the future";

/// What the pipeline needs; cheap to clone.
#[derive(Clone)]
pub(crate) struct Pipeline {
    pub vault: Arc<Vault>,
    /// Covers writing browser data and linking it by userID.
    pub grant: Arc<Grant>,
    pub audit: Arc<crate::audit::AuditLog>,
    pub actor: Actor,
    /// How often a day that keeps being written is audited again.
    pub audit_every: std::time::Duration,
    pub store: Arc<dyn BrowserStore>,
    pub ua: Option<Arc<UaParser>>,
    pub geo: Option<Arc<GeoDb>>,
    /// Records older than this are past retention and not stored.
    pub oldest: DateTime<Utc>,
    /// Where the input starts in a file whose progress is recorded; `None` for a
    /// stream.
    pub resume: Option<super::resume::Resume>,
}

/// Lines cut from the input, with the parser that reads them.
struct Chunk {
    buf: Vec<u8>,
    ends: Vec<usize>,
    too_long: u64,
    parser: Option<LineParser>,
    /// Chunks are numbered in input order; the writer stores them in that order.
    seq: u64,
    /// Input bytes up to the end of this chunk's last line (or skipped line), when
    /// everything before it has been cut into this chunk or earlier ones.
    end: Option<u64>,
}

/// What a worker made of one chunk: its blocks by day.
struct Sealed {
    seq: u64,
    end: Option<u64>,
    blocks: Vec<(NaiveDate, EventBlock)>,
}

impl Chunk {
    fn lines(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(self.ends.iter()).map(|(s, &e)| &self.buf[s..e])
    }
}

/// One worker's counts.
#[derive(Default)]
struct Counts {
    read: u64,
    stored: u64,
    rejected: BTreeMap<&'static str, u64>,
}

impl Counts {
    fn reject(&mut self, reason: &'static str) {
        *self.rejected.entry(reason).or_default() += 1;
    }

    fn merge(&mut self, other: Counts) {
        self.read += other.read;
        self.stored += other.stored;
        for (reason, n) in other.rejected {
            *self.rejected.entry(reason).or_default() += n;
        }
    }
}

/// The day keys of this run, fetched once per day.
#[derive(Default)]
struct DayKeyCache(Mutex<HashMap<NaiveDate, Arc<DayKeys>>>);

/// Why a run stopped early.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("reading the input failed: {0}")]
    Read(#[from] std::io::Error),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Store(#[from] datavow_store::StoreError),
    #[error(transparent)]
    Denied(#[from] crate::access::Denied),
    #[error("an ingest thread stopped unexpectedly; records up to that point are stored")]
    Thread,
    #[error(
        "the first lines are in none of the formats {0}; name the format with --format, or \
         give the web server's format string with --log-format"
    )]
    Unrecognised(String),
}

impl Pipeline {
    /// Runs the whole input. `progress` counts bytes read.
    pub(crate) async fn run(
        &self,
        input: Box<dyn BufRead + Send>,
        format: InputFormat,
        progress: Arc<AtomicU64>,
    ) -> Result<IngestSummary, IngestError> {
        let workers = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(1, 8);
        let (chunk_tx, chunk_rx) = mpsc::sync_channel::<Chunk>(workers * 2);
        // Chunks read go back to the chunker to be filled again (see `read_blocks`).
        let (spare_tx, spares) = mpsc::channel::<Chunk>();
        let chunk_rx = Arc::new(Mutex::new(chunk_rx));
        let (block_tx, mut block_rx) = tokio::sync::mpsc::channel::<Sealed>(workers * 4);
        let stop = Arc::new(AtomicBool::new(false));
        let failure: Arc<Mutex<Option<IngestError>>> = Arc::default();
        let keys = Arc::new(DayKeyCache::default());
        let handle = tokio::runtime::Handle::current();

        let reader = {
            let stop = stop.clone();
            let mut chunker = Chunker::new(format);
            chunker.spares = Some(spares);
            std::thread::spawn(move || read_chunks(input, chunker, &chunk_tx, &progress, &stop))
        };
        let mut threads = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (pipeline, rx, tx) = (self.clone(), chunk_rx.clone(), block_tx.clone());
            let spare = spare_tx.clone();
            let (keys, handle, stop, failure) =
                (keys.clone(), handle.clone(), stop.clone(), failure.clone());
            threads.push(std::thread::spawn(move || {
                let mut worker = Worker::new(pipeline, keys, handle);
                loop {
                    let next = rx.lock().ok().and_then(|rx| rx.recv().ok());
                    let Some(chunk) = next else { break };
                    if let Err(err) = worker.chunk(&chunk, &tx) {
                        stop.store(true, Ordering::Relaxed);
                        if let Ok(mut slot) = failure.lock() {
                            slot.get_or_insert(err);
                        }
                        break;
                    }
                    worker.counts.read += chunk.too_long;
                    for _ in 0..chunk.too_long {
                        worker.counts.reject(Reject::TooLong.as_str());
                    }
                    let _ = spare.send(chunk);
                }
                worker.counts
            }));
        }
        drop(block_tx);

        // Store chunks in input order, as soon as every earlier one is stored: whatever
        // has queued up meanwhile goes in one transaction, with the input's mark (how
        // far a file is read) when there is one, so a run killed at any point resumes
        // right after the last line stored. Before a day's first write of this run, and
        // again at least once a minute while writing to it, an audit entry for that day
        // is committed: a run killed at any point has an entry for every day it stored
        // records in.
        let mut audited: HashMap<NaiveDate, std::time::Instant> = HashMap::new();
        let mut stored_so_far: HashMap<NaiveDate, u64> = HashMap::new();
        let mut stored_error = None;
        let mut queued = Vec::with_capacity(workers * 4);
        let mut waiting: BTreeMap<u64, Sealed> = BTreeMap::new();
        let mut next_seq = 0;
        while block_rx.recv_many(&mut queued, workers * 4).await > 0 {
            for sealed in queued.drain(..) {
                waiting.insert(sealed.seq, sealed);
            }
            let mut by_day: BTreeMap<NaiveDate, Vec<EventBlock>> = BTreeMap::new();
            let mut end = None;
            while let Some(sealed) = waiting.remove(&next_seq) {
                next_seq += 1;
                end = sealed.end.or(end);
                for (day, block) in sealed.blocks {
                    by_day.entry(day).or_default().push(block);
                }
            }
            let mark = self.resume.as_ref().zip(end).map(|(r, end)| r.mark_at(end));
            if by_day.is_empty() && mark.is_none() {
                continue;
            }
            if let Err(err) = self
                .store_in_order(by_day, mark, &mut audited, &mut stored_so_far)
                .await
            {
                stored_error = Some(err);
                stop.store(true, Ordering::Relaxed);
                // Let the workers finish their sends and see the stop.
                while block_rx.recv().await.is_some() {}
                break;
            }
        }
        let joined = tokio::task::spawn_blocking(move || {
            let reader_result = reader.join().map_err(|_| IngestError::Thread)?;
            let mut total = Counts::default();
            for thread in threads {
                total.merge(thread.join().map_err(|_| IngestError::Thread)?);
            }
            Ok::<_, IngestError>((reader_result, total))
        })
        .await
        .map_err(|_| IngestError::Thread)?;
        let (reader_result, counts) = joined?;
        if let Some(err) = stored_error {
            return Err(err.into());
        }
        if let Some(err) = failure.lock().ok().and_then(|mut f| f.take()) {
            return Err(err);
        }
        let chosen = reader_result?;
        Ok(IngestSummary {
            format: chosen.as_ref().map(|(f, _)| f.name()),
            recognised: chosen.is_some_and(|(_, recognised)| recognised),
            read: counts.read,
            stored: counts.stored,
            rejected: counts
                .rejected
                .into_iter()
                .map(|(r, n)| (r.to_owned(), n))
                .collect(),
        })
    }
}

impl Pipeline {
    /// Audits the days that are due, then stores the blocks of every day and the mark
    /// in one transaction.
    async fn store_in_order(
        &self,
        by_day: BTreeMap<NaiveDate, Vec<EventBlock>>,
        mark: Option<datavow_store::IngestMark>,
        audited: &mut HashMap<NaiveDate, std::time::Instant>,
        stored_so_far: &mut HashMap<NaiveDate, u64>,
    ) -> Result<(), datavow_store::StoreError> {
        for day in by_day.keys() {
            let due = audited
                .get(day)
                .is_none_or(|at| at.elapsed() >= self.audit_every);
            if due {
                let so_far = stored_so_far.get(day).copied().unwrap_or(0);
                self.audit_day(*day, so_far).await?;
                audited.insert(*day, std::time::Instant::now());
            }
        }
        let days: Vec<(NaiveDate, Vec<EventBlock>)> = by_day.into_iter().collect();
        self.store.append_days(&days, mark.as_ref()).await?;
        for (day, blocks) in &days {
            *stored_so_far.entry(*day).or_default() +=
                blocks.iter().map(|b| u64::from(b.records)).sum::<u64>();
        }
        Ok(())
    }

    /// Commits the audit entry that precedes writes to `day`'s partition.
    async fn audit_day(
        &self,
        day: NaiveDate,
        stored_so_far: u64,
    ) -> Result<(), datavow_store::StoreError> {
        self.audit
            .append(&[AuditEvent {
                purpose: Some(self.grant.purpose()),
                fields: super::BROWSER_FIELDS.to_vec(),
                detail: Some(format!(
                    "browser records into day {day} ({stored_so_far} stored in it by this run so far)"
                )),
                ..AuditEvent::new(&self.actor, Action::Ingest, Outcome::Begun)
            }])
            .await
            .map(|_| ())
    }
}

/// Bytes asked of the input per read.
const READ_BLOCK: usize = 256 * 1024;

/// Cuts the input into chunks of lines of at most [`MAX_LINE`] bytes; a longer line is
/// skipped (counted, never buffered whole). Returns the format the lines were read in,
/// and whether it was recognised, once there was a line.
///
/// The input is read on a thread of its own and handed over in blocks, so this side
/// can wait with a timeout: a quiet stream (`tail -F` at night) never holds a line back
/// for more than [`STREAM_FLUSH`], even when no further line comes.
fn read_chunks(
    input: Box<dyn BufRead + Send>,
    mut chunker: Chunker,
    out: &mpsc::SyncSender<Chunk>,
    progress: &AtomicU64,
    stop: &AtomicBool,
) -> Result<Option<(Format, bool)>, IngestError> {
    let (block_tx, blocks) = mpsc::sync_channel::<Vec<u8>>(4);
    let (recycle, recycled) = mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || read_blocks(input, &block_tx, &recycled));
    loop {
        if stop.load(Ordering::Relaxed) {
            // The reader may be blocked on a live stream: it is left to end with us.
            return Ok(chunker.chosen());
        }
        // Waits at most a second, also when idle, so a stop is seen on a quiet stream.
        let wait = chunker.first_line_at.map_or(STREAM_FLUSH, |at| {
            (at + STREAM_FLUSH).saturating_duration_since(std::time::Instant::now())
        });
        let sent = match blocks.recv_timeout(wait) {
            Ok(bytes) => {
                progress.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                let fed = chunker.feed(&bytes, out);
                let _ = recycle.send(bytes);
                fed
            }
            Err(mpsc::RecvTimeoutError::Timeout) => chunker.flush(out),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        match sent {
            Ok(()) => {}
            Err(Stop::Closed) => return Ok(chunker.chosen()),
            Err(Stop::Unrecognised(tried)) => return Err(IngestError::Unrecognised(tried)),
        }
    }
    let chosen = match chunker.finish(out) {
        Err(Stop::Unrecognised(tried)) => return Err(IngestError::Unrecognised(tried)),
        Ok(()) | Err(Stop::Closed) => chunker.chosen(),
    };
    reader.join().unwrap_or_else(|_| {
        Err(std::io::Error::other(
            "the input reader stopped unexpectedly",
        ))
    })?;
    Ok(chosen)
}

/// Reads the input in blocks until its end.
/// Read blocks come back through `recycled` once cut into lines: reusing them spares
/// the kernel zeroing fresh pages for every block (15 % of an ingest profile).
fn read_blocks(
    mut input: Box<dyn BufRead + Send>,
    out: &mpsc::SyncSender<Vec<u8>>,
    recycled: &mpsc::Receiver<Vec<u8>>,
) -> std::io::Result<()> {
    loop {
        let mut block = recycled.try_recv().unwrap_or_default();
        block.resize(READ_BLOCK, 0);
        let n = loop {
            match input.read(&mut block) {
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                other => break other?,
            }
        };
        if n == 0 {
            return Ok(());
        }
        block.truncate(n);
        if out.send(block).is_err() {
            return Ok(());
        }
    }
}

/// The chunk being filled. Its buffer may end in a line not yet terminated.
struct Chunker {
    chunk: Chunk,
    /// Where the unterminated line at the end of `chunk.buf` starts.
    partial: usize,
    /// Inside a line that is too long, until its newline.
    skipping: bool,
    /// When the chunk got its first complete line (or skipped line).
    first_line_at: Option<std::time::Instant>,
    /// The parser for the next lines; `None` until recognised from the first chunk.
    parser: Option<LineParser>,
    /// The formats recognition chooses among, when the format was not given.
    candidates: &'static [Format],
    /// Chunks the workers are done with, to fill again.
    spares: Option<mpsc::Receiver<Chunk>>,
    /// Input bytes fed so far.
    read: u64,
    /// Where in the input the line being read begins.
    line_start: u64,
    /// The number of the next chunk sent.
    next_seq: u64,
}

/// Why the chunker stopped.
enum Stop {
    /// The workers stopped taking chunks.
    Closed,
    /// No known format reads the first lines; the formats tried, for the message.
    Unrecognised(String),
}

impl Chunker {
    fn new(format: InputFormat) -> Chunker {
        let (parser, candidates) = match format {
            InputFormat::Given(parser) => (Some(parser), &[][..]),
            InputFormat::Recognise(candidates) => (None, candidates),
        };
        Chunker {
            chunk: Chunker::fresh(),
            partial: 0,
            skipping: false,
            first_line_at: None,
            parser,
            candidates,
            spares: None,
            read: 0,
            line_start: 0,
            next_seq: 0,
        }
    }

    /// An empty chunk: a spare one if the workers have returned one.
    fn blank(&self) -> Chunk {
        match self.spares.as_ref().and_then(|s| s.try_recv().ok()) {
            Some(mut chunk) => {
                chunk.buf.clear();
                chunk.ends.clear();
                chunk.too_long = 0;
                chunk.parser = None;
                chunk.end = None;
                chunk
            }
            None => Chunker::fresh(),
        }
    }

    fn fresh() -> Chunk {
        Chunk {
            buf: Vec::with_capacity(CHUNK_LINES * 256),
            ends: Vec::with_capacity(CHUNK_LINES),
            too_long: 0,
            parser: None,
            seq: 0,
            end: None,
        }
    }

    /// The format in force, and whether it was recognised rather than given.
    fn chosen(&self) -> Option<(Format, bool)> {
        self.parser
            .as_ref()
            .map(|p| (p.format(), !self.candidates.is_empty()))
    }

    fn feed(&mut self, mut bytes: &[u8], out: &mpsc::SyncSender<Chunk>) -> Result<(), Stop> {
        while !bytes.is_empty() {
            let newline = memchr::memchr(b'\n', bytes);
            if self.skipping {
                let Some(i) = newline else {
                    self.read += bytes.len() as u64;
                    return Ok(());
                };
                bytes = &bytes[i + 1..];
                self.read += i as u64 + 1;
                self.line_start = self.read;
                self.skipping = false;
                continue;
            }
            let piece = newline.map_or(bytes, |i| &bytes[..=i]);
            // A line of MAX_LINE bytes and its newline still pass (as before this
            // reader); anything longer is skipped here.
            if self.chunk.buf.len() - self.partial + piece.len() > MAX_LINE + 1 {
                self.chunk.buf.truncate(self.partial);
                self.chunk.too_long += 1;
                self.skipping = newline.is_none();
                self.line_done();
            } else {
                self.chunk.buf.extend_from_slice(piece);
                if newline.is_some() {
                    self.chunk.ends.push(self.chunk.buf.len());
                    self.partial = self.chunk.buf.len();
                    self.line_done();
                }
            }
            bytes = &bytes[piece.len()..];
            self.read += piece.len() as u64;
            if newline.is_some() {
                self.line_start = self.read;
            }
            if self.chunk.ends.len() >= CHUNK_LINES {
                self.flush(out)?;
            }
        }
        Ok(())
    }

    fn line_done(&mut self) {
        self.first_line_at
            .get_or_insert_with(std::time::Instant::now);
    }

    /// Sends the complete lines; an unterminated line moves to the next chunk.
    fn flush(&mut self, out: &mpsc::SyncSender<Chunk>) -> Result<(), Stop> {
        if self.chunk.ends.is_empty() && self.chunk.too_long == 0 {
            return Ok(());
        }
        let mut next = self.blank();
        next.buf.extend_from_slice(&self.chunk.buf[self.partial..]);
        self.chunk.buf.truncate(self.partial);
        let mut full = std::mem::replace(&mut self.chunk, next);
        full.end = Some(self.line_start);
        self.partial = 0;
        self.first_line_at = None;
        self.send(full, out)
    }

    /// Sends `chunk` with the parser for its lines: recognised from it if there is
    /// none yet; cut where a line changes how the next ones are read (W3C headers).
    fn send(&mut self, mut chunk: Chunk, out: &mpsc::SyncSender<Chunk>) -> Result<(), Stop> {
        let parser = match &self.parser {
            Some(parser) => parser.clone(),
            None => {
                let lines: Vec<&[u8]> = chunk.lines().collect();
                if lines.iter().all(|l| l.trim_ascii().is_empty()) {
                    // Nothing to recognise yet: these (empty) lines are read as combined.
                    chunk.parser = LineParser::named(Format::Combined);
                    return self.emit(chunk, out);
                }
                let parser = recognise(self.candidates, &lines).ok_or_else(|| {
                    let names: Vec<&str> = self.candidates.iter().map(|f| f.name()).collect();
                    Stop::Unrecognised(names.join(", "))
                })?;
                self.parser = Some(parser.clone());
                parser
            }
        };
        if !parser.reads_directives() {
            chunk.parser = Some(parser);
            return self.emit(chunk, out);
        }
        // Each piece ends with a line that changes the parser (itself read by the
        // parser before it, as a header line).
        let mut piece = Chunker::fresh();
        piece.too_long = chunk.too_long;
        let mut current = parser;
        for line in chunk.lines() {
            piece.buf.extend_from_slice(line);
            piece.ends.push(piece.buf.len());
            if let Some(next) = current.directive(line) {
                piece.parser = Some(std::mem::replace(&mut current, next));
                // Only the chunk's last piece ends where the chunk ends.
                self.emit(std::mem::replace(&mut piece, Chunker::fresh()), out)?;
            }
        }
        self.parser = Some(current.clone());
        piece.parser = Some(current);
        piece.end = chunk.end;
        self.emit(piece, out)
    }

    /// Numbers `chunk` and hands it to the workers.
    fn emit(&mut self, mut chunk: Chunk, out: &mpsc::SyncSender<Chunk>) -> Result<(), Stop> {
        chunk.seq = self.next_seq;
        self.next_seq += 1;
        out.send(chunk).map_err(|_| Stop::Closed)
    }

    /// At the end of the input: a last line without a newline is a line too.
    fn finish(&mut self, out: &mpsc::SyncSender<Chunk>) -> Result<(), Stop> {
        if self.partial < self.chunk.buf.len() && !self.skipping {
            self.chunk.ends.push(self.chunk.buf.len());
            self.partial = self.chunk.buf.len();
        }
        if !self.skipping {
            self.line_start = self.read;
        }
        self.flush(out)
    }
}

/// A block being built for one day.
struct Builder<'a> {
    meta: BlockBuilder<'a>,
    ips: Vec<std::net::IpAddr>,
    /// User agent → index into the block's browsers, and the agent's digest. Looked
    /// up for every record, so hashed with foldhash (seeded per process), not SipHash.
    browser_index: HashMap<Cow<'a, str>, (u32, AgentDigest), foldhash::fast::RandomState>,
}

/// What a worker keeps of a user agent it has seen.
struct Agent {
    browser: Arc<Browser>,
    digest: AgentDigest,
}

impl Builder<'_> {
    fn new(day: NaiveDate, records: usize) -> Self {
        Builder {
            meta: BlockBuilder::new(day, records),
            ips: Vec::with_capacity(records),
            browser_index: HashMap::default(),
        }
    }
}

/// One worker thread's state.
struct Worker {
    pipeline: Pipeline,
    keys: Arc<DayKeyCache>,
    handle: tokio::runtime::Handle,
    /// Link tags of the accounts seen. Users found to be nobody are not remembered:
    /// on a stream that runs for days, someone may sign up with that userID meanwhile.
    links: HashMap<String, LinkTag>,
    /// Parsed agents, so a new block does not go back to the shared parser.
    agents: HashMap<String, Agent, foldhash::fast::RandomState>,
    counts: Counts,
}

impl Worker {
    fn new(pipeline: Pipeline, keys: Arc<DayKeyCache>, handle: tokio::runtime::Handle) -> Worker {
        Worker {
            pipeline,
            keys,
            handle,
            links: HashMap::new(),
            agents: HashMap::default(),
            counts: Counts::default(),
        }
    }

    /// Parses, seals and hands over one chunk: always exactly one [`Sealed`] (maybe
    /// with no blocks), so the writer can store chunks in order.
    fn chunk(
        &mut self,
        chunk: &Chunk,
        out: &tokio::sync::mpsc::Sender<Sealed>,
    ) -> Result<(), IngestError> {
        let blocks = self.seal_chunk(chunk)?;
        let records: u64 = blocks.iter().map(|(_, b)| u64::from(b.records)).sum();
        let sealed = Sealed {
            seq: chunk.seq,
            end: chunk.end,
            blocks,
        };
        if out.blocking_send(sealed).is_ok() {
            self.counts.stored += records;
        }
        // Otherwise the writer stopped; its error is reported.
        Ok(())
    }

    fn seal_chunk(&mut self, chunk: &Chunk) -> Result<Vec<(NaiveDate, EventBlock)>, IngestError> {
        // Read per chunk: `tail -F … | datavow ingest -` runs for days.
        let newest = Utc::now() + chrono::Duration::days(1);
        self.forget_expired_keys();
        let Some(parser) = chunk.parser.as_ref() else {
            return Ok(Vec::new());
        };
        let mut records = Vec::with_capacity(chunk.ends.len());
        let mut start = 0;
        for &end in &chunk.ends {
            let line = &chunk.buf[start..end];
            start = end;
            self.counts.read += 1;
            let record = match parser.parse(line) {
                Ok(record) => record,
                Err(reason) => {
                    self.counts.reject(reason.as_str());
                    continue;
                }
            };
            let time = record.time.with_timezone(&Utc);
            if time < self.pipeline.oldest {
                self.counts.reject(PAST_RETENTION);
            } else if time > newest {
                self.counts.reject(IN_FUTURE);
            } else {
                records.push((time, record));
            }
        }
        self.resolve_links(&records)?;
        let mut days: BTreeMap<NaiveDate, (Arc<DayKeys>, Builder)> = BTreeMap::new();
        for (time, record) in records {
            let day = time.date_naive();
            let link = record
                .user
                .as_ref()
                .and_then(|u| self.links.get(u.as_ref()).copied());
            let (keys, builder) = match days.entry(day) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert((self.day_keys(day)?, Builder::new(day, chunk.ends.len())))
                }
            };
            self.add(builder, keys, record, time, link);
        }
        let mut blocks = Vec::with_capacity(days.len());
        for (day, (keys, builder)) in days {
            let records = u32::try_from(builder.meta.records()).unwrap_or(u32::MAX);
            let block = keys.seal_block(
                records,
                &builder.meta.encode(),
                &encode_addresses(&builder.ips),
            );
            blocks.push((day, block));
        }
        Ok(blocks)
    }

    fn add<'a>(
        &mut self,
        builder: &mut Builder<'a>,
        keys: &DayKeys,
        record: LogRecord<'a>,
        time: DateTime<Utc>,
        link: Option<LinkTag>,
    ) {
        let ua = record.user_agent.unwrap_or_default();
        let (browser, agent) = match builder.browser_index.get(ua.as_ref()) {
            Some(known) => *known,
            None => {
                let agent = self.agent(&ua);
                let known = (
                    builder.meta.add_browser(agent.browser.clone()),
                    agent.digest,
                );
                builder.browser_index.insert(ua.clone(), known);
                known
            }
        };
        let address = address_bytes(record.ip);
        // An IPv4-mapped IPv6 address is kept as the IPv4 address it is.
        builder.ips.push(record.ip.to_canonical());
        builder.meta.push(NewRow {
            time: time.timestamp(),
            method: record.method,
            path: record.path,
            status: record.status,
            bytes: record.bytes,
            referrer: record.referrer,
            browser,
            country: self
                .pipeline
                .geo
                .as_ref()
                .and_then(|g| g.country(record.ip))
                .map(Cow::Owned),
            language: record.language,
            visitor: keys.visitor_hash(&address, &agent),
            link,
        });
    }

    /// The parsed agent, from this worker's cache or the shared parser.
    fn agent(&mut self, ua: &str) -> &Agent {
        if !self.agents.contains_key(ua) {
            if self.agents.len() >= AGENT_CACHE {
                self.agents.clear();
            }
            let browser = match &self.pipeline.ua {
                Some(parser) if !ua.is_empty() => parser.parse(ua),
                _ => Browser::unknown(),
            };
            let agent = Agent {
                browser: Arc::new(browser),
                digest: AgentDigest::of(ua),
            };
            self.agents.insert(ua.to_owned(), agent);
        }
        &self.agents[ua]
    }

    /// Drops cached keys whose salt the keystore no longer keeps.
    fn forget_expired_keys(&self) {
        let today = Utc::now().date_naive();
        let mut cache = self
            .keys
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.retain(|_, keys| !keys.expired(today));
    }

    fn day_keys(&self, day: NaiveDate) -> Result<Arc<DayKeys>, IngestError> {
        let mut cache = self
            .keys
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(keys) = cache.get(&day) {
            return Ok(keys.clone());
        }
        let pipeline = &self.pipeline;
        let keys = Arc::new(
            self.handle
                .block_on(pipeline.vault.day_keys(&pipeline.grant, day))?,
        );
        cache.insert(day, keys.clone());
        Ok(keys)
    }

    /// Looks up, in one query, the link tags of the users in `records` that could be
    /// userIDs and are not known accounts yet.
    fn resolve_links(&mut self, records: &[(DateTime<Utc>, LogRecord)]) -> Result<(), IngestError> {
        let users = || {
            records
                .iter()
                .filter_map(|(_, r)| r.user.as_deref())
                .filter(|u| could_be_user_id(u))
        };
        let mut unknown: Vec<&str> = users().filter(|u| !self.links.contains_key(*u)).collect();
        if unknown.is_empty() {
            return Ok(());
        }
        if self.links.len() + unknown.len() > LINK_CACHE {
            // Start afresh, keeping what this chunk needs.
            self.links.clear();
            unknown = users().collect();
        }
        unknown.sort_unstable();
        unknown.dedup();
        let tags = self.handle.block_on(
            self.pipeline
                .vault
                .link_tags_for_user_ids(&self.pipeline.grant, &unknown),
        )?;
        self.links.extend(tags);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn combined() -> InputFormat {
        InputFormat::named(Format::Combined).expect("a named format")
    }

    /// Feeds `input` in pieces of `piece` bytes; returns the lines of every chunk sent
    /// and the count of lines skipped as too long.
    fn cut(input: &[u8], piece: usize) -> (Vec<Vec<u8>>, u64) {
        let (tx, rx) = mpsc::sync_channel(1024);
        let mut chunker = Chunker::new(combined());
        for bytes in input.chunks(piece) {
            assert!(chunker.feed(bytes, &tx).is_ok());
        }
        assert!(chunker.finish(&tx).is_ok());
        drop(tx);
        let (mut lines, mut too_long) = (Vec::new(), 0);
        for chunk in rx {
            let mut start = 0;
            for &end in &chunk.ends {
                lines.push(chunk.buf[start..end].to_vec());
                start = end;
            }
            too_long += chunk.too_long;
        }
        (lines, too_long)
    }

    #[test]
    fn lines_split_across_reads_come_out_whole_and_a_last_line_needs_no_newline() {
        let input = b"first line\nsecond\n\nlast without newline";
        for piece in [1, 3, 7, 64] {
            let (lines, too_long) = cut(input, piece);
            assert_eq!(
                lines,
                [
                    &b"first line\n"[..],
                    b"second\n",
                    b"\n",
                    b"last without newline"
                ],
                "read {piece} bytes at a time"
            );
            assert_eq!(too_long, 0);
        }
    }

    #[test]
    fn a_line_over_the_limit_is_skipped_whole_and_counted_even_across_reads() {
        let mut input = b"before\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', MAX_LINE + 10));
        input.extend_from_slice(b"\nafter\n");
        input.extend(std::iter::repeat_n(b'y', MAX_LINE + 10));
        for piece in [1000, 4096, READ_BLOCK] {
            let (lines, too_long) = cut(&input, piece);
            assert_eq!(lines, [&b"before\n"[..], b"after\n"], "{piece}");
            assert_eq!(too_long, 2, "{piece}");
        }
    }

    #[test]
    fn a_chunk_is_sent_at_most_every_chunk_lines() {
        let input = b"line\n".repeat(CHUNK_LINES * 2 + 5);
        let (tx, rx) = mpsc::sync_channel(16);
        let mut chunker = Chunker::new(combined());
        assert!(chunker.feed(&input, &tx).is_ok());
        assert!(chunker.finish(&tx).is_ok());
        drop(tx);
        let sizes: Vec<usize> = rx.iter().map(|c| c.ends.len()).collect();
        assert_eq!(sizes, [CHUNK_LINES, CHUNK_LINES, 5]);
    }

    #[test]
    fn w3c_chunks_are_cut_after_each_fields_header_and_read_by_the_fields_before_them() {
        let input = b"#Version: 1.0\n#Fields: date time c-ip cs-method cs-uri-stem sc-status\n\
            2026-11-25 08:00:01 192.0.2.1 GET /a 200\n\
            #Fields: date time cs-method cs-uri-stem sc-status c-ip\n\
            2026-11-25 08:00:02 GET /b 404 192.0.2.2\n";
        let (tx, rx) = mpsc::sync_channel(16);
        let mut chunker = Chunker::new(InputFormat::AUTO);
        assert!(chunker.feed(input, &tx).is_ok());
        assert!(chunker.finish(&tx).is_ok());
        assert_eq!(chunker.chosen(), Some((Format::W3c, true)));
        drop(tx);
        let mut read = Vec::new();
        for chunk in rx {
            let parser = chunk.parser.clone().expect("a parser");
            for line in chunk.lines() {
                if let Ok(record) = parser.parse(line) {
                    read.push((
                        record.ip.to_string(),
                        record.path.into_owned(),
                        record.status,
                    ));
                }
            }
        }
        assert_eq!(
            read,
            [
                ("192.0.2.1".to_owned(), "/a".to_owned(), 200),
                ("192.0.2.2".to_owned(), "/b".to_owned(), 404)
            ]
        );
    }

    #[test]
    fn lines_in_no_known_format_stop_the_run_with_the_formats_tried() {
        let (tx, _rx) = mpsc::sync_channel(16);
        let mut chunker = Chunker::new(InputFormat::Recognise(&Format::JSON));
        assert!(chunker.feed(b"hello\nworld\n", &tx).is_ok());
        match chunker.finish(&tx) {
            Err(Stop::Unrecognised(tried)) => assert_eq!(tried, "caddy, traefik, json"),
            _ => panic!("expected the run to stop"),
        }
    }
}
