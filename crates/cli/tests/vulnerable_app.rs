//! The auditor's demo: every flaw planted in examples/vulnerable-app (listed in its
//! EXPECTED.md) is found, and nothing else is.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

#[path = "support/expected.rs"]
mod support;

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/vulnerable-app")
}

#[test]
fn every_planted_flaw_is_found_and_nothing_else() {
    support::assert_exact(&example());
}

#[test]
fn every_rule_has_a_planted_flaw() {
    let planted: BTreeSet<String> = support::expected(&example())
        .into_iter()
        .map(|(code, _, _, _)| code)
        .collect();
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
