//! Packages in `miniprogram_npm/` folders, as the WeChat npm build leaves them.
//!
//! The build copies each dependency (and each of theirs, flattened) of a mini-program's
//! `package.json` into `miniprogram_npm/<name>/` (`@scope/name` nested): the package's
//! `miniprogram` folder when it has one, else its main file as `index.js`. The `package.json`
//! usually does not come along, so the version is read from it when present and otherwise from
//! the main file's content, with the same signatures as copied files.

use std::path::Path;

use serde_json::Value;

use crate::{DepOrigin, DepSource, Dependency};

/// Main files a package folder may have when no `package.json` names one, in order.
fn main_candidates(base: &str) -> [String; 3] {
    [
        "index.js".to_string(),
        format!("{base}.js"),
        format!("{base}.min.js"),
    ]
}

/// Largest `package.json` or main file read (same cap as the tree walk's default).
const MAX_READ: u64 = 5 * 1024 * 1024;

/// One [`Dependency`] per package folder of the given `miniprogram_npm` folders.
///
/// `npm_dirs` are the `miniprogram_npm` folders themselves, relative to `root` with `/`
/// separators (`miniprogram/miniprogram_npm`); [`super::scan_tree_with`] finds them, or a caller
/// that already walked the project (the discovered mini-program roots joined with
/// `miniprogram_npm`) passes them. Missing or unreadable folders are skipped.
///
/// Each dependency: origin [`DepOrigin::MiniprogramNpm`], source [`DepSource::Registry`], name
/// from `package.json` (else the folder), version from `package.json` (else recognised in the
/// main file, else empty: unknown), file = that `package.json` (line of `"version"`) or main file
/// (line of the version string; 1) or, when there is neither, the package folder (line 1).
/// `direct` is whether the `package.json` beside the `miniprogram_npm` folder lists the package
/// in `dependencies` (true when there is none to say otherwise); never `dev` (the build copies
/// only `dependencies`). Sorted by file.
pub fn miniprogram_npm(root: &Path, npm_dirs: &[String]) -> Vec<Dependency> {
    let mut out = Vec::new();
    for dir in npm_dirs {
        let dir = dir.trim_end_matches('/');
        let declared = declared_dependencies(root, dir);
        for (name, rel) in package_folders(root, dir) {
            let mut dep = package(root, &name, &rel);
            dep.direct = declared
                .as_ref()
                .is_none_or(|names| names.iter().any(|n| *n == dep.name || *n == name));
            out.push(dep);
        }
    }
    out.sort_by(|a, b| (&a.file, &a.name).cmp(&(&b.file, &b.name)));
    out
}

/// The package a file inside a `miniprogram_npm` folder belongs to.
pub(super) fn package_of(rel: &str, npm_dirs: &[String]) -> Option<String> {
    let dir = npm_dirs
        .iter()
        .filter(|d| rel.starts_with(d.as_str()) && rel[d.len()..].starts_with('/'))
        .max_by_key(|d| d.len())?;
    let mut parts = rel[dir.len() + 1..].split('/');
    let first = parts.next()?;
    if first.starts_with('@') {
        let second = parts.next()?;
        // The scoped name needs a folder below it; a file directly in `@scope/` is no package.
        parts.next()?;
        Some(format!("{first}/{second}"))
    } else {
        parts.next()?;
        Some(first.to_string())
    }
}

/// (package name from the folder, folder path relative to root), sorted.
fn package_folders(root: &Path, dir: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (name, is_dir) in list_dir(&root.join(dir)) {
        if !is_dir || name.starts_with('.') {
            continue;
        }
        if name.starts_with('@') {
            for (sub, sub_is_dir) in list_dir(&root.join(dir).join(&name)) {
                if sub_is_dir && !sub.starts_with('.') {
                    found.push((format!("{name}/{sub}"), format!("{dir}/{name}/{sub}")));
                }
            }
        } else {
            found.push((name.clone(), format!("{dir}/{name}")));
        }
    }
    found.sort();
    found
}

/// Entries of a folder (name, is a folder), UTF-8 names only; empty when unreadable.
fn list_dir(path: &Path) -> Vec<(String, bool)> {
    let Ok(entries) = std::fs::read_dir(path) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let is_dir = e.file_type().ok()?.is_dir();
            Some((name, is_dir))
        })
        .collect()
}

fn package(root: &Path, folder_name: &str, rel: &str) -> Dependency {
    let mut dep = Dependency {
        name: folder_name.to_string(),
        version: String::new(),
        source: DepSource::Registry,
        origin: DepOrigin::MiniprogramNpm,
        direct: true,
        dev: false,
        optional: false,
        file: rel.to_string(),
        line: 1,
        chain: Vec::new(),
    };
    let manifest_rel = format!("{rel}/package.json");
    let manifest = read(root, &manifest_rel).and_then(|bytes| {
        let json: Value = serde_json::from_slice(&bytes).ok()?;
        Some((bytes, json))
    });
    let mut main = None;
    if let Some((bytes, json)) = &manifest {
        if let Some(name) = json
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| valid_name(n))
        {
            dep.name = name.to_string();
        }
        dep.file.clone_from(&manifest_rel);
        if let Some(v) = json
            .get("version")
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
        {
            dep.version = v.to_string();
            dep.line = version_line(bytes);
            return dep;
        }
        main = json.get("main").and_then(Value::as_str).and_then(safe_main);
    }
    let base = dep.name.rsplit('/').next().unwrap_or(&dep.name).to_string();
    let candidates = main.into_iter().chain(main_candidates(&base));
    for candidate in candidates {
        let file_rel = format!("{rel}/{candidate}");
        let Some(content) = read(root, &file_rel) else {
            continue;
        };
        if manifest.is_none() {
            dep.file.clone_from(&file_rel);
        }
        let found = super::detect_file(&file_rel, &content)
            .into_iter()
            .filter(|d| (d.name == dep.name || d.name == folder_name) && !d.version.is_empty())
            .min_by_key(|d| d.line);
        if let Some(found) = found {
            dep.version = found.version;
            dep.file = file_rel;
            dep.line = found.line;
        }
        break;
    }
    dep
}

/// A `main` that stays inside the package folder, with `.js` added when it has no extension.
fn safe_main(main: &str) -> Option<String> {
    let main = main.trim_start_matches("./");
    let inside = !main.is_empty()
        && !main.starts_with('/')
        && !main.contains('\\')
        && main.split('/').all(|part| part != ".." && !part.is_empty());
    if !inside {
        return None;
    }
    let has_ext = Path::new(main).extension().is_some();
    Some(if has_ext {
        main.to_string()
    } else {
        format!("{main}.js")
    })
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 214
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@/._-~".contains(&b))
}

/// Line of the top-level `"version"` key: the least indented `"version":` line (1 if none).
fn version_line(bytes: &[u8]) -> u32 {
    let text = String::from_utf8_lossy(bytes);
    let mut best: Option<(usize, usize)> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let is_version = trimmed
            .strip_prefix("\"version\"")
            .is_some_and(|rest| rest.trim_start().starts_with(':'));
        if is_version && best.is_none_or(|(_, b)| indent < b) {
            best = Some((i, indent));
        }
    }
    best.map_or(1, |(i, _)| u32::try_from(i).unwrap_or(u32::MAX - 1) + 1)
}

/// Names in `dependencies` of the `package.json` beside a `miniprogram_npm` folder; `None`
/// when there is no readable one.
fn declared_dependencies(root: &Path, npm_dir: &str) -> Option<Vec<String>> {
    let parent = npm_dir.rsplit_once('/').map_or("", |(p, _)| p);
    let rel = if parent.is_empty() {
        "package.json".to_string()
    } else {
        format!("{parent}/package.json")
    };
    let json: Value = serde_json::from_slice(&read(root, &rel)?).ok()?;
    Some(
        json.get("dependencies")
            .and_then(Value::as_object)
            .map(|deps| deps.keys().cloned().collect())
            .unwrap_or_default(),
    )
}

fn read(root: &Path, rel: &str) -> Option<Vec<u8>> {
    // Inside the tree (a `package.json` linked out of it is not read), regular, bounded.
    miniguard_project::read::read_inside_bytes(root, &root.join(rel), MAX_READ).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_map_to_their_package() {
        let dirs = vec!["mp/miniprogram_npm".to_string()];
        assert_eq!(
            package_of("mp/miniprogram_npm/lodash/index.js", &dirs).as_deref(),
            Some("lodash")
        );
        assert_eq!(
            package_of("mp/miniprogram_npm/@vant/weapp/button/index.js", &dirs).as_deref(),
            Some("@vant/weapp")
        );
        assert_eq!(package_of("mp/miniprogram_npm/x.js", &dirs), None);
        assert_eq!(package_of("mp/utils/x.js", &dirs), None);
    }

    #[test]
    fn main_must_stay_inside() {
        assert_eq!(safe_main("./lib/index").as_deref(), Some("lib/index.js"));
        assert_eq!(safe_main("../../secret.js"), None);
        assert_eq!(safe_main("/etc/passwd"), None);
    }

    #[test]
    fn version_line_is_the_top_level_key() {
        let json = b"{\n  \"name\": \"a\",\n  \"engines\": {\n    \"version\": \"x\"\n  },\n  \"version\": \"1.0.0\"\n}";
        assert_eq!(version_line(json), 6);
    }
}
