//! The formats Datavow reads, a parser for each, and recognising a log's format from
//! its first lines.
//!
//! Invariants:
//! - Every format goes through the same last step ([`crate::parse`]'s `finish`): query
//!   strings and fragments cut, the card guard over every text kept.
//! - Recognition only chooses among the formats it is given, from lines it is shown;
//!   it never guesses a custom format string.

use crate::parse::{Clf, JsonShape, LogRecord, Reject, Template, W3c};
use std::sync::Arc;

/// A named log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// nginx's and Apache's `combined`.
    Combined,
    /// `combined` after the virtual host (Apache's `vhost_combined`).
    VCombined,
    /// NCSA common: no referrer, no user agent.
    Common,
    /// `common` after the virtual host.
    VCommon,
    /// One flat JSON object per line (nginx `escape=json`, web-tier events).
    Json,
    /// Caddy 2's JSON access log.
    Caddy,
    /// Traefik's JSON access log.
    Traefik,
    /// The W3C extended format (IIS and others), read by its `#Fields:` header.
    W3c,
    /// Amazon CloudFront's standard logs.
    Cloudfront,
    /// AWS Application and Classic Load Balancers.
    Elb,
    /// A format string given by the user.
    Custom,
}

impl Format {
    /// Every named format, in the order recognition prefers them on a tie.
    pub const NAMED: [Format; 10] = [
        Format::Combined,
        Format::VCombined,
        Format::Common,
        Format::VCommon,
        Format::Caddy,
        Format::Traefik,
        Format::Json,
        Format::Elb,
        Format::W3c,
        Format::Cloudfront,
    ];

    /// The JSON shapes, for bodies that are JSON by contract.
    pub const JSON: [Format; 3] = [Format::Caddy, Format::Traefik, Format::Json];

    /// The name as `--format` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Combined => "combined",
            Format::VCombined => "vcombined",
            Format::Common => "common",
            Format::VCommon => "vcommon",
            Format::Json => "json",
            Format::Caddy => "caddy",
            Format::Traefik => "traefik",
            Format::W3c => "w3c",
            Format::Cloudfront => "cloudfront",
            Format::Elb => "elb",
            Format::Custom => "custom",
        }
    }

    /// The reject reason of a line not of this shape.
    pub(crate) fn expected(self) -> &'static str {
        match self {
            Format::Combined => "unknown line shape: expected combined",
            Format::VCombined => "unknown line shape: expected vcombined",
            Format::Common => "unknown line shape: expected common",
            Format::VCommon => "unknown line shape: expected vcommon",
            Format::Json => {
                "unknown line shape: expected flat JSON fields (ip, time, path, status)"
            }
            Format::Caddy => "unknown line shape: expected caddy JSON",
            Format::Traefik => "unknown line shape: expected traefik JSON",
            Format::W3c => "unknown line shape: expected the W3C fields of the #Fields header",
            Format::Cloudfront => "unknown line shape: expected cloudfront fields",
            Format::Elb => "unknown line shape: expected an AWS load balancer line",
            Format::Custom => "unknown line shape: expected the given log format",
        }
    }
}

/// A parser for one format, with the state its lines need (a W3C log's fields). Cheap
/// to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineParser {
    Clf(Clf),
    Json(JsonShape),
    W3c(W3c),
    Elb,
    Custom(Arc<Template>),
}

impl LineParser {
    /// The parser of a named format; `None` for [`Format::Custom`].
    pub fn named(format: Format) -> Option<LineParser> {
        let clf = |vhost, agent| LineParser::Clf(Clf { vhost, agent });
        Some(match format {
            Format::Combined => clf(false, true),
            Format::VCombined => clf(true, true),
            Format::Common => clf(false, false),
            Format::VCommon => clf(true, false),
            Format::Json => LineParser::Json(JsonShape::Flat),
            Format::Caddy => LineParser::Json(JsonShape::Caddy),
            Format::Traefik => LineParser::Json(JsonShape::Traefik),
            Format::W3c => LineParser::W3c(W3c::iis()),
            Format::Cloudfront => LineParser::W3c(W3c::cloudfront()),
            Format::Elb => LineParser::Elb,
            Format::Custom => return None,
        })
    }

    /// A parser for a custom format string.
    pub fn custom(template: Template) -> LineParser {
        LineParser::Custom(Arc::new(template))
    }

    pub fn format(&self) -> Format {
        match self {
            LineParser::Clf(Clf { vhost, agent }) => match (vhost, agent) {
                (false, true) => Format::Combined,
                (true, true) => Format::VCombined,
                (false, false) => Format::Common,
                (true, false) => Format::VCommon,
            },
            LineParser::Json(JsonShape::Flat) => Format::Json,
            LineParser::Json(JsonShape::Caddy) => Format::Caddy,
            LineParser::Json(JsonShape::Traefik) => Format::Traefik,
            LineParser::W3c(w3c) => w3c.format(),
            LineParser::Elb => Format::Elb,
            LineParser::Custom(_) => Format::Custom,
        }
    }

    /// Parses one line. A line that is not UTF-8 (nginx's `escape=json` passes a
    /// client's invalid bytes through) is read with those bytes as U+FFFD.
    pub fn parse<'a>(&self, line: &'a [u8]) -> Result<LogRecord<'a>, Reject> {
        match self.parse_utf8(line) {
            Err(Reject::NotUtf8) => {
                let repaired = String::from_utf8_lossy(line).into_owned();
                self.parse_utf8(repaired.as_bytes())
                    .map(LogRecord::into_owned)
            }
            other => other,
        }
    }

    fn parse_utf8<'a>(&self, line: &'a [u8]) -> Result<LogRecord<'a>, Reject> {
        match self {
            LineParser::Clf(clf) => clf.parse(line),
            LineParser::Json(shape) => shape.parse(line),
            LineParser::W3c(w3c) => w3c.parse(line),
            LineParser::Elb => crate::parse::parse_elb(line),
            LineParser::Custom(template) => template.parse(line),
        }
    }

    /// Whether some lines of this format change how the lines after them are read.
    pub fn reads_directives(&self) -> bool {
        matches!(self, LineParser::W3c(_))
    }

    /// For a line that changes how the lines after it are read (a W3C `#Fields:`
    /// header), the parser for those lines.
    pub fn directive(&self, line: &[u8]) -> Option<LineParser> {
        match self {
            LineParser::W3c(w3c) if line.first() == Some(&b'#') => {
                w3c.directive(line).map(LineParser::W3c)
            }
            _ => None,
        }
    }
}

/// How many of the first lines recognition reads.
pub const SAMPLE_LINES: usize = 64;

/// Recognises the format of `lines` (the first lines of a log) among `candidates`:
/// the one that reads most of them, the earlier in `candidates` on a tie. `None` when
/// none reads any.
pub fn recognise(candidates: &[Format], lines: &[&[u8]]) -> Option<LineParser> {
    let sample: Vec<&[u8]> = lines
        .iter()
        .copied()
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .take(SAMPLE_LINES)
        .collect();
    let tabs = sample
        .iter()
        .any(|l| l.first() != Some(&b'#') && l.contains(&b'\t'));
    let mut best: Option<(usize, LineParser)> = None;
    for &format in candidates {
        // IIS separates W3C fields by spaces, CloudFront by tabs.
        if (format == Format::W3c && tabs) || (format == Format::Cloudfront && !tabs) {
            continue;
        }
        let Some(mut parser) = LineParser::named(format) else {
            continue;
        };
        let start = parser.clone();
        let mut read = 0;
        for line in &sample {
            if let Some(next) = parser.directive(line) {
                parser = next;
                continue;
            }
            if matches!(parser.parse(line), Ok(_) | Err(Reject::CardNumber)) {
                read += 1;
            }
        }
        if read > best.as_ref().map_or(0, |(n, _)| *n) {
            best = Some((read, start));
        }
    }
    best.map(|(_, parser)| parser)
}
