//! The parser on a log nobody here wrote: the shared benchmark generator's output
//! (real user agents, IPv4 and IPv6, queries, about 0.1 % malformed lines).

use datavow_ingest::{parse_combined, Reject};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

#[test]
#[allow(clippy::print_stderr)] // a skipped test says why
fn a_generated_access_log_parses_except_its_malformed_lines_and_keeps_no_query() {
    let generator =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/bench/gen_access_log.py");
    if !generator.exists() {
        eprintln!(
            "skipped: {} is not beside this checkout",
            generator.display()
        );
        return;
    }
    let output = Command::new("python3")
        .arg(&generator)
        .args(["20000", "--seed", "7"])
        .output()
        .expect("run the generator");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut parsed = 0usize;
    let mut rejected: BTreeMap<Reject, usize> = BTreeMap::new();
    let text = output.stdout.strip_suffix(b"\n").unwrap_or(&output.stdout);
    for line in text.split(|b| *b == b'\n') {
        match parse_combined(line) {
            Ok(record) => {
                parsed += 1;
                assert!(!record.path.contains('?'), "{}", record.path);
                assert!(!record.referrer.unwrap_or_default().contains('?'));
            }
            Err(reason) => *rejected.entry(reason).or_default() += 1,
        }
    }
    let total = parsed + rejected.values().sum::<usize>();
    assert_eq!(total, 20_000);
    assert!(
        parsed as f64 / total as f64 >= 0.995,
        "parsed {parsed} of {total}; rejected {rejected:?}"
    );
    assert!(
        !rejected.is_empty(),
        "the generator writes some malformed lines on purpose"
    );
}
