//! AWS load balancers' access logs: the Application Load Balancer's (lines start with
//! the request type: `http`, `https`, `h2`, `grpcs`, `ws`, `wss`) and the Classic Load
//! Balancer's (lines start with the time).
//!
//! `[type] time elb client:port target:port t1 t2 t3 elb_status target_status
//! received_bytes sent_bytes "METHOD scheme://host:port/path PROTOCOL" "user agent" …`.
//! There is no referrer. A request line of `- - -` (a TCP listener) is not an HTTP
//! request and is rejected as such.

use super::{finish, optional, parse_ip, path_of, quoted, split_request, LogRecord, Reject};
use crate::Format;

/// The request types an ALB line starts with.
const ALB_TYPES: [&str; 6] = ["http", "https", "h2", "grpcs", "ws", "wss"];

/// Parses one line.
pub(crate) fn parse_elb(line: &[u8]) -> Result<LogRecord<'_>, Reject> {
    let text = super::admit(line)?;
    let shape = Reject::Shape(Format::Elb);
    let mut rest = text;
    let mut word = || -> Result<&str, Reject> {
        let (w, r) = rest.split_once(' ').ok_or(shape)?;
        rest = r;
        Ok(w)
    };
    let mut time = word()?;
    if ALB_TYPES.contains(&time) {
        time = word()?;
    }
    let time = chrono::DateTime::parse_from_rfc3339(time).map_err(|_| Reject::BadTime)?;
    let _balancer = word()?;
    let ip = client_address(word()?)?;
    let _target = word()?;
    for _ in 0..3 {
        word()?; // processing times
    }
    let status = super::status(word()?)?;
    let _target_status = word()?;
    let _received = word()?;
    let sent = super::count(word()?)?;
    let (request, after) = quoted(rest)?;
    let (method, target) = split_request(request)?;
    let (user_agent, _) = quoted(after.trim_start())?;
    finish(LogRecord {
        ip,
        time,
        method,
        path: path_of(target),
        status,
        bytes: sent,
        referrer: None,
        user_agent: optional(user_agent),
        user: None,
        language: None,
    })
}

/// `192.0.2.1:2817`, `[2001:db8::1]:2817` or `2001:db8::1:2817` (the port after the
/// last colon).
fn client_address(text: &str) -> Result<std::net::IpAddr, Reject> {
    if let Some(bracketed) = text.strip_prefix('[') {
        let (ip, _) = bracketed.split_once(']').ok_or(Reject::BadIp)?;
        return parse_ip(ip);
    }
    let (ip, port) = text.rsplit_once(':').ok_or(Reject::BadIp)?;
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Reject::BadIp);
    }
    parse_ip(ip)
}
