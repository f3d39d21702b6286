//! How a person's marketing consent is written in the `marketing_consent` field (P11):
//! in or out, when, how and under which policy version, as
//! `opted_in@2026-11-29T10:00:00Z;how=dashboard;policy=2018-05-18`. Values written
//! before the `how` and `policy` parts existed (`opted_out@TIME`) still read. The vault
//! reads the field to refuse a purpose that needs consent for a person who has not
//! given it.

use crate::Personal;
use chrono::{DateTime, Utc};

/// How a consent choice was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// The sign-up form's box.
    SignUp,
    /// The dashboard's switch (or `POST /api/v1/me/marketing`).
    Dashboard,
    /// The unsubscribe link of a message.
    UnsubscribeLink,
    /// An operator, on the person's word.
    Operator,
    /// Set out at sign-up because the address is on the suppression list.
    Suppressed,
}

impl How {
    pub fn as_str(self) -> &'static str {
        match self {
            How::SignUp => "sign_up",
            How::Dashboard => "dashboard",
            How::UnsubscribeLink => "unsubscribe_link",
            How::Operator => "operator",
            How::Suppressed => "suppression_list",
        }
    }
}

/// A consent choice as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub opted_in: bool,
    /// RFC 3339, seconds.
    pub at: Option<String>,
    pub how: Option<String>,
    /// The policy version in force when the choice was made.
    pub policy: Option<String>,
}

/// The field's value for a choice made at `at`, `how`, under `policy`.
pub fn value(opt_in: bool, at: DateTime<Utc>, how: How, policy: &str) -> Personal {
    let state = if opt_in { "opted_in" } else { "opted_out" };
    Personal::new(format!(
        "{state}@{};how={};policy={policy}",
        at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        how.as_str()
    ))
}

/// The choice, from a stored value. Anything unreadable is "out".
pub fn parse(value: &str) -> Consent {
    let mut parts = value.split(';');
    let head = parts.next().unwrap_or_default();
    let (state, at) = head.split_once('@').unwrap_or((head, ""));
    let mut consent = Consent {
        opted_in: state == "opted_in",
        at: (!at.is_empty()).then(|| at.to_owned()),
        how: None,
        policy: None,
    };
    for part in parts {
        match part.split_once('=') {
            Some(("how", how)) => consent.how = Some(how.to_owned()),
            Some(("policy", policy)) => consent.policy = Some(policy.to_owned()),
            _ => {}
        }
    }
    consent
}

/// Whether a stored value says "in".
pub fn is_given(value: &str) -> bool {
    parse(value).opted_in
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_opt_in_counts_as_consent() {
        let now = Utc::now();
        assert!(is_given(value(true, now, How::Dashboard, "v1").expose()));
        assert!(!is_given(value(false, now, How::SignUp, "v1").expose()));
        assert!(!is_given(""));
        assert!(!is_given("opted_in_maybe@x"));
        assert!(
            is_given("opted_in@2026-01-02T03:04:05Z"),
            "values of before still read"
        );
    }

    #[test]
    fn a_choice_reads_back_with_when_how_and_under_which_policy() {
        let at = DateTime::parse_from_rfc3339("2026-11-29T10:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        let stored = value(false, at, How::UnsubscribeLink, "2018-05-18");
        assert_eq!(
            parse(stored.expose()),
            Consent {
                opted_in: false,
                at: Some("2026-11-29T10:00:00Z".into()),
                how: Some("unsubscribe_link".into()),
                policy: Some("2018-05-18".into()),
            }
        );
    }
}
