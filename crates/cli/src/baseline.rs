//! Baseline files: the fingerprints of findings a team has accepted, so that CI reports only
//! new ones. Fingerprints hash the rule, the file and the flagged line's text, so findings stay
//! matched when lines move.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result, bail};
use miniguard_report::Finding;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
pub struct Baseline {
    pub version: u32,
    pub findings: Vec<Entry>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    pub rule: String,
    pub path: String,
    pub fingerprint: String,
}

pub fn write(path: &Path, findings: &[Finding]) -> Result<()> {
    let mut entries: Vec<Entry> = findings
        .iter()
        .map(|f| Entry {
            rule: f.rule.clone(),
            path: f.location.path.clone(),
            fingerprint: f.fingerprint.clone(),
        })
        .collect();
    entries.sort();
    let b = Baseline {
        version: 1,
        findings: entries,
    };
    let text = serde_json::to_string_pretty(&b)?;
    std::fs::write(path, text + "\n")
        .with_context(|| format!("cannot write baseline {}", path.display()))
}

pub fn read(path: &Path) -> Result<BTreeSet<String>> {
    // A regular file of bounded size only: a FIFO or `/dev/zero` given as `--baseline` must not
    // block or exhaust memory.
    let text = miniguard_project::read::read_string(path, miniguard_project::read::BASELINE_LIMIT)
        .with_context(|| format!("cannot read baseline {}", path.display()))?;
    let b: Baseline = serde_json::from_str(&text)
        .with_context(|| format!("invalid baseline {}", path.display()))?;
    if b.version != 1 {
        bail!(
            "baseline {} has version {}, this miniguard reads version 1",
            path.display(),
            b.version
        );
    }
    Ok(b.findings.into_iter().map(|e| e.fingerprint).collect())
}
