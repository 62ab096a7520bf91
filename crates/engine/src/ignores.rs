//! `[[deps.ignore]]` in `miniguard.toml`: advisories a team has judged not to apply, each with a
//! reason and, best, an expiry date (the shape of osv-scanner's `IgnoredVulns`):
//!
//! ```toml
//! [[deps.ignore]]
//! id = "GHSA-jf85-cpcp-j695"        # the advisory id or one of its aliases (CVE-...)
//! reason = "only used at build time, never with user input"
//! until = 2027-03-31                # optional; from the next day it is reported again
//! ```
//!
//! An expired ignore no longer applies and says so; an ignore that matches no finding says so
//! too, so that the list does not outlive the dependencies it was written for.

use std::time::{SystemTime, UNIX_EPOCH};

use miniguard_report::{Finding, Warning};
use serde::Deserialize;

use crate::Error;

/// One `[[deps.ignore]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IgnoredAdvisory {
    pub id: String,
    pub reason: String,
    #[serde(default, alias = "ignoreUntil")]
    pub until: Option<toml::Value>,
}

impl IgnoredAdvisory {
    /// The last day the ignore applies, as days since 1970-01-01.
    fn last_day(&self) -> Result<Option<i64>, Error> {
        let text = match &self.until {
            None => return Ok(None),
            Some(toml::Value::Datetime(d)) => match d.date {
                Some(date) => {
                    return Ok(Some(days_from_civil(
                        i64::from(date.year),
                        u32::from(date.month),
                        u32::from(date.day),
                    )));
                }
                None => String::new(),
            },
            Some(toml::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        };
        parse_date(&text).map(Some).ok_or_else(|| {
            Error::Config(format!(
                "[[deps.ignore]] {}: until must be a date like 2027-03-31, not `{text}`",
                self.id
            ))
        })
    }
}

/// Checks every entry (an id, a reason, a real date) before anything is scanned.
pub fn validate(ignores: &[IgnoredAdvisory]) -> Result<(), Error> {
    for i in ignores {
        if i.id.trim().is_empty() {
            return Err(Error::Config(
                "[[deps.ignore]]: an entry has no id".to_owned(),
            ));
        }
        if i.reason.trim().is_empty() {
            return Err(Error::Config(format!(
                "[[deps.ignore]] {}: a reason is required (why the advisory does not apply)",
                i.id
            )));
        }
        i.last_day()?;
    }
    Ok(())
}

/// Removes the dependency findings an ignore in force covers; returns how many, and warnings
/// for ignores that expired or matched nothing.
pub fn apply(findings: &mut Vec<Finding>, ignores: &[IgnoredAdvisory]) -> (usize, Vec<Warning>) {
    let today = today();
    let mut warnings = Vec::new();
    let mut removed = 0;
    for ignore in ignores {
        let id = ignore.id.trim();
        let matches = |f: &Finding| {
            f.dependency.as_ref().is_some_and(|d| {
                d.advisory
                    .as_deref()
                    .is_some_and(|a| a.eq_ignore_ascii_case(id))
                    || d.aliases.iter().any(|a| a.eq_ignore_ascii_case(id))
            })
        };
        let expired = ignore
            .last_day()
            .ok()
            .flatten()
            .filter(|last| today > *last);
        let hits = findings.iter().filter(|f| matches(f)).count();
        if let Some(last) = expired {
            if hits > 0 {
                warnings.push(warning(format!(
                    "the ignore of {id} expired on {} (\"{}\"): it is reported again",
                    civil_from_days(last),
                    ignore.reason.trim()
                )));
            }
            continue;
        }
        if hits == 0 {
            warnings.push(warning(format!(
                "the ignore of {id} in [[deps.ignore]] matches no finding: remove it if the dependency is gone"
            )));
            continue;
        }
        findings.retain(|f| !matches(f));
        removed += hits;
    }
    (removed, warnings)
}

fn warning(message: String) -> Warning {
    Warning {
        path: "miniguard.toml".to_owned(),
        position: None,
        message: message.into(),
    }
}

fn today() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    i64::try_from(secs / 86_400).unwrap_or(i64::MAX)
}

/// `YYYY-MM-DD` as days since 1970-01-01, if it is a real date.
fn parse_date(s: &str) -> Option<i64> {
    let mut it = s.trim().splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.parse().ok()?;
    let days = days_from_civil(y, m, d);
    (civil_from_days(days) == format!("{y:04}-{m:02}-{d:02}")).then_some(days)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD` of days since 1970-01-01.
fn civil_from_days(z: i64) -> String {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_bad_dates_are_refused() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(0), "1970-01-01");
        assert_eq!(parse_date("2024-02-29"), Some(19_782));
        assert_eq!(civil_from_days(19_782), "2024-02-29");
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2027-13-01"), None);
        assert_eq!(parse_date("tomorrow"), None);
    }
}
