//! User-agent accuracy against uap-core's own test corpus (`tests/test_ua.yaml`):
//! browser family and major version must match for at least 99 % of the cases.

use datavow_ingest::{DeviceClass, UaParser, DEBIAN_REGEXES};
use serde::Deserialize;
use std::path::Path;

#[derive(Deserialize)]
struct Corpus {
    test_cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    user_agent_string: String,
    family: String,
    major: Option<serde_yaml::Value>,
}

fn text(value: &Option<serde_yaml::Value>) -> Option<String> {
    match value {
        Some(serde_yaml::Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(serde_yaml::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

#[test]
#[allow(clippy::print_stderr, clippy::print_stdout)]
fn browser_family_and_major_version_match_uap_core_tests_at_least_99_percent() {
    let corpus_path = Path::new("/usr/share/uap-core/tests/test_ua.yaml");
    if !Path::new(DEBIAN_REGEXES).exists() || !corpus_path.exists() {
        eprintln!("skipped: run scripts/test.sh, which installs Debian's uap-core");
        return;
    }
    let parser = UaParser::from_regexes(Path::new(DEBIAN_REGEXES)).expect("regexes");
    let corpus: Corpus =
        serde_yaml::from_str(&std::fs::read_to_string(corpus_path).expect("corpus")).expect("yaml");
    assert!(corpus.test_cases.len() > 1000, "the corpus is the real one");
    let mut matched = 0usize;
    for case in &corpus.test_cases {
        let got = parser.parse(&case.user_agent_string);
        if got.family == case.family && got.major == text(&case.major) {
            matched += 1;
        }
    }
    let rate = matched as f64 / corpus.test_cases.len() as f64;
    println!(
        "user-agent accuracy: {matched} of {} ({:.2} %) family and major version",
        corpus.test_cases.len(),
        rate * 100.0
    );
    assert!(rate >= 0.99, "accuracy {:.2} % is under 99 %", rate * 100.0);
}

#[test]
#[allow(clippy::print_stderr)]
fn common_browsers_get_their_device_class() {
    if !Path::new(DEBIAN_REGEXES).exists() {
        eprintln!("skipped: run scripts/test.sh, which installs Debian's uap-core");
        return;
    }
    let parser = UaParser::from_regexes(Path::new(DEBIAN_REGEXES)).expect("regexes");
    let firefox =
        parser.parse("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0");
    assert_eq!(
        (
            firefox.family.as_str(),
            firefox.major.as_deref(),
            firefox.device
        ),
        ("Firefox", Some("121"), DeviceClass::Desktop)
    );
    let iphone = parser.parse("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1");
    assert_eq!(
        (iphone.os.as_str(), iphone.device),
        ("iOS", DeviceClass::Mobile)
    );
    let bot = parser.parse("Googlebot/2.1 (+http://www.google.com/bot.html)");
    assert_eq!(bot.device, DeviceClass::Bot);
    let ipad = parser.parse("Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1");
    assert_eq!(ipad.device, DeviceClass::Tablet);
    let android_tablet = parser.parse("Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36");
    assert_eq!(android_tablet.device, DeviceClass::Tablet);
    let android_phone = parser.parse("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36");
    assert_eq!(android_phone.device, DeviceClass::Mobile);
    let mac = parser.parse("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15");
    assert_eq!(mac.device, DeviceClass::Desktop);
    let curl = parser.parse("curl/8.4.0");
    assert_eq!(curl.device, DeviceClass::Other);
}
