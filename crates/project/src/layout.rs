//! Project structure: which folders are mini-program roots, cloud functions and backends, which
//! platform the project targets, and what `app.json` declares. See the `discover` module docs for
//! the rules; this module implements them over the list of walked files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::discover::{AppConfig, DiscoverWarning, SubPackage};
use crate::json::{self, JsonNode};
use crate::sniff;
use crate::{Platform, Role};

/// A regular file found by the walk.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub path: PathBuf,
    /// Relative to the scan root, `/`-separated.
    pub rel: String,
    pub size: u64,
}

/// What code under a root is. The order is the tie-break when two roots are equally deep.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum RootKind {
    CloudFunction,
    Client,
    Server,
}

/// The detected structure of a project.
#[derive(Debug, Default)]
pub(crate) struct Layout {
    /// Every root that decides roles, with its kind.
    roots: Vec<(String, RootKind)>,
    pub platform: Option<Platform>,
    pub apps: Vec<AppConfig>,
    pub miniprogram_roots: Vec<String>,
    pub cloudfunction_roots: Vec<String>,
    /// Folders holding a uni-app `manifest.json` + `pages.json`.
    pub uni_roots: BTreeSet<String>,
    /// Folders of cloud functions with an entry script (for `config.json` classification).
    pub function_dirs: BTreeSet<String>,
    /// The project (or one of its mini-programs) is a QQ mini-program, so `.qml` is a template.
    pub qq: bool,
}

/// The folder part of a relative path (`""` for files at the root).
pub(crate) fn parent_dir(rel: &str) -> &str {
    rel.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// The last component of a relative path.
pub(crate) fn file_name(rel: &str) -> &str {
    rel.rsplit_once('/').map_or(rel, |(_, name)| name)
}

/// Whether `rel` lies inside the folder `dir` (`""` is the scan root and contains everything).
pub(crate) fn is_under(rel: &str, dir: &str) -> bool {
    dir.is_empty()
        || (rel.len() > dir.len()
            && rel.starts_with(dir)
            && rel.as_bytes().get(dir.len()) == Some(&b'/'))
}

fn depth(dir: &str) -> usize {
    if dir.is_empty() {
        0
    } else {
        dir.matches('/').count() + 1
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// Joins a path from a config (`"miniprogram/"`, `"./src"`, `"../x"`) to the folder of the
/// config, lexically. `None` when it climbs out of the scan root.
pub(crate) fn join_config_path(base: &str, value: &str) -> Option<String> {
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for part in value.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

/// Template extensions and the platform each one means.
const TEMPLATE_PLATFORMS: &[(&str, Platform)] = &[
    ("wxml", Platform::WeChat),
    ("axml", Platform::Alipay),
    ("ttml", Platform::Douyin),
    ("swan", Platform::Baidu),
    ("qml", Platform::Qq),
];

/// The platform whose template files are most common under `dir` (ties: table order).
fn template_platform(entries: &[Entry], dir: &str) -> Option<Platform> {
    let mut counts = [0usize; TEMPLATE_PLATFORMS.len()];
    for entry in entries.iter().filter(|e| is_under(&e.rel, dir)) {
        let ext = file_name(&entry.rel)
            .rsplit_once('.')
            .map(|(_, ext)| ext.to_ascii_lowercase());
        if let Some(i) = TEMPLATE_PLATFORMS
            .iter()
            .position(|(e, _)| Some(*e) == ext.as_deref())
        {
            counts[i] += 1;
        }
    }
    let mut best: Option<(usize, Platform)> = None;
    for (count, (_, platform)) in counts.iter().zip(TEMPLATE_PLATFORMS) {
        if *count > 0 && best.is_none_or(|(c, _)| *count > c) {
            best = Some((*count, *platform));
        }
    }
    best.map(|(_, p)| p)
}

/// Reads and parses a JSON file, turning every problem into a warning.
pub(crate) fn load_json(
    entry: &Entry,
    max_size: u64,
    warnings: &mut Vec<DiscoverWarning>,
) -> Option<JsonNode> {
    if entry.size > max_size {
        return None; // reported as skipped (too large) by the caller
    }
    if entry.size > crate::read::JSON_LIMIT {
        warnings.push(DiscoverWarning::new(
            &entry.rel,
            format!(
                "JSON larger than {} bytes; not parsed",
                crate::read::JSON_LIMIT
            ),
        ));
        return None;
    }
    let bytes = match crate::read::read_bytes(&entry.path, max_size.min(crate::read::JSON_LIMIT)) {
        Ok(bytes) => bytes,
        Err(err) => {
            warnings.push(DiscoverWarning::new(
                &entry.rel,
                format!("cannot read: {err}"),
            ));
            return None;
        }
    };
    let Ok(text) = String::from_utf8(bytes) else {
        warnings.push(DiscoverWarning::new(
            &entry.rel,
            "not valid UTF-8, not parsed",
        ));
        return None;
    };
    match json::parse(&text) {
        Ok(node) => Some(node),
        Err(err) => {
            warnings.push(DiscoverWarning {
                rel: entry.rel.clone(),
                line: Some(err.line),
                column: Some(err.column),
                message: format!("malformed JSON: {}", err.message),
            });
            None
        }
    }
}

const PROJECT_CONFIGS: &[(&str, Option<Platform>)] = &[
    // `project.config.json` is shared by WeChat, QQ and Douyin: templates decide.
    ("project.config.json", None),
    ("project.private.config.json", None),
    ("mini.project.json", Some(Platform::Alipay)),
    ("project.swan.json", Some(Platform::Baidu)),
    ("project.tt.json", Some(Platform::Douyin)),
];

/// The platform-specific project config file names.
pub(crate) fn is_project_config(name: &str) -> bool {
    PROJECT_CONFIGS.iter().any(|(n, _)| *n == name)
}

/// Collects `usingComponents` values of an `app.json`/page json/`pages.json` style object.
fn using_components(node: &JsonNode, out: &mut BTreeSet<String>) {
    for member in node
        .get("usingComponents")
        .map_or(&[][..], JsonNode::entries)
    {
        if let Some(path) = member.value.as_str() {
            out.insert(path.to_owned());
        }
    }
}

/// A page entry: a string in `app.json`, `{ "path": ... }` in uni-app's `pages.json`.
fn page_path(node: &JsonNode) -> Option<&str> {
    node.as_str()
        .or_else(|| node.get("path").and_then(JsonNode::as_str))
}

/// Fills an [`AppConfig`] from a parsed `app.json` or uni-app `pages.json`.
pub(crate) fn fill_app_config(
    app: &mut AppConfig,
    node: &JsonNode,
    warnings: &mut Vec<DiscoverWarning>,
) {
    if let Some(pages) = node.get("pages") {
        match pages.as_array() {
            Some(items) => {
                app.pages = items
                    .iter()
                    .filter_map(page_path)
                    .map(str::to_owned)
                    .collect();
            }
            None => warnings.push(DiscoverWarning {
                rel: app.config_rel.clone(),
                line: Some(pages.start.line),
                column: Some(pages.start.column),
                message: "\"pages\" is not an array".to_owned(),
            }),
        }
    }
    let mut components = BTreeSet::new();
    using_components(node, &mut components);
    if let Some(global) = node.get("globalStyle") {
        using_components(global, &mut components);
    }
    let page_styles = |pages: Option<&JsonNode>, components: &mut BTreeSet<String>| {
        for page in pages.and_then(JsonNode::as_array).unwrap_or_default() {
            if let Some(style) = page.get("style") {
                using_components(style, components);
            }
        }
    };
    page_styles(node.get("pages"), &mut components);
    for key in ["subpackages", "subPackages"] {
        for sub in node
            .get(key)
            .and_then(JsonNode::as_array)
            .unwrap_or_default()
        {
            let Some(root) = sub.get("root").and_then(JsonNode::as_str) else {
                continue;
            };
            page_styles(sub.get("pages"), &mut components);
            app.subpackages.push(SubPackage {
                root: root.to_owned(),
                name: sub
                    .get("name")
                    .and_then(JsonNode::as_str)
                    .map(str::to_owned),
                pages: sub
                    .get("pages")
                    .and_then(JsonNode::as_array)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(page_path)
                    .map(str::to_owned)
                    .collect(),
                independent: sub
                    .get("independent")
                    .and_then(JsonNode::as_bool)
                    .unwrap_or(false),
            });
        }
    }
    app.components = components.into_iter().collect();
}

impl Layout {
    /// Detects the structure from the walked files (sorted by `rel`).
    pub(crate) fn build(
        entries: &[Entry],
        max_size: u64,
        warnings: &mut Vec<DiscoverWarning>,
    ) -> Layout {
        let by_rel: BTreeMap<&str, &Entry> = entries.iter().map(|e| (e.rel.as_str(), e)).collect();
        let exists = |rel: &str| by_rel.contains_key(rel);
        let mut layout = Layout::default();
        let mut roots: BTreeSet<(String, RootKind)> = BTreeSet::new();
        // Platform votes in `rel` order of the file that cast them.
        let mut votes: Vec<(String, Platform)> = Vec::new();
        let mut client_roots: BTreeSet<String> = BTreeSet::new();
        let mut cloud_roots: BTreeSet<String> = BTreeSet::new();

        // 1. Project configs of the developer tools, grouped by folder; the private config
        //    overrides the shared one key by key.
        let mut config_dirs: BTreeMap<&str, Vec<(&Entry, Option<Platform>)>> = BTreeMap::new();
        for entry in entries {
            let name = file_name(&entry.rel);
            if let Some((_, platform)) = PROJECT_CONFIGS.iter().find(|(n, _)| *n == name) {
                config_dirs
                    .entry(parent_dir(&entry.rel))
                    .or_default()
                    .push((entry, *platform));
            }
        }
        // Folders whose mini-program root was declared by a config, with the config's platform.
        let mut declared_apps: BTreeMap<String, Option<Platform>> = BTreeMap::new();
        for (dir, configs) in &config_dirs {
            let mut settings: BTreeMap<&str, (String, String)> = BTreeMap::new();
            let mut platform = None;
            // The private config is read last so that its values win.
            let mut ordered: Vec<&(&Entry, Option<Platform>)> = configs.iter().collect();
            ordered.sort_by_key(|(e, _)| file_name(&e.rel) == "project.private.config.json");
            for (entry, config_platform) in ordered {
                platform = platform.or(*config_platform);
                let Some(node) = load_json(entry, max_size, warnings) else {
                    continue;
                };
                for key in [
                    "miniprogramRoot",
                    "pluginRoot",
                    "cloudfunctionRoot",
                    "qcloudRoot",
                ] {
                    if let Some(value) = node.get(key).and_then(JsonNode::as_str) {
                        settings.insert(key, (value.to_owned(), entry.rel.clone()));
                    }
                }
            }
            let resolve = |key: &str, warnings: &mut Vec<DiscoverWarning>| {
                let (value, from) = settings.get(key)?;
                let joined = join_config_path(dir, value);
                if joined.is_none() {
                    warnings.push(DiscoverWarning::new(
                        from,
                        format!("{key} {value:?} points outside the scanned folder; ignored"),
                    ));
                }
                joined
            };
            let mini = resolve("miniprogramRoot", warnings).unwrap_or_else(|| (*dir).to_owned());
            let platform = platform
                .or_else(|| template_platform(entries, &mini))
                .unwrap_or(Platform::WeChat);
            let first_rel = configs
                .first()
                .map(|(e, _)| e.rel.clone())
                .unwrap_or_default();
            votes.push((first_rel, platform));
            declared_apps.insert(mini.clone(), Some(platform));
            client_roots.insert(mini);
            if let Some(plugin) = resolve("pluginRoot", warnings) {
                client_roots.insert(plugin);
            }
            if let Some(cloud) = resolve("cloudfunctionRoot", warnings) {
                cloud_roots.insert(cloud);
            }
            if let Some(server) = resolve("qcloudRoot", warnings) {
                roots.insert((server, RootKind::Server));
            }
        }

        // 2. `app.json` with a `pages` array (or malformed but beside `app.js`/`app.ts`, or at
        //    a declared root) marks a mini-program root.
        for entry in entries.iter().filter(|e| file_name(&e.rel) == "app.json") {
            let dir = parent_dir(&entry.rel);
            let declared = declared_apps.get(dir).copied();
            let node = load_json(entry, max_size, warnings);
            let has_pages = node
                .as_ref()
                .is_some_and(|n| n.get("pages").is_some_and(|p| p.as_array().is_some()));
            let beside_app_script = exists(&join(dir, "app.js")) || exists(&join(dir, "app.ts"));
            if !(has_pages || declared.is_some() || (node.is_none() && beside_app_script)) {
                if let Some(pages) = node.as_ref().and_then(|n| n.get("pages")) {
                    // `"pages": 42`: the author meant a mini-program root; say why it is not one.
                    warnings.push(DiscoverWarning {
                        rel: entry.rel.clone(),
                        line: Some(pages.start.line),
                        column: Some(pages.start.column),
                        message: "\"pages\" is not an array; this folder is not treated as a \
                                  mini-program root"
                            .to_owned(),
                    });
                }
                continue;
            }
            let platform = declared
                .flatten()
                .or_else(|| template_platform(entries, dir))
                .unwrap_or(Platform::Unknown);
            if declared.is_none() {
                votes.push((entry.rel.clone(), platform));
            }
            client_roots.insert(dir.to_owned());
            let mut app = AppConfig::new(dir, &entry.rel, platform);
            if let Some(node) = &node {
                fill_app_config(&mut app, node, warnings);
            }
            layout.apps.push(app);
        }

        // 3. uni-app: `pages.json` beside `manifest.json`.
        let mut uni = false;
        for entry in entries.iter().filter(|e| file_name(&e.rel) == "pages.json") {
            let dir = parent_dir(&entry.rel);
            if !exists(&join(dir, "manifest.json")) {
                continue;
            }
            uni = true;
            layout.uni_roots.insert(dir.to_owned());
            client_roots.insert(dir.to_owned());
            let mut app = AppConfig::new(dir, &entry.rel, Platform::UniApp);
            if let Some(node) = load_json(entry, max_size, warnings) {
                fill_app_config(&mut app, &node, warnings);
            }
            layout.apps.push(app);
        }

        // 4. package.json: Taro projects, cloud functions, Node backends.
        let mut taro = false;
        for entry in entries
            .iter()
            .filter(|e| file_name(&e.rel) == "package.json")
        {
            let dir = parent_dir(&entry.rel);
            let Some(node) = load_json(entry, max_size, warnings) else {
                continue;
            };
            let deps = sniff::dependency_names(&node);
            let src = join(dir, "src");
            let has = |dep: &&str| deps.contains(*dep);
            if deps.iter().any(|d| d.starts_with("@tarojs/"))
                && [
                    "config/index.js",
                    "config/index.ts",
                    "src/app.config.js",
                    "src/app.config.ts",
                ]
                .iter()
                .any(|f| exists(&join(dir, f)))
            {
                taro = true;
                client_roots.insert(src);
            }
            if sniff::CLOUD_SDKS.iter().any(has) {
                cloud_roots.insert(dir.to_owned());
                layout.function_dirs.insert(dir.to_owned());
            }
            if sniff::SERVER_FRAMEWORKS.iter().any(has) {
                roots.insert((dir.to_owned(), RootKind::Server));
            }
        }

        // 5. Cloud functions without a config: uniCloud, and `index.js` beside a `config.json`
        //    with `permissions` below a folder named like `cloudfunctions`.
        for entry in entries {
            let parts: Vec<&str> = entry.rel.split('/').collect();
            let dirs = &parts[..parts.len().saturating_sub(1)];
            if let Some(i) = dirs
                .windows(2)
                .position(|w| w[0].starts_with("uniCloud") && w[1] == "cloudfunctions")
            {
                cloud_roots.insert(dirs[..i + 2].join("/"));
            }
            let name = parts.last().copied().unwrap_or_default();
            if name == "config.json" && dirs.iter().any(|d| sniff::is_cloudfunctions_dir_name(d)) {
                let dir = parent_dir(&entry.rel);
                let has_entry = ["index.js", "index.ts"]
                    .iter()
                    .any(|f| exists(&join(dir, f)));
                if has_entry
                    && load_json(entry, max_size, warnings)
                        .is_some_and(|n| n.get("permissions").is_some())
                {
                    cloud_roots.insert(dir.to_owned());
                }
            }
        }
        for dir in &cloud_roots {
            // Every folder with an entry script inside a cloud root is one function.
            for entry in entries.iter().filter(|e| is_under(&e.rel, dir)) {
                let name = file_name(&entry.rel);
                if name == "index.js" || name == "index.ts" {
                    layout
                        .function_dirs
                        .insert(parent_dir(&entry.rel).to_owned());
                }
            }
        }

        // Platform: Taro and uni-app win (they also ship a project.config.json for their
        // compiled output); otherwise the most voted platform, ties to the first in path order.
        votes.sort();
        layout.qq = votes.iter().any(|(_, p)| *p == Platform::Qq);
        layout.platform = if taro {
            Some(Platform::Taro)
        } else if uni {
            Some(Platform::UniApp)
        } else {
            let mut tally: Vec<(Platform, usize)> = Vec::new();
            for (_, platform) in votes.iter().filter(|(_, p)| *p != Platform::Unknown) {
                match tally.iter_mut().find(|(p, _)| p == platform) {
                    Some((_, n)) => *n += 1,
                    None => tally.push((*platform, 1)),
                }
            }
            let max = tally.iter().map(|(_, n)| *n).max();
            tally.iter().find(|(_, n)| Some(*n) == max).map(|(p, _)| *p)
        };

        roots.extend(client_roots.iter().map(|d| (d.clone(), RootKind::Client)));
        roots.extend(
            cloud_roots
                .iter()
                .map(|d| (d.clone(), RootKind::CloudFunction)),
        );
        layout.roots = roots.into_iter().collect();
        layout.miniprogram_roots = client_roots.into_iter().collect();
        // Only the outermost cloud roots are reported; nested function folders are implied.
        let cloud: Vec<String> = cloud_roots.into_iter().collect();
        layout.cloudfunction_roots = cloud
            .iter()
            .filter(|d| !cloud.iter().any(|outer| outer != *d && is_under(d, outer)))
            .cloned()
            .collect();
        layout.apps.sort_by(|a, b| a.config_rel.cmp(&b.config_rel));
        layout
    }

    /// The role of a file: the deepest root containing it decides (ties: cloud function, then
    /// client, then server); outside every root a `server`/`backend`/`api`/`serverless` folder
    /// in the path means server; otherwise unknown.
    pub(crate) fn role(&self, rel: &str) -> Role {
        let best = self
            .roots
            .iter()
            .filter(|(dir, _)| is_under(rel, dir))
            .max_by(|(a, ka), (b, kb)| depth(a).cmp(&depth(b)).then(kb.cmp(ka)));
        match best {
            Some((_, RootKind::CloudFunction)) => Role::CloudFunction,
            Some((_, RootKind::Client)) => Role::Client,
            Some((_, RootKind::Server)) => Role::Server,
            None => {
                let dirs = parent_dir(rel);
                if !dirs.is_empty()
                    && dirs.split('/').any(|d| {
                        sniff::SERVER_DIR_NAMES
                            .iter()
                            .any(|n| d.eq_ignore_ascii_case(n))
                    })
                {
                    Role::Server
                } else {
                    Role::Unknown
                }
            }
        }
    }

    /// Whether `rel` is inside a mini-program (client) root.
    pub(crate) fn in_client_root(&self, rel: &str) -> bool {
        self.miniprogram_roots.iter().any(|d| is_under(rel, d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_paths() {
        assert_eq!(
            join_config_path("", "miniprogram/").as_deref(),
            Some("miniprogram")
        );
        assert_eq!(join_config_path("a", "./b/../c").as_deref(), Some("a/c"));
        assert_eq!(join_config_path("a", "").as_deref(), Some("a"));
        assert_eq!(join_config_path("", "../x"), None);
        assert_eq!(join_config_path("a", "..").as_deref(), Some(""));
    }

    #[test]
    fn under() {
        assert!(is_under("a/b.js", "a"));
        assert!(is_under("a/b.js", ""));
        assert!(!is_under("ab/c.js", "a"));
        assert!(!is_under("a", "a"));
    }
}
