//! Bounded reads of regular files: the one way miniguard reads a file it did not write.
//!
//! A scanned tree is untrusted. Where a file is expected it may hold a FIFO (opening it blocks
//! forever), a device (`/dev/zero` never ends), a symbolic link out of the tree (a
//! `miniguard.toml` pointing at `/etc/passwd`), or simply a file of gigabytes. So every read:
//!
//! - opens regular files only: the type is checked before opening (a FIFO is never opened) and
//!   again on the open handle, and on Linux the open is non-blocking as a last guard;
//! - stops at a size limit, counted while reading (a file that grows is caught too);
//! - for paths the tree itself names ([`read_inside`], [`resolve_inside`]), resolves symbolic
//!   links and `..` and refuses a target outside the tree's root.
//!
//! Errors say what was refused and never include the file's content.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Limit for configuration files (`miniguard.toml`, `package.json`, ignore files, baselines).
pub const CONFIG_LIMIT: u64 = 4 * 1024 * 1024;
/// Limit for a JSON file that is parsed into a tree (`app.json`, page JSONs, `package.json`):
/// the tree takes about 40 times the text.
pub const JSON_LIMIT: u64 = 8 * 1024 * 1024;
/// Limit for baselines (tens of thousands of accepted findings).
pub const BASELINE_LIMIT: u64 = 32 * 1024 * 1024;
/// Limit for lockfiles: large monorepo lockfiles reach 10-20 MiB, and the parsed tree takes
/// about 25 times the text.
pub const LOCKFILE_LIMIT: u64 = 32 * 1024 * 1024;

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// A FIFO, socket, device or folder where a file was expected.
    #[error("not a regular file ({kind}); not read")]
    NotRegular { kind: &'static str },
    /// Larger than the limit.
    #[error("larger than {limit} bytes; not read")]
    TooLarge { limit: u64 },
    /// A path the scanned tree names resolves outside the tree.
    #[error("resolves outside the scanned folder; not read")]
    OutsideTree,
    /// Not UTF-8 text (for [`read_string`]).
    #[error("not valid UTF-8 text")]
    NotUtf8,
    /// Printed as its own message and not exposed as a source, so it is not shown twice.
    #[error("{0}")]
    Io(io::Error),
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

impl ReadError {
    /// Whether the file does not exist (callers often treat that as "not configured").
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io(e) if e.kind() == io::ErrorKind::NotFound)
    }
}

fn kind_of(t: fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_block_device() || t.is_char_device() {
            return "a device";
        }
    }
    if t.is_dir() {
        return "a folder";
    }
    "not a file"
}

/// Checks, without opening it, that `path` (links followed) is a regular file of at most
/// `limit` bytes. For callers that hand the path to a reader of their own.
pub fn check_regular(path: &Path, limit: u64) -> Result<(), ReadError> {
    let meta = fs::metadata(path)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular {
            kind: kind_of(meta.file_type()),
        });
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(())
}

/// Largest ignore file (`.gitignore`, `.ignore`, `.miniguardignore`, `.git/info/exclude`) a
/// walk applies; the `ignore` crate keeps every line of them as a matcher.
pub const MAX_IGNORE_FILE: u64 = 1024 * 1024;
/// Most lines of one ignore file a walk applies (each is a matcher: a file of hundreds of
/// thousands of short lines took gigabytes; real ones have a few hundred).
pub const MAX_IGNORE_LINES: usize = 10_000;

/// Checks the ignore files of a folder before a walker (the `ignore` crate, which opens them
/// itself) reads them: each must be a regular file of at most [`MAX_IGNORE_FILE`] bytes and
/// [`MAX_IGNORE_LINES`] lines. A FIFO would block the walk; a huge file would take gigabytes of
/// matchers.
pub fn check_ignore_files(dir: &Path) -> Result<(), String> {
    for name in [
        ".gitignore",
        ".ignore",
        ".miniguardignore",
        ".git/info/exclude",
    ] {
        let path = dir.join(name);
        let Ok(meta) = fs::metadata(&path) else {
            continue;
        };
        if !meta.is_file() {
            return Err(format!("{name} is not a regular file"));
        }
        if meta.len() > MAX_IGNORE_FILE {
            return Err(format!("{name} is larger than {MAX_IGNORE_FILE} bytes"));
        }
        let bytes = read_bytes(&path, MAX_IGNORE_FILE).map_err(|e| format!("{name}: {e}"))?;
        if line_count(&bytes) > MAX_IGNORE_LINES {
            return Err(format!("{name} has more than {MAX_IGNORE_LINES} lines"));
        }
    }
    Ok(())
}

fn line_count(bytes: &[u8]) -> usize {
    bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count()
}

/// Checks the ignore files a walk from `root` reads before it visits anything: those of `root`
/// and of every folder above it. The `ignore` crate reads the ignore files of the folders that
/// contain the root as soon as any ignore file is on (git's rules apply a parent's `.gitignore`),
/// so a FIFO `.gitignore` one folder up would block a scan of `repo/sub`. On an error the
/// caller turns ignore files off altogether.
pub fn check_walk_root(root: &Path) -> Result<(), String> {
    check_ignore_files(root)?;
    // The crate starts from the canonical path, and reads nothing above a root it cannot
    // resolve.
    let Ok(abs) = fs::canonicalize(root) else {
        return Ok(());
    };
    for dir in abs.ancestors().skip(1) {
        check_ignore_files(dir).map_err(|problem| format!("{problem} (in {})", dir.display()))?;
    }
    Ok(())
}

/// Opens `path` (following links) if it is a regular file.
fn open_regular(path: &Path) -> Result<File, ReadError> {
    let meta = fs::metadata(path)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular {
            kind: kind_of(meta.file_type()),
        });
    }
    let mut opts = OpenOptions::new();
    opts.read(true);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // O_NONBLOCK: should the file have been swapped for a FIFO since the check above, the
        // open returns at once instead of waiting for a writer. No effect on regular files.
        opts.custom_flags(0o4000);
    }
    let file = opts.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular {
            kind: kind_of(meta.file_type()),
        });
    }
    Ok(file)
}

/// Reads a whole regular file of at most `limit` bytes.
pub fn read_bytes(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let file = open_regular(path)?;
    let hint = file.metadata().map_or(0, |m| m.len());
    if hint > limit {
        return Err(ReadError::TooLarge { limit });
    }
    let mut buf = Vec::with_capacity(usize::try_from(hint).unwrap_or(0));
    file.take(limit.saturating_add(1)).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(buf)
}

/// Reads at most the first `limit` bytes of a regular file (for sniffing its content).
pub fn read_prefix(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let file = open_regular(path)?;
    let mut buf = Vec::new();
    file.take(limit).read_to_end(&mut buf)?;
    Ok(buf)
}

/// Reads a whole regular file of at most `limit` bytes as UTF-8 text.
pub fn read_string(path: &Path, limit: u64) -> Result<String, ReadError> {
    String::from_utf8(read_bytes(path, limit)?).map_err(|_| ReadError::NotUtf8)
}

/// Resolves `path` (links and `..` included) and checks that it lies inside `root`; returns the
/// resolved path. For files the scanned tree names: a config's `baseline`, a linked
/// `package.json` or `miniguard.toml`.
pub fn resolve_inside(root: &Path, path: &Path) -> Result<PathBuf, ReadError> {
    let root = fs::canonicalize(root)?;
    let real = fs::canonicalize(path)?;
    if real.starts_with(&root) {
        Ok(real)
    } else {
        Err(ReadError::OutsideTree)
    }
}

/// [`read_bytes`] of a file the scanned tree names, refused unless it resolves inside `root`.
pub fn read_inside_bytes(root: &Path, path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let real = resolve_inside(root, path)?;
    read_bytes(&real, limit)
}

/// [`read_string`] of a file the scanned tree names, refused unless it resolves inside `root`.
pub fn read_inside(root: &Path, path: &Path, limit: u64) -> Result<String, ReadError> {
    let real = resolve_inside(root, path)?;
    read_string(&real, limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_types() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("a.json");
        fs::write(&f, "0123456789").expect("write");
        assert_eq!(read_string(&f, 10).expect("read"), "0123456789");
        assert!(matches!(
            read_string(&f, 9),
            Err(ReadError::TooLarge { limit: 9 })
        ));
        assert_eq!(read_prefix(&f, 4).expect("prefix"), b"0123");
        assert!(matches!(
            read_string(dir.path(), 9),
            Err(ReadError::NotRegular { .. })
        ));
        assert!(read_string(&dir.path().join("missing"), 9).is_err_and(|e| e.is_not_found()));
        fs::write(dir.path().join("bad"), [0xff, 0xfe]).expect("write");
        assert!(matches!(
            read_string(&dir.path().join("bad"), 9),
            Err(ReadError::NotUtf8)
        ));
    }

    #[cfg(unix)]
    #[test]
    fn devices_and_links_out_of_the_tree_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(matches!(
            read_bytes(Path::new("/dev/zero"), 1024),
            Err(ReadError::NotRegular { kind: "a device" })
        ));
        let outside = tempfile::tempdir().expect("tempdir");
        let secret = outside.path().join("secret");
        fs::write(&secret, "root:x:0:0").expect("write");
        let link = dir.path().join("miniguard.toml");
        std::os::unix::fs::symlink(&secret, &link).expect("symlink");
        let err = read_inside(dir.path(), &link, 1024).expect_err("outside");
        assert!(matches!(err, ReadError::OutsideTree));
        assert!(!err.to_string().contains("root:x"));
        let up = dir
            .path()
            .join("..")
            .join(outside.path().file_name().expect("name"));
        assert!(matches!(
            resolve_inside(dir.path(), &up.join("secret")),
            Err(ReadError::OutsideTree)
        ));
        let inner = dir.path().join("b.toml");
        fs::write(&inner, "x = 1").expect("write");
        assert_eq!(
            read_inside(dir.path(), &inner, 1024).expect("inside"),
            "x = 1"
        );
    }
}
