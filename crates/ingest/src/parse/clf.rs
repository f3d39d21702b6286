//! The NCSA family: `common`, `combined`, and their virtual-host forms.
//!
//! `[vhost[:port] ]host ident user [day/Mon/year:HH:MM:SS zone] "request" status bytes
//! ["referrer" "user agent"] [anything more]`. Quoted fields may hold `\"` and `\\`
//! (Apache) or `\xHH` (nginx). Fields after the last one the format names (request
//! times, Traefik's router) are ignored.

use super::{finish, optional, parse_ip, parse_time, quoted, split_request, LogRecord, Reject};
use std::borrow::Cow;

/// Which member of the family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clf {
    /// Lines start with the virtual host (`%v:%p`), as Debian's `vhost_combined`.
    pub vhost: bool,
    /// Referrer and user agent follow the byte count (`combined`); without them,
    /// `common`.
    pub agent: bool,
}

impl Clf {
    pub const COMBINED: Clf = Clf {
        vhost: false,
        agent: true,
    };

    /// Parses one line.
    pub fn parse(self, line: &[u8]) -> Result<LogRecord<'_>, Reject> {
        let mut text = super::admit(line)?;
        if self.vhost {
            text = text
                .split_once(' ')
                .map(|(_, rest)| rest)
                .ok_or(Reject::MissingField)?;
        }
        let (host, rest) = text.split_once(' ').ok_or(Reject::MissingField)?;
        let ip = parse_ip(host)?;
        let open = rest.find('[').ok_or(Reject::BadTime)?;
        // `ident user ` before the time; the user may not contain spaces.
        let user = rest[..open]
            .split_whitespace()
            .nth(1)
            .map(Cow::Borrowed)
            .and_then(optional);
        let close = rest[open..].find(']').ok_or(Reject::BadTime)? + open;
        let time = parse_time(&rest[open + 1..close])?;
        let rest = rest[close + 1..].trim_start();
        let (request, rest) = quoted(rest)?;
        let (method, target) = split_request(request)?;
        let mut fields = rest.trim_start().splitn(3, ' ');
        let status = fields
            .next()
            .ok_or(Reject::MissingField)
            .and_then(super::status)?;
        let bytes = match fields.next() {
            Some(n) => super::count(n)?,
            None => return Err(Reject::MissingField),
        };
        let (referrer, user_agent) = if self.agent {
            let rest = fields.next().unwrap_or("").trim_start();
            let (referrer, rest) = quoted(rest)?;
            let (user_agent, _) = quoted(rest.trim_start())?;
            (optional(referrer), optional(user_agent))
        } else {
            (None, None)
        };
        finish(LogRecord {
            ip,
            time,
            method,
            path: target,
            status,
            bytes,
            referrer,
            user_agent,
            user,
            language: None,
        })
    }
}

/// Parses one line of the nginx/Apache combined format.
pub fn parse_combined(line: &[u8]) -> Result<LogRecord<'_>, Reject> {
    Clf::COMBINED.parse(line)
}
