//! Discovery: given a path, find out what kind of mini-program project it is and which files the
//! analyzer should read, each with its kind (script, template, JSON config) and its role (client
//! code running in the mini-program, cloud function, or Node backend).

#![forbid(unsafe_code)]

use std::path::PathBuf;

/// The platform a project targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Platform {
    WeChat,
    Alipay,
    Douyin,
    Baidu,
    Qq,
    UniApp,
    Taro,
    Unknown,
}

/// Where a file's code runs, which decides which sources and sinks apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Runs inside the mini-program on the user's phone.
    Client,
    /// A cloud function (WeChat cloud development, uniCloud, Alipay/Douyin cloud).
    CloudFunction,
    /// A Node.js backend (express, koa, egg, nest, plain http).
    Server,
    /// Could not tell; rules treat it like both sides where that is safe.
    Unknown,
}

/// Script dialect, as oxc needs to know it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScriptLang {
    Js,
    Jsx,
    Ts,
    Tsx,
}

/// Template dialect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TemplateLang {
    Wxml,
    Axml,
    Ttml,
    Swan,
    Qml,
}

/// What kind of JSON file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JsonKind {
    /// `project.config.json` / `project.private.config.json`.
    ProjectConfig,
    /// `app.json` at the mini-program root.
    AppJson,
    /// A page or component `.json` beside its script.
    PageJson,
    PackageJson,
    Other,
}

/// The kind of a discovered file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileKind {
    Script(ScriptLang),
    Template(TemplateLang),
    /// WXS/SJS script modules used by templates.
    Wxs,
    Vue,
    Json(JsonKind),
}

/// One file the analyzer should read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFile {
    /// Absolute (or root-joined) path for reading.
    pub path: PathBuf,
    /// Path relative to the scan root with `/` separators, for reports.
    pub rel: String,
    pub kind: FileKind,
    pub role: Role,
    pub size: u64,
}
