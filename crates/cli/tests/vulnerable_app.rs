//! The auditor's demo: every flaw planted in examples/vulnerable-app (listed in its
//! EXPECTED.md) is found, and nothing else is.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/vulnerable-app")
}

/// Rows of EXPECTED.md: `| T001 | miniprogram/config/index.js | 3 | what |`.
fn expected() -> BTreeSet<(String, String, u32)> {
    let text = std::fs::read_to_string(example().join("EXPECTED.md")).expect("EXPECTED.md");
    let mut rows = BTreeSet::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 5 {
            continue;
        }
        let (code, path, line_no) = (cells[1], cells[2], cells[3]);
        let is_code = code.len() == 4
            && code.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && code[1..].chars().all(|c| c.is_ascii_digit());
        if let (true, Ok(n)) = (is_code, line_no.parse::<u32>()) {
            rows.insert((code.to_owned(), path.trim_matches('`').to_owned(), n));
        }
    }
    rows
}

fn found() -> BTreeSet<(String, String, u32)> {
    let out = Command::new(env!("CARGO_BIN_EXE_miniguard"))
        .args([
            "scan",
            "--format",
            "json",
            "--fail-on",
            "never",
            "--no-progress",
            // The dependency findings depend on the advisory data; tests/deps.rs checks them.
            "--ignore",
            "dependency",
        ])
        .arg(example())
        .output()
        .expect("run miniguard");
    assert!(
        out.status.success(),
        "scan failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json report");
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap_or_default().to_owned(),
                f["location"]["path"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                u32::try_from(f["location"]["start"]["line"].as_u64().unwrap_or(0)).unwrap_or(0),
            )
        })
        .collect()
}

#[test]
fn every_planted_flaw_is_found_and_nothing_else() {
    let expected = expected();
    assert!(!expected.is_empty(), "EXPECTED.md lists no flaws");
    let found = found();
    let missed: Vec<_> = expected.difference(&found).collect();
    let extra: Vec<_> = found.difference(&expected).collect();
    assert!(
        missed.is_empty() && extra.is_empty(),
        "missed (false negatives): {missed:#?}\nunexpected (false positives): {extra:#?}"
    );
}

#[test]
fn every_rule_has_a_planted_flaw() {
    let planted: BTreeSet<String> = expected().into_iter().map(|(code, _, _)| code).collect();
    let missing: Vec<String> = miniguard_rules()
        .into_iter()
        .filter(|code| !code.starts_with('D') && !planted.contains(code))
        .collect();
    assert!(
        missing.is_empty(),
        "rules without a planted flaw in EXPECTED.md: {missing:?}"
    );
}

fn miniguard_rules() -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_miniguard"))
        .args(["rules", "--json"])
        .output()
        .expect("run miniguard");
    let rules: serde_json::Value = serde_json::from_slice(&out.stdout).expect("rules json");
    rules
        .as_array()
        .expect("array")
        .iter()
        .map(|r| r["code"].as_str().unwrap_or_default().to_owned())
        .collect()
}
