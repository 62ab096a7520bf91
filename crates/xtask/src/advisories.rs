//! `advisories`: the embedded advisory snapshot from openly licensed data.
//!
//! Sources (see `../shared/advisories/README.md`):
//! - `ghsa/*.json`: GitHub-reviewed advisories, already OSV; taken as they are.
//! - `nodejs-security-wg/npm-index.json`: Node Security Platform advisories with npm ranges
//!   (`vulnerable_versions`), converted interval by interval into OSV events; id `NSP-<id>`.
//! - `retirejs/jsrepository-master.json`: retire.js's browser-library advisories with
//!   `{atOrAbove, below, excludes}` ranges; id the GHSA id when it has one, else
//!   `RETIRE-<lib>-<n>`.
//! - `retirejs/npmrepository.json`: retire.js's older npm advisories; id `RETIRE-NPM-<name>-<n>`.
//!
//! The same vulnerability often appears in several sources. Records are deduplicated by shared
//! identifiers (id or alias: GHSA, CVE, NSP) on the same npm package, keeping the best source:
//! GitHub's own record, then retire.js records carrying a GHSA id, then NSP, then the rest.
//!
//! The output is deterministic (records sorted by id, JSON objects with sorted keys, gzip with a
//! zero mtime) so that regenerating without a data change leaves the committed file unchanged.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use miniguard_deps::osv::{
    Affected, AffectedRange, Event, NPM, Package, RangeType, Record, Reference, SeverityScore,
    severity_from_score,
};
use miniguard_deps::semver::{Identifier, Op, Range, Version};
use miniguard_report::Severity;
use serde::Deserialize;
use serde_json::{Value, json};

/// retire.js records carry no dates; this stands for "unknown" without pretending to be recent.
const UNKNOWN_DATE: &str = "1970-01-01T00:00:00Z";

pub fn run(source: &Path, root: &Path) -> Result<()> {
    if !source.is_dir() {
        bail!("{} is not a directory", source.display());
    }
    let mut stats = Stats::default();
    let mut all: Vec<(u8, Record)> = Vec::new();
    for r in load_ghsa(&source.join("ghsa"))? {
        all.push((0, r));
    }
    stats.ghsa = all.len();
    for r in convert_retire_js(
        &source.join("retirejs/jsrepository-master.json"),
        &mut stats,
    )? {
        let priority = if r.id.starts_with("GHSA-") { 1 } else { 3 };
        all.push((priority, r));
    }
    for r in convert_nsp(
        &source.join("nodejs-security-wg/npm-index.json"),
        &mut stats,
    )? {
        all.push((2, r));
    }
    for r in convert_retire_npm(&source.join("retirejs/npmrepository.json"), &mut stats)? {
        all.push((4, r));
    }
    let records = dedupe(all, &mut stats);

    let json = serde_json::to_vec(&records)?;
    let out = root.join("crates/deps/data/advisories.json.gz");
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    gz.write_all(&json)?;
    let bytes = gz.finish()?;
    fs::create_dir_all(out.parent().context("output has a parent")?)?;
    fs::write(&out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    fs::write(root.join("NOTICE"), notice(source)?).context("writing NOTICE")?;

    eprintln!(
        "ghsa {} | retire.js {} | nsp {} | retire.js npm {} | duplicates dropped {} | \
         entries skipped {}\nwrote {} records ({} packages), {} bytes JSON, {} bytes gzip to {}",
        stats.ghsa,
        stats.retire_js,
        stats.nsp,
        stats.retire_npm,
        stats.duplicates,
        stats.skipped,
        records.len(),
        records
            .iter()
            .flat_map(Record::npm_packages)
            .collect::<HashSet<_>>()
            .len(),
        json.len(),
        bytes.len(),
        out.display()
    );
    Ok(())
}

#[derive(Default)]
struct Stats {
    ghsa: usize,
    retire_js: usize,
    nsp: usize,
    retire_npm: usize,
    duplicates: usize,
    skipped: usize,
}

fn load_ghsa(dir: &Path) -> Result<Vec<Record>> {
    let mut paths: Vec<_> = fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        let text = fs::read(&p)?;
        let record: Record =
            serde_json::from_slice(&text).with_context(|| format!("parsing {}", p.display()))?;
        if record.npm_packages().next().is_some() {
            out.push(record);
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Ranges

/// The smallest version greater than `v`: the lower bound of `>v` as an inclusive `introduced`.
fn successor(v: &Version) -> Version {
    let mut next = v.clone();
    if next.pre.is_empty() {
        next.patch += 1;
        next.pre = vec![Identifier::Numeric(0)];
    } else {
        next.pre.push(Identifier::Numeric(0));
    }
    next
}

/// Placeholder upper bounds (`99.999.99999`, `999.999.999`) that mean "no fix known".
fn is_open_ended(v: &Version) -> bool {
    v.major >= 999 || (v.major >= 99 && (v.minor >= 999 || v.patch >= 999))
}

/// Upper bounds spelled with 999 components below a real major (`2.999.999`): "every 2.x", with
/// no known fixed version, so they become `last_affected` rather than a bogus `fixed`.
fn is_placeholder(v: &Version) -> bool {
    v.minor >= 999 || v.patch >= 999
}

enum Upper {
    None,
    Fixed(Version),
    LastAffected(Version),
}

fn interval(lower: Option<&Version>, upper: Upper) -> AffectedRange {
    let mut events = vec![Event::Introduced(
        lower.map_or_else(|| "0".to_owned(), ToString::to_string),
    )];
    match upper {
        Upper::None => {}
        Upper::Fixed(v) => events.push(Event::Fixed(v.to_string())),
        Upper::LastAffected(v) => events.push(Event::LastAffected(v.to_string())),
    }
    AffectedRange {
        kind: RangeType::Semver,
        repo: None,
        events,
        database_specific: None,
    }
}

/// An npm range as OSV: one interval per `||` set, exact versions into `versions`. `<=X` with a
/// `patched` range that starts at the next patch becomes `fixed` (so a fix can be recommended);
/// otherwise it stays `last_affected`.
fn npm_range_to_osv(
    vulnerable: &Range,
    patched: Option<&Range>,
) -> (Vec<AffectedRange>, Vec<String>) {
    let mut ranges = Vec::new();
    let mut versions = Vec::new();
    for set in vulnerable.sets() {
        let mut lower: Option<Version> = None;
        let mut upper: Option<(Version, bool)> = None; // (version, inclusive)
        let mut exact: Option<Version> = None;
        for c in set {
            match c.op {
                Op::Ge | Op::Gt => {
                    let v = if c.op == Op::Gt {
                        successor(&c.version)
                    } else {
                        c.version.clone()
                    };
                    if lower.as_ref().is_none_or(|l| v > *l) {
                        lower = Some(v);
                    }
                }
                Op::Lt | Op::Le => {
                    let candidate = (c.version.clone(), c.op == Op::Le);
                    let tighter = upper.as_ref().is_none_or(|(u, incl)| {
                        candidate.0 < *u || (candidate.0 == *u && *incl && !candidate.1)
                    });
                    if tighter {
                        upper = Some(candidate);
                    }
                }
                Op::Eq => exact = Some(c.version.clone()),
            }
        }
        if let Some(v) = exact {
            if set.iter().all(|c| c.matches(&v)) {
                versions.push(v.to_string());
            }
            continue;
        }
        let upper = match upper {
            None => Upper::None,
            Some((v, _)) if is_open_ended(&v) => Upper::None,
            Some((v, false)) => Upper::Fixed(v),
            Some((v, true)) => {
                let next = Version::new(v.major, v.minor, v.patch.saturating_add(1));
                if v.pre.is_empty()
                    && patched.is_some_and(|p| p.satisfies(&next) && !p.satisfies(&v))
                {
                    Upper::Fixed(next)
                } else {
                    Upper::LastAffected(v)
                }
            }
        };
        let empty = match (&lower, &upper) {
            (Some(l), Upper::Fixed(u)) => l >= u,
            (Some(l), Upper::LastAffected(u)) => l > u,
            _ => false,
        };
        if !empty {
            ranges.push(interval(lower.as_ref(), upper));
        }
    }
    (ranges, versions)
}

/// A retire.js version: up to four numeric components and a suffix (`1.999`, `0.9.7.1`,
/// `3.0.0-beta1`, `1.12.4-aem`). A fourth component is folded into the patch so the bound stays
/// on the safe side: `below 0.9.7.1` still counts `0.9.7` as affected.
fn retire_version(s: &str, is_upper: bool) -> Option<Version> {
    let s = s.trim();
    // `1.3.0-*`: every prerelease of 1.3.0, whose smallest is `1.3.0-0`.
    let s = s
        .strip_suffix("-*")
        .map_or_else(|| s.to_owned(), |base| format!("{base}-0"));
    let s = s.as_str();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (nums, suffix) = s.split_at(split);
    let parts: Vec<u64> = nums
        .split('.')
        .filter(|p| !p.is_empty())
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let get = |i: usize| parts.get(i).copied().unwrap_or(0);
    let mut patch = get(2);
    if is_upper && get(3) > 0 {
        patch += 1;
    }
    let text = format!("{}.{}.{}{}", get(0), get(1), patch, suffix);
    Version::parse(&text).ok()
}

#[derive(Deserialize)]
struct RetireRange {
    #[serde(rename = "atOrAbove")]
    at_or_above: Option<String>,
    below: Option<String>,
    #[serde(default)]
    excludes: Vec<String>,
}

/// One retire.js range (`atOrAbove` inclusive, `below` exclusive) minus `excludes`, as OSV
/// intervals. `None` when a bound does not parse.
fn retire_range(r: &RetireRange) -> Option<Vec<AffectedRange>> {
    let lower = match r.at_or_above.as_deref() {
        None | Some("0" | "") => None,
        Some(s) => Some(retire_version(s, false)?),
    };
    let upper = match r.below.as_deref().map(str::trim) {
        // `below: "~"` (one retire.js npm record): every version.
        None | Some("~" | "*" | "") => Upper::None,
        Some(s) => {
            let v = retire_version(s, true)?;
            if is_open_ended(&v) {
                Upper::None
            } else if is_placeholder(&v) {
                Upper::LastAffected(v)
            } else {
                Upper::Fixed(v)
            }
        }
    };
    let mut excludes: Vec<Version> = r
        .excludes
        .iter()
        .filter_map(|s| retire_version(s, false))
        .collect();
    excludes.sort();
    // Split the interval around each excluded version: [lower, x) then [successor(x), ...).
    let mut out = Vec::new();
    let mut from = lower;
    for x in excludes {
        if from.as_ref().is_some_and(|f| x < *f) {
            continue;
        }
        out.push(interval(from.as_ref(), Upper::Fixed(x.clone())));
        from = Some(successor(&x));
    }
    out.push(interval(from.as_ref(), upper));
    Some(out)
}

// ---------------------------------------------------------------------------------------------
// Sources

fn severity_name(s: Severity) -> Option<&'static str> {
    match s {
        Severity::Info => None,
        Severity::Low => Some("LOW"),
        Severity::Medium => Some("MODERATE"),
        Severity::High => Some("HIGH"),
        Severity::Critical => Some("CRITICAL"),
    }
}

fn retire_severity(s: Option<&str>) -> Option<&'static str> {
    match s?.to_ascii_lowercase().as_str() {
        "low" => Some("LOW"),
        "medium" | "moderate" => Some("MODERATE"),
        "high" => Some("HIGH"),
        "critical" => Some("CRITICAL"),
        _ => None,
    }
}

fn database_specific(severity: Option<&str>, cwes: &[String], source: &str) -> Value {
    let mut map = serde_json::Map::new();
    if let Some(s) = severity {
        map.insert("severity".into(), json!(s));
    }
    if !cwes.is_empty() {
        map.insert("cwe_ids".into(), json!(cwes));
    }
    map.insert("source".into(), json!(source));
    Value::Object(map)
}

fn web_refs<'a>(urls: impl IntoIterator<Item = &'a str>) -> Vec<Reference> {
    urls.into_iter()
        .filter(|u| u.starts_with("http"))
        .map(|u| Reference {
            kind: "WEB".into(),
            url: u.to_owned(),
        })
        .collect()
}

fn npm_affected(name: &str, ranges: Vec<AffectedRange>, versions: Vec<String>) -> Affected {
    Affected {
        package: Some(Package {
            ecosystem: NPM.into(),
            name: name.to_owned(),
            purl: None,
        }),
        severity: Vec::new(),
        ranges,
        versions,
        ecosystem_specific: None,
        database_specific: None,
    }
}

fn date_time(s: Option<&str>) -> Option<String> {
    let s = s?.trim();
    match s.len() {
        0 => None,
        10 => Some(format!("{s}T00:00:00Z")),
        _ => Some(s.to_owned()),
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

#[derive(Deserialize)]
struct Nsp {
    id: u64,
    updated_at: Option<String>,
    created_at: Option<String>,
    publish_date: Option<String>,
    title: Option<String>,
    module_name: String,
    cves: Option<Vec<String>>,
    vulnerable_versions: Option<String>,
    patched_versions: Option<String>,
    overview: Option<String>,
    recommendation: Option<String>,
    references: Option<Value>,
    cvss_vector: Option<String>,
    cvss_score: Option<f64>,
}

fn convert_nsp(path: &Path, stats: &mut Stats) -> Result<Vec<Record>> {
    let text = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let index: BTreeMap<String, Nsp> =
        serde_json::from_slice(&text).with_context(|| format!("parsing {}", path.display()))?;
    let mut out = Vec::new();
    for a in index.into_values() {
        let vulnerable = a.vulnerable_versions.as_deref().unwrap_or("*");
        let Ok(range) = Range::parse(vulnerable) else {
            eprintln!("skip NSP-{}: unparsable range {vulnerable:?}", a.id);
            stats.skipped += 1;
            continue;
        };
        // `<0.0.0` patched (or none) means no fix; the vulnerable range then says it all.
        let patched = a
            .patched_versions
            .as_deref()
            .filter(|p| p.trim() != "<0.0.0")
            .and_then(|p| Range::parse(p).ok());
        let (ranges, versions) = npm_range_to_osv(&range, patched.as_ref());
        if ranges.is_empty() && versions.is_empty() {
            stats.skipped += 1;
            continue;
        }
        let severity = a
            .cvss_score
            .map(severity_from_score)
            .and_then(severity_name);
        let mut details = a.overview.unwrap_or_default();
        if let Some(rec) = a.recommendation.filter(|r| !r.trim().is_empty()) {
            details.push_str("\n\n## Recommendation\n\n");
            details.push_str(&rec);
        }
        let modified = date_time(a.updated_at.as_deref())
            .or_else(|| date_time(a.created_at.as_deref()))
            .unwrap_or_else(|| UNKNOWN_DATE.to_owned());
        out.push(Record {
            schema_version: Some("1.6.0".into()),
            id: format!("NSP-{}", a.id),
            modified,
            published: date_time(a.publish_date.as_deref()),
            withdrawn: None,
            aliases: a.cves.unwrap_or_default(),
            related: Vec::new(),
            summary: a.title,
            details: Some(details).filter(|d| !d.is_empty()),
            severity: a
                .cvss_vector
                .filter(|v| v.starts_with("CVSS:3."))
                .map(|score| SeverityScore {
                    kind: "CVSS_V3".into(),
                    score,
                })
                .into_iter()
                .collect(),
            affected: vec![npm_affected(&a.module_name, ranges, versions)],
            references: web_refs(strings(a.references.as_ref()).iter().map(String::as_str)),
            database_specific: Some(database_specific(severity, &[], "nodejs/security-wg")),
        });
        stats.nsp += 1;
    }
    Ok(out)
}

#[derive(Deserialize)]
struct RetireLib {
    #[serde(default)]
    vulnerabilities: Vec<RetireVuln>,
    npmname: Option<String>,
}

#[derive(Deserialize)]
struct RetireVuln {
    #[serde(default)]
    ranges: Vec<RetireRange>,
    /// npmrepository.json puts one range on the advisory itself.
    #[serde(rename = "atOrAbove")]
    at_or_above: Option<String>,
    below: Option<String>,
    summary: Option<String>,
    details: Option<String>,
    #[serde(default)]
    cwe: Vec<String>,
    severity: Option<String>,
    #[serde(default)]
    identifiers: serde_json::Map<String, Value>,
    #[serde(default)]
    info: Vec<String>,
}

/// Library keys that are retire.js's own examples or not packages.
const RETIRE_SKIP: &[&str] = &["retire-example", "dont check"];

fn id_part(name: &str) -> String {
    name.trim_start_matches('@')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// A plausible npm package name: retire.js keys without `npmname` are sometimes display names
/// (`ExtJS`), which must not be matched against a real package of that name.
fn is_npm_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-._@/".contains(c))
}

fn retire_record(
    id: String,
    name: &str,
    v: &RetireVuln,
    ranges: Vec<AffectedRange>,
    source: &str,
) -> Record {
    let ids = &v.identifiers;
    let mut aliases = strings(ids.get("CVE"));
    aliases.extend(
        strings(ids.get("githubID"))
            .into_iter()
            .filter(|g| *g != id),
    );
    // npmrepository.json links NSP advisories; the NSP id lets dedupe find the NSP record.
    for url in &v.info {
        if let Some(n) = url.split("nodesecurity.io/advisories/").nth(1) {
            let n: String = n.chars().take_while(char::is_ascii_digit).collect();
            if !n.is_empty() {
                aliases.push(format!("NSP-{n}"));
            }
        }
    }
    aliases.retain(|a| !a.contains("XXXX"));
    aliases.sort();
    aliases.dedup();
    let summary = v
        .summary
        .clone()
        .or_else(|| strings(ids.get("summary")).into_iter().next())
        .or_else(|| strings(ids.get("advisory")).into_iter().next());
    Record {
        schema_version: Some("1.6.0".into()),
        id,
        modified: UNKNOWN_DATE.into(),
        published: None,
        withdrawn: None,
        aliases,
        related: Vec::new(),
        summary,
        details: v.details.clone(),
        severity: Vec::new(),
        affected: vec![npm_affected(name, ranges, Vec::new())],
        references: web_refs(v.info.iter().map(String::as_str)),
        database_specific: Some(database_specific(
            retire_severity(v.severity.as_deref()),
            &v.cwe,
            source,
        )),
    }
}

fn read_retire(path: &Path) -> Result<BTreeMap<String, RetireLib>> {
    let text = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&text).with_context(|| format!("parsing {}", path.display()))
}

fn convert_retire_js(path: &Path, stats: &mut Stats) -> Result<Vec<Record>> {
    let mut out = Vec::new();
    for (key, lib) in read_retire(path)? {
        if RETIRE_SKIP.contains(&key.as_str()) {
            continue;
        }
        let name = lib.npmname.clone().unwrap_or_else(|| key.clone());
        if !is_npm_name(&name) {
            stats.skipped += lib.vulnerabilities.len();
            continue;
        }
        for (n, v) in lib.vulnerabilities.iter().enumerate() {
            let Some(ranges) = v
                .ranges
                .iter()
                .map(retire_range)
                .collect::<Option<Vec<_>>>()
                .map(|r| r.into_iter().flatten().collect::<Vec<_>>())
                .filter(|r| !r.is_empty())
            else {
                eprintln!("skip retire.js {key} #{}: unparsable range", n + 1);
                stats.skipped += 1;
                continue;
            };
            let id = strings(v.identifiers.get("githubID"))
                .into_iter()
                .find(|g| g.starts_with("GHSA-"))
                .unwrap_or_else(|| format!("RETIRE-{}-{}", id_part(&key), n + 1));
            out.push(retire_record(
                id,
                &name,
                v,
                ranges,
                "retire.js jsrepository",
            ));
            stats.retire_js += 1;
        }
    }
    Ok(out)
}

fn convert_retire_npm(path: &Path, stats: &mut Stats) -> Result<Vec<Record>> {
    let mut out = Vec::new();
    for (name, lib) in read_retire(path)? {
        if RETIRE_SKIP.contains(&name.as_str()) || !is_npm_name(&name) {
            continue;
        }
        for (n, v) in lib.vulnerabilities.iter().enumerate() {
            let range = RetireRange {
                at_or_above: v.at_or_above.clone(),
                below: v.below.clone(),
                excludes: Vec::new(),
            };
            let Some(ranges) = retire_range(&range) else {
                eprintln!("skip retire.js npm {name} #{}: unparsable range", n + 1);
                stats.skipped += 1;
                continue;
            };
            let id = format!("RETIRE-NPM-{}-{}", id_part(&name), n + 1);
            out.push(retire_record(
                id,
                &name,
                v,
                ranges,
                "retire.js npmrepository",
            ));
            stats.retire_npm += 1;
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Dedupe

/// Keeps one record per vulnerability and package, preferring lower priority numbers. Records
/// with the same id (one GHSA id on two retire.js libraries) are merged into one.
fn dedupe(mut all: Vec<(u8, Record)>, stats: &mut Stats) -> Vec<Record> {
    all.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut kept: Vec<Record> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for (_, record) in all {
        let packages: Vec<String> = record.npm_packages().map(str::to_owned).collect();
        let keys: Vec<&String> = std::iter::once(&record.id).chain(&record.aliases).collect();
        let duplicate = keys.iter().any(|k| {
            packages
                .iter()
                .any(|p| seen.contains(&((*k).clone(), p.clone())))
        });
        if duplicate {
            stats.duplicates += 1;
            continue;
        }
        for k in &keys {
            for p in &packages {
                seen.insert(((*k).clone(), p.clone()));
            }
        }
        if let Some(&i) = by_id.get(&record.id) {
            // Same id, different package: one advisory over several packages.
            let target = &mut kept[i];
            target.affected.extend(record.affected);
            for a in record.aliases {
                if !target.aliases.contains(&a) {
                    target.aliases.push(a);
                }
            }
            continue;
        }
        by_id.insert(record.id.clone(), kept.len());
        kept.push(record);
    }
    kept.sort_by(|a, b| a.id.cmp(&b.id));
    kept
}

// ---------------------------------------------------------------------------------------------
// NOTICE

fn notice(source: &Path) -> Result<String> {
    let mit = fs::read_to_string(source.join("nodejs-security-wg/LICENSE.md"))
        .context("reading nodejs-security-wg/LICENSE.md")?;
    Ok(format!(
        "miniguard\n\
Copyright miniguard developers. Licensed under the Apache License, Version 2.0.\n\
\n\
The embedded advisory snapshot (crates/deps/data/advisories.json.gz, generated by\n\
`cargo run -p xtask -- advisories`) is converted from the following openly licensed data.\n\
\n\
1. retire.js vulnerability repository (repository/jsrepository-master.json and\n\
   repository/npmrepository.json), https://github.com/RetireJS/retire.js, commit\n\
   fd8df0d6f1da46d4bc0446321395fcf708619e07. Licensed under the Apache License, Version 2.0\n\
   (https://www.apache.org/licenses/LICENSE-2.0). Changes: converted to the OSV schema; links\n\
   to the npm website rewritten to a placeholder host. Many of its summaries and identifiers\n\
   originate in the GitHub Advisory Database (see 3).\n\
\n\
2. Node.js Security Working Group vulnerability data (vuln/npm, as index.json),\n\
   https://github.com/nodejs/security-wg, commit f1288d0d672396dcdc5c62b3cfcef46688097833.\n\
   Changes: converted to the OSV schema; links to the npm website rewritten to a placeholder\n\
   host. Licensed under the MIT License:\n\
\n\
{mit}\n\
\n\
3. GitHub Advisory Database, https://github.com/github/advisory-database\n\
   (advisories/github-reviewed). Licensed under the Creative Commons Attribution 4.0\n\
   International License (CC-BY-4.0, https://creativecommons.org/licenses/by/4.0/).\n\
   Attribution: \"GitHub Advisory Database\". Records are included in their OSV form; fields\n\
   this project does not read may be omitted.\n",
        mit = mit.trim_end()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(r: &AffectedRange) -> Vec<String> {
        r.events
            .iter()
            .map(|e| match e {
                Event::Introduced(v) => format!("introduced {v}"),
                Event::Fixed(v) => format!("fixed {v}"),
                Event::LastAffected(v) => format!("last_affected {v}"),
                Event::Limit(v) => format!("limit {v}"),
            })
            .collect()
    }

    fn convert(vulnerable: &str, patched: Option<&str>) -> Vec<Vec<String>> {
        let patched = patched.map(|p| Range::parse(p).unwrap());
        let (ranges, _) = npm_range_to_osv(&Range::parse(vulnerable).unwrap(), patched.as_ref());
        ranges.iter().map(events).collect()
    }

    #[test]
    fn npm_ranges_become_intervals() {
        assert_eq!(convert("<1.4.4", None), [["introduced 0", "fixed 1.4.4"]]);
        assert_eq!(
            convert("<=1.5.1", Some(">=1.5.2")),
            [["introduced 0", "fixed 1.5.2"]]
        );
        assert_eq!(
            convert("<=1.3.0", Some(">= 1.4.0")),
            [["introduced 0", "last_affected 1.3.0"]]
        );
        assert_eq!(
            convert(">=1.7.1 <=1.8.3", Some(">=1.9.0")),
            [["introduced 1.7.1", "last_affected 1.8.3"]]
        );
        assert_eq!(convert("<=99.999.99999", None), [["introduced 0"]]);
        assert_eq!(convert("*", None), [["introduced 0"]]);
        assert_eq!(
            convert("<1.0.0 || >2.0.0 <2.1.0", None),
            [
                vec!["introduced 0", "fixed 1.0.0"],
                vec!["introduced 2.0.1-0", "fixed 2.1.0"]
            ]
        );
    }

    #[test]
    fn retire_ranges() {
        let r = RetireRange {
            at_or_above: Some("1.12.3".into()),
            below: Some("3.0.0-beta1".into()),
            excludes: vec!["1.12.4-aem".into()],
        };
        let got: Vec<_> = retire_range(&r).unwrap().iter().map(events).collect();
        assert_eq!(
            got,
            [
                vec!["introduced 1.12.3", "fixed 1.12.4-aem"],
                vec!["introduced 1.12.4-aem.0", "fixed 3.0.0-beta1"]
            ]
        );
        let open = RetireRange {
            at_or_above: None,
            below: Some("999.999.999".into()),
            excludes: Vec::new(),
        };
        assert_eq!(events(&retire_range(&open).unwrap()[0]), ["introduced 0"]);
        let line = RetireRange {
            at_or_above: None,
            below: Some("1.999".into()),
            excludes: Vec::new(),
        };
        assert_eq!(
            events(&retire_range(&line).unwrap()[0]),
            ["introduced 0", "last_affected 1.999.0"]
        );
        assert_eq!(
            retire_version("1.3.0-*", false).unwrap().to_string(),
            "1.3.0-0"
        );
        assert_eq!(
            retire_version("0.9.7.1", true).unwrap(),
            Version::new(0, 9, 8)
        );
    }
}
