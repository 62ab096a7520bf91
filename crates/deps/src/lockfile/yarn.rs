//! `yarn.lock`: yarn v1's own indented format, and yarn berry's (2+) YAML, told apart by berry's
//! `__metadata` key.
//!
//! Both key entries by the requests they satisfy (`"a@^1.0.0", a@^1.1.0:` / `"a@npm:^1.0.0"`), and
//! a dependency `b "^2"` points at the entry whose key lists `b@^2`. Neither records dev-only
//! packages, and v1 does not record the project's own requests at all: the manifest
//! (`package.json`) supplies both, see [`super::parse_with_manifest`].

use std::collections::HashMap;

use super::graph::{Graph, RootKind};
use super::tree::{self, position};
use super::{LockfileError, Manifest, Out, is_git, source_of, split_name_at};
use crate::{DepSource, Dependency};

pub(super) fn parse(
    out: &Out,
    text: &str,
    manifest: Option<&Manifest>,
) -> Result<Vec<Dependency>, LockfileError> {
    let berry = text
        .lines()
        .any(|l| l.starts_with("__metadata:") || l.starts_with("\"__metadata\":"));
    let entries = if berry {
        berry_entries(out, text)?
    } else {
        v1_entries(out, text)?
    };
    Ok(build(out, &entries, manifest, berry))
}

/// One lockfile entry, whichever format it came from.
#[derive(Debug, Default)]
struct Entry {
    /// The requests (`name@range`) the entry satisfies.
    patterns: Vec<String>,
    line: u32,
    version: String,
    /// v1 `resolved` / berry `resolution`.
    resolved: String,
    /// `(name, range, optional)`.
    deps: Vec<(String, String, bool)>,
}

/// Real name and source of an entry. Aliases (`my-lodash@npm:lodash@^4`) resolve to the real
/// package; for berry the `resolution` (`lodash@npm:4.17.15`) names it.
fn identify(e: &Entry, berry: bool) -> (String, DepSource) {
    let first = e.patterns.first().map_or("", String::as_str);
    let (installed, range) = split_name_at(first).unwrap_or((first, ""));
    if berry {
        let (name, protocol) = split_name_at(&e.resolved).unwrap_or((installed, range));
        return (name.to_owned(), berry_source(protocol, 0));
    }
    if let Some(alias) = range.strip_prefix("npm:") {
        let real = split_name_at(alias).map_or(alias, |(n, _)| n);
        return (real.to_owned(), DepSource::Registry);
    }
    let source = match source_of(range) {
        // The resolved URL carries the commit; the range may only name a branch or tag.
        DepSource::Git(_) | DepSource::Registry if is_git(&e.resolved) => {
            DepSource::Git(e.resolved.clone())
        }
        DepSource::Registry if is_git(range) => DepSource::Git(range.to_owned()),
        DepSource::Registry if range.starts_with("http:") || range.starts_with("https:") => {
            // A tarball URL outside the registry: its content is not what the registry serves.
            DepSource::Local(range.to_owned())
        }
        s => s,
    };
    (installed.to_owned(), source)
}

/// Source from a berry resolution's protocol part (`npm:4.17.15`, `workspace:.`, `patch:...`).
fn berry_source(protocol: &str, depth: u8) -> DepSource {
    if protocol.starts_with("npm:") {
        return DepSource::Registry;
    }
    if let Some(inner) = protocol.strip_prefix("patch:") {
        // `patch:lodash@npm%3A4.17.21#./.yarn/patches/...`: the patched package's own source.
        let inner = inner
            .split('#')
            .next()
            .unwrap_or_default()
            .replace("%3A", ":")
            .replace("%40", "@");
        let proto = split_name_at(&inner).map_or("", |(_, p)| p).to_owned();
        return if depth < 2 {
            berry_source(&proto, depth + 1)
        } else {
            DepSource::Local(protocol.to_owned())
        };
    }
    if is_git(protocol) {
        return DepSource::Git(protocol.to_owned());
    }
    // Drop berry's bookkeeping: `::locator=...`/`::hash=...` and `#./path` after `file:`.
    let spec = protocol.split("::").next().unwrap_or(protocol);
    let spec = if spec.starts_with("file:") {
        spec.split('#').next().unwrap_or(spec)
    } else {
        spec
    };
    match source_of(spec) {
        DepSource::Registry if spec.contains(':') => DepSource::Local(spec.to_owned()),
        s => s,
    }
}

fn build(
    out: &Out,
    entries: &[Entry],
    manifest: Option<&Manifest>,
    berry: bool,
) -> Vec<Dependency> {
    let mut by_pattern: HashMap<&str, usize> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        for p in &e.patterns {
            by_pattern.entry(p.as_str()).or_insert(i);
            // Berry binds local requests to the requesting workspace
            // (`a@file:./a::locator=root%40workspace%3A.`); dependencies name them without it.
            if let Some((bare, _)) = p.split_once("::") {
                by_pattern.entry(bare).or_insert(i);
            }
        }
    }
    let lookup = |name: &str, range: &str| -> Option<usize> {
        let key = format!("{name}@{range}");
        by_pattern.get(key.as_str()).copied().or_else(|| {
            // Berry writes ranges with the protocol; older berry files sometimes without.
            (berry && !range.contains(':'))
                .then(|| {
                    by_pattern
                        .get(format!("{name}@npm:{range}").as_str())
                        .copied()
                })
                .flatten()
        })
    };

    let mut graph = Graph::default();
    let mut deps: Vec<Dependency> = Vec::new();
    // Entry index -> node, `None` for the root workspace (the project itself).
    let mut node_of: Vec<Option<usize>> = Vec::with_capacity(entries.len());
    let mut importers: Vec<(usize, bool)> = Vec::new(); // (entry, is the root workspace)
    for (i, e) in entries.iter().enumerate() {
        let (name, source) = identify(e, berry);
        if source == DepSource::Workspace {
            let root_ws = e.resolved.ends_with("@workspace:.");
            importers.push((i, root_ws));
            if root_ws {
                node_of.push(None);
                continue;
            }
        }
        let version = if source != DepSource::Registry && e.version == "0.0.0-use.local" {
            String::new() // berry's placeholder, not a version
        } else {
            e.version.clone()
        };
        node_of.push(Some(graph.add_node(name.clone())));
        deps.push(out.dep(name, version, source, e.line));
    }

    let mut required = vec![false; graph.len()];
    for (i, e) in entries.iter().enumerate() {
        let Some(from) = node_of[i] else { continue };
        for (name, range, optional) in &e.deps {
            if let Some(to) = lookup(name, range).and_then(|t| node_of[t]) {
                graph.add_edge(from, to, *optional);
                required[to] = true;
            }
        }
    }

    let manifest_roots = |graph: &mut Graph, m: &Manifest| {
        for (name, spec, kind) in &m.deps {
            if let Some(to) = lookup(name, spec).and_then(|t| node_of[t]) {
                graph.add_root(to, *kind);
            }
        }
    };
    let dev_names: std::collections::HashSet<&str> = manifest
        .map(|m| {
            m.deps
                .iter()
                .filter(|(_, _, k)| k.dev)
                .map(|(n, _, _)| n.as_str())
                .collect()
        })
        .unwrap_or_default();
    if berry && !importers.is_empty() {
        for &(i, root_ws) in &importers {
            if let Some(own) = node_of[i] {
                graph.add_root(own, RootKind::default());
            }
            for (name, range, optional) in &entries[i].deps {
                let Some(to) = lookup(name, range).and_then(|t| node_of[t]) else {
                    continue;
                };
                // Berry lists dev dependencies among a workspace's `dependencies`: the root
                // manifest says which are dev.
                let dev = root_ws && dev_names.contains(name.as_str());
                graph.add_root(
                    to,
                    RootKind {
                        dev,
                        optional: *optional,
                    },
                );
            }
        }
    } else if let Some(m) = manifest.filter(|m| !m.deps.is_empty()) {
        manifest_roots(&mut graph, m);
    } else {
        for (n, req) in required.iter().enumerate() {
            if !req {
                graph.add_root(n, RootKind::default());
            }
        }
    }

    for (dep, d) in deps.iter_mut().zip(graph.derive()) {
        dep.direct = d.direct;
        dep.dev = d.dev;
        dep.optional = d.optional;
        dep.chain = d.chain;
    }
    deps
}

// ---------------------------------------------------------------------------------------------
// berry

fn berry_entries(out: &Out, text: &str) -> Result<Vec<Entry>, LockfileError> {
    let root = tree::parse_yaml(out.file, text)?;
    if !root.is_map() {
        return Err(out.format_err(root.line, "a yarn berry lockfile is a YAML mapping"));
    }
    let mut entries = Vec::new();
    for (key, node) in root.entries() {
        if key.text == "__metadata" || !node.is_map() {
            continue;
        }
        let optional_meta = node.get("dependenciesMeta");
        let mut deps = Vec::new();
        for section in ["dependencies", "optionalDependencies"] {
            for (k, v) in node
                .get(section)
                .map(tree::Node::entries)
                .unwrap_or_default()
            {
                let optional = section == "optionalDependencies"
                    || optional_meta
                        .and_then(|m| m.get(&k.text))
                        .is_some_and(|m| m.get_bool("optional"));
                deps.push((
                    k.text.clone(),
                    v.str().unwrap_or_default().to_owned(),
                    optional,
                ));
            }
        }
        entries.push(Entry {
            patterns: key
                .text
                .split(", ")
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect(),
            line: key.line,
            version: node.get_str("version").unwrap_or_default().to_owned(),
            resolved: node.get_str("resolution").unwrap_or_default().to_owned(),
            deps,
        });
    }
    Ok(entries)
}

// ---------------------------------------------------------------------------------------------
// v1

fn v1_entries(out: &Out, text: &str) -> Result<Vec<Entry>, LockfileError> {
    let mut entries: Vec<Entry> = Vec::new();
    // The open `dependencies:`-style block of the current entry: (name, optional?).
    let mut section: Option<(String, bool)> = None;
    let mut offset = 0usize;
    for (n, raw) in text.split('\n').enumerate() {
        let line_start = offset;
        offset += raw.len() + 1;
        let line_no = n as u32 + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let content = line.trim_start_matches(' ');
        let indent = line.len() - content.len();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let err = |at: usize, message: &str| {
            let (line, column) = position(text, line_start + at);
            LockfileError::Syntax {
                file: out.file.to_owned(),
                line,
                column,
                message: message.to_owned(),
            }
        };
        if content.starts_with('\t') {
            return Err(err(indent, "tab indentation"));
        }
        match indent {
            0 => {
                let Some(list) = content.strip_suffix(':') else {
                    return Err(err(
                        content.len(),
                        "expected `:` at the end of an entry header",
                    ));
                };
                let mut patterns = Vec::new();
                let mut rest = list;
                loop {
                    let at = line.len() - rest.len();
                    let (tok, r) = token(rest).map_err(|m| err(at, m))?;
                    if tok.is_empty() {
                        return Err(err(at, "expected a package pattern"));
                    }
                    patterns.push(tok);
                    let r = r.trim_start();
                    if r.is_empty() {
                        break;
                    }
                    match r.strip_prefix(',') {
                        Some(r) => rest = r.trim_start(),
                        None => {
                            return Err(err(line.len() - r.len(), "expected `,` between patterns"));
                        }
                    }
                }
                entries.push(Entry {
                    patterns,
                    line: line_no,
                    ..Entry::default()
                });
                section = None;
            }
            2 | 4 => {
                let Some(entry) = entries.last_mut() else {
                    return Err(err(indent, "indented line outside an entry"));
                };
                let (key, rest) = token(content).map_err(|m| err(indent, m))?;
                let rest = rest.trim_start();
                if indent == 2 && (rest == ":" || rest.is_empty() && content.ends_with(':')) {
                    let name = key.trim_end_matches(':').to_owned();
                    let optional = name == "optionalDependencies";
                    section = Some((name, optional));
                    continue;
                }
                let value_at = line.len() - rest.len();
                let rest = rest.strip_prefix(':').map_or(rest, str::trim_start);
                let (value, tail) = token(rest).map_err(|m| err(value_at, m))?;
                if !tail.trim().is_empty() {
                    return Err(err(
                        line.len() - tail.len(),
                        "unexpected text after the value",
                    ));
                }
                if indent == 2 {
                    section = None;
                    match key.as_str() {
                        "version" => entry.version = value,
                        "resolved" => entry.resolved = value,
                        _ => {}
                    }
                } else {
                    match &section {
                        Some((s, optional))
                            if s == "dependencies" || s == "optionalDependencies" =>
                        {
                            entry.deps.push((key, value, *optional));
                        }
                        Some(_) => {}
                        None => return Err(err(indent, "unexpected indentation")),
                    }
                }
            }
            _ => return Err(err(indent, "unexpected indentation")),
        }
    }
    Ok(entries)
}

/// One yarn v1 token: a `"quoted string"` (JSON-like escapes) or a bare word up to whitespace,
/// a comma, or a trailing colon. Returns the token and the rest of the line.
fn token(s: &str) -> Result<(String, &str), &'static str> {
    if let Some(body) = s.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => return Ok((out, &body[i + 1..])),
                '\\' => match chars.next() {
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, 't')) => out.push('\t'),
                    Some((_, c)) => out.push(c),
                    None => return Err("unterminated string"),
                },
                c => out.push(c),
            }
        }
        return Err("unterminated string");
    }
    let end = s
        .char_indices()
        .find(|&(i, c)| c.is_whitespace() || c == ',' || (c == ':' && s[i + 1..].trim().is_empty()))
        .map_or(s.len(), |(i, _)| i);
    Ok((s[..end].to_owned(), &s[end..]))
}
