use miniguard_project::JsonKind;
use miniguard_project::json::JsonNode;
use miniguard_report::msg;

use miniguard_report::Runtime;

use crate::config::{JsonFile, node_span};
use crate::events::Cx;
use crate::rules::{Rule, RuleMeta};

crate::declare_rule! {
    /// ## What it finds
    /// `"urlCheck": false` in the `setting` of a developer-tools project configuration
    /// (`project.config.json`, `project.private.config.json`, `project.swan.json`,
    /// `project.tt.json`), or in the per-platform `setting` of a uni-app `manifest.json`
    /// (`"mp-weixin": { "setting": { "urlCheck": false } }`).
    ///
    /// `"urlCheck": true` and a missing `urlCheck` (the tools check by default) are not reported.
    /// A uni-app project's `project.config.json` is generated from its `manifest.json`: when
    /// both turn the check off, the finding is the `manifest.json` one (the place to fix), with
    /// the generated file as a related location.
    ///
    /// ## Why it matters
    /// With `urlCheck` off, the developer tools and preview builds stop enforcing the
    /// configured allow-list of HTTPS request domains and TLS versions: plain `http://`
    /// endpoints, IP addresses, expired or self-signed certificates all "work" during
    /// development and testing. A released build is not affected: the platform enforces the
    /// list there whatever the project says. The setting hides, during development, what the
    /// release will refuse, and usually means the project talks to something that would not
    /// pass the platform's transport requirements.
    ///
    /// ## Severity
    /// `info`: only the developer tools read this setting (see `docs/severity.md`). Reports
    /// list it with `--min-severity info`; it is counted in the summary otherwise.
    ///
    /// ## Example
    /// ```json
    /// { "appid": "wx0123456789abcdef", "setting": { "urlCheck": false, "es6": true } }
    /// ```
    ///
    /// ## Fix
    /// Set `"urlCheck": true` (or remove the key), serve every API over HTTPS with a valid
    /// certificate, and register its domain as a legal request domain in the mini-program
    /// console.
    ///
    /// ## References
    /// - CWE-295: Improper Certificate Validation
    /// - WeChat: network request domain configuration and the "do not verify legal domains"
    ///   developer-tools setting
    pub struct UrlCheckDisabled {
        code: "T002",
        name: "url-check-disabled",
        category: Transport,
        severity: Info,
        confidence: High,
        cwe: [295],
        summary: "Developer tools domain and certificate check (urlCheck) turned off",
    }
}

/// uni-app `manifest.json` sections of mini-program platforms that take a `setting` object.
const UNI_PLATFORMS: &[&str] = &[
    "mp-weixin",
    "mp-qq",
    "mp-toutiao",
    "mp-baidu",
    "mp-lark",
    "mp-jd",
    "mp-kuaishou",
    "mp-alipay",
];

impl Rule for UrlCheckDisabled {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_json(&self, cx: &mut Cx<'_>, file: &JsonFile<'_>) {
        match file.kind {
            JsonKind::ProjectConfig => {
                let name = file.name().to_owned();
                let folder = folder_of(file.rel);
                report_if_off(cx, file.root, &name, Source::Config(folder));
            }
            JsonKind::UniManifest => {
                // The uni-app project: the manifest's folder, or above its `src/`. The project
                // configs generated from the manifest are below it.
                let dir = folder_of(file.rel);
                let project = match dir.rsplit_once('/') {
                    Some((parent, "src")) => parent,
                    None if dir == "src" => "",
                    _ => dir,
                };
                for platform in UNI_PLATFORMS {
                    if let Some(section) = file.root.get(platform) {
                        report_if_off(
                            cx,
                            section,
                            &format!("manifest.json `{platform}`"),
                            Source::Manifest(project),
                        );
                    }
                }
            }
            _ => {}
        }
    }
}

/// The folder of a relative path ("" at the root).
fn folder_of(rel: &str) -> &str {
    rel.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// Where a setting is written.
#[derive(Clone, Copy)]
enum Source<'a> {
    /// A developer-tools project config in this folder.
    Config(&'a str),
    /// A uni-app manifest: the source of the configs generated below this project folder.
    Manifest(&'a str),
}

/// Report `setting.urlCheck: false` in `section`.
fn report_if_off(cx: &mut Cx<'_>, section: &JsonNode, place: &str, source: Source<'_>) {
    let Some(value) = section.get_path(&["setting", "urlCheck"]) else {
        return;
    };
    if value.as_bool() != Some(false) {
        return;
    }
    let r = cx
        .report(
            &UrlCheckDisabled::META,
            node_span(value),
            msg!("T002.off", file = place),
        )
        .runtime(Runtime::DevTools)
        // The configs of one folder, and the generated configs and the manifest they come
        // from, are one setting.
        .group("urlCheck");
    let r = match source {
        Source::Config(folder) => r.scope(folder),
        Source::Manifest(project) => r.primary().scope(project),
    };
    r.help(msg!("T002.help"));
}
