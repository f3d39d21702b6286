//! # datavow-ingest
//!
//! Reading web-server access logs (P6). This crate turns one log line into a
//! [`LogRecord`] or a [`Reject`] reason, and a user agent into a [`Browser`];
//! storing, pseudonymising and partitioning come on top of it.
//!
//! Invariants:
//! - A line is read from bytes: invalid UTF-8, very long lines and any malformation are
//!   rejected with a reason, never a panic, and never stored raw.
//! - Paths and referrers lose their query string and fragment at parse time.
//! - A line holding a payment card number anywhere (P4) is rejected whole, so the
//!   number goes nowhere.

mod geo;
mod parse;
mod user_agent;

pub use geo::GeoDb;
pub use parse::{parse_combined, parse_json, LogRecord, Reject, MAX_LINE};
pub use user_agent::{Browser, DeviceClass, UaParser, DEBIAN_REGEXES};
