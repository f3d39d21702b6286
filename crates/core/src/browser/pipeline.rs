//! The ingest pipeline: one reader thread cuts the input into chunks of lines, worker
//! threads (one per core) parse, enrich and seal them into blocks per day, and the
//! async side appends the blocks to the store. Every queue between them is bounded,
//! so memory stays flat whatever the input's size.

use super::block::{BlockBuilder, NewRow};
use super::{Format, IngestSummary};
use chrono::{DateTime, NaiveDate, Utc};
use datavow_ingest::{
    parse_combined, parse_json, Browser, GeoDb, LogRecord, Reject, UaParser, MAX_LINE,
};
use datavow_store::{BrowserStore, EventBlock};
use datavow_vault::{address_bytes, DayKeys, LinkTag, Vault, VaultError};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};

/// Lines per chunk (and so at most per block).
const CHUNK_LINES: usize = 4096;
/// The longest a read line waits in a partial chunk while more lines arrive.
const STREAM_FLUSH: std::time::Duration = std::time::Duration::from_secs(1);
/// Distinct users whose link tags a worker remembers.
const LINK_CACHE: usize = 10_000;

/// Why a parsed record is still not stored.
pub(crate) const PAST_RETENTION: &str = "older than the retention period";
pub(crate) const IN_FUTURE: &str = "time in the future";

/// What the pipeline needs; cheap to clone.
#[derive(Clone)]
pub(crate) struct Pipeline {
    pub vault: Arc<Vault>,
    pub store: Arc<dyn BrowserStore>,
    pub ua: Option<Arc<UaParser>>,
    pub geo: Option<Arc<GeoDb>>,
    /// Records older than this are past retention and not stored.
    pub oldest: DateTime<Utc>,
}

/// Lines cut from the input.
struct Chunk {
    buf: Vec<u8>,
    ends: Vec<usize>,
    too_long: u64,
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
    #[error("an ingest thread stopped unexpectedly; records up to that point are stored")]
    Thread,
}

impl Pipeline {
    /// Runs the whole input. `progress` counts bytes read.
    pub(crate) async fn run(
        &self,
        input: Box<dyn BufRead + Send>,
        format: Format,
        progress: Arc<AtomicU64>,
    ) -> Result<IngestSummary, IngestError> {
        let workers = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(1, 8);
        let (chunk_tx, chunk_rx) = mpsc::sync_channel::<Chunk>(workers * 2);
        let chunk_rx = Arc::new(Mutex::new(chunk_rx));
        let (block_tx, mut block_rx) =
            tokio::sync::mpsc::channel::<(NaiveDate, EventBlock)>(workers * 4);
        let stop = Arc::new(AtomicBool::new(false));
        let failure: Arc<Mutex<Option<IngestError>>> = Arc::default();
        let keys = Arc::new(DayKeyCache::default());
        let handle = tokio::runtime::Handle::current();

        let reader = {
            let stop = stop.clone();
            std::thread::spawn(move || read_chunks(input, &chunk_tx, &progress, &stop))
        };
        let mut threads = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (pipeline, rx, tx) = (self.clone(), chunk_rx.clone(), block_tx.clone());
            let (keys, handle, stop, failure) =
                (keys.clone(), handle.clone(), stop.clone(), failure.clone());
            threads.push(std::thread::spawn(move || {
                let mut worker = Worker::new(pipeline, format, keys, handle);
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
                }
                worker.counts
            }));
        }
        drop(block_tx);

        // Append blocks as they come, one transaction each.
        let mut stored_error = None;
        while let Some((day, block)) = block_rx.recv().await {
            if let Err(err) = self.store.append_blocks(day, &[block]).await {
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
        reader_result?;
        Ok(IngestSummary {
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

/// Reads lines of at most [`MAX_LINE`] bytes into chunks; a longer line is skipped
/// (counted, never buffered whole).
fn read_chunks(
    mut input: Box<dyn BufRead + Send>,
    out: &mpsc::SyncSender<Chunk>,
    progress: &AtomicU64,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    let fresh = || Chunk {
        buf: Vec::with_capacity(CHUNK_LINES * 256),
        ends: Vec::with_capacity(CHUNK_LINES),
        too_long: 0,
    };
    let mut chunk = fresh();
    let mut started = std::time::Instant::now();
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        let start = chunk.buf.len();
        let n = std::io::Read::take(input.as_mut(), MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut chunk.buf)?;
        if n == 0 {
            break;
        }
        progress.fetch_add(n as u64, Ordering::Relaxed);
        let complete = chunk.buf.last() == Some(&b'\n');
        if !complete && n > MAX_LINE {
            chunk.buf.truncate(start);
            chunk.too_long += 1;
            skip_rest_of_line(&mut input, progress)?;
        } else {
            chunk.ends.push(chunk.buf.len());
        }
        // A slow stream (`tail -F`) is flushed at least every second of input.
        let full = chunk.ends.len() >= CHUNK_LINES || started.elapsed() >= STREAM_FLUSH;
        if full {
            if out.send(std::mem::replace(&mut chunk, fresh())).is_err() {
                return Ok(());
            }
            started = std::time::Instant::now();
        }
    }
    if !chunk.ends.is_empty() || chunk.too_long > 0 {
        let _ = out.send(chunk);
    }
    Ok(())
}

fn skip_rest_of_line(
    input: &mut Box<dyn BufRead + Send>,
    progress: &AtomicU64,
) -> std::io::Result<()> {
    loop {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        let (used, done) = match buf.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        input.consume(used);
        progress.fetch_add(used as u64, Ordering::Relaxed);
        if done {
            return Ok(());
        }
    }
}

/// A block being built for one day.
struct Builder<'a> {
    meta: BlockBuilder<'a>,
    ips: Vec<u8>,
    /// User agent → index into the block's browsers. Looked up for every record, so
    /// hashed with foldhash (seeded per process) rather than SipHash.
    browser_index: HashMap<Cow<'a, str>, u32, foldhash::fast::RandomState>,
}

impl Builder<'_> {
    fn new(day: NaiveDate, records: usize) -> Self {
        Builder {
            meta: BlockBuilder::new(day, records),
            ips: Vec::with_capacity(records * 16),
            browser_index: HashMap::default(),
        }
    }
}

/// One worker thread's state.
struct Worker {
    pipeline: Pipeline,
    format: Format,
    keys: Arc<DayKeyCache>,
    handle: tokio::runtime::Handle,
    links: HashMap<String, Option<LinkTag>>,
    counts: Counts,
}

impl Worker {
    fn new(
        pipeline: Pipeline,
        format: Format,
        keys: Arc<DayKeyCache>,
        handle: tokio::runtime::Handle,
    ) -> Worker {
        Worker {
            pipeline,
            format,
            keys,
            handle,
            links: HashMap::new(),
            counts: Counts::default(),
        }
    }

    fn chunk(
        &mut self,
        chunk: &Chunk,
        out: &tokio::sync::mpsc::Sender<(NaiveDate, EventBlock)>,
    ) -> Result<(), IngestError> {
        // Read per chunk: `tail -F … | datavow ingest -` runs for days.
        let newest = Utc::now() + chrono::Duration::days(1);
        self.forget_expired_keys();
        let mut records = Vec::with_capacity(chunk.ends.len());
        let mut start = 0;
        for &end in &chunk.ends {
            let line = &chunk.buf[start..end];
            start = end;
            self.counts.read += 1;
            let parsed = match self.format {
                Format::Combined => parse_combined(line),
                Format::Json => parse_json(line),
            };
            let record = match parsed {
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
                .and_then(|u| self.links.get(u.as_ref()).copied().flatten());
            let (keys, builder) = match days.entry(day) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert((self.day_keys(day)?, Builder::new(day, chunk.ends.len())))
                }
            };
            self.add(builder, keys, record, time, link);
        }
        for (day, (keys, builder)) in days {
            let records = u32::try_from(builder.meta.records()).unwrap_or(u32::MAX);
            let block = keys.seal_block(records, &builder.meta.encode(), &builder.ips);
            if out.blocking_send((day, block)).is_err() {
                // The writer stopped; its error is reported.
                return Ok(());
            }
            self.counts.stored += u64::from(records);
        }
        Ok(())
    }

    fn add<'a>(
        &self,
        builder: &mut Builder<'a>,
        keys: &DayKeys,
        record: LogRecord<'a>,
        time: DateTime<Utc>,
        link: Option<LinkTag>,
    ) {
        let ua = record.user_agent.unwrap_or_default();
        let browser = match builder.browser_index.get(ua.as_ref()) {
            Some(i) => *i,
            None => {
                let info = match &self.pipeline.ua {
                    Some(parser) if !ua.is_empty() => parser.parse(&ua),
                    _ => Browser::unknown(),
                };
                let i = builder.meta.add_browser(info);
                builder.browser_index.insert(ua.clone(), i);
                i
            }
        };
        let address = address_bytes(record.ip);
        builder.ips.extend_from_slice(&address);
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
            visitor: keys.visitor_hash(&address, ua.as_bytes()),
            link,
        });
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
        let keys = Arc::new(self.handle.block_on(self.pipeline.vault.day_keys(day))?);
        cache.insert(day, keys.clone());
        Ok(keys)
    }

    /// Looks up, in one query, the link tags of the users in `records` that this
    /// worker has not seen yet.
    fn resolve_links(&mut self, records: &[(DateTime<Utc>, LogRecord)]) -> Result<(), IngestError> {
        let users = || records.iter().filter_map(|(_, r)| r.user.as_deref());
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
        let tags = self
            .handle
            .block_on(self.pipeline.vault.link_tags_for_user_ids(&unknown))?;
        for user in unknown {
            self.links.insert(user.to_owned(), tags.get(user).copied());
        }
        Ok(())
    }
}
