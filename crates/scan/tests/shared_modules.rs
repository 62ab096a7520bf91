//! Modules imported by the files of many batches (a shared `utils/request.js` and the
//! `config.js` it reads): each worker parses such a module once and evaluates its top level once,
//! the batches after that take the summary of it, and the report is the one of a scan that
//! evaluated everything again in every batch, whatever the number of workers.

use std::path::Path;

use miniguard_project::{DiscoverOptions, discover};
use miniguard_scan::ScanOutput;

/// A project made of `files` (path, content) in a fresh directory.
fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, content) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, content).expect("write");
    }
    dir
}

/// A mini-program whose `pages` pages (eight files to a batch) all load the list through the
/// same wrapper, which sends it to a plain-HTTP base URL from a config module.
fn shop(pages: usize) -> (tempfile::TempDir, usize) {
    let mut files: Vec<(String, String)> = vec![
        (
            "project.config.json".into(),
            r#"{"miniprogramRoot": "miniprogram/"}"#.into(),
        ),
        ("miniprogram/app.js".into(), "App({ globalData: {} })\n".into()),
        (
            "miniprogram/utils/config.js".into(),
            "const HOSTS = { release: 'http://api.shop-demo.com' }\n\
             const BASE_URL = HOSTS.release + '/v1'\n\
             const STATUS = { NEW: 0, PAID: 1, SHIPPED: 2 }\n\
             module.exports = { BASE_URL, STATUS }\n"
                .into(),
        ),
        (
            "miniprogram/utils/request.js".into(),
            "const config = require('./config.js')\n\
             function request(path, data) {\n\
               return new Promise((resolve, reject) => {\n\
                 wx.request({ url: config.BASE_URL + path, data, success: resolve, fail: reject })\n\
               })\n\
             }\n\
             module.exports = { get: (path, data) => request(path, data) }\n"
                .into(),
        ),
    ];
    let mut names = Vec::new();
    for i in 0..pages {
        names.push(format!("\"pages/p{i}/p{i}\""));
        files.push((
            format!("miniprogram/pages/p{i}/p{i}.js"),
            format!(
                "const {{ get }} = require('../../utils/request.js')\n\
                 const config = require('../../utils/config.js')\n\
                 Page({{\n\
                   data: {{ list: [], status: config.STATUS.NEW }},\n\
                   onLoad() {{\n\
                     get('/list/{i}').then((list) => this.setData({{ list }}))\n\
                   }},\n\
                 }})\n"
            ),
        ));
        files.push((
            format!("miniprogram/pages/p{i}/p{i}.wxml"),
            "<view wx:for=\"{{list}}\">{{item.name}}</view>\n".into(),
        ));
    }
    files.push((
        "miniprogram/app.json".into(),
        format!("{{\"pages\": [{}]}}", names.join(", ")),
    ));
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    // The pages, the app, the wrapper and the config.
    (project(&refs), pages + 3)
}

fn scan(dir: &Path, jobs: usize) -> ScanOutput {
    let project = discover(dir, &DiscoverOptions::default()).expect("discovers");
    miniguard_scan::scan(&project, miniguard_scan::rules::all(), Some(jobs), &|_| {}).expect("scan")
}

/// The report as comparable text: findings and warnings, each sorted.
fn report(out: &ScanOutput) -> (Vec<String>, Vec<String>) {
    let mut findings: Vec<String> = out
        .findings
        .iter()
        .map(|f| serde_json::to_string(f).expect("serializes"))
        .collect();
    findings.sort();
    let mut warnings: Vec<String> = out.warnings.iter().map(|w| format!("{w:?}")).collect();
    warnings.sort();
    (findings, warnings)
}

/// Before, every batch of eight files parsed and evaluated again the wrapper and the config its
/// pages import: 40 pages parsed them five times each. One worker now parses every file once
/// and evaluates every top level once; the other batches take the summaries.
#[test]
fn a_shared_module_is_parsed_and_evaluated_once_per_worker() {
    let (dir, scripts) = shop(40);
    let out = scan(dir.path(), 1);
    assert_eq!(out.work.modules_parsed, scripts as u64, "{:?}", out.work);
    assert_eq!(
        out.work.top_levels_evaluated, scripts as u64,
        "{:?}",
        out.work
    );
    assert!(out.work.top_levels_from_summaries >= 8, "{:?}", out.work);
    // The flaw the pages reach through the wrapper is still found, once.
    let plain: Vec<_> = out.findings.iter().filter(|f| f.rule == "T001").collect();
    assert_eq!(plain.len(), 1, "{:#?}", out.findings);
    assert_eq!(plain[0].location.path, "miniprogram/utils/config.js");
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
}

/// Which worker ran which batch, and so what each had kept from the batches before, does not
/// change the report.
#[test]
fn the_report_does_not_depend_on_the_workers() {
    let (dir, _) = shop(60);
    let one = scan(dir.path(), 1);
    for jobs in [2, 3] {
        let many = scan(dir.path(), jobs);
        assert_eq!(report(&one), report(&many), "-j {jobs}");
        // Each worker parses a file once at most.
        assert!(
            many.work.modules_parsed <= one.work.modules_parsed * jobs as u64,
            "{:?}",
            many.work
        );
    }
}

/// A module's top level ran with the state of the code that needed it first: `lib.js`'s
/// literal was taken for a password because the file that needed `lib.js` first was assigning
/// to `password` (a false finding that came and went with the order of the files). Top levels
/// now run as an entry's does, which also lets a summary of one stand for every batch.
#[test]
fn a_top_level_runs_the_same_whoever_needs_it_first() {
    let dir = project(&[
        (
            "a.js",
            "const password = require('./lib').ok\nconsole.log(password)\n",
        ),
        (
            "lib.js",
            ";['Zx9Kq2Lm8Pw4Rt6Yv1Nb'].forEach(function () {})\nmodule.exports = { ok: 1 }\n",
        ),
    ]);
    let out = scan(dir.path(), 1);
    assert!(
        out.findings
            .iter()
            .all(|f| f.location.path != "lib.js" || f.rule != "K004"),
        "{:#?}",
        out.findings
    );
}
