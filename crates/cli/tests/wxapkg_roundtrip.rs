//! A package built by WeChat's own compiler round-trips through the scan (issue 13).
//!
//! `tests/roundtrip/build.js` compiles examples/vulnerable-app's mini-program with
//! miniprogram-ci (installed with `npm ci` from the pinned lockfile beside it), offline, in
//! three settings: the project's own (ES5 transpile, JS minified), ES5 transpile alone, and
//! everything minified (JS, WXML, WXSS). For each, three packages are scanned:
//!
//! - the package miniprogram-ci's own packer makes of the compiled files (what its `upload`
//!   sends: per-file compiled modules, templates, `app.json`, source maps);
//! - the same package PC-encrypted, in the PC client's `<appid>/<version>/` folder layout;
//! - the compiled files in the shape the phone receives (modules wrapped in `define(...)` inside
//!   `app-service.js`, `app-config.json`), made by the test packer from the compiler's output.
//!
//! Each must report, per rule and module path, exactly the flaws the source scan reports in the
//! mini-program, and at exactly the places a scan of the compiled files reports them (the
//! compiler moves code: lines and columns are those of the compiled module, which is what a
//! package holds). The one flaw that cannot agree is the copied `crypto-js` (D001 in the
//! source): it is recognised with its version by its file hash, and the compiler rewrites the
//! file; transpiled, it is still recognised as crypto-js of unknown version (D002), minified not
//! at all (see docs/wxapkg.md).
//!
//! Skipped, with a message, only where `node` or `npm` is missing; CI has both.

#[path = "../../project/tests/support/packer.rs"]
mod packer;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

const APPID: &str = "wx0123456789abcdef";

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/vulnerable-app")
}

fn tools_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/roundtrip")
}

fn work_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wxapkg-roundtrip")
}

fn run(cmd: &mut Command, what: &str) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn has(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The folder with miniprogram-ci installed from the lockfile, or `None` (after saying why)
/// when Node.js or npm is missing.
fn installed() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        if !has("node") || !has("npm") {
            eprintln!(
                "skipped: the round-trip through WeChat's own compiler needs Node.js and npm \
                 (node and npm on PATH)"
            );
            return None;
        }
        let dir = work_dir().join("npm");
        std::fs::create_dir_all(&dir).expect("work folder");
        for f in ["package.json", "package-lock.json", "build.js"] {
            std::fs::copy(tools_dir().join(f), dir.join(f)).expect("copy the build tools");
        }
        // `npm ci` again only when the lockfile changed since the last install here.
        let lock = std::fs::read(dir.join("package-lock.json")).expect("lockfile");
        let stamp = dir.join("installed-from-lock");
        if std::fs::read(&stamp).ok().as_deref() != Some(&lock[..])
            || !dir
                .join("node_modules/miniprogram-ci/package.json")
                .is_file()
        {
            run(
                Command::new("npm")
                    .args([
                        "ci",
                        "--no-audit",
                        "--no-fund",
                        "--ignore-scripts",
                        "--silent",
                    ])
                    .current_dir(&dir),
                "npm ci",
            );
            std::fs::write(&stamp, &lock).expect("stamp");
        }
        Some(dir)
    })
    .as_deref()
}

/// Compile the example with `setting` into a fresh `out/<name>` folder: `tree/` and
/// `__APP__.wxapkg` (see build.js).
fn build(tools: &Path, name: &str, setting: &str) -> PathBuf {
    let out = work_dir().join("out").join(name);
    if out.exists() {
        std::fs::remove_dir_all(&out).expect("clear the last build");
    }
    std::fs::create_dir_all(&out).expect("out folder");
    let res = run(
        Command::new("node")
            .arg("build.js")
            .arg(example())
            .arg(&out)
            .arg(setting)
            .current_dir(tools),
        "build.js",
    );
    let listed: serde_json::Value = String::from_utf8_lossy(&res.stdout)
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .expect("build.js lists its files");
    let files = listed["files"].as_array().expect("files");
    // What the compiler made: modules (transpiled), templates, app.json, source maps.
    for f in [
        "app.json",
        "app.js",
        "utils/request.js",
        "utils/request.js.map",
        "pages/article/article.wxml",
    ] {
        assert!(files.iter().any(|n| n == f), "{f} not built: {files:?}");
    }
    out
}

fn scan_json(path: &Path, tmp: &Path) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_miniguard"))
        .env("LC_ALL", "C")
        .env("TMPDIR", tmp)
        .args([
            "scan",
            "--format",
            "json",
            "--fail-on",
            "never",
            "--no-progress",
            "--min-severity",
            "info",
        ])
        .arg(path)
        .output()
        .expect("run miniguard");
    assert!(
        out.status.success(),
        "scan of {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json report")
}

/// A finding: rule, path below the package (or tree) root, line, column.
type Row = (String, String, u64, u64);

/// The findings whose path starts with `prefix`, with `prefix` removed.
fn rows(report: &serde_json::Value, prefix: &str) -> Vec<Row> {
    let mut out: Vec<Row> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| {
            let path = f["location"]["path"].as_str()?.strip_prefix(prefix)?;
            Some((
                f["rule"].as_str()?.to_owned(),
                path.to_owned(),
                f["location"]["start"]["line"].as_u64()?,
                f["location"]["start"]["column"].as_u64()?,
            ))
        })
        .collect();
    out.sort();
    out
}

/// The findings of a package scan, all of which must lie in the package at `prefix`.
fn package_rows(report: &serde_json::Value, prefix: &str) -> Vec<Row> {
    let all = report["findings"].as_array().map_or(0, Vec::len);
    let out = rows(report, prefix);
    assert_eq!(out.len(), all, "findings outside {prefix}: {report}");
    out
}

/// How many findings of each (rule, module path).
fn per_rule(rows: &[Row]) -> BTreeMap<(String, String), usize> {
    let mut m = BTreeMap::new();
    for (rule, path, _, _) in rows {
        *m.entry((rule.clone(), path.clone())).or_default() += 1;
    }
    m
}

fn warnings(report: &serde_json::Value) -> Vec<String> {
    report["warnings"]
        .as_array()
        .map(|w| {
            w.iter()
                .map(|x| format!("{}: {}", x["path"], x["message"]))
                .collect()
        })
        .unwrap_or_default()
}

/// The source scan's findings in the mini-program, by (rule, module path), and the copied
/// library found by its file hash (the one flaw a compiled package cannot show).
fn source_flaws(tmp: &Path) -> BTreeMap<(String, String), usize> {
    static SOURCE: OnceLock<BTreeMap<(String, String), usize>> = OnceLock::new();
    SOURCE
        .get_or_init(|| {
            let mut m = per_rule(&rows(&scan_json(&example(), tmp), "miniprogram/"));
            assert_eq!(
                m.remove(&("D001".to_owned(), "utils/crypto-js.js".to_owned())),
                Some(1),
                "the source scan finds the copied crypto-js: {m:#?}"
            );
            assert!(m.len() >= 15, "the example's mini-program findings: {m:#?}");
            m
        })
        .clone()
}

/// Compile with `setting` and check the packages against the source (see the module docs).
/// `copied_library`: whether the compiled crypto-js copy is still recognised as crypto-js
/// (D002, a copy of unknown version; the source's copy is D001 by its hash).
fn round_trip(name: &str, setting: &str, copied_library: bool) {
    let Some(tools) = installed() else { return };
    let out = build(tools, name, setting);
    let tmp = out.join("tmp");
    std::fs::create_dir(&tmp).expect("tmp");
    let expected = source_flaws(&tmp);

    // The compiled files as a folder: the places every package must report.
    let tree_report = scan_json(&out.join("tree"), &tmp);
    let tree = rows(&tree_report, "");
    let mut compiled = per_rule(&tree);
    let copy = ("D002".to_owned(), "utils/crypto-js.js".to_owned());
    assert_eq!(
        compiled.remove(&copy),
        copied_library.then_some(1),
        "{name}: the compiled crypto-js copy"
    );
    assert_eq!(
        compiled, expected,
        "{name}: the compiled files against the source"
    );

    // 1. The package miniprogram-ci's packer made.
    let report = scan_json(&out.join("__APP__.wxapkg"), &tmp);
    assert_eq!(
        package_rows(&report, "__APP__.wxapkg/"),
        tree,
        "{name}: miniprogram-ci's package"
    );
    // A folder of compiled files skips a long minified file as a copied library would be
    // skipped; a package's modules are all compiled, so the package analyses it, and warns of
    // nothing.
    assert!(
        warnings(&tree_report)
            .iter()
            .all(|w| w.contains("minified")),
        "{name}: {:?}",
        warnings(&tree_report)
    );
    assert_eq!(
        warnings(&report),
        Vec::<String>::new(),
        "{name}: the package's warnings"
    );

    // 2. The same package, PC-encrypted, in the PC client's folder layout.
    let bytes = std::fs::read(out.join("__APP__.wxapkg")).expect("package");
    let folder = out.join("Applet").join(APPID).join("7");
    std::fs::create_dir_all(&folder).expect("folders");
    std::fs::write(
        folder.join("__APP__.wxapkg"),
        packer::encrypt_pc(&bytes, APPID),
    )
    .expect("write encrypted package");
    assert_eq!(
        package_rows(
            &scan_json(&out.join("Applet"), &tmp),
            &format!("{APPID}/7/__APP__.wxapkg/")
        ),
        tree,
        "{name}: the encrypted package"
    );

    // 3. The compiled files as the phone gets them: modules in define() wrappers.
    let phone = out.join("phone.wxapkg");
    std::fs::write(
        &phone,
        packer::pack(&packer::compile(&packer::read_tree(&out.join("tree")))),
    )
    .expect("write phone package");
    // `app.json` comes back from `app-config.json` re-indented (see `wxapkg::restore`), so a
    // configuration finding keeps its rule and file but not its line.
    let phone_rows = package_rows(&scan_json(&phone, &tmp), "phone.wxapkg/");
    let code = |r: &[Row]| -> Vec<Row> {
        r.iter()
            .filter(|(_, path, _, _)| !path.ends_with(".json"))
            .cloned()
            .collect()
    };
    assert_eq!(
        code(&phone_rows),
        code(&tree),
        "{name}: the compiled modules in define() wrappers"
    );
    assert_eq!(
        per_rule(&phone_rows),
        per_rule(&tree),
        "{name}: the phone's package"
    );

    let left: Vec<_> = std::fs::read_dir(&tmp)
        .expect("tmp")
        .map(|e| e.expect("entry").path())
        .collect();
    assert!(left.is_empty(), "the scans left files behind: {left:?}");
}

#[test]
fn project_settings_es5_and_minified_js() {
    round_trip("project", r#"{"useProjectConfig": true}"#, false);
}

#[test]
fn es5_transpile_only() {
    round_trip("es6", r#"{"es6": true}"#, true);
}

#[test]
fn everything_minified() {
    round_trip("minify", r#"{"es6": true, "minify": true}"#, false);
}
