//! Finding the files of a project and what each one is.
//!
//! [`discover()`] walks a folder (or takes a single file) and returns a [`Project`]: the platform,
//! the mini-program and cloud-function roots, what each `app.json` declares, and every file the
//! analyzer should read with its [`FileKind`] and [`Role`]. Problems in the project's files
//! (malformed JSON, unreadable files) become [`DiscoverWarning`]s; `Err` is only for a root that
//! cannot be read at all or a bad option.
//!
//! # Which files
//!
//! The walk uses the `ignore` crate, as ripgrep does: `.gitignore` (also outside a git
//! repository), `.ignore`, `.git/info/exclude` and a `.miniguardignore` are honoured; the user's
//! global gitignore is not, so results do not depend on who runs the scan. Hidden files and
//! folders are skipped: mini-program projects keep nothing worth auditing in them. The
//! [`DiscoverOptions::exclude`] globs have gitignore syntax and are matched from the root (at
//! most 10,000 of at most 4 KiB each). Ignore files are checked before the walker opens them:
//! one that is not a regular file or is larger than 1 MiB makes its folder unscanned (a warning),
//! or, at the root, turns ignore files off (a warning) so that more is scanned rather than less.
//!
//! Unless [`DiscoverOptions::include_vendor`] is set, these folders are skipped and listed once in
//! [`Project::skipped`] (a folder a `.gitignore` already leaves out is neither walked nor
//! listed, with or without `include_vendor`):
//!
//! - installed packages: `node_modules`, `miniprogram_npm`, `bower_components`, `jspm_packages`
//!   (their versions are the dependency auditor's business, from the lockfiles);
//! - compiler output: `unpackage` (`HBuilderX` output of uni-app), and `dist` **only** when its
//!   parent also holds the sources it was built from: a `src/` with uni-app's `manifest.json` +
//!   `pages.json`, or a `package.json` that uses Taro (`@tarojs/*`) or uni-app's CLI
//!   (`@dcloudio/*`). A native project may well keep its only code in a folder called `dist`,
//!   so a bare `dist` is scanned. `build` is never skipped for the same reason.
//!
//! Files are classified by extension (`.js .mjs .cjs` → JS, `.jsx`, `.ts .mts .cts` → TS with
//! declaration files `.d.ts` left out, `.tsx`, the templates `.wxml .axml .ttml .swan .qml`,
//! `.wxs .sjs`, `.vue .nvue`, `.json`, and the settings files of backends and deployments:
//! `.yml .yaml`, `.properties`, `.ini .conf .cnf .cfg`, `.env` and `.env.*`); everything else
//! is left out silently, as are hidden files and folders other than dotenv files. `.qml` is also Qt's
//! QML, so it is a QQ template only inside a mini-program root or in a QQ project. Lockfiles
//! (`package-lock.json`, `yarn.lock`, ...) are not source: they are listed in
//! [`Project::lockfiles`].
//!
//! A file is skipped and listed in [`Project::skipped`] when it is larger than
//! [`DiscoverOptions::max_file_size`], when a NUL byte appears in its first 8 KiB (binary), or,
//! for scripts, when it is named `*.min.js` or looks minified: in its first 64 KiB some line is
//! longer than 1000 bytes and lines average more than 300.
//!
//! # Roots and platform
//!
//! - Developer-tool project configs (`project.config.json` and `project.private.config.json`,
//!   `mini.project.json`, `project.swan.json`, `project.tt.json`) declare a mini-program root
//!   (`miniprogramRoot`, default: the config's folder), a plugin root (`pluginRoot`, client code
//!   too), a cloud-function root (`cloudfunctionRoot`) and the old Tencent Cloud backend root
//!   (`qcloudRoot`, server code). The private config wins key by key. Paths that climb out of the
//!   scanned folder are ignored with a warning.
//! - A folder with an `app.json` that has a `pages` array is a mini-program root; so is one whose
//!   `app.json` is malformed but sits beside `app.js`/`app.ts`.
//! - A folder with uni-app's `pages.json` beside `manifest.json` is a uni-app source root
//!   (client); `pages.json` is read like `app.json`.
//! - A `package.json` depending on `@tarojs/*`, with `config/index.{js,ts}` or
//!   `src/app.config.{js,ts}` beside it, makes its `src/` a Taro source root (client).
//! - Cloud functions: the declared `cloudfunctionRoot`; `uniCloud*/cloudfunctions/`; a folder
//!   whose `package.json` depends on `wx-server-sdk`, `@cloudbase/node-sdk`, `tcb-admin-node`,
//!   `tcb-router` or Alipay's `@alipay/faas-server-sdk`; a folder with `index.js` beside a `config.json` that has `permissions`, below a
//!   folder named like `cloudfunctions`.
//! - Backends: a folder whose `package.json` depends on a Node web framework (express, koa, egg,
//!   `@nestjs/core`, fastify, hapi, koa routers, midway, thinkjs, restify).
//!
//! The platform is Taro if a Taro root was found, else uni-app if a uni-app root was found (both
//! also ship a `project.config.json` for their compiled output), else the platform named by most
//! configs and `app.json` roots, ties going to the one first in path order. A
//! `project.config.json` is used by `WeChat`, QQ and Douyin alike, so the template extension most
//! common under its root decides (`.wxml` `WeChat`, `.qml` QQ, `.ttml` Douyin; `WeChat` if none).
//!
//! # Roles
//!
//! A file's [`Role`] is decided in this order:
//!
//! 1. The **deepest** root containing the file decides: cloud-function roots give
//!    [`Role::CloudFunction`], mini-program, plugin, uni-app and Taro roots [`Role::Client`],
//!    `qcloudRoot` and framework `package.json` folders [`Role::Server`]. Deepest wins so that
//!    `cloudfunctions/` inside a mini-program root (the default `miniprogramRoot` is the whole
//!    project) is cloud code, and a repository-level `package.json` that mentions
//!    `wx-server-sdk` does not turn the mini-program into a cloud function. Equally deep roots
//!    rank cloud function, then client, then server.
//! 2. Outside every root, a folder named `server`, `backend`, `api` or `serverless` on the path
//!    means [`Role::Server`]. This comes after the roots because mini-programs very often keep
//!    their request wrappers in an `api/` folder.
//! 3. Otherwise [`Role::Unknown`].
//!
//! A single-file root has no tree to look at. A script that imports a cloud SDK or a web
//! framework (`wx-server-sdk`, `express`...) is a cloud function or server; otherwise the
//! nearest of the 8 ancestor folders with a marker decides (a cloud-function or backend
//! `package.json`, a folder named like `cloudfunctions`, a project config, `app.json` or
//! `pages.json`); then templates are client code, a server-like name among the 3 nearest
//! folders means server, and finally client calls in the script (`Page({`, `wx.`) mean client.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use ignore::WalkBuilder;
use ignore::overrides::OverrideBuilder;
use serde::Serialize;

use crate::layout::{self, Entry, Layout, file_name, is_under, parent_dir};
use crate::sniff;
use crate::{
    FileKind, JsonKind, Platform, Role, ScriptLang, SettingsFormat, SourceFile, TemplateLang,
};

/// Options for [`discover()`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscoverOptions {
    /// Files larger than this many bytes are skipped ([`SkipReason::TooLarge`]). Default 2 MiB.
    pub max_file_size: u64,
    /// Also walk `node_modules`, `miniprogram_npm` and compiler output (`dist`, `unpackage`).
    /// Default `false`.
    pub include_vendor: bool,
    /// Extra gitignore-style globs to leave out, matched from the scan root
    /// (`"test/"`, `"*.spec.js"`). A leading `!` is not allowed.
    pub exclude: Vec<String>,
    /// Follow symbolic links. Default `false`: links are not followed and linked files are left
    /// out.
    pub follow_links: bool,
    /// The tree is compiled packages restored by [`crate::wxapkg::restore()`]. The platform's
    /// compiler minifies every module of a package when the project asks it to, so a minified
    /// script there is the app's own code, not a copied library: it is analysed rather than
    /// skipped ([`SkipReason::Minified`]). Files named like a minified library (`x.min.js`) are
    /// still left out. Default `false`.
    pub compiled_package: bool,
}

impl Default for DiscoverOptions {
    fn default() -> Self {
        DiscoverOptions {
            max_file_size: 2 * 1024 * 1024,
            include_vendor: false,
            exclude: Vec::new(),
            follow_links: false,
            compiled_package: false,
        }
    }
}

/// A discovered project.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Project {
    /// The path given to [`discover()`]: a folder, or the single file scanned.
    pub root: PathBuf,
    pub platform: Platform,
    /// Folders holding client code (mini-program, plugin, uni-app and Taro source roots),
    /// relative to `root` with `/` separators; the empty path is `root` itself, so
    /// `root.join(dir)` always works. Sorted. Empty for a single-file root.
    pub miniprogram_roots: Vec<PathBuf>,
    /// Folders holding cloud functions, relative to `root` like `miniprogram_roots`; only the
    /// outermost (a declared `cloudfunctionRoot`, not each function inside it). Sorted.
    pub cloudfunction_roots: Vec<PathBuf>,
    /// Every `app.json` (and uni-app `pages.json`) at a mini-program root, sorted by its path.
    pub apps: Vec<AppConfig>,
    /// The files to analyse, sorted by `rel`.
    pub files: Vec<SourceFile>,
    /// Files and folders left out for a reason worth reporting, sorted by `rel`.
    pub skipped: Vec<Skipped>,
    /// Lockfiles found (relative paths, sorted), for the dependency auditor.
    pub lockfiles: Vec<String>,
    /// Problems met on the way, sorted by `rel` and position: unreadable files and folders, and
    /// malformed JSON in the files discovery itself reads (project configs, `app.json`,
    /// `pages.json`, `package.json`, page and component JSON, cloud-function `config.json`).
    pub warnings: Vec<DiscoverWarning>,
}

impl Project {
    /// The discovered file with this relative path.
    pub fn file(&self, rel: &str) -> Option<&SourceFile> {
        self.files
            .binary_search_by(|f| f.rel.as_str().cmp(rel))
            .ok()
            .and_then(|i| self.files.get(i))
    }
}

/// What an `app.json` (or uni-app `pages.json`) declares.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AppConfig {
    /// The mini-program root folder, relative to the scan root (`""` for the root itself).
    pub root_rel: String,
    /// The `app.json` / `pages.json` file, relative to the scan root.
    pub config_rel: String,
    pub platform: Platform,
    /// Main-package pages as written (`"pages/index/index"`).
    pub pages: Vec<String>,
    /// `subpackages` / `subPackages`.
    pub subpackages: Vec<SubPackage>,
    /// Every `usingComponents` value found in the app config and in the page and component
    /// JSON files under this root, sorted and without duplicates (`"/components/card/card"`,
    /// `"plugin://..."`, npm package paths).
    pub components: Vec<String>,
}

impl AppConfig {
    pub(crate) fn new(root_rel: &str, config_rel: &str, platform: Platform) -> AppConfig {
        AppConfig {
            root_rel: root_rel.to_owned(),
            config_rel: config_rel.to_owned(),
            platform,
            pages: Vec::new(),
            subpackages: Vec::new(),
            components: Vec::new(),
        }
    }

    /// All pages, subpackage pages prefixed with their root, relative to the app root.
    pub fn all_pages(&self) -> Vec<String> {
        let mut pages = self.pages.clone();
        for sub in &self.subpackages {
            let root = sub.root.trim_end_matches('/');
            pages.extend(sub.pages.iter().map(|p| format!("{root}/{p}")));
        }
        pages
    }
}

/// One entry of `subpackages`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SubPackage {
    pub root: String,
    pub name: Option<String>,
    /// Pages relative to `root`.
    pub pages: Vec<String>,
    pub independent: bool,
}

/// A file or folder discovery left out.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Skipped {
    pub rel: String,
    pub reason: SkipReason,
}

/// Why something was left out. Only reasons worth telling the user are reported: a file in
/// `node_modules` is not listed, the `node_modules` folder is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SkipReason {
    /// Larger than [`DiscoverOptions::max_file_size`].
    TooLarge { size: u64 },
    /// Minified or bundled script.
    Minified,
    /// Contains NUL bytes.
    Binary,
    /// A folder of installed packages.
    Vendor,
    /// A folder of compiler output.
    BuildOutput,
}

/// A problem met during discovery; discovery goes on.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct DiscoverWarning {
    /// The file concerned, relative to the scan root (`""` for the root itself).
    pub rel: String,
    /// 1-based line, when known.
    pub line: Option<u32>,
    /// 1-based column in Unicode scalar values, when known.
    pub column: Option<u32>,
    pub message: String,
}

impl DiscoverWarning {
    pub(crate) fn new(rel: &str, message: impl Into<String>) -> DiscoverWarning {
        DiscoverWarning {
            rel: rel.to_owned(),
            line: None,
            column: None,
            message: message.into(),
        }
    }
}

/// Why discovery could not run at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoverError {
    /// The root does not exist.
    #[error("{} does not exist", .0.display())]
    NotFound(PathBuf),
    /// The root exists but cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The root is neither a file nor a folder (a socket, a device).
    #[error("{} is neither a file nor a folder", .0.display())]
    NotAFileOrFolder(PathBuf),
    /// An [`DiscoverOptions::exclude`] glob does not parse.
    #[error("invalid exclude glob {glob:?}: {message}")]
    InvalidExclude { glob: String, message: String },
}

/// Discovers the project at `root`, a folder or a single file.
pub fn discover(root: &Path, opts: &DiscoverOptions) -> Result<Project, DiscoverError> {
    let meta = match fs::metadata(root) {
        Ok(meta) => meta,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return Err(DiscoverError::NotFound(root.to_path_buf()));
        }
        Err(source) => {
            return Err(DiscoverError::Io {
                path: root.to_path_buf(),
                source,
            });
        }
    };
    if meta.is_file() {
        return Ok(discover_file(root, meta.len(), opts));
    }
    if !meta.is_dir() {
        return Err(DiscoverError::NotAFileOrFolder(root.to_path_buf()));
    }
    fs::read_dir(root).map_err(|source| DiscoverError::Io {
        path: root.to_path_buf(),
        source,
    })?;
    discover_dir(root, opts)
}

/// Accumulates the parts of a [`Project`] while files are classified.
#[derive(Default)]
struct Collected {
    files: Vec<SourceFile>,
    skipped: Vec<Skipped>,
    lockfiles: Vec<String>,
    warnings: Vec<DiscoverWarning>,
}

fn discover_dir(root: &Path, opts: &DiscoverOptions) -> Result<Project, DiscoverError> {
    let mut out = Collected::default();
    let entries = walk(root, opts, &mut out)?;
    let layout = Layout::build(&entries, opts.max_file_size, &mut out.warnings);
    let platform = layout.platform.unwrap_or(Platform::Unknown);
    let qq = layout.qq || platform == Platform::Qq;
    let rels: BTreeSet<&str> = entries.iter().map(|e| e.rel.as_str()).collect();
    let app_roots: BTreeSet<&str> = layout
        .apps
        .iter()
        .filter(|a| file_name(&a.config_rel) == "app.json")
        .map(|a| a.root_rel.as_str())
        .collect();

    for entry in &entries {
        let name = file_name(&entry.rel);
        if sniff::LOCKFILES.contains(&name) {
            out.lockfiles.push(entry.rel.clone());
            continue;
        }
        let role = layout.role(&entry.rel);
        let kind = match classify_name(name) {
            Some(Class::Kind(kind)) => kind,
            Some(Class::Qml) if qq || layout.in_client_root(&entry.rel) => {
                FileKind::Template(TemplateLang::Qml)
            }
            Some(Class::Json) => {
                FileKind::Json(json_kind(&entry.rel, role, &rels, &layout, &app_roots))
            }
            Some(Class::MinifiedName) => {
                out.skipped.push(Skipped {
                    rel: entry.rel.clone(),
                    reason: SkipReason::Minified,
                });
                continue;
            }
            Some(Class::Qml) | None => continue,
        };
        admit(entry, kind, role, opts, &mut out);
    }

    let mut apps = layout.apps.clone();
    collect_page_components(&out.files, &entries, &mut apps, opts, &mut out.warnings);
    Ok(finish(
        root,
        platform,
        layout.miniprogram_roots.iter().map(PathBuf::from).collect(),
        layout
            .cloudfunction_roots
            .iter()
            .map(PathBuf::from)
            .collect(),
        apps,
        out,
    ))
}

fn finish(
    root: &Path,
    platform: Platform,
    miniprogram_roots: Vec<PathBuf>,
    cloudfunction_roots: Vec<PathBuf>,
    apps: Vec<AppConfig>,
    mut out: Collected,
) -> Project {
    out.files.sort_by(|a, b| a.rel.cmp(&b.rel));
    out.skipped.sort();
    out.skipped.dedup();
    out.lockfiles.sort();
    out.warnings.sort();
    out.warnings.dedup();
    Project {
        root: root.to_path_buf(),
        platform,
        miniprogram_roots,
        cloudfunction_roots,
        apps,
        files: out.files,
        skipped: out.skipped,
        lockfiles: out.lockfiles,
        warnings: out.warnings,
    }
}

/// The relative, `/`-separated form of a path below the root.
fn rel_path(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.join("/")
}

/// The path a walk error is about, if it says.
fn error_path(err: &ignore::Error) -> Option<&Path> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        ignore::Error::Partial(errs) => errs.iter().find_map(error_path),
        _ => None,
    }
}

/// Walks the folder and returns its regular files, sorted by `rel`.
fn walk(
    root: &Path,
    opts: &DiscoverOptions,
    out: &mut Collected,
) -> Result<Vec<Entry>, DiscoverError> {
    let mut builder = WalkBuilder::new(root);
    let root_ignores = crate::read::check_walk_root(root);
    if let Err(problem) = &root_ignores {
        out.warnings.push(DiscoverWarning::new(
            "",
            format!("{problem}; no ignore file was applied, so ignored files are scanned too"),
        ));
    }
    let use_ignores = root_ignores.is_ok();
    builder
        .hidden(false)
        .parents(use_ignores)
        .ignore(use_ignores)
        .git_ignore(use_ignores)
        .git_exclude(use_ignores)
        .git_global(false)
        .require_git(false)
        .follow_links(opts.follow_links)
        .sort_by_file_name(std::cmp::Ord::cmp);
    if use_ignores {
        builder.add_custom_ignore_filename(".miniguardignore");
    }
    if opts.exclude.len() > MAX_EXCLUDES {
        return Err(DiscoverError::InvalidExclude {
            glob: format!("({} globs)", opts.exclude.len()),
            message: format!("at most {MAX_EXCLUDES} exclude globs are accepted"),
        });
    }
    if !opts.exclude.is_empty() {
        let mut overrides = OverrideBuilder::new(root);
        for glob in &opts.exclude {
            let invalid = |message: String| DiscoverError::InvalidExclude {
                glob: shorten(glob),
                message: shorten(&message),
            };
            if glob.len() > MAX_EXCLUDE_LEN {
                return Err(invalid(format!(
                    "an exclude glob is at most {MAX_EXCLUDE_LEN} bytes long"
                )));
            }
            if glob.starts_with('!') {
                return Err(invalid("a leading '!' is not supported in excludes".into()));
            }
            overrides
                .add(&format!("!{glob}"))
                .map_err(|e| invalid(e.to_string()))?;
        }
        let overrides = overrides
            .build()
            .map_err(|e| DiscoverError::InvalidExclude {
                glob: shorten(&opts.exclude.join(", ")),
                message: shorten(&e.to_string()),
            })?;
        builder.overrides(overrides);
    }
    let skipped_dirs: Arc<Mutex<Vec<Skipped>>> = Arc::default();
    let walk_warnings: Arc<Mutex<Vec<DiscoverWarning>>> = Arc::default();
    {
        let skipped_dirs = Arc::clone(&skipped_dirs);
        let walk_warnings = Arc::clone(&walk_warnings);
        let root = root.to_path_buf();
        let include_vendor = opts.include_vendor;
        builder.filter_entry(move |entry| {
            if entry.depth() == 0 {
                return true;
            }
            // Hidden folders (`.git`, `.idea`) and files are left out, except dotenv files.
            let hidden = entry.file_name().to_string_lossy();
            if hidden.starts_with('.') {
                return !entry.file_type().is_some_and(|t| t.is_dir()) && is_env_file_name(&hidden);
            }
            if !entry.file_type().is_some_and(|t| t.is_dir()) {
                return true;
            }
            // The walker reads a folder's ignore files when it enters it: refuse a folder whose
            // ignore file is not a regular file (a FIFO would block) or is too large.
            if use_ignores && let Err(problem) = crate::read::check_ignore_files(entry.path()) {
                walk_warnings
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(DiscoverWarning::new(
                        &rel_path(&root, entry.path()),
                        format!("{problem}; the folder was not scanned"),
                    ));
                return false;
            }
            if include_vendor {
                return true;
            }
            let name = entry.file_name().to_string_lossy();
            let reason = if sniff::VENDOR_DIRS.contains(&name.as_ref()) {
                SkipReason::Vendor
            } else if name == "unpackage" || (name == "dist" && is_compiled_dist(entry.path())) {
                SkipReason::BuildOutput
            } else {
                return true;
            };
            skipped_dirs
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(Skipped {
                    rel: rel_path(&root, entry.path()),
                    reason,
                });
            false
        });
    }

    let mut entries = Vec::new();
    for result in builder.build() {
        let entry = match result {
            Ok(entry) => entry,
            Err(err) => {
                let rel = error_path(&err)
                    .map(|p| rel_path(root, p))
                    .unwrap_or_default();
                out.warnings
                    .push(DiscoverWarning::new(&rel, err.to_string()));
                continue;
            }
        };
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue; // folders, and symbolic links when links are not followed
        }
        let rel = rel_path(root, entry.path());
        match entry.metadata() {
            Ok(meta) => entries.push(Entry {
                path: entry.into_path(),
                rel,
                size: meta.len(),
            }),
            Err(err) => out
                .warnings
                .push(DiscoverWarning::new(&rel, err.to_string())),
        }
    }
    entries.sort_by(|a, b| a.rel.cmp(&b.rel));
    out.warnings.extend(
        walk_warnings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..),
    );
    out.skipped.extend(
        skipped_dirs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..),
    );
    Ok(entries)
}

/// At most this many `exclude` globs (each becomes a matcher; hundreds of thousands of them
/// take gigabytes).
pub const MAX_EXCLUDES: usize = 10_000;
/// At most this many bytes per `exclude` glob.
pub const MAX_EXCLUDE_LEN: usize = 4096;
/// A user-supplied string cut to a length fit for an error message.
fn shorten(s: &str) -> String {
    const MAX: usize = 200;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &s[..end], s.len())
}

/// Whether a `dist` folder is the compiled output of sources beside it (see the module docs).
fn is_compiled_dist(dist: &Path) -> bool {
    let Some(parent) = dist.parent() else {
        return false;
    };
    let src = parent.join("src");
    if !src.is_dir() {
        return false;
    }
    if src.join("manifest.json").is_file() && src.join("pages.json").is_file() {
        return true;
    }
    sniff::read_prefix(&parent.join("package.json"), 1024 * 1024).is_ok_and(|pkg| {
        let text = String::from_utf8_lossy(&pkg);
        text.contains("\"@tarojs/") || text.contains("\"@dcloudio/")
    })
}

/// What a file name says before its content or place is looked at.
enum Class {
    Kind(FileKind),
    /// `.qml`: a QQ template or Qt QML, depending on the project.
    Qml,
    /// `.json`: the kind depends on the place.
    Json,
    /// `*.min.js` and friends.
    MinifiedName,
}

fn classify_name(name: &str) -> Option<Class> {
    if is_env_file_name(name) {
        return Some(Class::Kind(FileKind::Settings(SettingsFormat::Env)));
    }
    let (stem, ext) = name.rsplit_once('.')?;
    let ext = ext.to_ascii_lowercase();
    let is_declaration = Path::new(stem)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("d"));
    let script = |lang| {
        if sniff::is_min_name(name) {
            Class::MinifiedName
        } else {
            Class::Kind(FileKind::Script(lang))
        }
    };
    Some(match ext.as_str() {
        "js" | "mjs" | "cjs" => script(ScriptLang::Js),
        "jsx" => script(ScriptLang::Jsx),
        "ts" | "mts" | "cts" if is_declaration => return None,
        "ts" | "mts" | "cts" => script(ScriptLang::Ts),
        "tsx" => script(ScriptLang::Tsx),
        "wxml" => Class::Kind(FileKind::Template(TemplateLang::Wxml)),
        "axml" => Class::Kind(FileKind::Template(TemplateLang::Axml)),
        "ttml" => Class::Kind(FileKind::Template(TemplateLang::Ttml)),
        "swan" => Class::Kind(FileKind::Template(TemplateLang::Swan)),
        "qml" => Class::Qml,
        "wxs" | "sjs" => Class::Kind(FileKind::Wxs),
        "vue" | "nvue" => Class::Kind(FileKind::Vue),
        "json" => Class::Json,
        "yml" | "yaml" => Class::Kind(FileKind::Settings(SettingsFormat::Yaml)),
        "properties" => Class::Kind(FileKind::Settings(SettingsFormat::Properties)),
        "ini" | "conf" | "cnf" | "cfg" => Class::Kind(FileKind::Settings(SettingsFormat::Ini)),
        "env" => Class::Kind(FileKind::Settings(SettingsFormat::Env)),
        _ => return None,
    })
}

/// `.env`, `.env.production`, `.env.local`: dotenv files (the only hidden files discovery reads).
fn is_env_file_name(name: &str) -> bool {
    name == ".env"
        || name
            .strip_prefix(".env.")
            .is_some_and(|rest| !rest.is_empty())
}

const TEMPLATE_EXTS: &[&str] = &["wxml", "axml", "ttml", "swan", "qml"];
const PAGE_SCRIPT_EXTS: &[&str] = &["js", "ts"];

fn json_kind(
    rel: &str,
    role: Role,
    rels: &BTreeSet<&str>,
    layout: &Layout,
    app_roots: &BTreeSet<&str>,
) -> JsonKind {
    let name = file_name(rel);
    let dir = parent_dir(rel);
    if layout::is_project_config(name) {
        return JsonKind::ProjectConfig;
    }
    match name {
        "app.json" if app_roots.contains(dir) => return JsonKind::AppJson,
        "package.json" => return JsonKind::PackageJson,
        "manifest.json" if layout.uni_roots.contains(dir) => return JsonKind::UniManifest,
        "pages.json" if layout.uni_roots.contains(dir) => return JsonKind::UniPages,
        "config.json" if role == Role::CloudFunction && layout.function_dirs.contains(dir) => {
            return JsonKind::CloudFunctionConfig;
        }
        _ => {}
    }
    let stem = name.strip_suffix(".json").unwrap_or(name);
    let sibling = |ext: &&str| {
        let sib = format!("{stem}.{ext}");
        let sib = if dir.is_empty() {
            sib
        } else {
            format!("{dir}/{sib}")
        };
        rels.contains(sib.as_str())
    };
    if TEMPLATE_EXTS.iter().any(sibling)
        || (layout.in_client_root(rel) && PAGE_SCRIPT_EXTS.iter().any(sibling))
    {
        JsonKind::PageJson
    } else if is_config_json(rel) {
        JsonKind::Config
    } else {
        JsonKind::Other
    }
}

/// Words of a JSON file's name that make it a settings file (`config.prod.json`,
/// `app-settings.json`, `secrets.json`).
const CONFIG_JSON_WORDS: &[&str] = &[
    "config",
    "configs",
    "configuration",
    "conf",
    "cfg",
    "settings",
    "setting",
    "secrets",
    "secret",
    "credentials",
    "credential",
    "env",
    "environment",
    "datasource",
];

/// Folders whose JSON files are settings (node-config's `config/default.json`,
/// `config/production.json`).
const CONFIG_JSON_DIRS: &[&str] = &["config", "configs", "conf", "settings", "secrets"];

/// Folders of translations and message catalogues: their values are texts, whatever the keys
/// say (`"password": "Passwort"`).
const TEXT_DIRS: &[&str] = &[
    "i18n",
    "l10n",
    "locale",
    "locales",
    "lang",
    "langs",
    "language",
    "languages",
    "translations",
    "messages",
];

/// Whether a JSON file (not one of the platform's own kinds) holds settings, by its name or
/// its folder: see [`JsonKind::Config`]. Compiler and editor settings (`tsconfig.json`,
/// `jsconfig.json`) and files in translation folders are not.
pub(crate) fn is_config_json(rel: &str) -> bool {
    let lower = rel.to_ascii_lowercase();
    let mut parts: Vec<&str> = lower.split('/').collect();
    let name = parts.pop().unwrap_or("");
    let Some(stem) = name.strip_suffix(".json") else {
        return false;
    };
    if parts.iter().any(|d| TEXT_DIRS.contains(d))
        || stem.starts_with("tsconfig")
        || stem.starts_with("jsconfig")
    {
        return false;
    }
    let words: Vec<&str> = stem
        .split(['.', '-', '_'])
        .filter(|w| !w.is_empty())
        .collect();
    words.iter().any(|w| {
        CONFIG_JSON_WORDS.contains(w)
            // `appsettings`, `ormconfig`, `dbconfig`, `cloudbaserc`.
            || w.ends_with("config")
            || w.ends_with("settings")
            || *w == "cloudbaserc"
    }) || parts.last().is_some_and(|d| CONFIG_JSON_DIRS.contains(d))
}

/// Applies the size, binary and minified checks and records the file or why it was skipped.
fn admit(entry: &Entry, kind: FileKind, role: Role, opts: &DiscoverOptions, out: &mut Collected) {
    let skip = |reason| Skipped {
        rel: entry.rel.clone(),
        reason,
    };
    if entry.size > opts.max_file_size {
        out.skipped
            .push(skip(SkipReason::TooLarge { size: entry.size }));
        return;
    }
    let prefix = match sniff::read_prefix(&entry.path, sniff::SNIFF_LEN) {
        Ok(prefix) => prefix,
        Err(err) => {
            out.warnings.push(DiscoverWarning::new(
                &entry.rel,
                format!("cannot read: {err}"),
            ));
            return;
        }
    };
    if sniff::looks_binary(&prefix) {
        out.skipped.push(skip(SkipReason::Binary));
        return;
    }
    if matches!(kind, FileKind::Script(_) | FileKind::Wxs)
        && !opts.compiled_package
        && sniff::looks_minified(&prefix)
    {
        out.skipped.push(skip(SkipReason::Minified));
        return;
    }
    out.files.push(SourceFile {
        path: entry.path.clone(),
        rel: entry.rel.clone(),
        kind,
        role,
        size: entry.size,
    });
}

/// Adds the `usingComponents` of page and component JSON files to the app whose root is the
/// deepest one containing them.
fn collect_page_components(
    files: &[SourceFile],
    entries: &[Entry],
    apps: &mut [AppConfig],
    opts: &DiscoverOptions,
    warnings: &mut Vec<DiscoverWarning>,
) {
    // Per app, the components so far: a set, so that tens of thousands of entries are neither
    // searched linearly nor sorted again for every file.
    let mut sets: Vec<BTreeSet<String>> = apps
        .iter()
        .map(|a| a.components.iter().cloned().collect())
        .collect();
    for file in files
        .iter()
        .filter(|f| f.kind == FileKind::Json(JsonKind::PageJson))
    {
        let Some(app) = apps
            .iter()
            .enumerate()
            .filter(|(_, a)| is_under(&file.rel, &a.root_rel))
            .max_by_key(|(_, a)| a.root_rel.len())
            .map(|(i, _)| i)
        else {
            continue;
        };
        let Some(entry) = entries
            .binary_search_by(|e| e.rel.as_str().cmp(&file.rel))
            .ok()
            .and_then(|i| entries.get(i))
        else {
            continue;
        };
        let Some(node) = layout::load_json(entry, opts.max_file_size, warnings) else {
            continue;
        };
        let components = node.get("usingComponents").map_or(&[][..], |c| c.entries());
        if let Some(set) = sets.get_mut(app) {
            set.extend(
                components
                    .iter()
                    .filter_map(|m| m.value.as_str().map(str::to_owned)),
            );
        }
    }
    for (app, set) in apps.iter_mut().zip(sets) {
        app.components = set.into_iter().collect();
    }
}

/// A project of one file.
fn discover_file(path: &Path, size: u64, opts: &DiscoverOptions) -> Project {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut out = Collected::default();
    let entry = Entry {
        path: path.to_path_buf(),
        rel: name.clone(),
        size,
    };
    let parent = path.parent().unwrap_or(Path::new(""));
    let prefix = sniff::read_prefix(path, sniff::SNIFF_LEN).unwrap_or_default();
    let mut platform = Platform::Unknown;
    let mut apps = Vec::new();

    if sniff::LOCKFILES.contains(&name.as_str()) {
        out.lockfiles.push(name);
        return finish(path, platform, Vec::new(), Vec::new(), apps, out);
    }
    let kind = match classify_name(&name) {
        Some(Class::Kind(kind)) => Some(kind),
        Some(Class::Qml) => {
            let text = String::from_utf8_lossy(&prefix);
            let in_project = ancestors(parent).any(|dir| dir.join("project.config.json").is_file());
            if in_project || (!text.contains("import Qt") && text.contains("{{")) {
                Some(FileKind::Template(TemplateLang::Qml))
            } else {
                out.warnings.push(DiscoverWarning::new(
                    &name,
                    "looks like Qt QML, not a QQ mini-program template; not analysed",
                ));
                None
            }
        }
        Some(Class::Json) => Some(FileKind::Json(single_json_kind(&name, parent))),
        Some(Class::MinifiedName) => {
            out.skipped.push(Skipped {
                rel: name.clone(),
                reason: SkipReason::Minified,
            });
            None
        }
        None => {
            out.warnings.push(DiscoverWarning::new(
                &name,
                "not a file type miniguard analyses",
            ));
            None
        }
    };
    if let Some(kind) = kind {
        if let FileKind::Template(lang) = kind {
            platform = match lang {
                TemplateLang::Wxml => Platform::WeChat,
                TemplateLang::Axml => Platform::Alipay,
                TemplateLang::Ttml => Platform::Douyin,
                TemplateLang::Swan => Platform::Baidu,
                TemplateLang::Qml => Platform::Qq,
            };
        }
        let role = single_file_role(kind, parent, &prefix);
        if let FileKind::Json(JsonKind::AppJson | JsonKind::UniPages) = kind {
            let mut app = AppConfig::new("", &name, platform);
            if let Some(node) = layout::load_json(&entry, opts.max_file_size, &mut out.warnings) {
                layout::fill_app_config(&mut app, &node, &mut out.warnings);
            }
            apps.push(app);
        } else if kind.is_json() {
            // Report malformed JSON here too, as a directory scan would for configs.
            let _ = layout::load_json(&entry, opts.max_file_size, &mut out.warnings);
        }
        admit(&entry, kind, role, opts, &mut out);
    }
    finish(path, platform, Vec::new(), Vec::new(), apps, out)
}

/// The folder and its ancestors, nearest first, at most 8 levels.
fn ancestors(dir: &Path) -> impl Iterator<Item = &Path> {
    dir.ancestors()
        .filter(|p| !p.as_os_str().is_empty())
        .take(8)
}

fn single_json_kind(name: &str, parent: &Path) -> JsonKind {
    if layout::is_project_config(name) {
        return JsonKind::ProjectConfig;
    }
    match name {
        "app.json" => JsonKind::AppJson,
        "package.json" => JsonKind::PackageJson,
        "pages.json" if parent.join("manifest.json").is_file() => JsonKind::UniPages,
        "manifest.json" if parent.join("pages.json").is_file() => JsonKind::UniManifest,
        _ => {
            let stem = name.strip_suffix(".json").unwrap_or(name);
            if TEMPLATE_EXTS
                .iter()
                .chain(PAGE_SCRIPT_EXTS)
                .any(|ext| parent.join(format!("{stem}.{ext}")).is_file())
            {
                JsonKind::PageJson
            } else if is_config_json(name) {
                JsonKind::Config
            } else {
                JsonKind::Other
            }
        }
    }
}

/// The role of a lone file, from the nearest marker above it, folder names, then its content.
fn single_file_role(kind: FileKind, parent: &Path, prefix: &[u8]) -> Role {
    // Importing a cloud SDK or a web framework is the strongest sign there is.
    if kind.is_script()
        && let Some(role @ (Role::CloudFunction | Role::Server)) = sniff::content_role(prefix)
    {
        return role;
    }
    for dir in ancestors(parent) {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if sniff::is_cloudfunctions_dir_name(&name) {
            return Role::CloudFunction;
        }
        if let Some(grand) = dir.parent().and_then(Path::file_name)
            && name == "cloudfunctions"
            && grand.to_string_lossy().starts_with("uniCloud")
        {
            return Role::CloudFunction;
        }
        if let Ok(bytes) = sniff::read_prefix(&dir.join("package.json"), 1024 * 1024)
            && let Ok(node) = crate::json::parse(&String::from_utf8_lossy(&bytes))
        {
            let deps = sniff::dependency_names(&node);
            if sniff::CLOUD_SDKS.iter().any(|d| deps.contains(*d)) {
                return Role::CloudFunction;
            }
            if sniff::SERVER_FRAMEWORKS.iter().any(|d| deps.contains(*d)) {
                return Role::Server;
            }
        }
        let client_markers = [
            "app.json",
            "project.config.json",
            "mini.project.json",
            "project.swan.json",
            "project.tt.json",
            "pages.json",
        ];
        if client_markers.iter().any(|m| dir.join(m).is_file()) {
            return Role::Client;
        }
    }
    if matches!(kind, FileKind::Template(_) | FileKind::Wxs | FileKind::Vue) {
        return Role::Client;
    }
    let server_dir = ancestors(parent).take(3).any(|dir| {
        dir.file_name().is_some_and(|n| {
            sniff::SERVER_DIR_NAMES
                .iter()
                .any(|s| n.to_string_lossy().eq_ignore_ascii_case(s))
        })
    });
    if server_dir {
        return Role::Server;
    }
    if kind.is_script() {
        sniff::content_role(prefix).unwrap_or(Role::Unknown)
    } else {
        Role::Unknown
    }
}
