//! The pipeline as a library: selection, severity overrides, baselines, the minimum severity,
//! the `fail_on` verdict and the dependency audit merged in, asserted on the returned report
//! (no binary is run).

use std::path::{Path, PathBuf};

use miniguard_engine::{
    Baseline, Database, DepsInput, DepsOptions, Error, IgnoredAdvisory, Options, Overrides,
    Selection, Status,
};
use miniguard_report::{Finding, Report, Severity};

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/vulnerable-app")
}

fn strings(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| (*s).to_owned()).collect()
}

/// The demo without its dependency rules (their findings follow the advisory data), every
/// severity listed, never failing.
fn demo_options() -> Options<'static> {
    let mut opts = Options::new(example());
    opts.rules = Selection::new(&[], &strings(&["dependency"])).unwrap();
    opts.min_severity = Some(Severity::Info);
    opts.fail_on = None;
    opts.jobs = Some(2);
    opts
}

fn count(report: &Report, rule: &str) -> usize {
    report.findings.iter().filter(|f| f.rule == rule).count()
}

/// A mini-program page calling a plain-http host, and a locked `left-pad@1.0.0`; an OSV
/// folder with one advisory for it (fixed in 1.3.0, severity HIGH).
fn tiny_project() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app");
    std::fs::create_dir_all(app.join("pages/index")).unwrap();
    std::fs::write(app.join("app.json"), r#"{"pages":["pages/index/index"]}"#).unwrap();
    std::fs::write(
        app.join("pages/index/index.js"),
        "Page({\n  onLoad() {\n    wx.request({ url: 'http://api.example.com/user' });\n  },\n});\n",
    )
    .unwrap();
    std::fs::write(
        app.join("package.json"),
        r#"{"name":"app","version":"1.0.0","dependencies":{"left-pad":"1.0.0"}}"#,
    )
    .unwrap();
    std::fs::write(
        app.join("package-lock.json"),
        r#"{"name":"app","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{"":{"name":"app","version":"1.0.0","dependencies":{"left-pad":"1.0.0"}},"node_modules/left-pad":{"version":"1.0.0"}}}"#,
    )
    .unwrap();
    let osv = dir.path().join("osv");
    std::fs::create_dir_all(&osv).unwrap();
    let record = serde_json::json!({
        "id": "TEST-0001",
        "aliases": ["CVE-2099-0001"],
        "modified": "2026-11-01T00:00:00Z",
        "summary": "test advisory for left-pad",
        "affected": [{
            "package": { "ecosystem": "npm", "name": "left-pad" },
            "ranges": [{ "type": "SEMVER", "events": [{ "introduced": "0" }, { "fixed": "1.3.0" }] }]
        }],
        "database_specific": { "severity": "HIGH" }
    });
    std::fs::write(osv.join("TEST-0001.json"), record.to_string()).unwrap();
    (dir, app, osv)
}

fn tiny_options<'a>(app: &Path, osv: &'a Path) -> Options<'a> {
    let mut opts = Options::new(app);
    opts.deps.db = Database::Path(osv);
    opts.min_severity = Some(Severity::Info);
    opts.jobs = Some(1);
    opts
}

#[test]
fn an_excluded_rule_is_neither_run_nor_listed() {
    let all = miniguard_engine::scan(&demo_options()).unwrap().report;
    assert!(count(&all, "T001") > 0 && count(&all, "K001") > 0);
    let mut opts = demo_options();
    opts.rules = Selection::new(&[], &strings(&["T001", "dependency", "secrets"])).unwrap();
    let report = miniguard_engine::scan(&opts).unwrap().report;
    assert_eq!(count(&report, "T001"), 0);
    assert!(report.findings.iter().all(|f| !f.rule.starts_with('K')));
    assert!(report.rule("T001").is_none() && report.rule("K001").is_none());
    assert!(report.rule("T002").is_some());
    assert_eq!(
        report.findings.len(),
        all.findings.len()
            - count(&all, "T001")
            - all
                .findings
                .iter()
                .filter(|f| f.rule.starts_with('K'))
                .count()
    );
    // Selecting a category runs only its rules.
    opts.rules = Selection::new(&strings(&["injection"]), &[]).unwrap();
    let report = miniguard_engine::scan(&opts).unwrap().report;
    assert!(!report.findings.is_empty());
    assert!(report.findings.iter().all(|f| f.rule.starts_with('I')));
}

#[test]
fn a_severity_override_rates_the_findings_not_the_rule() {
    let mut opts = demo_options();
    opts.severity = Overrides::new([("insecure-http-endpoint", Severity::Critical)]).unwrap();
    opts.fail_on = Some(Severity::Critical);
    let before = miniguard_engine::scan(&demo_options()).unwrap().report;
    let outcome = miniguard_engine::scan(&opts).unwrap();
    let t001: Vec<&Finding> = outcome
        .report
        .findings
        .iter()
        .filter(|f| f.rule == "T001")
        .collect();
    assert_eq!(t001.len(), count(&before, "T001"));
    assert!(t001.iter().all(|f| f.severity == Severity::Critical));
    assert_eq!(
        outcome.report.rule("T001").unwrap().severity,
        miniguard_engine::rules::find("T001").unwrap().severity,
        "the rule keeps its default"
    );
    let critical_before = before
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Critical)
        .count();
    assert_eq!(outcome.verdict.failing, critical_before + t001.len());
}

#[test]
fn a_baseline_suppresses_the_findings_it_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let all = miniguard_engine::scan(&demo_options()).unwrap().report;
    let accepted: Vec<Finding> = all
        .findings
        .iter()
        .filter(|f| f.rule == "K001" || f.rule == "T001")
        .cloned()
        .collect();
    assert!(!accepted.is_empty());
    let file = dir.path().join("baseline.json");
    miniguard_engine::baseline::write(&file, &accepted).unwrap();
    let baseline = Baseline::read(&file).unwrap();
    assert_eq!(baseline.len(), accepted.len());
    assert_eq!(baseline, Baseline::of(&accepted));

    let mut opts = demo_options();
    opts.baseline = Some(baseline);
    let report = miniguard_engine::scan(&opts).unwrap().report;
    assert_eq!(count(&report, "K001") + count(&report, "T001"), 0);
    assert_eq!(report.findings.len(), all.findings.len() - accepted.len());
    assert_eq!(
        report.stats.suppressed,
        all.stats.suppressed + accepted.len() as u64
    );

    std::fs::write(&file, r#"{"version":2,"findings":[]}"#).unwrap();
    assert!(matches!(
        Baseline::read(&file),
        Err(Error::BaselineVersion { version: 2, .. })
    ));
}

#[test]
fn the_minimum_severity_hides_findings_that_still_fail_the_verdict() {
    let all = miniguard_engine::scan(&demo_options()).unwrap().report;
    let mut opts = demo_options();
    opts.min_severity = Some(Severity::High);
    opts.fail_on = Some(Severity::Low);
    let outcome = miniguard_engine::scan(&opts).unwrap();
    let report = &outcome.report;
    assert!(report.findings.iter().all(|f| f.severity >= Severity::High));
    let high = all
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::High)
        .count();
    assert_eq!(report.findings.len(), high);
    assert_eq!(report.stats.hidden as usize, all.findings.len() - high);
    assert_eq!(report.stats.min_severity, Some(Severity::High));
    let low_and_up = all
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::Low)
        .count();
    assert_eq!(outcome.verdict.failing, low_and_up, "hidden findings count");
    assert!(low_and_up > high);

    // By default `low` and above are listed, or down to `fail_on` when it is lower.
    let mut opts = demo_options();
    opts.min_severity = None;
    opts.fail_on = Some(Severity::Info);
    assert_eq!(opts.listed_from(), Severity::Info);
    opts.fail_on = Some(Severity::Critical);
    assert_eq!(opts.listed_from(), Severity::Low);
    let report = miniguard_engine::scan(&opts).unwrap().report;
    assert!(report.stats.hidden > 0);
    assert!(report.findings.iter().all(|f| f.severity >= Severity::Low));
}

#[test]
fn fail_on_decides_pass_or_fail() {
    let mut opts = demo_options();
    let outcome = miniguard_engine::scan(&opts).unwrap();
    assert_eq!(outcome.verdict.status(true), Status::Pass, "never fails");
    opts.fail_on = Some(Severity::Critical);
    let outcome = miniguard_engine::scan(&opts).unwrap();
    assert_eq!(outcome.verdict.status(false), Status::Fail);
    assert_eq!(
        outcome.verdict.failing,
        outcome
            .report
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Critical)
            .count()
    );
    // Only the config rules: the worst is medium, so `high` passes and `medium` fails.
    opts.rules = Selection::new(&strings(&["config"]), &[]).unwrap();
    opts.fail_on = Some(Severity::High);
    assert_eq!(
        miniguard_engine::scan(&opts).unwrap().verdict.status(false),
        Status::Pass
    );
    opts.fail_on = Some(Severity::Medium);
    assert_eq!(
        miniguard_engine::scan(&opts).unwrap().verdict.status(false),
        Status::Fail
    );
}

#[test]
fn dependency_findings_are_merged_ignored_and_rated_like_the_analyzers() {
    let (_dir, app, osv) = tiny_project();
    let opts = tiny_options(&app, &osv);
    let outcome = miniguard_engine::scan(&opts).unwrap();
    let report = &outcome.report;
    assert_eq!(count(report, "T001"), 1, "{:#?}", report.findings);
    let d001: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.rule == "D001")
        .collect();
    assert_eq!(d001.len(), 1, "{:#?}", report.findings);
    assert_eq!(d001[0].severity, Severity::High);
    assert_eq!(d001[0].location.path, "package-lock.json");
    assert!(report.rule("D001").is_some() && report.rule("D002").is_some());
    assert_eq!(outcome.verdict.status(false), Status::Fail);
    assert_eq!(
        outcome.verdict.failing,
        report
            .findings
            .iter()
            .filter(|f| f.severity >= Severity::High)
            .count()
    );

    // Overrides of a dependency rule (by name) and of an analyzer rule (by code), alike.
    let mut rated = tiny_options(&app, &osv);
    rated.severity = Overrides::new([
        ("vulnerable-dependency", Severity::Low),
        ("T001", Severity::Info),
    ])
    .unwrap();
    let outcome = miniguard_engine::scan(&rated).unwrap();
    let d001 = outcome.report.findings.iter().find(|f| f.rule == "D001");
    assert_eq!(d001.map(|f| f.severity), Some(Severity::Low));
    assert_eq!(outcome.verdict.status(false), Status::Pass);

    // `[[deps.ignore]]` by an alias: gone, counted as suppressed.
    let mut ignored = tiny_options(&app, &osv);
    ignored.deps = DepsInput {
        db: Database::Path(&osv),
        ignores: vec![IgnoredAdvisory {
            id: "cve-2099-0001".to_owned(),
            reason: "never called with user input".to_owned(),
            until: None,
        }],
    };
    let report = miniguard_engine::scan(&ignored).unwrap().report;
    assert_eq!(count(&report, "D001"), 0);
    assert_eq!(count(&report, "T001"), 1);
    assert_eq!(report.stats.suppressed, 1);

    // No dependency rule selected: the database is not even opened.
    let missing = osv.join("no-such-db");
    let mut off = tiny_options(&app, &missing);
    off.rules = Selection::new(&[], &strings(&["D001", "unverifiable-dependency"])).unwrap();
    let report = miniguard_engine::scan(&off).unwrap().report;
    assert_eq!(count(&report, "D001"), 0);
    assert!(report.rule("D001").is_none());
    let mut on = tiny_options(&app, &missing);
    on.rules = Selection::new(&strings(&["D001"]), &[]).unwrap();
    assert!(matches!(miniguard_engine::scan(&on), Err(Error::Db { .. })));
}

#[test]
fn the_dependency_audit_alone_and_its_incomplete_states() {
    let (_dir, app, osv) = tiny_project();
    let mut opts = DepsOptions::new(&app);
    opts.db = Database::Path(&osv);
    let outcome = miniguard_engine::audit_dependencies(&opts).unwrap();
    assert_eq!(outcome.report.command, "deps");
    assert_eq!(count(&outcome.report, "D001"), 1);
    assert_eq!(count(&outcome.report, "T001"), 0);
    assert_eq!(outcome.inventory.lockfiles, ["package-lock.json"]);
    assert_eq!(outcome.verdict.status(true), Status::Fail);
    opts.severity = Overrides::new([("D001", Severity::Medium)]).unwrap();
    let outcome = miniguard_engine::audit_dependencies(&opts).unwrap();
    assert_eq!(outcome.report.findings[0].severity, Severity::Medium);
    assert_eq!(outcome.verdict.status(true), Status::Pass);

    // Declared dependencies and nothing to check them against: `deps` (strict) is
    // incomplete, `scan` judges the findings.
    std::fs::remove_file(app.join("package-lock.json")).unwrap();
    let outcome = miniguard_engine::audit_dependencies(&opts).unwrap();
    assert!(outcome.verdict.nothing_checked);
    assert_eq!(outcome.verdict.status(true), Status::Incomplete);
    let mut never = tiny_options(&app, &osv);
    never.fail_on = None;
    let outcome = miniguard_engine::scan(&never).unwrap();
    assert!(outcome.verdict.nothing_checked);
    assert_eq!(outcome.verdict.status(false), Status::Pass);

    // A lockfile that cannot be read makes both incomplete, whatever the findings.
    std::fs::write(app.join("package-lock.json"), "{ not json").unwrap();
    let outcome = miniguard_engine::scan(&tiny_options(&app, &osv)).unwrap();
    assert_eq!(outcome.verdict.unreadable_lockfiles, 1);
    assert_eq!(outcome.verdict.status(false), Status::Incomplete);
    assert!(
        outcome
            .report
            .warnings
            .iter()
            .any(|w| w.path == "package-lock.json"),
        "{:#?}",
        outcome.report.warnings
    );
}

#[test]
fn a_callers_filter_leaves_findings_out_as_suppressed() {
    let (_dir, app, osv) = tiny_project();
    // The page's finding made critical, so that leaving it out changes the verdict.
    let critical = Overrides::new([("T001", Severity::Critical)]).unwrap();
    let mut opts = tiny_options(&app, &osv);
    opts.severity = critical.clone();
    let all = miniguard_engine::scan(&opts).unwrap();
    assert_eq!(all.verdict.failing, 2);
    let only_dependencies = |f: &Finding| f.dependency.is_some();
    opts.keep = Some(&only_dependencies);
    let outcome = miniguard_engine::scan(&opts).unwrap();
    assert_eq!(count(&outcome.report, "D001"), 1);
    assert_eq!(count(&outcome.report, "T001"), 0);
    assert_eq!(outcome.report.stats.suppressed, 1);
    assert_eq!(outcome.verdict.failing, 1, "left-out findings do not fail");
}

#[test]
fn nothing_to_scan_and_bad_options_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = Options::new(dir.path());
    opts.label = Some("empty-app".to_owned());
    let err = miniguard_engine::scan(&opts).unwrap_err();
    assert!(matches!(err, Error::NothingToScan { skipped: 0, .. }));
    assert!(err.to_string().starts_with("nothing to scan in empty-app:"));
    let err = miniguard_engine::scan(&Options::new(dir.path().join("gone"))).unwrap_err();
    assert!(matches!(err, Error::Project { .. }));

    let (_tiny, app, osv) = tiny_project();
    let mut opts = tiny_options(&app, &osv);
    opts.jobs = Some(0);
    assert!(matches!(miniguard_engine::scan(&opts), Err(Error::NoJobs)));
    assert!(matches!(
        Selection::new(&strings(&["no-such-rule"]), &[]),
        Err(Error::UnknownRule(id)) if id == "no-such-rule"
    ));
}
