//! `miniguard deps` and `miniguard db` end to end: the demo's vulnerable packages are found at
//! their lockfile lines and copied files, SBOM and SARIF come out well-formed, `db update` from
//! a local OSV zip works, and a failed update leaves the previous database in place.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_miniguard"));
    c.env("LC_ALL", "C");
    // Never read or write the user's cache from tests.
    c.env(
        "MINIGUARD_CACHE_DIR",
        std::env::temp_dir().join("miniguard-test-no-cache"),
    );
    c
}

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/vulnerable-app")
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("json: {e}: {}", String::from_utf8_lossy(&out.stderr)))
}

/// `| D001 | lodash | 4.17.11 | server/package-lock.json |` rows of EXPECTED.md.
fn planted_packages() -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(example().join("EXPECTED.md")).unwrap();
    text.lines()
        .filter_map(|l| {
            let c: Vec<&str> = l.split('|').map(str::trim).collect();
            (c.len() >= 6 && c[1] == "D001").then(|| {
                (
                    c[2].to_owned(),
                    c[3].to_owned(),
                    c[4].trim_matches('`').to_owned(),
                )
            })
        })
        .collect()
}

#[test]
fn demo_vulnerable_packages_are_found() {
    let out = bin()
        .args(["deps", "--format", "json", "--db", "embedded"])
        .arg(example())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "critical advisories fail the run"
    );
    let report = json(&out);
    let findings = report["findings"].as_array().unwrap();
    let planted = planted_packages();
    assert!(planted.len() >= 5, "EXPECTED.md lists the planted packages");
    for (name, version, file) in &planted {
        let hit = findings.iter().any(|f| {
            f["rule"] == "D001"
                && f["dependency"]["package"] == name.as_str()
                && f["dependency"]["version"] == version.as_str()
                && f["location"]["path"] == file.as_str()
        });
        assert!(hit, "{name}@{version} in {file} not reported");
    }
    // Findings point at the lockfile entry of the package.
    let lodash = findings
        .iter()
        .find(|f| f["dependency"]["package"] == "lodash")
        .unwrap();
    let line = usize::try_from(lodash["location"]["start"]["line"].as_u64().unwrap()).unwrap();
    let lock = std::fs::read_to_string(example().join("server/package-lock.json")).unwrap();
    assert_eq!(
        lock.lines().nth(line - 1).map(str::trim),
        Some("\"node_modules/lodash\": {")
    );
    assert!(lodash["dependency"]["fixed"].is_string() && lodash["dependency"]["direct"] == true);
}

#[test]
fn text_table_and_sbom() {
    let out = bin()
        .args(["deps", "--db", "embedded"])
        .arg(example())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("package"), "{text}");
    assert!(
        text.contains("lodash")
            && text.contains("4.17.11")
            && text.contains("server/package-lock.json:")
    );

    let dir = tempfile::tempdir().unwrap();
    let bom_path = dir.path().join("bom.json");
    let out = bin()
        .args([
            "deps",
            "--db",
            "embedded",
            "--sbom",
            "cyclonedx",
            "--output",
        ])
        .arg(&bom_path)
        .arg(example())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let bom: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&bom_path).unwrap()).unwrap();
    assert_eq!(bom["bomFormat"], "CycloneDX");
    assert_eq!(bom["specVersion"], "1.5");
    let comps = bom["components"].as_array().unwrap();
    assert!(comps.iter().any(|c| c["purl"] == "pkg:npm/lodash@4.17.11"));
    assert!(
        comps
            .iter()
            .any(|c| c["name"] == "nodemon" && c["scope"] == "excluded"),
        "dev dependencies are excluded scope"
    );
    let vulns = bom["vulnerabilities"].as_array().unwrap();
    assert!(vulns.iter().any(|v| {
        v["affects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["ref"] == "pkg:npm/lodash@4.17.11")
    }));
}

#[test]
fn scan_includes_the_dependency_category() {
    let out = bin()
        .args([
            "scan",
            "--format",
            "json",
            "--select",
            "dependency",
            "--db",
            "embedded",
            "--fail-on",
            "never",
        ])
        .arg(example())
        .output()
        .unwrap();
    let report = json(&out);
    let findings = report["findings"].as_array().unwrap();
    assert!(!findings.is_empty() && findings.iter().all(|f| f["category"] == "dependency"));
    assert!(
        report["rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["code"] == "D001")
    );
}

/// A project `name` whose package.json and lockfile (npm v3) pin one dependency.
fn locked_project(dir: &Path, name: &str, package: &str, version: &str) {
    std::fs::write(
        dir.join("package.json"),
        format!(
            r#"{{"name":"{name}","version":"1.0.0","dependencies":{{"{package}":"{version}"}}}}"#
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("package-lock.json"),
        format!(
            r#"{{"name":"{name}","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{{"":{{"name":"{name}","version":"1.0.0","dependencies":{{"{package}":"{version}"}}}},"node_modules/{package}":{{"version":"{version}"}}}}}}"#
        ),
    )
    .unwrap();
}

fn osv_zip(path: &Path, records: &[serde_json::Value]) {
    let file = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for r in records {
        zip.start_file(format!("{}.json", r["id"].as_str().unwrap()), opts)
            .unwrap();
        zip.write_all(r.to_string().as_bytes()).unwrap();
    }
    zip.finish().unwrap();
}

fn record(id: &str, package: &str, fixed: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "modified": "2026-11-01T00:00:00Z",
        "summary": format!("test advisory for {package}"),
        "affected": [{
            "package": { "ecosystem": "npm", "name": package },
            "ranges": [{ "type": "SEMVER", "events": [{ "introduced": "0" }, { "fixed": fixed }] }]
        }],
        "database_specific": { "severity": "HIGH" }
    })
}

#[test]
fn db_update_from_a_local_zip_and_a_failed_update_keeps_the_old_db() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("all.zip");
    osv_zip(
        &good,
        &[
            record("TEST-0001", "left-pad", "1.3.0"),
            record("TEST-0002", "lodash", "4.17.12"),
        ],
    );
    let cache = dir.path().join("cache/advisories.zip");

    let out = bin()
        .args(["db", "update", "--from"])
        .arg(&good)
        .arg("--cache")
        .arg(&cache)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 advisories"));

    let out = bin()
        .args(["db", "info", "--db"])
        .arg(&cache)
        .output()
        .unwrap();
    let info = String::from_utf8_lossy(&out.stdout);
    assert!(
        info.contains("advisories:  2") && info.contains("2026-11-01"),
        "{info}"
    );

    // A corrupt download must not replace the good database.
    let bad = dir.path().join("bad.zip");
    std::fs::write(&bad, b"PK\x03\x04 this is not a zip archive").unwrap();
    let out = bin()
        .args(["db", "update", "--from"])
        .arg(&bad)
        .arg("--cache")
        .arg(&cache)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("previous database is unchanged"));
    let out = bin()
        .args(["db", "info", "--db"])
        .arg(&cache)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("advisories:  2"));

    // The updated database is what `deps --db` audits against.
    let proj = tempfile::tempdir().unwrap();
    locked_project(proj.path(), "p", "lodash", "4.17.11");
    let out = bin()
        .args(["deps", "--format", "json", "--db"])
        .arg(&cache)
        .arg(proj.path())
        .output()
        .unwrap();
    let report = json(&out);
    let ids: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["dependency"]["advisory"].as_str())
        .collect();
    assert_eq!(ids, ["TEST-0002"]);
}

#[test]
fn a_git_ignored_lockfile_is_still_audited() {
    let proj = tempfile::tempdir().unwrap();
    std::fs::write(
        proj.path().join(".gitignore"),
        "package-lock.json\nnode_modules/\n",
    )
    .unwrap();
    locked_project(proj.path(), "p", "minimist", "0.0.8");
    // A lockfile inside node_modules belongs to an installed package, not to the project.
    std::fs::create_dir_all(proj.path().join("node_modules/x")).unwrap();
    std::fs::write(
        proj.path().join("node_modules/x/package-lock.json"),
        "{ broken",
    )
    .unwrap();
    let out = bin()
        .args([
            "deps",
            "--format",
            "json",
            "--db",
            "embedded",
            "--fail-on",
            "never",
        ])
        .arg(proj.path())
        .output()
        .unwrap();
    let report = json(&out);
    let findings = report["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["dependency"]["package"] == "minimist"),
        "{findings:#?}"
    );
    let warnings = report["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .all(|w| !w["path"].as_str().unwrap_or("").contains("node_modules")),
        "{warnings:#?}"
    );
}

/// `[rules.D001]` re-rates dependency findings as `[rules.S002]` does the analyzer's, in `scan`
/// and in `deps` (it was refused as an unknown rule).
#[test]
fn a_config_re_rates_dependency_rules_in_scan_and_deps() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("osv");
    std::fs::create_dir_all(&db).unwrap();
    let rec = record("TEST-0001", "left-pad", "1.3.0");
    std::fs::write(db.join("TEST-0001.json"), rec.to_string()).unwrap();
    let proj = dir.path().join("app");
    std::fs::create_dir_all(&proj).unwrap();
    locked_project(&proj, "app", "left-pad", "1.0.0");
    std::fs::write(
        proj.join("miniguard.toml"),
        "[rules.vulnerable-dependency]\nseverity = \"low\"\n",
    )
    .unwrap();
    for command in ["scan", "deps"] {
        let out = bin()
            .args([command, "--format", "json", "--db"])
            .arg(&db)
            .arg(&proj)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let findings = json(&out)["findings"].clone();
        let d001: Vec<&serde_json::Value> = findings
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == "D001")
            .collect();
        assert_eq!(d001.len(), 1, "{command}: {findings}");
        assert_eq!(d001[0]["severity"], "low", "{command}");
    }
    std::fs::write(
        proj.join("miniguard.toml"),
        "[rules.D001]\nseverity = \"critical\"\n",
    )
    .unwrap();
    let out = bin()
        .args(["deps", "--format", "json", "--fail-on", "critical", "--db"])
        .arg(&db)
        .arg(&proj)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn deps_warns_about_old_advisory_data_and_scan_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("osv");
    std::fs::create_dir_all(&db).unwrap();
    let mut old = record("TEST-OLD", "left-pad", "1.3.0");
    old["modified"] = serde_json::json!("2020-01-01T00:00:00Z");
    std::fs::write(db.join("TEST-OLD.json"), old.to_string()).unwrap();
    let proj = tempfile::tempdir().unwrap();
    std::fs::write(proj.path().join("a.js"), "const x = 1\n").unwrap();

    let out = bin()
        .args(["deps", "--format", "json", "--db"])
        .arg(&db)
        .arg(proj.path())
        .output()
        .unwrap();
    let warnings = json(&out)["warnings"].clone();
    assert!(warnings.to_string().contains("days old"), "{warnings}");

    let out = bin()
        .args(["scan", "--format", "json", "--db"])
        .arg(&db)
        .arg(proj.path())
        .output()
        .unwrap();
    let warnings = json(&out)["warnings"].clone();
    assert!(!warnings.to_string().contains("days old"), "{warnings}");
}

#[test]
fn a_manifest_without_a_lockfile_is_said_and_nothing_checked_fails() {
    let proj = tempfile::tempdir().unwrap();
    let run = |dir: &Path| {
        bin()
            .args(["deps", "--format", "json", "--db", "embedded"])
            .arg(dir)
            .output()
            .unwrap()
    };
    // A cloud function with dependencies and no lockfile: nothing pins what gets installed.
    let func = proj.path().join("cloudfunctions/login");
    std::fs::create_dir_all(&func).unwrap();
    std::fs::write(
        func.join("package.json"),
        r#"{"name":"login","dependencies":{"wx-server-sdk":"~2.6.3"}}"#,
    )
    .unwrap();
    // A manifest with no dependencies, or only packages from the project's own folders, needs
    // no lockfile.
    std::fs::write(proj.path().join("package.json"), r#"{"name":"root"}"#).unwrap();
    std::fs::create_dir_all(proj.path().join("app")).unwrap();
    std::fs::write(
        proj.path().join("app/package.json"),
        r#"{"name":"app","dependencies":{"sdk":"file:../sdk","ui":"workspace:*"}}"#,
    )
    .unwrap();
    let out = run(proj.path());
    assert_eq!(out.status.code(), Some(2), "nothing was checked");
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was audited"));
    let report = json(&out);
    let warnings: Vec<&serde_json::Value> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["message"].as_str().unwrap().contains("lockfile"))
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert_eq!(warnings[0]["path"], "cloudfunctions/login/package.json");
    assert!(
        warnings[0]["message"]
            .as_str()
            .unwrap()
            .contains("declares 1 dependency but no lockfile pins it")
    );

    // A lockfile in a folder above (a workspace root) covers the package below it; the warning
    // goes and the audit runs.
    locked_project(proj.path(), "root", "minimist", "1.2.8");
    let out = run(proj.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out);
    assert!(
        report["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| !w["message"].as_str().unwrap().contains("no lockfile")),
        "{report:#?}"
    );
}

/// The text table has one row per installed package with the one upgrade that clears all of its
/// advisories: not the highest "fixed" (which may fall in another affected range of one of them).
#[test]
fn the_table_groups_advisories_per_package_with_the_upgrade_that_clears_them_all() {
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("osv.zip");
    let mut a = record("GHSA-aaaa-aaaa-aaaa", "pkg", "1.0.5");
    // A second affected range of the same advisory: 2.0.0 up to 2.3.0.
    a["affected"][0]["ranges"][0]["events"] = serde_json::json!([
        {"introduced": "0"}, {"fixed": "1.0.5"}, {"introduced": "2.0.0"}, {"fixed": "2.3.0"}
    ]);
    let b = record("GHSA-bbbb-bbbb-bbbb", "pkg", "2.1.0");
    osv_zip(&zip, &[a, b]);
    let proj = tempfile::tempdir().unwrap();
    locked_project(proj.path(), "p", "pkg", "1.0.0");
    let out = bin()
        .args(["deps", "--fail-on", "never", "--db"])
        .arg(&zip)
        .arg(proj.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("pkg ") && !l.ends_with("):"))
        .collect();
    assert_eq!(rows.len(), 1, "one row for the package: {text}");
    // 1.0.5 is still affected by B and 2.1.0 by A's second range: 2.3.0 clears both.
    assert!(
        rows[0].contains(">= 2.3.0") && rows[0].contains("direct"),
        "{text}"
    );
    assert!(rows[0].contains("2 ("), "{text}");
    assert!(
        text.contains("GHSA-aaaa-aaaa-aaaa (fixed in 1.0.5)"),
        "{text}"
    );
    assert!(
        text.contains("1 vulnerable package version (2 findings)"),
        "{text}"
    );
}

/// `[[deps.ignore]]`: an advisory judged not to apply is left out until its date; an expired
/// ignore and one that matches nothing say so; a bad entry is a config error.
#[test]
fn ignored_advisories_with_a_reason_and_an_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("osv.zip");
    let mut a = record("GHSA-aaaa-aaaa-aaaa", "pkg", "2.0.0");
    a["aliases"] = serde_json::json!(["CVE-2026-0001"]);
    let b = record("GHSA-bbbb-bbbb-bbbb", "pkg", "2.0.0");
    osv_zip(&zip, &[a, b]);
    let proj = tempfile::tempdir().unwrap();
    locked_project(proj.path(), "p", "pkg", "1.0.0");
    let run = || {
        bin()
            .args(["deps", "--format", "json", "--fail-on", "high", "--db"])
            .arg(&zip)
            .arg(proj.path())
            .output()
            .unwrap()
    };
    let advisories = |out: &Output| -> Vec<String> {
        json(out)["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["dependency"]["advisory"].as_str().unwrap().to_owned())
            .collect()
    };
    let messages = |out: &Output| -> String {
        json(out)["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["message"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
            .join("\n")
    };
    // By an alias, in force until a date far ahead; B expired long ago; C matches nothing.
    std::fs::write(
        proj.path().join("miniguard.toml"),
        "[[deps.ignore]]\nid = \"CVE-2026-0001\"\nreason = \"never called with user input\"\nuntil = 2999-12-31\n\n\
         [[deps.ignore]]\nid = \"GHSA-bbbb-bbbb-bbbb\"\nreason = \"waiting for the fix\"\nuntil = 2020-01-31\n\n\
         [[deps.ignore]]\nid = \"GHSA-cccc-cccc-cccc\"\nreason = \"old\"\n",
    )
    .unwrap();
    let out = run();
    assert_eq!(advisories(&out), vec!["GHSA-bbbb-bbbb-bbbb".to_owned()]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the expired one fails the run again"
    );
    let text = messages(&out);
    assert!(
        text.contains("the ignore of GHSA-bbbb-bbbb-bbbb expired on 2020-01-31"),
        "{text}"
    );
    assert!(
        text.contains("GHSA-cccc-cccc-cccc in [[deps.ignore]] matches no finding"),
        "{text}"
    );
    assert_eq!(json(&out)["stats"]["suppressed"], 1);

    // Both in force: nothing left, exit 0.
    std::fs::write(
        proj.path().join("miniguard.toml"),
        "[[deps.ignore]]\nid = \"GHSA-aaaa-aaaa-aaaa\"\nreason = \"r\"\n\n[[deps.ignore]]\nid = \"ghsa-bbbb-bbbb-bbbb\"\nreason = \"r\"\nuntil = \"2999-01-01\"\n",
    )
    .unwrap();
    let out = run();
    assert!(advisories(&out).is_empty());
    assert_eq!(out.status.code(), Some(0));

    // No reason, or not a date: the config is refused before anything is read.
    for bad in [
        "[[deps.ignore]]\nid = \"GHSA-aaaa-aaaa-aaaa\"\nreason = \"\"\n",
        "[[deps.ignore]]\nid = \"GHSA-aaaa-aaaa-aaaa\"\nreason = \"r\"\nuntil = \"next year\"\n",
        "[[deps.ignore]]\nid = \"GHSA-aaaa-aaaa-aaaa\"\nreason = \"r\"\nuntil = 2027-02-30\n",
    ] {
        std::fs::write(proj.path().join("miniguard.toml"), bad).unwrap();
        let out = run();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("invalid config"));
    }
}
