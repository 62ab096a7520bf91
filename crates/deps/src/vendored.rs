//! Third-party code that ships inside the tree: `miniprogram_npm/<name>` packages and library
//! files copied by hand (`utils/crypto-js.js`, `libs/lodash.min.js`).
//!
//! Lockfiles only tell what npm installed. Mini-programs also ship what the WeChat npm build
//! copied into `miniprogram_npm/` (often without a `package.json`), and libraries pasted into
//! `utils/` or `libs/` years ago, renamed, never updated. Those are exactly the old, vulnerable
//! copies an audit must find, and nothing but their content says what they are.
//!
//! Recognition follows retire.js (the signatures are converted from its repository, see
//! [`retire`] and `crates/deps/data/retire-extractors.json`): version banners and other version
//! strings in the content, then the file's SHA-1, plus the file name and path. miniguard adds a
//! few signatures of its own (`extra.rs`: crypto-js hashes, lodash's minified build) and
//! characteristic strings that name a library whose version nothing reveals (reported with an
//! empty version).
//!
//! # Entry points
//! - [`detect_file`]: one file's content and path to the libraries it is a copy of.
//! - [`miniprogram_npm`]: the packages of given `miniprogram_npm` folders.
//! - [`scan_tree`] / [`scan_tree_with`]: walk a project, do both.
//!
//! # Decisions
//! - Only the first [`ScanOptions::content_window`] bytes (default 1 MiB) are searched for
//!   version strings; retire.js searches the whole file. Banners sit at the top, and minified
//!   builds put their version assignment within the file's first few hundred KiB (lodash 4 at
//!   68 KiB of 72 KiB); a webpack bundle of several MiB is a bundle, not a copied library, and
//!   searching it whole would cost time on every scan for little. The hash is always of the
//!   whole file (it must be, to match).
//! - A banner regex must match: a file that merely mentions "jquery" is not jQuery.
//! - Files larger than [`ScanOptions::max_file_size`] (default 5 MiB) are not read; they are
//!   listed in [`ScanOutcome::skipped`].

mod extra;
mod extractors;
mod npm;
pub mod retire;

use std::path::{Path, PathBuf};

use miniguard_project::read::{check_ignore_files, check_walk_root};

use crate::{DepOrigin, DepSource, Dependency};

pub use npm::miniprogram_npm;

/// Why a tree could not be scanned at all. Unreadable files and folders inside it are skipped,
/// not errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VendoredError {
    #[error("cannot read {}: {source}", path.display())]
    Root {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Limits of [`scan_tree_with`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanOptions {
    /// Files larger than this are not read (listed in [`ScanOutcome::skipped`]).
    pub max_file_size: u64,
    /// At most this many `.js` files are read; the rest are counted in
    /// [`ScanOutcome::not_scanned`].
    pub max_files: usize,
    /// Bytes from the start of a file searched for version strings.
    pub content_window: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            max_file_size: 5 * 1024 * 1024,
            max_files: 50_000,
            content_window: DEFAULT_WINDOW,
        }
    }
}

/// Bytes searched for version strings by [`detect_file`] and by default in [`scan_tree`].
pub const DEFAULT_WINDOW: usize = 1024 * 1024;

/// What [`scan_tree_with`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanOutcome {
    /// Sorted by file, line, name, version.
    pub dependencies: Vec<Dependency>,
    /// The `miniprogram_npm` folders found (relative, `/`-separated, sorted).
    pub miniprogram_npm_dirs: Vec<String>,
    /// `.js` files read.
    pub files_scanned: usize,
    /// Files left out for size (relative paths, sorted).
    pub skipped: Vec<String>,
    /// `.js` files left out because [`ScanOptions::max_files`] was reached.
    pub not_scanned: usize,
}

/// The libraries a file is a copy of, recognised by its content and path.
///
/// `rel_path` is the path relative to the scan root (`/` or `\` separated); it is used for file
/// name and path signatures and copied into [`Dependency::file`]. Each dependency's origin is
/// [`DepOrigin::Vendored`] with `how` one of `"version banner"`, `"file hash"`,
/// `"characteristic string"` (name known, version empty), `"file name"` or `"file path"`; its
/// line is that of the version string (1 otherwise). Only the first [`DEFAULT_WINDOW`] bytes are
/// searched for version strings. Never fails: arbitrary bytes give an empty list at worst.
pub fn detect_file(rel_path: &str, content: &[u8]) -> Vec<Dependency> {
    detect_with_window(rel_path, content, DEFAULT_WINDOW)
}

fn detect_with_window(rel_path: &str, content: &[u8], window: usize) -> Vec<Dependency> {
    let file = rel_path.replace('\\', "/");
    extractors::SIGNATURES
        .detect(rel_path, content, window)
        .into_iter()
        .map(|hit| Dependency {
            name: hit.name,
            version: hit.version,
            source: DepSource::Registry,
            origin: DepOrigin::Vendored {
                how: hit.how.as_str().to_string(),
            },
            // A copied file is shipped by the project itself.
            direct: true,
            dev: false,
            optional: false,
            file: file.clone(),
            line: hit.line,
            chain: Vec::new(),
        })
        .collect()
}

/// Signature counts by kind (`filecontent`, `filecontentreplace`, `filename`, `uri`, `hashes`,
/// `characteristic`) and the number the regex crate rejected at load (0 when the data file is
/// as converted). Compiles the signatures if not done yet.
pub fn signature_counts() -> (Vec<(&'static str, usize)>, usize) {
    let s = &*extractors::SIGNATURES;
    (s.counts().to_vec(), s.rejected)
}

/// [`scan_tree_with`] with default limits, keeping only the dependencies.
pub fn scan_tree(root: &Path) -> Result<Vec<Dependency>, VendoredError> {
    scan_tree_with(root, &ScanOptions::default()).map(|o| o.dependencies)
}

/// Walk `root` for copied libraries (`.js`, `.mjs`, `.cjs` files) and `miniprogram_npm`
/// packages.
///
/// The walk honours `.gitignore` (also outside a git repository), skips hidden entries and
/// `node_modules` (lockfiles cover those). `miniprogram_npm` folders are found even when
/// `.gitignore`d (they are build output, commonly ignored, but the WeChat tools upload them);
/// their packages are reported once by [`miniprogram_npm`], and a file inside a package folder is
/// not reported again as a copy of that same package (it still is as a copy of another library
/// bundled into it).
pub fn scan_tree_with(root: &Path, opts: &ScanOptions) -> Result<ScanOutcome, VendoredError> {
    std::fs::read_dir(root).map_err(|source| VendoredError::Root {
        path: root.to_path_buf(),
        source,
    })?;
    let mut out = ScanOutcome::default();
    let mut js_files = Vec::new();
    let mut npm_dirs = Vec::new();
    // Ignore files are opened by the walker itself: check them first (a FIFO `.gitignore`
    // would block it). A bad one at the root or above it turns ignore files off; in a folder,
    // the folder is left out (discovery reports both).
    let use_ignores = check_walk_root(root).is_ok();
    let walk = ignore::WalkBuilder::new(root)
        .require_git(false)
        .follow_links(false)
        .parents(use_ignores)
        .ignore(use_ignores)
        .git_ignore(use_ignores)
        .git_exclude(use_ignores)
        .git_global(false)
        .filter_entry(move |e| {
            e.file_name() != "node_modules"
                && !(use_ignores
                    && e.depth() > 0
                    && e.file_type().is_some_and(|t| t.is_dir())
                    && check_ignore_files(e.path()).is_err())
        })
        .build();
    for entry in walk.flatten() {
        let Some(kind) = entry.file_type() else {
            continue;
        };
        let Some(rel) = rel_path(root, entry.path()) else {
            continue;
        };
        if kind.is_dir() && entry.file_name() == "miniprogram_npm" {
            npm_dirs.push(rel);
        } else if kind.is_file() && is_js(&rel) {
            js_files.push((rel, entry.metadata().map_or(0, |m| m.len())));
        }
    }
    // `.gitignore`d `miniprogram_npm` folders: a second walk over folders only.
    let dirs_only = ignore::WalkBuilder::new(root)
        .standard_filters(false)
        .hidden(true)
        .follow_links(false)
        .filter_entry(|e| {
            e.file_type().is_some_and(|t| t.is_dir())
                && e.file_name() != "node_modules"
                && e.file_name() != ".git"
        })
        .build();
    for entry in dirs_only.flatten() {
        if entry.file_name() != "miniprogram_npm" {
            continue;
        }
        if let Some(rel) = rel_path(root, entry.path()).filter(|r| !npm_dirs.contains(r)) {
            npm_dirs.push(rel);
        }
    }
    npm_dirs.sort();
    js_files.sort();
    out.dependencies = miniprogram_npm(root, &npm_dirs);
    for (rel, len) in js_files {
        if len > opts.max_file_size {
            out.skipped.push(rel);
            continue;
        }
        if out.files_scanned >= opts.max_files {
            out.not_scanned += 1;
            continue;
        }
        let Ok(content) = read_capped(&root.join(&rel), opts.max_file_size) else {
            continue;
        };
        out.files_scanned += 1;
        let own_package = npm::package_of(&rel, &npm_dirs);
        out.dependencies.extend(
            detect_with_window(&rel, &content, opts.content_window)
                .into_iter()
                .filter(|d| own_package.as_deref() != Some(d.name.as_str())),
        );
    }
    out.dependencies.sort_by(|a, b| {
        (&a.file, a.line, &a.name, &a.version).cmp(&(&b.file, b.line, &b.name, &b.version))
    });
    out.miniprogram_npm_dirs = npm_dirs;
    Ok(out)
}

fn is_js(rel: &str) -> bool {
    let lower = rel.to_ascii_lowercase();
    [".js", ".mjs", ".cjs"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

/// `path` relative to `root` with `/` separators; `None` for the root itself or a path that
/// is not valid UTF-8 (reported paths must be text).
fn rel_path(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    let joined = parts?.join("/");
    (!joined.is_empty()).then_some(joined)
}

/// Read at most `cap` bytes: the size seen during the walk may be stale.
/// Regular files only (the file may have been swapped for a FIFO since the walk).
fn read_capped(path: &Path, cap: u64) -> std::io::Result<Vec<u8>> {
    miniguard_project::read::read_prefix(path, cap).map_err(|e| match e {
        miniguard_project::read::ReadError::Io(e) => e,
        other => std::io::Error::other(other.to_string()),
    })
}
