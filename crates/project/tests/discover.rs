//! Discovery over small project trees built in temporary folders.

use std::fs;
use std::path::{Path, PathBuf};

use miniguard_project::{
    DiscoverError, DiscoverOptions, FileKind, JsonKind, Platform, Project, Role, ScriptLang,
    SkipReason, TemplateLang, discover,
};

/// Writes `files` (relative path, content) under a fresh temporary folder.
fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (rel, content) in files {
        write(dir.path(), rel, content.as_bytes());
    }
    dir
}

fn write(root: &Path, rel: &str, content: &[u8]) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
}

fn scan(root: &Path) -> Project {
    discover(root, &DiscoverOptions::default()).unwrap()
}

fn rels(project: &Project) -> Vec<&str> {
    project.files.iter().map(|f| f.rel.as_str()).collect()
}

fn role(project: &Project, rel: &str) -> Role {
    project
        .file(rel)
        .unwrap_or_else(|| panic!("{rel} not discovered; have {:?}", rels(project)))
        .role
}

fn kind(project: &Project, rel: &str) -> FileKind {
    project
        .file(rel)
        .unwrap_or_else(|| panic!("{rel} not discovered; have {:?}", rels(project)))
        .kind
}

fn skip_reason(project: &Project, rel: &str) -> Option<SkipReason> {
    project
        .skipped
        .iter()
        .find(|s| s.rel == rel)
        .map(|s| s.reason)
}

const PROJECT_CONFIG: &str = r#"{
  // WeChat developer tools accept comments here
  "miniprogramRoot": "miniprogram/",
  "cloudfunctionRoot": "cloudfunctions/",
  "setting": { "urlCheck": false },
  "appid": "wx0000000000000000"
}"#;

const APP_JSON: &str = r#"{
  "pages": ["pages/index/index", "pages/logs/logs"],
  "subpackages": [
    { "root": "packageA", "name": "a", "pages": ["pages/cat/cat"] },
    { "root": "packageB/", "pages": ["dog"], "independent": true }
  ],
  "usingComponents": { "nav": "/components/nav/nav" }
}"#;

fn wechat_tree() -> tempfile::TempDir {
    tree(&[
        ("project.config.json", PROJECT_CONFIG),
        ("miniprogram/app.json", APP_JSON),
        ("miniprogram/app.js", "App({})"),
        ("miniprogram/pages/index/index.js", "Page({})"),
        ("miniprogram/pages/index/index.wxml", "<view>{{x}}</view>"),
        (
            "miniprogram/pages/index/index.json",
            r#"{ "usingComponents": { "card": "../../components/card/card", "nav": "/components/nav/nav" } }"#,
        ),
        ("miniprogram/pages/index/index.wxss", "view {}"),
        ("miniprogram/utils/format.wxs", "module.exports = {}"),
        ("miniprogram/api/user.js", "wx.request({})"),
        ("miniprogram/sitemap.json", r#"{ "rules": [] }"#),
        ("miniprogram/typings/index.d.ts", "declare const wx: any;"),
        ("miniprogram/images/logo.png", "not really a png"),
        (
            "miniprogram/miniprogram_npm/vant/index.js",
            "module.exports = 1",
        ),
        (
            "cloudfunctions/login/index.js",
            "exports.main = async (event) => event",
        ),
        (
            "cloudfunctions/login/package.json",
            r#"{ "dependencies": { "wx-server-sdk": "~2.6.3" } }"#,
        ),
        (
            "cloudfunctions/login/config.json",
            r#"{ "permissions": { "openapi": [] } }"#,
        ),
        ("cloudfunctions/login/package-lock.json", "{}"),
        (
            "cloudfunctions/login/node_modules/wx-server-sdk/index.js",
            "module.exports = 1",
        ),
        ("node_modules/lodash/lodash.js", "module.exports = 1"),
        (
            "package.json",
            r#"{ "devDependencies": { "eslint": "8" } }"#,
        ),
        ("scripts/deploy.js", "console.log(1)"),
        (".eslintrc.js", "module.exports = {}"),
    ])
}

#[test]
fn wechat_project_with_miniprogram_and_cloudfunction_roots() {
    let dir = wechat_tree();
    let project = scan(dir.path());

    assert_eq!(project.platform, Platform::WeChat);
    assert_eq!(
        project.miniprogram_roots,
        vec![PathBuf::from("miniprogram")]
    );
    assert_eq!(
        project.cloudfunction_roots,
        vec![PathBuf::from("cloudfunctions")]
    );
    assert!(project.warnings.is_empty(), "{:?}", project.warnings);

    assert_eq!(
        rels(&project),
        vec![
            "cloudfunctions/login/config.json",
            "cloudfunctions/login/index.js",
            "cloudfunctions/login/package.json",
            "miniprogram/api/user.js",
            "miniprogram/app.js",
            "miniprogram/app.json",
            "miniprogram/pages/index/index.js",
            "miniprogram/pages/index/index.json",
            "miniprogram/pages/index/index.wxml",
            "miniprogram/sitemap.json",
            "miniprogram/utils/format.wxs",
            "package.json",
            "project.config.json",
            "scripts/deploy.js",
        ]
    );

    assert_eq!(role(&project, "miniprogram/app.js"), Role::Client);
    // A client `api/` folder stays client code.
    assert_eq!(role(&project, "miniprogram/api/user.js"), Role::Client);
    assert_eq!(
        role(&project, "cloudfunctions/login/index.js"),
        Role::CloudFunction
    );
    assert_eq!(role(&project, "scripts/deploy.js"), Role::Unknown);

    assert_eq!(
        kind(&project, "miniprogram/app.js"),
        FileKind::Script(ScriptLang::Js)
    );
    assert_eq!(
        kind(&project, "miniprogram/app.json"),
        FileKind::Json(JsonKind::AppJson)
    );
    assert_eq!(
        kind(&project, "miniprogram/pages/index/index.json"),
        FileKind::Json(JsonKind::PageJson)
    );
    assert_eq!(
        kind(&project, "miniprogram/pages/index/index.wxml"),
        FileKind::Template(TemplateLang::Wxml)
    );
    assert_eq!(
        kind(&project, "miniprogram/utils/format.wxs"),
        FileKind::Wxs
    );
    assert_eq!(
        kind(&project, "miniprogram/sitemap.json"),
        FileKind::Json(JsonKind::Other)
    );
    assert_eq!(
        kind(&project, "project.config.json"),
        FileKind::Json(JsonKind::ProjectConfig)
    );
    assert_eq!(
        kind(&project, "package.json"),
        FileKind::Json(JsonKind::PackageJson)
    );
    assert_eq!(
        kind(&project, "cloudfunctions/login/config.json"),
        FileKind::Json(JsonKind::CloudFunctionConfig)
    );

    // Vendor folders are listed once, not file by file.
    assert_eq!(
        skip_reason(&project, "node_modules"),
        Some(SkipReason::Vendor)
    );
    assert_eq!(
        skip_reason(&project, "miniprogram/miniprogram_npm"),
        Some(SkipReason::Vendor)
    );
    assert_eq!(
        skip_reason(&project, "cloudfunctions/login/node_modules"),
        Some(SkipReason::Vendor)
    );
    assert!(project.skipped.iter().all(|s| !s.rel.contains("lodash")));
    assert_eq!(
        project.lockfiles,
        vec!["cloudfunctions/login/package-lock.json"]
    );

    let [app] = project.apps.as_slice() else {
        panic!("one app expected: {:?}", project.apps);
    };
    assert_eq!(app.root_rel, "miniprogram");
    assert_eq!(app.config_rel, "miniprogram/app.json");
    assert_eq!(app.platform, Platform::WeChat);
    assert_eq!(app.pages, vec!["pages/index/index", "pages/logs/logs"]);
    assert_eq!(app.subpackages.len(), 2);
    assert_eq!(app.subpackages[0].root, "packageA");
    assert_eq!(app.subpackages[0].name.as_deref(), Some("a"));
    assert!(app.subpackages[1].independent);
    assert_eq!(
        app.all_pages(),
        vec![
            "pages/index/index",
            "pages/logs/logs",
            "packageA/pages/cat/cat",
            "packageB/dog"
        ]
    );
    assert_eq!(
        app.components,
        vec!["../../components/card/card", "/components/nav/nav"]
    );
}

#[test]
fn output_is_deterministic() {
    let dir = wechat_tree();
    assert_eq!(scan(dir.path()), scan(dir.path()));
}

#[test]
fn include_vendor_walks_vendor_folders() {
    let dir = wechat_tree();
    let opts = DiscoverOptions {
        include_vendor: true,
        ..DiscoverOptions::default()
    };
    let project = discover(dir.path(), &opts).unwrap();
    assert!(project.file("node_modules/lodash/lodash.js").is_some());
    assert!(
        project
            .file("miniprogram/miniprogram_npm/vant/index.js")
            .is_some()
    );
    assert!(project.skipped.is_empty(), "{:?}", project.skipped);
}

#[test]
fn gitignore_and_excludes_are_honoured_without_a_git_repository() {
    let dir = tree(&[
        ("app.json", r#"{ "pages": ["pages/a/a"] }"#),
        ("pages/a/a.js", "Page({})"),
        (".gitignore", "generated/\n*.gen.js\n"),
        ("generated/out.js", "x"),
        ("pages/a/b.gen.js", "x"),
        ("test/a.spec.js", "x"),
        ("pages/a/a.spec.js", "x"),
        (".hidden/secret.js", "x"),
    ]);
    let opts = DiscoverOptions {
        exclude: vec!["test/".into(), "*.spec.js".into()],
        ..DiscoverOptions::default()
    };
    let project = discover(dir.path(), &opts).unwrap();
    assert_eq!(rels(&project), vec!["app.json", "pages/a/a.js"]);
    assert_eq!(project.platform, Platform::Unknown);
    assert_eq!(project.miniprogram_roots, vec![PathBuf::new()]);
    assert_eq!(role(&project, "pages/a/a.js"), Role::Client);
}

#[test]
fn invalid_exclude_is_an_error() {
    let dir = tree(&[("a.js", "x")]);
    let opts = DiscoverOptions {
        exclude: vec!["a[".into()],
        ..DiscoverOptions::default()
    };
    assert!(matches!(
        discover(dir.path(), &opts),
        Err(DiscoverError::InvalidExclude { .. })
    ));
}

#[test]
fn missing_root_is_not_found() {
    let dir = tree(&[]);
    let missing = dir.path().join("nope");
    assert!(matches!(
        discover(&missing, &DiscoverOptions::default()),
        Err(DiscoverError::NotFound(p)) if p == missing
    ));
}

/// In a restored package the compiler minified every module: a minified script is the app's
/// code and is analysed; a file named like a minified library is still left out (issue 13).
#[test]
fn compiled_packages_keep_their_minified_modules() {
    let dir = tree(&[
        ("app.json", r#"{ "pages": ["pages/index/index"] }"#),
        ("lib/vendor.min.js", "var a=1;"),
    ]);
    let page = format!(
        "Page({{{}}});",
        "h:function(){this.setData({a:1})},".repeat(100)
    );
    write(dir.path(), "pages/index/index.js", page.as_bytes());
    assert_eq!(
        skip_reason(&scan(dir.path()), "pages/index/index.js"),
        Some(SkipReason::Minified)
    );
    let opts = DiscoverOptions {
        compiled_package: true,
        ..DiscoverOptions::default()
    };
    let project = discover(dir.path(), &opts).unwrap();
    assert!(project.file("pages/index/index.js").is_some());
    assert_eq!(
        skip_reason(&project, "lib/vendor.min.js"),
        Some(SkipReason::Minified)
    );
}

#[test]
fn minified_big_and_binary_files_are_skipped_and_reported() {
    let dir = tree(&[
        ("app.json", r#"{ "pages": [] }"#),
        ("lib/vendor.min.js", "var a=1;"),
        ("pages/ok.js", "Page({})"),
    ]);
    let minified = format!("!function(){{{}}}();", "var a=1;".repeat(2000));
    write(dir.path(), "lib/bundle.js", minified.as_bytes());
    let big = "// padding\n".repeat(300_000);
    write(dir.path(), "lib/big.js", big.as_bytes());
    write(dir.path(), "lib/blob.js", b"abc\0def");
    write(dir.path(), "pages/icon.wxml", b"\x89PNG\r\n\x1a\n\0\0\0");

    let project = scan(dir.path());
    assert_eq!(rels(&project), vec!["app.json", "pages/ok.js"]);
    assert_eq!(
        skip_reason(&project, "lib/vendor.min.js"),
        Some(SkipReason::Minified)
    );
    assert_eq!(
        skip_reason(&project, "lib/bundle.js"),
        Some(SkipReason::Minified)
    );
    assert_eq!(
        skip_reason(&project, "lib/big.js"),
        Some(SkipReason::TooLarge {
            size: big.len() as u64
        })
    );
    assert_eq!(
        skip_reason(&project, "lib/blob.js"),
        Some(SkipReason::Binary)
    );
    assert_eq!(
        skip_reason(&project, "pages/icon.wxml"),
        Some(SkipReason::Binary)
    );

    // A larger limit lets the big file in.
    let opts = DiscoverOptions {
        max_file_size: 8 * 1024 * 1024,
        ..DiscoverOptions::default()
    };
    let project = discover(dir.path(), &opts).unwrap();
    assert!(project.file("lib/big.js").is_some());
}

#[test]
fn malformed_app_json_gives_a_warning_with_position_and_discovery_goes_on() {
    let dir = tree(&[
        ("project.config.json", "{}"),
        (
            "app.json",
            "{\n  \"pages\": [\n    \"pages/index/index\",\n  ]\n}",
        ),
        ("app.js", "App({})"),
        ("pages/index/index.js", "Page({})"),
    ]);
    let project = scan(dir.path());
    let [warning] = project.warnings.as_slice() else {
        panic!("one warning expected: {:?}", project.warnings);
    };
    assert_eq!(warning.rel, "app.json");
    assert_eq!(warning.line, Some(4));
    assert_eq!(warning.column, Some(3));
    assert!(
        warning.message.contains("malformed JSON"),
        "{}",
        warning.message
    );
    // The file is still analysed (the config rules report the syntax error themselves).
    assert_eq!(
        kind(&project, "app.json"),
        FileKind::Json(JsonKind::AppJson)
    );
    assert_eq!(role(&project, "pages/index/index.js"), Role::Client);
    assert_eq!(project.apps.len(), 1);
    assert!(project.apps[0].pages.is_empty());
}

#[test]
fn express_backend_in_server_folder_is_server() {
    let dir = tree(&[
        (
            "miniprogram/app.json",
            r#"{ "pages": ["pages/index/index"] }"#,
        ),
        ("miniprogram/pages/index/index.js", "Page({})"),
        (
            "server/package.json",
            r#"{ "dependencies": { "express": "^4.18.0" } }"#,
        ),
        ("server/app.js", "const express = require('express')"),
        ("server/routes/user.js", "module.exports = {}"),
        ("backend/handler.js", "exports.handler = () => {}"),
        ("tools/build.js", "x"),
    ]);
    let project = scan(dir.path());
    assert_eq!(role(&project, "server/app.js"), Role::Server);
    assert_eq!(role(&project, "server/routes/user.js"), Role::Server);
    // No package.json, but the folder name says backend.
    assert_eq!(role(&project, "backend/handler.js"), Role::Server);
    assert_eq!(role(&project, "tools/build.js"), Role::Unknown);
    assert_eq!(
        role(&project, "miniprogram/pages/index/index.js"),
        Role::Client
    );
    // `app.js` beside a non-mini-program json is not a page json.
    assert_eq!(
        kind(&project, "server/package.json"),
        FileKind::Json(JsonKind::PackageJson)
    );
}

#[test]
fn server_package_json_at_repository_root_does_not_override_mini_program() {
    let dir = tree(&[
        ("package.json", r#"{ "devDependencies": { "koa": "2" } }"#),
        ("mock/server.js", "x"),
        ("project.config.json", r#"{ "miniprogramRoot": "client" }"#),
        ("client/app.json", r#"{ "pages": [] }"#),
        ("client/app.js", "App({})"),
    ]);
    let project = scan(dir.path());
    assert_eq!(role(&project, "client/app.js"), Role::Client);
    assert_eq!(role(&project, "mock/server.js"), Role::Server);
}

#[test]
fn uni_app_cli_project() {
    let dir = tree(&[
        (
            "package.json",
            r#"{ "dependencies": { "@dcloudio/uni-app": "3.0.0", "vue": "3" } }"#,
        ),
        (
            "src/manifest.json",
            r#"{ "name": "demo", "mp-weixin": { "setting": { "urlCheck": false } } }"#,
        ),
        (
            "src/pages.json",
            r#"{
  "pages": [ { "path": "pages/index/index", "style": { "usingComponents": { "x": "/wxcomponents/x" } } } ],
  "subPackages": [ { "root": "pagesA", "pages": [ { "path": "list/list" } ] } ],
  "globalStyle": { "navigationBarTitleText": "demo" }
}"#,
        ),
        ("src/pages/index/index.vue", "<template><view/></template>"),
        ("src/api/user.js", "uni.request({})"),
        ("src/App.vue", "<script>export default {}</script>"),
        (
            "src/pages/native/native.nvue",
            "<template><div/></template>",
        ),
        ("dist/dev/mp-weixin/app.js", "compiled"),
        (
            "dist/dev/mp-weixin/app.json",
            r#"{ "pages": ["pages/index/index"] }"#,
        ),
        ("unpackage/dist/build/app.js", "compiled"),
        (
            "uniCloud-aliyun/cloudfunctions/login/index.js",
            "exports.main = async () => {}",
        ),
        (
            "uniCloud-aliyun/cloudfunctions/common/util/index.js",
            "module.exports = {}",
        ),
    ]);
    let project = scan(dir.path());
    assert_eq!(project.platform, Platform::UniApp);
    assert_eq!(skip_reason(&project, "dist"), Some(SkipReason::BuildOutput));
    assert_eq!(
        skip_reason(&project, "unpackage"),
        Some(SkipReason::BuildOutput)
    );
    assert!(rels(&project).iter().all(|r| !r.starts_with("dist/")));
    assert_eq!(kind(&project, "src/pages/index/index.vue"), FileKind::Vue);
    assert_eq!(
        kind(&project, "src/pages/native/native.nvue"),
        FileKind::Vue
    );
    assert_eq!(
        kind(&project, "src/pages.json"),
        FileKind::Json(JsonKind::UniPages)
    );
    assert_eq!(
        kind(&project, "src/manifest.json"),
        FileKind::Json(JsonKind::UniManifest)
    );
    assert_eq!(role(&project, "src/api/user.js"), Role::Client);
    assert_eq!(
        role(&project, "uniCloud-aliyun/cloudfunctions/login/index.js"),
        Role::CloudFunction
    );
    assert_eq!(
        role(
            &project,
            "uniCloud-aliyun/cloudfunctions/common/util/index.js"
        ),
        Role::CloudFunction
    );
    assert_eq!(
        project.cloudfunction_roots,
        vec![PathBuf::from("uniCloud-aliyun/cloudfunctions")]
    );
    let [app] = project.apps.as_slice() else {
        panic!("one app expected: {:?}", project.apps);
    };
    assert_eq!(app.platform, Platform::UniApp);
    assert_eq!(app.pages, vec!["pages/index/index"]);
    assert_eq!(
        app.all_pages(),
        vec!["pages/index/index", "pagesA/list/list"]
    );
    assert_eq!(app.components, vec!["/wxcomponents/x"]);
}

#[test]
fn taro_project() {
    let dir = tree(&[
        (
            "package.json",
            r#"{ "dependencies": { "@tarojs/taro": "3.6.0", "react": "18" } }"#,
        ),
        ("config/index.js", "module.exports = {}"),
        ("project.config.json", r#"{ "miniprogramRoot": "dist/" }"#),
        (
            "src/app.config.ts",
            "export default { pages: ['pages/index/index'] }",
        ),
        ("src/app.tsx", "export default function App() {}"),
        ("src/pages/index/index.tsx", "export default () => <View/>"),
        ("src/services/api.ts", "Taro.request({})"),
        ("src/types/global.d.ts", "declare module '*.png';"),
        ("dist/app.js", "compiled"),
        ("dist/app.json", r#"{ "pages": ["pages/index/index"] }"#),
    ]);
    let project = scan(dir.path());
    assert_eq!(project.platform, Platform::Taro);
    assert_eq!(skip_reason(&project, "dist"), Some(SkipReason::BuildOutput));
    assert_eq!(
        kind(&project, "src/pages/index/index.tsx"),
        FileKind::Script(ScriptLang::Tsx)
    );
    assert_eq!(
        kind(&project, "src/app.config.ts"),
        FileKind::Script(ScriptLang::Ts)
    );
    assert!(project.file("src/types/global.d.ts").is_none());
    assert_eq!(role(&project, "src/services/api.ts"), Role::Client);
    assert_eq!(role(&project, "config/index.js"), Role::Unknown);
    assert!(project.miniprogram_roots.contains(&PathBuf::from("src")));
}

#[test]
fn bare_dist_folder_is_scanned() {
    let dir = tree(&[
        ("dist/app.json", r#"{ "pages": ["pages/a/a"] }"#),
        ("dist/pages/a/a.js", "Page({})"),
        ("dist/pages/a/a.axml", "<view/>"),
    ]);
    let project = scan(dir.path());
    assert_eq!(role(&project, "dist/pages/a/a.js"), Role::Client);
    assert_eq!(project.platform, Platform::Alipay);
}

#[test]
fn other_platforms_by_config() {
    let alipay = tree(&[
        ("mini.project.json", r#"{ "format": 2 }"#),
        ("app.json", r#"{ "pages": ["pages/index/index"] }"#),
        ("pages/index/index.axml", "<view/>"),
        ("pages/index/index.sjs", "export default {}"),
    ]);
    let project = scan(alipay.path());
    assert_eq!(project.platform, Platform::Alipay);
    assert_eq!(
        kind(&project, "mini.project.json"),
        FileKind::Json(JsonKind::ProjectConfig)
    );
    assert_eq!(kind(&project, "pages/index/index.sjs"), FileKind::Wxs);

    let baidu = tree(&[
        ("project.swan.json", "{}"),
        ("app.json", r#"{ "pages": ["pages/index/index"] }"#),
        ("pages/index/index.swan", "<view/>"),
    ]);
    assert_eq!(scan(baidu.path()).platform, Platform::Baidu);

    let douyin = tree(&[
        ("project.config.json", "{}"),
        ("app.json", r#"{ "pages": ["pages/index/index"] }"#),
        ("pages/index/index.ttml", "<view/>"),
    ]);
    assert_eq!(scan(douyin.path()).platform, Platform::Douyin);
}

#[test]
fn qml_is_a_template_only_in_a_qq_mini_program() {
    let qq = tree(&[
        ("project.config.json", "{}"),
        ("app.json", r#"{ "pages": ["pages/index/index"] }"#),
        ("pages/index/index.qml", "<view>{{x}}</view>"),
        ("pages/index/index.js", "Page({})"),
    ]);
    let project = scan(qq.path());
    assert_eq!(project.platform, Platform::Qq);
    assert_eq!(
        kind(&project, "pages/index/index.qml"),
        FileKind::Template(TemplateLang::Qml)
    );

    let qt = tree(&[
        ("ui/Main.qml", "import QtQuick 2.0\nRectangle {}"),
        ("tools/run.js", "x"),
    ]);
    let project = scan(qt.path());
    assert!(project.file("ui/Main.qml").is_none());
    assert_eq!(project.platform, Platform::Unknown);
}

#[test]
fn cloud_function_detected_without_config() {
    let dir = tree(&[
        ("cloud-functions/pay/index.js", "exports.main = () => {}"),
        (
            "cloud-functions/pay/config.json",
            r#"{ "permissions": { "openapi": ["cloudPay.unifiedOrder"] } }"#,
        ),
        ("fn/orders/index.js", "exports.main = () => {}"),
        (
            "fn/orders/package.json",
            r#"{ "dependencies": { "@cloudbase/node-sdk": "2" } }"#,
        ),
        ("misc/config.json", r#"{ "permissions": {} }"#),
    ]);
    let project = scan(dir.path());
    assert_eq!(
        role(&project, "cloud-functions/pay/index.js"),
        Role::CloudFunction
    );
    assert_eq!(role(&project, "fn/orders/index.js"), Role::CloudFunction);
    assert_eq!(
        kind(&project, "cloud-functions/pay/config.json"),
        FileKind::Json(JsonKind::CloudFunctionConfig)
    );
    assert_eq!(
        kind(&project, "misc/config.json"),
        FileKind::Json(JsonKind::Config)
    );
    assert_eq!(
        project.cloudfunction_roots,
        vec![
            PathBuf::from("cloud-functions/pay"),
            PathBuf::from("fn/orders")
        ]
    );
}

#[test]
fn config_root_outside_the_scan_is_a_warning() {
    let dir = tree(&[
        (
            "project.config.json",
            r#"{ "miniprogramRoot": "../elsewhere" }"#,
        ),
        ("a.js", "x"),
    ]);
    let project = scan(dir.path());
    assert_eq!(project.warnings.len(), 1, "{:?}", project.warnings);
    assert!(project.warnings[0].message.contains("outside"));
}

#[test]
fn single_file_roots() {
    let dir = tree(&[
        (
            "cloudfunctions/login/index.js",
            "const cloud = require('wx-server-sdk')",
        ),
        ("loose/page.wxml", "<view/>"),
        ("loose/handler.js", "const express = require('express')"),
        ("loose/app.json", "{ \"pages\": [1,,] }"),
        ("loose/readme.md", "# hi"),
    ]);
    let file = dir.path().join("cloudfunctions/login/index.js");
    let project = scan(&file);
    assert_eq!(project.root, file);
    assert_eq!(rels(&project), vec!["index.js"]);
    assert_eq!(project.files[0].path, file);
    assert_eq!(project.files[0].role, Role::CloudFunction);

    let project = scan(&dir.path().join("loose/page.wxml"));
    assert_eq!(project.platform, Platform::WeChat);
    assert_eq!(project.files[0].role, Role::Client);

    let project = scan(&dir.path().join("loose/handler.js"));
    assert_eq!(project.files[0].role, Role::Server);

    let project = scan(&dir.path().join("loose/app.json"));
    assert_eq!(project.files[0].kind, FileKind::Json(JsonKind::AppJson));
    assert_eq!(project.warnings.len(), 1);
    assert_eq!(project.warnings[0].line, Some(1));

    let project = scan(&dir.path().join("loose/readme.md"));
    assert!(project.files.is_empty());
    assert_eq!(project.warnings.len(), 1);
}

#[test]
fn warnings_and_skips_do_not_depend_on_walk_order() {
    let dir = tree(&[
        ("b/app.json", "{"),
        ("b/app.js", "App({})"),
        ("a/app.json", "{ \"pages\": [ }"),
    ]);
    let project = scan(dir.path());
    let order: Vec<&str> = project.warnings.iter().map(|w| w.rel.as_str()).collect();
    assert_eq!(order, vec!["a/app.json", "b/app.json"]);
}

#[cfg(unix)]
#[test]
fn symbolic_links_are_followed_only_on_request() {
    let dir = tree(&[("real/a.js", "x")]);
    std::os::unix::fs::symlink(dir.path().join("real"), dir.path().join("link")).unwrap();
    assert_eq!(rels(&scan(dir.path())), vec!["real/a.js"]);
    let opts = DiscoverOptions {
        follow_links: true,
        ..DiscoverOptions::default()
    };
    let project = discover(dir.path(), &opts).unwrap();
    assert_eq!(rels(&project), vec!["link/a.js", "real/a.js"]);
}

/// Issue 12: a huge or blocking ignore file is checked before the walker opens it.
#[test]
fn oversized_and_fifo_ignore_files_are_not_read() {
    let dir = tree(&[
        ("app.json", r#"{"pages": ["a"]}"#),
        ("a.js", "Page({})"),
        ("sub/b.js", "var b = 1"),
    ]);
    // 2 MiB of patterns at the root: no ignore file applies, with a warning.
    let big = "x*y\n".repeat(512 * 1024);
    write(dir.path(), ".gitignore", big.as_bytes());
    let p = scan(dir.path());
    assert!(
        p.warnings
            .iter()
            .any(|w| w.message.contains(".gitignore is larger than")),
        "{:?}",
        p.warnings
    );
    assert!(rels(&p).contains(&"sub/b.js"));
    #[cfg(unix)]
    {
        fs::remove_file(dir.path().join(".gitignore")).unwrap();
        let status = std::process::Command::new("mkfifo")
            .arg(dir.path().join("sub/.gitignore"))
            .status()
            .unwrap();
        assert!(status.success());
        let p = scan(dir.path());
        assert!(
            p.warnings
                .iter()
                .any(|w| w.rel == "sub" && w.message.contains("not a regular file")),
            "{:?}",
            p.warnings
        );
        assert!(!rels(&p).contains(&"sub/b.js"));
    }
}

/// Issue 12: a `.gitignore` of hundreds of thousands of short lines took gigabytes of matchers
/// while it fitted the size limit.
#[test]
fn ignore_files_with_too_many_lines_are_not_applied() {
    let dir = tree(&[
        ("app.json", r#"{"pages": ["a"]}"#),
        ("a.js", "Page({})"),
        ("gen/b.js", "var b = 1"),
    ]);
    let many: Vec<String> = (0..20_000).map(|i| format!("x{i}")).collect();
    let many = many.join("\n");
    write(
        dir.path(),
        ".gitignore",
        format!("gen/\n{many}\n").as_bytes(),
    );
    let p = scan(dir.path());
    assert!(
        p.warnings
            .iter()
            .any(|w| w.message.contains(".gitignore has more than 10000 lines")),
        "{:?}",
        p.warnings
    );
    assert!(rels(&p).contains(&"gen/b.js"), "no ignore file was applied");
    // The same patterns in a file of ordinary length apply.
    write(dir.path(), ".gitignore", b"gen/\nx1\nx2\n");
    let p = scan(dir.path());
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    assert!(!rels(&p).contains(&"gen/b.js"));
}

/// Issue 12: 200k exclude globs took gigabytes and printed a 4 MB error.
#[test]
fn too_many_excludes_are_refused_with_a_short_message() {
    let dir = tree(&[("a.js", "var a = 1")]);
    let opts = DiscoverOptions {
        exclude: (0..20_000).map(|i| format!("dir{i}/")).collect(),
        ..DiscoverOptions::default()
    };
    let err = discover(dir.path(), &opts).unwrap_err();
    assert!(matches!(err, DiscoverError::InvalidExclude { .. }));
    assert!(err.to_string().len() < 300, "{}", err.to_string().len());
    let opts = DiscoverOptions {
        exclude: vec![format!("[{}", "a".repeat(100_000))],
        ..DiscoverOptions::default()
    };
    let err = discover(dir.path(), &opts).unwrap_err();
    assert!(err.to_string().len() < 400, "{}", err.to_string().len());
}

/// Issue 12: tens of thousands of `usingComponents` were searched linearly and re-sorted for
/// every page JSON.
#[test]
fn many_using_components_are_merged_through_a_set() {
    let mut files: Vec<(String, String)> = vec![(
        "app.json".to_owned(),
        r#"{"pages": ["p0/index"]}"#.to_owned(),
    )];
    for page in 0..20 {
        let comps: Vec<String> = (0..5_000)
            .map(|i| format!("\"c{i}\": \"/components/c{}/index\"", i + page * 100))
            .collect();
        files.push((format!("p{page}/index.js"), "Page({})".to_owned()));
        files.push((
            format!("p{page}/index.json"),
            format!("{{\"usingComponents\": {{{}}}}}", comps.join(",")),
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    for (rel, text) in &files {
        write(dir.path(), rel, text.as_bytes());
    }
    let p = scan(dir.path());
    let app = &p.apps[0];
    assert_eq!(app.components.len(), 5_000 + 19 * 100);
    assert!(app.components.windows(2).all(|w| w[0] < w[1]));
}

/// Issue 12: `"pages": 42` left the folder out without a word.
#[test]
fn pages_that_are_not_an_array_are_reported() {
    let dir = tree(&[("app.json", r#"{"pages": 42}"#), ("a.js", "var a = 1")]);
    let p = scan(dir.path());
    assert!(
        p.warnings
            .iter()
            .any(|w| w.rel == "app.json" && w.message.contains("not an array")),
        "{:?}",
        p.warnings
    );
}

/// Issue 12: a 72 MB `app.json` with a raised size limit took 3.1 GB as a JSON tree; JSON files
/// are parsed up to 8 MiB whatever the limit, with a warning beyond.
#[test]
fn huge_json_is_not_parsed_even_with_a_raised_limit() {
    let dir = tree(&[("a.js", "var a = 1")]);
    let big = format!(
        "{{\"pages\": [\"a\"], \"x\": \"{}\"}}",
        "y".repeat(9 * 1024 * 1024)
    );
    write(dir.path(), "app.json", big.as_bytes());
    let opts = DiscoverOptions {
        max_file_size: 64 * 1024 * 1024,
        ..DiscoverOptions::default()
    };
    let p = discover(dir.path(), &opts).unwrap();
    assert!(
        p.warnings
            .iter()
            .any(|w| w.rel == "app.json" && w.message.contains("JSON larger than")),
        "{:?}",
        p.warnings
    );
}

#[test]
fn settings_json_files_are_config() {
    let dir = tree(&[
        ("server/app.js", "require('express')"),
        ("server/config.json", r#"{ "mysql": { "password": "x" } }"#),
        ("server/config.production.json", "{}"),
        ("server/config/default.json", "{}"),
        ("server/appsettings.json", "{}"),
        ("server/cloudbaserc.json", "{}"),
        (
            "cloudfunctions/common/uni-id/config.json",
            r#"{ "tokenSecret": "x" }"#,
        ),
        (
            "cloudfunctions/common/uni-id/index.js",
            "module.exports = {}",
        ),
        // Not settings: texts, data, compiler options.
        ("server/i18n/de.json", r#"{ "password": "Passwort" }"#),
        ("server/locales/config.json", "{}"),
        ("server/mock/users.json", "[]"),
        ("server/data.json", "{}"),
        ("server/tsconfig.json", "{}"),
        ("server/tsconfig.build.json", "{}"),
    ]);
    let project = scan(dir.path());
    for rel in [
        "server/config.json",
        "server/config.production.json",
        "server/config/default.json",
        "server/appsettings.json",
        "server/cloudbaserc.json",
        "cloudfunctions/common/uni-id/config.json",
    ] {
        assert_eq!(
            kind(&project, rel),
            FileKind::Json(JsonKind::Config),
            "{rel}"
        );
    }
    for rel in [
        "server/i18n/de.json",
        "server/locales/config.json",
        "server/mock/users.json",
        "server/data.json",
        "server/tsconfig.json",
        "server/tsconfig.build.json",
    ] {
        assert_eq!(
            kind(&project, rel),
            FileKind::Json(JsonKind::Other),
            "{rel}"
        );
    }
}
