//! What a sealed block holds once opened: a dictionary of parsed browsers and one row
//! per record. Encoded with `postcard` (compact, no schema to keep apart); client
//! addresses are a separate part of 16 bytes per row, in row order.

use datavow_ingest::{Browser, DeviceClass};
use datavow_vault::LinkTag;
use serde::{Deserialize, Serialize};

/// A parsed user agent, stored once per block and referred to by index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrowserInfo {
    pub family: String,
    pub major: Option<String>,
    pub os: String,
    pub os_major: Option<String>,
    pub device: String,
}

impl From<&Browser> for BrowserInfo {
    fn from(b: &Browser) -> Self {
        BrowserInfo {
            family: b.family.clone(),
            major: b.major.clone(),
            os: b.os.clone(),
            os_major: b.os_major.clone(),
            device: b.device.as_str().to_owned(),
        }
    }
}

impl BrowserInfo {
    /// What is stored when no user-agent parser is configured or the agent is absent.
    pub fn unknown() -> BrowserInfo {
        BrowserInfo {
            family: "Other".into(),
            major: None,
            os: "Other".into(),
            os_major: None,
            device: DeviceClass::Other.as_str().to_owned(),
        }
    }
}

/// One browser record, without its client address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// The meta part of a block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockMeta {
    pub browsers: Vec<BrowserInfo>,
    pub rows: Vec<Row>,
}

impl BlockMeta {
    pub fn encode(&self) -> Vec<u8> {
        // Sized up front: growing a block's buffer by doubling showed in the profile.
        let estimate = 64 + self.browsers.len() * 48 + self.rows.len() * 128;
        // Serialising owned strings and integers into a Vec cannot fail.
        postcard::to_extend(self, Vec::with_capacity(estimate)).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Option<BlockMeta> {
        postcard::from_bytes(bytes).ok()
    }
}
