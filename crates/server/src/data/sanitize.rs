//! Rich text sanitized on write to what the mini-program `rich-text` component renders.
//!
//! The whitelist follows the component's documented trusted nodes: the tags below, the global
//! attributes `class` and `style` (no `id`), and per tag `col`/`colgroup` (`span`, `width`),
//! `img` (`alt`, `src`, `height`, `width`), `ol` (`start`, `type`), `table` (`width`), `td`/`th`
//! (`colspan`, `height`, `rowspan`, `width`), `ul` (`type`), `bdo` (`dir`). Everything else goes:
//! `<script>`/`<style>` with their content, event handlers, `id`, unknown tags (their text
//! stays, escaped). `style` keeps only declarations of a fixed set of typography and box
//! properties whose values are plain (letters, digits, `#%.,-` and spaces, and
//! `rgb()`/`rgba()`/`hsl()`/`hsla()` colours): no `url(`, `expression(`, `javascript:`, escapes
//! or comments survive.
//!
//! Decided against tracking and overlays (hardening round 2):
//!
//! - **Remote images.** `img src` keeps only `https:` URLs (plain `http:` is dropped with
//!   `javascript:`, `data:`, relative and protocol-relative URLs), and only of the hosts the
//!   deployment lists (`[server] rich_text_image_hosts`), so an author cannot plant a tracking
//!   pixel on a host of their own. Without a list no remote image is kept: readers' addresses
//!   reach no third party unless the deployment names it.
//! - **Layout.** Nothing can take an element out of the flow or over other content: no
//!   `position`, `float`, `z-index`, `transform` or `display` (not even in the allow-list),
//!   no negative lengths (margins, indents, spacing), and sizes (`width`, `height`, their
//!   `min-`/`max-`) only up to 100 %, 2000 px or 100 em/rem, and text sizes (`font-size`,
//!   `line-height`) up to 500 %, 200 px or 10 em/rem.

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
];

/// Properties whose value is one size, bounded so that text and boxes stay within the page.
const SIZE_PROPERTIES: &[&str] = &[
    "width",
    "height",
    "max-width",
    "min-width",
    "font-size",
    "line-height",
];

static CLEANER: LazyLock<Cleaner> = LazyLock::new(|| Cleaner::new(Vec::new()));

/// A rich-text sanitizer with its image policy: `https:` images of the `image_hosts` only
/// (exact, case-insensitive); none at all when the list is empty.
pub struct Cleaner {
    builder: Builder<'static>,
}

impl std::fmt::Debug for Cleaner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cleaner")
    }
}

impl Default for Cleaner {
    fn default() -> Self {
        Self::new(Vec::new())
    }
}

/// Whether an `img src` may stay: an absolute `https:` URL of a listed host.
fn image_allowed(src: &str, hosts: &[String]) -> bool {
    let Ok(url) = url::Url::parse(src.trim()) else {
        return false;
    };
    if url.scheme() != "https" {
        return false;
    }
    url.host_str()
        .is_some_and(|h| hosts.iter().any(|a| a.eq_ignore_ascii_case(h)))
}

impl Cleaner {
    /// A cleaner accepting images from `image_hosts` only (no remote image when empty).
    pub fn new(image_hosts: Vec<String>) -> Self {
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
            .url_schemes(["https"].into_iter().collect())
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
            .attribute_filter(move |_element, attribute, value| match attribute {
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
                "src" => image_allowed(value, &image_hosts).then_some(Cow::Borrowed(value)),
                "alt" => Some(Cow::Borrowed(value)),
                // Sizes and counts: digits, optionally with % or px.
                _ => value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '%')
                    .then_some(Cow::Borrowed(value)),
            });
        Self { builder: b }
    }

    /// Sanitizes rich text for storage.
    pub fn clean(&self, html: &str) -> String {
        self.builder.clean(html).to_string()
    }
}

/// Keeps the declarations of allowed properties with plain values.
fn filter_style(style: &str) -> String {
    let mut out = Vec::new();
    for decl in style.split(';') {
        let Some((prop, value)) = decl.split_once(':') else {
            continue;
        };
        let prop = prop.trim().to_ascii_lowercase();
        let value = value.trim();
        let bounded = !SIZE_PROPERTIES.contains(&prop.as_str()) || bounded_size(&prop, value);
        if STYLE_PROPERTIES.contains(&prop.as_str())
            && plain_css_value(value)
            && !negative_length(value)
            && bounded
        {
            out.push(format!("{prop}: {value}"));
        }
    }
    out.join("; ")
}

/// Whether a value holds a negative number (`-4px`, `0 -2em`): margins and indents that pull
/// content over other content.
fn negative_length(v: &str) -> bool {
    v.split([' ', ',', '(']).any(|t| {
        t.strip_prefix('-')
            .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit() || c == '.'))
    })
}

/// One size within the page: `auto`, `normal`, a plain number (line height), or a length up to
/// 100 %, 2000 px or 100 em/rem; for `font-size` and `line-height` up to 500 %, 200 px or
/// 10 em/rem.
fn bounded_size(prop: &str, v: &str) -> bool {
    let text = matches!(prop, "font-size" | "line-height");
    let v = v.trim().to_ascii_lowercase();
    if matches!(v.as_str(), "auto" | "normal") {
        return true;
    }
    let split = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let (number, unit) = v.split_at(split);
    let Ok(n) = number.parse::<f64>() else {
        return false;
    };
    let max = match (unit, text) {
        ("%", false) => 100.0,
        ("%", true) => 500.0,
        ("px", false) => 2000.0,
        ("px", true) => 200.0,
        ("em" | "rem" | "", false) => 100.0,
        ("em" | "rem" | "", true) => 10.0,
        _ => return false,
    };
    n.is_finite() && n <= max
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

/// Sanitizes rich text for storage with the default policy (no image host listed, so no
/// remote image).
pub fn sanitize_rich_text(html: &str) -> String {
    CLEANER.clean(html)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Round 2, item 11: a configured list of image hosts keeps only their images.
    #[test]
    fn images_only_from_listed_hosts_when_there_is_a_list() {
        let c = Cleaner::new(vec!["img.example.com".into()]);
        let out = c.clean(
            r#"<img src="https://img.example.com/a.png"><img src="https://tracker.example.net/p.gif">"#,
        );
        assert!(out.contains("img.example.com"), "{out}");
        assert!(!out.contains("tracker"), "{out}");
        // By default no remote image is kept, whatever its host; the rest of the markup stays.
        for (cleaned, why) in [
            (
                sanitize_rich_text(r#"<p>a<img src="https://tracker.example.net/p.gif"></p>"#),
                "default",
            ),
            (
                Cleaner::default().clean(r#"<p>a<img src="https://img.example.com/a.png"></p>"#),
                "no list",
            ),
        ] {
            assert_eq!(cleaned, "<p>a<img></p>", "{why}");
        }
        // Plain sizes and positive margins stay.
        let kept =
            sanitize_rich_text(r#"<p style="margin: 0 4px; width: 50%; font-size: 14px">t</p>"#);
        assert!(
            kept.contains("margin: 0 4px; width: 50%; font-size: 14px"),
            "{kept}"
        );
    }

    #[test]
    fn safe_markup_stays() {
        let html = r#"<p class="intro" style="color: red; font-size: 14px">Hi <b>there</b></p><img src="https://example.com/a.png" width="100" alt="a">"#;
        let out = Cleaner::new(vec!["example.com".into()]).clean(html);
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
            ("<img src=\"/uploads/x.png\">", "uploads"),
            ("<img src=\"http://e.com/pixel.gif\">", "pixel"),
            ("<p style=\"position: fixed; top: 0\">t</p>", "position"),
            ("<p style=\"display: none\">t</p>", "display"),
            ("<p style=\"z-index: 99\">t</p>", "z-index"),
            ("<p style=\"margin-top: -300px\">t</p>", "margin"),
            ("<p style=\"text-indent: -9999px\">t</p>", "indent"),
            ("<div style=\"width: 5000px\">t</div>", "width"),
            ("<div style=\"height: 300%\">t</div>", "height"),
            ("<span style=\"font-size: 900px\">t</span>", "font-size"),
        ] {
            // Even with every host named in them listed: the scheme or the form is what fails.
            let listed = Cleaner::new(vec!["e.com".into(), "evil.com".into()]);
            for out in [sanitize_rich_text(html), listed.clean(html)] {
                assert!(!out.to_ascii_lowercase().contains(gone), "{html} -> {out}");
            }
        }
    }
}
