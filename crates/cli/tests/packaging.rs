//! What an operator installs besides the binary: the example configuration, the
//! systemd unit, shell completions and the manual page.

mod common;

use common::*;
use std::path::Path;

fn repo_file(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

#[test]
fn the_example_config_is_read_as_is_and_names_every_key() {
    let example = repo_file("packaging/datavow.toml");
    let out = run(datavow()
        .arg("--config")
        .arg(&example)
        .args(["policy", "check"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let written = std::fs::read_to_string(&example).expect("example");
    let source = std::fs::read_to_string(repo_file("crates/cli/src/config.rs")).expect("source");
    let keys = source
        .split("const ENV_KEYS: &[&str] = &[")
        .nth(1)
        .and_then(|rest| rest.split("];").next())
        .expect("ENV_KEYS");
    for key in keys
        .split(',')
        .map(|k| k.trim().trim_matches('"'))
        .filter(|k| !k.is_empty())
    {
        let documented = written
            .lines()
            .any(|l| l.trim_start_matches("# ").starts_with(&format!("{key} =")));
        let secret_file = written.contains(&format!("{key}_file ="));
        assert!(
            documented || secret_file,
            "the example config does not mention `{key}`"
        );
    }
}

#[test]
#[allow(clippy::print_stderr)] // a skipped test says why
fn the_systemd_unit_passes_systemd_analyze_verify() {
    if std::process::Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: systemd-analyze is not installed");
        return;
    }
    let unit = std::fs::read_to_string(repo_file("packaging/datavow.service")).expect("unit");
    let unit = unit
        .replace("/usr/local/bin/datavow", env!("CARGO_BIN_EXE_datavow"))
        .lines()
        .filter(|l| !l.starts_with("Documentation="))
        .collect::<Vec<_>>()
        .join("\n");
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("datavow.service");
    std::fs::write(&path, unit).expect("write");
    let out = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze");
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success() && said.trim().is_empty(), "{said}");
}

#[test]
fn completions_and_the_manual_page_come_from_the_command_line_definition() {
    let man = run(datavow().arg("man"));
    assert!(man.status.success());
    let page = text(&man.stdout);
    assert!(page.contains(".TH datavow 1"), "{page}");
    for subcommand in ["serve", "ingest", "audit", "keys", "operator"] {
        assert!(
            page.contains(subcommand),
            "the manual page lacks {subcommand}"
        );
    }
    let bash = run(datavow().args(["completions", "bash"]));
    assert!(bash.status.success());
    let script = text(&bash.stdout);
    assert!(script.contains("serve") && script.contains("--data-dir"));
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("datavow.bash");
    std::fs::write(&file, &script).expect("write");
    let syntax = std::process::Command::new("bash")
        .arg("-n")
        .arg(&file)
        .status()
        .expect("bash");
    assert!(
        syntax.success(),
        "bash does not accept the completion script"
    );
    for shell in ["zsh", "fish"] {
        let out = run(datavow().args(["completions", shell]));
        assert!(out.status.success() && !out.stdout.is_empty(), "{shell}");
    }
}
