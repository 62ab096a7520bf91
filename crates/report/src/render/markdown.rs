//! Just enough Markdown for rule documentation: ATX headings, paragraphs, fenced code blocks,
//! bullet and numbered lists, inline code, `**strong**` and links to `http(s)` URLs. Everything
//! else comes out as escaped text; no raw HTML passes through, and a link to any other scheme
//! (`javascript:`, `data:`, relative) is rendered as its text only.
//!
//! `write!` into a `String` cannot fail, so its results are ignored here.

use std::fmt::Write as _;

use super::html::escape;

/// The first paragraph under the heading whose text is `heading` (case-insensitive), joined into
/// one line.
pub(super) fn first_paragraph_of(docs: &str, heading: &str) -> Option<String> {
    let mut lines = docs.lines();
    lines.by_ref().find(|line| {
        heading_of(line).is_some_and(|(_, text)| text.eq_ignore_ascii_case(heading))
    })?;
    let paragraph: Vec<&str> = lines
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| !l.trim().is_empty() && heading_of(l).is_none() && fence_of(l).is_none())
        .map(str::trim)
        .collect();
    (!paragraph.is_empty()).then(|| paragraph.join(" "))
}

/// `(level, text)` of an ATX heading line.
fn heading_of(line: &str) -> Option<(usize, &str)> {
    let line = line.trim_start();
    let level = line.bytes().take_while(|&b| b == b'#').count();
    if !(1..=6).contains(&level) {
        return None;
    }
    let rest = &line[level..];
    if rest.is_empty() {
        return Some((level, ""));
    }
    rest.starts_with([' ', '\t'])
        .then(|| (level, rest.trim().trim_end_matches('#').trim_end()))
}

/// The fence (```` ``` ```` or `~~~`, at least three) that opens or closes a code block.
fn fence_of(line: &str) -> Option<&str> {
    let line = line.trim_start();
    for marker in ["```", "~~~"] {
        if line.starts_with(marker) {
            let c = marker.as_bytes()[0];
            let len = line.bytes().take_while(|&b| b == c).count();
            return Some(&line[..len]);
        }
    }
    None
}

/// `(ordered, item text)` of a list item line.
fn list_item_of(line: &str) -> Option<(bool, &str)> {
    let line = line.trim_start();
    for bullet in ["- ", "* ", "+ "] {
        if let Some(rest) = line.strip_prefix(bullet) {
            return Some((false, rest));
        }
    }
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    if (1..=9).contains(&digits) {
        let rest = &line[digits..];
        if let Some(rest) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            return Some((true, rest));
        }
    }
    None
}

/// `docs` as HTML; a Markdown heading of level `n` becomes `<h{n + shift}>` (at most `<h6>`).
pub(super) fn to_html(docs: &str, shift: usize) -> String {
    let mut html = String::new();
    let mut paragraph: Vec<&str> = Vec::new();
    // The open list: whether it is ordered, and its items (each a list of lines).
    let mut list: Option<(bool, Vec<Vec<&str>>)> = None;
    let mut lines = docs.lines();

    while let Some(line) = lines.next() {
        if let Some(fence) = fence_of(line) {
            flush_paragraph(&mut html, &mut paragraph);
            flush_list(&mut html, &mut list);
            let lang = line.trim_start()[fence.len()..].trim();
            let mut code = String::new();
            for inner in lines.by_ref() {
                let t = inner.trim_start();
                if t.starts_with(fence) && t[fence.len()..].trim().is_empty() {
                    break;
                }
                code.push_str(inner);
                code.push('\n');
            }
            if lang.is_empty() {
                html.push_str("<pre><code>");
            } else {
                let _ = write!(
                    html,
                    "<pre><code data-lang=\"{}\">",
                    escape(lang.split_whitespace().next().unwrap_or(""))
                );
            }
            html.push_str(&escape(&code));
            html.push_str("</code></pre>\n");
        } else if line.trim().is_empty() {
            flush_paragraph(&mut html, &mut paragraph);
            // A blank line ends a list only if what follows is not another item; keeping it open
            // is harmless because the next non-item line flushes it.
        } else if let Some((level, text)) = heading_of(line) {
            flush_paragraph(&mut html, &mut paragraph);
            flush_list(&mut html, &mut list);
            let n = (level + shift).min(6);
            let _ = writeln!(html, "<h{n}>{}</h{n}>", inline(text));
        } else if let Some((ordered, text)) = list_item_of(line) {
            flush_paragraph(&mut html, &mut paragraph);
            match &mut list {
                Some((o, items)) if *o == ordered => items.push(vec![text]),
                _ => {
                    flush_list(&mut html, &mut list);
                    list = Some((ordered, vec![vec![text]]));
                }
            }
        } else if let (Some((_, items)), true, true) = (
            &mut list,
            line.starts_with([' ', '\t']),
            paragraph.is_empty(),
        ) {
            // An indented continuation line of the last item.
            if let Some(last) = items.last_mut() {
                last.push(line.trim());
            }
        } else {
            flush_list(&mut html, &mut list);
            paragraph.push(line.trim());
        }
    }
    flush_paragraph(&mut html, &mut paragraph);
    flush_list(&mut html, &mut list);
    html
}

fn flush_paragraph(html: &mut String, paragraph: &mut Vec<&str>) {
    if !paragraph.is_empty() {
        let _ = writeln!(html, "<p>{}</p>", inline(&paragraph.join("\n")));
        paragraph.clear();
    }
}

fn flush_list(html: &mut String, list: &mut Option<(bool, Vec<Vec<&str>>)>) {
    if let Some((ordered, items)) = list.take() {
        let tag = if ordered { "ol" } else { "ul" };
        let _ = writeln!(html, "<{tag}>");
        for item in items {
            let _ = writeln!(html, "<li>{}</li>", inline(&item.join("\n")));
        }
        let _ = writeln!(html, "</{tag}>");
    }
}

/// Inline markup of one block's text, escaped.
fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '`' {
            let ticks = rest.bytes().take_while(|&b| b == b'`').count();
            let fence = &rest[..ticks];
            if let Some(end) = rest[ticks..].find(fence) {
                let code = &rest[ticks..ticks + end];
                let _ = write!(out, "<code>{}</code>", escape(code.trim()));
                rest = &rest[ticks + end + ticks..];
                continue;
            }
            out.push_str(fence);
            rest = &rest[ticks..];
            continue;
        }
        if c == '['
            && let Some((label, url, len)) = link_at(rest)
        {
            if is_web_url(url) {
                let _ = write!(
                    out,
                    "<a href=\"{}\" rel=\"noopener noreferrer\">{}</a>",
                    escape(url),
                    inline(label)
                );
            } else {
                out.push_str(&inline(label));
            }
            rest = &rest[len..];
            continue;
        }
        if let Some(after) = rest.strip_prefix("**")
            && let Some(end) = after.find("**").filter(|&e| e > 0)
        {
            let _ = write!(out, "<strong>{}</strong>", inline(&after[..end]));
            rest = &after[end + 2..];
            continue;
        }
        out.push_str(&escape(&rest[..c.len_utf8()]));
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// `text` escaped, with `` `code` `` spans as `<code>`: for messages, which quote code and may
/// quote attacker-chosen text, so they get no links or other markup.
pub(super) fn code_spans(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(start) = rest.find('`') {
        out.push_str(&escape(&rest[..start]));
        let after = &rest[start + 1..];
        match after.find('`') {
            Some(end) if end > 0 => {
                let _ = write!(out, "<code>{}</code>", escape(&after[..end]));
                rest = &after[end + 1..];
            }
            _ => {
                out.push('`');
                rest = after;
            }
        }
    }
    out.push_str(&escape(rest));
    out
}

/// A `[label](url)` at the start of `s`: the label, the URL and the byte length of the whole.
fn link_at(s: &str) -> Option<(&str, &str, usize)> {
    let close = s.find("](")?;
    let label = &s[1..close];
    if label.contains(['[', ']']) {
        return None;
    }
    let url_start = close + 2;
    let url_len = s[url_start..].find(')')?;
    let url = s[url_start..url_start + url_len].trim();
    Some((label, url, url_start + url_len + 1))
}

/// Only absolute `http`/`https` URLs become links.
fn is_web_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://"))
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCS: &str = "## What it finds\n\nRequests to `http://` URLs.\nMore here.\n\n\
        ## Why it matters\n\nText <b>bold</b> & **strong**.\n\n\
        ## Example\n\n```js\nwx.request({ url: 'http://x' }) // <script>\n```\n\n\
        ## References\n\n- [CWE-319](https://cwe.mitre.org/data/definitions/319.html)\n\
        - [bad](javascript:alert)\n  continued\n1. one\n2. two\n";

    #[test]
    fn finds_the_first_paragraph() {
        assert_eq!(
            first_paragraph_of(DOCS, "what it finds").as_deref(),
            Some("Requests to `http://` URLs. More here.")
        );
        assert_eq!(first_paragraph_of(DOCS, "Fix"), None);
    }

    #[test]
    fn renders_blocks_and_escapes() {
        let html = to_html(DOCS, 2);
        assert!(html.contains("<h4>What it finds</h4>"));
        assert!(html.contains("<p>Requests to <code>http://</code> URLs.\nMore here.</p>"));
        assert!(html.contains("Text &lt;b&gt;bold&lt;/b&gt; &amp; <strong>strong</strong>."));
        assert!(html.contains(
            "<pre><code data-lang=\"js\">wx.request({ url: &#39;http://x&#39; }) // &lt;script&gt;\n</code></pre>"
        ));
        assert!(html.contains(
            "<li><a href=\"https://cwe.mitre.org/data/definitions/319.html\" rel=\"noopener noreferrer\">CWE-319</a></li>"
        ));
        assert!(html.contains("<li>bad\ncontinued</li>"));
        assert!(!html.contains("javascript"));
        assert!(html.contains("<ol>\n<li>one</li>\n<li>two</li>\n</ol>"));
    }

    #[test]
    fn messages_get_code_spans_only() {
        assert_eq!(
            code_spans("`a<b>` to [x](https://e.x) ``"),
            "<code>a&lt;b&gt;</code> to [x](https://e.x) ``"
        );
        assert_eq!(code_spans("odd ` tick"), "odd ` tick");
    }

    #[test]
    fn hostile_markup_stays_text() {
        let html = to_html(
            "<script>alert(1)</script>\n\n[x\" onclick=\"y](https://a.b/\"q)",
            0,
        );
        assert!(!html.contains("<script"));
        assert!(!html.contains("\" onclick"));
        assert!(html.contains("&lt;script&gt;"));
    }
}
