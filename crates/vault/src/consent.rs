//! How a person's marketing consent is written in the `marketing_consent` field (P11):
//! `opted_in@TIME` or `opted_out@TIME` (RFC 3339, seconds). The vault reads it to
//! refuse a purpose that needs consent for a person who has not given it.

use crate::Personal;
use chrono::{DateTime, Utc};

/// The field's value for a choice made at `at`.
pub fn value(opt_in: bool, at: DateTime<Utc>) -> Personal {
    let state = if opt_in { "opted_in" } else { "opted_out" };
    Personal::new(format!(
        "{state}@{}",
        at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    ))
}

/// The choice and when it was made, from a stored value.
pub fn parse(value: &str) -> (bool, Option<&str>) {
    let (state, at) = value.split_once('@').unwrap_or((value, ""));
    (state == "opted_in", (!at.is_empty()).then_some(at))
}

/// Whether a stored value says "in".
pub fn is_given(value: &str) -> bool {
    parse(value).0
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_an_opt_in_counts_as_consent() {
        let now = chrono::Utc::now();
        assert!(super::is_given(super::value(true, now).expose()));
        assert!(!super::is_given(super::value(false, now).expose()));
        assert!(!super::is_given(""));
        assert!(!super::is_given("opted_in_maybe@x"));
    }
}
