//! `.wxapkg` packages: what a WeChat mini-program ships, read so that it can be audited like
//! its source.
//!
//! Auditors often hold only the compiled package. This module reads one ([`reader`]), removes
//! the PC client's encryption ([`crypto`]), turns the compiled files back into the shape of a
//! source tree ([`restore`](mod@restore)) and writes that tree into a folder ([`write`](mod@write)) without ever
//! leaving it.
//!
//! # The format
//!
//! A 14-byte big-endian header: the mark `0xBE`, a `u32` the format calls `info1` (unused), the
//! length of the index, the length of the body, the mark `0xED`. The index follows: a `u32`
//! file count, then per file a `u32` name length, the name (`/app-service.js`), a `u32` offset
//! counted from the start of the package and a `u32` size. The body holds the file contents.
//!
//! # Hostile input
//!
//! Packages come from phones, caches and strangers, so the reader trusts nothing: names with
//! `..`, `.`, empty components, backslashes, drive letters or NUL are refused, so are duplicate
//! names (also when they differ only in case, which would collide on macOS and Windows), a name
//! that is both a file and a folder, entries outside the package or overlapping each other,
//! more files or more bytes than [`Limits`] allow, and truncated headers and indexes. Every
//! refusal is a [`WxapkgError`]; nothing panics and nothing is allocated from a count before
//! the bytes behind it were checked to exist.

pub mod crypto;
pub mod reader;
pub mod restore;
pub mod write;

use std::path::PathBuf;

pub use crypto::{PC_PREFIX, appid_from_path, decrypt_pc, is_pc_encrypted};
pub use reader::{Entry, Package};
pub use restore::{Restored, restore};
pub use write::write_tree;

/// Bounds on what a package may declare. The defaults fit every real package by a wide margin
/// (the platform itself caps a package at a few MiB).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most files in one package. Default 20,000.
    pub max_files: u32,
    /// Most bytes of one package, and of all its files together. Default 256 MiB.
    pub max_bytes: u64,
    /// Longest file name, in bytes. Default 1,024.
    pub max_name_len: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_files: 20_000,
            max_bytes: 256 * 1024 * 1024,
            max_name_len: 1024,
        }
    }
}

/// Why a package cannot be read, decrypted or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WxapkgError {
    #[error("not a .wxapkg package: {0}")]
    NotAPackage(String),
    #[error("truncated package: {0}")]
    Truncated(String),
    #[error("the package declares {count} files, more than the limit of {max}")]
    TooManyFiles { count: u64, max: u32 },
    #[error("the package holds {size} bytes, more than the limit of {max}")]
    TooLarge { size: u64, max: u64 },
    #[error("file {index} of the package has an unsafe name {name:?}: {reason}")]
    UnsafeName {
        index: usize,
        name: String,
        reason: &'static str,
    },
    #[error("the package names {0:?} twice")]
    DuplicateName(String),
    #[error("the package names {0:?} both as a file and as a folder")]
    FileAndFolder(String),
    #[error("file {name:?} lies outside the package body (offset {offset}, size {size})")]
    OutOfBounds {
        name: String,
        offset: u32,
        size: u32,
    },
    #[error("files {first:?} and {second:?} overlap in the package body")]
    Overlap { first: String, second: String },
    #[error(
        "the package is PC-encrypted (V1MMWX); give its appid with --appid, or keep it in a \
         folder named after the appid (wx followed by 16 hex digits)"
    )]
    NeedAppid,
    #[error("the appid {0:?} is not valid (expected wx followed by 16 hex digits)")]
    BadAppid(String),
    #[error("cannot decrypt the package: {0}")]
    Decrypt(String),
    #[error("refusing to write {path}: {reason}")]
    UnsafeOutput { path: PathBuf, reason: &'static str },
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Read a package from its bytes: decrypt it first when it carries the PC prefix (with `appid`,
/// which must then be given), then check and index it.
pub fn open(bytes: Vec<u8>, appid: Option<&str>, limits: &Limits) -> Result<Package, WxapkgError> {
    let size = bytes.len() as u64;
    if size > limits.max_bytes {
        return Err(WxapkgError::TooLarge {
            size,
            max: limits.max_bytes,
        });
    }
    let plain = if is_pc_encrypted(&bytes) {
        let appid = appid.ok_or(WxapkgError::NeedAppid)?;
        decrypt_pc(&bytes, appid)?
    } else {
        bytes
    };
    Package::parse(plain, limits)
}
