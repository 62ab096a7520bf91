//! `scan --diff-base REF`: the lines changed since REF, so that a pull request is judged by what
//! it touches.
//!
//! The base is the merge base of REF and `HEAD` (what a pull request's diff shows), compared with
//! the working tree, so uncommitted changes count; files git does not track yet count whole.
//! A finding is kept when its location, a step of its data flow or a related location is on a
//! changed line: a flaw whose source or sink was touched is the change's.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use miniguard_report::{Finding, Location, msg};

use crate::say;

/// Changed lines per file, paths relative to the scanned folder (`/`-separated).
#[derive(Debug, Default)]
pub struct Changed {
    /// Inclusive line ranges, or `None` for a whole file (new and untracked files).
    files: HashMap<String, Option<Vec<(u32, u32)>>>,
}

impl Changed {
    fn line(&self, path: &str, line: u32) -> bool {
        match self.files.get(path) {
            None => false,
            Some(None) => true,
            Some(Some(ranges)) => ranges.iter().any(|&(a, b)| a <= line && line <= b),
        }
    }

    fn location(&self, loc: &Location) -> bool {
        let end = loc.end.line.max(loc.start.line);
        (loc.start.line..=end).any(|l| self.line(&loc.path, l))
            || (loc.start.line == 0 && self.files.contains_key(&loc.path))
    }

    /// Whether the finding is on, or flows through, a changed line.
    pub fn touches(&self, f: &Finding) -> bool {
        self.location(&f.location)
            || f.trace.iter().any(|s| self.location(&s.location))
            || f.related.iter().any(|r| self.location(&r.location))
    }

    /// Files with a change.
    pub fn len(&self) -> usize {
        self.files.len()
    }
}

fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .with_context(|| say(msg!("cli.diff.no-git")))?;
    if !out.status.success() {
        bail!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out.stdout)
}

/// The lines changed in `dir` (the scanned folder) since the merge base of `base` and `HEAD`.
pub fn changed_since(dir: &Path, base: &str) -> Result<Changed> {
    if base.starts_with('-') {
        bail!(say(msg!("cli.diff.not-a-revision", base = base)));
    }
    git(dir, &["rev-parse", "--is-inside-work-tree"]).with_context(|| {
        say(msg!(
            "cli.diff.not-a-work-tree",
            path = dir.display().to_string()
        ))
    })?;
    let commit = format!("{base}^{{commit}}");
    git(dir, &["rev-parse", "--verify", "--quiet", &commit])
        .with_context(|| format!("--diff-base {base}: no such commit in this repository"))?;
    let merge_base = git(dir, &["merge-base", base, "HEAD"])
        .with_context(|| format!("--diff-base {base}: no common history with HEAD"))?;
    let merge_base = String::from_utf8_lossy(&merge_base).trim().to_owned();
    // Paths relative to the scanned folder (`--relative`), no colour, no external diff tools,
    // renames followed, only the new side's line numbers needed (`-U0`).
    let patch = git(
        dir,
        &[
            "-c",
            "core.quotePath=false",
            "diff",
            "--relative",
            "--no-color",
            "--no-ext-diff",
            "-M",
            "-U0",
            &merge_base,
            "--",
            ".",
        ],
    )?;
    let mut changed = parse_patch(&String::from_utf8_lossy(&patch));
    let untracked = git(
        dir,
        &[
            "ls-files",
            "-z",
            "--others",
            "--exclude-standard",
            "--",
            ".",
        ],
    )?;
    for path in untracked.split(|b| *b == 0).filter(|p| !p.is_empty()) {
        changed
            .files
            .insert(String::from_utf8_lossy(path).into_owned(), None);
    }
    Ok(changed)
}

/// The new-side line ranges of a unified diff with `-U0`.
fn parse_patch(patch: &str) -> Changed {
    let mut ranges: BTreeMap<String, Vec<(u32, u32)>> = BTreeMap::new();
    let mut whole: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    let mut new_file = false;
    for line in patch.lines() {
        if line.starts_with("diff --git ") {
            current = None;
            new_file = false;
        } else if line.starts_with("new file mode") {
            new_file = true;
        } else if let Some(path) = line.strip_prefix("+++ ") {
            current = if path == "/dev/null" {
                None
            } else {
                let path = unquote(path);
                let path = path.strip_prefix("b/").unwrap_or(&path).to_owned();
                if new_file {
                    whole.push(path.clone());
                }
                Some(path)
            };
        } else if let Some(rest) = line.strip_prefix("@@ ")
            && let Some(path) = &current
            && let Some(new) = rest.split(' ').find(|p| p.starts_with('+'))
        {
            let mut parts = new[1..].splitn(2, ',');
            let start: u32 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
            let count: u32 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(1);
            // A deletion (count 0) touches the lines around the place it was cut from.
            let range = if count == 0 {
                (start.max(1), start + 1)
            } else {
                (start, start + count - 1)
            };
            ranges.entry(path.clone()).or_default().push(range);
        }
    }
    let mut files: HashMap<String, Option<Vec<(u32, u32)>>> =
        ranges.into_iter().map(|(p, r)| (p, Some(r))).collect();
    for path in whole {
        files.insert(path, None);
    }
    Changed { files }
}

/// A path as git prints it: C-style quoted when it holds unusual characters.
fn unquote(path: &str) -> String {
    let Some(inner) = path.strip_prefix('"').and_then(|p| p.strip_suffix('"')) else {
        return path.to_owned();
    };
    let mut bytes = Vec::with_capacity(inner.len());
    let mut it = inner.bytes().peekable();
    while let Some(b) = it.next() {
        if b != b'\\' {
            bytes.push(b);
            continue;
        }
        match it.next() {
            Some(b'n') => bytes.push(b'\n'),
            Some(b't') => bytes.push(b'\t'),
            Some(d @ b'0'..=b'7') => {
                let mut v = u32::from(d - b'0');
                for _ in 0..2 {
                    if let Some(&n @ b'0'..=b'7') = it.peek() {
                        v = v * 8 + u32::from(n - b'0');
                        it.next();
                    }
                }
                bytes.push(u8::try_from(v).unwrap_or(b'?'));
            }
            Some(other) => bytes.push(other),
            None => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunks_new_files_deletions_and_quoted_names() {
        let patch = "diff --git a/a.js b/a.js\n--- a/a.js\n+++ b/a.js\n@@ -3 +3,2 @@ x\n-old\n+new\n+new2\n@@ -10,2 +11,0 @@\n-gone\n-gone\ndiff --git a/n.js b/n.js\nnew file mode 100644\n--- /dev/null\n+++ b/n.js\n@@ -0,0 +1,3 @@\n+a\ndiff --git a/old.js b/old.js\ndeleted file mode 100644\n--- a/old.js\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\ndiff --git \"a/\\344\\270\\255 x.js\" \"b/\\344\\270\\255 x.js\"\n--- \"a/\\344\\270\\255 x.js\"\n+++ \"b/\\344\\270\\255 x.js\"\n@@ -1 +1 @@\n-a\n+b\n";
        let c = parse_patch(patch);
        assert!(!c.line("a.js", 2));
        assert!(c.line("a.js", 3) && c.line("a.js", 4));
        assert!(!c.line("a.js", 5));
        assert!(c.line("a.js", 11) && c.line("a.js", 12) && !c.line("a.js", 13));
        assert!(c.line("n.js", 400), "a new file counts whole");
        assert!(!c.files.contains_key("old.js"));
        assert!(c.line("中 x.js", 1));
    }
}
