//! Any Accept-Language header: one of the three languages, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|header: &str| {
    let lang = datavow_server::pages::i18n::from_accept_language(header);
    assert!(["en", "de", "da"].contains(&lang.code()));
});
