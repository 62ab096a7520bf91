//! The audit: gather what a project ships (lockfiles, `miniprogram_npm`, copied library files),
//! match it against the advisory database, and describe each hit as a finding.
//!
//! Two rules speak for this crate, `D001 vulnerable-dependency` and
//! `D002 unverifiable-dependency`; [`rules`] gives their documentation so every front end (the
//! `deps` command, `scan`, SARIF) describes them the same way.

use std::collections::BTreeSet;
use std::path::Path;

use miniguard_report::{
    Category, Confidence, DependencyInfo, Finding, Location, Msg, Position, RuleMeta, Severity,
    Warning, msg,
};

use miniguard_project::read;

use crate::db::AdvisoryDb;
use crate::osv::{Event, Record};
use crate::semver::Version;
use crate::{DepOrigin, DepSource, Dependency, lockfile, vendored};

/// What was found in a project.
#[derive(Debug, Default)]
pub struct Inventory {
    /// Every dependency, sorted by file, line and name.
    pub dependencies: Vec<Dependency>,
    /// Lockfiles read (relative paths).
    pub lockfiles: Vec<String>,
    /// Problems met (a lockfile that does not parse, a file too large).
    pub warnings: Vec<Warning>,
    /// Lockfiles that could not be read completely (each also has a warning): the audit of
    /// what they list is incomplete, and front ends should not exit as if all were well.
    pub failed: usize,
    /// `package.json` files that declare dependencies with no lockfile in their folder or
    /// above (each also has a warning): nothing says which versions get installed.
    pub unlocked: usize,
}

/// Gather the dependencies of the project at `root`: the given lockfiles (relative paths, as
/// discovery lists them), `miniprogram_npm` folders and copied library files.
pub fn inventory(root: &Path, lockfiles: &[String]) -> Inventory {
    let mut inv = Inventory::default();
    let base = if root.is_file() {
        root.parent().unwrap_or(Path::new("."))
    } else {
        root
    };
    for rel in lockfiles {
        let Some(kind) = lockfile::kind_of(rel) else {
            continue;
        };
        let path = base.join(rel);
        // Lockfiles fail closed: whatever keeps one from being read completely is a warning
        // and counts in `failed`, so front ends can exit non-zero.
        let text = match read::read_inside(base, &path, read::LOCKFILE_LIMIT) {
            Ok(t) => t,
            Err(read::ReadError::NotUtf8) => {
                inv.failed += 1;
                inv.warnings
                    .push(warning(rel, None, msg!("deps.lockfile-not-utf8")));
                read::read_bytes(&path, read::LOCKFILE_LIMIT)
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default()
            }
            Err(e) => {
                inv.failed += 1;
                inv.warnings.push(warning(
                    rel,
                    None,
                    msg!("deps.cannot-read-lockfile", error = e.to_string()),
                ));
                continue;
            }
        };
        // The manifest beside it: a regular file inside the tree, or none (a link out of the
        // tree or to a FIFO is refused with a warning).
        let manifest_path = path.parent().map(|d| d.join("package.json"));
        let manifest = match manifest_path {
            Some(m) if std::fs::symlink_metadata(&m).is_ok() => {
                match read::read_inside(base, &m, read::JSON_LIMIT) {
                    Ok(t) => Some(t),
                    Err(e) => {
                        let mrel = rel
                            .rsplit_once('/')
                            .map_or("package.json".to_owned(), |(d, _)| {
                                format!("{d}/package.json")
                            });
                        inv.warnings.push(warning(
                            &mrel,
                            None,
                            msg!("deps.cannot-read", error = e.to_string()),
                        ));
                        None
                    }
                }
            }
            _ => None,
        };
        match lockfile::parse_with_manifest(kind, rel, &text, manifest.as_deref()) {
            Ok(deps) => {
                inv.lockfiles.push(rel.clone());
                inv.dependencies.extend(deps);
            }
            Err(e) => {
                inv.failed += 1;
                let pos = e.line().map(|line| Position {
                    line,
                    column: e.column().unwrap_or(1),
                });
                inv.warnings.push(warning(
                    rel,
                    pos,
                    msg!("deps.lockfile-not-understood", error = e.to_string()),
                ));
            }
        }
    }
    if root.is_dir() {
        for (rel, declared) in unlocked_manifests(root, lockfiles) {
            inv.unlocked += 1;
            inv.warnings.push(warning(
                &rel,
                None,
                if declared == 1 {
                    msg!("deps.unlocked-one")
                } else {
                    msg!("deps.unlocked", count = declared)
                },
            ));
        }
        match vendored::scan_tree(root) {
            Ok(found) => inv.dependencies.extend(found),
            Err(e) => inv.warnings.push(warning(
                "",
                None,
                msg!("deps.cannot-scan-copies", error = e.to_string()),
            )),
        }
    }
    inv.dependencies.sort_by(|a, b| {
        (&a.file, a.line, &a.name, &a.version).cmp(&(&b.file, b.line, &b.name, &b.version))
    });
    inv.dependencies.dedup();
    inv
}

/// Lockfiles under `root` (relative, `/`-separated, sorted), whether or not version control
/// ignores them: a lockfile kept out of git still says what gets installed, and a project that
/// ignores its lockfile must not look clean for it. Installed-package folders
/// (`node_modules`, `miniprogram_npm`) and hidden folders are not entered; links are not
/// followed; the walk is bounded.
pub fn find_lockfiles(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    walk_project(root, &mut |name, rel| {
        if lockfile::kind_of(name).is_some() {
            out.push(rel.to_owned());
        }
    });
    out.sort();
    out
}

/// `package.json` files under `root` that declare dependencies (or dev dependencies) while no
/// lockfile that was read sits in their folder or a folder above (a workspace's root lockfile
/// covers its packages): (relative path, number declared), sorted.
fn unlocked_manifests(root: &Path, lockfiles: &[String]) -> Vec<(String, usize)> {
    let locked_dirs: Vec<&str> = lockfiles
        .iter()
        .map(|l| l.rsplit_once('/').map_or("", |(d, _)| d))
        .collect();
    let mut manifests = Vec::new();
    walk_project(root, &mut |name, rel| {
        if name == "package.json" {
            manifests.push(rel.to_owned());
        }
    });
    manifests.sort();
    let mut out = Vec::new();
    for rel in manifests {
        let dir = rel.rsplit_once('/').map_or("", |(d, _)| d);
        let covered = locked_dirs.iter().any(|l| {
            l.is_empty() || dir == *l || dir.strip_prefix(*l).is_some_and(|r| r.starts_with('/'))
        });
        if covered {
            continue;
        }
        let Ok(text) = read::read_inside(root, &root.join(&rel), read::JSON_LIMIT) else {
            continue;
        };
        let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        // Packages from the project's own folders (`file:`, `link:`, `workspace:`, paths) need
        // no lockfile to be known; everything fetched from elsewhere does.
        let local = |spec: &serde_json::Value| {
            spec.as_str().is_some_and(|v| {
                [
                    "file:",
                    "link:",
                    "workspace:",
                    "portal:",
                    "./",
                    "../",
                    "/",
                    "~/",
                ]
                .iter()
                .any(|p| v.starts_with(p))
            })
        };
        let declared: usize = ["dependencies", "devDependencies"]
            .iter()
            .filter_map(|k| json.get(k).and_then(serde_json::Value::as_object))
            .map(|deps| deps.values().filter(|v| !local(v)).count())
            .sum();
        if declared > 0 {
            out.push((rel, declared));
        }
    }
    out
}

/// Every regular file under `root` as (file name, relative `/`-separated path): installed-package
/// folders (`node_modules`, `miniprogram_npm`) and hidden folders are not entered, links are not
/// followed, and depth and entries are bounded.
fn walk_project(root: &Path, visit: &mut dyn FnMut(&str, &str)) {
    const MAX_DEPTH: usize = 16;
    const MAX_ENTRIES: usize = 200_000;
    if root.is_file() {
        return;
    }
    let mut stack = vec![(root.to_path_buf(), String::new(), 0usize)];
    let mut seen = 0usize;
    while let Some((dir, rel, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            seen += 1;
            if seen > MAX_ENTRIES {
                return;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let child_rel = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            if kind.is_dir() {
                if depth < MAX_DEPTH
                    && !name.starts_with('.')
                    && !matches!(
                        name.as_str(),
                        "node_modules" | "miniprogram_npm" | "bower_components"
                    )
                {
                    stack.push((entry.path(), child_rel, depth + 1));
                }
            } else if kind.is_file() {
                visit(&name, &child_rel);
            }
        }
    }
}

fn warning(path: &str, position: Option<Position>, message: Msg) -> Warning {
    Warning {
        path: path.to_owned(),
        position,
        message: message.into(),
    }
}

/// One advisory affecting one dependency (or a dependency that cannot be checked).
#[derive(Debug, Clone)]
pub struct Hit<'d> {
    pub dependency: &'d Dependency,
    /// `None` for an unverifiable dependency.
    pub advisory: Option<&'d Record>,
}

/// Match every dependency against the database. Registry packages with a known version are
/// matched; local, git and workspace packages, and copies whose version could not be told, are
/// reported as unverifiable.
pub fn matches<'d>(deps: &'d [Dependency], db: &'d AdvisoryDb) -> Vec<Hit<'d>> {
    let mut hits = Vec::new();
    for dep in deps {
        // `latest`, `*`, `1.2`, `^1.0.0`: a registry dependency without an exact version cannot be
        // matched against advisory ranges; it is reported, not passed over.
        let inexact = dep.source == DepSource::Registry
            && !dep.version.is_empty()
            && Version::parse(&dep.version).is_err();
        if inexact {
            hits.push(Hit {
                dependency: dep,
                advisory: None,
            });
            continue;
        }
        let checkable = dep.source == DepSource::Registry && !dep.version.is_empty();
        if !checkable {
            if matches!(dep.source, DepSource::Local(_) | DepSource::Git(_))
                || dep.version.is_empty()
            {
                hits.push(Hit {
                    dependency: dep,
                    advisory: None,
                });
            }
            continue;
        }
        for record in db.matches(&dep.name, &dep.version) {
            hits.push(Hit {
                dependency: dep,
                advisory: Some(record),
            });
        }
    }
    hits
}

/// The affected versions of `record` for `name` in npm range syntax (`>=4.0.0 <4.17.12 || 5.0.0`).
pub fn vulnerable_range(record: &Record, name: &str) -> String {
    let mut parts = Vec::new();
    for affected in record.npm_entries(name) {
        for range in &affected.ranges {
            let mut lo: Option<String> = None;
            for event in &range.events {
                match event {
                    Event::Introduced(v) => lo = Some(v.clone()),
                    Event::Fixed(v) => {
                        parts.push(interval(lo.take().as_deref(), &format!("<{v}")));
                    }
                    Event::LastAffected(v) => {
                        parts.push(interval(lo.take().as_deref(), &format!("<={v}")));
                    }
                    Event::Limit(v) => {
                        if let Some(l) = lo.take() {
                            parts.push(interval(Some(&l), &format!("<{v}")));
                        }
                    }
                }
            }
            if let Some(l) = lo {
                parts.push(if l == "0" {
                    "*".to_owned()
                } else {
                    format!(">={l}")
                });
            }
        }
        parts.extend(affected.versions.iter().cloned());
    }
    if parts.is_empty() {
        "*".to_owned()
    } else {
        parts.join(" || ")
    }
}

fn interval(lo: Option<&str>, hi: &str) -> String {
    match lo {
        None | Some("0") => hi.to_owned(),
        Some(l) => format!(">={l} {hi}"),
    }
}

/// The findings of `hits`, located at each dependency's entry. `source_of` reads a file (by
/// relative path) for the code frame.
pub fn findings(hits: &[Hit<'_>], source_of: &dyn Fn(&str) -> Option<String>) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    // Each file is read once and indexed by line, however many hits it has.
    let mut files: std::collections::HashMap<String, Option<(String, Vec<usize>)>> =
        std::collections::HashMap::new();
    for hit in hits {
        let dep = hit.dependency;
        let found_by = match &dep.origin {
            DepOrigin::Lockfile => "lockfile".to_owned(),
            DepOrigin::MiniprogramNpm => "miniprogram_npm".to_owned(),
            DepOrigin::Vendored { how } => format!("copied file ({how})"),
        };
        let file = files.entry(dep.file.clone()).or_insert_with(|| {
            source_of(&dep.file).map(|s| {
                let mut starts = vec![0];
                starts.extend(s.match_indices('\n').map(|(i, _)| i + 1));
                (s, starts)
            })
        });
        let snippet = file
            .as_ref()
            .and_then(|(s, starts)| {
                let n = dep.line.saturating_sub(1) as usize;
                let start = *starts.get(n)?;
                let end = starts.get(n + 1).map_or(s.len(), |e| e - 1);
                s.get(start..end.max(start))
            })
            .map(|l| l.trim_end_matches('\r').to_owned())
            .unwrap_or_default();
        let width = u32::try_from(snippet.chars().count()).unwrap_or(0);
        let location = Location {
            path: dep.file.clone(),
            start: Position {
                line: dep.line.max(1),
                column: 1,
            },
            end: Position {
                line: dep.line.max(1),
                column: width + 1,
            },
            snippet,
            snippet_column: 0,
            context_before: String::new(),
            context_after: String::new(),
        };
        let shown = if dep.version.is_empty() {
            dep.name.clone()
        } else {
            format!("{}@{}", dep.name, dep.version)
        };
        let kind = if dep.direct {
            msg!("deps.direct")
        } else {
            msg!("deps.transitive")
        };
        let scope = if dep.dev {
            msg!("deps.dev")
        } else {
            msg!("deps.prod")
        };
        // Reason: the two arms build two different findings; an if-let would nest the larger one.
        #[allow(clippy::single_match_else)]
        let finding = match hit.advisory {
            Some(record) => {
                if !seen.insert((
                    record.id.clone(),
                    dep.file.clone(),
                    dep.line,
                    dep.name.clone(),
                )) {
                    continue;
                }
                let base = record.severity_level().unwrap_or(Severity::Medium);
                // A dev-only dependency does not ship in the mini-program or run in production.
                let severity = if dep.dev { base.lowered() } else { base };
                let installed = Version::parse(&dep.version).ok();
                let fixed = installed
                    .as_ref()
                    .and_then(|v| record.smallest_fixed_above(&dep.name, v))
                    .map(|v| v.to_string());
                let summary = record.summary.clone().unwrap_or_else(|| record.id.clone());
                let mut aliases: Vec<String> = record.aliases.clone();
                aliases.sort();
                let message = if dep.chain.len() > 1 {
                    msg!(
                        "D001.affected-via",
                        package = &shown,
                        kind = kind,
                        scope = scope,
                        chain = dep.chain.join(" > "),
                        advisory = &record.id,
                        summary = summary
                    )
                } else {
                    msg!(
                        "D001.affected",
                        package = &shown,
                        kind = kind,
                        scope = scope,
                        advisory = &record.id,
                        summary = summary
                    )
                };
                let help = match &fixed {
                    Some(f) => msg!("D001.upgrade", package = &dep.name, version = f),
                    None => msg!("D001.no-fix", package = &dep.name),
                };
                let confidence = match dep.origin {
                    DepOrigin::Vendored { .. } => Confidence::Medium,
                    _ => Confidence::High,
                };
                Finding {
                    rule: D001.code.to_owned(),
                    name: D001.name.to_owned(),
                    category: Category::Dependency,
                    severity,
                    confidence,
                    message: message.into(),
                    location,
                    help: Some(help.into()),
                    trace: Vec::new(),
                    fingerprint: String::new(),
                    related: Vec::new(),
                    runtime: None,
                    confidence_reason: None,
                    severity_reason: None,
                    dependency: Some(DependencyInfo {
                        package: dep.name.clone(),
                        version: dep.version.clone(),
                        advisory: Some(record.id.clone()),
                        aliases,
                        vulnerable: Some(vulnerable_range(record, &dep.name)),
                        fixed,
                        direct: dep.direct,
                        dev: dep.dev,
                        chain: dep.chain.clone(),
                        found_by,
                    }),
                }
            }
            None => {
                if !seen.insert((String::new(), dep.file.clone(), dep.line, dep.name.clone())) {
                    continue;
                }
                let why = match &dep.source {
                    DepSource::Local(spec) => msg!("D002.local", spec = spec),
                    DepSource::Git(spec) => msg!("D002.git", spec = spec),
                    DepSource::Registry if !dep.version.is_empty() => msg!("D002.unpinned"),
                    _ => msg!("D002.unknown-version"),
                };
                Finding {
                    rule: D002.code.to_owned(),
                    name: D002.name.to_owned(),
                    category: Category::Dependency,
                    severity: Severity::Info,
                    confidence: Confidence::Low,
                    message: msg!("D002.unverifiable", package = &shown, why = why).into(),
                    location,
                    help: Some(msg!("D002.help").into()),
                    trace: Vec::new(),
                    fingerprint: String::new(),
                    related: Vec::new(),
                    runtime: None,
                    confidence_reason: None,
                    severity_reason: None,
                    dependency: Some(DependencyInfo {
                        package: dep.name.clone(),
                        version: dep.version.clone(),
                        advisory: None,
                        aliases: Vec::new(),
                        vulnerable: None,
                        fixed: None,
                        direct: dep.direct,
                        dev: dep.dev,
                        chain: dep.chain.clone(),
                        found_by,
                    }),
                }
            }
        };
        out.push(finding);
    }
    out
}

/// A package with a published advisory.
pub const D001: RuleMeta = RuleMeta {
    code: "D001",
    name: "vulnerable-dependency",
    category: Category::Dependency,
    severity: Severity::High,
    confidence: Confidence::High,
    cwe: &[1395],
    summary: "Third-party package with a known vulnerability",
    docs: "## What it finds
A third-party package the mini-program, its cloud functions or its backend ships in a version
that a published advisory affects: packages in `package-lock.json` / `npm-shrinkwrap.json`,
`yarn.lock` and `pnpm-lock.yaml`, packages built into `miniprogram_npm/`, and library files
copied into the tree (`utils/crypto-js.js`, `libs/jquery.min.js`), recognised by version
banners, characteristic strings and file hashes.

The severity is the advisory's (from its GHSA severity or CVSS vector), one step lower when the
package is only a development dependency, which does not ship.

## Why it matters
A known vulnerability comes with a public description and often a public exploit: prototype
pollution in lodash or minimist, ReDoS in moment, SSRF in axios, token forgery in jsonwebtoken.
Copied library files are the worst case: nothing updates them.

## Example
```json
\"node_modules/lodash\": { \"version\": \"4.17.11\" }
```

## Fix
Upgrade to the fixed version the finding names (`npm install lodash@4.17.21`), rebuild
`miniprogram_npm` (WeChat devtools: Tools > Build npm), and replace copied files with the current
release. `miniguard db update` fetches current advisories.

## References
- CWE-1395: Dependency on Vulnerable Third-Party Component
- OSV: https://ossf.github.io/osv-schema/
",
};

/// A package whose version cannot be checked.
pub const D002: RuleMeta = RuleMeta {
    code: "D002",
    name: "unverifiable-dependency",
    category: Category::Dependency,
    severity: Severity::Info,
    confidence: Confidence::Low,
    cwe: &[1357],
    summary: "Third-party code whose version cannot be checked against advisories",
    docs: "## What it finds
Dependencies that registry advisories cannot be matched against: `file:`, `link:` and
`portal:` packages, git dependencies, and copied library files whose version could not be
told.

## Why it matters
Nothing tells you when such code has a known vulnerability: it is outside the advisory
databases' view, so it has to be reviewed and updated by hand.

## Example
```json
\"dependencies\": { \"sdk\": \"git+https://example.com/team/sdk.git#v1\" }
```

## Fix
Depend on released registry versions where you can; otherwise pin the commit and review the
code when it changes.

## References
- CWE-1357: Reliance on Insufficiently Trustworthy Component
",
};

/// The rules of the dependency audit, in code order.
pub fn rules() -> [&'static RuleMeta; 2] {
    [&D001, &D002]
}
