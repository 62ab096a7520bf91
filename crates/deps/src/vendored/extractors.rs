//! The compiled signatures and the matcher that applies them to one file.
//!
//! Signatures come from `crates/deps/data/retire-extractors.json` (converted from retire.js,
//! see [`super::retire`]) plus miniguard's own ([`super::extra`]). They are compiled once, on
//! first use, into `regex::bytes` patterns with Unicode off: files are bytes (a copied library
//! may be Latin-1, a "js" file may be binary), every signature is ASCII, and byte patterns keep
//! bounded repetitions like `.{300,1000}` small.
//!
//! The order of the checks is retire.js's: version banners (`filecontent`) of every library
//! first; only when none matched, the version-rewriting patterns (`filecontentreplace`); only
//! when none of those matched, the file's SHA-1. miniguard adds a last step, characteristic
//! strings that name a library without its version. File names and paths are checked
//! independently and only add libraries the content did not already name (content is the
//! stronger evidence, and gives the line).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

use regex::bytes::{Captures, Regex, RegexBuilder};
use sha1::{Digest, Sha1};

use super::extra;
use super::retire::ExtractorFile;

/// The converted retire.js signatures, embedded in the binary.
const DATA: &str = include_str!("../../data/retire-extractors.json");

/// Longest version string accepted from a match; longer captures are noise, not versions.
const MAX_VERSION_LEN: usize = 64;

/// Compile a signature the way the matcher runs it.
pub(crate) fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .unicode(false)
        // Generous for the few large bounded repetitions (`[\s\S]{1,500}`); the default
        // 10 MiB rejects none of today's, this leaves room for tomorrow's.
        .size_limit(32 * (1 << 20))
        .build()
}

/// How a library was recognised; the strings are [`crate::DepOrigin::Vendored`]'s `how`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum How {
    Banner,
    Hash,
    Characteristic,
    FileName,
    FilePath,
}

impl How {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            How::Banner => "version banner",
            How::Hash => "file hash",
            How::Characteristic => "characteristic string",
            How::FileName => "file name",
            How::FilePath => "file path",
        }
    }
}

/// One library found in one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Hit {
    /// npm name.
    pub name: String,
    /// Empty when only a characteristic string matched.
    pub version: String,
    pub how: How,
    /// 1-based line of the version in the content (1 for hashes, names, paths).
    pub line: u32,
}

struct ContentSig {
    lib: usize,
    re: Regex,
    /// Replacement template (`filecontentreplace`), else group 1 is the version.
    with: Option<String>,
    same: Vec<[usize; 2]>,
}

/// Every signature, compiled.
pub(crate) struct Signatures {
    /// npm names; the index is the library id used below.
    names: Vec<String>,
    content: Vec<ContentSig>,
    replace: Vec<ContentSig>,
    filename: Vec<(usize, Regex)>,
    uri: Vec<(usize, Regex)>,
    hashes: HashMap<[u8; 20], (usize, String)>,
    characteristic: Vec<(usize, Regex)>,
    /// Patterns of the data file the regex crate rejected at load (0 unless the file was
    /// edited by hand; the conversion drops such patterns).
    pub(crate) rejected: usize,
}

/// Compiled on first use; compiling ~300 patterns takes a few milliseconds.
pub(crate) static SIGNATURES: LazyLock<Signatures> =
    LazyLock::new(|| Signatures::load(&serde_json::from_str(DATA).unwrap_or_default()));

impl Signatures {
    fn load(file: &ExtractorFile) -> Signatures {
        let mut s = Signatures {
            names: Vec::new(),
            content: Vec::new(),
            replace: Vec::new(),
            filename: Vec::new(),
            uri: Vec::new(),
            hashes: HashMap::new(),
            characteristic: Vec::new(),
            rejected: 0,
        };
        for lib in &file.libraries {
            let id = s.lib_id(&lib.npm);
            for p in &lib.filecontent {
                s.add_content(id, &p.re, None, &p.same);
            }
            for p in &lib.filecontentreplace {
                s.add_content(id, &p.re, p.with.as_deref(), &p.same);
            }
            for p in &lib.filename {
                s.add_simple(id, p, false);
            }
            for p in &lib.uri {
                s.add_simple(id, p, true);
            }
            for (hash, version) in &lib.hashes {
                if let Some(h) = parse_sha1(hash) {
                    s.hashes.entry(h).or_insert_with(|| (id, version.clone()));
                }
            }
        }
        for (name, re) in extra::CONTENT {
            let id = s.lib_id(name);
            s.add_content(id, re, None, &[]);
        }
        for (name, hash, version) in extra::HASHES {
            let id = s.lib_id(name);
            if let Some(h) = parse_sha1(hash) {
                s.hashes
                    .entry(h)
                    .or_insert_with(|| (id, (*version).to_string()));
            }
        }
        for (name, re) in extra::CHARACTERISTIC {
            let id = s.lib_id(name);
            match compile(re) {
                Ok(re) => s.characteristic.push((id, re)),
                Err(_) => s.rejected += 1,
            }
        }
        s
    }

    fn lib_id(&mut self, npm: &str) -> usize {
        if let Some(i) = self.names.iter().position(|n| n == npm) {
            return i;
        }
        self.names.push(npm.to_string());
        self.names.len() - 1
    }

    fn add_content(&mut self, lib: usize, re: &str, with: Option<&str>, same: &[[usize; 2]]) {
        let Ok(re) = compile(re) else {
            self.rejected += 1;
            return;
        };
        let sig = ContentSig {
            lib,
            re,
            with: with.map(str::to_string),
            same: same.to_vec(),
        };
        if sig.with.is_some() {
            self.replace.push(sig);
        } else {
            self.content.push(sig);
        }
    }

    fn add_simple(&mut self, lib: usize, re: &str, uri: bool) {
        match compile(re) {
            Ok(re) if uri => self.uri.push((lib, re)),
            Ok(re) => self.filename.push((lib, re)),
            Err(_) => self.rejected += 1,
        }
    }

    /// Counts by kind, for tests and `--verbose` output.
    pub(crate) fn counts(&self) -> [(&'static str, usize); 6] {
        [
            ("filecontent", self.content.len()),
            ("filecontentreplace", self.replace.len()),
            ("filename", self.filename.len()),
            ("uri", self.uri.len()),
            ("hashes", self.hashes.len()),
            ("characteristic", self.characteristic.len()),
        ]
    }

    /// Every library `content` (the first `window` bytes of it for patterns; the whole of it
    /// for the hash) and `rel_path` reveal.
    pub(crate) fn detect(&self, rel_path: &str, content: &[u8], window: usize) -> Vec<Hit> {
        let content = normalize_line_ends(content);
        let text = &content[..content.len().min(window)];
        let mut hits = self.scan(text, &self.content);
        if hits.is_empty() {
            hits = self.scan(text, &self.replace);
        }
        if hits.is_empty() {
            let digest: [u8; 20] = Sha1::digest(&content).into();
            if let Some((lib, version)) = self.hashes.get(&digest) {
                hits.push(self.hit(*lib, version.clone(), How::Hash, 1));
            }
        }
        if hits.is_empty() {
            for (lib, re) in &self.characteristic {
                if let Some(m) = re.find(text) {
                    hits.push(self.hit(
                        *lib,
                        String::new(),
                        How::Characteristic,
                        line_of(text, m.start()),
                    ));
                }
            }
        }
        let path = rel_path.replace('\\', "/");
        let base = path.rsplit('/').next().unwrap_or(&path);
        let slashed = format!("/{}", path.trim_start_matches('/'));
        let mut by_name = Vec::new();
        for (list, subject, how) in [
            (&self.filename, base, How::FileName),
            (&self.uri, slashed.as_str(), How::FilePath),
        ] {
            for (lib, re) in list {
                for caps in re.captures_iter(subject.as_bytes()) {
                    if let Some(version) = caps.get(1).and_then(|m| version_of(m.as_bytes())) {
                        by_name.push(self.hit(*lib, version, how, 1));
                    }
                }
            }
        }
        for hit in by_name {
            if !hits.iter().any(|h| h.name == hit.name) {
                hits.push(hit);
            }
        }
        dedup(hits)
    }

    fn scan(&self, text: &[u8], sigs: &[ContentSig]) -> Vec<Hit> {
        let mut hits = Vec::new();
        for sig in sigs {
            for caps in sig.re.captures_iter(text) {
                if !same_groups(&caps, &sig.same) {
                    continue;
                }
                let (version, at) = match &sig.with {
                    Some(template) => {
                        let mut out = Vec::new();
                        caps.expand(template.as_bytes(), &mut out);
                        (version_of(&out), caps.get(0).map_or(0, |m| m.start()))
                    }
                    None => match caps.get(1) {
                        Some(m) => (version_of(m.as_bytes()), m.start()),
                        None => (None, 0),
                    },
                };
                if let Some(version) = version {
                    hits.push(self.hit(sig.lib, version, How::Banner, line_of(text, at)));
                }
            }
        }
        hits
    }

    fn hit(&self, lib: usize, version: String, how: How, line: u32) -> Hit {
        Hit {
            name: self.names.get(lib).cloned().unwrap_or_default(),
            version,
            how,
            line,
        }
    }
}

/// One hit per (name, version): the strongest evidence, then the first line.
fn dedup(mut hits: Vec<Hit>) -> Vec<Hit> {
    hits.sort_by(|a, b| {
        (&a.name, &a.version, a.how, a.line).cmp(&(&b.name, &b.version, b.how, b.line))
    });
    hits.dedup_by(|later, first| later.name == first.name && later.version == first.version);
    hits.sort_by(|a, b| (a.line, &a.name, &a.version).cmp(&(b.line, &b.name, &b.version)));
    hits
}

/// Backreferences translated by the conversion: the paired groups must agree.
fn same_groups(caps: &Captures<'_>, same: &[[usize; 2]]) -> bool {
    same.iter().all(|[a, b]| {
        let text = |i: usize| caps.get(i).map(|m| m.as_bytes());
        text(*a) == text(*b)
    })
}

/// A captured version as retire.js reports it: ASCII, without a trailing `.min` / `-min`.
fn version_of(raw: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(raw).ok()?;
    let s = s
        .strip_suffix(".min")
        .or_else(|| s.strip_suffix("-min"))
        .unwrap_or(s);
    let ok = !s.is_empty()
        && s.len() <= MAX_VERSION_LEN
        && s.starts_with(|c: char| c.is_ascii_digit())
        && s.bytes().all(|b| b.is_ascii_graphic());
    ok.then(|| s.to_string())
}

/// retire.js matches and hashes content with CRLF and lone CR turned into LF.
fn normalize_line_ends(content: &[u8]) -> Cow<'_, [u8]> {
    if !content.contains(&b'\r') {
        return Cow::Borrowed(content);
    }
    let mut out = Vec::with_capacity(content.len());
    let mut iter = content.iter().copied().peekable();
    while let Some(b) = iter.next() {
        if b == b'\r' {
            if iter.peek() == Some(&b'\n') {
                iter.next();
            }
            out.push(b'\n');
        } else {
            out.push(b);
        }
    }
    Cow::Owned(out)
}

/// 1-based line of byte offset `at`.
// Reason: called once per hit (a few per file); a bytecount dependency would not pay off.
#[allow(clippy::naive_bytecount)]
fn line_of(text: &[u8], at: usize) -> u32 {
    let newlines = text[..at.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    u32::try_from(newlines).unwrap_or(u32::MAX - 1) + 1
}

fn parse_sha1(hex: &str) -> Option<[u8; 20]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 40 {
        return None;
    }
    let mut out = [0u8; 20];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let s = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_lose_min_suffix_and_junk_is_refused() {
        assert_eq!(version_of(b"1.8.0.min").as_deref(), Some("1.8.0"));
        assert_eq!(version_of(b"2.1-min").as_deref(), Some("2.1"));
        assert_eq!(version_of(b"x1"), None);
        assert_eq!(version_of(&[b'1', 0xff]), None);
    }

    #[test]
    fn line_ends_are_normalised() {
        assert_eq!(&*normalize_line_ends(b"a\r\nb\rc\n"), b"a\nb\nc\n");
        assert_eq!(line_of(b"a\nb\nc", 4), 3);
    }
}
