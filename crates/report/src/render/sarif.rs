//! SARIF 2.1.0, the interchange format of code-scanning services (GitHub code scanning reads
//! `properties.tags`, `properties.security-severity`, `properties.precision` and
//! `partialFingerprints`).
//!
//! The log is built from typed structs so that a misspelt property is a compile error, and it is
//! checked against Microsoft's validator (`.ci/validate-sarif.sh`) with no errors or warnings.
//!
//! Choices the SARIF specification leaves open:
//! - `run.columnKind` is `unicodeCodePoints` because miniguard counts columns in Unicode scalar
//!   values (the SARIF default would be UTF-16 code units).
//! - Result paths are relative URIs against `%SRCROOT%`; `originalUriBaseIds` gives its
//!   `file://` URI only when the scan root is absolute, because a relative root has no
//!   meaningful absolute form without touching the file system, which renderers do not do.
//! - `region.snippet` holds exactly the flagged text; the full source lines go into
//!   `contextRegion.snippet`.
//! - Every message is a complete sentence ending with a period (validator rule SARIF2001).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use serde::Serialize;

use super::{markdown, sentence};
use crate::{
    Confidence, Finding, Location, MAX_SNIPPET_LINE, Position, Report, RuleInfo, Severity,
};

/// The `$schema` of the SARIF log.
pub const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The key of the finding fingerprint in `result.partialFingerprints`.
pub const SARIF_FINGERPRINT_KEY: &str = "miniguardFingerprint/v1";

/// `tool.driver.informationUri`: the `repository` the workspace manifest declares, so that it
/// changes in one place. The validator warns without it (SARIF2005).
const INFORMATION_URI: &str = env!("CARGO_PKG_REPOSITORY");

/// The `uriBaseId` every result path is relative to.
const SRCROOT: &str = "%SRCROOT%";

#[derive(Serialize)]
struct Log {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run {
    tool: Tool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    original_uri_base_ids: BTreeMap<&'static str, ArtifactLocation>,
    invocations: [Invocation; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    automation_details: Option<AutomationDetails>,
    column_kind: &'static str,
    results: Vec<SarifResult>,
}

/// `run.automationDetails`: `miniguard/<command>/`, the category code scanning keeps apart.
#[derive(Serialize)]
struct AutomationDetails {
    id: String,
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    information_uri: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    semantic_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    rules: Vec<ReportingDescriptor>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportingDescriptor {
    id: String,
    name: String,
    short_description: Message,
    full_description: Message,
    help: MultiformatMessage,
    #[serde(skip_serializing_if = "Option::is_none")]
    help_uri: Option<String>,
    default_configuration: Configuration,
    properties: RuleProperties,
}

#[derive(Serialize)]
struct Message {
    text: String,
}

impl Message {
    fn sentence(text: &str) -> Message {
        Message {
            text: sentence(text),
        }
    }
}

#[derive(Serialize)]
struct MultiformatMessage {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct RuleProperties {
    tags: Vec<String>,
    #[serde(rename = "security-severity")]
    security_severity: &'static str,
    precision: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_index: Option<usize>,
    level: &'static str,
    message: Message,
    locations: [SarifLocation; 1],
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    partial_fingerprints: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    code_flows: Vec<CodeFlow>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_locations: Vec<SarifLocation>,
    properties: ResultProperties,
}

#[derive(Serialize)]
struct ResultProperties {
    severity: Severity,
    confidence: Confidence,
    category: crate::Category,
    #[serde(skip_serializing_if = "Option::is_none")]
    dependency: Option<crate::DependencyInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    runtime: Option<crate::Runtime>,
    #[serde(rename = "severityReason", skip_serializing_if = "Option::is_none")]
    severity_reason: Option<String>,
    #[serde(rename = "confidenceReason", skip_serializing_if = "Option::is_none")]
    confidence_reason: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifLocation {
    /// Set on related locations, which SARIF identifies by number.
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<usize>,
    physical_location: PhysicalLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Message>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region>,
    #[serde(skip_serializing_if = "Option::is_none")]
    context_region: Option<Region>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri_base_id: Option<&'static str>,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_column: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_column: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    snippet: Option<ArtifactContent>,
}

#[derive(Serialize)]
struct ArtifactContent {
    text: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CodeFlow {
    thread_flows: [ThreadFlow; 1],
}

#[derive(Serialize)]
struct ThreadFlow {
    locations: Vec<ThreadFlowLocation>,
}

#[derive(Serialize)]
struct ThreadFlowLocation {
    location: SarifLocation,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation {
    execution_successful: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_execution_notifications: Vec<Notification>,
    properties: InvocationProperties,
}

#[derive(Serialize)]
struct Notification {
    level: &'static str,
    message: Message,
    locations: [SarifLocation; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InvocationProperties {
    files_scanned: u64,
    files_skipped: u64,
    bytes_scanned: u64,
    duration_ms: u64,
    suppressed: u64,
    /// Findings below `min_severity`, counted but not listed as results.
    hidden: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    min_severity: Option<Severity>,
}

pub(super) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &log(report))?;
    writeln!(out)
}

fn log(report: &Report) -> Log {
    let (semantic_version, version) = if is_semver(&report.tool_version) {
        (Some(report.tool_version.clone()), None)
    } else if report
        .tool_version
        .starts_with(|c: char| c.is_ascii_digit())
    {
        (None, Some(report.tool_version.clone()))
    } else {
        // The validator wants a version that starts with a number (SARIF2005); a build without
        // one says nothing rather than something misleading.
        (None, None)
    };
    let mut original_uri_base_ids = BTreeMap::new();
    if let Some(uri) = root_uri(&report.root) {
        original_uri_base_ids.insert(
            SRCROOT,
            ArtifactLocation {
                uri,
                uri_base_id: None,
            },
        );
    }
    let stats = &report.stats;
    let rules = descriptors(report);
    let results = report
        .findings
        .iter()
        .map(|f| result(report, &rules, f))
        .collect();
    Log {
        schema: SARIF_SCHEMA,
        version: "2.1.0",
        runs: [Run {
            tool: Tool {
                driver: Driver {
                    name: "miniguard",
                    information_uri: Some(INFORMATION_URI).filter(|u| !u.is_empty()),
                    semantic_version,
                    version,
                    rules,
                },
            },
            original_uri_base_ids,
            invocations: [Invocation {
                execution_successful: true,
                tool_execution_notifications: report
                    .warnings
                    .iter()
                    .map(|w| Notification {
                        level: "warning",
                        message: Message::sentence(&w.message),
                        locations: [SarifLocation {
                            id: None,
                            physical_location: PhysicalLocation {
                                artifact_location: artifact(&w.path),
                                region: w.position.filter(|p| p.line > 0).map(|p| Region {
                                    start_line: p.line,
                                    start_column: (p.column > 0).then_some(p.column),
                                    ..Region::default()
                                }),
                                context_region: None,
                            },
                            message: None,
                        }],
                    })
                    .collect(),
                properties: InvocationProperties {
                    files_scanned: stats.files_scanned,
                    files_skipped: stats.files_skipped,
                    bytes_scanned: stats.bytes_scanned,
                    duration_ms: stats.duration_ms,
                    suppressed: stats.suppressed,
                    hidden: stats.hidden,
                    min_severity: stats.min_severity,
                },
            }],
            automation_details: (!report.command.is_empty()).then(|| AutomationDetails {
                id: format!("miniguard/{}/", report.command),
            }),
            column_kind: "unicodeCodePoints",
            results,
        }],
    }
}

/// The id of the rule a result is filed under. Code scanning takes a result's security
/// severity from its rule, so a finding whose severity differs from its rule's default (an
/// advisory rated low under the dependency rule, a finding the runtime model lowered) is filed
/// under the sub-rule `CODE/severity` (SARIF's hierarchical rule ids), whose descriptor carries
/// that severity: a low advisory never shows as high.
fn rule_id(report: &Report, finding: &Finding) -> String {
    match report.rules.iter().find(|r| r.code == finding.rule) {
        Some(rule) if rule.severity != finding.severity => {
            format!("{}/{}", finding.rule, finding.severity.as_str())
        }
        _ => finding.rule.clone(),
    }
}

/// The rules that ran, then the sub-rules results are filed under (see [`rule_id`]).
fn descriptors(report: &Report) -> Vec<ReportingDescriptor> {
    let mut out: Vec<ReportingDescriptor> = report.rules.iter().map(descriptor).collect();
    let mut subs: Vec<(&RuleInfo, Severity)> = Vec::new();
    for f in &report.findings {
        if let Some(rule) = report.rules.iter().find(|r| r.code == f.rule)
            && rule.severity != f.severity
            && !subs
                .iter()
                .any(|(r, s)| r.code == rule.code && *s == f.severity)
        {
            subs.push((rule, f.severity));
        }
    }
    subs.sort_by(|a, b| (&a.0.code, a.1).cmp(&(&b.0.code, b.1)));
    for (rule, severity) in subs {
        let mut d = descriptor(rule);
        d.id = format!("{}/{}", rule.code, severity.as_str());
        d.default_configuration.level = severity.sarif_level();
        d.properties.security_severity = severity.security_severity();
        out.push(d);
    }
    out
}

fn descriptor(rule: &RuleInfo) -> ReportingDescriptor {
    let mut tags = vec![rule.category.as_str().to_owned(), "security".to_owned()];
    tags.extend(rule.cwe.iter().map(|n| format!("external/cwe/cwe-{n}")));
    let full = markdown::first_paragraph_of(&rule.docs, "What it finds")
        .unwrap_or_else(|| rule.summary.clone());
    let docs = if rule.docs.trim().is_empty() {
        &rule.summary
    } else {
        &rule.docs
    };
    ReportingDescriptor {
        id: rule.code.clone(),
        name: pascal_case(&rule.name),
        short_description: Message::sentence(&rule.summary),
        full_description: Message::sentence(&full),
        help: MultiformatMessage {
            text: docs.trim().to_owned(),
            markdown: docs.trim().to_owned(),
        },
        // The rule's page in the repository's docs/rules, beside the help text above.
        help_uri: (!INFORMATION_URI.is_empty())
            .then(|| format!("{INFORMATION_URI}/blob/main/docs/rules/{}.md", rule.code)),
        default_configuration: Configuration {
            level: rule.severity.sarif_level(),
        },
        properties: RuleProperties {
            tags,
            security_severity: rule.severity.security_severity(),
            precision: match rule.confidence {
                Confidence::High => "high",
                Confidence::Medium => "medium",
                Confidence::Low => "low",
            },
        },
    }
}

fn result(report: &Report, rules: &[ReportingDescriptor], finding: &Finding) -> SarifResult {
    let rule_id = rule_id(report, finding);
    let mut partial_fingerprints = BTreeMap::new();
    if !finding.fingerprint.is_empty() {
        partial_fingerprints.insert(SARIF_FINGERPRINT_KEY, finding.fingerprint.clone());
    }
    let code_flows = if finding.trace.is_empty() {
        Vec::new()
    } else {
        vec![CodeFlow {
            thread_flows: [ThreadFlow {
                locations: finding
                    .trace
                    .iter()
                    .map(|step| ThreadFlowLocation {
                        location: SarifLocation {
                            id: None,
                            physical_location: physical(&step.location),
                            message: Some(Message::sentence(&step.note)),
                        },
                    })
                    .collect(),
            }],
        }]
    };
    SarifResult {
        rule_index: rules.iter().position(|r| r.id == rule_id),
        rule_id,
        level: finding.severity.sarif_level(),
        message: Message::sentence(&finding.message),
        locations: [SarifLocation {
            id: None,
            physical_location: physical(&finding.location),
            message: None,
        }],
        partial_fingerprints,
        code_flows,
        related_locations: finding
            .related
            .iter()
            .enumerate()
            .map(|(i, related)| SarifLocation {
                id: Some(i + 1),
                physical_location: physical(&related.location),
                message: Some(Message::sentence(&related.note)),
            })
            .collect(),
        properties: ResultProperties {
            severity: finding.severity,
            confidence: finding.confidence,
            category: finding.category,
            dependency: finding.dependency.clone(),
            runtime: finding.runtime,
            severity_reason: finding
                .severity_reason
                .as_ref()
                .map(|t| t.as_str().to_owned()),
            confidence_reason: finding
                .confidence_reason
                .as_ref()
                .map(|t| t.as_str().to_owned()),
        },
    }
}

fn artifact(path: &str) -> ArtifactLocation {
    ArtifactLocation {
        uri: encode_path(path),
        uri_base_id: Some(SRCROOT),
    }
}

/// The physical location of `loc`, always with a fully expressed region (validator rule
/// SARIF2017 asks for start and end): an unknown position (line 0) becomes the empty region at
/// 1:1, an unknown column the start or end of its line, an end before the start the start. When
/// the snippet holds more than the region, the snippet lines become a context region.
///
/// The snippet is bounded first (see [`Location::bounded`]): on a long line it is a window, so
/// the context region then gets the window's columns, and the region's own `snippet` is given
/// only when the flagged text lies inside the window (a region's snippet is all of its text).
fn physical(loc: &Location) -> PhysicalLocation {
    let loc = loc.bounded();
    let loc = &*loc;
    let shift = loc.snippet_shift();
    let lines: Vec<&str> = if loc.start.line == 0 {
        Vec::new()
    } else {
        loc.snippet.lines().collect()
    };
    // A window of a long line: cut before (`shift`) or, when a line is as long as a window can
    // be, possibly after.
    let windowed = shift > 0 || lines.iter().any(|l| l.chars().count() >= MAX_SNIPPET_LINE);
    let start = Position {
        line: loc.start.line.max(1),
        column: loc.start.column.max(1),
    };
    let mut end = if loc.end.line == 0 || loc.start.line == 0 {
        Position {
            line: start.line,
            column: loc.end.column,
        }
    } else {
        loc.end
    };
    let span = (end.line.saturating_sub(start.line)) as usize + 1;
    let covered = lines.len() >= span;
    if end.column == 0 {
        end.column = if covered && !windowed {
            lines[span - 1].chars().count() as u32 + 1
        } else {
            start.column
        };
    }
    if end < start {
        end = start;
    }
    let span = (end.line - start.line) as usize + 1;
    let inside = !windowed
        || (span == 1
            && lines.first().is_some_and(|l| {
                start.column as usize > shift
                    && (end.column as usize).saturating_sub(1 + shift) <= l.chars().count()
            }));
    let region_text = (covered && inside)
        .then(|| {
            region_text(
                &lines,
                span,
                start.column - shift as u32,
                end.column - shift as u32,
            )
        })
        .filter(|t| !t.is_empty());
    let whole = lines.join("\n");
    // The lines around the flagged ones, when the location carries them (never for a window
    // of a long line).
    let before = loc.context_before.lines().count() as u32;
    let after = loc.context_after.lines().count() as u32;
    let context_region = match &region_text {
        Some(_) if !windowed && (before > 0 || after > 0) && before < start.line => {
            let mut text = String::new();
            for part in [&loc.context_before, &whole, &loc.context_after] {
                if part.is_empty() {
                    continue;
                }
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(part);
            }
            Some(Region {
                start_line: start.line - before,
                start_column: None,
                end_line: Some(start.line + lines.len() as u32 - 1 + after),
                end_column: None,
                snippet: Some(ArtifactContent { text }),
            })
        }
        Some(text) if *text != whole => {
            let last = start.line + lines.len() as u32 - 1;
            let (start_column, end_column) = if windowed {
                let last_len = lines.last().map_or(0, |l| l.chars().count()) as u32;
                let end_column = if lines.len() == 1 {
                    shift as u32 + last_len + 1
                } else {
                    last_len + 1
                };
                (Some(shift as u32 + 1), Some(end_column))
            } else {
                (None, None)
            };
            Some(Region {
                start_line: start.line,
                start_column,
                end_line: Some(last),
                end_column,
                snippet: Some(ArtifactContent { text: whole }),
            })
        }
        _ => None,
    };
    PhysicalLocation {
        artifact_location: artifact(&loc.path),
        region: Some(Region {
            start_line: start.line,
            start_column: Some(start.column),
            end_line: Some(end.line),
            end_column: Some(end.column),
            snippet: region_text.map(|text| ArtifactContent { text }),
        }),
        context_region,
    }
}

/// The text between 1-based `start_col` on the first of `lines` and the exclusive 1-based
/// `end_col` on line `span - 1` (columns of the snippet, not of the file).
fn region_text(lines: &[&str], span: usize, start_col: u32, end_col: u32) -> String {
    let mut text = String::new();
    for (i, line) in lines.iter().take(span).enumerate() {
        let from = if i == 0 {
            start_col.max(1) as usize - 1
        } else {
            0
        };
        let to = if i + 1 == span {
            end_col.max(1) as usize - 1
        } else {
            usize::MAX
        };
        if i > 0 {
            text.push('\n');
        }
        text.extend(
            line.chars()
                .enumerate()
                .filter(|(j, _)| *j >= from && *j < to)
                .map(|(_, c)| c),
        );
    }
    text
}

/// `insecure-http-endpoint` -> `InsecureHttpEndpoint` (SARIF asks rule names to be identifiers).
fn pascal_case(kebab: &str) -> String {
    kebab
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// `MAJOR.MINOR.PATCH` with an optional `-pre` / `+build` suffix.
fn is_semver(v: &str) -> bool {
    let core = v.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// A relative path as a URI reference: `/`-separated segments with everything but unreserved
/// characters percent-encoded (UTF-8), so that spaces, `#`, `%` and non-ASCII names survive.
fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else if b == b'\\' {
            out.push('/');
        } else {
            // Writing into a `String` cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The `file://` URI of an absolute scan root, ending with `/`; `None` for a relative root.
fn root_uri(root: &str) -> Option<String> {
    let bytes = root.as_bytes();
    let windows = bytes.len() >= 3
        && bytes[0].is_ascii_alphabetic()
        && bytes[1] == b':'
        && matches!(bytes[2], b'/' | b'\\');
    let path = if root.starts_with('/') && !root.starts_with("//") {
        encode_path(root)
    } else if windows {
        format!("/{}:{}", char::from(bytes[0]), encode_path(&root[2..]))
    } else {
        return None;
    };
    let path = path.trim_end_matches('/');
    Some(format!("file://{path}/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_pascal_case() {
        assert_eq!(
            pascal_case("insecure-http-endpoint"),
            "InsecureHttpEndpoint"
        );
        assert_eq!(pascal_case("sql-injection-2"), "SqlInjection2");
    }

    #[test]
    fn paths_are_percent_encoded() {
        assert_eq!(encode_path("pages/a b/#x%.js"), "pages/a%20b/%23x%25.js");
        assert_eq!(encode_path("页面/a.js"), "%E9%A1%B5%E9%9D%A2/a.js");
    }

    #[test]
    fn only_absolute_roots_get_a_base_uri() {
        assert_eq!(root_uri("/home/u/app"), Some("file:///home/u/app/".into()));
        assert_eq!(root_uri("/home/u/app/"), Some("file:///home/u/app/".into()));
        assert_eq!(root_uri("/"), Some("file:///".into()));
        assert_eq!(root_uri(r"C:\src\app"), Some("file:///C:/src/app/".into()));
        assert_eq!(root_uri("./app"), None);
        assert_eq!(root_uri("app"), None);
        assert_eq!(root_uri("//server/share"), None);
    }

    #[test]
    fn semver_detection() {
        assert!(is_semver("0.1.0"));
        assert!(is_semver("1.2.3-rc.1+g1234"));
        assert!(!is_semver("1.2"));
        assert!(!is_semver("dev"));
    }

    #[test]
    fn regions_are_always_complete_and_ordered() {
        let region = |start: (u32, u32), end: (u32, u32), snippet: &str| {
            let loc = Location {
                path: "a.js".into(),
                start: Position {
                    line: start.0,
                    column: start.1,
                },
                end: Position {
                    line: end.0,
                    column: end.1,
                },
                snippet: snippet.into(),
                snippet_column: 0,
                context_before: String::new(),
                context_after: String::new(),
            };
            let r = physical(&loc).region.unwrap();
            let text = r.snippet.map(|s| s.text);
            (r.start_line, r.start_column, r.end_line, r.end_column, text)
        };
        assert_eq!(
            region((0, 0), (0, 0), "x"),
            (1, Some(1), Some(1), Some(1), None)
        );
        assert_eq!(
            region((4, 0), (4, 0), "let a;"),
            (4, Some(1), Some(4), Some(7), Some("let a;".into()))
        );
        assert_eq!(
            region((4, 5), (4, 2), "let a;"),
            (4, Some(5), Some(4), Some(5), None)
        );
        assert_eq!(
            region((4, 5), (0, 0), "let a;"),
            (4, Some(5), Some(4), Some(7), Some("a;".into()))
        );
    }

    #[test]
    fn context_lines_make_the_context_region() {
        let loc = Location {
            path: "a.js".into(),
            start: Position { line: 3, column: 5 },
            end: Position { line: 3, column: 8 },
            snippet: "let x = 1;".into(),
            snippet_column: 0,
            context_before: "// one\n// two".into(),
            context_after: "f(x)".into(),
        };
        let ctx = physical(&loc).context_region.unwrap();
        assert_eq!((ctx.start_line, ctx.end_line), (1, Some(4)));
        assert_eq!(
            ctx.snippet.unwrap().text,
            "// one\n// two\nlet x = 1;\nf(x)"
        );
        // None without context lines when the region is the whole snippet line.
        let mut bare = loc.clone();
        bare.context_before.clear();
        bare.context_after.clear();
        bare.start.column = 1;
        bare.end.column = 0;
        assert!(physical(&bare).context_region.is_none());
    }

    #[test]
    fn region_text_cuts_columns() {
        assert_eq!(region_text(&["let x = eval(a);"], 1, 9, 16), "eval(a)");
        assert_eq!(region_text(&["foo(a,", "  b)"], 2, 1, 5), "foo(a,\n  b)");
    }
}
