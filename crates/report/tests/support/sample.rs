//! A small but complete report built by hand: two rules, three findings in two files (one with a
//! data-flow trace, one whose snippet and message carry markup and that has a related location
//! and a lowered severity), one warning, three findings below the minimum severity. Shared by the
//! render tests and the `sample_report` example.

use miniguard_report::{
    Category, Confidence, Finding, Location, Position, Related, Report, RuleInfo, Runtime,
    Severity, Stats, TraceStep, Warning, assign_fingerprints,
};

fn at(
    path: &str,
    (line, column): (u32, u32),
    (end_line, end_column): (u32, u32),
    snippet: &str,
) -> Location {
    Location {
        path: path.to_owned(),
        start: Position { line, column },
        end: Position {
            line: end_line,
            column: end_column,
        },
        snippet: snippet.to_owned(),
        snippet_column: 0,
        context_before: String::new(),
        context_after: String::new(),
    }
}

const T001_DOCS: &str = "\
## What it finds

Network requests (`wx.request`, `uni.request`, `my.request`, ...) to plain `http://` URLs.

## Why it matters

Anyone on the network path can read and change the traffic: session tokens, personal data.

## Example

```js
wx.request({ url: 'http://api.example.com/login' })
```

## Fix

Use `https://` and list the domain under the request domains of the mini-program.

## References

- [CWE-319: Cleartext Transmission of Sensitive Information](https://cwe.mitre.org/data/definitions/319.html)
";

const I001_DOCS: &str = "\
## What it finds

Cloud database queries whose filter comes from the client unchecked.

## Why it matters

A client can pass operators such as `_.neq(null)` and read every document.

## Example

```js
exports.main = async (event) => db.collection('users').where(event.filter).get()
```

## Fix

1. Build the filter on the server from checked scalar values.
2. Check the caller's `OPENID`.

## References

- [CWE-943](https://cwe.mitre.org/data/definitions/943.html)
";

pub fn sample_report() -> Report {
    let rules = vec![
        RuleInfo {
            code: "T001".into(),
            name: "insecure-http-endpoint".into(),
            category: Category::Transport,
            severity: Severity::High,
            confidence: Confidence::High,
            cwe: vec![319],
            summary: "Network request to a plain-HTTP URL".into(),
            docs: T001_DOCS.into(),
        },
        RuleInfo {
            code: "I001".into(),
            name: "cloud-db-query-injection".into(),
            category: Category::Injection,
            severity: Severity::Critical,
            confidence: Confidence::Medium,
            cwe: vec![943, 20],
            summary: "Client-controlled filter reaches a cloud database query.".into(),
            docs: I001_DOCS.into(),
        },
    ];
    let findings = vec![
        Finding {
            rule: "T001".into(),
            name: "insecure-http-endpoint".into(),
            category: Category::Transport,
            severity: Severity::High,
            confidence: Confidence::High,
            message: "Request to plain-HTTP URL `http://api.example.com/login`".into(),
            location: at(
                "pages/index/index.js",
                (12, 20),
                (12, 50),
                "\twx.request({ url: 'http://api.example.com/login' }) // 登录",
            ),
            help: Some("Use an `https://` URL.".into()),
            trace: vec![],
            fingerprint: String::new(),
            related: Vec::new(),
            runtime: None,
            confidence_reason: None,
            severity_reason: None,
            dependency: None,
        },
        Finding {
            rule: "T001".into(),
            name: "insecure-http-endpoint".into(),
            category: Category::Transport,
            severity: Severity::Medium,
            confidence: Confidence::High,
            message: "Request to plain-HTTP URL `http://cdn.example.com/<script>alert(1)</script>`"
                .into(),
            location: at(
                "pages/index/index.js",
                (20, 21),
                (20, 71),
                "  wx.request({ url: 'http://cdn.example.com/<script>alert(1)</script>' })",
            ),
            help: Some("Use an `https://` URL.".into()),
            trace: vec![],
            fingerprint: String::new(),
            related: vec![Related {
                location: at(
                    "pages/index/index.js",
                    (31, 21),
                    (31, 47),
                    "  wx.request({ url: 'http://cdn.example.com/a' })",
                ),
                note: "the same flaw: another URL of `cdn.example.com`".into(),
            }],
            runtime: Some(Runtime::MiniProgram),
            confidence_reason: None,
            severity_reason: Some(
                "a released mini-program only reaches configured HTTPS domains".into(),
            ),
            dependency: None,
        },
        Finding {
            rule: "I001".into(),
            name: "cloud-db-query-injection".into(),
            category: Category::Injection,
            severity: Severity::Critical,
            confidence: Confidence::Medium,
            message: "`event.filter` from the client reaches `db.collection('users').where`".into(),
            location: at(
                "cloudfunctions/login/index.js",
                (7, 10),
                (9, 11),
                "  return db.collection('users')\n    .where(filter)\n    .get()",
            ),
            help: Some("Build the query from checked scalar values.".into()),
            trace: vec![
                TraceStep {
                    location: at(
                        "cloudfunctions/login/index.js",
                        (3, 23),
                        (3, 28),
                        "exports.main = async (event) => {",
                    ),
                    note: "source: the cloud function's `event` parameter".into(),
                },
                TraceStep {
                    location: at(
                        "cloudfunctions/login/index.js",
                        (5, 9),
                        (5, 15),
                        "  const filter = event.filter",
                    ),
                    note: "assigned to `filter`".into(),
                },
                TraceStep {
                    location: at(
                        "cloudfunctions/login/index.js",
                        (8, 12),
                        (8, 18),
                        "    .where(filter)",
                    ),
                    note: "sink: `where` filter".into(),
                },
            ],
            fingerprint: String::new(),
            related: Vec::new(),
            runtime: None,
            confidence_reason: None,
            severity_reason: None,
            dependency: None,
        },
    ];
    let mut report = Report {
        tool_version: "0.1.0".into(),
        command: "scan".into(),
        root: "/home/dev/miniapp".into(),
        findings,
        warnings: vec![Warning {
            path: "pages/broken/broken.js".into(),
            position: Some(Position { line: 3, column: 7 }),
            message: "could not parse: Unexpected token `}`".into(),
        }],
        rules,
        stats: Stats {
            files_scanned: 12,
            files_skipped: 1,
            bytes_scanned: 34_567,
            duration_ms: 1_234,
            suppressed: 2,
            hidden: 3,
            min_severity: Some(Severity::Low),
            platform: Some("wechat".into()),
        },
    };
    report.sort();
    assign_fingerprints(&mut report.findings);
    report
}
