//! Personal types print redacted with `{:?}`: a log line, a panic message or a failed
//! assertion shows which fields a value has, never what they hold.

use datavow_core::accounts::throttle::Throttle;
use datavow_core::accounts::validate::PostalAddress;
use datavow_core::accounts::{ContactInput, EntityInfo, Profile, ProfileUpdate, SignUpInput};
use datavow_core::browser::{Browser, LinkedRecord};
use datavow_core::persons::PersonKey;

const SECRETS: &[&str] = &[
    "Zoë",
    "zoe.debug@example.de",
    "+4930901820",
    "Witzlebenstraße",
    "14057",
    "203.0.113.5",
    "/account/k7q2",
    "K7Q2-M9XP",
    "1981-04-17",
];

fn assert_redacted(what: &str, shown: &str) {
    for secret in SECRETS {
        assert!(!shown.contains(secret), "{what} prints {secret}: {shown}");
    }
    assert!(
        shown.contains("[personal]") || shown.contains("keys"),
        "{what}: {shown}"
    );
}

fn address() -> PostalAddress {
    PostalAddress {
        street: "Witzlebenstraße 6".into(),
        postal_code: "14057".into(),
        city: "Berlin".into(),
        country: "DE".into(),
    }
}

#[test]
fn inputs_profiles_records_and_the_throttle_print_no_personal_value() {
    let sign_up = SignUpInput {
        name: Some("Zoë".into()),
        email: Some("zoe.debug@example.de".into()),
        phone: Some("+4930901820".into()),
        postal_address: Some(address()),
        birth_date: Some("1981-04-17".into()),
        ..Default::default()
    };
    assert_redacted("SignUpInput", &format!("{sign_up:?}"));
    let update = ProfileUpdate {
        email: Some("zoe.debug@example.de".into()),
        postal_address: Some(address()),
        ..Default::default()
    };
    assert_redacted("ProfileUpdate", &format!("{update:?}"));
    let contact = ContactInput {
        name: Some("Zoë".into()),
        phone: Some("+4930901820".into()),
        ..Default::default()
    };
    assert_redacted("ContactInput", &format!("{contact:?}"));
    let profile = Profile {
        user_id: "K7Q2-M9XP".into(),
        name: Some("Zoë".into()),
        company: None,
        email: Some("zoe.debug@example.de".into()),
        phone: Some("+4930901820".into()),
        postal_address: Some(address()),
        business_sector: None,
        interest: None,
        birth_date: Some("1981-04-17".into()),
        marketing_opt_in: false,
        marketing_changed_at: None,
        marketing_changed_how: None,
        marketing_policy_version: None,
        entity: EntityInfo {
            id: "asergo_europe".into(),
            name: "ASERGO Europe GmbH".into(),
            address: vec![],
            privacy_contact: "privacy@asergo.com".into(),
        },
        policy_version_acknowledged: None,
        policy_version_current: "2018-05-18".into(),
    };
    assert_redacted("Profile", &format!("{profile:?}"));
    let record = LinkedRecord {
        time: chrono::Utc::now(),
        ip: "203.0.113.5".parse().expect("ip"),
        method: "GET".into(),
        path: "/account/k7q2".into(),
        status: 200,
        referrer: None,
        browser: Browser::unknown(),
        country: None,
        language: None,
    };
    assert_redacted("LinkedRecord", &format!("{record:?}"));
    assert_redacted(
        "PersonKey",
        &format!("{:?}", PersonKey::Email("zoe.debug@example.de".into())),
    );
    let throttle = Throttle::default();
    throttle.fail("client:203.0.113.5");
    assert_redacted("Throttle", &format!("{throttle:?}"));
    let line = b"203.0.113.5 - K7Q2-M9XP [29/Nov/2026:10:00:00 +0000] \"GET /account/k7q2 HTTP/1.1\" 200 1 \"-\" \"curl/8.4.0\"";
    let parsed = datavow_core::ingest::parse_combined(line).expect("line");
    assert_redacted("LogRecord", &format!("{parsed:?}"));
}
