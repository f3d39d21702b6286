//! What a sealed block holds once opened: one row per record. Encoded with `postcard`
//! (compact, no schema to keep apart); client addresses are a separate part, one per
//! row in row order, 5 bytes for IPv4 and 17 for IPv6 (see [`encode_addresses`]).
//!
//! On disk a block's rows are numbers only: every text (method, path, referrer,
//! language, country) and every parsed browser is kept once per block in a table the
//! rows index, and times are offsets from the start of the block's day. Real logs
//! repeat a few hundred paths millions of times, so this halves what is sealed, written
//! and checkpointed. [`BlockBuilder`] writes that form; [`BlockMeta::decode`] gives rows
//! with their text back.

use chrono::{NaiveDate, NaiveTime};
use datavow_ingest::Browser;
use datavow_vault::LinkTag;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

/// The layout version written first in every meta part.
const FORMAT: u8 = 2;

/// One browser record, without its client address, as read back from a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Seconds since the Unix epoch, UTC.
    pub time: i64,
    pub method: String,
    /// Without query string or fragment.
    pub path: String,
    pub status: u16,
    pub bytes: Option<u64>,
    /// Without query string or fragment.
    pub referrer: Option<String>,
    /// Index into the block's browsers.
    pub browser: u32,
    pub country: Option<String>,
    pub language: Option<String>,
    /// The daily visitor hash (see `DayKeys::visitor_hash`).
    pub visitor: u64,
    /// Set when the record belongs to a signed-in person.
    pub link: Option<LinkTag>,
}

/// A block's meta part, read back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockMeta {
    /// Parsed user agents, each once; rows refer to them by index.
    pub browsers: Vec<Browser>,
    pub rows: Vec<Row>,
}

/// A row as stored: texts are indexes into the block's texts.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct StoredRow {
    /// Seconds after the block's `base_time`, the start of its day.
    time: u32,
    method: u32,
    path: u32,
    status: u16,
    bytes: Option<u64>,
    referrer: Option<u32>,
    browser: u32,
    country: Option<u32>,
    language: Option<u32>,
    /// Fixed eight bytes: a hash is as long as a varint gets.
    visitor: [u8; 8],
    link: Option<LinkTag>,
}

/// The meta part as stored.
#[derive(Debug, Serialize, Deserialize)]
struct StoredMeta<'a> {
    format: u8,
    base_time: i64,
    browsers: Vec<Arc<Browser>>,
    #[serde(borrow)]
    texts: Vec<Cow<'a, str>>,
    rows: Vec<StoredRow>,
}

/// One record to add to a block; its text borrows from the log line where it can.
#[derive(Debug)]
pub(crate) struct NewRow<'a> {
    pub time: i64,
    pub method: Cow<'a, str>,
    pub path: Cow<'a, str>,
    pub status: u16,
    pub bytes: Option<u64>,
    pub referrer: Option<Cow<'a, str>>,
    pub browser: u32,
    pub country: Option<Cow<'a, str>>,
    pub language: Option<Cow<'a, str>>,
    pub visitor: u64,
    pub link: Option<LinkTag>,
}

/// Builds one block's meta part.
pub(crate) struct BlockBuilder<'a> {
    meta: StoredMeta<'a>,
    /// Text → index into `meta.texts`. Looked up several times per record, so hashed
    /// with foldhash (seeded per process) rather than SipHash.
    text_index: HashMap<Cow<'a, str>, u32, foldhash::fast::RandomState>,
}

impl<'a> BlockBuilder<'a> {
    /// A block for the records of `day` (UTC).
    pub fn new(day: NaiveDate, records: usize) -> Self {
        BlockBuilder {
            meta: StoredMeta {
                format: FORMAT,
                base_time: day.and_time(NaiveTime::MIN).and_utc().timestamp(),
                browsers: Vec::new(),
                texts: Vec::new(),
                rows: Vec::with_capacity(records),
            },
            text_index: HashMap::default(),
        }
    }

    /// Adds a parsed browser; returns its index for rows.
    pub fn add_browser(&mut self, browser: Arc<Browser>) -> u32 {
        self.meta.browsers.push(browser);
        index(self.meta.browsers.len() - 1)
    }

    /// Adds a record of the block's day.
    pub fn push(&mut self, row: NewRow<'a>) {
        let stored = StoredRow {
            time: u32::try_from(row.time - self.meta.base_time).unwrap_or(0),
            method: self.text(row.method),
            path: self.text(row.path),
            status: row.status,
            bytes: row.bytes,
            referrer: row.referrer.map(|t| self.text(t)),
            browser: row.browser,
            country: row.country.map(|t| self.text(t)),
            language: row.language.map(|t| self.text(t)),
            visitor: row.visitor.to_le_bytes(),
            link: row.link,
        };
        self.meta.rows.push(stored);
    }

    fn text(&mut self, text: Cow<'a, str>) -> u32 {
        if let Some(i) = self.text_index.get(text.as_ref()) {
            return *i;
        }
        let i = index(self.meta.texts.len());
        self.text_index.insert(text.clone(), i);
        self.meta.texts.push(text);
        i
    }

    pub fn records(&self) -> usize {
        self.meta.rows.len()
    }

    pub fn encode(&self) -> Vec<u8> {
        // Sized up front: growing a block's buffer by doubling showed in the profile.
        let estimate = 64
            + self.meta.browsers.len() * 48
            + self.meta.texts.len() * 32
            + self.meta.rows.len() * 32;
        // Serialising strings and integers into a Vec cannot fail.
        postcard::to_extend(&self.meta, Vec::with_capacity(estimate)).unwrap_or_default()
    }
}

fn index(i: usize) -> u32 {
    // A block holds at most one chunk of lines, far below u32::MAX.
    u32::try_from(i).unwrap_or(u32::MAX)
}

impl BlockMeta {
    /// Decodes a block's meta part, of this layout or the first one; `None` if it is
    /// neither or an index points outside its tables.
    pub fn decode(bytes: &[u8]) -> Option<BlockMeta> {
        Self::decode_current(bytes).or_else(|| legacy::decode_meta(bytes))
    }

    fn decode_current(bytes: &[u8]) -> Option<BlockMeta> {
        let stored: StoredMeta<'_> = postcard::from_bytes(bytes).ok()?;
        if stored.format != FORMAT {
            return None;
        }
        let text = |i: u32| stored.texts.get(i as usize).map(|t| t.to_string());
        let optional = |i: Option<u32>| match i {
            Some(i) => text(i).map(Some),
            None => Some(None),
        };
        let rows = stored
            .rows
            .iter()
            .map(|r| {
                Some(Row {
                    time: stored.base_time.checked_add(i64::from(r.time))?,
                    method: text(r.method)?,
                    path: text(r.path)?,
                    status: r.status,
                    bytes: r.bytes,
                    referrer: optional(r.referrer)?,
                    browser: r.browser,
                    country: optional(r.country)?,
                    language: optional(r.language)?,
                    visitor: u64::from_le_bytes(r.visitor),
                    link: r.link,
                })
            })
            .collect::<Option<Vec<Row>>>()?;
        Some(BlockMeta {
            browsers: stored
                .browsers
                .into_iter()
                .map(Arc::unwrap_or_clone)
                .collect(),
            rows,
        })
    }
}

/// A block's rows with their texts left as indexes into the block's tables: for
/// statistics, which need no text per row.
#[derive(Debug)]
pub struct CompactMeta<'a> {
    pub texts: Vec<Cow<'a, str>>,
    pub browsers: Vec<Arc<Browser>>,
    pub rows: Vec<CompactRow>,
}

/// One row of a [`CompactMeta`]: indexes into its texts and browsers.
#[derive(Debug, Clone, Copy)]
pub struct CompactRow {
    pub path: u32,
    pub referrer: Option<u32>,
    pub browser: u32,
    pub country: Option<u32>,
    pub language: Option<u32>,
    pub visitor: u64,
}

impl<'a> CompactMeta<'a> {
    /// Decodes a meta part without building text per row; `None` if it is not a block
    /// or an index points outside its tables. Blocks of the first layout are decoded
    /// whole and re-indexed.
    pub fn decode(bytes: &'a [u8]) -> Option<CompactMeta<'a>> {
        if let Ok(stored) = postcard::from_bytes::<StoredMeta<'_>>(bytes) {
            if stored.format == FORMAT {
                let texts = stored.texts.len();
                let ok = |i: Option<u32>| i.is_none_or(|i| (i as usize) < texts);
                let rows = stored
                    .rows
                    .iter()
                    .map(|r| {
                        (ok(Some(r.path)) && ok(r.referrer) && ok(r.country) && ok(r.language))
                            .then_some(CompactRow {
                                path: r.path,
                                referrer: r.referrer,
                                browser: r.browser,
                                country: r.country,
                                language: r.language,
                                visitor: u64::from_le_bytes(r.visitor),
                            })
                    })
                    .collect::<Option<Vec<_>>>()?;
                return Some(CompactMeta {
                    texts: stored.texts,
                    browsers: stored.browsers,
                    rows,
                });
            }
        }
        let meta = BlockMeta::decode(bytes)?;
        let mut texts: Vec<Cow<'a, str>> = Vec::new();
        let mut push = |t: String| {
            texts.push(Cow::Owned(t));
            index(texts.len() - 1)
        };
        let rows = meta
            .rows
            .into_iter()
            .map(|r| CompactRow {
                path: push(r.path),
                referrer: r.referrer.map(&mut push),
                browser: r.browser,
                country: r.country.map(&mut push),
                language: r.language.map(&mut push),
                visitor: r.visitor,
            })
            .collect();
        Some(CompactMeta {
            texts,
            browsers: meta.browsers.into_iter().map(Arc::new).collect(),
            rows,
        })
    }
}

/// The addresses part of a block: a format byte, then the addresses (postcard).
pub fn encode_addresses(ips: &[IpAddr]) -> Vec<u8> {
    let out = Vec::with_capacity(8 + ips.len() * 5);
    // Serialising addresses into a Vec cannot fail.
    postcard::to_extend(&(FORMAT, ips), out).unwrap_or_default()
}

/// Reads an addresses part, of this layout or the first one; `None` if neither.
pub fn decode_addresses(bytes: &[u8]) -> Option<Vec<IpAddr>> {
    match postcard::from_bytes::<(u8, Vec<IpAddr>)>(bytes) {
        Ok((FORMAT, ips)) => Some(ips),
        _ => legacy::decode_addresses(bytes),
    }
}

/// The first layout (builds of 2026-11-24 and 25): no format byte, every row's text in
/// the row, addresses as 16 bytes each (IPv4 mapped into IPv6). Only read, so that
/// blocks those builds stored stay readable until retention drops them (6 months);
/// nothing writes it.
mod legacy {
    use super::{BlockMeta, Row};
    use datavow_ingest::Browser;
    use datavow_vault::LinkTag;
    use serde::Deserialize;
    use std::net::{IpAddr, Ipv6Addr};

    #[derive(Deserialize)]
    struct Meta {
        browsers: Vec<Browser>,
        rows: Vec<LegacyRow>,
    }

    #[derive(Deserialize)]
    struct LegacyRow {
        time: i64,
        method: String,
        path: String,
        status: u16,
        bytes: Option<u64>,
        referrer: Option<String>,
        browser: u32,
        country: Option<String>,
        language: Option<String>,
        visitor: u64,
        link: Option<LinkTag>,
    }

    pub(super) fn decode_meta(bytes: &[u8]) -> Option<BlockMeta> {
        let meta: Meta = postcard::from_bytes(bytes).ok()?;
        let rows = meta
            .rows
            .into_iter()
            .map(|r| Row {
                time: r.time,
                method: r.method,
                path: r.path,
                status: r.status,
                bytes: r.bytes,
                referrer: r.referrer,
                browser: r.browser,
                country: r.country,
                language: r.language,
                visitor: r.visitor,
                link: r.link,
            })
            .collect();
        Some(BlockMeta {
            browsers: meta.browsers,
            rows,
        })
    }

    pub(super) fn decode_addresses(bytes: &[u8]) -> Option<Vec<IpAddr>> {
        if !bytes.len().is_multiple_of(16) {
            return None;
        }
        bytes
            .chunks(16)
            .map(|c| {
                let octets: [u8; 16] = c.try_into().ok()?;
                Some(IpAddr::V6(Ipv6Addr::from(octets)).to_canonical())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row<'a>(time: i64, path: &'a str, referrer: Option<&'a str>) -> NewRow<'a> {
        NewRow {
            time,
            method: "GET".into(),
            path: path.into(),
            status: 200,
            bytes: Some(512),
            referrer: referrer.map(Cow::Borrowed),
            browser: 0,
            country: Some("DK".into()),
            language: None,
            visitor: u64::MAX - 7,
            link: None,
        }
    }

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 9, 21).expect("date")
    }

    #[test]
    fn rows_read_back_with_their_text_and_times_in_any_order() {
        let mut builder = BlockBuilder::new(day(), 3);
        builder.add_browser(Arc::new(Browser::unknown()));
        builder.push(row(1_790_000_100, "/pricing", Some("https://asergo.com/")));
        builder.push(row(1_790_000_000, "/pricing", None));
        builder.push(row(1_790_030_000, "/contact", Some("https://asergo.com/")));
        let meta = BlockMeta::decode(&builder.encode()).expect("decodes");
        let seen: Vec<(i64, &str, Option<&str>)> = meta
            .rows
            .iter()
            .map(|r| (r.time, r.path.as_str(), r.referrer.as_deref()))
            .collect();
        assert_eq!(
            seen,
            [
                (1_790_000_100, "/pricing", Some("https://asergo.com/")),
                (1_790_000_000, "/pricing", None),
                (1_790_030_000, "/contact", Some("https://asergo.com/")),
            ]
        );
        assert_eq!(meta.rows[0].visitor, u64::MAX - 7);
        assert_eq!(meta.rows[2].country.as_deref(), Some("DK"));
        assert_eq!(meta.browsers, [Browser::unknown()]);
    }

    #[test]
    fn repeated_text_is_stored_once() {
        let mut builder = BlockBuilder::new(day(), 1000);
        builder.add_browser(Arc::new(Browser::unknown()));
        let path = "/products/dedicated-servers/configure";
        for i in 0..1000 {
            builder.push(row(1_790_000_000 + i, path, Some(path)));
        }
        let encoded = builder.encode();
        let copies = encoded
            .windows(path.len())
            .filter(|w| *w == path.as_bytes())
            .count();
        assert_eq!(copies, 1);
        // Smaller than the path alone once per row.
        assert!(encoded.len() < 1000 * path.len(), "{} bytes", encoded.len());
    }

    #[test]
    fn addresses_read_back_in_order_and_ipv4_takes_five_bytes() {
        let ips: Vec<IpAddr> = ["203.0.113.77", "2001:db8:aa::17", "::ffff:198.51.100.9"]
            .iter()
            .map(|ip| ip.parse().expect("ip"))
            .collect();
        let encoded = encode_addresses(&ips);
        assert_eq!(decode_addresses(&encoded), Some(ips));
        assert_eq!(
            encode_addresses(&["192.0.2.1".parse().expect("ip")]).len(),
            1 + 1 + 5
        );
    }

    #[test]
    fn blocks_of_the_first_layout_still_read() {
        // As the first layout wrote them: text in every row, addresses of 16 bytes.
        #[derive(Serialize)]
        struct OldRow<'a> {
            time: i64,
            method: &'a str,
            path: &'a str,
            status: u16,
            bytes: Option<u64>,
            referrer: Option<&'a str>,
            browser: u32,
            country: Option<&'a str>,
            language: Option<&'a str>,
            visitor: u64,
            link: Option<LinkTag>,
        }
        let rows = vec![OldRow {
            time: 1_790_000_000,
            method: "GET",
            path: "/pricing",
            status: 200,
            bytes: Some(512),
            referrer: Some("https://asergo.com/"),
            browser: 0,
            country: Some("DE"),
            language: Some("de-DE"),
            visitor: 7,
            link: Some([9; 16]),
        }];
        let old = postcard::to_allocvec(&(vec![Browser::unknown()], &rows)).expect("encode");
        let meta = BlockMeta::decode(&old).expect("first layout reads");
        assert_eq!(meta.rows[0].path, "/pricing");
        assert_eq!(meta.rows[0].link, Some([9; 16]));
        assert_eq!(meta.browsers, [Browser::unknown()]);

        let v4: IpAddr = "203.0.113.77".parse().expect("ip");
        let v6: IpAddr = "2001:db8::17".parse().expect("ip");
        let mut old_ips = datavow_vault::address_bytes(v4).to_vec();
        old_ips.extend(datavow_vault::address_bytes(v6));
        assert_eq!(decode_addresses(&old_ips), Some(vec![v4, v6]));
    }

    #[test]
    fn a_block_of_another_layout_is_refused() {
        assert!(BlockMeta::decode(b"\x01\x00\x00").is_none());
        assert!(BlockMeta::decode(&[]).is_none());
    }
}
