//! The scan pipeline after the rules (issue 10): one flaw is one finding with its other places
//! as related locations (item 2), and severity follows where the code runs (item 1).

use miniguard_report::{Finding, Runtime, Severity};

#[path = "support/project.rs"]
mod support;
use support::{project, scan};

fn of<'f>(findings: &'f [Finding], rule: &str) -> Vec<&'f Finding> {
    findings.iter().filter(|f| f.rule == rule).collect()
}

const WECHAT: &[(&str, &str)] = &[
    (
        "project.config.json",
        r#"{"miniprogramRoot": "miniprogram/"}"#,
    ),
    (
        "miniprogram/app.json",
        r#"{"pages": ["pages/index/index", "pages/web/web"]}"#,
    ),
];

/// The same host in a config constant used by a wrapper from two pages, and written out again
/// in a third file: one finding at the first place, the other places related.
#[test]
fn one_plain_http_host_is_one_finding() {
    let mut files = WECHAT.to_vec();
    files.extend([
        (
            "miniprogram/config.js",
            "module.exports = { BASE: 'http://api.example-shop.com' }\n",
        ),
        (
            "miniprogram/utils/http.js",
            "const { BASE } = require('../config')\nfunction get(path) {\n  return wx.request({ url: BASE + path })\n}\nfunction post(path, data) {\n  return wx.request({ url: BASE + path, method: 'POST', data })\n}\nmodule.exports = { get, post }\n",
        ),
        (
            "miniprogram/pages/index/index.js",
            "const http = require('../../utils/http')\nPage({ onLoad() { http.get('/goods'); http.post('/cart', {}) } })\n",
        ),
        (
            "miniprogram/pages/web/web.js",
            "Page({ onLoad() { wx.request({ url: 'http://api.example-shop.com/banner' }) } })\n",
        ),
    ]);
    let p = project(&files);
    let findings = scan(p.path());
    let t001 = of(&findings, "T001");
    assert_eq!(t001.len(), 1, "{t001:#?}");
    let f = t001[0];
    assert_eq!(f.location.path, "miniprogram/config.js");
    let related: Vec<(String, u32)> = f
        .related
        .iter()
        .map(|r| (r.location.path.clone(), r.location.start.line))
        .collect();
    assert!(
        related.contains(&("miniprogram/pages/web/web.js".into(), 1)),
        "{related:?}"
    );
    // The second sink of the wrapper (the first is the finding's own trace).
    assert!(
        related.contains(&("miniprogram/utils/http.js".into(), 6))
            || f.trace.iter().any(|t| t.location.start.line == 6),
        "{related:?}"
    );
}

/// A native mini-program's release build refuses plain-HTTP request domains: low. The same
/// code in uni-app, which also builds H5 and App, stays high, unless it sits in an
/// `#ifdef MP-WEIXIN` block; an `#ifdef H5` block is high.
#[test]
fn plain_http_severity_follows_where_the_code_runs() {
    let mut files = WECHAT.to_vec();
    files.push((
        "miniprogram/pages/index/index.js",
        "Page({ onLoad() { wx.request({ url: 'http://native.example.com/a' }) } })\n",
    ));
    let p = project(&files);
    let findings = scan(p.path());
    let t001 = of(&findings, "T001");
    assert_eq!(t001.len(), 1);
    assert_eq!(t001[0].severity, Severity::Low);
    assert_eq!(t001[0].runtime, Some(Runtime::MiniProgram));
    assert!(
        t001[0]
            .severity_reason
            .as_deref()
            .is_some_and(|r| r.contains("HTTPS")),
        "{:?}",
        t001[0].severity_reason
    );

    let p = project(&[
        ("src/manifest.json", r#"{"name": "shop", "mp-weixin": {}}"#),
        (
            "src/pages.json",
            r#"{"pages": [{"path": "pages/index/index"}]}"#,
        ),
        (
            "src/pages/index/index.vue",
            "<template><view/></template>\n<script>\nexport default {\n  onLoad() {\n    uni.request({ url: 'http://both.example.com/a' })\n    // #ifdef MP-WEIXIN\n    uni.request({ url: 'http://weixin.example.com/a' })\n    // #endif\n    // #ifdef H5\n    uni.request({ url: 'http://h5.example.com/a' })\n    // #endif\n  }\n}\n</script>\n",
        ),
    ]);
    let findings = scan(p.path());
    let by_host = |host: &str| {
        findings
            .iter()
            .find(|f| f.rule == "T001" && f.message.contains(host))
            .map(|f| (f.severity, f.runtime))
    };
    assert_eq!(
        by_host("both.example.com"),
        Some((Severity::High, Some(Runtime::CrossPlatform)))
    );
    assert_eq!(
        by_host("weixin.example.com"),
        Some((Severity::Low, Some(Runtime::MiniProgram)))
    );
    assert_eq!(
        by_host("h5.example.com"),
        Some((Severity::High, Some(Runtime::H5)))
    );
}

/// Settings only the developer tools read are `info`; the `project.config.json` that uni-app
/// generates from `manifest.json` is not a second finding.
#[test]
fn developer_tools_settings_are_info_and_reported_once() {
    let p = project(&[
        (
            "src/manifest.json",
            r#"{"name": "shop", "mp-weixin": {"appid": "wx0123456789abcdef", "setting": {"urlCheck": false}}}"#,
        ),
        (
            "src/pages.json",
            r#"{"pages": [{"path": "pages/index/index"}]}"#,
        ),
        (
            "src/pages/index/index.vue",
            "<template><view/></template>\n",
        ),
        (
            "project.config.json",
            r#"{"miniprogramRoot": "src/", "setting": {"urlCheck": false}}"#,
        ),
        (
            "native/project.config.json",
            r#"{"setting": {"urlCheck": true}}"#,
        ),
        (
            "native/app.json",
            "{\"pages\": [\"pages/a/a\"],\n \"debug\": true}",
        ),
        ("native/pages/a/a.js", "Page({})\n"),
    ]);
    let findings = scan(p.path());
    let t002 = of(&findings, "T002");
    assert_eq!(t002.len(), 1, "{t002:#?}");
    assert_eq!(t002[0].location.path, "src/manifest.json");
    assert_eq!(t002[0].severity, Severity::Info);
    assert_eq!(t002[0].runtime, Some(Runtime::DevTools));
    assert_eq!(t002[0].related.len(), 1);
    assert_eq!(t002[0].related[0].location.path, "project.config.json");

    let c001 = of(&findings, "C001");
    assert_eq!(c001.len(), 1);
    assert_eq!(c001[0].severity, Severity::Info);
    assert_eq!(c001[0].location.start.line, 2);
}

/// The `session_key` written to storage is one flaw: A002 (the `session_key` on the client) is the
/// specific rule, S001 (sensitive data in storage) the general one, at the same place.
#[test]
fn the_most_specific_rule_reports_a_place_once() {
    let mut files = WECHAT.to_vec();
    files.push((
        "miniprogram/pages/index/index.js",
        "Page({\n  onLoad() {\n    wx.request({ url: 'https://api.example.com/login', success(res) {\n      wx.setStorageSync('session_key', res.data.session_key)\n    } })\n  }\n})\n",
    ));
    let p = project(&files);
    let findings = scan(p.path());
    let on_line_4: Vec<&str> = findings
        .iter()
        .filter(|f| f.location.start.line == 4)
        .map(|f| f.rule.as_str())
        .collect();
    assert!(on_line_4.contains(&"A002"), "{findings:#?}");
    assert!(!on_line_4.contains(&"S001"), "{findings:#?}");
    assert!(
        findings.iter().any(|f| f.rule == "A002"
            && f.related
                .iter()
                .any(|r| r.note.starts_with("also S001 (sensitive-storage)")
                    && r.location.start.line == 4)),
        "{findings:#?}"
    );
}

/// One user id read from the event and used by three queries is one A003 finding with the
/// other queries related; the ownership finding (A007) of a later query is the same flaw and
/// is folded into it, not listed on its own because the A003 of that query was merged.
#[test]
fn one_identity_from_the_event_is_one_finding_with_its_queries() {
    let files = [
        (
            "project.config.json",
            r#"{"miniprogramRoot": "miniprogram/", "cloudfunctionRoot": "cloudfunctions/"}"#,
        ),
        ("miniprogram/app.json", r#"{"pages": []}"#),
        (
            "cloudfunctions/points/package.json",
            r#"{"dependencies": {"wx-server-sdk": "*"}}"#,
        ),
        (
            "cloudfunctions/points/index.js",
            "const cloud = require('wx-server-sdk')\n\
             cloud.init()\n\
             const db = cloud.database()\n\
             exports.main = async (event) => {\n\
               const { userId } = event\n\
               const found = await db.collection('points').where({ userId }).get()\n\
               await db.collection('points').where({ userId }).count()\n\
               return db.collection('users').doc(userId).remove()\n\
             }\n",
        ),
    ];
    let p = project(&files);
    let findings = scan(p.path());
    let a003 = of(&findings, "A003");
    assert_eq!(a003.len(), 1, "{findings:#?}");
    assert_eq!(a003[0].location.start.line, 6);
    let related: Vec<u32> = a003[0]
        .related
        .iter()
        .map(|r| r.location.start.line)
        .collect();
    assert!(related.contains(&7) && related.contains(&8), "{related:?}");
    assert!(of(&findings, "A007").is_empty(), "{findings:#?}");
}

/// A minified page is one line: the `session_key` stored there (A002, with S001 folded in) must
/// not swallow the password stored further along the same line (S001), a different place
/// (issue 13: packages built by the platform's compiler are minified).
#[test]
fn one_line_is_not_one_place() {
    let mut files = WECHAT.to_vec();
    files.push((
        "miniprogram/pages/index/index.js",
        "Page({g:function(){wx.request({url:\"https://api.example.com/login\",success:function(r){var s=r.data.session_key;wx.setStorageSync(\"session_key\",s)}})},f:function(){var e=this.data,o=e.password;wx.setStorageSync(\"password\",o)}});\n",
    ));
    let p = project(&files);
    let findings = scan(p.path());
    let page: Vec<(&str, u32)> = findings
        .iter()
        .filter(|f| f.location.path == "miniprogram/pages/index/index.js")
        .map(|f| (f.rule.as_str(), f.location.start.column))
        .collect();
    let password = findings
        .iter()
        .find(|f| f.rule == "S001" && f.message.contains("`password`"));
    assert!(
        password.is_some_and(|f| f.location.start.line == 1),
        "{page:?}"
    );
    // The session_key stored is still one finding, A002, with S001 beside it.
    let stored = findings
        .iter()
        .filter(|f| f.rule == "A002" && f.message.contains("setStorageSync"))
        .collect::<Vec<_>>();
    assert_eq!(stored.len(), 1, "{page:?}");
    assert!(
        stored[0]
            .related
            .iter()
            .any(|r| r.note.starts_with("also S001 (sensitive-storage)")),
        "{:#?}",
        stored[0].related
    );
    assert!(
        !findings
            .iter()
            .any(|f| f.rule == "S001" && f.message.contains("session")),
        "{page:?}"
    );
}

/// A web-view in a native mini-program is bounded by the business-domain list: medium. In
/// uni-app code that is also built for App, high.
#[test]
fn web_view_severity_follows_where_the_code_runs() {
    let mut files = WECHAT.to_vec();
    files.extend([
        (
            "miniprogram/pages/web/web.js",
            "Page({ data: { url: '' }, onLoad(options) { this.setData({ url: options.url }) } })\n",
        ),
        (
            "miniprogram/pages/web/web.wxml",
            "<web-view src=\"{{url}}\"></web-view>\n",
        ),
    ]);
    let p = project(&files);
    let x002 = scan(p.path());
    let x002 = of(&x002, "X002");
    assert_eq!(x002.len(), 1);
    assert_eq!(x002[0].severity, Severity::Medium);
    assert!(x002[0].severity_reason.is_some());
}

/// A finding carries a few lines around its own for code context (issue 14), none past the
/// file's ends, and none for minified code.
#[test]
fn findings_carry_context_lines_but_not_from_minified_code() {
    let mut files = WECHAT.to_vec();
    let long = format!("var pad = '{}'", "x".repeat(400));
    let minified = format!("{long}\nwx.request({{ url: 'http://min.example.com/a' }})\n{long}\n");
    files.extend([
        (
            "miniprogram/pages/index/index.js",
            "// one\n// two\n// three\nwx.request({ url: 'http://api.example.com/a' })\n// four\n",
        ),
        ("miniprogram/pages/web/web.js", minified.as_str()),
    ]);
    let dir = project(&files);
    let found = scan(dir.path());
    let t001 = of(&found, "T001");
    let plain = t001
        .iter()
        .find(|f| f.location.path.ends_with("index.js"))
        .expect("T001 in index.js");
    assert_eq!(plain.location.context_before, "// two\n// three");
    assert_eq!(plain.location.context_after, "// four");
    let min = t001
        .iter()
        .find(|f| f.location.path.ends_with("web.js"))
        .expect("T001 in web.js");
    assert!(min.location.context_before.is_empty() && min.location.context_after.is_empty());
}
