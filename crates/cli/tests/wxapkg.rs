//! Scanning and unpacking `.wxapkg` packages (issue 13): a package built from
//! examples/vulnerable-app's mini-program (plain and PC-encrypted) yields the same findings as
//! the source tree, at module paths inside the package; hostile packages end in a clear error.

#[path = "../../project/tests/support/packer.rs"]
mod packer;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const APPID: &str = "wx0123456789abcdef";

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/vulnerable-app")
}

fn package() -> Vec<u8> {
    packer::pack(&packer::compile(&packer::read_tree(
        &example().join("miniprogram"),
    )))
}

fn miniguard(args: &[&str], path: &Path, tmp: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_miniguard"))
        .env("LC_ALL", "C")
        .args(args)
        .arg(path)
        .env("TMPDIR", tmp)
        .output()
        .expect("run miniguard")
}

fn scan_json(path: &Path, tmp: &Path) -> serde_json::Value {
    let out = miniguard(
        &[
            "scan",
            "--format",
            "json",
            "--fail-on",
            "never",
            "--no-progress",
            "--ignore",
            "dependency",
            // Every planted flaw, `info` ones included (the example's stored login token).
            "--min-severity",
            "info",
        ],
        path,
        tmp,
    );
    assert!(
        out.status.success(),
        "scan failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json report")
}

type Row = (String, String, u64);

fn rows(report: &serde_json::Value) -> BTreeSet<Row> {
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
                f["location"]["start"]["line"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

/// The source tree's findings in the mini-program, with `miniprogram/` replaced by `prefix`.
fn source_rows(tmp: &Path, prefix: &str) -> BTreeSet<Row> {
    let rows = rows(&scan_json(&example(), tmp));
    let mapped: BTreeSet<Row> = rows
        .into_iter()
        .filter_map(|(rule, path, line)| {
            path.strip_prefix("miniprogram/")
                .map(|p| (rule, format!("{prefix}{p}"), line))
        })
        .collect();
    assert!(
        mapped.len() >= 15,
        "the example's mini-program findings: {mapped:#?}"
    );
    mapped
}

fn assert_temp_is_empty(tmp: &Path) {
    let left: Vec<_> = std::fs::read_dir(tmp)
        .expect("tmp")
        .map(|e| e.expect("entry").path())
        .collect();
    assert!(left.is_empty(), "the scan left files behind: {left:?}");
}

#[test]
fn plain_package_scan_finds_what_the_source_scan_finds_at_module_paths() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).expect("tmp");
    let pkg = dir.path().join("__APP__.wxapkg");
    std::fs::write(&pkg, package()).expect("write package");

    let expected = source_rows(&tmp, "__APP__.wxapkg/");
    let report = scan_json(&pkg, &tmp);
    assert_eq!(rows(&report), expected);
    assert!(
        expected.contains(&(
            "T001".to_owned(),
            "__APP__.wxapkg/config/index.js".to_owned(),
            3
        )),
        "{expected:#?}"
    );
    assert!(
        report["warnings"].as_array().is_none_or(Vec::is_empty),
        "{}",
        report["warnings"]
    );
    assert_temp_is_empty(&tmp);
}

#[test]
fn sarif_names_the_package_and_the_module() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pkg = dir.path().join("__APP__.wxapkg");
    std::fs::write(&pkg, package()).expect("write package");
    let out = miniguard(
        &[
            "scan",
            "--format",
            "sarif",
            "--fail-on",
            "never",
            "--no-progress",
            "--min-severity",
            "info",
        ],
        &pkg,
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).expect("sarif");
    let uris: BTreeSet<&str> = sarif["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str())
        .collect();
    assert!(
        uris.contains("__APP__.wxapkg/utils/request.js")
            && uris.contains("__APP__.wxapkg/pages/article/article.wxml"),
        "{uris:?}"
    );
}

#[test]
fn encrypted_package_in_a_folder_of_packages_scans_like_the_source() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).expect("tmp");
    // The PC client's layout: <cache>/<appid>/<version>/__APP__.wxapkg.
    let cache = dir.path().join("Applet");
    let folder = cache.join(APPID).join("12");
    std::fs::create_dir_all(&folder).expect("folders");
    std::fs::write(
        folder.join("__APP__.wxapkg"),
        packer::encrypt_pc(&package(), APPID),
    )
    .expect("write package");

    let expected = source_rows(&tmp, &format!("{APPID}/12/__APP__.wxapkg/"));
    // A single encrypted package, appid from its folder name.
    let single = rows(&scan_json(&folder.join("__APP__.wxapkg"), &tmp));
    let prefix = format!("{APPID}/12/");
    let single_mapped: BTreeSet<Row> = single
        .into_iter()
        .map(|(r, p, l)| (r, format!("{prefix}{p}"), l))
        .collect();
    assert_eq!(single_mapped, expected);
    // The whole folder of packages.
    assert_eq!(rows(&scan_json(&cache, &tmp)), expected);
    assert_temp_is_empty(&tmp);
}

/// A compiler that minifies (the platform's default) puts each module on one line; a module of
/// more than 1,000 characters then looks like a copied minified library, which a source scan
/// skips. In a package every module is minified, so it is analysed (issue 13).
#[test]
fn minified_modules_of_a_package_are_analysed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).expect("tmp");
    // A page's handlers, as a minifier writes them: long enough to be one 1,000+ character line.
    let mut handlers = String::new();
    for i in 0..40 {
        let _ = write!(
            handlers,
            "h{i}:function(){{this.setData({{n{i}:this.data.n{i}+1}})}},"
        );
    }
    let config = "\"use strict\";module.exports={apiBase:\"https://api.shop.example.com/v2\",\
                  appId:\"wx0123456789abcdef\",appSecret:\"9f86d081884c7d659a2feaa0c55ad015\"};";
    let page = format!(
        "\"use strict\";var e=require(\"../../config/index\");Page({{{handlers}login:function(){{\
         wx.request({{url:\"https://api.weixin.qq.com/sns/jscode2session\",data:{{appid:e.appId,\
         secret:e.appSecret,js_code:\"x\"}}}})}}}});"
    );
    assert!(page.len() > 1000, "{}", page.len());
    let tree = dir.path().join("tree");
    for (rel, text) in [
        ("app.json", r#"{"pages":["pages/index/index"]}"#),
        ("app.js", "\"use strict\";App({});"),
        ("config/index.js", config),
        ("pages/index/index.js", page.as_str()),
        ("pages/index/index.wxml", "<view>{{n0}}</view>"),
    ] {
        let p = tree.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("folders");
        std::fs::write(p, text).expect("write");
    }
    let pkg = dir.path().join("__APP__.wxapkg");
    std::fs::write(
        &pkg,
        packer::pack(&packer::compile(&packer::read_tree(&tree))),
    )
    .expect("package");

    // As a source folder, the long page is skipped like a copied library...
    let source = scan_json(&tree, &tmp);
    assert!(
        source["warnings"].to_string().contains("minified"),
        "{}",
        source["warnings"]
    );
    assert!(!rows(&source).iter().any(|r| r.0 == "A001"), "{source}");
    // ... in the package it is the app's code: the AppSecret sent from the client is found.
    let report = scan_json(&pkg, &tmp);
    let found = rows(&report);
    assert!(
        found.contains(&(
            "A001".to_owned(),
            "__APP__.wxapkg/pages/index/index.js".to_owned(),
            1
        )),
        "{found:#?}"
    );
    assert!(
        found.contains(&(
            "K001".to_owned(),
            "__APP__.wxapkg/config/index.js".to_owned(),
            1
        )),
        "{found:#?}"
    );
    assert!(
        !report["warnings"].to_string().contains("minified"),
        "{}",
        report["warnings"]
    );
    assert_temp_is_empty(&tmp);
}

#[test]
fn encrypted_package_without_appid_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pkg = dir.path().join("__APP__.wxapkg");
    std::fs::write(&pkg, packer::encrypt_pc(&package(), APPID)).expect("write");
    let out = miniguard(&["scan", "--no-progress"], &pkg, dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--appid") && err.contains("PC-encrypted"),
        "{err}"
    );

    let out_dir = dir.path().join("out");
    let out = Command::new(env!("CARGO_BIN_EXE_miniguard"))
        .env("LC_ALL", "C")
        .args(["unpack", "--appid", APPID, "-o"])
        .arg(&out_dir)
        .arg(&pkg)
        .output()
        .expect("unpack");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(out_dir.join("utils/request.js")).expect("module"),
        std::fs::read(example().join("miniprogram/utils/request.js")).expect("source")
    );
}

#[test]
fn unpack_restores_the_source_shape() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pkg = dir.path().join("__APP__.wxapkg");
    std::fs::write(&pkg, package()).expect("write");
    let out_dir = dir.path().join("out");
    let out = Command::new(env!("CARGO_BIN_EXE_miniguard"))
        .env("LC_ALL", "C")
        .args(["unpack", "-o"])
        .arg(&out_dir)
        .arg(&pkg)
        .output()
        .expect("unpack");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let src = packer::read_tree(&example().join("miniprogram"));
    let got = packer::read_tree(&out_dir);
    for (rel, bytes) in &src {
        assert_eq!(got.get(rel), Some(bytes), "{rel}");
    }
    assert!(!got.contains_key("app-service.js"));
}

#[test]
fn hostile_packages_end_in_a_clear_error_and_write_nothing_outside() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).expect("tmp");
    let index: &[(&[u8], u32, u32)] = &[(b"/../../escaped.js", 0, 0)];
    let start = packer::body_start(index);
    let traversal = packer::pack_index(&[(b"/../../escaped.js", start, 2)], b"x;");
    let index: &[(&[u8], u32, u32)] = &[(b"/a.js", 0, 0), (b"/b.js", 0, 0)];
    let s = packer::body_start(index);
    let overlap = packer::pack_index(&[(b"/a.js", s, 4), (b"/b.js", s + 2, 2)], b"abcd");
    let full = package();
    let truncated = full[..full.len() / 2].to_vec();
    let mut huge = packer::pack_index(&[], b"");
    huge[14..18].copy_from_slice(&u32::MAX.to_be_bytes());

    for (name, bytes, says) in [
        ("traversal", traversal, "unsafe name"),
        ("overlap", overlap, "overlap"),
        ("truncated", truncated, "truncated"),
        ("huge", huge, "more than the limit"),
    ] {
        let pkg = dir.path().join(format!("{name}.wxapkg"));
        std::fs::write(&pkg, bytes).expect("write");
        let out = miniguard(&["scan", "--no-progress"], &pkg, &tmp);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(
            err.contains(says) && !err.contains("panicked"),
            "{name}: {err}"
        );
        assert_temp_is_empty(&tmp);

        let out_dir = dir.path().join(format!("out-{name}"));
        let out = Command::new(env!("CARGO_BIN_EXE_miniguard"))
            .env("LC_ALL", "C")
            .args(["unpack", "-o"])
            .arg(&out_dir)
            .arg(&pkg)
            .output()
            .expect("unpack");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(says), "{name}: {err}");
    }
    assert!(!dir.path().join("escaped.js").exists());
    assert!(
        !dir.path()
            .parent()
            .expect("parent")
            .join("escaped.js")
            .exists()
    );
}
