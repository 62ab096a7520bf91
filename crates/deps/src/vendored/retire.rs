//! Conversion of retire.js's `jsrepository.json` extractors into miniguard's data file
//! (`crates/deps/data/retire-extractors.json`).
//!
//! retire.js writes its signatures as JavaScript regular expressions with a `§§version§§`
//! placeholder. This module turns them, once and ahead of time, into patterns the `regex` crate
//! compiles, so the binary never translates at run time and the data file can be reviewed in a
//! diff. What cannot be translated is dropped and counted in the file's `stats`, with the reason
//! in `dropped`.
//!
//! Translation rules:
//! - `§§version§§` becomes retire.js's own version pattern, [`VERSION_PATTERN`]
//!   (`retire.replaceVersion` in retire.js).
//! - A lookbehind right after the version group, `(§§version§§)(?<=X)` ("the version ends in
//!   X"), becomes `(X)`: the same versions for every real release string, without lookbehind.
//! - A backreference `\N` becomes a copy of group N's pattern in a new capturing group, and the
//!   pair is recorded in `same`: the matcher then checks that both groups captured the same
//!   text. Only done when no original group opens after the first backreference (so group
//!   numbers, and `$1` in replacements, keep their meaning).
//! - Any other lookaround, and any pattern the `regex` crate still rejects, is dropped.
//! - `func` extractors (JavaScript expressions evaluated in a browser) are dropped: they need
//!   JS execution.
//! - `filecontentreplace` entries `/regex/replacement/` are split; `$N` becomes `${N}`.
//! - The `retire-example` (retire.js's own test library) and `dont check` (URL allow-list
//!   without versions) entries are skipped.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// retire.js's version pattern, substituted for `§§version§§` (retire.js
/// `replaceVersion`: `[0-9][0-9.a-z_\\-]+`).
pub const VERSION_PATTERN: &str = r"[0-9][0-9.a-z_\\-]+";

/// The converted data file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtractorFile {
    /// Attribution and how to regenerate; read by people, ignored by the code.
    pub about: Vec<String>,
    /// What was converted and what was dropped, by kind.
    pub stats: Stats,
    /// Patterns dropped for a reason other than being a `func` extractor.
    pub dropped: Vec<Dropped>,
    pub libraries: Vec<Library>,
}

/// Counts of extractors by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Extractors found in the input, by kind (`filecontent`, `hashes`, ...).
    pub input: BTreeMap<String, usize>,
    /// Extractors written to `libraries`, by kind.
    pub converted: BTreeMap<String, usize>,
    /// Converted after a rewrite (lookbehind or backreference), by kind.
    pub rewritten: BTreeMap<String, usize>,
    /// Dropped, by kind.
    pub dropped: BTreeMap<String, usize>,
}

/// One dropped pattern and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dropped {
    pub library: String,
    pub kind: String,
    pub pattern: String,
    pub reason: String,
}

/// One library's signatures, already in `regex` crate syntax.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Library {
    /// retire.js's library name (`moment.js`).
    pub retire: String,
    /// npm package name (`moment`): retire.js's `npmname`, else its library name.
    pub npm: String,
    /// Matched against a file's base name, anchored at both ends (as retire.js does).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filename: Vec<String>,
    /// Matched anywhere in the `/`-separated path (retire.js's URL patterns).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uri: Vec<String>,
    /// Matched against the content; group 1 is the version.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filecontent: Vec<Pattern>,
    /// Matched against the content when no `filecontent` pattern of any library matched; the
    /// version is `with` expanded with the match's groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filecontentreplace: Vec<Pattern>,
    /// Lower-case hex SHA-1 of the content (line ends turned into LF) to version.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hashes: BTreeMap<String, String>,
}

/// One content pattern.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pattern {
    pub re: String,
    /// Replacement template (`${1}.${2}`) for `filecontentreplace` patterns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with: Option<String>,
    /// Pairs of groups that must capture the same text (translated backreferences).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub same: Vec<[usize; 2]>,
}

/// Why the input could not be converted at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConvertError {
    #[error("retire.js repository is not JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("retire.js repository is not a JSON object of libraries")]
    Shape,
}

/// Library entries that are not libraries.
const SKIPPED_ENTRIES: &[(&str, &str)] = &[
    (
        "retire-example",
        "retire.js's own test entry, not a library",
    ),
    (
        "dont check",
        "retire.js's allow-list of URLs without versions, not a library",
    ),
];

/// Convert retire.js's repository JSON (`jsrepository.json`); `about` lines are copied into
/// the result. Deterministic: libraries sorted by name, hashes by hash.
pub fn convert(input: &str, about: &[&str]) -> Result<ExtractorFile, ConvertError> {
    let repo: Value = serde_json::from_str(input)?;
    let Some(repo) = repo.as_object() else {
        return Err(ConvertError::Shape);
    };
    let mut out = ExtractorFile {
        about: about.iter().map(ToString::to_string).collect(),
        ..ExtractorFile::default()
    };
    // serde_json's Map is sorted by key (no `preserve_order`): deterministic output.
    for (name, entry) in repo {
        let extractors = entry.get("extractors").and_then(Value::as_object);
        if let Some((_, reason)) = SKIPPED_ENTRIES.iter().find(|(n, _)| n == name) {
            if let Some(extractors) = extractors {
                for (kind, list) in extractors {
                    let n = count(list);
                    *out.stats.input.entry(kind.clone()).or_default() += n;
                    *out.stats.dropped.entry(kind.clone()).or_default() += n;
                }
            }
            out.dropped.push(Dropped {
                library: name.clone(),
                kind: "library".into(),
                pattern: String::new(),
                reason: (*reason).into(),
            });
            continue;
        }
        let Some(extractors) = extractors else {
            continue;
        };
        let npm = entry
            .get("npmname")
            .and_then(Value::as_str)
            .unwrap_or(name)
            .to_string();
        let mut lib = Library {
            retire: name.clone(),
            npm,
            ..Library::default()
        };
        for (kind, list) in extractors {
            *out.stats.input.entry(kind.clone()).or_default() += count(list);
            convert_kind(&mut out, &mut lib, kind, list);
        }
        if !(lib.filename.is_empty()
            && lib.uri.is_empty()
            && lib.filecontent.is_empty()
            && lib.filecontentreplace.is_empty()
            && lib.hashes.is_empty())
        {
            out.libraries.push(lib);
        }
    }
    Ok(out)
}

fn count(list: &Value) -> usize {
    match list {
        Value::Array(a) => a.len(),
        Value::Object(o) => o.len(),
        _ => 0,
    }
}

fn convert_kind(out: &mut ExtractorFile, lib: &mut Library, kind: &str, list: &Value) {
    let drop = |out: &mut ExtractorFile, pattern: &str, reason: &str| {
        *out.stats.dropped.entry(kind.to_string()).or_default() += 1;
        if kind != "func" {
            out.dropped.push(Dropped {
                library: lib.retire.clone(),
                kind: kind.to_string(),
                pattern: pattern.to_string(),
                reason: reason.to_string(),
            });
        }
    };
    if kind == "hashes" {
        if let Some(map) = list.as_object() {
            for (hash, version) in map {
                match version.as_str() {
                    Some(v) if is_sha1_hex(hash) => {
                        lib.hashes.insert(hash.to_ascii_lowercase(), v.to_string());
                        *out.stats.converted.entry(kind.into()).or_default() += 1;
                    }
                    _ => drop(out, hash, "not a SHA-1 hex digest with a version"),
                }
            }
        }
        return;
    }
    let Some(items) = list.as_array() else {
        return;
    };
    for item in items {
        let Some(js) = item.as_str() else {
            drop(out, &item.to_string(), "not a string");
            continue;
        };
        if kind == "func" {
            drop(out, js, "needs JavaScript execution");
            continue;
        }
        let (source, with) = if kind == "filecontentreplace" {
            let Some((re, with)) = split_replace(js) else {
                drop(out, js, "not of the form /regex/replacement/");
                continue;
            };
            (re, Some(js_template_to_rust(with)))
        } else {
            (js, None)
        };
        let translated = match translate(source) {
            Ok(t) => t,
            Err(reason) => {
                drop(out, js, reason);
                continue;
            }
        };
        let re = if kind == "filename" {
            format!("^(?:{})$", translated.re)
        } else {
            translated.re
        };
        if let Err(e) = super::extractors::compile(&re) {
            drop(
                out,
                js,
                &format!("rejected by the regex crate: {}", first_line(&e)),
            );
            continue;
        }
        if translated.rewritten {
            *out.stats.rewritten.entry(kind.into()).or_default() += 1;
        }
        *out.stats.converted.entry(kind.into()).or_default() += 1;
        match kind {
            "filename" => lib.filename.push(re),
            "uri" => lib.uri.push(re),
            "filecontent" => lib.filecontent.push(Pattern {
                re,
                with: None,
                same: translated.same,
            }),
            "filecontentreplace" => lib.filecontentreplace.push(Pattern {
                re,
                with,
                same: translated.same,
            }),
            _ => {
                // An extractor kind this converter does not know: counted as converted above
                // would be wrong, so undo and drop.
                *out.stats.converted.entry(kind.into()).or_default() -= 1;
                drop(out, js, "unknown extractor kind");
            }
        }
    }
}

fn first_line(e: &regex::Error) -> String {
    e.to_string()
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn is_sha1_hex(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `/regex/replacement/` as retire.js's `replacementMatch` splits it
/// (`^\/(.*[^\\])\/([^\/]+)\/$`).
fn split_replace(s: &str) -> Option<(&str, &str)> {
    let inner = s.strip_prefix('/')?.strip_suffix('/')?;
    let slash = inner.rfind('/')?;
    let (re, with) = (&inner[..slash], &inner[slash + 1..]);
    if re.is_empty() || re.ends_with('\\') || with.is_empty() {
        return None;
    }
    Some((re, with))
}

/// JS replacement `$1.$2` to `regex` crate `${1}.${2}`.
fn js_template_to_rust(with: &str) -> String {
    let mut out = String::new();
    let mut chars = with.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push_str("${");
            while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                out.push(d);
                chars.next();
            }
            out.push('}');
        } else if c == '$' {
            out.push_str("$$");
        } else {
            out.push(c);
        }
    }
    out
}

/// A translated pattern.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Translated {
    pub re: String,
    pub same: Vec<[usize; 2]>,
    pub rewritten: bool,
}

/// Translate one JS pattern (see the module docs).
pub(crate) fn translate(js: &str) -> Result<Translated, &'static str> {
    const PLACEHOLDER: &str = "§§version§§";
    let mut rewritten = false;
    let mut s = js.to_string();
    // `(§§version§§)(?<=X)`: the version must end in X; take X as the version pattern.
    let lb = format!("({PLACEHOLDER})(?<=");
    while let Some(at) = s.find(&lb) {
        let body_start = at + lb.len();
        let Some(close) = matching_paren(&s, body_start - 4) else {
            return Err("unbalanced lookbehind");
        };
        let body = s[body_start..close].to_string();
        s.replace_range(at..=close, &format!("({body})"));
        rewritten = true;
    }
    let s = s.replace(PLACEHOLDER, VERSION_PATTERN);
    if has_lookaround(&s) {
        return Err("lookaround: not supported by the regex crate");
    }
    let (re, same) = rewrite_backrefs(&s)?;
    rewritten |= !same.is_empty();
    Ok(Translated {
        re,
        same,
        rewritten,
    })
}

/// Index of the `)` closing the `(` at `open` (escapes and character classes respected).
fn matching_paren(s: &str, open: usize) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut depth = 0usize;
    let mut i = open;
    let mut in_class = false;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'[' if !in_class => in_class = true,
            b']' if in_class => in_class = false,
            b'(' if !in_class => depth += 1,
            b')' if !in_class => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Capturing groups in order of their `(`: (start of `(`, index of closing `)`).
fn capture_groups(s: &str) -> Vec<(usize, usize)> {
    let bytes = s.as_bytes();
    let mut groups = Vec::new();
    let mut i = 0;
    let mut in_class = false;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'[' if !in_class => in_class = true,
            b']' if in_class => in_class = false,
            b'(' if !in_class => {
                let rest = &s[i..];
                let named = rest.starts_with("(?P<")
                    || (rest.starts_with("(?<")
                        && !rest.starts_with("(?<=")
                        && !rest.starts_with("(?<!"));
                if (bytes.get(i + 1) != Some(&b'?') || named)
                    && let Some(close) = matching_paren(s, i)
                {
                    groups.push((i, close));
                }
            }
            _ => {}
        }
        i += 1;
    }
    groups
}

fn has_lookaround(s: &str) -> bool {
    ["(?=", "(?!", "(?<=", "(?<!"].iter().any(|p| s.contains(p))
}

/// Replace `\N` backreferences by capturing copies of group N, returning the pairs to check.
fn rewrite_backrefs(s: &str) -> Result<(String, Vec<[usize; 2]>), &'static str> {
    let groups = capture_groups(s);
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut same = Vec::new();
    let mut i = 0;
    let mut in_class = false;
    let mut last = 0;
    // Group number a new group gets: groups opened before it plus the copies added so far.
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if !in_class && bytes.get(i + 1).is_some_and(|b| (b'1'..=b'9').contains(b)) => {
                let n = usize::from(bytes[i + 1] - b'0');
                let Some(&(open, close)) = groups.get(n - 1) else {
                    return Err("backreference to a missing group");
                };
                if groups.iter().any(|&(g, _)| g > i) {
                    return Err("backreference before a later group: renumbering would break $N");
                }
                out.push_str(&s[last..i]);
                let opened_before = groups.iter().filter(|&&(g, _)| g < i).count();
                out.push('(');
                out.push_str(&s[open + 1..close]);
                out.push(')');
                same.push([n, opened_before + same.len() + 1]);
                i += 2;
                last = i;
                continue;
            }
            b'\\' => i += 1,
            b'[' if !in_class => in_class = true,
            b']' if in_class => in_class = false,
            _ => {}
        }
        i += 1;
    }
    out.push_str(&s[last..]);
    Ok((out, same))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookbehind_after_version_becomes_the_version() {
        let t = translate(r#"="(§§version§§)(?<=[0-9]{1,2}\.[0-9]{1,2})"x"#).unwrap();
        assert_eq!(t.re, r#"="([0-9]{1,2}\.[0-9]{1,2})"x"#);
        assert!(t.rewritten);
    }

    #[test]
    fn backreferences_become_checked_copies() {
        let t = translate(r"(.)\.fn=(\1)\.p").unwrap();
        assert_eq!(t.re, r"(.)\.fn=((.))\.p");
        assert_eq!(t.same, vec![[1, 3]]);
        let t = translate(r"([a-z])=(§§version§§),([a-z])=;\3\.fn=\3:\1").unwrap();
        assert_eq!(t.same, vec![[3, 4], [3, 5], [1, 6]]);
    }

    #[test]
    fn other_lookarounds_are_dropped() {
        assert!(translate("a(?!b)").is_err());
        assert!(translate("(?<!a)b").is_err());
    }

    #[test]
    fn replace_entries_split_and_templates_translate() {
        assert_eq!(split_replace("/a(b)c/$1.0/"), Some(("a(b)c", "$1.0")));
        assert_eq!(js_template_to_rust("0.$1.$2"), "0.${1}.${2}");
    }
}
