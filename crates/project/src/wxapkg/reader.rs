//! Reading and checking the index of a plain `.wxapkg` package.

use std::collections::BTreeMap;

use super::{Limits, WxapkgError};

/// The first byte of a package.
pub const FIRST_MARK: u8 = 0xBE;
/// The last byte of the 14-byte header.
pub const LAST_MARK: u8 = 0xED;
const HEADER: usize = 14;
/// Bytes of an index entry besides its name: name length, offset, size.
const ENTRY_FIXED: usize = 12;

/// One file of a package. Its name has been checked (see the [module docs](super)) and has no
/// leading `/`: `pages/index/index.js`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    /// Offset from the start of the package.
    pub offset: u32,
    pub size: u32,
}

/// A checked package: its bytes and its index, in index order.
#[derive(Clone, Debug)]
pub struct Package {
    data: Vec<u8>,
    entries: Vec<Entry>,
}

/// Reads big-endian numbers and byte strings from a slice, failing instead of running past it.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], WxapkgError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        let Some(end) = end else {
            return Err(WxapkgError::Truncated(format!(
                "{what} at byte {} runs past the end ({} bytes)",
                self.pos,
                self.data.len()
            )));
        };
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u32(&mut self, what: &str) -> Result<u32, WxapkgError> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u8(&mut self, what: &str) -> Result<u8, WxapkgError> {
        Ok(self.take(1, what)?[0])
    }
}

impl Package {
    /// Check and index a plain (decrypted) package.
    pub fn parse(data: Vec<u8>, limits: &Limits) -> Result<Package, WxapkgError> {
        let total = data.len() as u64;
        if total > limits.max_bytes {
            return Err(WxapkgError::TooLarge {
                size: total,
                max: limits.max_bytes,
            });
        }
        let entries = parse_index(&data, limits)?;
        Ok(Package { data, entries })
    }

    /// The files, in index order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The bytes of one file of this package.
    pub fn contents(&self, entry: &Entry) -> &[u8] {
        // Every entry was checked against the package's length in `parse_index`; the fallback
        // only guards against an `Entry` from another package.
        let start = entry.offset as usize;
        start
            .checked_add(entry.size as usize)
            .and_then(|end| self.data.get(start..end))
            .unwrap_or(&[])
    }

    /// The bytes of the file with this name (without the leading `/`).
    pub fn file(&self, name: &str) -> Option<&[u8]> {
        self.entries
            .iter()
            .find(|e| e.name == name)
            .map(|e| self.contents(e))
    }
}

fn parse_index(data: &[u8], limits: &Limits) -> Result<Vec<Entry>, WxapkgError> {
    let mut c = Cursor { data, pos: 0 };
    if data.len() < HEADER {
        return Err(WxapkgError::NotAPackage(format!(
            "{} bytes, shorter than the 14-byte header",
            data.len()
        )));
    }
    let first = c.u8("the first mark")?;
    let _info1 = c.u32("info1")?;
    let index_len = c.u32("the index length")?;
    let body_len = c.u32("the body length")?;
    let last = c.u8("the last mark")?;
    if first != FIRST_MARK || last != LAST_MARK {
        return Err(WxapkgError::NotAPackage(format!(
            "header marks are {first:#04x} and {last:#04x}, not 0xbe and 0xed"
        )));
    }
    let declared = HEADER as u64 + u64::from(index_len) + u64::from(body_len);
    if declared > data.len() as u64 {
        return Err(WxapkgError::Truncated(format!(
            "the header declares {declared} bytes, the package has {}",
            data.len()
        )));
    }
    let count = c.u32("the file count")?;
    if count > limits.max_files {
        return Err(WxapkgError::TooManyFiles {
            count: u64::from(count),
            max: limits.max_files,
        });
    }
    // Each entry takes at least 12 bytes: refuse a count the bytes cannot hold before
    // reserving room for it.
    let room = (data.len() - c.pos) / ENTRY_FIXED;
    if count as usize > room {
        return Err(WxapkgError::Truncated(format!(
            "the index declares {count} files, the package has room for at most {room}"
        )));
    }
    let mut entries = Vec::with_capacity(count as usize);
    for index in 0..count as usize {
        let name_len = c.u32("a file name length")?;
        if name_len > limits.max_name_len {
            return Err(WxapkgError::UnsafeName {
                index,
                name: String::new(),
                reason: "the name is longer than the limit",
            });
        }
        let raw = c.take(name_len as usize, "a file name")?;
        let offset = c.u32("a file offset")?;
        let size = c.u32("a file size")?;
        let name = check_name(index, raw)?;
        entries.push(Entry { name, offset, size });
    }
    let body_start = c.pos as u64;
    check_entries(&entries, body_start, data.len() as u64, limits)?;
    Ok(entries)
}

/// A safe relative name from an index entry, or why not.
pub(crate) fn check_name(index: usize, raw: &[u8]) -> Result<String, WxapkgError> {
    let bad = |name: &str, reason| WxapkgError::UnsafeName {
        index,
        name: name.to_owned(),
        reason,
    };
    let Ok(name) = std::str::from_utf8(raw) else {
        return Err(bad(&String::from_utf8_lossy(raw), "not UTF-8"));
    };
    let rel = name.strip_prefix('/').unwrap_or(name);
    if rel.is_empty() {
        return Err(bad(name, "empty"));
    }
    if rel.starts_with('/') {
        return Err(bad(name, "an absolute path"));
    }
    if rel.contains('\\') {
        return Err(bad(name, "a backslash"));
    }
    if rel.chars().any(char::is_control) {
        return Err(bad(name, "a control character"));
    }
    for part in rel.split('/') {
        match part {
            "" => return Err(bad(name, "an empty path component")),
            "." | ".." => return Err(bad(name, "a `.` or `..` component")),
            p if p.contains(':') => return Err(bad(name, "a drive letter or stream name")),
            _ => {}
        }
    }
    Ok(rel.to_owned())
}

fn check_entries(
    entries: &[Entry],
    body_start: u64,
    total: u64,
    limits: &Limits,
) -> Result<(), WxapkgError> {
    // Names: no duplicates (also by case), no name that is also a folder of another.
    let mut names: BTreeMap<String, &str> = BTreeMap::new();
    for e in entries {
        if names.insert(e.name.to_lowercase(), &e.name).is_some() {
            return Err(WxapkgError::DuplicateName(e.name.clone()));
        }
    }
    for e in entries {
        let lower = e.name.to_lowercase();
        let mut prefix = String::new();
        for part in lower.split('/') {
            if !prefix.is_empty() {
                if let Some(file) = names.get(&prefix) {
                    return Err(WxapkgError::FileAndFolder((*file).to_owned()));
                }
                prefix.push('/');
            }
            prefix.push_str(part);
        }
    }
    // Ranges: inside the body, within the byte limit, no overlaps.
    let mut sum: u64 = 0;
    let mut ranges: Vec<(u64, u64, &str)> = Vec::with_capacity(entries.len());
    for e in entries {
        let start = u64::from(e.offset);
        let end = start + u64::from(e.size);
        if e.size > 0 && (start < body_start || end > total) {
            return Err(WxapkgError::OutOfBounds {
                name: e.name.clone(),
                offset: e.offset,
                size: e.size,
            });
        }
        sum += u64::from(e.size);
        if sum > limits.max_bytes {
            return Err(WxapkgError::TooLarge {
                size: sum,
                max: limits.max_bytes,
            });
        }
        if e.size > 0 {
            ranges.push((start, end, &e.name));
        }
    }
    ranges.sort_unstable();
    for w in ranges.windows(2) {
        if let [a, b] = w
            && b.0 < a.1
        {
            return Err(WxapkgError::Overlap {
                first: a.2.to_owned(),
                second: b.2.to_owned(),
            });
        }
    }
    Ok(())
}
