//! `miniguard unpack`: a `.wxapkg` package into a folder in source shape, and the package
//! support of `miniguard scan`.
//!
//! # How `scan` reads packages
//!
//! The analyzer reads every file from disk by its path (scripts, templates, JSON, and the
//! modules a script imports), in several places of the pipeline. Rather than thread a second
//! way of reading through all of them, `scan` restores each package into a private temporary
//! folder (mode 0700, removed when the scan ends, also on error) under a sub-folder named
//! after the package, and scans that folder. A module's path relative to it is then already
//! the path to report: `__APP__.wxapkg/utils/config.js`, with lines inside the module. Nothing
//! is written anywhere else, and the package file itself is only read.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use miniguard_project::wxapkg::{self, Limits};
use miniguard_report::msg;

use crate::say;

/// Arguments of `miniguard unpack`.
#[derive(Args, Debug)]
pub struct UnpackArgs {
    /// The package to unpack (`__APP__.wxapkg`, plain or PC-encrypted).
    pub path: PathBuf,

    /// The folder to write the restored sources into (created if missing).
    #[arg(long, short = 'o', value_name = "DIR")]
    pub output: PathBuf,

    /// The mini-program's appid, needed for PC-encrypted packages (`V1MMWX`) [default: the
    /// nearest parent folder named like an appid, `wx` + 16 hex digits].
    #[arg(long, value_name = "APPID")]
    pub appid: Option<String>,

    /// Write the package's files as stored (no splitting of app-service.js or
    /// app-config.json).
    #[arg(long)]
    pub raw: bool,
}

pub fn run(args: &UnpackArgs) -> Result<ExitCode> {
    if let Some(a) = &args.appid
        && !wxapkg::crypto::is_appid(a)
    {
        bail!(say(msg!(
            "cli.unpack.not-an-appid",
            appid = format!("{a:?}")
        )));
    }
    let limits = Limits::default();
    let pkg = read_package(&args.path, args.appid.as_deref(), &limits)?;
    let (files, notes) = if args.raw {
        let files = pkg
            .entries()
            .iter()
            .map(|e| (e.name.clone(), pkg.contents(e).to_vec()))
            .collect();
        (files, Vec::new())
    } else {
        let r = wxapkg::restore(&pkg);
        (r.files, r.notes)
    };
    wxapkg::write_tree(&args.output, &files).with_context(|| {
        say(msg!(
            "cli.unpack.cannot-write",
            path = args.output.display().to_string()
        ))
    })?;
    let mut err = anstream::stderr();
    for n in &notes {
        writeln!(err, "{}", say(msg!("cli.warning", message = n)))?;
    }
    writeln!(
        err,
        "{}",
        say(msg!(
            "cli.unpack.done",
            package = args.path.display().to_string(),
            entries = pkg.entries().len(),
            files = files.len(),
            path = args.output.display().to_string()
        ))
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Read, decrypt (appid from `appid` or the folders above the package) and check a package.
fn read_package(path: &Path, appid: Option<&str>, limits: &Limits) -> Result<wxapkg::Package> {
    let size = std::fs::metadata(path)
        .with_context(|| say(msg!("cli.cannot-read", path = path.display().to_string())))?
        .len();
    if size > limits.max_bytes {
        bail!(say(msg!(
            "cli.unpack.too-large",
            path = path.display().to_string(),
            size = size,
            limit = limits.max_bytes
        )));
    }
    let bytes = std::fs::read(path)
        .with_context(|| say(msg!("cli.cannot-read", path = path.display().to_string())))?;
    let from_path = std::path::absolute(path)
        .ok()
        .and_then(|p| wxapkg::appid_from_path(&p));
    let appid = appid.map(str::to_owned).or(from_path);
    wxapkg::open(bytes, appid.as_deref(), limits).with_context(|| {
        say(msg!(
            "cli.unpack.cannot-read-package",
            path = path.display().to_string()
        ))
    })
}

/// Packages restored for a scan: the folder to scan, and what could not be restored.
pub(crate) struct PackageScan {
    dir: tempfile::TempDir,
    /// `(package path relative to the scan root, note)`.
    pub notes: Vec<(String, String)>,
}

impl PackageScan {
    /// The folder that holds one sub-folder per package.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }
}

/// Most packages one `scan` restores from a folder.
const MAX_PACKAGES: usize = 1000;
/// How deep a folder of packages is searched (`wx.../12/__APP__.wxapkg` is two below).
const MAX_DEPTH: usize = 4;
/// Most bytes of all packages of one scan together.
const MAX_TOTAL: u64 = 1024 * 1024 * 1024;

/// When `path` is a `.wxapkg` file, or a folder of packages (one holding `.wxapkg` files, no
/// project config at its top and no source files of its own), restore them into a private
/// temporary folder for the scan. `None`: `path` is an ordinary project.
pub(crate) fn for_scan(path: &Path) -> Result<Option<PackageScan>> {
    let packages: Vec<(PathBuf, String)> = if path.is_file() {
        if !is_package_name(path) {
            return Ok(None);
        }
        let name = path.file_name().map_or_else(
            || "package.wxapkg".into(),
            |n| n.to_string_lossy().into_owned(),
        );
        vec![(path.to_path_buf(), name)]
    } else if path.is_dir() && !is_project(path) {
        let mut found = Vec::new();
        let mut has_source = false;
        find_packages(path, path, 0, &mut found, &mut has_source)?;
        if found.is_empty() || has_source {
            return Ok(None);
        }
        found.sort();
        found
    } else {
        return Ok(None);
    };

    let mut builder = tempfile::Builder::new();
    builder.prefix("miniguard-pkg-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        builder.permissions(std::fs::Permissions::from_mode(0o700));
    }
    let dir = builder
        .tempdir()
        .with_context(|| say(msg!("cli.unpack.no-temporary-folder")))?;
    let mut scan = PackageScan {
        dir,
        notes: Vec::new(),
    };
    let limits = Limits::default();
    let mut total = 0u64;
    for (file, rel) in packages {
        total += std::fs::metadata(&file).map_or(0, |m| m.len());
        if total > MAX_TOTAL {
            bail!(say(msg!(
                "cli.unpack.too-much",
                path = path.display().to_string(),
                limit = MAX_TOTAL
            )));
        }
        let pkg = read_package(&file, None, &limits)?;
        let restored = wxapkg::restore(&pkg);
        wxapkg::write_tree(&scan.root().join(&rel), &restored.files).with_context(|| {
            say(msg!(
                "cli.unpack.cannot-restore",
                path = file.display().to_string()
            ))
        })?;
        scan.notes
            .extend(restored.notes.into_iter().map(|n| (rel.clone(), n)));
    }
    Ok(Some(scan))
}

fn is_package_name(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("wxapkg"))
}

/// A folder that is a project of its own, scanned as source even if packages lie in it.
fn is_project(dir: &Path) -> bool {
    [
        "project.config.json",
        "app.json",
        "package.json",
        "mini.project.json",
        "project.swan.json",
        "project.tt.json",
    ]
    .iter()
    .any(|f| dir.join(f).is_file())
}

/// Extensions of source files: a folder holding any is a source tree, not a folder of packages.
const SOURCE_EXTENSIONS: &[&str] = &[
    "js", "mjs", "cjs", "ts", "jsx", "tsx", "vue", "wxml", "axml", "ttml", "swan", "qml",
];

/// `.wxapkg` files below `dir` (links not followed), as `(path, path relative to root)`, and
/// whether source files lie there too.
fn find_packages(
    root: &Path,
    dir: &Path,
    depth: usize,
    found: &mut Vec<(PathBuf, String)>,
    has_source: &mut bool,
) -> Result<()> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| say(msg!("cli.cannot-read", path = dir.display().to_string())))?;
    for entry in entries {
        let entry = entry
            .with_context(|| say(msg!("cli.cannot-read", path = dir.display().to_string())))?;
        let Ok(ty) = entry.file_type() else { continue };
        let p = entry.path();
        if ty.is_dir() && depth + 1 < MAX_DEPTH {
            find_packages(root, &p, depth + 1, found, has_source)?;
        } else if ty.is_file()
            && p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| SOURCE_EXTENSIONS.contains(&e))
        {
            *has_source = true;
        } else if ty.is_file() && is_package_name(&p) {
            if found.len() >= MAX_PACKAGES {
                bail!(say(msg!(
                    "cli.unpack.too-many",
                    path = root.display().to_string(),
                    limit = MAX_PACKAGES
                )));
            }
            let rel = p
                .strip_prefix(root)
                .unwrap_or(&p)
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            found.push((p, rel));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-file package, as the format lays it out.
    fn package() -> Vec<u8> {
        let name = b"/app.js";
        let index_len = 4 + 12 + name.len();
        let mut out = vec![0xBE];
        out.extend_from_slice(&0u32.to_be_bytes());
        out.extend_from_slice(&(index_len as u32).to_be_bytes());
        out.extend_from_slice(&2u32.to_be_bytes());
        out.push(0xED);
        out.extend_from_slice(&1u32.to_be_bytes());
        out.extend_from_slice(&(name.len() as u32).to_be_bytes());
        out.extend_from_slice(name);
        out.extend_from_slice(&((14 + index_len) as u32).to_be_bytes());
        out.extend_from_slice(&2u32.to_be_bytes());
        out.extend_from_slice(b"x;");
        out
    }

    #[test]
    fn scan_folder_is_private_and_removed_afterwards() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pkg = dir.path().join("__APP__.wxapkg");
        std::fs::write(&pkg, package()).expect("write");
        let scan = for_scan(&pkg).expect("restores").expect("is a package");
        let root = scan.root().to_path_buf();
        assert_eq!(
            std::fs::read(root.join("__APP__.wxapkg/app.js")).expect("module"),
            b"x;"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&root).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o700, "{mode:o}");
        }
        drop(scan);
        assert!(!root.exists(), "removed when the scan ends");
    }

    #[test]
    fn projects_and_other_files_are_not_packages() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("app.json"), "{}").expect("write");
        std::fs::write(dir.path().join("stray.wxapkg"), package()).expect("write");
        assert!(for_scan(dir.path()).expect("ok").is_none());
        assert!(
            for_scan(&dir.path().join("app.json"))
                .expect("ok")
                .is_none()
        );
    }
}
