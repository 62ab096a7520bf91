//! `pnpm-lock.yaml`, lockfile versions 5.x (`/name/1.2.3` keys), 6.x (`/name@1.2.3`) and 9.x
//! (`name@1.2.3` in `packages`, the dependency graph in `snapshots`).
//!
//! Keys carry peer-dependency variants (`_react@18.2.0` in 5.x, `(react@18.2.0)` later); each
//! variant is a node of the graph, but variants of one package version are reported once, at the
//! line of its `packages` entry. Importers (`importers:`, or the top level of a single-project
//! 5.x file) declare the direct dependencies; `link:` versions there are workspace packages (when
//! the target is an importer) or local folders. 9.x dropped the `dev` flags: then dev and optional
//! are derived from the graph.

use std::collections::{HashMap, HashSet};

use super::graph::{Graph, RootKind};
use super::tree::{self, Node};
use super::{LockfileError, Manifest, Out, is_git, source_of};
use crate::{DepSource, Dependency};

pub(super) fn parse(
    out: &Out,
    text: &str,
    _manifest: Option<&Manifest>,
) -> Result<Vec<Dependency>, LockfileError> {
    let root = tree::parse_yaml(out.file, text)?;
    if !root.is_map() {
        return Err(out.format_err(root.line, "a pnpm-lock.yaml is a YAML mapping"));
    }
    let Some(version) = root.get_str("lockfileVersion") else {
        return Err(out.format_err(root.line, "not a pnpm-lock.yaml: no `lockfileVersion`"));
    };
    let major: u32 = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    let packages = root.get("packages");
    let snapshots = root.get("snapshots").filter(|s| s.is_map());
    // The graph's nodes: snapshots (9.x) or packages (earlier).
    let nodes_src = snapshots.or(packages).filter(|n| n.is_map());

    let mut graph = Graph::default();
    let mut key_index: HashMap<&str, usize> = HashMap::new();
    // Per graph node: the output dependency it belongs to.
    let mut out_of_node: Vec<usize> = Vec::new();
    let mut deps: Vec<Dependency> = Vec::new();
    let mut dep_index: HashMap<(String, String, DepSource), usize> = HashMap::new();
    // Per output dependency: whether the file states its dev flag.
    let mut explicit: Vec<bool> = Vec::new();

    let entries = nodes_src.map(Node::entries).unwrap_or_default();
    // Key -> (key line, entry), built once: scanning `packages` for every snapshot would be
    // quadratic.
    let package_meta: HashMap<&str, (u32, &Node)> = packages
        .map(Node::entries)
        .unwrap_or_default()
        .iter()
        .map(|(k, v)| (k.text.as_str(), (k.line, v)))
        .collect();
    for (key, node) in entries {
        let base = strip_peers(&key.text, major);
        // 9.x: the package's metadata lives under `packages` without the peer suffix.
        let (meta, meta_line) = match package_meta.get(base) {
            Some(&(line, meta)) if snapshots.is_some() => (Some(meta), Some(line)),
            _ if snapshots.is_some() => (None, None),
            _ => (Some(node), None),
        };
        let (name, version, source) = identify(base, major, meta.unwrap_or(node));
        let line = meta_line.unwrap_or(key.line);
        let n = graph.add_node(name.clone());
        key_index.entry(key.text.as_str()).or_insert(n);
        let id = (name.clone(), version.clone(), source.clone());
        let d = *dep_index.entry(id).or_insert_with(|| {
            deps.push(out.dep(name, version, source, line));
            let flags = meta.unwrap_or(node);
            explicit.push(flags.get("dev").is_some());
            if let Some(last) = deps.last_mut() {
                last.dev = flags.get_bool("dev");
                last.optional = flags.get_bool("optional") || node.get_bool("optional");
            }
            deps.len() - 1
        });
        out_of_node.push(d);
    }

    let resolve = |key_index: &HashMap<&str, usize>, name: &str, v: &str| -> Option<usize> {
        if let Some(&n) = key_index.get(v) {
            return Some(n);
        }
        [
            format!("/{name}/{v}"),
            format!("/{name}@{v}"),
            format!("{name}@{v}"),
        ]
        .iter()
        .find_map(|k| key_index.get(k.as_str()).copied())
    };

    for (n, (_, node)) in entries.iter().enumerate() {
        for (section, optional) in [("dependencies", false), ("optionalDependencies", true)] {
            for (k, v) in node.get(section).map(Node::entries).unwrap_or_default() {
                if let Some(to) = v.str().and_then(|v| resolve(&key_index, &k.text, v)) {
                    graph.add_edge(n, to, optional);
                }
            }
        }
    }

    // Importers: `importers:` or, for a single-project 5.x file, the top level itself.
    let importers: Vec<(&str, &Node)> = match root.get("importers") {
        Some(i) if i.is_map() => i
            .entries()
            .iter()
            .map(|(k, v)| (k.text.as_str(), v))
            .collect(),
        _ => vec![(".", &root)],
    };
    let importer_paths: HashSet<&str> = importers.iter().map(|(p, _)| *p).collect();
    let mut link_nodes: HashMap<(String, DepSource), usize> = HashMap::new();
    for (path, importer) in &importers {
        for (section, kind) in [
            (
                "dependencies",
                RootKind {
                    dev: false,
                    optional: false,
                },
            ),
            (
                "devDependencies",
                RootKind {
                    dev: true,
                    optional: false,
                },
            ),
            (
                "optionalDependencies",
                RootKind {
                    dev: false,
                    optional: true,
                },
            ),
        ] {
            for (k, v) in importer.get(section).map(Node::entries).unwrap_or_default() {
                // 5.x: `name: version`; 6.x and 9.x: `name: {specifier, version}`.
                let Some(version) = v.str().or_else(|| v.get_str("version")) else {
                    continue;
                };
                let to = if let Some(target) = version.strip_prefix("link:") {
                    let folder = join(path, target);
                    let source = if importer_paths.contains(&folder.as_str()) {
                        DepSource::Workspace
                    } else {
                        DepSource::Local(version.to_owned())
                    };
                    let id = (k.text.clone(), source.clone());
                    if let Some(&n) = link_nodes.get(&id) {
                        n
                    } else {
                        let n = graph.add_node(k.text.clone());
                        deps.push(out.dep(k.text.clone(), String::new(), source, k.line));
                        explicit.push(false);
                        out_of_node.push(deps.len() - 1);
                        link_nodes.insert(id, n);
                        n
                    }
                } else if let Some(n) = resolve(&key_index, &k.text, version) {
                    n
                } else {
                    continue;
                };
                graph.add_root(to, kind);
            }
        }
    }

    // Merge the graph's findings into the (deduplicated) output.
    let derived = graph.derive();
    let mut seen = vec![false; deps.len()];
    for (n, d) in derived.into_iter().enumerate() {
        let i = out_of_node[n];
        let dep = &mut deps[i];
        let first = !seen[i];
        seen[i] = true;
        dep.direct |= d.direct;
        if !explicit[i] {
            dep.dev = if first { d.dev } else { dep.dev && d.dev };
            dep.optional = if first {
                d.optional || dep.optional
            } else {
                dep.optional && d.optional
            };
        }
        if first || (d.reachable && d.chain.len() < dep.chain.len()) || dep.chain.is_empty() {
            dep.chain = d.chain;
        }
    }
    Ok(deps)
}

/// Removes the peer-dependency suffix: `(react@18.2.0)` (6.x, 9.x) or `_react@18.2.0` (5.x).
fn strip_peers(key: &str, major: u32) -> &str {
    let key = key.split('(').next().unwrap_or(key);
    if major < 6 {
        // The suffix starts at the first `_` after the version (names may contain `_`).
        let after_name = key.rfind('/').unwrap_or(0);
        if let Some(u) = key[after_name..].find('_') {
            return &key[..after_name + u];
        }
    }
    key
}

/// Name, version and source of a package key (peers stripped) and its metadata entry.
fn identify(key: &str, major: u32, meta: &Node) -> (String, String, DepSource) {
    let (name, version) = split_key(key);
    let name = meta.get_str("name").map_or(name, str::to_owned);
    let resolution = meta.get("resolution");
    let res = |k: &str| resolution.and_then(|r| r.get_str(k));
    let source = if let Some(dir) = res("directory") {
        DepSource::Local(format!("file:{dir}"))
    } else if res("type") == Some("git") || res("repo").is_some() {
        let repo = res("repo").unwrap_or_default();
        DepSource::Git(match res("commit") {
            Some(c) => format!("{repo}#{c}"),
            None => repo.to_owned(),
        })
    } else if let Some(t) = res("tarball").filter(|t| t.starts_with("file:") || is_git(t)) {
        if is_git(t) {
            DepSource::Git(t.to_owned())
        } else {
            DepSource::Local(t.to_owned())
        }
    } else {
        match source_of(&version) {
            // 5.x/6.x keys without a leading `/` are not registry packages
            // (`github.com/u/r/sha`, `file:dir`); neither are versions that are not versions.
            DepSource::Registry
                if (major < 9 && !key.starts_with('/')) || !starts_with_digit(&version) =>
            {
                let spec = res("tarball").unwrap_or(key);
                if is_git(spec) || key.starts_with("github.com/") || key.starts_with("gitlab.com/")
                {
                    DepSource::Git(spec.to_owned())
                } else {
                    DepSource::Local(spec.to_owned())
                }
            }
            s => s,
        }
    };
    let version = match meta.get_str("version") {
        Some(v) => v.to_owned(),
        None if source == DepSource::Registry => version,
        None => String::new(),
    };
    (name, version, source)
}

fn starts_with_digit(v: &str) -> bool {
    v.bytes().next().is_some_and(|b| b.is_ascii_digit())
}

/// `/name/1.0.0`, `/@s/n/1.0.0`, `/name@1.0.0`, `name@1.0.0`, `@s/n@1.0.0` -> (name, version).
/// Anything else gives the whole key as the name and an empty version.
fn split_key(key: &str) -> (String, String) {
    let s = key.strip_prefix('/').unwrap_or(key);
    let scope_end = if s.starts_with('@') {
        s.find('/').map_or(s.len(), |i| i + 1)
    } else {
        0
    };
    let Some(end) = s[scope_end..].find(['/', '@']).map(|i| i + scope_end) else {
        return (s.to_owned(), String::new());
    };
    (s[..end].to_owned(), s[end + 1..].to_owned())
}

/// Joins an importer path and a relative `link:` target, normalising `.` and `..`.
fn join(base: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for seg in base.split('/').chain(rel.split('/')) {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert_eq!(strip_peers("/foo/1.0.0_react@18.2.0", 5), "/foo/1.0.0");
        assert_eq!(
            strip_peers("/@a/b_c/1.0.0_@types+react@18.0.0", 5),
            "/@a/b_c/1.0.0"
        );
        assert_eq!(strip_peers("/foo@1.0.0(react@18.2.0)", 6), "/foo@1.0.0");
        assert_eq!(split_key("/@s/n/1.0.0"), ("@s/n".into(), "1.0.0".into()));
        assert_eq!(split_key("@s/n@1.0.0"), ("@s/n".into(), "1.0.0".into()));
        assert_eq!(split_key("n@file:x"), ("n".into(), "file:x".into()));
        assert_eq!(join(".", "packages/a"), "packages/a");
        assert_eq!(join("packages/a", "../b"), "packages/b");
    }
}
