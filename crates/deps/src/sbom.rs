//! CycloneDX 1.5 JSON software bill of materials of what an audit found, with the advisories
//! that affect each component.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::audit::Hit;
use crate::{DepOrigin, DepSource, Dependency};

/// The package URL of an npm package (`pkg:npm/%40vant/weapp@1.0.0`).
pub fn purl(name: &str, version: &str) -> String {
    let name = name
        .strip_prefix('@')
        .map_or_else(|| name.to_owned(), |rest| format!("%40{rest}"));
    if version.is_empty() {
        format!("pkg:npm/{name}")
    } else {
        format!("pkg:npm/{name}@{version}")
    }
}

/// Build the SBOM. `root_name` names the project; `now` is the timestamp (injectable for tests).
pub fn cyclonedx(
    root_name: &str,
    tool_version: &str,
    deps: &[Dependency],
    hits: &[Hit<'_>],
    now: SystemTime,
) -> Value {
    // One component per package and version, however many places it was found in.
    let mut components: BTreeMap<String, (&Dependency, Vec<&Dependency>)> = BTreeMap::new();
    for d in deps {
        if matches!(d.source, DepSource::Workspace) {
            continue;
        }
        let r = bom_ref(d);
        components
            .entry(r)
            .or_insert_with(|| (d, Vec::new()))
            .1
            .push(d);
    }
    let comps: Vec<Value> = components
        .iter()
        .map(|(r, (d, all))| {
            let scope = if all.iter().all(|x| x.dev) {
                "excluded"
            } else if all.iter().all(|x| x.optional) {
                "optional"
            } else {
                "required"
            };
            let mut props = vec![];
            for x in all {
                props.push(json!({ "name": "miniguard:location", "value": format!("{}:{}", x.file, x.line) }));
            }
            let found: Vec<&str> = all
                .iter()
                .map(|x| match &x.origin {
                    DepOrigin::Lockfile => "lockfile",
                    DepOrigin::MiniprogramNpm => "miniprogram_npm",
                    DepOrigin::Vendored { .. } => "copied-file",
                })
                .collect();
            props.push(json!({ "name": "miniguard:found-by", "value": dedup(found).join(",") }));
            let mut c = json!({
                "type": "library",
                "bom-ref": r,
                "name": d.name,
                "scope": scope,
                "properties": props,
            });
            if !d.version.is_empty() {
                c["version"] = json!(d.version);
            }
            if d.source == DepSource::Registry {
                c["purl"] = json!(purl(&d.name, &d.version));
            }
            c
        })
        .collect();
    let mut vulns: BTreeMap<String, (Value, Vec<String>)> = BTreeMap::new();
    for h in hits {
        let Some(rec) = h.advisory else { continue };
        let entry = vulns.entry(rec.id.clone()).or_insert_with(|| {
            let severity = rec.severity_level().map_or("unknown", |s| match s {
                miniguard_report::Severity::Info => "info",
                miniguard_report::Severity::Low => "low",
                miniguard_report::Severity::Medium => "medium",
                miniguard_report::Severity::High => "high",
                miniguard_report::Severity::Critical => "critical",
            });
            let cwes: Vec<u32> = rec
                .cwe_ids()
                .iter()
                .filter_map(|c| c.strip_prefix("CWE-").and_then(|n| n.parse().ok()))
                .collect();
            let mut v = json!({
                "id": rec.id,
                "ratings": [{ "severity": severity }],
                "description": rec.summary.clone().unwrap_or_default(),
            });
            if !cwes.is_empty() {
                v["cwes"] = json!(cwes);
            }
            if !rec.aliases.is_empty() {
                v["references"] = Value::Array(
                    rec.aliases
                        .iter()
                        .map(|a| json!({ "id": a, "source": { "name": source_of(a) } }))
                        .collect(),
                );
            }
            (v, Vec::new())
        });
        let r = bom_ref(h.dependency);
        if !entry.1.contains(&r) {
            entry.1.push(r);
        }
    }
    let vulnerabilities: Vec<Value> = vulns
        .into_values()
        .map(|(mut v, refs)| {
            v["affects"] = Value::Array(refs.into_iter().map(|r| json!({ "ref": r })).collect());
            v
        })
        .collect();
    let mut hasher = Sha256::new();
    hasher.update(root_name.as_bytes());
    for r in components.keys() {
        hasher.update(r.as_bytes());
    }
    let h = hasher.finalize();
    let serial = format!(
        "urn:uuid:{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-4{:01x}{:02x}-{:01x}{:01x}{:02x}-{}",
        h[0],
        h[1],
        h[2],
        h[3],
        h[4],
        h[5],
        h[6] & 0x0f,
        h[7],
        8 | (h[8] & 0x3),
        h[8] >> 4,
        h[9],
        hex(&h[10..16])
    );
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": serial,
        "version": 1,
        "metadata": {
            "timestamp": rfc3339(now),
            "tools": { "components": [{ "type": "application", "name": "miniguard", "version": tool_version }] },
            "component": { "type": "application", "bom-ref": "root", "name": root_name },
        },
        "components": comps,
        "vulnerabilities": vulnerabilities,
    })
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn bom_ref(d: &Dependency) -> String {
    match &d.source {
        DepSource::Registry => purl(&d.name, &d.version),
        DepSource::Local(spec) | DepSource::Git(spec) => format!("{}@{}", d.name, spec),
        DepSource::Workspace => format!("workspace:{}", d.name),
    }
}

fn source_of(alias: &str) -> &'static str {
    if alias.starts_with("CVE-") {
        "NVD"
    } else if alias.starts_with("GHSA-") {
        "GitHub Advisory Database"
    } else {
        "OSV"
    }
}

fn dedup(mut v: Vec<&str>) -> Vec<&str> {
    v.sort_unstable();
    v.dedup();
    v
}

/// `2026-11-25T03:04:05Z` for a system time (UTC, seconds).
pub fn rfc3339(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Civil from days (Howard Hinnant's algorithm).
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls_and_times() {
        assert_eq!(purl("lodash", "4.17.11"), "pkg:npm/lodash@4.17.11");
        assert_eq!(purl("@vant/weapp", "1.0.0"), "pkg:npm/%40vant/weapp@1.0.0");
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + std::time::Duration::from_secs(1_764_039_845)),
            "2025-11-25T03:04:05Z"
        );
        assert_eq!(
            rfc3339(UNIX_EPOCH + std::time::Duration::from_hours(264_384)),
            "2000-02-29T00:00:00Z"
        );
    }
}
