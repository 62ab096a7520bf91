//! The vendored-code detector on real copies of old library versions
//! (`tests/fixtures/vendored/`, fetched by `scripts/fetch-vendored-fixtures.sh`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use miniguard_deps::vendored::{
    self, ScanOptions, detect_file, miniprogram_npm, scan_tree, scan_tree_with,
};
use miniguard_deps::{DepOrigin, DepSource, Dependency};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vendored/tree")
}

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn how(d: &Dependency) -> &str {
    match &d.origin {
        DepOrigin::Vendored { how } => how,
        DepOrigin::MiniprogramNpm => "miniprogram_npm",
        DepOrigin::Lockfile => "lockfile",
    }
}

/// (name, version, line, how) of each dependency, for compact assertions.
fn summary(deps: &[Dependency]) -> Vec<(String, String, u32, String)> {
    deps.iter()
        .map(|d| {
            (
                d.name.clone(),
                d.version.clone(),
                d.line,
                how(d).to_string(),
            )
        })
        .collect()
}

fn one(name: &str, version: &str, line: u32, how: &str) -> Vec<(String, String, u32, String)> {
    vec![(name.into(), version.into(), line, how.into())]
}

// ---------------------------------------------------------------------------------------------
// The data file

/// The converted retire.js signatures match what the converter makes of the raw data in
/// `../shared/advisories/` (beside the repository). Regenerate with
/// `MINIGUARD_BLESS=1 cargo test -p miniguard-deps --test vendored retire_extractors`.
#[test]
fn retire_extractors_data_is_current() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let raw = manifest.join("../../../shared/advisories/retirejs/jsrepository-master.json");
    let Ok(input) = std::fs::read_to_string(&raw) else {
        eprintln!("skipped: {} not found", raw.display());
        return;
    };
    let about = [
        "Converted from RetireJS/retire.js repository/jsrepository-master.json, commit fd8df0d6f1da46d4bc0446321395fcf708619e07 (Apache-2.0, Copyright retire.js contributors; see shared/advisories/README.md).",
        "Only the extractors (signatures) are kept, translated to Rust regex syntax with the version placeholder filled in; rules in crates/deps/src/vendored/retire.rs.",
        "Regenerate: MINIGUARD_BLESS=1 cargo test -p miniguard-deps --test vendored retire_extractors (reads ../shared/advisories/retirejs/jsrepository-master.json).",
    ];
    let converted = vendored::retire::convert(&input, &about).expect("the raw data converts");
    let mut text = serde_json::to_string_pretty(&converted).expect("serialisable");
    text.push('\n');
    let data = manifest.join("data/retire-extractors.json");
    if std::env::var_os("MINIGUARD_BLESS").is_some() {
        std::fs::write(&data, &text).expect("write the data file");
        return;
    }
    let committed = std::fs::read_to_string(&data).unwrap_or_default();
    assert!(
        committed == text,
        "crates/deps/data/retire-extractors.json is stale: run with MINIGUARD_BLESS=1"
    );
}

#[test]
fn every_signature_compiles() {
    let (counts, rejected) = vendored::signature_counts();
    assert_eq!(rejected, 0, "{counts:?}");
    let get = |kind: &str| {
        counts
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(0, |(_, n)| *n)
    };
    assert!(get("filecontent") > 200, "{counts:?}");
    assert!(get("filename") > 40, "{counts:?}");
    assert!(get("hashes") > 30, "{counts:?}");
}

// ---------------------------------------------------------------------------------------------
// Copied files

#[test]
fn each_fixture_is_recognised_with_name_version_and_line() {
    let cases = [
        // jQuery's npm 1.8.3 browser build: the banner's version is on line 2.
        ("lib/jquery.js", "jquery", "1.8.3", 2, "version banner"),
        ("libs/jquery.min.js", "jquery", "3.3.1", 1, "version banner"),
        // No version in lodash.min.js's banner: found in `An.VERSION="4.17.11"` near the end.
        (
            "libs/lodash.min.js",
            "lodash",
            "4.17.11",
            127,
            "version banner",
        ),
        (
            "utils/moment.min.js",
            "moment",
            "2.18.0",
            2,
            "version banner",
        ),
        ("libs/axios.min.js", "axios", "0.18.0", 1, "version banner"),
        (
            "static/handlebars.min.js",
            "handlebars",
            "4.0.11",
            4,
            "version banner",
        ),
        // crypto-js names no version: by hash. 3.1.9-1 and 3.3.0 ship these two files byte for
        // byte; the hash table labels such files with the highest release (see extra.rs).
        ("utils/crypto-js.js", "crypto-js", "3.3.0", 1, "file hash"),
        ("utils/aes.js", "crypto-js", "3.3.0", 1, "file hash"),
    ];
    for (rel, name, version, line, how) in cases {
        let rel = format!("miniprogram/{rel}");
        let deps = detect_file(&rel, &fixture(&rel));
        assert_eq!(summary(&deps), one(name, version, line, how), "{rel}");
        assert_eq!(deps[0].file, rel);
        assert_eq!(deps[0].source, DepSource::Registry);
        assert!(deps[0].direct && !deps[0].dev);
    }
}

#[test]
fn renamed_copies_are_recognised_by_content() {
    let crypto = fixture("miniprogram/utils/crypto-js.js");
    for name in ["utils/aes.js", "utils/enc.js", "vendor/a.js"] {
        let deps = detect_file(name, &crypto);
        assert_eq!(
            summary(&deps),
            one("crypto-js", "3.3.0", 1, "file hash"),
            "{name}"
        );
    }
    let lodash = fixture("miniprogram/libs/lodash.min.js");
    let deps = detect_file("utils/util.js", &lodash);
    assert_eq!(
        summary(&deps),
        one("lodash", "4.17.11", 127, "version banner")
    );
}

#[test]
fn windows_line_ends_do_not_change_the_hash() {
    // retire.js hashes content with CRLF turned into LF; a copy saved on Windows still matches.
    let crlf: Vec<u8> = fixture("miniprogram/utils/aes.js")
        .split(|&b| b == b'\n')
        .collect::<Vec<_>>()
        .join(&b"\r\n"[..]);
    let deps = detect_file("utils/aes.js", &crlf);
    assert_eq!(summary(&deps), one("crypto-js", "3.3.0", 1, "file hash"));
}

#[test]
fn an_edited_copy_of_a_library_without_banner_is_named_without_version() {
    let mut edited = fixture("miniprogram/utils/crypto-js.js");
    edited.extend_from_slice(b"\n// patched by us\n");
    let deps = detect_file("utils/crypto.js", &edited);
    assert_eq!(
        summary(&deps),
        one("crypto-js", "", 19, "characteristic string")
    );
    let mut edited = fixture("miniprogram/utils/aes.js");
    edited.extend_from_slice(b"\n// patched by us\n");
    let deps = detect_file("utils/aes.js", &edited);
    assert_eq!(
        summary(&deps),
        one("crypto-js", "", 4, "characteristic string")
    );
}

#[test]
fn file_names_and_paths_count_when_the_content_says_nothing() {
    let deps = detect_file("lib/jquery-1.8.0.min.js", b"/* emptied */");
    assert_eq!(summary(&deps), one("jquery", "1.8.0", 1, "file name"));
    let deps = detect_file("static/1.12.4/jquery.min.js", b"");
    assert_eq!(summary(&deps), one("jquery", "1.12.4", 1, "file path"));
    // The content wins over a misleading name: one dependency, the banner's.
    let deps = detect_file(
        "lib/jquery-1.8.0.min.js",
        &fixture("miniprogram/libs/jquery.min.js"),
    );
    assert_eq!(summary(&deps), one("jquery", "3.3.1", 1, "version banner"));
}

#[test]
fn clean_files_are_not_libraries() {
    let page = fixture("miniprogram/pages/index/index.js");
    assert_eq!(
        detect_file("miniprogram/pages/index/index.js", &page),
        vec![]
    );
    let snippets: [&[u8]; 6] = [
        b"const jquery = require('jquery'); // jQuery 1.8.0 was here\n",
        b"import _ from 'lodash'; export const v = _.VERSION; // lodash v4.17.11\n",
        b"const key = CryptoJS.AES.encrypt(text, 'k').toString(); // crypto-js 3.1.9\n",
        b"// moment.js\n// not a version : none\nmoment().format();\n",
        b"module.exports = { name: 'axios', version: '0.18.0' };\n",
        b"/* Handlebars-like template engine of our own, version 4.0.11 */\n",
    ];
    for s in snippets {
        assert_eq!(
            detect_file("utils/mine.js", s),
            vec![],
            "{}",
            String::from_utf8_lossy(s)
        );
    }
}

#[test]
fn binary_garbage_never_panics() {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut noise = Vec::with_capacity(1 << 20);
    while noise.len() < 1 << 20 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        noise.extend_from_slice(&state.to_le_bytes());
    }
    assert_eq!(detect_file("a.js", &noise), vec![]);
    let all: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    assert_eq!(detect_file("b.js", &all), vec![]);
    // A banner whose version is not text, lone CRs, NULs: still no panic.
    let weird = b"/*! jQuery v1.\xff\xfe.0 \r\r\x00 */\r/*! jQuery v\x00";
    let _ = detect_file("c.js", weird);
    assert_eq!(detect_file("", b""), vec![]);
    let _ = detect_file("\\weird\\path\\jquery-1.2.3.js", &noise[..100]);
}

#[test]
fn a_huge_file_is_handled_quickly() {
    // 8 MiB of minified-looking code with a banner at the top and a jQuery-like string past the
    // search window: the banner is found, the tail is not searched.
    let mut huge = b"/*! jQuery v1.11.1 | (c) 2005, 2014 jQuery Foundation */\n".to_vec();
    let chunk =
        b"function(a,b){var c=a.length,d=\"x\";return b?c:d.split(\",\")};e.fn=e.prototype={};";
    while huge.len() < 8 << 20 {
        huge.extend_from_slice(chunk);
    }
    huge.extend_from_slice(b"\nvar v={jquery:\"9.9.9\"};");
    let start = Instant::now();
    let deps = detect_file("big.js", &huge);
    let took = start.elapsed();
    assert_eq!(summary(&deps), one("jquery", "1.11.1", 1, "version banner"));
    // Generous for unoptimised test builds; see docs/benchmarks.md for release figures.
    assert!(took < Duration::from_secs(5), "took {took:?}");
    eprintln!("8 MiB file: {took:?}");
}

// ---------------------------------------------------------------------------------------------
// miniprogram_npm

#[test]
fn miniprogram_npm_packages_get_their_versions() {
    let deps = miniprogram_npm(&fixtures(), &["miniprogram/miniprogram_npm".to_string()]);
    let got: Vec<_> = deps
        .iter()
        .map(|d| (d.name.as_str(), d.version.as_str(), d.file.as_str(), d.line))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "@vant/weapp",
                "1.3.3",
                "miniprogram/miniprogram_npm/@vant/weapp/package.json",
                3
            ),
            (
                "lodash",
                "4.17.11",
                "miniprogram/miniprogram_npm/lodash/index.js",
                15
            ),
            // Neither package.json nor a version in the main file: version unknown.
            (
                "mp-html",
                "",
                "miniprogram/miniprogram_npm/mp-html/index.js",
                1
            ),
        ]
    );
    for d in &deps {
        assert_eq!(d.origin, DepOrigin::MiniprogramNpm);
        assert_eq!(d.source, DepSource::Registry);
        // No package.json beside miniprogram_npm says otherwise.
        assert!(d.direct && !d.dev);
    }
    assert_eq!(
        miniprogram_npm(&fixtures(), &["nowhere/miniprogram_npm".into()]),
        vec![]
    );
}

#[test]
fn direct_packages_are_those_the_mini_program_declares() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(
        root,
        "package.json",
        br#"{"dependencies": {"dayjs": "^1.8.0"}}"#,
    );
    write(
        root,
        "miniprogram_npm/dayjs/index.js",
        b"module.exports = 1;\n",
    );
    write(
        root,
        "miniprogram_npm/tslib/package.json",
        b"{\n  \"name\": \"tslib\",\n  \"version\": \"1.9.0\"\n}\n",
    );
    let deps = miniprogram_npm(root, &["miniprogram_npm".into()]);
    let got: Vec<_> = deps.iter().map(|d| (d.name.as_str(), d.direct)).collect();
    assert_eq!(got, vec![("dayjs", true), ("tslib", false)]);
}

// ---------------------------------------------------------------------------------------------
// The tree walk

#[test]
fn scan_tree_finds_copies_and_packages_once() {
    let deps = scan_tree(&fixtures()).expect("scan");
    let got: Vec<_> = deps
        .iter()
        .map(|d| (d.file.as_str(), d.name.as_str(), d.version.as_str(), how(d)))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "miniprogram/lib/jquery.js",
                "jquery",
                "1.8.3",
                "version banner"
            ),
            (
                "miniprogram/libs/axios.min.js",
                "axios",
                "0.18.0",
                "version banner"
            ),
            (
                "miniprogram/libs/jquery.min.js",
                "jquery",
                "3.3.1",
                "version banner"
            ),
            (
                "miniprogram/libs/lodash.min.js",
                "lodash",
                "4.17.11",
                "version banner"
            ),
            (
                "miniprogram/miniprogram_npm/@vant/weapp/package.json",
                "@vant/weapp",
                "1.3.3",
                "miniprogram_npm"
            ),
            // Reported once, as a package, not again as a copied file.
            (
                "miniprogram/miniprogram_npm/lodash/index.js",
                "lodash",
                "4.17.11",
                "miniprogram_npm"
            ),
            (
                "miniprogram/miniprogram_npm/mp-html/index.js",
                "mp-html",
                "",
                "miniprogram_npm"
            ),
            (
                "miniprogram/static/handlebars.min.js",
                "handlebars",
                "4.0.11",
                "version banner"
            ),
            (
                "miniprogram/utils/aes.js",
                "crypto-js",
                "3.3.0",
                "file hash"
            ),
            (
                "miniprogram/utils/crypto-js.js",
                "crypto-js",
                "3.3.0",
                "file hash"
            ),
            (
                "miniprogram/utils/moment.min.js",
                "moment",
                "2.18.0",
                "version banner"
            ),
        ]
    );
}

fn write(root: &Path, rel: &str, content: &[u8]) {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, content).expect("write");
}

#[test]
fn scan_tree_honours_gitignore_skips_node_modules_and_caps_sizes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let banner = b"/*! jQuery v1.12.4 | (c) jQuery Foundation | jquery.org/license */\n";
    write(root, "libs/jquery.min.js", banner);
    write(root, "node_modules/jquery/dist/jquery.min.js", banner);
    write(root, "build/jquery.min.js", banner);
    write(
        root,
        "big/jquery.min.js",
        &[banner.as_slice(), &[b' '; 4096]].concat(),
    );
    write(root, ".gitignore", b"build/\nminiprogram_npm/\n");
    write(
        root,
        "miniprogram_npm/dayjs/index.js",
        b"module.exports = 1;\n",
    );
    let opts = ScanOptions {
        max_file_size: 1024,
        ..ScanOptions::default()
    };
    let out = scan_tree_with(root, &opts).expect("scan");
    let got: Vec<_> = out
        .dependencies
        .iter()
        .map(|d| (d.file.as_str(), d.name.as_str(), d.version.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("libs/jquery.min.js", "jquery", "1.12.4"),
            // Build output, git-ignored, yet uploaded with the mini-program: still found.
            ("miniprogram_npm/dayjs/index.js", "dayjs", ""),
        ]
    );
    assert_eq!(out.skipped, vec!["big/jquery.min.js".to_string()]);
    assert_eq!(
        out.miniprogram_npm_dirs,
        vec!["miniprogram_npm".to_string()]
    );
    assert_eq!(out.files_scanned, 1);

    let capped = ScanOptions {
        max_files: 0,
        ..ScanOptions::default()
    };
    let out = scan_tree_with(root, &capped).expect("scan");
    assert_eq!(out.files_scanned, 0);
    assert_eq!(out.not_scanned, 2);
}

#[test]
fn a_missing_root_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(scan_tree(&dir.path().join("missing")).is_err());
}

/// retire.js's jQuery patterns with backreferences (`(.)\.fn=(\2)\.prototype`), translated to
/// checked group pairs: the names must agree.
#[test]
fn translated_backreferences_are_checked() {
    let pad = "x".repeat(80);
    let same = format!("var V=\"2.2.4\",{pad};w.fn=w.prototype={{jquery:V}}");
    let deps = detect_file("a.js", same.as_bytes());
    assert_eq!(summary(&deps), one("jquery", "2.2.4", 1, "version banner"));
    let differ = format!("var V=\"2.2.4\",{pad};w.fn=k.prototype={{jquery:V}}");
    assert_eq!(detect_file("a.js", differ.as_bytes()), vec![]);
    // The `filecontentreplace` twin of the pattern (`\3\.fn=\3\.prototype`) refuses it too.
    let gap = "y".repeat(140);
    let wrong = format!("var a=b.document,c=\"1.7.2\",d={gap};d.fn=e.prototype={{jquery:c,");
    assert_eq!(detect_file("b.js", wrong.as_bytes()), vec![]);
}

/// `filecontentreplace` patterns build the version from several groups.
#[test]
fn replacement_patterns_build_the_version() {
    let deps = detect_file(
        "d.js",
        b"x;dojo.version={major:1,minor:4,patch:3,flag:\"\"};",
    );
    assert_eq!(summary(&deps), one("dojo", "1.4.3", 1, "version banner"));
}
