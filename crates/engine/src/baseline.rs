//! Baseline files: the fingerprints of findings a team has accepted, so that CI reports only
//! new ones. Fingerprints hash the rule, the file and the flagged line's text, so findings stay
//! matched when lines move.

use std::collections::BTreeSet;
use std::path::Path;

use miniguard_report::Finding;
use serde::{Deserialize, Serialize};

use crate::Error;

/// The file as written: version 1, one entry per accepted finding, sorted.
#[derive(Debug, Serialize, Deserialize)]
pub struct BaselineFile {
    pub version: u32,
    pub findings: Vec<Entry>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    pub rule: String,
    pub path: String,
    pub fingerprint: String,
}

/// The accepted findings, by fingerprint.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Baseline {
    fingerprints: BTreeSet<String>,
}

impl Baseline {
    /// The baseline that accepts these findings (fingerprinted already, as
    /// [`miniguard_report::assign_fingerprints`] does).
    pub fn of(findings: &[Finding]) -> Baseline {
        Baseline {
            fingerprints: findings.iter().map(|f| f.fingerprint.clone()).collect(),
        }
    }

    /// Reads a baseline file: a regular file of bounded size only, so a FIFO or `/dev/zero`
    /// given as a baseline cannot block or exhaust memory.
    pub fn read(path: &Path) -> Result<Baseline, Error> {
        let text =
            miniguard_project::read::read_string(path, miniguard_project::read::BASELINE_LIMIT)
                .map_err(|source| Error::BaselineRead {
                    path: path.to_path_buf(),
                    source,
                })?;
        let b: BaselineFile =
            serde_json::from_str(&text).map_err(|source| Error::BaselineParse {
                path: path.to_path_buf(),
                source,
            })?;
        if b.version != 1 {
            return Err(Error::BaselineVersion {
                path: path.to_path_buf(),
                version: b.version,
            });
        }
        Ok(Baseline {
            fingerprints: b.findings.into_iter().map(|e| e.fingerprint).collect(),
        })
    }

    /// Whether a finding with this fingerprint is accepted.
    pub fn contains(&self, fingerprint: &str) -> bool {
        self.fingerprints.contains(fingerprint)
    }

    /// How many findings the baseline accepts.
    pub fn len(&self) -> usize {
        self.fingerprints.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fingerprints.is_empty()
    }
}

/// The baseline file text accepting these findings (pretty JSON, entries sorted, a final
/// newline).
pub fn to_text(findings: &[Finding]) -> String {
    let mut entries: Vec<Entry> = findings
        .iter()
        .map(|f| Entry {
            rule: f.rule.clone(),
            path: f.location.path.clone(),
            fingerprint: f.fingerprint.clone(),
        })
        .collect();
    entries.sort();
    let b = BaselineFile {
        version: 1,
        findings: entries,
    };
    // Strings and numbers only: serializing cannot fail.
    serde_json::to_string_pretty(&b).unwrap_or_default() + "\n"
}

/// Writes the baseline file accepting these findings.
pub fn write(path: &Path, findings: &[Finding]) -> Result<(), Error> {
    std::fs::write(path, to_text(findings)).map_err(|source| Error::BaselineWrite {
        path: path.to_path_buf(),
        source,
    })
}
