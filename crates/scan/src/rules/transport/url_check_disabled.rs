use miniguard_project::JsonKind;
use miniguard_project::json::JsonNode;

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
    ///
    /// ## Why it matters
    /// With `urlCheck` off, the developer tools and preview builds stop enforcing the
    /// configured allow-list of HTTPS request domains and TLS versions: plain `http://`
    /// endpoints, IP addresses, expired or self-signed certificates all "work" during
    /// development and testing. The problem then surfaces only in production, where the
    /// platform enforces the list, or the team keeps shipping builds that are only ever tested
    /// against insecure endpoints. It usually means the project talks to something that would
    /// not pass the platform's transport requirements.
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
        severity: Medium,
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
                report_if_off(cx, file.root, &name);
            }
            JsonKind::UniManifest => {
                for platform in UNI_PLATFORMS {
                    if let Some(section) = file.root.get(platform) {
                        report_if_off(cx, section, &format!("manifest.json `{platform}`"));
                    }
                }
            }
            _ => {}
        }
    }
}

fn report_if_off(cx: &mut Cx<'_>, section: &JsonNode, place: &str) {
    let Some(value) = section.get_path(&["setting", "urlCheck"]) else {
        return;
    };
    if value.as_bool() != Some(false) {
        return;
    }
    cx.report(
        &UrlCheckDisabled::META,
        node_span(value),
        format!(
            "`setting.urlCheck` is false in {place}: the developer tools and previews no longer enforce the HTTPS request-domain allow-list and certificate checks"
        ),
    )
    .help("set `\"urlCheck\": true`, serve the APIs over HTTPS with valid certificates and register their domains in the mini-program console");
}
