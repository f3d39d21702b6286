//! Any text as a policy file: a policy or a list of issues, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = datavow_policy::Policy::from_toml(text, "fuzz.toml");
});
