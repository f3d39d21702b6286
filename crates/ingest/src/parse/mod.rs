//! The line parsers, one module per family of formats, and what they share: the
//! record they make, the reasons they give, and [`finish`], the last step of every one
//! of them (query strings and fragments cut, then the card guard over what is kept).
//!
//! Written by hand rather than with regexes: a single pass over the bytes with no
//! allocation for fields that are dropped keeps ingest fast (see `docs/PERFORMANCE.md`),
//! and each format is small.

mod clf;
mod elb;
mod json;
mod template;
mod w3c;

pub use clf::{parse_combined, Clf};
pub use json::{parse_json, JsonShape};
pub use template::{Template, TemplateError};
pub use w3c::W3c;

pub(crate) use elb::parse_elb;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeZone};
use datavow_policy::card_guard::contains_card_number;
use std::borrow::Cow;
use std::net::IpAddr;

/// Lines longer than this are rejected (a real combined line is well under 8 KiB).
pub const MAX_LINE: usize = 16 * 1024;

/// One access, as kept: no query strings, no fragments. Text borrows from the line
/// where it can (ingest reads millions of lines; copying each field showed in the
/// profile).
#[derive(Clone, PartialEq, Eq)]
pub struct LogRecord<'a> {
    pub ip: IpAddr,
    pub time: DateTime<FixedOffset>,
    pub method: Cow<'a, str>,
    /// The path without query string or fragment.
    pub path: Cow<'a, str>,
    pub status: u16,
    pub bytes: Option<u64>,
    /// The referring page without query string or fragment; `None` for `-`.
    pub referrer: Option<Cow<'a, str>>,
    /// `None` for `-`.
    pub user_agent: Option<Cow<'a, str>>,
    /// The authenticated user as the web server saw it (`%u`, `remote_user`, `user_id`):
    /// used only to link the record to an account, never stored.
    pub user: Option<Cow<'a, str>>,
    /// The browser's preferred language (JSON lines only), such as `de-DE`.
    pub language: Option<Cow<'a, str>>,
}

impl LogRecord<'_> {
    /// The record with its text copied out of the line.
    pub fn into_owned(self) -> LogRecord<'static> {
        let own = |c: Cow<'_, str>| Cow::Owned(c.into_owned());
        LogRecord {
            ip: self.ip,
            time: self.time,
            method: own(self.method),
            path: own(self.path),
            status: self.status,
            bytes: self.bytes,
            referrer: self.referrer.map(own),
            user_agent: self.user_agent.map(own),
            user: self.user.map(own),
            language: self.language.map(own),
        }
    }
}

datavow_policy::redacted_debug!(LogRecord<'a> {
    ip, time, method, path, status, bytes, referrer, user_agent, user, language
});

/// Why a line was not stored. Counted per reason; the line itself is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reject {
    Empty,
    TooLong,
    NotUtf8,
    BadIp,
    BadTime,
    ImpossibleDate,
    BadRequest,
    BadStatus,
    BadBytes,
    MissingField,
    CardNumber,
    NotJson,
    /// The line is well-formed but not of the shape the format expects (a JSON object
    /// without the format's fields, a W3C line with too few fields).
    Shape(crate::Format),
    /// A `#` line of a W3C log: a header, not a record.
    Directive,
}

impl Reject {
    /// The reason as printed in the ingest summary.
    pub fn as_str(self) -> &'static str {
        match self {
            Reject::Empty => "empty line",
            Reject::TooLong => "line too long",
            Reject::NotUtf8 => "not UTF-8",
            Reject::BadIp => "bad client address",
            Reject::BadTime => "bad timestamp",
            Reject::ImpossibleDate => "impossible date",
            Reject::BadRequest => "bad request line",
            Reject::BadStatus => "bad status",
            Reject::BadBytes => "bad byte count",
            Reject::MissingField => "missing field",
            Reject::CardNumber => "card number in line (dropped unseen)",
            Reject::NotJson => "not JSON",
            Reject::Shape(format) => format.expected(),
            Reject::Directive => "header line",
        }
    }
}

/// Common checks: length, UTF-8, not empty. Returns the line as text.
fn admit(line: &[u8]) -> Result<&str, Reject> {
    if line.len() > MAX_LINE {
        return Err(Reject::TooLong);
    }
    let text = std::str::from_utf8(line).map_err(|_| Reject::NotUtf8)?;
    let text = text.trim_end_matches(['\r', '\n']);
    if text.trim().is_empty() {
        return Err(Reject::Empty);
    }
    Ok(text)
}

/// The card-number guard (P4) over `text`, and over it percent-decoded when it holds a
/// `%`, since encoded digits or separators (`%34`, `%2E`, `%C2%A0`) could hide a number.
fn refuse_cards(text: &str) -> Result<(), Reject> {
    if contains_card_number(text) {
        return Err(Reject::CardNumber);
    }
    if memchr::memchr(b'%', text.as_bytes()).is_some() {
        let decoded = percent_encoding::percent_decode_str(text).decode_utf8_lossy();
        if contains_card_number(&decoded) {
            return Err(Reject::CardNumber);
        }
    }
    Ok(())
}

/// Cuts the query string and fragment off a path or URL.
fn strip_query(target: Cow<'_, str>) -> Cow<'_, str> {
    match memchr::memchr2(b'?', b'#', target.as_bytes()) {
        None => target,
        Some(end) => match target {
            Cow::Borrowed(t) => Cow::Borrowed(&t[..end]),
            Cow::Owned(mut t) => {
                t.truncate(end);
                Cow::Owned(t)
            }
        },
    }
}

/// Reads one quoted field starting at `rest` (which begins with `"`); returns the
/// unescaped value and what follows the closing quote.
fn quoted(rest: &str) -> Result<(Cow<'_, str>, &str), Reject> {
    let body = rest.strip_prefix('"').ok_or(Reject::MissingField)?;
    // The common case: no escape before the closing quote.
    // (memchr2: `str::find` with a set of chars showed in the ingest profile.)
    if let Some(end) = memchr::memchr2(b'"', b'\\', body.as_bytes()) {
        if body.as_bytes()[end] == b'"' {
            return Ok((Cow::Borrowed(&body[..end]), &body[end + 1..]));
        }
    }
    // nginx writes `"`, `\\`, control and non-ASCII bytes as `\xHH`; Apache escapes
    // with a backslash. Unescaped bytes that are not UTF-8 become U+FFFD.
    let bytes = body.as_bytes();
    let mut value = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let text = String::from_utf8_lossy(&value).into_owned();
                return Ok((Cow::Owned(text), &body[i + 1..]));
            }
            b'\\' => {
                let hex = bytes
                    .get(i + 2..i + 4)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match (bytes.get(i + 1), hex) {
                    (Some(b'x'), Some(byte)) => {
                        value.push(byte);
                        i += 4;
                    }
                    (Some(&c @ (b'"' | b'\\')), _) => {
                        value.push(c);
                        i += 2;
                    }
                    (Some(_), _) => {
                        value.push(b'\\');
                        i += 1;
                    }
                    (None, _) => return Err(Reject::MissingField),
                }
            }
            other => {
                value.push(other);
                i += 1;
            }
        }
    }
    Err(Reject::MissingField)
}

/// `10/Oct/2000:13:55:36 -0700`.
fn parse_time(text: &str) -> Result<DateTime<FixedOffset>, Reject> {
    let (date_time, zone) = text.split_once(' ').ok_or(Reject::BadTime)?;
    let mut parts = date_time.splitn(4, [':', '/']);
    let (Some(day), Some(month), Some(year), Some(clock)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Reject::BadTime);
    };
    let month = match month {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return Err(Reject::BadTime),
    };
    let day: u32 = day.parse().map_err(|_| Reject::BadTime)?;
    let year: i32 = year.parse().map_err(|_| Reject::BadTime)?;
    let date = NaiveDate::from_ymd_opt(year, month, day).ok_or(Reject::ImpossibleDate)?;
    let clock = parse_clock(clock).ok_or(Reject::BadTime)?;
    let offset = parse_offset(zone).ok_or(Reject::BadTime)?;
    offset
        .from_local_datetime(&date.and_time(clock))
        .single()
        .ok_or(Reject::BadTime)
}

/// `HH:MM:SS`; a hand-written reader because chrono's `parse_from_str` re-reads its
/// format string on every call, which showed in the ingest profile.
fn parse_clock(text: &str) -> Option<NaiveTime> {
    let b = text.as_bytes();
    if b.len() != 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let two = |i: usize| -> Option<u32> {
        let (h, l) = (b[i], b[i + 1]);
        (h.is_ascii_digit() && l.is_ascii_digit())
            .then(|| u32::from(h - b'0') * 10 + u32::from(l - b'0'))
    };
    NaiveTime::from_hms_opt(two(0)?, two(3)?, two(6)?)
}

/// `+0200` or `-0700`.
fn parse_offset(zone: &str) -> Option<FixedOffset> {
    let (sign, digits) = match zone.as_bytes().first()? {
        b'+' => (1, &zone[1..]),
        b'-' => (-1, &zone[1..]),
        _ => return None,
    };
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i32 = digits[..2].parse().ok()?;
    let minutes: i32 = digits[2..].parse().ok()?;
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

fn parse_ip(text: &str) -> Result<IpAddr, Reject> {
    // IPv6 may come bracketed.
    text.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .map_err(|_| Reject::BadIp)
}

/// The first language tag of an `Accept-Language`-like value, if it looks like one.
fn first_language(value: &str) -> Option<Cow<'static, str>> {
    let tag = value.split([',', ';']).next()?.trim();
    let ok = !tag.is_empty()
        && tag.len() <= 35
        && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    ok.then(|| Cow::Owned(tag.to_owned()))
}

fn optional(value: Cow<'_, str>) -> Option<Cow<'_, str>> {
    (value != "-" && !value.is_empty()).then_some(value)
}

/// The method and target of a request line `GET /path HTTP/1.1`.
fn request_words(request: &str) -> Result<(&str, &str), Reject> {
    let mut words = request.split(' ');
    let (Some(method), Some(target)) = (words.next(), words.next()) else {
        return Err(Reject::BadRequest);
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) || target.is_empty() {
        return Err(Reject::BadRequest);
    }
    Ok((method, target))
}

/// The last step of every parser: the path and referrer lose their query string and
/// fragment, then the card guard reads every text that is kept. A card number in a
/// query string (or in a field that is dropped) goes nowhere, so the record is kept;
/// one anywhere else rejects the line.
fn finish(mut record: LogRecord<'_>) -> Result<LogRecord<'_>, Reject> {
    record.path = strip_query(record.path);
    record.referrer = record.referrer.map(strip_query);
    refuse_cards(&record.method)?;
    refuse_cards(&record.path)?;
    for text in [
        &record.referrer,
        &record.user_agent,
        &record.user,
        &record.language,
    ]
    .into_iter()
    .flatten()
    {
        refuse_cards(text)?;
    }
    Ok(record)
}

/// A time as RFC 3339 (`2026-11-25T08:00:01.123Z`) or as the combined format's
/// `25/Nov/2026:08:00:01 +0000`.
fn parse_any_time(text: &str) -> Result<DateTime<FixedOffset>, Reject> {
    DateTime::parse_from_rfc3339(text).or_else(|_| parse_time(text))
}

/// Seconds since the epoch with a fraction (`1795980006.3636644`, nginx's `$msec`,
/// Caddy's `ts`), in UTC, to the microsecond (what a double holds of such a number).
fn epoch_seconds(seconds: f64) -> Result<DateTime<FixedOffset>, Reject> {
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(Reject::BadTime);
    }
    let whole = seconds.trunc();
    let micros = ((seconds - whole) * 1e6).round().min(999_999.0) as u32;
    DateTime::from_timestamp(whole as i64, micros * 1000)
        .map(|t| t.fixed_offset())
        .ok_or(Reject::BadTime)
}

/// The path of a request target that may be a whole URL (`http://host:80/a?b`, as
/// load balancers and proxies log it): from the first `/` after the authority.
fn path_of(target: Cow<'_, str>) -> Cow<'_, str> {
    let Some(scheme_end) = target.find("://") else {
        return target;
    };
    let after = scheme_end + 3;
    let start = target[after..].find('/').map(|i| after + i);
    match (target, start) {
        (Cow::Borrowed(t), Some(s)) => Cow::Borrowed(&t[s..]),
        (Cow::Owned(t), Some(s)) => Cow::Owned(t[s..].to_owned()),
        (_, None) => Cow::Borrowed("/"),
    }
}

/// The method and target of a request line, as borrowed or owned as the line was.
fn split_request(request: Cow<'_, str>) -> Result<(Cow<'_, str>, Cow<'_, str>), Reject> {
    Ok(match request {
        Cow::Borrowed(r) => {
            let (m, t) = request_words(r)?;
            (Cow::Borrowed(m), Cow::Borrowed(t))
        }
        Cow::Owned(r) => {
            let (m, t) = request_words(&r)?;
            (Cow::Owned(m.to_owned()), Cow::Owned(t.to_owned()))
        }
    })
}

/// A number that may come as a JSON number or string; `-` and empty are none.
fn count(text: &str) -> Result<Option<u64>, Reject> {
    match text {
        "-" | "" => Ok(None),
        n => n.parse().map(Some).map_err(|_| Reject::BadBytes),
    }
}

/// An HTTP status, 100 to 599, as text.
fn status(text: &str) -> Result<u16, Reject> {
    status_code(text.parse().map_err(|_| Reject::BadStatus)?)
}

/// An HTTP status, 100 to 599.
fn status_code(code: u64) -> Result<u16, Reject> {
    u16::try_from(code)
        .ok()
        .filter(|s| (100..=599).contains(s))
        .ok_or(Reject::BadStatus)
}

#[cfg(test)]
mod tests;
