//! `package-lock.json` / `npm-shrinkwrap.json`.
//!
//! - v2 and v3 have `packages`, keyed by install path (`node_modules/a/node_modules/b`). The
//!   path says where Node's resolution finds each dependency, so edges are resolved as Node does:
//!   `<path>/node_modules/<dep>`, then each enclosing `node_modules` level up to the root.
//!   `link: true` entries point at a folder entry (a workspace package or a `file:` directory)
//!   that holds the version and dependencies; we report the link (that is the name the project
//!   uses) and read the rest from the folder.
//! - v1 (and the v2 fallback part) has nested `dependencies` with `requires` maps; the same
//!   lookup walks up the nesting. v1 does not record the root's own dependencies: the manifest
//!   says, or else top-level entries that nothing requires are taken as direct.

use std::collections::HashMap;

use super::graph::{Graph, RootKind};
use super::tree::{self, Node};
use super::{LockfileError, Manifest, Out, source_of, split_name_at};
use crate::{DepSource, Dependency};

pub(super) fn parse(
    out: &Out,
    text: &str,
    manifest: Option<&Manifest>,
) -> Result<Vec<Dependency>, LockfileError> {
    let root = tree::parse_json(out.file, text)?;
    if !root.is_map() {
        return Err(out.format_err(root.line, "a package-lock.json holds a JSON object"));
    }
    if let Some(packages) = root.get("packages") {
        if !packages.is_map() {
            return Err(out.format_err(packages.line, "`packages` is not an object"));
        }
        if let Some(own) = packages.get("") {
            Manifest::check_workspaces(own).map_err(|(line, m)| out.format_err(line, m))?;
        }
        return Ok(packages_section(out, packages, manifest));
    }
    if let Some(deps) = root.get("dependencies") {
        if !deps.is_map() {
            return Err(out.format_err(deps.line, "`dependencies` is not an object"));
        }
        return Ok(v1(out, deps, manifest));
    }
    if root.get("lockfileVersion").is_none() {
        return Err(out.format_err(
            root.line,
            "not a package-lock.json: no `lockfileVersion`, `packages` or `dependencies`",
        ));
    }
    Ok(Vec::new())
}

fn is_nm(key: &str) -> bool {
    key.starts_with("node_modules/") || key.contains("/node_modules/")
}

/// The name a package is installed under: what follows the last `node_modules/`.
fn installed_name(key: &str) -> &str {
    key.rfind("node_modules/")
        .map_or(key, |p| &key[p + "node_modules/".len()..])
}

/// The source of a registry-style entry from its `version` and `resolved`.
fn entry_source(version: &str, resolved: Option<&str>) -> DepSource {
    match source_of(version) {
        DepSource::Registry => match resolved.map(source_of) {
            Some(s @ (DepSource::Local(_) | DepSource::Git(_))) => s,
            _ => DepSource::Registry,
        },
        other => other,
    }
}

/// Name and exact version of an entry whose `version` may be an `npm:` alias (v1 writes
/// `"version": "npm:lodash@4.17.15"`) or a non-registry spec (then the version is unknown).
fn name_version(installed: &str, version: &str, source: &DepSource) -> (String, String) {
    if let Some(alias) = version.strip_prefix("npm:")
        && let Some((real, v)) = split_name_at(alias)
    {
        return (real.to_owned(), v.to_owned());
    }
    let version = if matches!(source, DepSource::Registry) || !version.contains(':') {
        version.to_owned()
    } else {
        String::new()
    };
    (installed.to_owned(), version)
}

fn packages_section(out: &Out, packages: &Node, manifest: Option<&Manifest>) -> Vec<Dependency> {
    let entries = packages.entries();
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(entries.len());
    for (i, (k, _)) in entries.iter().enumerate() {
        index.entry(k.text.as_str()).or_insert(i);
    }
    let root_manifest = index.get("").map(|&i| Manifest::from_node(&entries[i].1));
    // Workspace globs: the lockfile's root entry has them; the manifest is the fallback.
    let ws = match (&root_manifest, manifest) {
        (Some(r), _) if !r.workspaces.is_empty() => r,
        (_, Some(m)) => m,
        (Some(r), None) => r,
        (None, None) => &Manifest::default(),
    };

    let mut graph = Graph::default();
    let mut deps: Vec<Dependency> = Vec::new();
    let mut node_of_entry: Vec<Option<usize>> = vec![None; entries.len()];
    let mut is_link = vec![false; entries.len()];

    for (i, (key, entry)) in entries.iter().enumerate() {
        if !is_nm(&key.text) || !entry.is_map() {
            continue;
        }
        let installed = installed_name(&key.text);
        let dev = entry.get_bool("dev");
        let optional = entry.get_bool("optional") || entry.get_bool("devOptional");
        let mut dep = if entry.get_bool("link") {
            is_link[i] = true;
            let target = entry.get_str("resolved").unwrap_or_default();
            let target = target.strip_prefix("file:").unwrap_or(target);
            let t = index.get(target).map(|&t| &entries[t].1);
            let name = t
                .and_then(|t| t.get_str("name"))
                .unwrap_or(installed)
                .to_owned();
            let version = t
                .and_then(|t| t.get_str("version"))
                .unwrap_or_default()
                .to_owned();
            let source = if ws.is_workspace(target) {
                DepSource::Workspace
            } else {
                DepSource::Local(format!("file:{target}"))
            };
            if let Some(&t) = index.get(target)
                && node_of_entry[t].is_none()
            {
                node_of_entry[t] = Some(graph.len());
            }
            out.dep(name, version, source, key.line)
        } else {
            let version = entry.get_str("version").unwrap_or_default();
            let source = entry_source(version, entry.get_str("resolved"));
            let (real, version) = name_version(installed, version, &source);
            let name = entry.get_str("name").map_or(real, str::to_owned);
            out.dep(name, version, source, key.line)
        };
        dep.dev = dev;
        dep.optional = optional;
        node_of_entry[i] = Some(graph.add_node(dep.name.clone()));
        deps.push(dep);
    }

    let resolve = |from: &str, name: &str| -> Option<usize> {
        let mut base = from;
        loop {
            let candidate = if base.is_empty() {
                format!("node_modules/{name}")
            } else {
                format!("{base}/node_modules/{name}")
            };
            if let Some(&i) = index.get(candidate.as_str()) {
                return node_of_entry[i];
            }
            if base.is_empty() {
                return None;
            }
            base = base.rfind("/node_modules/").map_or("", |p| &base[..p]);
        }
    };

    for (i, (key, entry)) in entries.iter().enumerate() {
        let Some(from) = node_of_entry[i] else {
            continue;
        };
        if is_link[i] {
            continue; // its folder entry carries the dependencies
        }
        for (name, optional) in runtime_deps(entry) {
            if let Some(to) = resolve(&key.text, name) {
                graph.add_edge(from, to, optional);
            }
        }
    }

    // Importers: the root and the workspace folders.
    for (i, (key, entry)) in entries.iter().enumerate() {
        let importer = key.text.is_empty() || (!is_nm(&key.text) && ws.is_workspace(&key.text));
        if !importer || !entry.is_map() {
            continue;
        }
        if let Some(own) = node_of_entry[i] {
            graph.add_root(own, RootKind::default());
        }
        let local;
        let m = if let (true, Some(r)) = (key.text.is_empty(), root_manifest.as_ref()) {
            r
        } else {
            local = Manifest::from_node(entry);
            &local
        };
        for (name, _, kind) in &m.deps {
            if let Some(to) = resolve(&key.text, name) {
                graph.add_root(to, *kind);
            }
        }
    }

    finish(
        deps,
        &graph,
        &entries
            .iter()
            .map(|(k, _)| k.text.as_str())
            .collect::<Vec<_>>(),
        &node_of_entry,
    )
}

/// `dependencies`, `optionalDependencies` and `peerDependencies` (npm 7+ installs peers) of an
/// entry, with whether each is optional.
fn runtime_deps(entry: &Node) -> impl Iterator<Item = (&str, bool)> {
    // Optional peers, collected once: looking each peer up in the meta map would be quadratic
    // in the number of peers.
    let optional_peers: std::collections::HashSet<&str> = entry
        .get("peerDependenciesMeta")
        .map(Node::entries)
        .unwrap_or_default()
        .iter()
        .filter(|(_, m)| m.get_bool("optional"))
        .map(|(k, _)| k.text.as_str())
        .collect();
    let section = |name: &'static str| {
        entry
            .get(name)
            .map(Node::entries)
            .unwrap_or_default()
            .iter()
    };
    section("dependencies")
        .map(|(k, _)| (k.text.as_str(), false))
        .chain(section("optionalDependencies").map(|(k, _)| (k.text.as_str(), true)))
        .chain(section("peerDependencies").map(move |(k, _)| {
            let optional = optional_peers.contains(k.text.as_str());
            (k.text.as_str(), optional)
        }))
}

/// Fills `direct` and `chain` from the graph (flags come from the entries). Packages the graph
/// cannot reach get the chain their install path spells (`node_modules/a/node_modules/b`).
fn finish(
    mut deps: Vec<Dependency>,
    graph: &Graph,
    keys: &[&str],
    node_of_entry: &[Option<usize>],
) -> Vec<Dependency> {
    let derived = graph.derive();
    let mut path_of_node: Vec<&str> = vec![""; deps.len()];
    for (i, n) in node_of_entry.iter().enumerate() {
        if let Some(n) = *n
            && let Some(slot) = path_of_node.get_mut(n)
            && slot.is_empty()
            && is_nm(keys[i])
        {
            *slot = keys[i];
        }
    }
    for (i, dep) in deps.iter_mut().enumerate() {
        let d = &derived[i];
        dep.direct = d.direct;
        dep.chain = if d.reachable {
            d.chain.clone()
        } else if !path_of_node[i].is_empty() {
            let mut chain: Vec<String> = path_of_node[i]
                .split("node_modules/")
                .skip(1)
                .map(|s| s.trim_end_matches('/').to_owned())
                .collect();
            if let Some(last) = chain.last_mut() {
                last.clone_from(&dep.name);
            }
            chain
        } else {
            vec![dep.name.clone()]
        };
    }
    deps
}

/// Lockfile v1: nested `dependencies`.
fn v1(out: &Out, top: &Node, manifest: Option<&Manifest>) -> Vec<Dependency> {
    struct Entry<'a> {
        node: &'a Node,
        parent: Option<usize>,
    }
    let mut entries: Vec<Entry> = Vec::new();
    let mut scope: HashMap<(Option<usize>, &str), usize> = HashMap::new();
    let mut graph = Graph::default();
    let mut deps = Vec::new();
    // Explicit stack: the tree is already depth-limited, but this keeps the walk flat anyway.
    let mut stack: Vec<(Option<usize>, &Node)> = vec![(None, top)];
    while let Some((parent, map)) = stack.pop() {
        for (key, node) in map.entries() {
            if !node.is_map() {
                continue;
            }
            let idx = entries.len();
            let version = node.get_str("version").unwrap_or_default();
            let source = match entry_source(version, node.get_str("resolved")) {
                DepSource::Local(spec)
                    if manifest
                        .is_some_and(|m| m.is_workspace(spec.trim_start_matches("file:"))) =>
                {
                    DepSource::Workspace
                }
                s => s,
            };
            let (name, version) = name_version(&key.text, version, &source);
            let mut dep = out.dep(name, version, source, key.line);
            dep.dev = node.get_bool("dev");
            dep.optional = node.get_bool("optional");
            graph.add_node(dep.name.clone());
            deps.push(dep);
            entries.push(Entry { node, parent });
            scope.entry((parent, key.text.as_str())).or_insert(idx);
            if let Some(children) = node.get("dependencies") {
                stack.push((Some(idx), children));
            }
        }
    }

    let resolve = |from: Option<usize>, name: &str| -> Option<usize> {
        let mut at = from;
        loop {
            if let Some(&i) = scope.get(&(at, name)) {
                return Some(i);
            }
            at = entries[at?].parent;
        }
    };

    let mut required = vec![false; entries.len()];
    for (i, e) in entries.iter().enumerate() {
        let optional_names = e.node.get("optionalDependencies");
        for (k, _) in e
            .node
            .get("requires")
            .map(Node::entries)
            .unwrap_or_default()
        {
            if let Some(to) = resolve(Some(i), &k.text) {
                let optional = optional_names.and_then(|o| o.get(&k.text)).is_some();
                graph.add_edge(i, to, optional);
                required[to] = true;
            }
        }
    }

    match manifest {
        Some(m) if !m.deps.is_empty() => {
            for (name, _, kind) in &m.deps {
                if let Some(to) = resolve(None, name) {
                    graph.add_root(to, *kind);
                }
            }
        }
        _ => {
            for (i, e) in entries.iter().enumerate() {
                if e.parent.is_none() && !required[i] {
                    graph.add_root(
                        i,
                        RootKind {
                            dev: deps[i].dev,
                            optional: deps[i].optional,
                        },
                    );
                }
            }
        }
    }
    let derived = graph.derive();
    for (dep, d) in deps.iter_mut().zip(derived) {
        dep.direct = d.direct;
        dep.chain = d.chain;
    }
    deps
}
