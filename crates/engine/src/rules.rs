//! Every rule miniguard has, the analyzer's and the dependency audit's, as one list of
//! [`RuleMeta`]; which of them a scan runs ([`Selection`]); and the severities a team gives them
//! instead of the defaults ([`Overrides`]).
//!
//! A rule is named by its code (`T001`, `D001`), its name (`insecure-http-endpoint`) or its
//! category (`transport`, `dependency`), case-insensitively, wherever a rule is named.

use std::collections::BTreeMap;

use miniguard_report::{Category, Finding, RuleInfo, RuleMeta, Severity};
use miniguard_scan::rules::Rule;

use crate::Error;

/// Every rule in code order within each part: the analyzer's, then the dependency audit's.
pub fn all() -> Vec<&'static RuleMeta> {
    miniguard_scan::rules::all()
        .iter()
        .map(|r| r.meta())
        .chain(miniguard_deps::audit::rules())
        .collect()
}

/// Every rule as a report carries it (what `miniguard rules` lists).
pub fn infos() -> Vec<RuleInfo> {
    all().into_iter().map(RuleMeta::info).collect()
}

/// The rule with this code or name (not a category), case-insensitively.
pub fn find(id: &str) -> Option<&'static RuleMeta> {
    let id = id.trim();
    all()
        .into_iter()
        .find(|r| r.code.eq_ignore_ascii_case(id) || r.name.eq_ignore_ascii_case(id))
}

/// The rules a scan runs: the analyzer's and the dependency audit's.
#[derive(Clone)]
pub struct Selection {
    code: Vec<&'static dyn Rule>,
    deps: Vec<&'static RuleMeta>,
}

impl Default for Selection {
    /// Every rule.
    fn default() -> Self {
        Selection {
            code: miniguard_scan::rules::all().to_vec(),
            deps: miniguard_deps::audit::rules().to_vec(),
        }
    }
}

impl std::fmt::Debug for Selection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.codes()).finish()
    }
}

impl Selection {
    /// The rules `select` names (all when it is empty) that `ignore` does not name. Entries are
    /// codes, names or categories; blank entries are left out, and an entry that names nothing
    /// is an error.
    pub fn new(select: &[String], ignore: &[String]) -> Result<Selection, Error> {
        for id in select.iter().chain(ignore) {
            let id = id.trim();
            if id.is_empty() {
                continue;
            }
            let known = all().iter().any(|r| r.is_named(id)) || id.parse::<Category>().is_ok();
            if !known {
                return Err(Error::UnknownRule(id.to_owned()));
            }
        }
        let keep = |m: &RuleMeta| {
            (select.is_empty() || select.iter().any(|id| m.is_named(id.trim())))
                && !ignore.iter().any(|id| m.is_named(id.trim()))
        };
        Ok(Selection {
            code: miniguard_scan::rules::all()
                .iter()
                .copied()
                .filter(|r| keep(r.meta()))
                .collect(),
            deps: miniguard_deps::audit::rules()
                .into_iter()
                .filter(|m| keep(m))
                .collect(),
        })
    }

    /// The analyzer's rules selected.
    pub fn code_rules(&self) -> &[&'static dyn Rule] {
        &self.code
    }

    /// The dependency audit's rules selected.
    pub fn dep_rules(&self) -> &[&'static RuleMeta] {
        &self.deps
    }

    /// Every rule selected, the analyzer's first.
    pub fn rules(&self) -> impl Iterator<Item = &'static RuleMeta> + '_ {
        self.code
            .iter()
            .map(|r| r.meta())
            .chain(self.deps.iter().copied())
    }

    /// The codes of the rules selected.
    pub fn codes(&self) -> Vec<&'static str> {
        self.rules().map(|r| r.code).collect()
    }

    /// Whether the rule with this code is selected.
    pub fn contains(&self, code: &str) -> bool {
        self.rules().any(|r| r.code == code)
    }
}

/// Severities that replace rules' defaults (`[rules.S002] severity = "low"`), keyed by rule
/// code.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overrides {
    by_code: BTreeMap<&'static str, Severity>,
}

impl Overrides {
    /// Overrides from `(rule, severity)` pairs, the rule named by code or name in any case. When
    /// a rule is named twice, the entry that names its code exactly wins, then the first one.
    pub fn new<'a>(
        entries: impl IntoIterator<Item = (&'a str, Severity)>,
    ) -> Result<Overrides, Error> {
        let mut exact: BTreeMap<&'static str, Severity> = BTreeMap::new();
        let mut other: BTreeMap<&'static str, Severity> = BTreeMap::new();
        for (id, severity) in entries {
            let Some(rule) = find(id) else {
                return Err(Error::UnknownRule(id.trim().to_owned()));
            };
            let into = if rule.code == id.trim() {
                &mut exact
            } else {
                &mut other
            };
            into.entry(rule.code).or_insert(severity);
        }
        for (code, severity) in other {
            exact.entry(code).or_insert(severity);
        }
        Ok(Overrides { by_code: exact })
    }

    /// The severity set for the rule with this code, if any.
    pub fn get(&self, code: &str) -> Option<Severity> {
        self.by_code.get(code).copied()
    }

    pub fn is_empty(&self) -> bool {
        self.by_code.is_empty()
    }

    /// Gives every finding of an overridden rule the severity set for it.
    pub fn apply(&self, findings: &mut [Finding]) {
        if self.by_code.is_empty() {
            return;
        }
        for f in findings {
            if let Some(s) = self.get(&f.rule) {
                f.severity = s;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn one_list_holds_the_analyzers_and_the_dependency_rules() {
        let codes: Vec<&str> = all().iter().map(|r| r.code).collect();
        assert_eq!(codes.first(), Some(&"T001"));
        assert_eq!(&codes[codes.len() - 2..], &["D001", "D002"]);
        let mut unique = codes.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), codes.len(), "codes are unique");
        assert_eq!(find("vulnerable-DEPENDENCY").map(|r| r.code), Some("D001"));
        assert!(find("dependency").is_none(), "a category is not a rule");
    }

    #[test]
    fn selection_by_code_name_and_category_for_both_kinds() {
        let s = Selection::new(&strings(&["dependency", "t001"]), &[]).unwrap();
        assert_eq!(s.codes(), ["T001", "D001", "D002"]);
        let s = Selection::new(&[], &strings(&["unverifiable-dependency", "secrets"])).unwrap();
        assert!(s.contains("D001") && !s.contains("D002"));
        assert!(s.contains("T001") && !s.contains("K001"));
        assert_eq!(s.codes().len(), all().len() - 5);
        let s = Selection::new(&strings(&[" ", "D002"]), &[]).unwrap();
        assert_eq!(s.codes(), ["D002"]);
        assert!(s.code_rules().is_empty());
        match Selection::new(&[], &strings(&["D999"])) {
            Err(Error::UnknownRule(id)) => assert_eq!(id, "D999"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn overrides_name_rules_by_code_or_name_in_any_case() {
        let o = Overrides::new([
            ("sensitive-log", Severity::Info),
            ("S002", Severity::Critical),
            ("d001", Severity::Low),
        ])
        .unwrap();
        assert_eq!(o.get("S002"), Some(Severity::Critical), "the code wins");
        assert_eq!(o.get("D001"), Some(Severity::Low));
        assert_eq!(o.get("T001"), None);
        assert!(matches!(
            Overrides::new([("transport", Severity::Low)]),
            Err(Error::UnknownRule(_))
        ));
    }
}
