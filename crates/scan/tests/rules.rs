//! Every rule has documentation with the fixed headings, a bad fixture it reports and a good
//! fixture (the clean look-alike) it does not. The bad fixtures' findings are snapshot-tested.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use miniguard_project::{DiscoverOptions, discover};
use miniguard_scan::rules::{self, Rule};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn scan_with(rule: &'static dyn Rule, dir: &Path) -> Vec<miniguard_report::Finding> {
    let project = discover(dir, &DiscoverOptions::default()).expect("fixture discovers");
    let out = miniguard_scan::scan(&project, &[rule], None, &|_| {}).expect("scan");
    let mut f = out.findings;
    f.sort_by(|a, b| {
        (&a.location.path, a.location.start).cmp(&(&b.location.path, b.location.start))
    });
    f
}

fn compact(findings: &[miniguard_report::Finding]) -> String {
    let mut s = String::new();
    for f in findings {
        let _ = writeln!(
            s,
            "{} {}:{}:{} {}: {}",
            f.rule,
            f.location.path,
            f.location.start.line,
            f.location.start.column,
            f.severity,
            f.message
        );
        for t in &f.trace {
            let _ = writeln!(
                s,
                "    {}:{}:{} {}",
                t.location.path, t.location.start.line, t.location.start.column, t.note
            );
        }
        for r in &f.related {
            let _ = writeln!(
                s,
                "    related {}:{}:{} {}",
                r.location.path, r.location.start.line, r.location.start.column, r.note
            );
        }
    }
    s
}

#[test]
fn registry_is_consistent() {
    let all = rules::all();
    let mut codes: Vec<&str> = all.iter().map(|r| r.meta().code).collect();
    codes.sort_unstable();
    let n = codes.len();
    codes.dedup();
    assert_eq!(codes.len(), n, "rule codes must be unique");
    let mut names: Vec<&str> = all.iter().map(|r| r.meta().name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), n, "rule names must be unique");
    for r in all {
        let m = r.meta();
        assert_eq!(
            m.code.chars().next(),
            Some(m.category.code_letter()),
            "{}: code letter must match category",
            m.code
        );
        assert!(
            m.code.len() == 4 && m.code[1..].chars().all(|c| c.is_ascii_digit()),
            "{}: code form",
            m.code
        );
        assert!(
            m.name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '-' || c.is_ascii_digit()),
            "{}: kebab-case name",
            m.code
        );
        for heading in [
            "## What it finds",
            "## Why it matters",
            "## Example",
            "## Fix",
            "## References",
        ] {
            assert!(
                m.docs.contains(heading),
                "{}: docs lack `{heading}`",
                m.code
            );
        }
        assert!(!m.cwe.is_empty(), "{}: CWE ids", m.code);
        for cwe in m.cwe {
            assert!(
                m.docs.contains(&format!("CWE-{cwe}")),
                "{}: docs must cite CWE-{cwe}",
                m.code
            );
        }
        assert!(
            !m.summary.is_empty() && !m.summary.ends_with('.'),
            "{}: summary",
            m.code
        );
        let dir = fixtures().join(m.code);
        assert!(
            dir.join("bad").is_dir(),
            "{}: missing fixtures/{}/bad",
            m.code,
            m.code
        );
        assert!(
            dir.join("good").is_dir(),
            "{}: missing fixtures/{}/good",
            m.code,
            m.code
        );
    }
}

#[test]
fn bad_fixtures_are_reported() {
    let mut missing = Vec::new();
    for r in rules::all() {
        let code = r.meta().code;
        let dir = fixtures().join(code).join("bad");
        if !dir.is_dir() {
            continue;
        }
        let found: Vec<_> = scan_with(*r, &dir)
            .into_iter()
            .filter(|f| f.rule == code)
            .collect();
        if found.is_empty() {
            missing.push(code);
            continue;
        }
        insta::assert_snapshot!(format!("{code}-bad"), compact(&found));
    }
    assert!(
        missing.is_empty(),
        "rules that found nothing in their bad fixture: {missing:?}"
    );
}

#[test]
fn good_fixtures_are_clean() {
    let mut noisy = Vec::new();
    for r in rules::all() {
        let code = r.meta().code;
        let dir = fixtures().join(code).join("good");
        if !dir.is_dir() {
            continue;
        }
        let found: Vec<_> = scan_with(*r, &dir)
            .into_iter()
            .filter(|f| f.rule == code)
            .collect();
        if !found.is_empty() {
            noisy.push(format!("{code}:\n{}", compact(&found)));
        }
    }
    assert!(
        noisy.is_empty(),
        "false alarms in good fixtures:\n{}",
        noisy.join("\n")
    );
}
