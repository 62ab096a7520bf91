//! Rich text sanitized on write to what the mini-program `rich-text` component renders.
//!
//! The whitelist follows the component's documented trusted nodes: the tags below, the global
//! attributes `class` and `style` (no `id`), and per tag `col`/`colgroup` (`span`, `width`),
//! `img` (`alt`, `src`, `height`, `width`), `ol` (`start`, `type`), `table` (`width`), `td`/`th`
//! (`colspan`, `height`, `rowspan`, `width`), `ul` (`type`), `bdo` (`dir`). Everything else goes:
//! `<script>`/`<style>` with their content, event handlers, `id`, unknown tags (their text
//! stays, escaped). `img src` keeps only `http:`/`https:` URLs (no `javascript:`, `data:`,
//! relative or protocol-relative URLs). `style` keeps only declarations of a fixed set of
//! layout and typography properties whose values are plain (letters, digits, `#%.,-` and
//! spaces, and `rgb()`/`rgba()`/`hsl()`/`hsla()` colours): no `url(`, `expression(`,
//! `javascript:`, escapes or comments survive.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use ammonia::{Builder, UrlRelative};

/// Tags the `rich-text` component renders.
pub const TAGS: &[&str] = &[
    "a", "abbr", "address", "article", "aside", "b", "bdi", "bdo", "big", "caption", "cite",
    "code", "col", "colgroup", "dd", "del", "div", "dl", "dt", "em", "fieldset", "footer", "h1",
    "h2", "h3", "h4", "h5", "h6", "header", "hr", "i", "img", "ins", "label", "legend", "li",
    "mark", "nav", "ol", "p", "pre", "q", "rt", "ruby", "s", "section", "small", "span", "strong",
    "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul",
];

/// Style properties kept.
const STYLE_PROPERTIES: &[&str] = &[
    "color",
    "background-color",
    "font-size",
    "font-weight",
    "font-style",
    "font-family",
    "text-align",
    "text-decoration",
    "text-indent",
    "line-height",
    "letter-spacing",
    "vertical-align",
    "white-space",
    "word-break",
    "width",
    "height",
    "max-width",
    "min-width",
    "margin",
    "margin-top",
    "margin-bottom",
    "margin-left",
    "margin-right",
    "padding",
    "padding-top",
    "padding-bottom",
    "padding-left",
    "padding-right",
    "border-radius",
    "display",
];

static CLEANER: LazyLock<Builder<'static>> = LazyLock::new(|| {
    let tags: HashSet<&'static str> = TAGS.iter().copied().collect();
    let mut per_tag: HashMap<&'static str, HashSet<&'static str>> = HashMap::new();
    for (tag, attrs) in [
        ("col", &["span", "width"][..]),
        ("colgroup", &["span", "width"][..]),
        ("img", &["alt", "src", "height", "width"][..]),
        ("ol", &["start", "type"][..]),
        ("table", &["width"][..]),
        ("td", &["colspan", "height", "rowspan", "width"][..]),
        ("th", &["colspan", "height", "rowspan", "width"][..]),
        ("ul", &["type"][..]),
        ("bdo", &["dir"][..]),
    ] {
        per_tag.insert(tag, attrs.iter().copied().collect());
    }
    let mut b = Builder::empty();
    b.tags(tags)
        .generic_attributes(["class", "style"].into_iter().collect())
        .tag_attributes(per_tag)
        .url_schemes(["http", "https"].into_iter().collect())
        .url_relative(UrlRelative::Deny)
        .link_rel(None)
        .strip_comments(true)
        .clean_content_tags(
            [
                "script", "style", "iframe", "object", "embed", "noscript", "template", "xmp",
            ]
            .into_iter()
            .collect(),
        )
        .attribute_filter(|_element, attribute, value| match attribute {
            "style" => {
                let kept = filter_style(value);
                (!kept.is_empty()).then_some(Cow::Owned(kept))
            }
            "class" => {
                // Class names only: no quotes, angle brackets or entities.
                let ok = value
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'));
                ok.then_some(Cow::Borrowed(value))
            }
            "dir" => matches!(value, "ltr" | "rtl").then_some(Cow::Borrowed(value)),
            "src" | "alt" => Some(Cow::Borrowed(value)),
            // Sizes and counts: digits, optionally with % or px.
            _ => value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '%')
                .then_some(Cow::Borrowed(value)),
        });
    b
});

/// Keeps the declarations of allowed properties with plain values.
fn filter_style(style: &str) -> String {
    let mut out = Vec::new();
    for decl in style.split(';') {
        let Some((prop, value)) = decl.split_once(':') else {
            continue;
        };
        let prop = prop.trim().to_ascii_lowercase();
        let value = value.trim();
        if STYLE_PROPERTIES.contains(&prop.as_str()) && plain_css_value(value) {
            out.push(format!("{prop}: {value}"));
        }
    }
    out.join("; ")
}

fn plain_css_value(v: &str) -> bool {
    if v.is_empty() || v.len() > 100 {
        return false;
    }
    let lower = v.to_ascii_lowercase();
    // Parentheses only in colour functions, never anything else (url, expression, var, calc...).
    let mut rest = lower.as_str();
    while let Some(open) = rest.find('(') {
        let before = &rest[..open];
        let func = before
            .rsplit(|c: char| !c.is_ascii_alphabetic())
            .next()
            .unwrap_or("");
        if !matches!(func, "rgb" | "rgba" | "hsl" | "hsla") {
            return false;
        }
        rest = &rest[open + 1..];
    }
    v.chars().all(|c| {
        c.is_ascii_alphanumeric() || matches!(c, ' ' | '#' | '%' | '.' | ',' | '-' | '(' | ')')
    })
}

/// Sanitizes rich text for storage.
pub fn sanitize_rich_text(html: &str) -> String {
    CLEANER.clean(html).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_markup_stays() {
        let html = r#"<p class="intro" style="color: red; font-size: 14px">Hi <b>there</b></p><img src="https://example.com/a.png" width="100" alt="a">"#;
        let out = sanitize_rich_text(html);
        assert_eq!(
            out,
            r#"<p class="intro" style="color: red; font-size: 14px">Hi <b>there</b></p><img src="https://example.com/a.png" width="100" alt="a">"#
        );
    }

    #[test]
    fn the_basics_go() {
        for (html, gone) in [
            ("<p id=x onclick=alert(1)>t</p>", "onclick"),
            ("<p id=x>t</p>", "id="),
            ("<script>alert(1)</script>", "alert"),
            ("<img src=javascript:alert(1)>", "javascript"),
            ("<img src=\"data:image/png;base64,AAAA\">", "data:"),
            (
                "<p style=\"width: expression(alert(1))\">t</p>",
                "expression",
            ),
            (
                "<p style=\"background-image: url(javascript:x)\">t</p>",
                "url(",
            ),
            ("<a href=\"https://e.com\">t</a>", "href"),
            ("<img src=\"//evil.com/x.png\">", "evil"),
        ] {
            let out = sanitize_rich_text(html);
            assert!(!out.to_ascii_lowercase().contains(gone), "{html} -> {out}");
        }
    }
}
