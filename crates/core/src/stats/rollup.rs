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

use crate::browser::BlockMeta;
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

/// What one visitor-day contributes while the day is summed.
#[derive(Default)]
struct Visitor {
    hits: u64,
    single: [Option<String>; 5],
    pages: Vec<String>,
    referrers: Vec<String>,
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

/// Sums blocks of one day, block by block. Prints only its counts (it holds visitor
/// hashes and paths).
#[derive(Default)]
pub struct DaySummer {
    hits: u64,
    visitors: HashMap<u64, Visitor>,
    page_hits: HashMap<String, u64>,
    referrer_hits: HashMap<String, u64>,
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

impl DaySummer {
    /// Adds one opened block.
    pub fn add(&mut self, meta: &BlockMeta) {
        for row in &meta.rows {
            self.hits += 1;
            let v = self.visitors.entry(row.visitor).or_default();
            v.hits += 1;
            let browser = meta.browsers.get(row.browser as usize);
            let values = [
                row.country.clone().unwrap_or_else(|| "unknown".into()),
                browser.map_or_else(|| "Other".into(), |b| b.family.clone()),
                browser.map_or_else(|| "Other".into(), |b| b.os.clone()),
                browser
                    .map_or("other", |b| device_name(b.device))
                    .to_owned(),
                row.language.clone().unwrap_or_else(|| "unknown".into()),
            ];
            for (slot, value) in v.single.iter_mut().zip(values) {
                if slot.is_none() {
                    *slot = Some(value);
                }
            }
            if !v.pages.contains(&row.path) && v.pages.len() < PAGES_PER_VISITOR {
                v.pages.push(row.path.clone());
            }
            match self.page_hits.get_mut(&row.path) {
                Some(n) => *n += 1,
                None => {
                    self.page_hits.insert(row.path.clone(), 1);
                }
            }
            let domain = referrer_domain(row.referrer.as_deref());
            if !v.referrers.contains(&domain) && v.referrers.len() < REFERRERS_PER_VISITOR {
                v.referrers.push(domain.clone());
            }
            *self.referrer_hits.entry(domain).or_default() += 1;
        }
    }

    /// The day's roll-up.
    pub fn finish(self, day: NaiveDate) -> DayRollup {
        let mut cells: BTreeMap<String, BTreeMap<String, Cell>> = BTreeMap::new();
        let single = ["countries", "browsers", "platforms", "devices", "languages"];
        for v in self.visitors.values() {
            for (name, value) in single.iter().zip(&v.single) {
                if let Some(value) = value {
                    let cell = cells
                        .entry((*name).to_owned())
                        .or_default()
                        .entry(value.clone())
                        .or_default();
                    cell.visitors += 1;
                    cell.hits += v.hits;
                }
            }
            for (name, counted) in [("pages", &v.pages), ("referrers", &v.referrers)] {
                let report = cells.entry(name.to_owned()).or_default();
                for value in counted {
                    report.entry(value.clone()).or_default().visitors += 1;
                }
            }
        }
        for (name, hits) in [("pages", self.page_hits), ("referrers", self.referrer_hits)] {
            let report = cells.entry(name.to_owned()).or_default();
            for (value, n) in hits {
                report.entry(value).or_default().hits += n;
            }
        }
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
