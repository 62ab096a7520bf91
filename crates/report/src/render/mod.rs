//! Renderers: one module per output format. Each takes a finished, sorted [`crate::Report`] and
//! writes into any `std::io::Write`.
//!
//! Everything a report carries that came from a scanned file (snippets, messages that quote code,
//! paths) is attacker-controlled. The renderers therefore never pass it through raw: the text
//! renderer replaces terminal control characters and bidirectional overrides with visible
//! placeholders (so a snippet cannot recolour the terminal or hide code, "Trojan Source"), the
//! HTML renderer escapes every byte of it, and JSON/SARIF rely on `serde_json` string escaping.

use std::io;

use crate::Report;

mod html;
mod json;
mod markdown;
mod sarif;
mod text;

pub use json::JSON_SCHEMA_VERSION;
pub use sarif::{SARIF_FINGERPRINT_KEY, SARIF_SCHEMA};

/// The output formats of `miniguard scan --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Sarif,
    Html,
}

/// Options for the text renderer.
#[derive(Clone, Copy, Debug, Default)]
pub struct TextOptions {
    /// Emit ANSI colours.
    pub color: bool,
}

/// Render `report` in `format` into `out`.
pub fn render(
    report: &Report,
    format: Format,
    text: TextOptions,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    match format {
        Format::Text => text::render(report, text, out),
        Format::Json => json::render(report, out),
        Format::Sarif => sarif::render(report, out),
        Format::Html => html::render(report, out),
    }
}

/// The visible stand-in for a character that must not reach a terminal or a page as itself:
/// C0/C1 control characters (except tab), DEL, and the Unicode bidirectional controls used to
/// make code read differently from how it runs (CVE-2021-42574).
pub(crate) fn placeholder(c: char) -> Option<String> {
    let dangerous = (c.is_control() && c != '\t')
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        );
    dangerous.then(|| format!("<U+{:04X}>", u32::from(c)))
}

/// `s` with every character [`placeholder`] flags replaced by its placeholder; tabs and newlines
/// become spaces (use this for one-line fields such as messages and paths).
pub(crate) fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\t' | '\n' => out.push(' '),
            '\r' => {}
            _ => match placeholder(c) {
                Some(p) => out.push_str(&p),
                None => out.push(c),
            },
        }
    }
    out
}

/// `s` trimmed and ending with a period (SARIF asks messages to be complete sentences).
pub(crate) fn sentence(s: &str) -> String {
    let s = s.trim_end();
    if s.is_empty() {
        return String::new();
    }
    if s.ends_with('.') {
        s.to_owned()
    } else {
        format!("{s}.")
    }
}

/// Counts for the summary table: the categories and severities that occur, in display order.
pub(crate) struct Summary {
    pub categories: Vec<crate::Category>,
    pub severities: Vec<crate::Severity>,
}

impl Summary {
    pub fn of(report: &Report) -> Summary {
        let categories = crate::Category::ALL
            .into_iter()
            .filter(|c| report.findings.iter().any(|f| f.category == *c))
            .collect();
        let severities = crate::Severity::ALL
            .into_iter()
            .filter(|s| report.findings.iter().any(|f| f.severity == *s))
            .collect();
        Summary {
            categories,
            severities,
        }
    }
}

/// "1.23 s" or "340 ms".
pub(crate) fn duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{}.{:02} s", ms / 1000, (ms % 1000) / 10)
    }
}

/// `n` followed by `word`, with an `s` unless `n == 1`.
pub(crate) fn plural(n: impl Into<u64>, word: &str) -> String {
    let n = n.into();
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Location, Position};

    #[test]
    fn placeholders_hide_controls_and_bidi() {
        assert_eq!(one_line("a\u{1b}[31mb"), "a<U+001B>[31mb");
        assert_eq!(one_line("x\u{202E}y\tz\n"), "x<U+202E>y z ");
        assert_eq!(placeholder('a'), None);
        assert_eq!(placeholder('\t'), None);
        assert_eq!(placeholder('中'), None);
    }

    #[test]
    fn sentences_end_with_a_period() {
        assert_eq!(sentence("Bad thing"), "Bad thing.");
        assert_eq!(sentence("Bad thing.  "), "Bad thing.");
        assert_eq!(sentence(""), "");
    }

    #[test]
    fn ranges_are_clamped() {
        let range = |len, start: (u32, u32), end: (u32, u32), column| {
            Location {
                start: Position {
                    line: start.0,
                    column: start.1,
                },
                end: Position {
                    line: end.0,
                    column: end.1,
                },
                snippet_column: column,
                context_before: String::new(),
                context_after: String::new(),
                ..Location::default()
            }
            .first_line_range(len)
        };
        assert_eq!(range(10, (1, 3), (1, 6), 0), (2, 5));
        assert_eq!(range(10, (1, 3), (2, 1), 0), (2, 10));
        assert_eq!(range(10, (1, 3), (1, 3), 0), (2, 3));
        assert_eq!(range(4, (1, 9), (1, 12), 0), (4, 5));
        assert_eq!(range(4, (0, 0), (0, 0), 0), (0, 1));
        // A window that starts at column 101 of the line.
        assert_eq!(range(240, (1, 181), (1, 190), 101), (80, 89));
    }

    #[test]
    fn durations_and_plurals() {
        assert_eq!(duration(340), "340 ms");
        assert_eq!(duration(1234), "1.23 s");
        assert_eq!(plural(1u64, "file"), "1 file");
        assert_eq!(plural(2u64, "file"), "2 files");
    }
}
