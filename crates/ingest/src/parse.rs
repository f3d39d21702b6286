//! Parsers for the nginx/Apache "combined" format and for JSON lines.
//!
//! Combined: `host ident user [day/Mon/year:HH:MM:SS zone] "request" status bytes
//! "referrer" "user agent"`. Quoted fields may hold `\"` (Apache) or `\x22` (nginx).
//! JSON lines carry the same fields by name (see [`parse_json`]).
//!
//! Written by hand rather than with a regex: a single pass over the bytes with no
//! allocation for fields that are dropped keeps ingest fast, and the format is small.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeZone};
use datavow_policy::card_guard::contains_card_number;
use serde::Deserialize;
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
    BadJson,
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
            Reject::BadJson => "bad JSON",
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

/// The card-number guard (P4) over `text`, also with percent-encoded separators
/// (%20, %2D) decoded, since they could hide a number from it.
fn refuse_cards(text: &str) -> Result<(), Reject> {
    if contains_card_number(text) {
        return Err(Reject::CardNumber);
    }
    if text.contains("%2") {
        let decoded = text
            .replace("%20", " ")
            .replace("%2D", "-")
            .replace("%2d", "-");
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

/// Parses one line of the nginx/Apache combined format.
pub fn parse_combined(line: &[u8]) -> Result<LogRecord<'_>, Reject> {
    let text = admit(line)?;
    // The card guard reads every field but the address and the time, which are parsed
    // strictly below (a line whose address or time is no such thing is dropped whole).
    // They are a quarter of a line and most of its digits.
    let (host, rest) = text.split_once(' ').ok_or(Reject::MissingField)?;
    let ip = parse_ip(host)?;
    let open = rest.find('[').ok_or(Reject::BadTime)?;
    refuse_cards(&rest[..open])?;
    // `ident user ` before the time; the user may not contain spaces.
    let user = rest[..open]
        .split_whitespace()
        .nth(1)
        .map(Cow::Borrowed)
        .and_then(optional);
    let close = rest[open..].find(']').ok_or(Reject::BadTime)? + open;
    let time = parse_time(&rest[open + 1..close])?;
    let rest = rest[close + 1..].trim_start();
    refuse_cards(rest)?;
    let (request, rest) = quoted(rest)?;
    let (method, target) = match request {
        Cow::Borrowed(r) => {
            let (m, t) = request_words(r)?;
            (Cow::Borrowed(m), Cow::Borrowed(t))
        }
        Cow::Owned(r) => {
            let (m, t) = request_words(&r)?;
            (Cow::Owned(m.to_owned()), Cow::Owned(t.to_owned()))
        }
    };
    let mut fields = rest.trim_start().splitn(3, ' ');
    let status: u16 = fields
        .next()
        .and_then(|s| s.parse().ok())
        .filter(|s| (100..=599).contains(s))
        .ok_or(Reject::BadStatus)?;
    let bytes = match fields.next() {
        Some("-") => None,
        Some(n) => Some(n.parse().map_err(|_| Reject::BadBytes)?),
        None => return Err(Reject::MissingField),
    };
    let rest = fields.next().unwrap_or("").trim_start();
    let (referrer, rest) = quoted(rest)?;
    let (user_agent, _) = quoted(rest.trim_start())?;
    Ok(LogRecord {
        ip,
        time,
        method,
        path: strip_query(target),
        status,
        bytes,
        referrer: optional(referrer).map(strip_query),
        user_agent: optional(user_agent),
        user,
        language: None,
    })
}

#[derive(Deserialize)]
struct JsonLine<'a> {
    #[serde(borrow, alias = "remote_addr", alias = "client_ip")]
    ip: Cow<'a, str>,
    /// RFC 3339, or the combined format's `10/Oct/2000:13:55:36 -0700`.
    #[serde(
        borrow,
        alias = "time_local",
        alias = "time_iso8601",
        alias = "timestamp"
    )]
    time: Cow<'a, str>,
    #[serde(borrow)]
    method: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "request_uri", alias = "uri")]
    path: Cow<'a, str>,
    status: serde_json::Value,
    #[serde(alias = "body_bytes_sent")]
    bytes: Option<serde_json::Value>,
    #[serde(borrow, alias = "http_referer", alias = "referer")]
    referrer: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "http_user_agent")]
    user_agent: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "remote_user", alias = "user")]
    user_id: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "accept_language", alias = "http_accept_language")]
    language: Option<Cow<'a, str>>,
}

/// Parses one JSON line with the fields `ip`, `time`, `method`, `path`, `status`,
/// `bytes`, `referrer`, `user_agent` (nginx's `remote_addr`, `time_local`,
/// `request_uri`, `body_bytes_sent`, `http_referer`, `http_user_agent` too).
pub fn parse_json(line: &[u8]) -> Result<LogRecord<'_>, Reject> {
    let text = admit(line)?;
    refuse_cards(text)?;
    let raw: JsonLine = serde_json::from_str(text).map_err(|_| Reject::BadJson)?;
    let time = DateTime::parse_from_rfc3339(&raw.time).or_else(|_| parse_time(&raw.time))?;
    let number = |v: &serde_json::Value| match v {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.parse().ok(),
        _ => None,
    };
    let status = number(&raw.status)
        .and_then(|s| u16::try_from(s).ok())
        .filter(|s| (100..=599).contains(s))
        .ok_or(Reject::BadStatus)?;
    let bytes = match &raw.bytes {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) if s == "-" => None,
        Some(v) => Some(number(v).ok_or(Reject::BadBytes)?),
    };
    Ok(LogRecord {
        ip: parse_ip(&raw.ip)?,
        time,
        method: raw.method.unwrap_or_else(|| "GET".into()),
        path: strip_query(raw.path),
        status,
        bytes,
        referrer: raw.referrer.and_then(optional).map(strip_query),
        user_agent: raw.user_agent.and_then(optional),
        user: raw.user_id.and_then(optional),
        language: raw.language.and_then(|l| first_language(&l)),
    })
}

#[cfg(test)]
mod tests;
