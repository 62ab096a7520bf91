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
//! [[scan.taint.sink]]           # rows added to the taint specification (docs/taint-spec.md)
//! kind = "sql-statement"        # e.g. the project's own database wrapper
//! methods = ["rawQuery"]
//!
//! [rules.S002]                  # a rule by code or name, D001 and D002 too
//! severity = "low"              # change a rule's severity
//!
//! [[deps.ignore]]               # an advisory judged not to apply (miniguard_engine::ignores)
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
use miniguard_engine::Overrides;
use miniguard_project::read;
use miniguard_report::msg;

use crate::say;
use miniguard_report::Severity;
use serde::Deserialize;

use crate::args::SeverityArg;

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
    /// Rows added to the taint specification, in the format of `crates/scan/spec/taint.toml`
    /// (see `docs/taint-spec.md`).
    pub taint: Option<toml::Table>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepsSettings {
    #[serde(default)]
    pub ignore: Vec<miniguard_engine::IgnoredAdvisory>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSettings {
    pub severity: Option<String>,
}

impl Settings {
    /// Reads a config named on the command line (anywhere), as a bounded regular-file read.
    pub fn load(path: &Path) -> Result<Settings> {
        let text = read::read_string(path, read::CONFIG_LIMIT).with_context(|| {
            say(msg!(
                "cli.config.cannot-read",
                path = path.display().to_string()
            ))
        })?;
        Self::parse(path, &text)
    }

    /// Reads the `miniguard.toml` of a scanned folder: it must resolve inside `root` (a link to
    /// a file of the machine running the scan is refused before it is read, so no error message
    /// can show its content). `None` when there is none.
    pub fn load_in_tree(root: &Path, path: &Path) -> Result<Option<Settings>> {
        if std::fs::symlink_metadata(path).is_err() {
            return Ok(None);
        }
        let text = read::read_inside(root, path, read::CONFIG_LIMIT).with_context(|| {
            say(msg!(
                "cli.config.cannot-read",
                path = path.display().to_string()
            ))
        })?;
        Self::parse(path, &text).map(Some)
    }

    fn parse(path: &Path, text: &str) -> Result<Settings> {
        let settings: Settings = toml::from_str(text).with_context(|| {
            say(msg!(
                "cli.config.invalid",
                path = path.display().to_string()
            ))
        })?;
        miniguard_engine::ignores::validate(&settings.deps.ignore).with_context(|| {
            say(msg!(
                "cli.config.invalid",
                path = path.display().to_string()
            ))
        })?;
        for code in settings.rules.keys() {
            if miniguard_engine::rules::find(code).is_none() {
                bail!(say(msg!(
                    "cli.config.unknown-rule",
                    path = path.display().to_string(),
                    code = code
                )));
            }
        }
        Ok(settings)
    }

    /// The severities `[rules.*]` sets, checked: a severity that is not one is an error even
    /// when the rule finds nothing.
    pub fn overrides(&self) -> Result<Overrides> {
        let mut entries = Vec::new();
        for (id, rule) in &self.rules {
            let Some(text) = rule.severity.as_deref() else {
                continue;
            };
            let code = miniguard_engine::rules::find(id).map_or(id.as_str(), |r| r.code);
            let severity = text
                .parse::<Severity>()
                .with_context(|| say(msg!("cli.config.rule-severity", code = code)))?;
            entries.push((id.as_str(), severity));
        }
        Ok(Overrides::new(entries)?)
    }
}

/// The `--fail-on` severity: the flag, else the config's `fail-on`, else high. `None` = never.
pub fn fail_on(flag: Option<SeverityArg>, config: Option<&str>) -> Result<Option<Severity>> {
    let arg = match flag {
        Some(a) => a,
        None => match config {
            Some("never") => SeverityArg::Never,
            Some(s) => {
                return Ok(Some(
                    s.parse::<Severity>()
                        .with_context(|| say(msg!("cli.config.fail-on")))?,
                ));
            }
            None => SeverityArg::High,
        },
    };
    Ok(match arg {
        SeverityArg::Info => Some(Severity::Info),
        SeverityArg::Low => Some(Severity::Low),
        SeverityArg::Medium => Some(Severity::Medium),
        SeverityArg::High => Some(Severity::High),
        SeverityArg::Critical => Some(Severity::Critical),
        SeverityArg::Never => None,
    })
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
    // The message says what is expected; the integer parser's words would add nothing.
    let n: u64 = num
        .trim()
        .parse()
        .ok()
        .with_context(|| say(msg!("cli.config.size", size = s)))?;
    n.checked_mul(mult)
        .with_context(|| say(msg!("cli.config.size-too-large", size = s)))
}
