//! Lockfile parsers: npm (`package-lock.json`, `npm-shrinkwrap.json` v1-v3), yarn (v1 and
//! berry), pnpm (`pnpm-lock.yaml` 5.x, 6.x, 9.x). Every dependency knows its line.
//!
//! # API
//! - [`kind_of`] tells from a file name which parser applies.
//! - [`parse`] turns a lockfile's text into [`Dependency`] values, one per installed package
//!   entry (npm keeps one per `node_modules` path, so the same version nested twice is reported
//!   twice, each at its own line; pnpm's peer-dependency variants of one version are merged).
//! - [`parse_with_manifest`] also reads the sibling `package.json`. Lockfiles that do not record
//!   which packages the project itself asked for (yarn v1, npm v1) or which are dev-only (yarn
//!   v1 and berry) get that from the manifest; without it, packages nothing else depends on are
//!   taken as direct, and nothing is dev.
//!
//! # Why our own walking rather than serde structs
//! Findings must point at the line of an entry, and the three tools have changed their formats
//! many times (npm 3, yarn 2, pnpm 4 lockfile versions here). Both JSON and YAML are read into
//! one small tree that keeps lines (module `tree`); each format module walks that tree leniently
//! (unknown fields are ignored, a field of the wrong type is treated as absent) and strictly only
//! where nothing sensible could follow (the top level is not a mapping, the text is not JSON/YAML).
//!
//! # What counts as what
//! - `direct`: declared by an importer: the root package or, in a workspace, one of its
//!   workspace packages (their dependencies are direct for them). Workspace packages themselves
//!   are reported with [`DepSource::Workspace`]; the root package is not reported.
//! - `dev` / `optional`: the lockfile's own flags where it has them (npm, pnpm 5/6); otherwise
//!   derived from the graph: dev if only reachable from dev dependencies, optional if only
//!   reachable through optional dependencies. npm's `devOptional` is reported as optional, not
//!   dev, because it can ship in production.
//! - `chain`: the shortest path of package names from a direct dependency, over the dependency
//!   graph; aliases appear under their real names.
//! - Sources: `file:`, `link:`, `portal:`, directories and local tarballs are
//!   [`DepSource::Local`]; git URLs and `github:`-style shorthands [`DepSource::Git`]; workspace
//!   packages [`DepSource::Workspace`]. None of them is matched against registry advisories.

mod graph;
mod npm;
mod pnpm;
mod tree;
mod yarn;

use std::collections::HashMap;

use crate::{DepOrigin, DepSource, Dependency};

/// Which lockfile format a file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LockfileKind {
    /// `package-lock.json` or `npm-shrinkwrap.json` (lockfile versions 1, 2 and 3).
    Npm,
    /// `yarn.lock`: yarn v1's own format or yarn berry's YAML (told apart by content).
    Yarn,
    /// `pnpm-lock.yaml` (lockfile versions 5.x, 6.x and 9.x).
    Pnpm,
}

/// The lockfile kind for a file name (the last path component), `None` for anything else.
pub fn kind_of(file_name: &str) -> Option<LockfileKind> {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    match base {
        "package-lock.json" | "npm-shrinkwrap.json" => Some(LockfileKind::Npm),
        "yarn.lock" => Some(LockfileKind::Yarn),
        "pnpm-lock.yaml" => Some(LockfileKind::Pnpm),
        _ => None,
    }
}

/// Why a lockfile could not be read. Positions are 1-based; columns count characters.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockfileError {
    /// Not well-formed JSON / YAML / yarn v1 text.
    #[error("{file}:{line}:{column}: {message}")]
    Syntax {
        file: String,
        line: u32,
        column: u32,
        message: String,
    },
    /// Well-formed, but not a lockfile of the expected shape.
    #[error("{file}:{line}: {message}")]
    Format {
        file: String,
        line: u32,
        message: String,
    },
    /// Nested deeper than any real lockfile (a guard against stack exhaustion).
    #[error("{file}:{line}:{column}: nested deeper than {limit} levels")]
    TooDeep {
        file: String,
        line: u32,
        column: u32,
        limit: usize,
    },
}

impl LockfileError {
    /// 1-based line of the problem.
    pub fn line(&self) -> Option<u32> {
        match self {
            Self::Syntax { line, .. } | Self::Format { line, .. } | Self::TooDeep { line, .. } => {
                Some(*line)
            }
        }
    }

    /// 1-based column of the problem, where known.
    pub fn column(&self) -> Option<u32> {
        match self {
            Self::Syntax { column, .. } | Self::TooDeep { column, .. } => Some(*column),
            Self::Format { .. } => None,
        }
    }

    /// The file the error is about (the lockfile's or manifest's `rel_path`).
    pub fn file(&self) -> &str {
        match self {
            Self::Syntax { file, .. } | Self::Format { file, .. } | Self::TooDeep { file, .. } => {
                file
            }
        }
    }
}

/// Parses a lockfile. `rel_path` is stored in every [`Dependency::file`] and error.
pub fn parse(
    kind: LockfileKind,
    rel_path: &str,
    text: &str,
) -> Result<Vec<Dependency>, LockfileError> {
    parse_with_manifest(kind, rel_path, text, None)
}

/// Parses a lockfile with the text of the `package.json` beside it, which supplies what the
/// lockfile does not record (see the module docs). A manifest that is not valid JSON is an error
/// (reported against `<dir of rel_path>/package.json`).
pub fn parse_with_manifest(
    kind: LockfileKind,
    rel_path: &str,
    text: &str,
    package_json: Option<&str>,
) -> Result<Vec<Dependency>, LockfileError> {
    let manifest = match package_json {
        Some(m) => {
            let dir = rel_path.rsplit_once('/').map_or("", |(d, _)| d);
            let path = if dir.is_empty() {
                "package.json".to_owned()
            } else {
                format!("{dir}/package.json")
            };
            Some(Manifest::parse(&path, m)?)
        }
        None => None,
    };
    let out = Out { file: rel_path };
    match kind {
        LockfileKind::Npm => npm::parse(&out, text, manifest.as_ref()),
        LockfileKind::Yarn => yarn::parse(&out, text, manifest.as_ref()),
        LockfileKind::Pnpm => pnpm::parse(&out, text, manifest.as_ref()),
    }
}

/// The parts of a `package.json` the parsers use.
#[derive(Debug, Default)]
pub(crate) struct Manifest {
    /// `(name, spec, kind)` for `dependencies`, `devDependencies`, `optionalDependencies`.
    pub deps: Vec<(String, String, graph::RootKind)>,
    /// `workspaces` globs (array form or `{ "packages": [...] }`).
    pub workspaces: Vec<String>,
}

/// Longest `workspaces` glob accepted, in bytes.
pub const MAX_WORKSPACE_GLOB: usize = 4096;
/// Most `workspaces` globs accepted: every glob is matched against every package folder.
pub const MAX_WORKSPACE_GLOBS: usize = 1000;

impl Manifest {
    fn parse(path: &str, text: &str) -> Result<Self, LockfileError> {
        let root = tree::parse_json(path, text)?;
        Self::check_workspaces(&root).map_err(|(line, message)| LockfileError::Format {
            file: path.to_owned(),
            line,
            message,
        })?;
        Ok(Self::from_node(&root))
    }

    /// Refuses `workspaces` globs past [`MAX_WORKSPACE_GLOB`] bytes or more than
    /// [`MAX_WORKSPACE_GLOBS`] of them (no real project comes near; the matcher's work grows
    /// with both): the line and the message.
    pub(crate) fn check_workspaces(root: &tree::Node) -> Result<(), (u32, String)> {
        let ws = root.get("workspaces");
        let Some(
            list @ tree::Node {
                kind: tree::Kind::Seq(items),
                ..
            },
        ) = ws.and_then(|w| w.get("packages")).or(ws)
        else {
            return Ok(());
        };
        if items.len() > MAX_WORKSPACE_GLOBS {
            return Err((
                list.line,
                format!("more than {MAX_WORKSPACE_GLOBS} workspaces globs"),
            ));
        }
        match items
            .iter()
            .find(|i| i.str().is_some_and(|g| g.len() > MAX_WORKSPACE_GLOB))
        {
            Some(long) => Err((
                long.line,
                format!("a workspaces glob is longer than {MAX_WORKSPACE_GLOB} bytes"),
            )),
            None => Ok(()),
        }
    }

    /// Reads the dependency sections and workspaces of a package.json-shaped node (npm's
    /// `packages[""]` has the same shape).
    pub(crate) fn from_node(root: &tree::Node) -> Self {
        let mut m = Manifest::default();
        // Name -> index in `m.deps`: the same name in two sections is kept once (an
        // optionalDependencies entry, which some tools repeat in dependencies, wins).
        let mut at: HashMap<&str, usize> = HashMap::new();
        for (section, kind) in [
            (
                "dependencies",
                graph::RootKind {
                    dev: false,
                    optional: false,
                },
            ),
            (
                "optionalDependencies",
                graph::RootKind {
                    dev: false,
                    optional: true,
                },
            ),
            (
                "devDependencies",
                graph::RootKind {
                    dev: true,
                    optional: false,
                },
            ),
        ] {
            for (k, v) in root
                .get(section)
                .map(tree::Node::entries)
                .unwrap_or_default()
            {
                let entry = (k.text.clone(), v.str().unwrap_or_default().to_owned(), kind);
                match at.get(k.text.as_str()) {
                    Some(&i) if kind.optional => m.deps[i] = entry,
                    Some(_) => {}
                    None => {
                        at.insert(k.text.as_str(), m.deps.len());
                        m.deps.push(entry);
                    }
                }
            }
        }
        let ws = root.get("workspaces");
        let list = ws.and_then(|w| w.get("packages")).or(ws);
        if let Some(tree::Node {
            kind: tree::Kind::Seq(items),
            ..
        }) = list
        {
            m.workspaces = items
                .iter()
                .filter_map(|i| i.str().map(str::to_owned))
                .collect();
        }
        m
    }

    /// Whether a folder (relative to the project root, `/` separators) is a workspace package.
    pub(crate) fn is_workspace(&self, folder: &str) -> bool {
        let folder = folder.trim_start_matches("./").trim_end_matches('/');
        self.workspaces
            .iter()
            .any(|g| glob_match(g.trim_start_matches("./").trim_end_matches('/'), folder))
    }
}

/// Matches a workspace glob (`packages/*`, `apps/**`, `libs/ui-*`) against a folder path.
fn glob_match(glob: &str, path: &str) -> bool {
    let g: Vec<&str> = glob.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    // Iterative matching with one `**` backtrack point keeps this linear-ish and stack-free.
    let (mut gi, mut pi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while pi < p.len() {
        if gi < g.len() && g[gi] == "**" {
            star = Some((gi, pi));
            gi += 1;
        } else if gi < g.len() && segment_match(g[gi], p[pi]) {
            gi += 1;
            pi += 1;
        } else if let Some((sg, sp)) = star {
            gi = sg + 1;
            pi = sp + 1;
            star = Some((sg, sp + 1));
        } else {
            return false;
        }
    }
    g[gi..].iter().all(|s| *s == "**")
}

/// `*` within one path segment. Greedy with one backtrack point (the last `*`), so the time is
/// at most the product of the two lengths whatever the number of `*`s (trying every split at
/// every `*` was exponential).
fn segment_match(glob: &str, seg: &str) -> bool {
    let g = glob.as_bytes();
    let s = seg.as_bytes();
    let (mut gi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if gi < g.len() && g[gi] == b'*' {
            star = Some((gi, si));
            gi += 1;
        } else if gi < g.len() && g[gi] == s[si] {
            gi += 1;
            si += 1;
        } else if let Some((sg, ss)) = star {
            gi = sg + 1;
            si = ss + 1;
            star = Some((sg, ss + 1));
        } else {
            return false;
        }
    }
    g[gi..].iter().all(|&c| c == b'*')
}

/// What every parser needs to emit dependencies.
pub(crate) struct Out<'a> {
    pub file: &'a str,
}

impl Out<'_> {
    pub fn dep(&self, name: String, version: String, source: DepSource, line: u32) -> Dependency {
        Dependency {
            name,
            version,
            source,
            origin: DepOrigin::Lockfile,
            direct: false,
            dev: false,
            optional: false,
            file: self.file.to_owned(),
            line,
            chain: Vec::new(),
        }
    }

    pub fn format_err(&self, line: u32, message: impl Into<String>) -> LockfileError {
        LockfileError::Format {
            file: self.file.to_owned(),
            line,
            message: message.into(),
        }
    }
}

/// Source of a package from a version or resolution string as the tools write them: `file:`,
/// `link:`, `portal:` are local; git URLs and hosted-git shorthands are git; anything else is
/// the registry.
pub(crate) fn source_of(spec: &str) -> DepSource {
    let s = spec.trim();
    if s.starts_with("file:")
        || s.starts_with("link:")
        || s.starts_with("portal:")
        || s.starts_with("exec:")
    {
        DepSource::Local(s.to_owned())
    } else if s.starts_with("workspace:") {
        DepSource::Workspace
    } else if is_git(s) {
        DepSource::Git(s.to_owned())
    } else {
        DepSource::Registry
    }
}

/// Git URLs (`git+https://`, `git://`, `git@host:`), hosted shorthands (`github:u/r`) and the
/// codeload/`#commit=` forms yarn and pnpm write for them.
pub(crate) fn is_git(s: &str) -> bool {
    s.starts_with("git+")
        || s.starts_with("git:")
        || s.starts_with("git@")
        || s.starts_with("github:")
        || s.starts_with("gitlab:")
        || s.starts_with("bitbucket:")
        || s.starts_with("gist:")
        || s.starts_with("https://codeload.github.com/")
        || s.starts_with("codeload.github.com/")
        || s.contains(".git#")
        || s.ends_with(".git")
        || s.contains("#commit=")
}

/// Splits `name@rest` where the name may be scoped (`@scope/name@rest`).
pub(crate) fn split_name_at(s: &str) -> Option<(&str, &str)> {
    let from = usize::from(s.starts_with('@'));
    let at = s.get(from..)?.find('@')? + from;
    let (name, rest) = (&s[..at], &s[at + 1..]);
    (!name.is_empty()).then_some((name, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("packages/*", "packages/shared-ui"));
        assert!(!glob_match("packages/*", "packages/a/b"));
        assert!(glob_match("apps/**", "apps/a/b"));
        assert!(glob_match("libs/ui-*", "libs/ui-kit"));
        assert!(!glob_match("libs/ui-*", "libs/core"));
        assert!(glob_match("local", "local"));
        assert!(glob_match("*a*b", "xxaxxb"));
        assert!(!glob_match("a*", "b"));
    }

    /// Issue 12: many `*` in one segment made the matcher exponential.
    #[test]
    fn many_stars_match_in_polynomial_time() {
        let glob = format!("packages/{}b", "*a".repeat(40));
        let folder = format!("packages/{}", "a".repeat(200));
        assert!(!glob_match(&glob, &folder));
        assert!(glob_match(&glob, &(folder + "b")));
    }

    #[test]
    fn names() {
        assert_eq!(split_name_at("@s/n@^1"), Some(("@s/n", "^1")));
        assert_eq!(split_name_at("n@npm:x@1"), Some(("n", "npm:x@1")));
        assert_eq!(split_name_at("@s/n"), None);
        assert_eq!(kind_of("a/b/npm-shrinkwrap.json"), Some(LockfileKind::Npm));
    }
}
