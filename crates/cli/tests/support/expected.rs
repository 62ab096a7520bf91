//! An example project's EXPECTED.md against what `miniguard scan` finds in it: the planted flaws
//! by rule, file, line and severity.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// One finding: rule, file, line, severity.
pub type Row = (String, String, u32, String);

/// Rows of EXPECTED.md: `| T001 | miniprogram/config/index.js | 3 | low | what |`.
pub fn expected(example: &Path) -> BTreeSet<Row> {
    let text = std::fs::read_to_string(example.join("EXPECTED.md")).expect("EXPECTED.md");
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

/// What a scan of `example` reports, every severity, dependency rules left out (their findings
/// depend on the advisory data; tests/deps.rs checks them).
pub fn found(example: &Path) -> BTreeSet<Row> {
    let out = Command::new(env!("CARGO_BIN_EXE_miniguard"))
        .env("LC_ALL", "C")
        .args([
            "scan",
            "--format",
            "json",
            "--fail-on",
            "never",
            "--no-progress",
            "--min-severity",
            "info",
            "--ignore",
            "dependency",
        ])
        .arg(example)
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

/// Every planted flaw found, and nothing else.
pub fn assert_exact(example: &Path) {
    let expected = expected(example);
    assert!(
        !expected.is_empty(),
        "{}: EXPECTED.md lists no flaws",
        example.display()
    );
    let found = found(example);
    let missed: Vec<_> = expected.difference(&found).collect();
    let extra: Vec<_> = found.difference(&expected).collect();
    assert!(
        missed.is_empty() && extra.is_empty(),
        "{}:\nmissed (false negatives or another severity): {missed:#?}\nunexpected (false positives or another severity): {extra:#?}",
        example.display()
    );
}
