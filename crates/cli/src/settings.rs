//! `miniguard.toml`: what a team sets once instead of repeating flags.
//!
//! ```toml
//! [scan]
//! fail-on = "medium"            # info, low, medium, high, critical, never
//! select = ["injection", "T001"]
//! ignore = ["S002"]
//! exclude = ["test/", "mock/"]
//! max-file-size = "4M"
//! baseline = ".miniguard-baseline.json"
//!
//! [rules.S002]
//! severity = "low"              # change a rule's severity
//!
//! [[deps.ignore]]               # an advisory judged not to apply (see ignores.rs)
//! id = "GHSA-jf85-cpcp-j695"
//! reason = "only used at build time, never with user input"
//! until = 2027-03-31
//! ```
//! Flags given on the command line win over the file. `[server]` and `[collections.*]` are
//! `serve`'s and are accepted here. The `miniguard.toml` found in a scanned folder is read only
//! if it resolves inside that folder, and `baseline` must too.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use miniguard_project::read;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default)]
    pub scan: ScanSettings,
    #[serde(default)]
    pub rules: BTreeMap<String, RuleSettings>,
    #[serde(default)]
    pub deps: DepsSettings,
    /// `[server]` and `[collections.*]` belong to `serve`, which reads the same file; `scan`
    /// accepts them and leaves their checking to `serve`.
    #[serde(default, rename = "server")]
    _server: Option<toml::Table>,
    #[serde(default, rename = "collections")]
    _collections: Option<toml::Table>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ScanSettings {
    pub fail_on: Option<String>,
    #[serde(default)]
    pub select: Vec<String>,
    #[serde(default)]
    pub ignore: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    pub max_file_size: Option<String>,
    pub baseline: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepsSettings {
    #[serde(default)]
    pub ignore: Vec<crate::ignores::IgnoredAdvisory>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSettings {
    pub severity: Option<String>,
}

impl Settings {
    /// Reads a config named on the command line (anywhere), as a bounded regular-file read.
    pub fn load(path: &Path) -> Result<Settings> {
        let text = read::read_string(path, read::CONFIG_LIMIT)
            .with_context(|| format!("cannot read config {}", path.display()))?;
        Self::parse(path, &text)
    }

    /// Reads the `miniguard.toml` of a scanned folder: it must resolve inside `root` (a link to
    /// a file of the machine running the scan is refused before it is read, so no error message
    /// can show its content). `None` when there is none.
    pub fn load_in_tree(root: &Path, path: &Path) -> Result<Option<Settings>> {
        if std::fs::symlink_metadata(path).is_err() {
            return Ok(None);
        }
        let text = read::read_inside(root, path, read::CONFIG_LIMIT)
            .with_context(|| format!("cannot read config {}", path.display()))?;
        Self::parse(path, &text).map(Some)
    }

    fn parse(path: &Path, text: &str) -> Result<Settings> {
        let settings: Settings =
            toml::from_str(text).with_context(|| format!("invalid config {}", path.display()))?;
        crate::ignores::validate(&settings.deps.ignore)
            .with_context(|| format!("invalid config {}", path.display()))?;
        for code in settings.rules.keys() {
            if miniguard_scan::rules::find(code).is_none() {
                bail!(
                    "invalid config {}: unknown rule `{code}` in [rules]",
                    path.display()
                );
            }
        }
        Ok(settings)
    }
}

/// Parse `2M`, `512K`, `1048576`.
pub fn parse_size(s: &str) -> Result<u64> {
    let t = s.trim();
    let (num, mult) = match t.chars().last() {
        Some('k' | 'K') => (&t[..t.len() - 1], 1024),
        Some('m' | 'M') => (&t[..t.len() - 1], 1024 * 1024),
        Some('g' | 'G') => (&t[..t.len() - 1], 1024 * 1024 * 1024),
        _ => (t, 1),
    };
    let n: u64 = num
        .trim()
        .parse()
        .with_context(|| format!("invalid size `{s}` (expected e.g. 512K, 2M, 1048576)"))?;
    n.checked_mul(mult)
        .with_context(|| format!("size `{s}` is too large"))
}
