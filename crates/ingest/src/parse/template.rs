//! Custom line shapes from a web server's own format string: an nginx `log_format`
//! (`$remote_addr - $remote_user [$time_local] "$request" …`) or an Apache `LogFormat`
//! (`%h %l %u %t "%r" %>s %b …`).
//!
//! A format string compiles to literals and fields. A line is read left to right: each
//! literal must be where the format puts it; a field runs to the next literal (a field
//! between quotes runs to the next unescaped quote, with nginx's `\xHH` and Apache's
//! backslash escapes undone). Text after the last literal is ignored, as servers append
//! fields. Fields Datavow does not keep are read past; two fields with nothing
//! between them cannot be told apart and are refused when the format is compiled.

use super::{
    epoch_seconds, finish, first_language, optional, parse_ip, parse_time, path_of, quoted,
    split_request, LogRecord, Reject,
};
use crate::Format;
use chrono::{DateTime, FixedOffset, NaiveDateTime};
use std::borrow::Cow;

/// What a field of the format holds.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Var {
    /// The client address.
    Ip,
    /// A list of addresses (`X-Forwarded-For`); the first is the client.
    IpList,
    User,
    /// `25/Nov/2026:08:00:01 +0000`, with (`%t`) or without (`$time_local`) brackets.
    ClfTime,
    /// RFC 3339 (`$time_iso8601`).
    IsoTime,
    /// Seconds with a fraction (`$msec`).
    EpochSeconds,
    /// Whole seconds, milliseconds or microseconds (`%{sec}t`, `%{msec}t`, `%{usec}t`).
    EpochUnits(u32),
    /// An strftime format (`%{%Y-%m-%d %H:%M:%S %z}t`); UTC when it has no zone.
    Strftime(String),
    /// `GET /path HTTP/1.1`.
    Request,
    Method,
    /// The path, with or without its query string.
    Path,
    /// The query string (`%q`, `$is_args$args`): read as part of a path right before it,
    /// skipped elsewhere.
    Query,
    Status,
    Bytes,
    Referrer,
    Agent,
    Language,
    Skip,
}

/// What the format must name for a record to be made of its lines.
/// Whether a field holds one of the things a record needs.
type Names = fn(&Var) -> bool;

const REQUIRED: [(&str, Names); 4] = [
    ("the client address", |v| matches!(v, Var::Ip | Var::IpList)),
    ("the time", |v| {
        matches!(
            v,
            Var::ClfTime | Var::IsoTime | Var::EpochSeconds | Var::EpochUnits(_) | Var::Strftime(_)
        )
    }),
    ("the request or its path", |v| {
        matches!(v, Var::Request | Var::Path)
    }),
    ("the status", |v| matches!(v, Var::Status)),
];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Literal(String),
    Field(Var),
}

/// A compiled format string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    items: Vec<Item>,
}

/// Why a format string cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("the format string is empty")]
    Empty,
    #[error("the format string mixes nginx variables ($…) and Apache directives (%…)")]
    Mixed,
    #[error("the format string has neither nginx variables ($…) nor Apache directives (%…)")]
    NoFields,
    #[error("the format string ends inside a directive: {0}")]
    Unfinished(String),
    #[error("two fields with nothing between them cannot be told apart: {0}")]
    Adjacent(String),
    #[error("the format names no field for {0}")]
    Missing(&'static str),
}

impl Template {
    /// Compiles an nginx `log_format` or Apache `LogFormat` string (told apart by its
    /// `$` or `%`). Apache's `\"` may be given as written in its configuration.
    pub fn new(format: &str) -> Result<Template, TemplateError> {
        if format.trim().is_empty() {
            return Err(TemplateError::Empty);
        }
        let nginx = format
            .as_bytes()
            .windows(2)
            .any(|w| w[0] == b'$' && (w[1].is_ascii_alphabetic() || w[1] == b'{'));
        let apache = format.contains('%');
        let items = match (nginx, apache) {
            (true, true) => return Err(TemplateError::Mixed),
            (true, false) => nginx_items(format)?,
            (false, true) => apache_items(&format.replace("\\\"", "\"").replace("\\t", "\t"))?,
            (false, false) => return Err(TemplateError::NoFields),
        };
        let template = Template {
            items: absorb_queries(items),
        };
        template.check()?;
        Ok(template)
    }

    fn check(&self) -> Result<(), TemplateError> {
        let vars: Vec<&Var> = self
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Field(v) => Some(v),
                Item::Literal(_) => None,
            })
            .collect();
        for (what, names_it) in REQUIRED {
            if !vars.iter().any(|v| names_it(v)) {
                return Err(TemplateError::Missing(what));
            }
        }
        for pair in self.items.windows(2) {
            if let [Item::Field(a), Item::Field(b)] = pair {
                return Err(TemplateError::Adjacent(format!("{a:?} then {b:?}")));
            }
        }
        Ok(())
    }

    /// Parses one line.
    pub fn parse<'a>(&self, line: &'a [u8]) -> Result<LogRecord<'a>, Reject> {
        let text = super::admit(line)?;
        let shape = Reject::Shape(Format::Custom);
        let mut fields = Fields::default();
        let mut pos = 0;
        for (i, item) in self.items.iter().enumerate() {
            match item {
                Item::Literal(literal) => {
                    if !text[pos..].starts_with(literal.as_str()) {
                        return Err(shape);
                    }
                    pos += literal.len();
                }
                Item::Field(var) => {
                    let next = match self.items.get(i + 1) {
                        Some(Item::Literal(l)) => Some(l.as_str()),
                        _ => None,
                    };
                    let in_quotes =
                        text[..pos].ends_with('"') && next.is_some_and(|n| n.starts_with('"'));
                    let (value, end) = if in_quotes {
                        let (value, rest) = quoted(&text[pos - 1..])?;
                        (value, text.len() - rest.len() - 1)
                    } else if *var == Var::ClfTime && text[pos..].starts_with('[') {
                        let close = text[pos..].find(']').ok_or(Reject::BadTime)? + pos;
                        (Cow::Borrowed(&text[pos + 1..close]), close + 1)
                    } else {
                        let end = match next {
                            Some(n) => text[pos..].find(n).ok_or(shape)? + pos,
                            None => text.len(),
                        };
                        (Cow::Borrowed(&text[pos..end]), end)
                    };
                    fields.set(var, value)?;
                    pos = end;
                }
            }
        }
        fields.record()
    }
}

/// The values read from one line.
#[derive(Default)]
struct Fields<'a> {
    ip: Option<std::net::IpAddr>,
    time: Option<DateTime<FixedOffset>>,
    method: Option<Cow<'a, str>>,
    path: Option<Cow<'a, str>>,
    status: Option<u16>,
    bytes: Option<u64>,
    referrer: Option<Cow<'a, str>>,
    agent: Option<Cow<'a, str>>,
    user: Option<Cow<'a, str>>,
    language: Option<Cow<'a, str>>,
}

impl<'a> Fields<'a> {
    fn set(&mut self, var: &Var, value: Cow<'a, str>) -> Result<(), Reject> {
        match var {
            Var::Ip => self.ip = Some(parse_ip(&value)?),
            Var::IpList => {
                let first = value.split(',').next().unwrap_or("").trim();
                // Behind no proxy, nginx writes `-`: the address comes from elsewhere.
                if first != "-" && !first.is_empty() {
                    self.ip = Some(parse_ip(first)?);
                }
            }
            Var::User => self.user = optional(value),
            Var::ClfTime => self.time = Some(parse_time(&value)?),
            Var::IsoTime => {
                self.time =
                    Some(DateTime::parse_from_rfc3339(&value).map_err(|_| Reject::BadTime)?);
            }
            Var::EpochSeconds => {
                let seconds: f64 = value.parse().map_err(|_| Reject::BadTime)?;
                self.time = Some(epoch_seconds(seconds)?);
            }
            Var::EpochUnits(per_second) => {
                let units: u64 = value.parse().map_err(|_| Reject::BadTime)?;
                let seconds = units / u64::from(*per_second);
                let nanos =
                    (units % u64::from(*per_second)) * (1_000_000_000 / u64::from(*per_second));
                self.time = Some(
                    DateTime::from_timestamp(
                        i64::try_from(seconds).map_err(|_| Reject::BadTime)?,
                        u32::try_from(nanos).map_err(|_| Reject::BadTime)?,
                    )
                    .ok_or(Reject::BadTime)?
                    .fixed_offset(),
                );
            }
            Var::Strftime(format) => {
                let time = DateTime::parse_from_str(&value, format).or_else(|_| {
                    NaiveDateTime::parse_from_str(&value, format)
                        .map(|t| t.and_utc().fixed_offset())
                });
                self.time = Some(time.map_err(|_| Reject::BadTime)?);
            }
            Var::Request => {
                let (method, target) = split_request(value)?;
                self.method = Some(method);
                self.path = Some(path_of(target));
            }
            Var::Method => self.method = optional(value),
            Var::Path => self.path = Some(path_of(value)),
            Var::Status => self.status = Some(super::status(&value)?),
            Var::Bytes => self.bytes = super::count(&value)?,
            Var::Referrer => self.referrer = optional(value),
            Var::Agent => self.agent = optional(value),
            Var::Language => self.language = first_language(&value),
            Var::Query | Var::Skip => {}
        }
        Ok(())
    }

    fn record(self) -> Result<LogRecord<'a>, Reject> {
        finish(LogRecord {
            ip: self.ip.ok_or(Reject::BadIp)?,
            time: self.time.ok_or(Reject::BadTime)?,
            method: self.method.unwrap_or(Cow::Borrowed("GET")),
            path: self.path.ok_or(Reject::BadRequest)?,
            status: self.status.ok_or(Reject::BadStatus)?,
            bytes: self.bytes,
            referrer: self.referrer,
            user_agent: self.agent,
            user: self.user,
            language: self.language,
        })
    }
}

/// A query field right after the path (`%U%q`) becomes part of the path's field, which
/// then runs to the next literal; elsewhere it is skipped like any other field.
fn absorb_queries(items: Vec<Item>) -> Vec<Item> {
    let mut out: Vec<Item> = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Item::Field(Var::Query) => {
                if !matches!(out.last(), Some(Item::Field(Var::Path))) {
                    out.push(Item::Field(Var::Skip));
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// Adds a literal, joining it to a literal before it.
fn push_literal(items: &mut Vec<Item>, text: &str) {
    if text.is_empty() {
        return;
    }
    if let Some(Item::Literal(last)) = items.last_mut() {
        last.push_str(text);
    } else {
        items.push(Item::Literal(text.to_owned()));
    }
}

/// nginx's variables, by name.
fn nginx_var(name: &str) -> Var {
    match name {
        "remote_addr" | "realip_remote_addr" | "binary_remote_addr_text" => Var::Ip,
        "http_x_forwarded_for" | "proxy_add_x_forwarded_for" => Var::IpList,
        "remote_user" => Var::User,
        "time_local" => Var::ClfTime,
        "time_iso8601" => Var::IsoTime,
        "msec" => Var::EpochSeconds,
        "request" => Var::Request,
        "request_method" => Var::Method,
        "request_uri" | "uri" | "document_uri" => Var::Path,
        "is_args" | "args" | "query_string" => Var::Query,
        "status" => Var::Status,
        "body_bytes_sent" | "bytes_sent" => Var::Bytes,
        "http_referer" => Var::Referrer,
        "http_user_agent" => Var::Agent,
        "http_accept_language" => Var::Language,
        _ => Var::Skip,
    }
}

fn nginx_items(format: &str) -> Result<Vec<Item>, TemplateError> {
    let mut items = Vec::new();
    let mut rest = format;
    while let Some(dollar) = rest.find('$') {
        let after = &rest[dollar + 1..];
        let (name, tail) = if let Some(braced) = after.strip_prefix('{') {
            let close = braced
                .find('}')
                .ok_or_else(|| TemplateError::Unfinished(format!("${{{braced}")))?;
            (&braced[..close], &braced[close + 1..])
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        if name.is_empty() {
            // A lone `$` is text.
            push_literal(&mut items, &rest[..=dollar]);
            rest = after;
            continue;
        }
        push_literal(&mut items, &rest[..dollar]);
        items.push(Item::Field(nginx_var(&name.to_ascii_lowercase())));
        rest = tail;
    }
    push_literal(&mut items, rest);
    Ok(items)
}

/// Apache's directive letter with its `{argument}`.
fn apache_var(letter: &str, argument: Option<&str>) -> Var {
    let header = argument.map(str::to_ascii_lowercase);
    match (letter, header.as_deref()) {
        ("h" | "a", _) => Var::Ip,
        ("i", Some("x-forwarded-for")) => Var::IpList,
        ("i", Some("referer" | "referrer")) => Var::Referrer,
        ("i", Some("user-agent")) => Var::Agent,
        ("i", Some("accept-language")) => Var::Language,
        ("u", _) => Var::User,
        ("t", None) => Var::ClfTime,
        ("t", Some(arg)) => {
            let arg = arg
                .strip_prefix("begin:")
                .or_else(|| arg.strip_prefix("end:"))
                .unwrap_or(arg);
            match arg {
                "sec" => Var::EpochUnits(1),
                "msec" => Var::EpochUnits(1_000),
                "usec" => Var::EpochUnits(1_000_000),
                // The original case matters for strftime.
                _ => Var::Strftime(
                    argument
                        .map(|a| a.trim_start_matches("begin:").trim_start_matches("end:"))
                        .unwrap_or_default()
                        .to_owned(),
                ),
            }
        }
        ("r", _) => Var::Request,
        ("m", _) => Var::Method,
        ("U", _) => Var::Path,
        ("q", _) => Var::Query,
        ("s", _) => Var::Status,
        ("b" | "B" | "O", _) => Var::Bytes,
        _ => Var::Skip,
    }
}

fn apache_items(format: &str) -> Result<Vec<Item>, TemplateError> {
    let mut items = Vec::new();
    let mut rest = format;
    while let Some(percent) = rest.find('%') {
        push_literal(&mut items, &rest[..percent]);
        let mut after = &rest[percent + 1..];
        if let Some(tail) = after.strip_prefix('%') {
            push_literal(&mut items, "%");
            rest = tail;
            continue;
        }
        // Conditions (`!200,304`) and `<`/`>` (original or final request).
        after = after.trim_start_matches(|c: char| {
            c.is_ascii_digit() || c == ',' || c == '!' || c == '<' || c == '>'
        });
        let mut argument = None;
        if let Some(braced) = after.strip_prefix('{') {
            let close = braced
                .find('}')
                .ok_or_else(|| TemplateError::Unfinished(format!("%{{{braced}")))?;
            argument = Some(&braced[..close]);
            after = &braced[close + 1..];
        }
        let letter_len = if after.starts_with("^t") { 3 } else { 1 };
        let letter = after
            .get(..letter_len)
            .filter(|l| l.chars().all(|c| c.is_ascii_alphabetic() || c == '^'))
            .ok_or_else(|| TemplateError::Unfinished(rest[percent..].to_owned()))?;
        items.push(Item::Field(apache_var(letter, argument)));
        rest = &after[letter_len..];
    }
    push_literal(&mut items, rest);
    Ok(items)
}
