//! OSV records (<https://ossf.github.io/osv-schema/>) and whether one affects a version.
//!
//! OSV is the one advisory format every source we use can be turned into (GitHub's database
//! publishes it directly; the xtask converts the retire.js and Node security-wg data), so the
//! matcher only has to be right once. [`Record::affects`] is the schema's evaluation algorithm
//! for `SEMVER`/`ECOSYSTEM` ranges of the npm ecosystem: events sorted by version, `introduced`
//! opens an affected interval (`"0"` = from the start), `fixed` closes it exclusively,
//! `last_affected` inclusively, `limit` caps the whole range; an explicit `versions` list adds
//! single versions. Comparisons are semver 2.0 precedence ([`crate::semver::Version`]) without
//! npm's prerelease rule: OSV intervals include prereleases, which is the safe side for an audit.
//!
//! Open-ended parts of the schema (`database_specific`, `ecosystem_specific`) stay as JSON
//! values so records from any source parse and survive a round trip unchanged.

use miniguard_report::Severity;
use serde::{Deserialize, Serialize};

use crate::semver::Version;

/// The OSV ecosystem name this crate matches.
pub const NPM: &str = "npm";

/// One OSV vulnerability record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<String>,
    pub id: String,
    /// RFC 3339 time of the last change; required by the schema, tolerated when missing.
    #[serde(default)]
    pub modified: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// Set when the advisory was retracted: a withdrawn record affects nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<SeverityScore>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub affected: Vec<Affected>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<Reference>,
    /// GHSA puts `severity` (LOW/MODERATE/HIGH/CRITICAL) and `cwe_ids` here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<serde_json::Value>,
}

/// `severity[]`: a scoring system and its vector or score.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityScore {
    /// `CVSS_V2`, `CVSS_V3`, `CVSS_V4`, `Ubuntu`, ...
    #[serde(rename = "type")]
    pub kind: String,
    pub score: String,
}

/// `affected[]`: one package and which of its versions are affected.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<Package>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<SeverityScore>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<AffectedRange>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecosystem_specific: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub ecosystem: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

/// The kind of version an [`AffectedRange`]'s events name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RangeType {
    Semver,
    Ecosystem,
    Git,
    /// A type added to the schema after this code was written: never matched.
    #[serde(other)]
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AffectedRange {
    #[serde(rename = "type")]
    pub kind: RangeType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    #[serde(default)]
    pub events: Vec<Event>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<serde_json::Value>,
}

/// One event of a range: exactly one of the four keys in the JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    Introduced(String),
    Fixed(String),
    LastAffected(String),
    Limit(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
}

/// A parsed event version: `"0"` (before everything) or a version.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Bound {
    Zero,
    At(Version),
}

fn bound(s: &str) -> Option<Bound> {
    if s == "0" {
        Some(Bound::Zero)
    } else {
        Version::parse(s).ok().map(Bound::At)
    }
}

impl AffectedRange {
    /// The OSV evaluation of one `SEMVER`/`ECOSYSTEM` range for `v`. Events whose version does
    /// not parse are skipped: losing a `fixed` errs towards reporting, never towards silence.
    pub fn includes(&self, v: &Version) -> bool {
        if !matches!(self.kind, RangeType::Semver | RangeType::Ecosystem) {
            return false;
        }
        let mut events: Vec<(Bound, &Event)> = self
            .events
            .iter()
            .filter_map(|e| {
                let s = match e {
                    Event::Introduced(s) | Event::Fixed(s) | Event::LastAffected(s) => s,
                    Event::Limit(s) if s == "*" => return None,
                    Event::Limit(s) => s,
                };
                bound(s).map(|b| (b, e))
            })
            .collect();
        // Stable: equal versions keep the order the record gives them.
        events.sort_by(|a, b| a.0.cmp(&b.0));
        let at = Bound::At(v.clone());
        let mut limited = false;
        let mut below_a_limit = false;
        let mut affected = false;
        for (b, e) in &events {
            match e {
                Event::Introduced(_) if at >= *b => affected = true,
                Event::Fixed(_) if at >= *b => affected = false,
                Event::LastAffected(_) if at > *b => affected = false,
                Event::Limit(_) => {
                    limited = true;
                    below_a_limit |= at < *b;
                }
                _ => {}
            }
        }
        affected && (!limited || below_a_limit)
    }
}

impl Affected {
    /// Whether this entry names the npm package `name`.
    pub fn is_npm(&self, name: &str) -> bool {
        self.package
            .as_ref()
            .is_some_and(|p| p.ecosystem == NPM && p.name == name)
    }

    /// Whether `v` is in the explicit `versions` list or one of the ranges.
    pub fn includes(&self, v: &Version) -> bool {
        self.versions
            .iter()
            .any(|s| Version::parse(s).is_ok_and(|listed| listed == *v))
            || self.ranges.iter().any(|r| r.includes(v))
    }
}

impl Record {
    /// Drops what the audit never reads (`details`, `references`, `related`, the open-ended
    /// `*_specific` parts other than GHSA's `severity` and `cwe_ids`) and shortens the summary,
    /// so a database of large records stays small in memory.
    pub fn compact(&mut self) {
        const MAX_SUMMARY: usize = 1024;
        self.details = None;
        self.references = Vec::new();
        self.related = Vec::new();
        if let Some(summary) = &mut self.summary
            && summary.len() > MAX_SUMMARY
        {
            let mut end = MAX_SUMMARY;
            while !summary.is_char_boundary(end) {
                end -= 1;
            }
            summary.truncate(end);
            summary.push('…');
        }
        if let Some(serde_json::Value::Object(map)) = &mut self.database_specific {
            map.retain(|k, _| k == "severity" || k == "cwe_ids");
        } else {
            self.database_specific = None;
        }
        for a in &mut self.affected {
            a.ecosystem_specific = None;
            a.database_specific = None;
            for r in &mut a.ranges {
                r.database_specific = None;
            }
        }
    }

    /// Whether this advisory affects npm package `name` at `version`. A version that does not
    /// parse is compared by string against the explicit `versions` lists only.
    pub fn affects(&self, name: &str, version: &str) -> bool {
        if self.withdrawn.is_some() {
            return false;
        }
        match Version::parse(version) {
            Ok(v) => self.affects_version(name, &v),
            Err(_) => self
                .npm_entries(name)
                .any(|a| a.versions.iter().any(|s| s == version)),
        }
    }

    /// [`Record::affects`] for a parsed version.
    pub fn affects_version(&self, name: &str, v: &Version) -> bool {
        self.withdrawn.is_none() && self.npm_entries(name).any(|a| a.includes(v))
    }

    /// The `affected` entries for npm package `name`.
    pub fn npm_entries<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Affected> + 'a {
        self.affected.iter().filter(move |a| a.is_npm(name))
    }

    /// Every npm package name this record mentions.
    pub fn npm_packages(&self) -> impl Iterator<Item = &str> {
        self.affected
            .iter()
            .filter_map(|a| a.package.as_ref())
            .filter(|p| p.ecosystem == NPM)
            .map(|p| p.name.as_str())
    }

    /// All `fixed` versions for npm package `name`, ascending, without duplicates.
    pub fn fixed_versions(&self, name: &str) -> Vec<Version> {
        let mut out: Vec<Version> = self
            .npm_entries(name)
            .flat_map(|a| &a.ranges)
            .filter(|r| matches!(r.kind, RangeType::Semver | RangeType::Ecosystem))
            .flat_map(|r| &r.events)
            .filter_map(|e| match e {
                Event::Fixed(s) => Version::parse(s).ok(),
                _ => None,
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The smallest fixed version above `installed` that this record does not itself affect:
    /// the upgrade a finding recommends. A release is preferred to a prerelease when `installed`
    /// is a release (nobody should be told to move from `1.12.3` to `1.12.4-aem`); a prerelease
    /// fix is returned only when no release fix exists. `None` when no fix is known.
    pub fn smallest_fixed_above(&self, name: &str, installed: &Version) -> Option<Version> {
        let candidates: Vec<Version> = self
            .fixed_versions(name)
            .into_iter()
            .filter(|f| f > installed && !self.affects_version(name, f))
            .collect();
        let release = candidates.iter().find(|f| !f.is_prerelease());
        match release {
            Some(r) if !installed.is_prerelease() => Some(r.clone()),
            _ => candidates.into_iter().next(),
        }
    }

    /// The severity: GHSA's `database_specific.severity` when present (it is what GitHub shows
    /// users), else the CVSS v3 base score of a `severity[]` vector, else `None`.
    pub fn severity_level(&self) -> Option<Severity> {
        if let Some(s) = self.ghsa_severity() {
            return Some(s);
        }
        self.cvss_v3_score().map(severity_from_score)
    }

    fn ghsa_severity(&self) -> Option<Severity> {
        let s = self.database_specific.as_ref()?.get("severity")?.as_str()?;
        match s.to_ascii_uppercase().as_str() {
            "LOW" => Some(Severity::Low),
            "MODERATE" | "MEDIUM" => Some(Severity::Medium),
            "HIGH" => Some(Severity::High),
            "CRITICAL" => Some(Severity::Critical),
            _ => None,
        }
    }

    /// The highest CVSS v3 base score among the record's (and its entries') `CVSS_V3` vectors.
    pub fn cvss_v3_score(&self) -> Option<f64> {
        self.severity
            .iter()
            .chain(self.affected.iter().flat_map(|a| &a.severity))
            .filter(|s| s.kind == "CVSS_V3")
            .filter_map(|s| cvss3_base_score(&s.score).ok())
            .reduce(f64::max)
    }

    /// `database_specific.cwe_ids` (`["CWE-1321"]`).
    pub fn cwe_ids(&self) -> Vec<String> {
        self.database_specific
            .as_ref()
            .and_then(|d| d.get("cwe_ids"))
            .and_then(serde_json::Value::as_array)
            .map(|ids| {
                ids.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The qualitative rating of a CVSS score: 0 none (reported as info), below 4 low, below 7
/// medium, below 9 high, else critical.
pub fn severity_from_score(score: f64) -> Severity {
    if score <= 0.0 {
        Severity::Info
    } else if score < 4.0 {
        Severity::Low
    } else if score < 7.0 {
        Severity::Medium
    } else if score < 9.0 {
        Severity::High
    } else {
        Severity::Critical
    }
}

/// Why a CVSS vector was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CvssError {
    #[error("not a CVSS 3.x vector (expected a `CVSS:3.0/` or `CVSS:3.1/` prefix)")]
    NotV3,
    #[error("malformed metric {0:?}")]
    Malformed(String),
    #[error("metric {0} given twice")]
    Duplicate(&'static str),
    #[error("base metric {0} missing")]
    Missing(&'static str),
}

/// The CVSS 3.x base score of a vector such as `CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H`,
/// by the specification's formula (section 7.1, with 3.1's `Roundup`). Temporal and
/// environmental metrics are accepted and ignored: advisories rate the base case.
pub fn cvss3_base_score(vector: &str) -> Result<f64, CvssError> {
    const NAMES: [&str; 8] = ["AV", "AC", "PR", "UI", "S", "C", "I", "A"];
    let rest = vector
        .strip_prefix("CVSS:3.1/")
        .or_else(|| vector.strip_prefix("CVSS:3.0/"))
        .ok_or(CvssError::NotV3)?;
    let mut values: [Option<u8>; 8] = [None; 8];
    for metric in rest.split('/') {
        let (key, value) = metric
            .split_once(':')
            .ok_or_else(|| CvssError::Malformed(metric.to_owned()))?;
        let [value] = value.as_bytes() else {
            return Err(CvssError::Malformed(metric.to_owned()));
        };
        let Some(i) = NAMES.iter().position(|n| *n == key) else {
            continue;
        };
        if values[i].replace(*value).is_some() {
            return Err(CvssError::Duplicate(NAMES[i]));
        }
    }
    let mut get = |i: usize| values[i].take().ok_or(CvssError::Missing(NAMES[i]));
    let bad = |i: usize, v: u8| CvssError::Malformed(format!("{}:{}", NAMES[i], char::from(v)));
    let (av, ac, pr, ui, s, c, ii, a) = (
        get(0)?,
        get(1)?,
        get(2)?,
        get(3)?,
        get(4)?,
        get(5)?,
        get(6)?,
        get(7)?,
    );
    let changed = match s {
        b'U' => false,
        b'C' => true,
        v => return Err(bad(4, v)),
    };
    let av = match av {
        b'N' => 0.85,
        b'A' => 0.62,
        b'L' => 0.55,
        b'P' => 0.2,
        v => return Err(bad(0, v)),
    };
    let ac = match ac {
        b'L' => 0.77,
        b'H' => 0.44,
        v => return Err(bad(1, v)),
    };
    let pr = match (pr, changed) {
        (b'N', _) => 0.85,
        (b'L', false) => 0.62,
        (b'L', true) => 0.68,
        (b'H', false) => 0.27,
        (b'H', true) => 0.5,
        (v, _) => return Err(bad(2, v)),
    };
    let ui = match ui {
        b'N' => 0.85,
        b'R' => 0.62,
        v => return Err(bad(3, v)),
    };
    let cia = |i: usize, v: u8| match v {
        b'H' => Ok(0.56),
        b'L' => Ok(0.22),
        b'N' => Ok(0.0),
        v => Err(bad(i, v)),
    };
    let (c, ii, a) = (cia(5, c)?, cia(6, ii)?, cia(7, a)?);
    let iss: f64 = 1.0 - (1.0 - c) * (1.0 - ii) * (1.0 - a);
    let impact = if changed {
        7.52 * (iss - 0.029) - 3.25 * (iss - 0.02).powi(15)
    } else {
        6.42 * iss
    };
    let exploitability = 8.22 * av * ac * pr * ui;
    if impact <= 0.0 {
        return Ok(0.0);
    }
    let raw = if changed {
        (1.08 * (impact + exploitability)).min(10.0)
    } else {
        (impact + exploitability).min(10.0)
    };
    Ok(roundup(raw))
}

/// CVSS 3.1 `Roundup`: the smallest number with one decimal that is >= the input, computed on
/// integers so that 4.000000000001 does not become 4.1.
fn roundup(x: f64) -> f64 {
    #[allow(
        clippy::cast_possible_truncation,
        reason = "x is a CVSS subscore in [0, 10.8], so x * 100000 fits easily"
    )]
    let int = (x * 100_000.0).round() as i64;
    #[allow(
        clippy::cast_precision_loss,
        reason = "int is at most 1_080_000, exactly representable in f64"
    )]
    if int % 10_000 == 0 {
        int as f64 / 100_000.0
    } else {
        ((int / 10_000) + 1) as f64 / 10.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cvss_examples_from_the_specification_and_nvd() {
        let cases = [
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
            ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:N", 6.5),
            ("CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:L/A:N", 4.8),
            ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:L/I:H/A:L", 7.6),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
            ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:N", 0.0),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H/E:P/RL:O", 7.5),
        ];
        for (v, want) in cases {
            let got = cvss3_base_score(v).unwrap();
            assert!((got - want).abs() < 1e-9, "{v}: {got} != {want}");
        }
    }

    #[test]
    fn cvss_rejects_malformed_vectors() {
        for v in [
            "",
            "AV:N/AC:L",
            "CVSS:2.0/AV:N",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",
            "CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.1/AV:NN/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.1/garbage",
        ] {
            assert!(cvss3_base_score(v).is_err(), "{v:?}");
        }
    }

    #[test]
    fn severity_boundaries() {
        assert_eq!(severity_from_score(0.0), Severity::Info);
        assert_eq!(severity_from_score(3.9), Severity::Low);
        assert_eq!(severity_from_score(4.0), Severity::Medium);
        assert_eq!(severity_from_score(6.9), Severity::Medium);
        assert_eq!(severity_from_score(7.0), Severity::High);
        assert_eq!(severity_from_score(8.9), Severity::High);
        assert_eq!(severity_from_score(9.0), Severity::Critical);
    }
}
