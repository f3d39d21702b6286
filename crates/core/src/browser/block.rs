//! What a sealed block holds once opened: a dictionary of parsed browsers and one row
//! per record. Encoded with `postcard` (compact, no schema to keep apart); client
//! addresses are a separate part of 16 bytes per row, in row order.

use datavow_ingest::Browser;
use datavow_vault::LinkTag;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// One browser record, without its client address. While a block is built its text
/// borrows from the log line; a decoded row owns its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row<'a> {
    /// Seconds since the Unix epoch, UTC.
    pub time: i64,
    pub method: Cow<'a, str>,
    /// Without query string or fragment.
    pub path: Cow<'a, str>,
    pub status: u16,
    pub bytes: Option<u64>,
    /// Without query string or fragment.
    pub referrer: Option<Cow<'a, str>>,
    /// Index into the block's browsers.
    pub browser: u32,
    pub country: Option<String>,
    pub language: Option<Cow<'a, str>>,
    /// The daily visitor hash (see `DayKeys::visitor_hash`).
    pub visitor: u64,
    /// Set when the record belongs to a signed-in person.
    pub link: Option<LinkTag>,
}

impl Row<'_> {
    /// The row with no borrow.
    pub fn into_owned(self) -> Row<'static> {
        let own = |c: Cow<'_, str>| Cow::Owned(c.into_owned());
        Row {
            time: self.time,
            method: own(self.method),
            path: own(self.path),
            status: self.status,
            bytes: self.bytes,
            referrer: self.referrer.map(own),
            browser: self.browser,
            country: self.country,
            language: self.language.map(own),
            visitor: self.visitor,
            link: self.link,
        }
    }
}

/// The meta part of a block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockMeta<'a> {
    /// Parsed user agents, each once; rows refer to them by index.
    pub browsers: Vec<Browser>,
    #[serde(borrow)]
    pub rows: Vec<Row<'a>>,
}

impl BlockMeta<'_> {
    pub fn encode(&self) -> Vec<u8> {
        // Sized up front: growing a block's buffer by doubling showed in the profile.
        let estimate = 64 + self.browsers.len() * 48 + self.rows.len() * 128;
        // Serialising owned strings and integers into a Vec cannot fail.
        postcard::to_extend(self, Vec::with_capacity(estimate)).unwrap_or_default()
    }

    /// Decodes a block's meta part; the rows own their text.
    pub fn decode(bytes: &[u8]) -> Option<BlockMeta<'static>> {
        let meta: BlockMeta<'_> = postcard::from_bytes(bytes).ok()?;
        Some(BlockMeta {
            browsers: meta.browsers,
            rows: meta.rows.into_iter().map(Row::into_owned).collect(),
        })
    }
}
