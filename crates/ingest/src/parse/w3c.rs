//! The W3C extended log format (IIS and others) and Amazon CloudFront's standard logs,
//! which are W3C with tab separators and URL-encoded values.
//!
//! A `#Fields:` header names the fields of the lines after it; other `#` lines are
//! headers too and are counted, not stored. Without a header, the format's default
//! fields apply (IIS's default selection, CloudFront's documented order). Fields are
//! separated by tabs if the line has one, else by spaces; `-` is an empty field. Times
//! are UTC.

use super::{finish, first_language, optional, parse_ip, path_of, LogRecord, Reject};
use crate::Format;
use chrono::{NaiveDate, NaiveTime};
use std::borrow::Cow;
use std::sync::Arc;

/// A field Datavow reads; the others are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Date,
    Time,
    /// `date-time` of some servers: `2026-11-25T08:00:01Z` or with a space.
    DateTime,
    ClientIp,
    Method,
    UriStem,
    /// The whole URI (`cs-uri`), query and all.
    Uri,
    Status,
    Bytes,
    Referrer,
    Agent,
    User,
    Language,
    Other,
}

impl Field {
    fn named(name: &str) -> Field {
        match name.to_ascii_lowercase().as_str() {
            "date" => Field::Date,
            "time" => Field::Time,
            "date-time" | "datetime" => Field::DateTime,
            "c-ip" => Field::ClientIp,
            "cs-method" => Field::Method,
            "cs-uri-stem" => Field::UriStem,
            "cs-uri" => Field::Uri,
            "sc-status" => Field::Status,
            "sc-bytes" => Field::Bytes,
            "cs(referer)" | "cs(referrer)" => Field::Referrer,
            "cs(user-agent)" => Field::Agent,
            "cs-username" => Field::User,
            "cs(accept-language)" => Field::Language,
            _ => Field::Other,
        }
    }
}

/// The fields of a W3C log, from its `#Fields:` header or a default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct W3cFields {
    fields: Vec<Field>,
    /// Fields a line must have: up to the last one read.
    needed: usize,
}

impl W3cFields {
    fn from_names<'a>(names: impl Iterator<Item = &'a str>) -> W3cFields {
        let fields: Vec<Field> = names.map(Field::named).collect();
        let needed = fields
            .iter()
            .rposition(|f| *f != Field::Other)
            .map_or(0, |i| i + 1);
        W3cFields { fields, needed }
    }

    /// Whether these fields can make a record at all.
    fn usable(&self) -> bool {
        let has = |f: Field| self.fields.contains(&f);
        has(Field::ClientIp)
            && (has(Field::UriStem) || has(Field::Uri))
            && has(Field::Status)
            && (has(Field::DateTime) || (has(Field::Date) && has(Field::Time)))
    }
}

/// IIS's default field selection.
const IIS_DEFAULT: &str = "date time s-ip cs-method cs-uri-stem cs-uri-query s-port \
    cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status \
    time-taken";

/// CloudFront's standard log fields, in their documented order.
const CLOUDFRONT_DEFAULT: &str = "date time x-edge-location sc-bytes c-ip cs-method \
    cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) \
    x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken \
    x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type \
    cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte \
    x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end";

/// A W3C parser with the fields in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct W3c {
    fields: Arc<W3cFields>,
    /// CloudFront URL-encodes its values; IIS writes a user agent's spaces as `+`.
    cloudfront: bool,
}

impl W3c {
    /// IIS-style W3C with IIS's default fields until a header says otherwise.
    pub fn iis() -> W3c {
        W3c {
            fields: Arc::new(W3cFields::from_names(IIS_DEFAULT.split_whitespace())),
            cloudfront: false,
        }
    }

    /// CloudFront with its documented fields until a header says otherwise.
    pub fn cloudfront() -> W3c {
        W3c {
            fields: Arc::new(W3cFields::from_names(CLOUDFRONT_DEFAULT.split_whitespace())),
            cloudfront: true,
        }
    }

    pub(crate) fn format(&self) -> Format {
        if self.cloudfront {
            Format::Cloudfront
        } else {
            Format::W3c
        }
    }

    /// For a `#Fields:` header line, the parser for the lines after it.
    pub fn directive(&self, line: &[u8]) -> Option<W3c> {
        let text = std::str::from_utf8(line).ok()?.trim_end();
        let names = text
            .strip_prefix("#Fields:")
            .or_else(|| text.strip_prefix("#fields:"))?;
        let fields = W3cFields::from_names(names.split_whitespace());
        fields.usable().then(|| W3c {
            fields: Arc::new(fields),
            cloudfront: self.cloudfront,
        })
    }

    /// Parses one line.
    pub fn parse<'a>(&self, line: &'a [u8]) -> Result<LogRecord<'a>, Reject> {
        let text = super::admit(line)?;
        if text.starts_with('#') {
            return Err(Reject::Directive);
        }
        let shape = Reject::Shape(self.format());
        let separator = if text.contains('\t') { '\t' } else { ' ' };
        let mut values = text.split(separator);
        let (mut date, mut time, mut date_time) = (None, None, None);
        let (mut ip, mut method, mut path, mut status, mut bytes) = (None, None, None, None, None);
        let (mut referrer, mut agent, mut user, mut language) = (None, None, None, None);
        for field in &self.fields.fields[..self.fields.needed] {
            let value = values.next().ok_or(shape)?;
            let present = value != "-" && !value.is_empty();
            match field {
                Field::Date => date = Some(value),
                Field::Time => time = Some(value),
                Field::DateTime => date_time = Some(value),
                Field::ClientIp => ip = Some(value),
                Field::Method => method = present.then_some(value),
                Field::UriStem | Field::Uri => path = Some(value),
                Field::Status => status = Some(value),
                Field::Bytes => bytes = Some(value),
                Field::Referrer => referrer = present.then(|| self.decode(value, false)),
                Field::Agent => agent = present.then(|| self.decode(value, true)),
                Field::User => user = present.then_some(value),
                Field::Language => language = present.then_some(value),
                Field::Other => {}
            }
        }
        let time = match (date_time, date, time) {
            (Some(dt), _, _) => super::parse_any_time(&dt.replacen(' ', "T", 1))?,
            (None, Some(d), Some(t)) => utc(d, t)?,
            _ => return Err(shape),
        };
        let path = self.decode(path.ok_or(shape)?, false);
        finish(LogRecord {
            ip: parse_ip(ip.ok_or(shape)?)?,
            time,
            method: Cow::Borrowed(method.unwrap_or("GET")),
            path: path_of(path),
            status: super::status(status.ok_or(shape)?)?,
            bytes: bytes.map_or(Ok(None), super::count)?,
            referrer: referrer.and_then(optional),
            user_agent: agent.and_then(optional),
            user: user.map(Cow::Borrowed),
            language: language.and_then(first_language),
        })
    }

    /// A value as the client sent it: CloudFront's percent-encoding undone (once; it
    /// encodes some values twice, which then stay encoded once); IIS's `+` for a space
    /// in a user agent.
    fn decode<'a>(&self, value: &'a str, plus_is_space: bool) -> Cow<'a, str> {
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        if self.cloudfront {
            percent_encoding::percent_decode_str(value).decode_utf8_lossy()
        } else if plus_is_space && value.contains('+') {
            Cow::Owned(value.replace('+', " "))
        } else {
            Cow::Borrowed(value)
        }
    }
}

/// `2026-11-25` and `08:00:01` (or `08:00:01.123`), in UTC.
fn utc(date: &str, time: &str) -> Result<chrono::DateTime<chrono::FixedOffset>, Reject> {
    let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| Reject::BadTime)?;
    let time = NaiveTime::parse_from_str(time, "%H:%M:%S%.f").map_err(|_| Reject::BadTime)?;
    Ok(date.and_time(time).and_utc().fixed_offset())
}
