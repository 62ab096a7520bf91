//! The command line as users and CI meet it: exit codes, formats, selection, baselines, errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_miniguard"));
    // The tests read English output, whatever the machine's locale.
    c.env("LC_ALL", "C");
    c
}

fn run(args: &[&str], dir: &Path) -> Output {
    bin().args(args).arg(dir).output().expect("run miniguard")
}

/// A tiny WeChat mini-program with a high finding (S001: a password in storage), low ones (T001:
/// a plain-HTTP host, which a released WeChat mini-program refuses; C001: `setEnableDebug` in
/// code) and an info one (C001: `"debug": true` in app.json, read only by the developer tools).
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("miniprogram/pages/a")).unwrap();
    std::fs::write(
        root.join("project.config.json"),
        r#"{"miniprogramRoot": "miniprogram/"}"#,
    )
    .unwrap();
    std::fs::write(
        root.join("miniprogram/app.json"),
        r#"{"pages": ["pages/a/a"], "debug": true}"#,
    )
    .unwrap();
    std::fs::write(
        root.join("miniprogram/pages/a/a.js"),
        "const API = 'http://api.example.com'\nPage({ onLoad() { wx.request({ url: API + '/x' }) } })\nwx.setEnableDebug({ enableDebug: true })\nwx.setStorageSync('password', getApp().globalData.password)\n",
    )
    .unwrap();
    dir
}

fn json_findings(out: &Output) -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    v["findings"].as_array().cloned().unwrap_or_default()
}

#[test]
fn exit_code_follows_fail_on() {
    let p = project();
    assert_eq!(
        run(&["scan", "--no-progress"], p.path()).status.code(),
        Some(1),
        "high finding fails by default"
    );
    assert_eq!(
        run(&["scan", "--fail-on", "critical"], p.path())
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        run(&["scan", "--fail-on", "never"], p.path()).status.code(),
        Some(0)
    );
    // Severities are taken in any case, as users write them.
    assert_eq!(
        run(&["scan", "--fail-on", "HIGH", "--no-progress"], p.path())
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        run(
            &["scan", "--fail-on", "Critical", "--no-progress"],
            p.path()
        )
        .status
        .code(),
        Some(0)
    );
    assert_eq!(
        run(
            &["scan", "--select", "config", "--fail-on", "high"],
            p.path()
        )
        .status
        .code(),
        Some(0)
    );
    assert_eq!(
        run(
            &["scan", "--select", "config", "--fail-on", "low"],
            p.path()
        )
        .status
        .code(),
        Some(1)
    );
}

#[test]
fn errors_exit_with_2_and_say_what_is_wrong() {
    let out = bin()
        .args(["scan", "/definitely/not/here"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));

    let p = project();
    let out = run(&["scan", "--select", "no-such-rule"], p.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unknown rule or category `no-such-rule`")
    );

    // A folder with nothing to read is an error, not a clean bill of health.
    let empty = tempfile::tempdir().unwrap();
    std::fs::write(empty.path().join("notes.md"), "# notes\n").unwrap();
    let out = run(&["scan", "--no-progress"], empty.path());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nothing to scan"), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).is_empty());

    std::fs::write(p.path().join("miniguard.toml"), "[scan]\nfail-on = 3\n").unwrap();
    let out = run(&["scan"], p.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid config"));
}

#[test]
fn select_and_ignore_by_code_name_and_category() {
    let p = project();
    let all = json_findings(&run(
        &["scan", "-f", "json", "--fail-on", "never"],
        p.path(),
    ));
    let codes: Vec<&str> = all.iter().filter_map(|f| f["rule"].as_str()).collect();
    assert!(
        codes.contains(&"T001") && codes.contains(&"C001"),
        "{codes:?}"
    );
    let only = json_findings(&run(
        &["scan", "-f", "json", "--select", "insecure-http-endpoint"],
        p.path(),
    ));
    assert!(only.iter().all(|f| f["rule"] == "T001") && !only.is_empty());
    let ignored = json_findings(&run(
        &["scan", "-f", "json", "--ignore", "transport"],
        p.path(),
    ));
    assert!(ignored.iter().all(|f| f["rule"] != "T001"));
}

#[test]
fn config_file_sets_defaults() {
    let p = project();
    std::fs::write(
        p.path().join("miniguard.toml"),
        "[scan]\nignore = [\"T001\"]\nfail-on = \"high\"\n[rules.C001]\nseverity = \"critical\"\n",
    )
    .unwrap();
    let out = run(&["scan", "-f", "json"], p.path());
    let f = json_findings(&out);
    assert!(f.iter().all(|f| f["rule"] != "T001"));
    assert!(
        f.iter()
            .any(|f| f["rule"] == "C001" && f["severity"] == "critical")
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "C001 raised to critical fails the build"
    );
}

/// `[scan.taint]` adds rows to the taint specification: a project's own database wrapper
/// becomes a SQL sink, a helper of its own a sanitizer. Without the rows the flow is not seen
/// (the wrapper is unknown code); a row the specification cannot read is an error that says
/// where.
#[test]
fn config_taint_rows_add_sinks_and_sanitizers() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("cloudfunctions/orders")).unwrap();
    std::fs::write(
        root.join("project.config.json"),
        r#"{"cloudfunctionRoot": "cloudfunctions/"}"#,
    )
    .unwrap();
    std::fs::write(
        root.join("cloudfunctions/orders/index.js"),
        "const db = require('./db')\n\
         exports.main = async (event) => {\n\
           await db.rawSelect(`SELECT * FROM orders WHERE status = '${event.status}'`)\n\
           await db.rawSelect(`SELECT * FROM orders WHERE id = '${quoteSql(event.id)}'`)\n\
           return db.onShard(event.shard, `DELETE FROM carts WHERE id = '${event.cart}'`)\n\
         }\n",
    )
    .unwrap();
    let sql = |out: &Output| -> Vec<i64> {
        json_findings(out)
            .iter()
            .filter(|f| f["rule"] == "I001")
            .map(|f| f["location"]["start"]["line"].as_i64().unwrap())
            .collect()
    };
    let out = run(&["scan", "-f", "json", "--fail-on", "never"], root);
    assert!(sql(&out).is_empty(), "an unknown wrapper is no sink");

    std::fs::write(
        root.join("miniguard.toml"),
        "[[scan.taint.sink]]\nkind = \"sql-statement\"\nmethods = [\"rawSelect\"]\n\n\
         [[scan.taint.sink]]\nkind = \"sql-statement\"\nmethods = [\"onShard\"]\nargs = [1]\n\n\
         [[scan.taint.sanitizer]]\nnames = [\"quoteSql\"]\nmakes = [\"sql\"]\n",
    )
    .unwrap();
    let out = run(&["scan", "-f", "json", "--fail-on", "never"], root);
    assert_eq!(
        sql(&out),
        vec![3, 5],
        "the rows' sinks (the second at its `args`), and the sanitized line is clean"
    );

    std::fs::write(
        root.join("miniguard.toml"),
        "[[scan.taint.sink]]\nkind = \"sql\"\nmethods = [\"rawSelect\"]\n",
    )
    .unwrap();
    let out = run(&["scan"], root);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("[scan.taint]") && err.contains("sql-statement"),
        "{err}"
    );
}

/// `[rules.*]` names a rule by code or name in any case, as `--select` does: each spelling
/// re-rates the findings (a lower-case code was accepted and then did nothing). A severity that
/// is not one is refused even when the rule finds nothing (it was silently ignored).
#[test]
fn config_severities_name_rules_in_any_case_and_are_checked() {
    let p = project();
    for key in ["c001", "Debug-Enabled"] {
        std::fs::write(
            p.path().join("miniguard.toml"),
            format!("[rules.{key}]\nseverity = \"critical\"\n"),
        )
        .unwrap();
        let out = run(&["scan", "-f", "json", "--fail-on", "never"], p.path());
        let f = json_findings(&out);
        let c001: Vec<&serde_json::Value> = f.iter().filter(|f| f["rule"] == "C001").collect();
        assert!(!c001.is_empty(), "{key}");
        assert!(
            c001.iter().all(|f| f["severity"] == "critical"),
            "{key}: {c001:?}"
        );
    }
    std::fs::write(
        p.path().join("miniguard.toml"),
        "[rules.K003]\nseverity = \"severe\"\n",
    )
    .unwrap();
    let out = run(&["scan", "--no-progress"], p.path());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid severity for rule K003"), "{err}");
}

#[test]
fn baseline_hides_known_findings_and_shows_new_ones() {
    let p = project();
    let base: PathBuf = p.path().join("baseline.json");
    let out = bin()
        .args(["scan", "--write-baseline"])
        .arg(&base)
        .arg(p.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let out = bin()
        .args(["scan", "-f", "json", "--baseline"])
        .arg(&base)
        .arg(p.path())
        .output()
        .unwrap();
    assert!(json_findings(&out).is_empty());
    assert_eq!(out.status.code(), Some(0));
    // Moving lines keeps the baseline matching; a new flaw is reported.
    let page = p.path().join("miniprogram/pages/a/a.js");
    let src = std::fs::read_to_string(&page).unwrap();
    std::fs::write(
        &page,
        format!("// moved\n\n{src}wx.request({{ url: 'http://other.example.com' }})\n"),
    )
    .unwrap();
    let out = bin()
        .args(["scan", "-f", "json", "--baseline"])
        .arg(&base)
        .arg(p.path())
        .output()
        .unwrap();
    let f = json_findings(&out);
    assert_eq!(f.len(), 1, "{f:#?}");
    // Two lines added above the page's four.
    assert_eq!(f[0]["location"]["start"]["line"], 7);
}

#[test]
fn inline_comment_suppresses() {
    let p = project();
    let page = p.path().join("miniprogram/pages/a/a.js");
    std::fs::write(&page, "// miniguard-ignore T001: staging only\nconst API = 'http://api.example.com'\nPage({ onLoad() { wx.request({ url: API }) } })\n").unwrap();
    let out = run(&["scan", "-f", "json", "--select", "T001"], p.path());
    assert!(json_findings(&out).is_empty());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["stats"]["suppressed"], 1);
}

#[test]
fn sarif_and_html_outputs() {
    let p = project();
    let sarif = p.path().join("out.sarif");
    let out = bin()
        .args([
            "scan",
            "--format",
            "sarif",
            "--fail-on",
            "never",
            "--output",
        ])
        .arg(&sarif)
        .arg(p.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let rules = v["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    let t001 = rules.iter().find(|r| r["id"] == "T001").unwrap();
    assert_eq!(t001["properties"]["tags"][0], "transport");
    assert_eq!(t001["properties"]["tags"][1], "security");
    assert_eq!(t001["properties"]["tags"][2], "external/cwe/cwe-319");
    let result = &v["runs"][0]["results"][0];
    assert!(
        result["partialFingerprints"]
            .as_object()
            .is_some_and(|o| !o.is_empty())
    );

    let html = p.path().join("report.html");
    bin()
        .args(["scan", "--format", "html", "--output"])
        .arg(&html)
        .arg(p.path())
        .output()
        .unwrap();
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") || page.starts_with("<!doctype html>"));
    assert!(page.contains("T001") && !page.contains("<script src="));
}

#[test]
fn broken_input_is_a_warning_not_a_crash() {
    let p = project();
    std::fs::write(
        p.path().join("miniprogram/pages/a/broken.js"),
        "function (((( {",
    )
    .unwrap();
    std::fs::write(
        p.path().join("miniprogram/pages/a/a.json"),
        "{ \"usingComponents\": ",
    )
    .unwrap();
    std::fs::write(
        p.path().join("miniprogram/pages/a/a.wxml"),
        "<view><rich-text nodes=\"{{html\"></view",
    )
    .unwrap();
    let out = run(&["scan", "-f", "json", "--fail-on", "never"], p.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let warnings = v["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w["path"].as_str().unwrap().ends_with("broken.js")),
        "{warnings:#?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w["path"].as_str().unwrap().ends_with("a.json")),
        "{warnings:#?}"
    );
    assert!(
        json_findings(&out).iter().any(|f| f["rule"] == "T001"),
        "the rest is still analysed"
    );
}

#[test]
fn rules_command_lists_and_documents() {
    let out = bin().arg("rules").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("T001") && text.contains("insecure-http-endpoint"));
    let out = bin().args(["rules", "sql-injection"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("I001") && text.contains("## Fix") && text.contains("CWE-89"));
    // A category lists its rules, as `scan --select xss` selects them.
    let out = bin().args(["rules", "xss"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(" xss "), "{text}");
    assert!(!text.contains("insecure-http-endpoint"), "{text}");
    let out = bin().args(["rules", "Z999"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("categories: "));
    assert_eq!(
        bin()
            .args(["rules", "Z999"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn readme_rule_table_is_current() {
    let out = bin().args(["rules", "--markdown"]).output().unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    let start = readme
        .find("<!-- rules:start -->")
        .expect("README has <!-- rules:start -->")
        + "<!-- rules:start -->".len();
    let end = readme
        .find("<!-- rules:end -->")
        .expect("README has <!-- rules:end -->");
    assert_eq!(
        readme[start..end].trim(),
        table.trim(),
        "README.md rule table is stale: regenerate it with `cargo run -- rules --markdown`"
    );
}

#[test]
fn rule_docs_are_current() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["rules", "--write-docs"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/rules");
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let entry = entry.unwrap();
        let fresh = std::fs::read_to_string(entry.path()).unwrap();
        let name = entry.file_name();
        let old = std::fs::read_to_string(committed.join(&name)).unwrap_or_default();
        assert_eq!(
            old,
            fresh,
            "docs/rules/{} is stale: run `cargo run -- rules --write-docs docs/rules`",
            name.to_string_lossy()
        );
    }
}
