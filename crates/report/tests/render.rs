//! Snapshot tests of every output format on a small, complete, hand-built report.

mod support {
    pub mod sample;
}

use miniguard_report::render::{Format, JSON_SCHEMA_VERSION, TextOptions, render};
use miniguard_report::{Report, Stats};
use serde_json::Value;
use support::sample::sample_report;

fn rendered(report: &Report, format: Format, color: bool) -> String {
    let mut out = Vec::new();
    render(report, format, TextOptions { color }, &mut out).expect("rendering into a Vec");
    String::from_utf8(out).expect("renderers write UTF-8")
}

fn empty_report() -> Report {
    Report {
        tool_version: "0.1.0".into(),
        root: "./miniapp".into(),
        stats: Stats {
            files_scanned: 3,
            duration_ms: 42,
            ..Stats::default()
        },
        ..Report::default()
    }
}

/// `s` without ANSI escape sequences (`ESC [ ... final byte`).
fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn text() {
    insta::assert_snapshot!(rendered(&sample_report(), Format::Text, false));
}

#[test]
fn text_without_findings() {
    insta::assert_snapshot!(rendered(&empty_report(), Format::Text, false));
}

#[test]
fn text_colour_only_adds_escape_sequences() {
    let report = sample_report();
    let plain = rendered(&report, Format::Text, false);
    let colored = rendered(&report, Format::Text, true);
    assert!(!plain.contains('\u{1b}'));
    assert!(colored.contains("\u{1b}["));
    assert_eq!(strip_ansi(&colored), plain);
}

#[test]
fn text_neutralises_terminal_escapes_in_code() {
    let mut report = sample_report();
    let finding = &mut report.findings[0];
    finding.location.snippet = "  x = '\u{1b}]0;pwned\u{7}' \u{202E} // \u{9b}".into();
    finding.message = "evil \u{1b}[2J message".into();
    let text = rendered(&report, Format::Text, false);
    assert!(!text.contains('\u{1b}'));
    assert!(!text.contains('\u{202E}'));
    assert!(!text.contains('\u{9b}'));
    assert!(text.contains("<U+001B>]0;pwned<U+0007>' <U+202E> // <U+009B>"));
    assert!(text.contains("evil <U+001B>[2J message"));
}

#[test]
fn json() {
    insta::assert_snapshot!(rendered(&sample_report(), Format::Json, false));
}

#[test]
fn json_round_trips_with_a_version() {
    let report = sample_report();
    let json = rendered(&report, Format::Json, false);
    assert!(json.starts_with("{\n  \"version\": 1,\n"));
    let mut value: Value = serde_json::from_str(&json).unwrap();
    let object = value.as_object_mut().unwrap();
    assert_eq!(
        object.remove("version"),
        Some(Value::from(JSON_SCHEMA_VERSION))
    );
    let back: Report = serde_json::from_value(value).unwrap();
    assert_eq!(back, report);
}

#[test]
fn sarif() {
    let sarif = rendered(&sample_report(), Format::Sarif, false);
    // Left in the test's scratch directory for `.ci/validate-sarif.sh`.
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("sarif-sample.sarif");
    std::fs::write(&path, &sarif).unwrap();
    insta::assert_snapshot!(sarif);
}

#[test]
fn sarif_follows_the_code_scanning_conventions() {
    let report = sample_report();
    let log: Value = serde_json::from_str(&rendered(&report, Format::Sarif, false)).unwrap();
    assert_eq!(log["version"], "2.1.0");
    assert_eq!(
        log["$schema"],
        "https://json.schemastore.org/sarif-2.1.0.json"
    );
    let run = &log["runs"][0];
    // scan and deps uploads are kept apart by code scanning.
    assert_eq!(run["automationDetails"]["id"], "miniguard/scan/");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    // The two rules that ran, and the sub-rule of the T001 finding rated medium, not high.
    assert_eq!(rules.len(), 3);
    assert_eq!(rules[2]["id"], "T001/medium");
    assert_eq!(rules[2]["properties"]["security-severity"], "5.5");
    assert_eq!(rules[2]["defaultConfiguration"]["level"], "warning");
    assert_eq!(rules[0]["properties"]["security-severity"], "8.0");
    for rule in rules {
        let uri = rule["helpUri"].as_str().unwrap();
        let code = rule["id"].as_str().unwrap().split('/').next().unwrap();
        assert!(uri.ends_with(&format!("/docs/rules/{code}.md")), "{uri}");
    }
    assert_eq!(
        rules[1]["properties"]["tags"],
        serde_json::json!([
            "injection",
            "security",
            "external/cwe/cwe-943",
            "external/cwe/cwe-20"
        ])
    );
    assert_eq!(rules[1]["properties"]["security-severity"], "9.5");
    assert_eq!(rules[1]["properties"]["precision"], "medium");
    assert_eq!(rules[1]["name"], "CloudDbQueryInjection");

    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    for (result, finding) in results.iter().zip(&report.findings) {
        let index = usize::try_from(result["ruleIndex"].as_u64().unwrap()).unwrap();
        assert_eq!(rules[index]["id"], result["ruleId"]);
        assert!(result["message"]["text"].as_str().unwrap().ends_with('.'));
        assert_eq!(
            result["partialFingerprints"]["miniguardFingerprint/v1"],
            finding.fingerprint.as_str()
        );
        assert_eq!(result["level"], finding.severity.sarif_level());
    }
    let flow = &results[0]["codeFlows"][0]["threadFlows"][0]["locations"];
    assert_eq!(flow.as_array().unwrap().len(), 3);
    assert!(results[1].get("codeFlows").is_none());
    assert_eq!(
        run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"],
        "could not parse: Unexpected token `}`."
    );
}

#[test]
fn sarif_without_findings_or_absolute_root() {
    let log: Value =
        serde_json::from_str(&rendered(&empty_report(), Format::Sarif, false)).unwrap();
    let run = &log["runs"][0];
    assert_eq!(run["results"], serde_json::json!([]));
    assert!(run.get("originalUriBaseIds").is_none());
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);
}

#[test]
fn html_has_the_content_and_nothing_external() {
    let html = rendered(&sample_report(), Format::Html, false);
    for needle in [
        "<!DOCTYPE html>",
        "<title>miniguard report: /home/dev/miniapp</title>",
        "<h2>Summary</h2>",
        "<section class=\"file\">\n<h3><a href=\"file:///home/dev/miniapp/cloudfunctions/login/index.js\"><code>cloudfunctions/login/index.js</code></a> (1 finding)</h3>",
        "<code>pages/index/index.js</code></a> (2 findings)</h3>",
        "data-severity=\"critical\" data-category=\"injection\" data-rule=\"I001\" data-path=\"cloudfunctions/login/index.js\"",
        "<select id=\"f-rule\"><option value=\"\" data-label=\"all\">all</option><option value=\"I001\">I001</option><option value=\"T001\">T001</option></select>",
        "<input id=\"f-path\" type=\"search\"",
        "<input id=\"f-text\" type=\"search\"",
        "<a class=\"code\" href=\"#rule-T001\">T001</a>",
        "<section class=\"rule\" id=\"rule-I001\">",
        "<h4>What it finds</h4>",
        "<li>Build the filter on the server from checked scalar values.</li>",
        "Data flow, source first (3 steps)",
        "<code>cloudfunctions/login/index.js:3:23</code>: source: the cloud function&#39;s <code>event</code> parameter</li>",
        "<code>pages/broken/broken.js:3</code>: could not parse",
        "<span class=\"ln\">12</span>\twx.request({ url: <mark>&#39;http://api.example.com/login&#39;</mark> }) // 登录",
        "<p class=\"message\"><code>event.filter</code> from the client reaches",
        "Content-Security-Policy",
    ] {
        assert!(html.contains(needle), "missing {needle:?}");
    }
    // Triage order: the file with the critical finding first; in a file, high before medium.
    let pos = |needle: &str| html.find(needle).unwrap();
    assert!(
        pos("<code>cloudfunctions/login/index.js</code>")
            < pos("<code>pages/index/index.js</code>")
    );
    let index = &html[pos("<code>pages/index/index.js</code>")..];
    assert!(
        index.find("data-severity=\"high\"").unwrap()
            < index.find("data-severity=\"medium\"").unwrap()
    );
    // A relative root has no place where the report is opened: no links then.
    let mut relative = sample_report();
    relative.root = "./miniapp".into();
    let html_relative = rendered(&relative, Format::Html, false);
    assert!(!html_relative.contains("file://"));
    assert!(html_relative.contains("<h3><code>pages/index/index.js</code> (2 findings)</h3>"));
    // Offline and self-contained: nothing is loaded from anywhere.
    for external in ["<link", " src=", "@import", "url(", "<img", "<iframe"] {
        assert!(!html.contains(external), "found {external:?}");
    }
}

#[test]
fn html_escapes_code_and_messages() {
    let mut report = sample_report();
    report.findings[0].help = Some("<img src=x onerror=alert(1)>".into());
    report.root = "</title><script>alert(1)</script>".into();
    let html = rendered(&report, Format::Html, false);
    // The one script element is the page's own filter script.
    assert_eq!(html.matches("<script").count(), 1);
    assert!(!html.contains("<img"));
    assert!(html.contains("cdn.example.com/&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(html.contains("&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
}

#[test]
fn html_without_findings() {
    let html = rendered(&empty_report(), Format::Html, false);
    assert!(html.contains("<p>No findings.</p>"));
    assert!(!html.contains("id=\"findings\""));
}

/// Runs Microsoft's SARIF validator on the sample; needs node, npm and network on first use.
#[test]
#[ignore = "needs npm and network: run with `cargo test -p miniguard-report -- --ignored`"]
fn sarif_passes_the_official_validator() {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("sarif-validate.sarif");
    std::fs::write(&path, rendered(&sample_report(), Format::Sarif, false)).unwrap();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.ci/validate-sarif.sh");
    let status = std::process::Command::new("bash")
        .arg(script)
        .arg(&path)
        .status()
        .expect("running bash");
    assert!(status.success(), "the SARIF validator reported problems");
}

/// A finding on a one-line minified file of 800 KB, as a producer that did not bound its snippet
/// (the dependency audit reading a copied bundle) would hand it over: every format stays small.
/// Issue 10 item 6: such a finding used to print the whole line, and a caret line as long.
#[test]
fn a_finding_on_a_minified_line_stays_small_in_every_format() {
    let filler = "var a=function(b){return b+1};".repeat(800 * 1024 / 30);
    let flagged = "'http://api.example.com/v1'";
    let line = format!("{filler}wx.request({{url:{flagged}}});{filler}");
    let column = u32::try_from(filler.chars().count() + "wx.request({url:".len() + 1).unwrap();
    let mut report = sample_report();
    report.findings.truncate(1);
    report.findings[0].trace.clear();
    let location = &mut report.findings[0].location;
    location.start = miniguard_report::Position { line: 1, column };
    location.end = miniguard_report::Position {
        line: 1,
        column: column + u32::try_from(flagged.len()).unwrap(),
    };
    location.snippet = line;
    for format in [Format::Text, Format::Json, Format::Sarif, Format::Html] {
        let out = rendered(&report, format, false);
        // The sample's rule documentation is part of every format but text; the finding itself
        // must add little to it.
        assert!(
            out.len() < 64 * 1024,
            "{format:?}: {} bytes for one finding",
            out.len()
        );
        assert!(
            out.contains("http://api.example.com/v1"),
            "{format:?}: the window shows the flagged code"
        );
    }

    let text = rendered(&report, Format::Text, false);
    let frame: Vec<&str> = text.lines().skip(3).take(2).collect();
    let code = frame[0].split_once("| ").unwrap().1;
    let carets = frame[1].split_once("| ").unwrap().1;
    assert!(code.starts_with('…') && code.ends_with('…'), "{code}");
    // The carets sit under the flagged text.
    let at = carets.find('^').unwrap();
    let under: String = code
        .chars()
        .skip(carets[..at].chars().count())
        .take(flagged.len())
        .collect();
    assert_eq!(under, flagged);

    let json: Value = serde_json::from_str(&rendered(&report, Format::Json, false)).unwrap();
    let location = &json["findings"][0]["location"];
    let snippet = location["snippet"].as_str().unwrap();
    let snippet_column = location["snippet_column"].as_u64().unwrap();
    assert_eq!(snippet.chars().count(), miniguard_report::MAX_SNIPPET_LINE);
    let offset = usize::try_from(u64::from(column) - snippet_column).unwrap();
    assert!(snippet[offset..].starts_with(flagged));

    let sarif: Value = serde_json::from_str(&rendered(&report, Format::Sarif, false)).unwrap();
    let physical = &sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"];
    assert_eq!(physical["region"]["snippet"]["text"], flagged);
    assert_eq!(physical["region"]["startColumn"], column);
    assert_eq!(physical["contextRegion"]["startColumn"], snippet_column);
    assert_eq!(
        physical["contextRegion"]["endColumn"],
        snippet_column + miniguard_report::MAX_SNIPPET_LINE as u64
    );
    assert_eq!(physical["contextRegion"]["snippet"]["text"], snippet);
}

/// A writer whose reader went away: every write fails as a closed pipe does.
struct ClosedPipe;

impl std::io::Write for ClosedPipe {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(std::io::ErrorKind::BrokenPipe.into())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `scan --format json | head -1` exits 0 only if the binary can tell a closed pipe from another
/// failure: the renderers keep the kind of the write error (JSON and SARIF used to wrap it).
#[test]
fn a_closed_pipe_stays_a_broken_pipe_in_every_format() {
    for format in [Format::Text, Format::Json, Format::Sarif, Format::Html] {
        let err = render(
            &sample_report(),
            format,
            TextOptions::default(),
            &mut ClosedPipe,
        )
        .expect_err("writing into a closed pipe fails");
        assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe, "{format:?}");
    }
}

/// Findings whose confidence reachability lowered come after the others in the text and HTML
/// reports, under a heading of their own, and say why in every format.
#[test]
fn less_likely_findings_are_listed_apart() {
    let mut report = sample_report();
    assert!(!rendered(&report, Format::Text, false).contains("Less likely"));
    // The first finding in report order: in a handler nothing binds.
    let reason = "handler not bound by any template";
    let first = &mut report.findings[0];
    first.confidence = miniguard_report::Confidence::Medium;
    first.confidence_reason = Some(reason.into());
    first.message = format!("{} ({reason})", first.message).into();
    let lowered = first.message.clone();

    let text = rendered(&report, Format::Text, false);
    let heading = text.find("Less likely (1): ").expect("heading");
    let at = text.find(lowered.as_str()).expect("lowered finding");
    assert!(heading < at, "{text}");
    for other in &report.findings[1..] {
        let other_at = text.find(other.message.as_str()).expect("other finding");
        assert!(other_at < heading, "{text}");
    }
    assert!(
        text.contains(&format!("= confidence: medium here: {reason}")),
        "{text}"
    );

    let html = rendered(&report, Format::Html, false);
    let section = html.find("<section id=\"less-likely\">").expect("section");
    let article = html.find("id=\"finding-1\"").expect("finding 1");
    assert!(section < article);
    for n in 2..=report.findings.len() {
        let other = html
            .find(&format!("id=\"finding-{n}\""))
            .expect("other finding");
        assert!(other < section, "finding-{n}");
    }
    assert!(html.contains("Confidence medium here:"));

    let sarif: Value =
        serde_json::from_str(&rendered(&report, Format::Sarif, false)).expect("json");
    let props = &sarif["runs"][0]["results"][0]["properties"];
    assert_eq!(props["confidence"], "medium");
    assert_eq!(props["confidenceReason"], reason);
    let json: Value = serde_json::from_str(&rendered(&report, Format::Json, false)).expect("json");
    assert_eq!(json["findings"][0]["confidence_reason"], reason);
    assert_eq!(json["findings"][1].get("confidence_reason"), None);
}
