//! JSON access logs, one object per line, in three shapes:
//! - `json`: flat fields by name (`ip`, `time`, `method`, `path`, `status`, `bytes`,
//!   `referrer`, `user_agent`, `user_id`, `language`), nginx's variable names
//!   (`remote_addr`, `time_local`, `request_uri`, …) accepted too;
//! - `caddy`: Caddy 2's access log (`ts`, `request.{client_ip,remote_ip,method,uri,
//!   headers}`, `status`, `size`, `user_id`);
//! - `traefik`: Traefik's JSON access log (`ClientHost`, `StartUTC`, `RequestMethod`,
//!   `RequestPath`, `DownstreamStatus`, `DownstreamContentSize`, `ClientUsername` and
//!   the kept headers `request_User-Agent`, `request_Referer`, …).
//!
//! Text that is not JSON is rejected as such; JSON without the shape's fields is
//! rejected as "unknown line shape", naming the shape that was expected.

use super::{
    epoch_seconds, finish, first_language, optional, parse_any_time, parse_ip, path_of, LogRecord,
    Reject,
};
use crate::Format;
use serde::Deserialize;
use std::borrow::Cow;

/// Which JSON shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonShape {
    Flat,
    Caddy,
    Traefik,
}

impl JsonShape {
    fn format(self) -> Format {
        match self {
            JsonShape::Flat => Format::Json,
            JsonShape::Caddy => Format::Caddy,
            JsonShape::Traefik => Format::Traefik,
        }
    }

    /// Parses one line.
    pub fn parse(self, line: &[u8]) -> Result<LogRecord<'_>, Reject> {
        let text = super::admit(line)?;
        match self {
            JsonShape::Flat => flat(text),
            JsonShape::Caddy => caddy(text),
            JsonShape::Traefik => traefik(text),
        }
    }
}

/// Deserialises `text`, telling "not JSON" from "JSON of another shape".
fn read<'a, T: Deserialize<'a>>(text: &'a str, shape: JsonShape) -> Result<T, Reject> {
    serde_json::from_str(text).map_err(|err| match err.classify() {
        serde_json::error::Category::Data => Reject::Shape(shape.format()),
        _ => Reject::NotJson,
    })
}

/// A number given as a JSON number or as text. Read with a visitor rather than an
/// untagged enum, which buffers every value first (it showed in the ingest profile).
enum Number {
    Int(u64),
    Float(f64),
    Text(String),
}

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Number;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number or a string")
            }
            fn visit_u64<E>(self, n: u64) -> Result<Number, E> {
                Ok(Number::Int(n))
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Number, E> {
                Ok(Number::Float(n as f64))
            }
            fn visit_f64<E>(self, n: f64) -> Result<Number, E> {
                Ok(Number::Float(n))
            }
            fn visit_str<E>(self, s: &str) -> Result<Number, E> {
                Ok(Number::Text(s.to_owned()))
            }
        }
        d.deserialize_any(V)
    }
}

/// Text that borrows from the line when it holds no escape.
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

/// The first value of a header as Caddy logs it, a list of strings.
#[derive(Default)]
struct First<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for First<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = First<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of strings")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<First<'de>, A::Error> {
                let first = seq.next_element::<Text<'de>>()?.map(|t| t.0);
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(First(first))
            }
        }
        d.deserialize_seq(V)
    }
}

impl Number {
    fn count(&self, bad: Reject) -> Result<Option<u64>, Reject> {
        match self {
            Number::Int(n) => Ok(Some(*n)),
            Number::Float(f) if *f >= 0.0 && f.fract() == 0.0 => Ok(Some(*f as u64)),
            Number::Float(_) => Err(bad),
            Number::Text(t) => super::count(t).map_err(|_| bad),
        }
    }

    fn status(&self) -> Result<u16, Reject> {
        super::status_code(self.count(Reject::BadStatus)?.ok_or(Reject::BadStatus)?)
    }
}

#[derive(Deserialize)]
struct FlatLine<'a> {
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
    #[serde(borrow, alias = "request_method")]
    method: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "request_uri", alias = "uri", alias = "url")]
    path: Cow<'a, str>,
    status: Number,
    #[serde(alias = "body_bytes_sent", alias = "bytes_sent", alias = "size")]
    bytes: Option<Number>,
    #[serde(borrow, alias = "http_referer", alias = "referer")]
    referrer: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "http_user_agent")]
    user_agent: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "remote_user", alias = "user")]
    user_id: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "accept_language", alias = "http_accept_language")]
    language: Option<Cow<'a, str>>,
}

fn flat(text: &str) -> Result<LogRecord<'_>, Reject> {
    let raw: FlatLine = read(text, JsonShape::Flat)?;
    finish(LogRecord {
        ip: parse_ip(&raw.ip)?,
        time: parse_any_time(&raw.time)?,
        method: raw.method.unwrap_or(Cow::Borrowed("GET")),
        path: path_of(raw.path),
        status: raw.status.status()?,
        bytes: raw.bytes.map_or(Ok(None), |b| b.count(Reject::BadBytes))?,
        referrer: raw.referrer.and_then(optional),
        user_agent: raw.user_agent.and_then(optional),
        user: raw.user_id.and_then(optional),
        language: raw.language.and_then(|l| first_language(&l)),
    })
}

#[derive(Deserialize)]
struct CaddyLine<'a> {
    /// Seconds since the epoch (Caddy's default) or a time as text (`time_format`).
    ts: Number,
    #[serde(borrow)]
    request: CaddyRequest<'a>,
    #[serde(borrow, default)]
    user_id: Option<Cow<'a, str>>,
    status: u16,
    size: Option<u64>,
}

#[derive(Deserialize)]
struct CaddyRequest<'a> {
    /// The client as Caddy judged it behind trusted proxies (Caddy 2.7 and later).
    #[serde(borrow, default)]
    client_ip: Option<Cow<'a, str>>,
    #[serde(borrow)]
    remote_ip: Cow<'a, str>,
    #[serde(borrow)]
    method: Cow<'a, str>,
    #[serde(borrow)]
    uri: Cow<'a, str>,
    #[serde(borrow, default)]
    headers: CaddyHeaders<'a>,
}

/// The request headers Datavow reads; Caddy logs each as a list of values.
#[derive(Deserialize, Default)]
struct CaddyHeaders<'a> {
    #[serde(borrow, rename = "User-Agent", default)]
    user_agent: First<'a>,
    #[serde(borrow, rename = "Referer", default)]
    referer: First<'a>,
    #[serde(borrow, rename = "Accept-Language", default)]
    accept_language: First<'a>,
}

fn caddy(text: &str) -> Result<LogRecord<'_>, Reject> {
    let raw: CaddyLine = read(text, JsonShape::Caddy)?;
    let time = match &raw.ts {
        Number::Int(s) => epoch_seconds(*s as f64)?,
        Number::Float(s) => epoch_seconds(*s)?,
        Number::Text(t) => parse_any_time(t)?,
    };
    let client = raw.request.client_ip.unwrap_or(raw.request.remote_ip);
    let headers = raw.request.headers;
    let status = super::status_code(raw.status.into())?;
    finish(LogRecord {
        ip: parse_ip(&client)?,
        time,
        method: raw.request.method,
        path: raw.request.uri,
        status,
        bytes: raw.size,
        referrer: headers.referer.0.and_then(optional),
        user_agent: headers.user_agent.0.and_then(optional),
        user: raw.user_id.and_then(optional),
        language: headers.accept_language.0.and_then(|l| first_language(&l)),
    })
}

#[derive(Deserialize)]
#[allow(non_snake_case, reason = "Traefik's field names")]
struct TraefikLine<'a> {
    #[serde(borrow)]
    ClientHost: Cow<'a, str>,
    /// `StartLocal` and logrus's `time` are fallbacks (fields can be dropped).
    #[serde(borrow, default)]
    StartUTC: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    StartLocal: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    time: Option<Cow<'a, str>>,
    #[serde(borrow)]
    RequestMethod: Cow<'a, str>,
    #[serde(borrow)]
    RequestPath: Cow<'a, str>,
    DownstreamStatus: u16,
    DownstreamContentSize: Option<u64>,
    #[serde(borrow, default)]
    ClientUsername: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "request_User-Agent", default)]
    user_agent: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "request_Referer", default)]
    referer: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "request_Accept-Language", default)]
    accept_language: Option<Cow<'a, str>>,
}

fn traefik(text: &str) -> Result<LogRecord<'_>, Reject> {
    let raw: TraefikLine = read(text, JsonShape::Traefik)?;
    let status = super::status_code(raw.DownstreamStatus.into())?;
    finish(LogRecord {
        ip: parse_ip(&raw.ClientHost)?,
        time: parse_any_time(
            &raw.StartUTC
                .or(raw.StartLocal)
                .or(raw.time)
                .ok_or(Reject::Shape(Format::Traefik))?,
        )?,
        method: raw.RequestMethod,
        path: path_of(raw.RequestPath),
        status,
        bytes: raw.DownstreamContentSize,
        referrer: raw.referer.and_then(optional),
        user_agent: raw.user_agent.and_then(optional),
        user: raw.ClientUsername.and_then(optional),
        language: raw.accept_language.and_then(|l| first_language(&l)),
    })
}

/// Parses one JSON line of the flat shape (see the module's documentation).
pub fn parse_json(line: &[u8]) -> Result<LogRecord<'_>, Reject> {
    JsonShape::Flat.parse(line)
}
