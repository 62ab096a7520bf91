//! The auditor's demo: every flaw planted in examples/vulnerable-app (listed in its
//! EXPECTED.md) is found, and nothing else is.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/vulnerable-app")
}

/// Rows of EXPECTED.md: `| T001 | miniprogram/config/index.js | 3 | low | what |`: rule, file,
/// line and severity.
fn expected() -> BTreeSet<(String, String, u32, String)> {
    let text = std::fs::read_to_string(example().join("EXPECTED.md")).expect("EXPECTED.md");
    let mut rows = BTreeSet::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 6 {
            continue;
        }
        let (code, path, line_no, severity) = (cells[1], cells[2], cells[3], cells[4]);
        let is_code = code.len() == 4
            && code.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && code[1..].chars().all(|c| c.is_ascii_digit());
        if let (true, Ok(n)) = (is_code, line_no.parse::<u32>()) {
            rows.insert((
                code.to_owned(),
                path.trim_matches('`').to_owned(),
                n,
                severity.to_owned(),
            ));
        }
    }
    rows
}

fn found() -> BTreeSet<(String, String, u32, String)> {
    let out = Command::new(env!("CARGO_BIN_EXE_miniguard"))
        .env("LC_ALL", "C")
        .args([
            "scan",
            "--format",
            "json",
            "--fail-on",
            "never",
            "--no-progress",
            // Every planted flaw, including those only the developer tools see.
            "--min-severity",
            "info",
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
                f["severity"].as_str().unwrap_or_default().to_owned(),
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
        "missed (false negatives or another severity): {missed:#?}\nunexpected (false positives or another severity): {extra:#?}"
    );
}

#[test]
fn every_rule_has_a_planted_flaw() {
    let planted: BTreeSet<String> = expected().into_iter().map(|(code, _, _, _)| code).collect();
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
        .env("LC_ALL", "C")
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

/// The `session_key` stored on the phone is one flaw caught by two rules: the specific one
/// (A002) reports it, the general one (S001, plain-text storage) is its related location.
#[test]
fn one_place_two_rules_is_one_finding_with_a_related_location() {
    let out = Command::new(env!("CARGO_BIN_EXE_miniguard"))
        .env("LC_ALL", "C")
        .args(["scan", "-f", "json", "--fail-on", "never", "--no-progress"])
        .args(["--select", "A002,S001"])
        .arg(example())
        .output()
        .expect("run miniguard");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json report");
    let findings = report["findings"].as_array().expect("findings");
    let at_25: Vec<&serde_json::Value> = findings
        .iter()
        .filter(|f| {
            f["location"]["path"] == "miniprogram/pages/login/login.js"
                && f["location"]["start"]["line"] == 25
        })
        .collect();
    assert_eq!(at_25.len(), 1, "{at_25:#?}");
    assert_eq!(at_25[0]["rule"], "A002");
    assert!(
        at_25[0]["related"]
            .as_array()
            .is_some_and(|r| r.iter().any(|r| r["note"]
                .as_str()
                .is_some_and(|n| n.starts_with("also S001")))),
        "{:#?}",
        at_25[0]
    );
}
