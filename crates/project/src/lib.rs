//! Discovery: given a path, find out what kind of mini-program project it is and which files the
//! analyzer should read, each with its kind (script, template, JSON config) and its role (client
//! code running in the mini-program, cloud function, or Node backend).
//!
//! The entry point is [`discover()`]; [`json`] is the spanned JSON parser the config rules use;
//! [`read`] is how every miniguard crate reads a file of a scanned tree (regular files only,
//! size-limited, and inside the tree when the tree names the path).
//! How files are chosen, how roots and platforms are detected and how roles are assigned is
//! explained in the docs of the [`discover()`](mod@discover) module.

#![forbid(unsafe_code)]

pub mod discover;
pub mod json;
mod layout;
pub mod read;
pub mod settings;
mod sniff;
pub mod wxapkg;

use std::path::PathBuf;

use serde::Serialize;

pub use discover::{
    AppConfig, DiscoverError, DiscoverOptions, DiscoverWarning, Project, SkipReason, Skipped,
    SubPackage, discover,
};

/// The platform a project targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Platform {
    #[serde(rename = "wechat")]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Runs inside the mini-program on the user's phone.
    Client,
    /// A cloud function (`WeChat` cloud development, `uniCloud`, Alipay/Douyin cloud).
    CloudFunction,
    /// A Node.js backend (express, koa, egg, nest, plain http).
    Server,
    /// Could not tell; rules treat it like both sides where that is safe.
    Unknown,
}

/// Script dialect, as oxc needs to know it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScriptLang {
    Js,
    Jsx,
    Ts,
    Tsx,
}

/// Template dialect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TemplateLang {
    Wxml,
    Axml,
    Ttml,
    Swan,
    Qml,
}

/// What kind of JSON file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum JsonKind {
    /// A project config of the developer tools: `project.config.json` /
    /// `project.private.config.json` (`WeChat`, QQ, Douyin), `mini.project.json` (Alipay),
    /// `project.swan.json` (Baidu), `project.tt.json` (Douyin).
    ProjectConfig,
    /// `app.json` at the mini-program root.
    AppJson,
    /// A page or component `.json` beside its script.
    PageJson,
    PackageJson,
    /// uni-app `manifest.json` (holds the per-platform `mp-weixin.setting` such as `urlCheck`).
    UniManifest,
    /// uni-app `pages.json`, its equivalent of `app.json`.
    UniPages,
    /// A cloud function's `config.json` (`permissions.openapi`, triggers).
    CloudFunctionConfig,
    /// Settings of a backend, a cloud function or a shared module, by the file's name or
    /// folder: `config.json`, `config.production.json`, `config/default.json`, `settings.json`,
    /// `appsettings.json`, `secrets.json`, `cloudbaserc.json`, uni-id's
    /// `common/uni-id/config.json`. Read for the secrets written in them; translations, mock
    /// data and other data files are [`JsonKind::Other`].
    Config,
    Other,
}

/// The kind of a discovered file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    Script(ScriptLang),
    Template(TemplateLang),
    /// WXS/SJS script modules used by templates.
    Wxs,
    /// Vue single-file component (`.vue`, and uni-app's `.nvue`).
    Vue,
    Json(JsonKind),
    /// A configuration or deployment file of the backend: YAML (Spring `application*.yml`,
    /// docker-compose, Kubernetes manifests), `.env`, Java `.properties`, INI-style
    /// `.ini`/`.conf`/`.cnf`/`.cfg`. Read for the secrets written in them.
    Settings(SettingsFormat),
}

/// The syntax of a [`FileKind::Settings`] file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SettingsFormat {
    Yaml,
    /// `KEY=value` lines (`.env`, `.env.production`, `*.env`).
    Env,
    /// Java properties: `key=value`, `key: value`.
    Properties,
    /// `[section]` and `key = value` lines.
    Ini,
}

/// One file the analyzer should read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SourceFile {
    /// The path to read: the scan root joined with the relative path (absolute when the root
    /// given to [`discover()`] was absolute).
    pub path: PathBuf,
    /// Path relative to the scan root with `/` separators, for reports.
    pub rel: String,
    pub kind: FileKind,
    pub role: Role,
    /// Size in bytes when discovered.
    pub size: u64,
}

impl Platform {
    /// A short lowercase name, as used in reports: `wechat`, `alipay`, `uni-app`...
    pub fn name(self) -> &'static str {
        match self {
            Platform::WeChat => "wechat",
            Platform::Alipay => "alipay",
            Platform::Douyin => "douyin",
            Platform::Baidu => "baidu",
            Platform::Qq => "qq",
            Platform::UniApp => "uni-app",
            Platform::Taro => "taro",
            Platform::Unknown => "unknown",
        }
    }
}

impl FileKind {
    pub fn is_script(self) -> bool {
        matches!(self, FileKind::Script(_))
    }

    /// Code the scan evaluates: scripts and Vue single-file components (what its progress counts).
    pub fn is_analysed_code(self) -> bool {
        matches!(self, FileKind::Script(_) | FileKind::Vue)
    }

    pub fn is_json(self) -> bool {
        matches!(self, FileKind::Json(_))
    }
}
