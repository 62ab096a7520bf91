//! The human format, modelled on rustc and ruff: one block per finding with a code frame, then the
//! warnings, then a summary table.
//!
//! ```text
//! high[T001] insecure-http-endpoint: Request to plain-HTTP URL `http://api.example.com/login`
//!   --> pages/index/index.js:12:20
//!    |
//! 12 |     wx.request({ url: 'http://api.example.com/login' })
//!    |                       ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
//!    |
//!    = help: Use an `https://` URL.
//! ```
//!
//! Colours come from `anstyle` and are only emitted when [`TextOptions::color`] is set; without
//! them the output is plain text whose only non-ASCII characters are those of the scanned code.

use std::io::{self, Write};

use anstyle::{AnsiColor, Color, Style};

use super::{Summary, TextOptions, duration, one_line, placeholder, plural};
use crate::{Finding, Location, MAX_SNIPPET_LINE, Report, Severity, i18n};

/// Code frames show at most this many snippet lines.
const MAX_FRAME_LINES: usize = 6;

/// Tabs in code frames are expanded to this many spaces so that underlines line up.
const TAB_WIDTH: usize = 4;

/// The palette; every style is plain when colours are off.
struct Palette {
    color: bool,
}

impl Palette {
    fn severity(&self, severity: Severity) -> Style {
        let color = match severity {
            Severity::Critical => AnsiColor::BrightMagenta,
            Severity::High => AnsiColor::BrightRed,
            Severity::Medium => AnsiColor::BrightYellow,
            Severity::Low => AnsiColor::BrightBlue,
            Severity::Info => AnsiColor::BrightCyan,
        };
        self.pick(Style::new().bold().fg_color(Some(Color::Ansi(color))))
    }

    fn gutter(&self) -> Style {
        self.pick(
            Style::new()
                .bold()
                .fg_color(Some(Color::Ansi(AnsiColor::BrightBlue))),
        )
    }

    fn warning(&self) -> Style {
        self.pick(
            Style::new()
                .bold()
                .fg_color(Some(Color::Ansi(AnsiColor::BrightYellow))),
        )
    }

    fn bold(&self) -> Style {
        self.pick(Style::new().bold())
    }

    fn dim(&self) -> Style {
        self.pick(Style::new().dimmed())
    }

    fn pick(&self, style: Style) -> Style {
        if self.color { style } else { Style::new() }
    }
}

/// `text` wrapped in `style` (a plain style renders nothing around it).
fn paint(style: Style, text: &str) -> String {
    format!("{}{text}{}", style.render(), style.render_reset())
}

pub(super) fn render(report: &Report, options: TextOptions, out: &mut dyn Write) -> io::Result<()> {
    let palette = Palette {
        color: options.color,
    };
    // Findings whose code rarely runs for a user come after the others, under a heading.
    let (likely, less): (Vec<&Finding>, Vec<&Finding>) =
        report.findings.iter().partition(|f| !f.is_less_likely());
    for finding in likely {
        write_finding(&palette, finding, out)?;
        writeln!(out)?;
    }
    if !less.is_empty() {
        let ui = i18n::ui(i18n::current());
        writeln!(
            out,
            "{} ({}): {}",
            paint(palette.bold(), ui.less_likely),
            less.len(),
            ui.less_likely_why
        )?;
        writeln!(out)?;
        for finding in less {
            write_finding(&palette, finding, out)?;
            writeln!(out)?;
        }
    }
    for warning in &report.warnings {
        let place = match warning.position {
            Some(p) => format!("{}:{}", one_line(&warning.path), p.line),
            None => one_line(&warning.path),
        };
        let lang = i18n::current();
        writeln!(
            out,
            "{}{}{place}: {}",
            paint(palette.warning(), i18n::ui(lang).warning_label),
            i18n::ui(lang).colon,
            one_line(&warning.message.in_lang(lang))
        )?;
    }
    if !report.warnings.is_empty() {
        writeln!(out)?;
    }
    write_summary(&palette, report, out)
}

fn write_finding(palette: &Palette, finding: &Finding, out: &mut dyn Write) -> io::Result<()> {
    let sev = palette.severity(finding.severity);
    let bold = palette.bold();
    let lang = i18n::current();
    let words = i18n::ui(lang);
    // In Chinese the headline is the rule's translated summary; the finding's own message,
    // which names the code's identifiers, follows it.
    let translated = (lang != i18n::Lang::En)
        .then(|| i18n::rule_text(lang, &finding.rule))
        .flatten();
    writeln!(
        out,
        "{}{}{}{}",
        paint(
            sev,
            &format!(
                "{}[{}]",
                i18n::severity(finding.severity, lang),
                one_line(&finding.rule)
            )
        ),
        paint(bold, &format!(" {}", one_line(&finding.name))),
        words.colon,
        paint(
            bold,
            &one_line(&translated.map_or_else(
                || finding.message.in_lang(lang),
                |(summary, _)| summary.into()
            ))
        ),
    )?;
    if translated.is_some() {
        writeln!(
            out,
            "  {}{}",
            words.detail,
            one_line(&finding.message.in_lang(lang))
        )?;
    }

    let loc = finding.location.bounded();
    let loc = &*loc;
    let lines: Vec<&str> = loc.snippet.lines().take(MAX_FRAME_LINES).collect();
    let last_line = loc.start.line as usize + lines.len().saturating_sub(1);
    let width = last_line.to_string().len();
    let gutter = palette.gutter();
    let pad = " ".repeat(width);
    let bar = paint(gutter, "|");

    writeln!(out, "{pad}{} {}", paint(gutter, "-->"), place(loc))?;
    if !lines.is_empty() {
        writeln!(out, "{pad} {bar}")?;
        for (i, line) in lines.iter().enumerate() {
            let number = loc.start.line as usize + i;
            let (code, underline) = frame_line(line, (i == 0).then_some(loc));
            writeln!(
                out,
                "{} {bar} {}",
                paint(gutter, &format!("{number:>width$}")),
                code.trim_end()
            )?;
            if let Some((offset, len)) = underline {
                writeln!(
                    out,
                    "{pad} {bar} {}{}",
                    " ".repeat(offset),
                    paint(sev, &"^".repeat(len))
                )?;
            }
        }
        if loc.snippet.lines().count() > MAX_FRAME_LINES {
            writeln!(out, "{pad} {bar} {}", paint(palette.dim(), "..."))?;
        }
        writeln!(out, "{pad} {bar}")?;
    }

    let eq = paint(gutter, "=");
    if let Some(help) = &finding.help {
        writeln!(
            out,
            "{pad} {eq} {}{}{}",
            paint(bold, words.help_label),
            words.colon,
            one_line(&help.in_lang(lang))
        )?;
    }
    if let Some(reason) = &finding.severity_reason {
        writeln!(
            out,
            "{pad} {eq} {}{}{}",
            paint(bold, words.severity_label),
            words.colon,
            i18n::fill(
                words.level_here,
                &[
                    i18n::severity(finding.severity, lang),
                    &one_line(&reason.in_lang(lang))
                ]
            )
        )?;
    }
    if let Some(reason) = &finding.confidence_reason {
        writeln!(
            out,
            "{pad} {eq} {}{}{}",
            paint(bold, words.confidence),
            words.colon,
            i18n::fill(
                words.level_here,
                &[
                    i18n::confidence(finding.confidence, lang),
                    &one_line(&reason.in_lang(lang))
                ]
            )
        )?;
    }
    if !finding.related.is_empty() {
        writeln!(
            out,
            "{pad} {eq} {}{}{}",
            paint(bold, words.note_label),
            words.colon,
            words.same_flaw_note
        )?;
        let indent = " ".repeat(width + " = note: ".len());
        for related in &finding.related {
            writeln!(
                out,
                "{indent}- {}: {}",
                place(&related.location),
                one_line(&related.note.in_lang(lang))
            )?;
        }
    }
    if !finding.trace.is_empty() {
        writeln!(
            out,
            "{pad} {eq} {}{}{}",
            paint(bold, words.note_label),
            words.colon,
            words.data_flow_note
        )?;
        let indent = " ".repeat(width + " = note: ".len());
        for (i, step) in finding.trace.iter().enumerate() {
            writeln!(
                out,
                "{indent}{}. {}: {}",
                i + 1,
                place(&step.location),
                one_line(&step.note.in_lang(lang))
            )?;
        }
    }
    Ok(())
}

/// `path:line:col`, or less when the position is unknown.
fn place(loc: &Location) -> String {
    let path = one_line(&loc.path);
    match (loc.start.line, loc.start.column) {
        (0, _) => path,
        (line, 0) => format!("{path}:{line}"),
        (line, column) => format!("{path}:{line}:{column}"),
    }
}

/// One code-frame line ready to print (tabs expanded, dangerous characters replaced) and, for
/// the first line, the display offset and width of its underline.
fn frame_line(line: &str, loc: Option<&Location>) -> (String, Option<(usize, usize)>) {
    let chars: Vec<char> = line.chars().collect();
    let range = loc.map(|l| l.first_line_range(chars.len()));
    let mut code = String::with_capacity(line.len() + 6);
    let (mut col, mut from_col, mut to_col) = (0usize, None, None);
    // A window cut out of a long line says so at the ends that were cut.
    if loc.is_some_and(|l| l.snippet_shift() > 0) {
        code.push('…');
        col += 1;
    }
    for (i, &c) in chars.iter().enumerate() {
        if range.is_some_and(|(from, _)| from == i) {
            from_col = Some(col);
        }
        if range.is_some_and(|(_, to)| to == i) {
            to_col = Some(col);
        }
        if c == '\t' {
            let n = TAB_WIDTH - col % TAB_WIDTH;
            code.push_str(&" ".repeat(n));
            col += n;
        } else if let Some(p) = placeholder(c) {
            col += p.len();
            code.push_str(&p);
        } else {
            code.push(c);
            col += char_width(c);
        }
    }
    if loc.is_some() && chars.len() >= MAX_SNIPPET_LINE {
        code.push('…');
    }
    let underline = range.map(|(_, to)| {
        // A bound at the end of the line has no character to record its column at.
        let start = from_col.unwrap_or(col);
        let end = to_col.unwrap_or(col + to.saturating_sub(chars.len()));
        (start, end.saturating_sub(start).max(1))
    });
    (code, underline)
}

/// Terminal columns a character takes: 2 for East Asian wide characters (common in mini-program
/// sources), 0 for combining marks, 1 otherwise. An approximation of `unicode-width` that is good
/// enough to place an underline.
fn char_width(c: char) -> usize {
    match u32::from(c) {
        0x0300..=0x036F | 0x200B..=0x200D | 0xFE00..=0xFE0F => 0,
        0x1100..=0x115F
        | 0x2E80..=0x303E
        | 0x3041..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x1F300..=0x1F64F
        | 0x1F900..=0x1F9FF
        | 0x20000..=0x3FFFD => 2,
        _ => 1,
    }
}

fn write_summary(palette: &Palette, report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let bold = palette.bold();
    let stats = &report.stats;
    let lang = i18n::current();
    let ui = i18n::ui(lang);
    if report.findings.is_empty() {
        let none = match stats.min_severity {
            Some(min) if stats.hidden > 0 => {
                i18n::fill(ui.no_findings_at_or_above, &[i18n::severity(min, lang)])
            }
            _ => ui.no_findings.to_owned(),
        };
        writeln!(out, "{}", paint(bold, &none))?;
    } else {
        let summary = Summary::of(report);
        let mut header = vec![ui.category.to_owned()];
        header.extend(
            summary
                .severities
                .iter()
                .map(|s| i18n::severity(*s, lang).to_owned()),
        );
        header.push(ui.total.to_owned());
        let mut rows = Vec::new();
        for &category in &summary.categories {
            let mut row = vec![i18n::category(category, lang).to_owned()];
            row.extend(
                summary
                    .severities
                    .iter()
                    .map(|&s| report.count(category, s).to_string()),
            );
            let total = report
                .findings
                .iter()
                .filter(|f| f.category == category)
                .count();
            row.push(total.to_string());
            rows.push(row);
        }
        let mut total = vec![ui.total.to_owned()];
        total.extend(summary.severities.iter().map(|&s| {
            report
                .findings
                .iter()
                .filter(|f| f.severity == s)
                .count()
                .to_string()
        }));
        total.push(report.findings.len().to_string());

        let widths: Vec<usize> = (0..header.len())
            .map(|i| {
                std::iter::once(&header)
                    .chain(&rows)
                    .chain(std::iter::once(&total))
                    .map(|r| r[i].chars().map(char_width).sum::<usize>())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: &[String], style_of: &dyn Fn(usize) -> Style| -> String {
            let mut s = String::from(" ");
            for (i, cell) in cells.iter().enumerate() {
                // Padded by display width: a Chinese character takes two columns.
                let pad = " ".repeat(widths[i].saturating_sub(cell.chars().map(char_width).sum()));
                let text = if i == 0 {
                    format!(" {cell}{pad}")
                } else {
                    format!("  {pad}{cell}")
                };
                s.push_str(&paint(style_of(i), &text));
            }
            s
        };
        writeln!(out, "{}", paint(bold, &format!("{}:", ui.summary)))?;
        writeln!(
            out,
            "{}",
            line(&header, &|i| {
                if i == 0 || i == header.len() - 1 {
                    bold
                } else {
                    palette.severity(summary.severities[i - 1])
                }
            })
        )?;
        for row in &rows {
            writeln!(
                out,
                "{}",
                line(row, &|i| {
                    if row[i] == "0" {
                        palette.dim()
                    } else {
                        Style::new()
                    }
                })
            )?;
        }
        writeln!(out, "{}", line(&total, &|_| bold))?;
        writeln!(out)?;
        writeln!(
            out,
            "{}",
            paint(
                bold,
                &match lang {
                    i18n::Lang::En => {
                        i18n::fill(
                            ui.found,
                            &[&plural(report.findings.len() as u64, "finding")],
                        )
                    }
                    i18n::Lang::ZhCn => {
                        i18n::fill(ui.found, &[&report.findings.len().to_string()])
                    }
                }
            )
        )?;
    }

    let parts = match lang {
        i18n::Lang::En => {
            let mut parts = Vec::new();
            if let Some(p) = &stats.platform {
                parts.push(format!("{} project", i18n::platform(p, lang)));
            }
            parts.push(format!("{} scanned", plural(stats.files_scanned, "file")));
            if stats.files_skipped > 0 {
                parts.push(format!("{} skipped", stats.files_skipped));
            }
            parts.push(format!("{} suppressed", stats.suppressed));
            if stats.hidden > 0 {
                let below = stats
                    .min_severity
                    .map_or_else(String::new, |min| format!(" below {min}"));
                parts.push(format!(
                    "{}{below} not shown (--min-severity info shows them)",
                    stats.hidden
                ));
            }
            if !report.warnings.is_empty() {
                parts.push(plural(report.warnings.len() as u64, "warning"));
            }
            parts.push(format!("took {}", duration(stats.duration_ms)));
            parts
        }
        i18n::Lang::ZhCn => {
            let mut parts = Vec::new();
            if let Some(p) = &stats.platform {
                parts.push(format!("{}项目", i18n::platform(p, lang)));
            }
            parts.push(format!("扫描 {} 个文件", stats.files_scanned));
            if stats.files_skipped > 0 {
                parts.push(format!("跳过 {} 个", stats.files_skipped));
            }
            parts.push(format!("抑制 {} 个", stats.suppressed));
            if stats.hidden > 0 {
                let below = stats.min_severity.map_or_else(String::new, |min| {
                    format!("低于{}的 ", i18n::severity(min, lang))
                });
                parts.push(format!(
                    "{below}{} 个未显示（--min-severity info 可显示）",
                    stats.hidden
                ));
            }
            if !report.warnings.is_empty() {
                parts.push(format!("{} 条警告", report.warnings.len()));
            }
            parts.push(format!("耗时 {}", duration(stats.duration_ms)));
            parts
        }
    };
    let sep = if lang == i18n::Lang::En { ", " } else { "，" };
    writeln!(out, "{}", parts.join(sep))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Position;

    fn loc(line: u32, start: u32, end_line: u32, end: u32) -> Location {
        Location {
            path: "a.js".into(),
            start: Position {
                line,
                column: start,
            },
            end: Position {
                line: end_line,
                column: end,
            },
            snippet: String::new(),
            snippet_column: 0,
            context_before: String::new(),
            context_after: String::new(),
        }
    }

    #[test]
    fn underline_follows_tabs_and_wide_chars() {
        let (code, u) = frame_line("\tx = 1", Some(&loc(1, 2, 1, 3)));
        assert_eq!(code, "    x = 1");
        assert_eq!(u, Some((4, 1)));
        let (code, u) = frame_line("'中文' + y", Some(&loc(1, 7, 1, 8)));
        assert_eq!(code, "'中文' + y");
        assert_eq!(u, Some((8, 1)));
    }

    #[test]
    fn multi_line_regions_underline_to_end_of_line() {
        let (_, u) = frame_line("foo(bar,", Some(&loc(1, 5, 3, 2)));
        assert_eq!(u, Some((4, 4)));
    }

    #[test]
    fn escape_sequences_in_code_are_neutralised() {
        let (code, u) = frame_line("a\u{1b}[2Jb", Some(&loc(1, 3, 1, 4)));
        assert_eq!(code, "a<U+001B>[2Jb");
        assert_eq!(u, Some((9, 1)));
        assert!(!code.contains('\u{1b}'));
    }

    #[test]
    fn columns_past_the_end_still_underline() {
        let (_, u) = frame_line("ab", Some(&loc(1, 5, 1, 9)));
        assert_eq!(u, Some((2, 1)));
    }
}
