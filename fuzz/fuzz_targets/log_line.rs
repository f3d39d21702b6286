//! Any bytes as a line of every named format, and as a custom format string (nginx or
//! Apache) reading a fixed line: no panic, and what is kept holds no query string and
//! no card number (P4).
#![no_main]

use datavow_ingest::{Format, LineParser, LogRecord, Template};
use datavow_policy::card_guard::contains_card_number;
use libfuzzer_sys::fuzz_target;

fn check(record: &LogRecord<'_>) {
    assert!(!record.path.contains('?') && !record.path.contains('#'));
    assert!(!contains_card_number(&record.path));
    for kept in [&record.referrer, &record.user_agent, &record.user, &record.language] {
        if let Some(text) = kept {
            assert!(!contains_card_number(text), "a card number kept");
        }
    }
    if let Some(referrer) = &record.referrer {
        assert!(!referrer.contains('?'));
    }
}

fuzz_target!(|data: &[u8]| {
    for format in Format::NAMED {
        if let Some(parser) = LineParser::named(format) {
            if let Ok(record) = parser.parse(data) {
                check(&record);
            }
            let _ = parser.directive(data);
        }
    }
    let _ = datavow_ingest::recognise(&Format::NAMED, &[data]);
    if let Ok(string) = std::str::from_utf8(data) {
        if let Ok(template) = Template::new(string) {
            let line = br#"203.0.113.9 - - [25/Nov/2026:08:00:01 +0000] "GET /a?b=4111111111111111 HTTP/1.1" 200 5 "-" "curl/8""#;
            if let Ok(record) = LineParser::custom(template).parse(line) {
                check(&record);
            }
        }
    }
});
