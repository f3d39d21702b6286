//! # datavow-ingest
//!
//! Reading web-server access logs (P6). This crate turns one log line into a
//! [`LogRecord`] or a [`Reject`] reason, in any of the [`Format`]s it knows or a custom
//! format string ([`Template`]), recognises a log's format from its first lines
//! ([`recognise`]), and parses a user agent into a [`Browser`]; storing, pseudonymising
//! and partitioning come on top of it.
//!
//! Invariants:
//! - A line is read from bytes: very long lines and any malformation are rejected with
//!   a reason, never a panic, and never stored raw. Invalid UTF-8 is read as U+FFFD by
//!   [`LineParser`] (the single-format functions reject it).
//! - Paths and referrers lose their query string and fragment at parse time.
//! - A payment card number (P4) in any text that is kept rejects the line whole, so
//!   the number goes nowhere; one in a query string is cut off with the query.

mod format;
mod geo;
mod parse;
mod user_agent;

pub use format::{recognise, Format, LineParser, SAMPLE_LINES};
pub use geo::GeoDb;
pub use parse::{
    parse_combined, parse_json, Clf, JsonShape, LogRecord, Reject, Template, TemplateError, W3c,
    MAX_LINE,
};
pub use user_agent::{Browser, DeviceClass, UaParser, DEBIAN_REGEXES};
