//! One self-contained HTML page for people: inline CSS, a few lines of inline JavaScript to filter
//! by severity and category (the page is complete without it), no fonts, images or scripts from
//! elsewhere, so it reads the same offline and from a CI artifact.
//!
//! Snippets, messages and paths come from the scanned code and are escaped without exception;
//! rule documentation goes through the small Markdown renderer in `markdown.rs`, which escapes
//! too. As a second wall, a Content-Security-Policy allows only the page's own style and script,
//! pinned by their SHA-256, so markup that slipped through escaping could still not run.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use sha2::{Digest, Sha256};

use super::{Summary, duration, markdown, placeholder, plural};
use crate::{Finding, Location, MAX_SNIPPET_LINE, Report, RuleInfo, i18n};

const CSS: &str = r#"
:root{color-scheme:light dark;--fg:#1f2328;--bg:#fff;--muted:#59636e;--line:#d1d9e0;--code:#f6f8fa;--mark:#ffe08a;
--critical:#8250df;--high:#cf222e;--medium:#9a6700;--low:#0969da;--info:#1b7c83}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--muted:#9198a1;--line:#3d444d;--code:#151b23;--mark:#6b4f00;
--critical:#ab7df8;--high:#f85149;--medium:#d29922;--low:#4493f8;--info:#39c5cf}}
*{box-sizing:border-box}[hidden]{display:none!important}
body{margin:0 auto;max-width:72rem;padding:1rem 1.5rem 3rem;font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg)}
h1{margin:.5rem 0}h2{border-bottom:1px solid var(--line);padding-bottom:.25rem;margin-top:2rem}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
pre{background:var(--code);border:1px solid var(--line);border-radius:6px;padding:.5rem .75rem;overflow-x:auto;tab-size:4}
mark{background:var(--mark);color:inherit;border-radius:2px}
.meta{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem;margin:0}.meta dt{color:var(--muted)}.meta dd{margin:0}
.badge{display:inline-block;padding:0 .5rem;border-radius:1rem;font-size:12px;font-weight:600;color:#fff;text-transform:uppercase}
.sev-critical{background:var(--critical)}.sev-high{background:var(--high)}.sev-medium{background:var(--medium)}.sev-low{background:var(--low)}.sev-info{background:var(--info)}
table{border-collapse:collapse}th,td{border:1px solid var(--line);padding:.2rem .6rem;text-align:right}th:first-child,td:first-child{text-align:left}
td.zero{color:var(--muted)}tr.total td{font-weight:600}
#filters{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;margin:.5rem 0 1rem}
#filters input{width:12rem}
.file h3{font-size:15px;margin:1.5rem 0 .5rem}
.finding{border:1px solid var(--line);border-left:4px solid var(--line);border-radius:6px;padding:.5rem 1rem;margin:.75rem 0}
.finding[data-severity=critical]{border-left-color:var(--critical)}.finding[data-severity=high]{border-left-color:var(--high)}
.finding[data-severity=medium]{border-left-color:var(--medium)}.finding[data-severity=low]{border-left-color:var(--low)}.finding[data-severity=info]{border-left-color:var(--info)}
.finding p{margin:.35rem 0}.message{font-weight:600}.where,.fp,.rule-meta{color:var(--muted);font-size:13px}
.ctx{opacity:.6}.ln{display:inline-block;min-width:3ch;margin-right:1ch;color:var(--muted);text-align:right;user-select:none}
.rule{border-top:1px solid var(--line);padding-top:.5rem}.docs h3,.docs h4,.docs h5,.docs h6{margin:1rem 0 .25rem}
footer{margin-top:3rem;color:var(--muted);font-size:13px}
"#;

const JS: &str = r"
(function () {
  var sev = document.getElementById('f-sev'), cat = document.getElementById('f-cat'),
      rule = document.getElementById('f-rule'), path = document.getElementById('f-path'),
      text = document.getElementById('f-text');
  var rank = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };
  var all = Array.prototype.slice.call(document.querySelectorAll('article.finding'));
  all.forEach(function (f) { f.searchText = f.textContent.toLowerCase(); });
  // Does finding f pass every filter, leaving out the one named `skip`?
  function passes(f, skip) {
    var p = path.value.trim().toLowerCase(), q = text.value.trim().toLowerCase();
    return (skip === 'sev' || rank[f.dataset.severity] >= (rank[sev.value] || 0)) &&
      (skip === 'cat' || cat.value === '' || f.dataset.category === cat.value) &&
      (skip === 'rule' || rule.value === '' || f.dataset.rule === rule.value) &&
      (p === '' || f.dataset.path.toLowerCase().indexOf(p) >= 0) &&
      (q === '' || f.searchText.indexOf(q) >= 0);
  }
  // Option labels count what choosing them would show, given the other filters.
  function recount(select, skip, key) {
    var counts = {}, any = 0;
    all.forEach(function (f) {
      if (passes(f, skip)) { counts[f.dataset[key]] = (counts[f.dataset[key]] || 0) + 1; any++; }
    });
    Array.prototype.forEach.call(select.options, function (o) {
      var n = o.value === '' ? any : (counts[o.value] || 0);
      o.textContent = (o.dataset.label || o.value) + ' (' + n + ')';
    });
  }
  function apply() {
    var shown = 0;
    document.querySelectorAll('section.file').forEach(function (file) {
      var here = 0;
      file.querySelectorAll('article.finding').forEach(function (f) {
        var ok = passes(f, '');
        f.hidden = !ok;
        if (ok) { here++; }
      });
      file.hidden = here === 0;
      shown += here;
    });
    recount(cat, 'cat', 'category');
    recount(rule, 'rule', 'rule');
    document.getElementById('f-count').textContent = String(shown);
  }
  [sev, cat, rule].forEach(function (e) { e.addEventListener('change', apply); });
  [path, text].forEach(function (e) { e.addEventListener('input', apply); });
  document.getElementById('filters').hidden = false;
  apply();
})();
";

/// `s` with `& < > " '` replaced by character references: safe in text and in quoted attributes.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Source text for a `<pre>`: escaped, with control and bidi characters shown as placeholders.
fn escape_code(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match placeholder(c) {
            Some(p) => out.push_str(&escape(&p)),
            None => out.push_str(&escape(&c.to_string())),
        }
    }
    out
}

/// An id fragment made only of `[A-Za-z0-9_-]`.
fn anchor(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The CSP source expression that pins `content`: `'sha256-<base64>'`.
fn csp_hash(content: &str) -> String {
    format!("'sha256-{}'", base64(&Sha256::digest(content.as_bytes())))
}

/// Standard base64 with padding (RFC 4648 section 4).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub(super) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(page(report).as_bytes())
}

// `write!` into a `String` cannot fail; its results are ignored throughout this function.
fn page(report: &Report) -> String {
    let mut h = String::with_capacity(16 * 1024);
    let root = escape(&report.root);
    let lang = i18n::current();
    let ui = i18n::ui(lang);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src {}; script-src {}\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>{}: {root}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        lang.tag(),
        csp_hash(CSS),
        csp_hash(JS),
        ui.report_title,
    );

    // Header.
    let stats = &report.stats;
    let _ = write!(
        h,
        "<header>\n<h1>{}</h1>\n<dl class=\"meta\">\n\
         <dt>{}</dt><dd><code>{root}</code></dd>\n{}\
         <dt>{}</dt><dd>{}</dd>\n\
         <dt>{}</dt><dd>{}{}</dd>\n\
         <dt>{}</dt><dd>{}</dd>\n{}\
         <dt>{}</dt><dd>{}</dd>\n\
         <dt>{}</dt><dd>{}</dd>\n\
         <dt>miniguard</dt><dd>{}</dd>\n</dl>\n",
        ui.report_title,
        ui.root,
        stats
            .platform
            .as_deref()
            .map_or_else(String::new, |p| format!(
                "<dt>{}</dt><dd>{}</dd>\n",
                ui.platform,
                escape(&i18n::platform(p, lang))
            )),
        ui.findings,
        report.findings.len(),
        ui.files_scanned,
        stats.files_scanned,
        if stats.files_skipped > 0 {
            format!(" ({} {})", stats.files_skipped, ui.skipped)
        } else {
            String::new()
        },
        ui.suppressed,
        stats.suppressed,
        if stats.hidden > 0 {
            let below = stats
                .min_severity
                .map_or_else(String::new, |min| match lang {
                    i18n::Lang::En => format!(" below {min}"),
                    i18n::Lang::ZhCn => format!("（低于{}）", i18n::severity(min, lang)),
                });
            format!(
                "<dt>{}</dt><dd>{}{below} (<code>--min-severity info</code>)</dd>\n",
                ui.not_shown, stats.hidden,
            )
        } else {
            String::new()
        },
        ui.warnings,
        report.warnings.len(),
        ui.duration,
        duration(stats.duration_ms),
        escape(&report.tool_version),
    );
    let summary = Summary::of(report);
    if !report.findings.is_empty() {
        h.push_str("<p class=\"totals\">");
        for &s in &summary.severities {
            let n = report.findings.iter().filter(|f| f.severity == s).count();
            let _ = write!(
                h,
                "<span class=\"badge sev-{s}\">{n} {}</span> ",
                i18n::severity(s, lang)
            );
        }
        h.push_str("</p>\n");
    }
    h.push_str("</header>\n<main>\n");

    // Summary table.
    let (category_head, total_head) = match lang {
        i18n::Lang::En => ("Category", "Total"),
        i18n::Lang::ZhCn => (ui.category, ui.total),
    };
    let _ = writeln!(h, "<section id=\"summary\">\n<h2>{}</h2>", ui.summary);
    if report.findings.is_empty() {
        let _ = writeln!(h, "<p>{}</p>", ui.no_findings);
    } else {
        let _ = write!(h, "<table>\n<thead><tr><th>{category_head}</th>");
        for s in &summary.severities {
            let _ = write!(h, "<th>{}</th>", i18n::severity(*s, lang));
        }
        let _ = write!(h, "<th>{total_head}</th></tr></thead>\n<tbody>\n");
        for &c in &summary.categories {
            let _ = write!(
                h,
                "<tr><td title=\"{}\">{}</td>",
                escape(c.title()),
                i18n::category(c, lang)
            );
            for &s in &summary.severities {
                let n = report.count(c, s);
                let class = if n == 0 { " class=\"zero\"" } else { "" };
                let _ = write!(h, "<td{class}>{n}</td>");
            }
            let total = report.findings.iter().filter(|f| f.category == c).count();
            let _ = writeln!(h, "<td>{total}</td></tr>");
        }
        let _ = write!(h, "<tr class=\"total\"><td>{}</td>", ui.total);
        for &s in &summary.severities {
            let n = report.findings.iter().filter(|f| f.severity == s).count();
            let _ = write!(h, "<td>{n}</td>");
        }
        let _ = writeln!(
            h,
            "<td>{}</td></tr>\n</tbody>\n</table>",
            report.findings.len()
        );
    }
    h.push_str("</section>\n");

    // Findings, grouped by file.
    if !report.findings.is_empty() {
        let (category_label, rule_label) = match lang {
            i18n::Lang::En => ("Category", "Rule"),
            i18n::Lang::ZhCn => (ui.category, ui.rule),
        };
        let _ = write!(
            h,
            "<section id=\"findings\">\n<h2>{}</h2>\n\
             <div id=\"filters\" hidden>\n\
             <label>{} <select id=\"f-sev\">",
            ui.findings, ui.min_severity
        );
        for s in crate::Severity::ALL.into_iter().rev() {
            let _ = write!(
                h,
                "<option value=\"{s}\">{}</option>",
                i18n::severity(s, lang)
            );
        }
        let _ = write!(
            h,
            "</select></label>\n\
             <label>{category_label} <select id=\"f-cat\"><option value=\"\" data-label=\"{}\">{0}</option>",
            ui.all
        );
        for c in &summary.categories {
            let _ = write!(
                h,
                "<option value=\"{c}\" data-label=\"{0}\">{0}</option>",
                i18n::category(*c, lang)
            );
        }
        let _ = write!(
            h,
            "</select></label>\n<label>{rule_label} <select id=\"f-rule\"><option value=\"\" data-label=\"{0}\">{0}</option>",
            ui.all
        );
        let mut codes: Vec<&str> = report.findings.iter().map(|f| f.rule.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        for code in codes {
            let _ = write!(h, "<option value=\"{0}\">{0}</option>", escape(code));
        }
        let _ = writeln!(
            h,
            "</select></label>\n\
             <label>{} <input id=\"f-path\" type=\"search\" placeholder=\"{}\"></label>\n\
             <label>{} <input id=\"f-text\" type=\"search\" placeholder=\"{}\"></label>\n\
             <span><span id=\"f-count\">{}</span> {}</span>\n</div>",
            ui.path,
            ui.path_hint,
            ui.search,
            ui.search_hint,
            report.findings.len(),
            ui.shown
        );
        // Findings whose code rarely runs for a user come after the others, in a section of
        // their own.
        let (likely, less): (Numbered, Numbered) = report
            .findings
            .iter()
            .enumerate()
            .partition(|(_, f)| !f.is_less_likely());
        write_files(&mut h, report, likely, lang);
        if !less.is_empty() {
            let _ = writeln!(
                h,
                "<section id=\"less-likely\">\n<h2>{} ({})</h2>\n<p class=\"where\">{}</p>",
                ui.less_likely,
                less.len(),
                ui.less_likely_why
            );
            write_files(&mut h, report, less, lang);
            h.push_str("</section>\n");
        }
        h.push_str("</section>\n");
    }

    // Warnings.
    if !report.warnings.is_empty() {
        let _ = writeln!(
            h,
            "<section id=\"warnings\">\n<h2>{}</h2>\n<ul>",
            ui.warnings
        );
        for w in &report.warnings {
            let place = match w.position {
                Some(p) => format!("{}:{}", w.path, p.line),
                None => w.path.clone(),
            };
            let _ = writeln!(
                h,
                "<li><code>{}</code>: {}</li>",
                escape(&place),
                markdown::code_spans(&w.message.in_lang(lang))
            );
        }
        h.push_str("</ul>\n</section>\n");
    }

    // Rule index.
    if !report.rules.is_empty() {
        let _ = writeln!(h, "<section id=\"rules\">\n<h2>{}</h2>", ui.rules);
        for rule in &report.rules {
            write_rule(&mut h, &i18n::localize(rule, lang), lang);
        }
        h.push_str("</section>\n");
    }

    let _ = write!(
        h,
        "</main>\n<footer>{}</footer>\n<script>{JS}</script>\n</body>\n</html>\n",
        i18n::fill(ui.generated_by, &[&escape(&report.tool_version)])
    );
    h
}

/// Findings with their index in the report.
type Numbered<'r> = Vec<(usize, &'r Finding)>;

/// The findings (numbered by their index in the report), grouped by file: files with the most
/// severe findings first; in a file, the most severe first, then by position. Numbers stay
/// those of the report's order (path, line), as in other formats.
fn write_files(h: &mut String, report: &Report, found: Numbered<'_>, lang: i18n::Lang) {
    let mut by_file: BTreeMap<&str, Vec<(usize, &Finding)>> = BTreeMap::new();
    for (i, f) in found {
        by_file.entry(&f.location.path).or_default().push((i, f));
    }
    let mut files: Vec<(&str, Vec<(usize, &Finding)>)> = by_file.into_iter().collect();
    for (_, findings) in &mut files {
        findings.sort_by(|(i, a), (j, b)| b.severity.cmp(&a.severity).then(i.cmp(j)));
    }
    files.sort_by(|(pa, a), (pb, b)| {
        let worst = |v: &Vec<(usize, &Finding)>| v.iter().map(|(_, f)| f.severity).max();
        worst(b)
            .cmp(&worst(a))
            .then(b.len().cmp(&a.len()))
            .then(pa.cmp(pb))
    });
    let root_uri = file_uri_root(&report.root);
    for (path, findings) in files {
        let name = match &root_uri {
            Some(root) => format!(
                "<a href=\"{}\"><code>{}</code></a>",
                escape(&format!("{root}/{}", percent_path(path))),
                escape(path)
            ),
            None => format!("<code>{}</code>", escape(path)),
        };
        let _ = writeln!(
            h,
            "<section class=\"file\">\n<h3>{name} ({})</h3>",
            count(findings.len(), "finding", "个问题", lang)
        );
        for (i, f) in findings {
            write_finding(h, report, i + 1, f, lang);
        }
        h.push_str("</section>\n");
    }
}

/// `3 findings` / `3 个问题`.
fn count(n: usize, english: &str, chinese: &str, lang: i18n::Lang) -> String {
    match lang {
        i18n::Lang::En => plural(n as u64, english),
        i18n::Lang::ZhCn => format!("{n} {chinese}"),
    }
}

fn write_finding(h: &mut String, report: &Report, number: usize, f: &Finding, lang: i18n::Lang) {
    let ui = i18n::ui(lang);
    let rule_link = if report.rule(&f.rule).is_some() {
        format!(
            "<a class=\"code\" href=\"#rule-{}\">{}</a>",
            anchor(&f.rule),
            escape(&f.rule)
        )
    } else {
        format!("<span class=\"code\">{}</span>", escape(&f.rule))
    };
    // In Chinese the headline is the rule's translated summary; the finding's own message,
    // which names the code's identifiers, follows it.
    let translated = (lang != i18n::Lang::En)
        .then(|| i18n::rule_text(lang, &f.rule))
        .flatten();
    let (headline, detail) = match translated {
        Some((summary, _)) => (
            escape(summary),
            format!(
                "<p class=\"detail\">{}</p>\n",
                markdown::code_spans(&f.message.in_lang(lang))
            ),
        ),
        None => (
            markdown::code_spans(&f.message.in_lang(lang)),
            String::new(),
        ),
    };
    let _ = write!(
        h,
        "<article class=\"finding\" id=\"finding-{number}\" data-severity=\"{}\" data-category=\"{}\" data-rule=\"{}\" data-path=\"{}\">\n\
         <p><span class=\"badge sev-{0}\">{}</span> {rule_link} <strong>{}</strong> \
         <span class=\"where\">{} {}</span></p>\n\
         <p class=\"message\">{}</p>\n{}<p class=\"where\"><code>{}</code></p>\n",
        f.severity,
        f.category,
        escape(&f.rule),
        escape(&f.location.path),
        i18n::severity(f.severity, lang),
        escape(&f.name),
        ui.confidence,
        i18n::confidence(f.confidence, lang),
        headline,
        detail,
        escape(&place(&f.location)),
    );
    if !f.location.snippet.is_empty() {
        h.push_str("<pre class=\"code\">");
        h.push_str(&code_frame(&f.location.bounded()));
        h.push_str("</pre>\n");
    }
    if let Some(help) = &f.help {
        let _ = writeln!(
            h,
            "<p class=\"help\"><strong>{}</strong> {}</p>",
            ui.help,
            markdown::code_spans(&help.in_lang(lang))
        );
    }
    if let Some(reason) = &f.severity_reason {
        let _ = writeln!(
            h,
            "<p class=\"where\">{} {}</p>",
            i18n::fill(ui.severity_here, &[i18n::severity(f.severity, lang)]),
            markdown::code_spans(&reason.in_lang(lang))
        );
    }
    if let Some(reason) = &f.confidence_reason {
        let _ = writeln!(
            h,
            "<p class=\"where\">{} {}</p>",
            i18n::fill(ui.confidence_here, &[i18n::confidence(f.confidence, lang)]),
            markdown::code_spans(&reason.in_lang(lang))
        );
    }
    if !f.related.is_empty() {
        let _ = writeln!(
            h,
            "<details class=\"related\" open>\n<summary>{} ({})</summary>\n<ul>",
            ui.same_flaw,
            count(f.related.len(), "place", "处", lang)
        );
        for related in &f.related {
            let _ = writeln!(
                h,
                "<li><code>{}</code>: {}</li>",
                escape(&place(&related.location)),
                markdown::code_spans(&related.note.in_lang(lang))
            );
        }
        h.push_str("</ul>\n</details>\n");
    }
    if !f.trace.is_empty() {
        let _ = writeln!(
            h,
            "<details class=\"trace\" open>\n<summary>{} ({})</summary>\n<ol>",
            ui.data_flow,
            count(f.trace.len(), "step", "步", lang)
        );
        for step in &f.trace {
            let _ = writeln!(
                h,
                "<li><code>{}</code>: {}</li>",
                escape(&place(&step.location)),
                markdown::code_spans(&step.note.in_lang(lang))
            );
        }
        h.push_str("</ol>\n</details>\n");
    }
    if !f.fingerprint.is_empty() {
        let _ = writeln!(
            h,
            "<p class=\"fp\">{} <code>{}</code></p>",
            ui.fingerprint,
            escape(&f.fingerprint)
        );
    }
    h.push_str("</article>\n");
}

fn write_rule(h: &mut String, rule: &RuleInfo, lang: i18n::Lang) {
    let ui = i18n::ui(lang);
    let cwe: Vec<String> = rule
        .cwe
        .iter()
        .map(|n| {
            format!(
                "<a href=\"https://cwe.mitre.org/data/definitions/{n}.html\" rel=\"noopener noreferrer\">CWE-{n}</a>"
            )
        })
        .collect();
    let _ = write!(
        h,
        "<section class=\"rule\" id=\"rule-{}\">\n<h3>{} {}</h3>\n\
         <p class=\"rule-meta\"><span class=\"badge sev-{}\">{}</span> {} &middot; {} {}{}</p>\n\
         <p>{}</p>\n",
        anchor(&rule.code),
        escape(&rule.code),
        escape(&rule.name),
        rule.severity,
        i18n::severity(rule.severity, lang),
        i18n::category(rule.category, lang),
        ui.confidence,
        i18n::confidence(rule.confidence, lang),
        if cwe.is_empty() {
            String::new()
        } else {
            format!(" &middot; {}", cwe.join(", "))
        },
        markdown::code_spans(&rule.summary),
    );
    if !rule.docs.trim().is_empty() {
        let _ = write!(
            h,
            "<div class=\"docs\">\n{}</div>\n",
            markdown::to_html(&rule.docs, 2)
        );
    }
    h.push_str("</section>\n");
}

/// `path:line:col`, or less when the position is unknown.
/// `file://` URI of an absolute scan root (no trailing slash), for links to the files; `None`
/// for a relative root, which has no meaning where the report is opened.
fn file_uri_root(root: &str) -> Option<String> {
    let root = root.trim_end_matches('/');
    root.starts_with('/')
        .then(|| format!("file://{}", percent_path(root)))
}

/// A `/`-separated path with every byte outside unreserved characters and `/` percent-encoded.
fn percent_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn place(loc: &Location) -> String {
    match (loc.start.line, loc.start.column) {
        (0, _) => loc.path.clone(),
        (line, 0) => format!("{}:{line}", loc.path),
        (line, column) => format!("{}:{line}:{column}", loc.path),
    }
}

/// The snippet lines with line numbers, the flagged region wrapped in `<mark>`. The location
/// must be bounded (see [`Location::bounded`]); a window cut out of a long line shows `…` where
/// it was cut.
fn code_frame(loc: &Location) -> String {
    let mut h = String::new();
    // A few lines around the flagged ones, dimmed (a bounded location has only short ones).
    let context = |h: &mut String, text: &str, first: usize| {
        for (i, line) in text.lines().enumerate() {
            let _ = writeln!(
                h,
                "<span class=\"ctx\"><span class=\"ln\">{}</span>{}</span>",
                first + i,
                escape_code(line)
            );
        }
    };
    let before = loc.context_before.lines().count();
    context(
        &mut h,
        &loc.context_before,
        (loc.start.line as usize).saturating_sub(before),
    );
    let region_lines = loc.end.line.saturating_sub(loc.start.line) as usize;
    let shift = loc.snippet_shift();
    for (i, line) in loc.snippet.lines().enumerate() {
        let number = loc.start.line as usize + i;
        let chars: Vec<char> = line.chars().collect();
        let (from, to) = if i == 0 && region_lines == 0 {
            loc.first_line_range(chars.len())
        } else if i == 0 {
            (
                (loc.start.column.max(1) as usize - 1)
                    .saturating_sub(shift)
                    .min(chars.len()),
                chars.len(),
            )
        } else if i < region_lines {
            (0, chars.len())
        } else if i == region_lines {
            (0, (loc.end.column.max(1) as usize - 1).min(chars.len()))
        } else {
            (0, 0)
        };
        let _ = write!(h, "<span class=\"ln\">{number}</span>");
        if i == 0 && shift > 0 {
            h.push('…');
        }
        let at = |a: usize, b: usize| -> String {
            escape_code(
                &chars[a.min(chars.len())..b.min(chars.len())]
                    .iter()
                    .collect::<String>(),
            )
        };
        h.push_str(&at(0, from));
        if to > from {
            let _ = write!(h, "<mark>{}</mark>", at(from, to));
        }
        h.push_str(&at(to.max(from), chars.len()));
        if chars.len() >= MAX_SNIPPET_LINE {
            h.push('…');
        }
        h.push('\n');
    }
    context(
        &mut h,
        &loc.context_after,
        loc.start.line as usize + loc.snippet.lines().count(),
    );
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Position;

    #[test]
    fn escapes_everything_that_matters() {
        assert_eq!(
            escape(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
        assert_eq!(escape_code("a\u{202E}b"), "a&lt;U+202E&gt;b");
        assert_eq!(anchor("T001\"><x"), "T001___x");
    }

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected);
        }
    }

    #[test]
    fn code_frame_marks_the_region() {
        let loc = |s: u32, el: u32, e: u32, snippet: &str| Location {
            path: "a.js".into(),
            start: Position { line: 3, column: s },
            end: Position {
                line: el,
                column: e,
            },
            snippet: snippet.into(),
            snippet_column: 0,
            context_before: String::new(),
            context_after: String::new(),
        };
        assert_eq!(
            code_frame(&loc(5, 3, 8, "let <b> = 1;")),
            "<span class=\"ln\">3</span>let <mark>&lt;b&gt;</mark> = 1;\n"
        );
        let mut with_context = loc(5, 3, 8, "let <b> = 1;");
        with_context.context_before = "// a\n// b".into();
        with_context.context_after = "c()".into();
        assert_eq!(
            code_frame(&with_context),
            "<span class=\"ctx\"><span class=\"ln\">1</span>// a</span>\n\
             <span class=\"ctx\"><span class=\"ln\">2</span>// b</span>\n\
             <span class=\"ln\">3</span>let <mark>&lt;b&gt;</mark> = 1;\n\
             <span class=\"ctx\"><span class=\"ln\">4</span>c()</span>\n"
        );
        assert_eq!(
            code_frame(&loc(3, 4, 3, "f(a,\n  b)\nx")),
            "<span class=\"ln\">3</span>f(<mark>a,</mark>\n\
             <span class=\"ln\">4</span><mark>  </mark>b)\n\
             <span class=\"ln\">5</span>x\n"
        );
    }
}
