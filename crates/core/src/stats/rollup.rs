//! A day's roll-up: the counts every report needs, computed once from the day's blocks
//! and sealed beside them under the day's key.
//!
//! Invariants:
//! - The unit is a visitor-day (the daily visitor hash). Each unit counts once in the
//!   day's `visitors`, in at most one cell of each single-valued report (its first
//!   country, browser, platform, device and language of the day), and in at most
//!   [`PAGES_PER_VISITOR`] pages and [`REFERRERS_PER_VISITOR`] referrer domains. Those
//!   caps are the sensitivities the releases' noise is scaled to.
//! - Nothing in a roll-up names a visitor or an address: only values and counts.

use crate::browser::CompactMeta;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Distinct pages a visitor-day counts in, at most.
pub const PAGES_PER_VISITOR: usize = 5;
/// Distinct referrer domains a visitor-day counts in, at most.
pub const REFERRERS_PER_VISITOR: usize = 3;

/// Counts of one value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    /// Visitor-days (each counts once here).
    pub visitors: u64,
    /// Records (requests), unbounded; shown to operators, never released.
    pub hits: u64,
}

/// One day, summed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayRollup {
    pub day: NaiveDate,
    /// Records of the day.
    pub hits: u64,
    /// Visitor-days.
    pub visitors: u64,
    /// Report name (`pages`, `countries`, …) → value → counts.
    pub cells: BTreeMap<String, BTreeMap<String, Cell>>,
}

/// The reports computed per value, with the most cells a visitor-day touches in each.
pub const DIMENSIONS: [(&str, usize); 7] = [
    ("pages", PAGES_PER_VISITOR),
    ("countries", 1),
    ("browsers", 1),
    ("platforms", 1),
    ("devices", 1),
    ("referrers", REFERRERS_PER_VISITOR),
    ("languages", 1),
];

/// No value (an empty slot of a [`Visitor`]).
const NONE: u32 = u32::MAX;

/// What one visitor-day contributes while the day is summed: ids of interned values.
#[derive(Clone, Copy)]
struct Visitor {
    hits: u64,
    /// First country, browser, platform, device, language of the day.
    single: [u32; 5],
    pages: [u32; PAGES_PER_VISITOR],
    referrers: [u32; REFERRERS_PER_VISITOR],
}

impl Default for Visitor {
    fn default() -> Self {
        Visitor {
            hits: 0,
            single: [NONE; 5],
            pages: [NONE; PAGES_PER_VISITOR],
            referrers: [NONE; REFERRERS_PER_VISITOR],
        }
    }
}

/// Adds `id` to the first free slot of `slots` unless it is there already or they
/// are full (the contribution cap).
fn add_capped(slots: &mut [u32], id: u32) {
    for slot in slots {
        if *slot == id {
            return;
        }
        if *slot == NONE {
            *slot = id;
            return;
        }
    }
}

/// Values seen in a day, each once, by id.
#[derive(Default)]
struct Interner {
    ids: HashMap<String, u32, foldhash::fast::RandomState>,
    values: Vec<String>,
}

impl Interner {
    fn id(&mut self, value: &str) -> u32 {
        if let Some(id) = self.ids.get(value) {
            return *id;
        }
        let id = u32::try_from(self.values.len()).unwrap_or(NONE - 1);
        self.ids.insert(value.to_owned(), id);
        self.values.push(value.to_owned());
        id
    }
}

/// The host of a referrer URL, lower case without `www.`; `(direct)` when there is none.
pub fn referrer_domain(referrer: Option<&str>) -> String {
    let Some(url) = referrer.filter(|r| !r.is_empty() && *r != "-") else {
        return "(direct)".into();
    };
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host = rest
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default()
        .rsplit('@')
        .next()
        .unwrap_or_default();
    let host = host
        .split(':')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host).to_owned();
    if host.is_empty() {
        "(direct)".into()
    } else {
        host
    }
}

fn device_name(device: datavow_ingest::DeviceClass) -> &'static str {
    use datavow_ingest::DeviceClass;
    match device {
        DeviceClass::Desktop => "desktop",
        DeviceClass::Mobile => "mobile",
        DeviceClass::Tablet => "tablet",
        DeviceClass::Bot => "bot",
        DeviceClass::Other => "other",
    }
}

/// Sums blocks of one day, block by block. Works on interned ids: per record it
/// does integer work only. Prints only its counts (it holds visitor hashes).
#[derive(Default)]
pub struct DaySummer {
    hits: u64,
    visitors: HashMap<u64, Visitor, foldhash::fast::RandomState>,
    values: Interner,
    page_hits: Vec<u64>,
    referrer_hits: Vec<u64>,
}

impl std::fmt::Debug for DaySummer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "DaySummer({} records, {} visitor-days)",
            self.hits,
            self.visitors.len()
        )
    }
}

fn bump(counts: &mut Vec<u64>, id: u32) {
    let i = id as usize;
    if counts.len() <= i {
        counts.resize(i + 1, 0);
    }
    counts[i] += 1;
}

impl DaySummer {
    /// Adds one opened block (its meta part); `false` if it cannot be decoded.
    pub fn add_encoded(&mut self, meta: &[u8]) -> bool {
        let Some(block) = CompactMeta::decode(meta) else {
            return false;
        };
        let unknown = self.values.id("unknown");
        let direct = self.values.id("(direct)");
        // Each text and browser of the block is interned once, on first use.
        let mut texts: Vec<u32> = vec![NONE; block.texts.len()];
        let mut domains: Vec<u32> = vec![NONE; block.texts.len()];
        let browsers: Vec<[u32; 3]> = block
            .browsers
            .iter()
            .map(|b| {
                [
                    self.values.id(&b.family),
                    self.values.id(&b.os),
                    self.values.id(device_name(b.device)),
                ]
            })
            .collect();
        let other = [
            self.values.id("Other"),
            self.values.id("Other"),
            self.values.id("other"),
        ];
        let values = &mut self.values;
        let mut text = |i: Option<u32>, values: &mut Interner| match i {
            None => unknown,
            Some(i) => {
                let slot = &mut texts[i as usize];
                if *slot == NONE {
                    *slot = values.id(&block.texts[i as usize]);
                }
                *slot
            }
        };
        for row in &block.rows {
            self.hits += 1;
            let browser = browsers.get(row.browser as usize).copied().unwrap_or(other);
            let single = [
                text(row.country, values),
                browser[0],
                browser[1],
                browser[2],
                text(row.language, values),
            ];
            let page = text(Some(row.path), values);
            let domain = match row.referrer {
                None => direct,
                Some(i) => {
                    let slot = &mut domains[i as usize];
                    if *slot == NONE {
                        *slot = values.id(&referrer_domain(Some(&block.texts[i as usize])));
                    }
                    *slot
                }
            };
            let v = self.visitors.entry(row.visitor).or_default();
            v.hits += 1;
            for (slot, value) in v.single.iter_mut().zip(single) {
                if *slot == NONE {
                    *slot = value;
                }
            }
            add_capped(&mut v.pages, page);
            add_capped(&mut v.referrers, domain);
            bump(&mut self.page_hits, page);
            bump(&mut self.referrer_hits, domain);
        }
        true
    }

    /// The day's roll-up.
    pub fn finish(self, day: NaiveDate) -> DayRollup {
        let values = &self.values.values;
        let name = |id: u32| values.get(id as usize).cloned().unwrap_or_default();
        let mut counts: [HashMap<u32, Cell>; 7] = Default::default();
        for v in self.visitors.values() {
            for (i, id) in v.single.iter().enumerate() {
                if *id != NONE {
                    let cell = counts[i].entry(*id).or_default();
                    cell.visitors += 1;
                    cell.hits += v.hits;
                }
            }
            for id in v.pages.iter().filter(|id| **id != NONE) {
                counts[5].entry(*id).or_default().visitors += 1;
            }
            for id in v.referrers.iter().filter(|id| **id != NONE) {
                counts[6].entry(*id).or_default().visitors += 1;
            }
        }
        for (i, hits) in [(5, &self.page_hits), (6, &self.referrer_hits)] {
            for (id, n) in hits.iter().enumerate().filter(|(_, n)| **n > 0) {
                counts[i]
                    .entry(u32::try_from(id).unwrap_or(NONE))
                    .or_default()
                    .hits += n;
            }
        }
        let names = [
            "countries",
            "browsers",
            "platforms",
            "devices",
            "languages",
            "pages",
            "referrers",
        ];
        let cells = names
            .iter()
            .zip(counts)
            .map(|(report, cells)| {
                let by_value: BTreeMap<String, Cell> =
                    cells.into_iter().map(|(id, c)| (name(id), c)).collect();
                ((*report).to_owned(), by_value)
            })
            .collect();
        DayRollup {
            day,
            hits: self.hits,
            visitors: self.visitors.len() as u64,
            cells,
        }
    }
}

impl DayRollup {
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_stdvec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Option<DayRollup> {
        postcard::from_bytes(bytes).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn referrer_domains_drop_scheme_path_port_credentials_and_www() {
        assert_eq!(
            referrer_domain(Some("https://www.Example.com:8443/a?b=c")),
            "example.com"
        );
        assert_eq!(
            referrer_domain(Some("http://user@news.ycombinator.com/item")),
            "news.ycombinator.com"
        );
        assert_eq!(referrer_domain(Some("-")), "(direct)");
        assert_eq!(referrer_domain(None), "(direct)");
    }
}
