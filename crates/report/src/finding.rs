use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Text;

/// How bad a finding is if it is real. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// The CVSS-like score GitHub code scanning reads from `properties.security-severity`.
    pub fn security_severity(self) -> &'static str {
        match self {
            Severity::Info => "1.0",
            Severity::Low => "3.0",
            Severity::Medium => "5.5",
            Severity::High => "8.0",
            Severity::Critical => "9.5",
        }
    }

    /// The SARIF `level` of a result with this severity.
    pub fn sarif_level(self) -> &'static str {
        match self {
            Severity::Info => "note",
            Severity::Low | Severity::Medium => "warning",
            Severity::High | Severity::Critical => "error",
        }
    }

    /// One step lower, never below `Info`.
    #[must_use]
    pub fn lowered(self) -> Severity {
        match self {
            Severity::Critical => Severity::High,
            Severity::High => Severity::Medium,
            Severity::Medium => Severity::Low,
            Severity::Low | Severity::Info => Severity::Info,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing a [`Severity`], [`Category`] or [`Confidence`] from a string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{value}` (expected one of: {expected})")]
pub struct ParseLevelError {
    pub what: &'static str,
    pub value: String,
    pub expected: &'static str,
}

impl FromStr for Severity {
    type Err = ParseLevelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "info" | "note" => Severity::Info,
            "low" => Severity::Low,
            "medium" | "moderate" => Severity::Medium,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            _ => {
                return Err(ParseLevelError {
                    what: "severity",
                    value: s.to_owned(),
                    expected: "info, low, medium, high, critical",
                });
            }
        })
    }
}

/// The issue class a rule belongs to. The first letter of a rule code names its category.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Transport,
    Auth,
    Injection,
    Xss,
    Storage,
    Secrets,
    Config,
    Dependency,
}

impl Category {
    pub const ALL: [Category; 8] = [
        Category::Transport,
        Category::Auth,
        Category::Injection,
        Category::Xss,
        Category::Storage,
        Category::Secrets,
        Category::Config,
        Category::Dependency,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Transport => "transport",
            Category::Auth => "auth",
            Category::Injection => "injection",
            Category::Xss => "xss",
            Category::Storage => "storage",
            Category::Secrets => "secrets",
            Category::Config => "config",
            Category::Dependency => "dependency",
        }
    }

    /// The letter that starts the codes of this category's rules.
    pub fn code_letter(self) -> char {
        match self {
            Category::Transport => 'T',
            Category::Auth => 'A',
            Category::Injection => 'I',
            Category::Xss => 'X',
            Category::Storage => 'S',
            Category::Secrets => 'K',
            Category::Config => 'C',
            Category::Dependency => 'D',
        }
    }

    /// A one-line description for summaries and documentation.
    pub fn title(self) -> &'static str {
        match self {
            Category::Transport => "Data transmission",
            Category::Auth => "Authentication and authorization",
            Category::Injection => "Injection",
            Category::Xss => "XSS-style injection",
            Category::Storage => "Local storage, logs and cryptography",
            Category::Secrets => "Hard-coded secrets",
            Category::Config => "Risky configuration",
            Category::Dependency => "Vulnerable third-party packages",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Category {
    type Err = ParseLevelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| ParseLevelError {
                what: "category",
                value: s.to_owned(),
                expected: "transport, auth, injection, xss, storage, secrets, config, dependency",
            })
    }
}

/// How sure a rule is that a match is a real flaw.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }

    /// One step lower, never below `Low`.
    #[must_use]
    pub fn lowered(self) -> Confidence {
        match self {
            Confidence::High => Confidence::Medium,
            Confidence::Medium | Confidence::Low => Confidence::Low,
        }
    }
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rule's fixed facts, as its code declares them: one type for the analyzer's rules
/// (`miniguard_scan::rules`) and the dependency audit's (`miniguard_deps::audit::D001`...), so
/// that listing, selecting, re-rating and describing a rule work the same for both.
/// [`RuleMeta::info`] is its owned form in a [`Report`].
#[derive(Debug)]
pub struct RuleMeta {
    /// Stable code such as `T001` or `D001`; never reused.
    pub code: &'static str,
    /// Kebab-case name such as `insecure-http-endpoint`.
    pub name: &'static str,
    pub category: Category,
    /// The default severity; a finding may carry another (an advisory's own, or a team's
    /// override).
    pub severity: Severity,
    pub confidence: Confidence,
    /// CWE numbers, e.g. `&[319]` for CWE-319.
    pub cwe: &'static [u32],
    /// One sentence: what the rule finds.
    pub summary: &'static str,
    /// Markdown: What it finds / Why it matters / Example / Fix / References.
    pub docs: &'static str,
}

impl RuleMeta {
    /// The rule as a report carries it.
    pub fn info(&self) -> RuleInfo {
        RuleInfo {
            code: self.code.to_owned(),
            name: self.name.to_owned(),
            category: self.category,
            severity: self.severity,
            confidence: self.confidence,
            cwe: self.cwe.to_vec(),
            summary: self.summary.to_owned(),
            docs: self.docs.trim().to_owned(),
        }
    }

    /// Whether `id` names this rule: its code, its name or its category, case-insensitively
    /// (how `--select`, `--ignore` and `[rules.*]` name rules).
    pub fn is_named(&self, id: &str) -> bool {
        self.code.eq_ignore_ascii_case(id)
            || self.name.eq_ignore_ascii_case(id)
            || self.category.as_str().eq_ignore_ascii_case(id)
    }
}

/// What a renderer needs to know of a rule (the owned form of a [`RuleMeta`]): its stable code, name, category, default severity,
/// CWE ids, a one-line summary and the full documentation (Markdown with fixed headings).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleInfo {
    /// Stable code such as `T001`; never reused.
    pub code: String,
    /// Kebab-case name such as `insecure-http-endpoint`.
    pub name: String,
    pub category: Category,
    pub severity: Severity,
    pub confidence: Confidence,
    /// CWE numbers, e.g. `[319]` for CWE-319.
    pub cwe: Vec<u32>,
    /// One sentence: what the rule finds.
    pub summary: String,
    /// The rule's documentation in Markdown (What it finds / Why it matters / Example / Fix /
    /// References).
    pub docs: String,
}

/// A 1-based line and column (column counted in Unicode scalar values).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

/// A place in a scanned file. `path` is relative to the scan root and uses `/` separators.
///
/// Serializing a location writes its [bounded](Location::bounded) form, so no report carries a
/// whole minified line however the location was made.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
pub struct Location {
    pub path: String,
    pub start: Position,
    pub end: Position,
    /// The text of the source lines `start.line..=end.line` (at most a few lines), for code
    /// frames and fingerprints. Empty when the source could not be read. A line longer than
    /// [`MAX_SNIPPET_LINE`] characters is cut to a window around the flagged code: see
    /// [`Location::bounded`] and `snippet_column`.
    #[serde(default)]
    pub snippet: String,
    /// The 1-based column (in the file) of the first character of the snippet's first line:
    /// greater than 1 when the start of a long line was cut off. `0` means the same as `1`.
    #[serde(default)]
    pub snippet_column: u32,
    /// Up to [`CONTEXT_LINES`] source lines before the snippet, and after it, for the code
    /// context of the HTML report and SARIF `contextRegion`. Empty when unknown, and for
    /// minified code (a line longer than [`MAX_SNIPPET_LINE`] characters gives no context).
    #[serde(default)]
    pub context_before: String,
    #[serde(default)]
    pub context_after: String,
}

/// How many lines of context a location carries on each side of its snippet.
pub const CONTEXT_LINES: usize = 2;

/// The longest snippet line a report carries, in characters. Longer lines (minified code) are
/// cut to a window of this size around the flagged code.
pub const MAX_SNIPPET_LINE: usize = 240;

/// How much of a long line a window keeps before the flagged code, in characters.
const WINDOW_BEFORE: usize = 80;

/// Whether no line of `text` is longer than [`MAX_SNIPPET_LINE`] characters.
fn short_lines(text: &str) -> bool {
    text.split('\n')
        .all(|l| l.len() <= MAX_SNIPPET_LINE || l.chars().count() <= MAX_SNIPPET_LINE)
}

/// How a location is written: the same fields, the snippet already bounded.
#[derive(Serialize)]
struct LocationRepr<'a> {
    path: &'a str,
    start: Position,
    end: Position,
    #[serde(skip_serializing_if = "str::is_empty")]
    snippet: &'a str,
    #[serde(skip_serializing_if = "is_first_column")]
    snippet_column: u32,
    #[serde(skip_serializing_if = "str::is_empty")]
    context_before: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    context_after: &'a str,
}

// Reason: serde's `skip_serializing_if` passes the field by reference.
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_first_column(c: &u32) -> bool {
    *c <= 1
}

impl Serialize for Location {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let loc = self.bounded();
        LocationRepr {
            path: &loc.path,
            start: loc.start,
            end: loc.end,
            snippet: &loc.snippet,
            snippet_column: loc.snippet_column,
            context_before: &loc.context_before,
            context_after: &loc.context_after,
        }
        .serialize(serializer)
    }
}

impl Location {
    /// How many characters of the snippet's first line were cut off before it (0 for a whole
    /// line).
    pub fn snippet_shift(&self) -> usize {
        self.snippet_column.max(1) as usize - 1
    }

    /// Whether every snippet line is at most [`MAX_SNIPPET_LINE`] characters long.
    pub fn is_bounded(&self) -> bool {
        short_lines(&self.snippet)
            && short_lines(&self.context_before)
            && short_lines(&self.context_after)
            && self.context_before.lines().count() <= CONTEXT_LINES
            && self.context_after.lines().count() <= CONTEXT_LINES
    }

    /// This location with a snippet no line of which is longer than [`MAX_SNIPPET_LINE`]
    /// characters: borrowed when it already is, otherwise a copy whose snippet is the window of
    /// the first line around the flagged code (up to `WINDOW_BEFORE` characters before its
    /// start), followed by the next lines as long as they are short. Positions stay those of the
    /// file; `snippet_column` says where the window starts.
    pub fn bounded(&self) -> Cow<'_, Location> {
        if self.is_bounded() {
            Cow::Borrowed(self)
        } else {
            let mut copy = Location {
                path: self.path.clone(),
                start: self.start,
                end: self.end,
                snippet: String::new(),
                snippet_column: self.snippet_column,
                context_before: String::new(),
                context_after: String::new(),
            };
            copy.snippet = self.window(&mut copy.snippet_column);
            if self.context_is_bounded() {
                copy.context_before.clone_from(&self.context_before);
                copy.context_after.clone_from(&self.context_after);
            }
            Cow::Owned(copy)
        }
    }

    /// Cut the snippet in place as [`Location::bounded`] does.
    pub fn bound(&mut self) {
        if !self.is_bounded() {
            let mut column = self.snippet_column;
            self.snippet = self.window(&mut column);
            self.snippet_column = column;
            if !self.context_is_bounded() {
                self.context_before.clear();
                self.context_after.clear();
            }
        }
    }

    /// Whether the context lines are few and short (else a bounded copy drops them).
    fn context_is_bounded(&self) -> bool {
        short_lines(&self.context_before)
            && short_lines(&self.context_after)
            && self.context_before.lines().count() <= CONTEXT_LINES
            && self.context_after.lines().count() <= CONTEXT_LINES
    }

    /// The bounded snippet text; `column` is updated to the new first column.
    fn window(&self, column: &mut u32) -> String {
        let mut lines = self.snippet.split('\n');
        let first = lines.next().unwrap_or("").trim_end_matches('\r');
        let len = first.chars().count();
        let shift = self.snippet_shift();
        let out = if len <= MAX_SNIPPET_LINE {
            first.to_owned()
        } else {
            let from = (self.start.column.max(1) as usize - 1)
                .saturating_sub(shift)
                .min(len);
            let begin = from
                .saturating_sub(WINDOW_BEFORE)
                .min(len - MAX_SNIPPET_LINE);
            *column = u32::try_from(shift + begin + 1).unwrap_or(u32::MAX);
            first.chars().skip(begin).take(MAX_SNIPPET_LINE).collect()
        };
        let mut out = out;
        for line in lines {
            if line.len() > MAX_SNIPPET_LINE && line.chars().count() > MAX_SNIPPET_LINE {
                break;
            }
            out.push('\n');
            out.push_str(line);
        }
        out
    }

    /// The 0-based character range `[from, to)` of the flagged code within the snippet's first
    /// line of `line_len` characters (end column exclusive). A region that goes on to later
    /// lines runs to the end of the first; an empty or inverted range is one character.
    pub fn first_line_range(&self, line_len: usize) -> (usize, usize) {
        let shift = self.snippet_shift();
        let from = (self.start.column.max(1) as usize - 1)
            .saturating_sub(shift)
            .min(line_len);
        let to = if self.end.line > self.start.line {
            line_len
        } else {
            (self.end.column.max(1) as usize - 1)
                .saturating_sub(shift)
                .min(line_len)
        };
        if to > from {
            (from, to)
        } else {
            (from, from + 1)
        }
    }
}

/// One step in the path data took from a source to the sink of a finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceStep {
    pub location: Location,
    pub note: Text,
}

/// Where the code of a finding runs, which the severity model reads (see `docs/severity.md`):
/// the same flaw is worse where nothing else stands in the attacker's way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Runtime {
    /// A native mini-program (WeChat, Alipay, Douyin, Baidu, QQ) as its users run it: the
    /// platform only lets a release build reach the request and business domains configured
    /// in its console, which must be HTTPS.
    MiniProgram,
    /// uni-app or Taro client code that is built for mini-programs and for H5 or App alike;
    /// treated like its most exposed build.
    CrossPlatform,
    /// A web page (an H5 build): no platform domain list applies.
    H5,
    /// A native App build (uni-app `APP-PLUS`): no platform domain list applies.
    App,
    /// A cloud function (WeChat cloud development, uniCloud, ...).
    CloudFunction,
    /// A Node.js backend.
    Server,
    /// Read only by the developer tools (previews, the debugger): never part of a released
    /// build.
    DevTools,
}

impl Runtime {
    pub fn as_str(self) -> &'static str {
        match self {
            Runtime::MiniProgram => "mini-program",
            Runtime::CrossPlatform => "cross-platform",
            Runtime::H5 => "h5",
            Runtime::App => "app",
            Runtime::CloudFunction => "cloud-function",
            Runtime::Server => "server",
            Runtime::DevTools => "dev-tools",
        }
    }
}

impl fmt::Display for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Another place that belongs to the same flaw: a further sink a constant or helper reaches, a
/// further copy of the same value, or what another, less specific rule found at the same place.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Related {
    pub location: Location,
    /// What this place is, e.g. ``"also used by `request` here"``.
    pub note: Text,
}

/// One problem found by one rule at one place.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule's code, e.g. `I001`.
    pub rule: String,
    /// The rule's name, e.g. `sql-injection`.
    pub name: String,
    pub category: Category,
    pub severity: Severity,
    pub confidence: Confidence,
    /// What is wrong here, in one sentence that names the data and the sink. English in JSON
    /// and SARIF; the text and HTML reports say it in the reader's language.
    pub message: Text,
    pub location: Location,
    /// How to fix it, in one sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<Text>,
    /// Source-to-sink path for data-flow findings, source first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trace: Vec<TraceStep>,
    /// Stable identity that survives lines moving: see [`crate::assign_fingerprints`].
    #[serde(default)]
    pub fingerprint: String,
    /// For findings of category `dependency`: the package and the advisory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dependency: Option<DependencyInfo>,
    /// The other places of the same flaw (one flaw, one finding): reported here rather than as
    /// findings of their own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<Related>,
    /// Where the flagged code runs, when the scan could tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<Runtime>,
    /// Why the severity differs from the rule's default, when the severity model changed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity_reason: Option<Text>,
    /// Why the confidence is below the rule's, when the flagged code rarely runs for a user: a
    /// handler nothing binds or calls, code only development builds run (`docs/severity.md`,
    /// *Reachability*). Such findings are [less likely](Finding::is_less_likely).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence_reason: Option<Text>,
}

impl Finding {
    /// Whether the text and HTML reports list this finding apart, after the others: its
    /// confidence was lowered because its code rarely runs for a user.
    pub fn is_less_likely(&self) -> bool {
        self.confidence_reason.is_some()
    }
}

/// What a dependency finding is about: the package as installed, the advisory that affects it,
/// and how the project pulls it in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DependencyInfo {
    /// Package name (`lodash`, `@vant/weapp`).
    pub package: String,
    /// Installed version; empty when it could not be told.
    pub version: String,
    /// Advisory id (`GHSA-...`), absent for an unverifiable dependency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advisory: Option<String>,
    /// Other ids of the advisory (CVE, GHSA).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// The affected versions, in npm range syntax (`>=4.0.0 <4.17.12`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vulnerable: Option<String>,
    /// The smallest version that fixes it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    /// Listed by the project itself, rather than pulled in by another package.
    pub direct: bool,
    /// Only a development dependency.
    pub dev: bool,
    /// Package names from a direct dependency down to this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<String>,
    /// How it was found: `lockfile`, `miniprogram_npm`, or how a copied file was recognised.
    pub found_by: String,
}

/// A problem with the input that is not a finding: a file that does not parse, a file too large,
/// bad JSON. The scan goes on.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Warning {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
    /// What is wrong with the file: English in JSON and SARIF, the reader's language in text
    /// and HTML.
    pub message: Text,
}

/// Counters for the summary line.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub files_scanned: u64,
    pub files_skipped: u64,
    pub bytes_scanned: u64,
    pub duration_ms: u64,
    /// Findings left out because an inline comment, the baseline or the config suppressed them.
    pub suppressed: u64,
    /// Findings below [`Stats::min_severity`]: counted here, left out of the report's findings
    /// (`scan --min-severity`, default `low`, so `info` findings are counted but not listed).
    #[serde(default)]
    pub hidden: u64,
    /// The lowest severity the report lists, when a minimum was applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_severity: Option<Severity>,
    /// The platform the scanned project was detected as (`wechat`, `alipay`, `douyin`, `baidu`,
    /// `qq`, `uni-app`, `taro`), when one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
}

/// Everything a renderer needs: the findings (sorted), the warnings, the rules that ran, counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub tool_version: String,
    /// The command that made the report (`scan`, `deps`, `probe`): SARIF's
    /// `automationDetails.id` is `miniguard/<command>/`, so that code scanning keeps the uploads
    /// of each command apart instead of one closing the other's alerts.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub command: String,
    /// The scanned path as the user gave it.
    pub root: String,
    pub findings: Vec<Finding>,
    pub warnings: Vec<Warning>,
    /// The rules that ran (for SARIF rule descriptors and the HTML rule index).
    pub rules: Vec<RuleInfo>,
    pub stats: Stats,
}

impl Report {
    /// Sort findings by path, line, column, rule code: the order every renderer uses.
    pub fn sort(&mut self) {
        self.findings.sort_by(|a, b| {
            (&a.location.path, a.location.start, &a.rule).cmp(&(
                &b.location.path,
                b.location.start,
                &b.rule,
            ))
        });
        self.warnings.sort();
    }

    /// The highest severity among the findings, if any.
    pub fn max_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// Count of findings by (category, severity).
    pub fn count(&self, category: Category, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.category == category && f.severity == severity)
            .count()
    }

    pub fn rule(&self, code: &str) -> Option<&RuleInfo> {
        self.rules.iter().find(|r| r.code == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_orders_and_parses() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::Info < Severity::Low);
        assert_eq!("HIGH".parse::<Severity>(), Ok(Severity::High));
        let err = "severe".parse::<Severity>().unwrap_err();
        assert!(err.to_string().contains("unknown severity `severe`"));
    }

    #[test]
    fn category_letters_are_distinct() {
        let mut letters: Vec<char> = Category::ALL.iter().map(|c| c.code_letter()).collect();
        letters.sort_unstable();
        letters.dedup();
        assert_eq!(letters.len(), Category::ALL.len());
        assert_eq!("XSS".parse::<Category>(), Ok(Category::Xss));
    }
}
