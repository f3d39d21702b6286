//! The layers hold by construction: the edges (`datavow-server` and the `datavow`
//! binary) reach personal data only through `datavow-core`, so they must not depend on
//! the stores or the vault. Read from `cargo metadata`, as Cargo builds them.

use std::process::Command;

/// The normal and build dependencies of `package` (dev-dependencies are test fixtures:
/// the store's `testkit` creates temporary databases for tests).
fn dependencies(metadata: &serde_json::Value, package: &str) -> Vec<String> {
    let found = metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|p| p["name"] == package)
        .unwrap_or_else(|| panic!("package {package} is in the workspace"));
    found["dependencies"]
        .as_array()
        .expect("dependencies")
        .iter()
        .filter(|d| d["kind"].is_null() || d["kind"] == "build")
        .filter_map(|d| d["name"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn the_server_and_the_cli_depend_on_neither_the_store_nor_the_vault() {
    let output = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    for edge in ["datavow-server", "datavow"] {
        let deps = dependencies(&metadata, edge);
        assert!(deps.iter().any(|d| d == "datavow-core"), "{edge}: {deps:?}");
        for inner in ["datavow-store", "datavow-vault"] {
            assert!(
                !deps.iter().any(|d| d == inner),
                "{edge} depends on {inner}: personal data must go through datavow-core"
            );
        }
    }
}
