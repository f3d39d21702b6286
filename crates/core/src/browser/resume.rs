//! Resuming `datavow ingest FILE` where an earlier run stopped, like a log shipper's
//! registry: the store keeps, per file, how far it was read, in the same transaction as
//! the records read up to there (see `IngestMark`).
//!
//! Invariants:
//! - A file is known by its device and inode (a digest of them; no path, no content),
//!   and recognised as the same content by a digest of its first bytes: a file rotated
//!   to a new inode, or truncated and rewritten in place, is read from its start.
//! - A run starts right after the last line an earlier run stored, so each line is
//!   stored once however often runs are cut short.
//! - A W3C log resumed mid-file is read with its last `#Fields:` line before the mark,
//!   replayed ahead of the rest, since that line says what the fields are.

use super::pipeline::IngestError;
use datavow_store::{BrowserStore, IngestMark};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Bytes of a file's beginning whose digest recognises its content.
const FINGERPRINT_BYTES: u64 = 1024;
/// The input's buffer.
const READ_BUFFER: usize = 64 * 1024;

/// Where a run's input sits in its file, to record marks as it stores.
#[derive(Debug, Clone)]
pub(crate) struct Resume {
    source: Vec<u8>,
    fingerprint: Vec<u8>,
    fingerprint_len: u64,
    /// The file offset of the input's first byte (a replayed header line counts
    /// before the mark).
    base: i128,
}

impl Resume {
    /// The mark once the input's first `end` bytes are stored.
    pub(crate) fn mark_at(&self, end: u64) -> IngestMark {
        IngestMark {
            source: self.source.clone(),
            fingerprint: self.fingerprint.clone(),
            fingerprint_len: self.fingerprint_len,
            offset: u64::try_from(self.base + i128::from(end)).unwrap_or(0),
        }
    }
}

/// An input file opened where the last run stopped.
pub(crate) struct Opened {
    pub input: Box<dyn BufRead + Send>,
    pub resume: Resume,
    /// Bytes an earlier run already stored, skipped now.
    pub skipped: u64,
}

/// Opens `path` after what earlier runs stored from it.
pub(crate) async fn open(store: &dyn BrowserStore, path: &Path) -> Result<Opened, IngestError> {
    let mut file = File::open(path)?;
    let meta = file.metadata()?;
    let mut source = Sha256::new();
    source.update(b"datavow ingest source\0");
    source.update(meta.dev().to_be_bytes());
    source.update(meta.ino().to_be_bytes());
    let source = source.finalize().to_vec();
    let fingerprint_len = meta.len().min(FINGERPRINT_BYTES);
    let fingerprint = prefix_digest(&mut file, fingerprint_len)?;
    let skipped = match store.ingest_mark(&source).await? {
        Some(mark) if mark.offset <= meta.len() && mark.fingerprint_len <= meta.len() => {
            let same = prefix_digest(&mut file, mark.fingerprint_len)? == mark.fingerprint;
            if same {
                mark.offset
            } else {
                0
            }
        }
        _ => 0,
    };
    let header = if skipped > 0 {
        last_fields_line(&mut file, skipped)?
    } else {
        Vec::new()
    };
    file.seek(SeekFrom::Start(skipped))?;
    let base = i128::from(skipped) - header.len() as i128;
    let input = std::io::Cursor::new(header).chain(BufReader::with_capacity(READ_BUFFER, file));
    Ok(Opened {
        input: Box::new(BufReader::with_capacity(READ_BUFFER, input)),
        resume: Resume {
            source,
            fingerprint,
            fingerprint_len,
            base,
        },
        skipped,
    })
}

/// A digest of the first `len` bytes of `file`.
fn prefix_digest(file: &mut File, len: u64) -> std::io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(0))?;
    let mut prefix = Vec::new();
    file.by_ref().take(len).read_to_end(&mut prefix)?;
    Ok(Sha256::digest(&prefix).to_vec())
}

/// The last `#Fields:` line (with its newline) in the first `end` bytes of a file that
/// starts with `#` (a W3C extended log); empty for any other file.
fn last_fields_line(file: &mut File, end: u64) -> std::io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(0))?;
    let mut reader = BufReader::new(file.by_ref().take(end));
    let mut line = Vec::new();
    let mut last = Vec::new();
    let mut first = true;
    while reader.read_until(b'\n', &mut line)? > 0 {
        if first && !line.starts_with(b"#") {
            return Ok(Vec::new());
        }
        first = false;
        if line.starts_with(b"#Fields:") {
            last.clone_from(&line);
        }
        line.clear();
    }
    Ok(last)
}
