use crate::events::{Cx, Event, Span};
use crate::rules::{Rule, RuleMeta};
use crate::value::{HOLE, Kind, Sanitized, SourceKind, Taint, Value};
use miniguard_report::{Severity, msg};

crate::declare_rule! {
    /// ## What it finds
    /// HTML written into the page from data a link, typed text or the clipboard controls, in the
    /// H5 side of a project (uni-app and Taro H5 builds, web pages opened in a `web-view`):
    /// `el.innerHTML = …` / `outerHTML`, `insertAdjacentHTML`, `document.write` / `writeln`,
    /// React/Taro `dangerouslySetInnerHTML={{ __html: … }}`, and jQuery `.html(…)` /
    /// `.append(…)` / `$(…)`. Sources include `location.search`, `location.hash`,
    /// `location.href`, `document.referrer`, `window.name`, page options and input events.
    ///
    /// Values passed through an HTML sanitizer or escaper (`DOMPurify.sanitize`, `xss`,
    /// `escape-html`, `he.encode`) are not reported. Server code (cheerio, jsdom) is not this
    /// rule, and neither is HTML from the project's own API, which is a server-side concern.
    ///
    /// ## Severity
    /// `high`. `low` when the only input in the markup is the page's own address read whole
    /// (`location.href`, `document.URL`, `${window.location}`) inside a double-quoted attribute value
    /// of a template literal (`` `<iframe src="${location.href}">` ``), not an event handler,
    /// `style` or `srcdoc` attribute: the URL standard has browsers percent-encode `"`, `<` and
    /// `>` in every part of the address they report, and the address starts with the page's own
    /// origin, so it can neither close the attribute nor be a `javascript:` URL where browsers
    /// follow the standard. It stays reported for browsers that do not.
    ///
    /// ## Why it matters
    /// Markup from a link runs as script in the page (`<img src=x onerror=…>`): it reads the
    /// user's token from storage and cookies, calls the API as the user, and, inside a
    /// `web-view`, drives the mini-program bridge.
    ///
    /// ## Example
    /// ```js
    /// const keyword = new URLSearchParams(location.search).get('q')
    /// document.getElementById('title').innerHTML = '搜索：' + keyword
    /// ```
    ///
    /// ## Fix
    /// Write text, not HTML: `textContent`, `innerText`, JSX children, `{{ }}` interpolation.
    /// When markup is really needed, sanitize it with `DOMPurify` first.
    ///
    /// ## References
    /// - CWE-79: Improper Neutralization of Input During Web Page Generation ('Cross-site Scripting')
    /// - OWASP DOM-based XSS Prevention Cheat Sheet
    pub struct DomHtmlInjection {
        code: "X003",
        name: "dom-html-injection",
        category: Xss,
        severity: High,
        confidence: High,
        cwe: [79],
        summary: "HTML from a link or user input written into the DOM",
    }
}

impl Rule for DomHtmlInjection {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &mut Cx<'_>, event: &Event<'_, '_>) {
        if cx.is_server() {
            return;
        }
        match event {
            Event::Assign(a) => {
                if !matches!(a.property, "innerHTML" | "outerHTML") {
                    return;
                }
                if let Some(t) = untrusted(a.value) {
                    let what = msg!("X003.markup", property = a.property);
                    report(cx, a.span, a.value, &t, what);
                }
            }
            Event::Binding(b) => {
                let value = match b.attribute {
                    "dangerouslySetInnerHTML" => b.value.field("__html"),
                    "v-html" => Some(b.value),
                    _ => None,
                };
                if let Some(v) = value
                    && let Some(t) = untrusted(v)
                {
                    let what = msg!("X003.markup", property = b.attribute);
                    report(cx, b.span, v, &t, what);
                }
            }
            Event::Call(call) => {
                let path = call.path.unwrap_or("");
                let idx = match (path, call.method) {
                    ("document.write" | "document.writeln", _) => 0,
                    (_, Some("insertAdjacentHTML")) => 1,
                    // jQuery: `$(x).html(s)`, `.append(s)`, `$(s)`.
                    (
                        p,
                        Some("html" | "append" | "prepend" | "after" | "before" | "replaceWith"),
                    ) if p.is_empty() || p.starts_with("jquery") || p.starts_with("zepto") => {
                        if call.args.len() != 1 {
                            return;
                        }
                        0
                    }
                    ("jquery" | "zepto" | "$" | "jQuery", _) => 0,
                    _ => return,
                };
                let Some(v) = call.arg(idx) else { return };
                if matches!(v.kind, Kind::Func(_) | Kind::Object(_)) {
                    return;
                }
                if let Some(t) = untrusted(v) {
                    let what = match call.method {
                        Some(m) if path.is_empty() || !path.starts_with("document.") => {
                            msg!("X003.passed", callee = m)
                        }
                        _ => msg!("X003.passed", callee = path),
                    };
                    report(cx, call.arg_span(idx), v, &t, what);
                }
            }
            _ => {}
        }
    }
}

fn untrusted(v: &Value<'_>) -> Option<Taint> {
    v.attacker_taint(SourceKind::CLIENT_INPUT, Sanitized::HTML)
}

fn report(cx: &mut Cx<'_>, sink: Span, v: &Value<'_>, t: &Taint, what: miniguard_report::Msg) {
    let severity = if own_address_in_quoted_attribute(cx, v, t) {
        Severity::Low
    } else {
        DomHtmlInjection::META.severity
    };
    cx.report_flow(&DomHtmlInjection::META, sink, t, what)
        .severity(severity)
        .help(msg!("X003.help"));
}

/// The page's own address, read whole: it starts with the page's origin and the browser has
/// percent-encoded `"`, `<` and `>` in it.
const OWN_ADDRESS: &[&str] = &[
    "location.href",
    "window.location",
    "window.location.href",
    "document.location",
    "document.location.href",
    "window.document.location.href",
    "document.URL",
    "window.document.URL",
    "document.documentURI",
];

/// Whether the markup's only input is the page's own address inside double-quoted attribute
/// values: the taint's source is [`OWN_ADDRESS`], it was built into the markup by a template literal of this file, every
/// substitution of that template is [`OWN_ADDRESS`] inside a double-quoted value of an
/// attribute that is not an event handler, `style` or `srcdoc`, and the markup has no unknown
/// part the template does not account for.
fn own_address_in_quoted_attribute(cx: &Cx<'_>, v: &Value<'_>, t: &Taint) -> bool {
    let (Some(built), Some(text)) = (&t.built, &v.text) else {
        return false;
    };
    // The source the taint names is the address itself (a local variable called `location`
    // holding something else is not).
    let source_is_address = t.origin.as_ref().is_some_and(|o| {
        let what: String = o.what.split_whitespace().collect();
        OWN_ADDRESS.contains(&what.as_str())
    });
    if !source_is_address || *built.file != *cx.file {
        return false;
    }
    let template = cx.text(Span {
        start: built.start,
        end: built.end,
    });
    let Some(parts) = template_parts(template) else {
        return false;
    };
    let substitutions = parts.len() - 1;
    if substitutions == 0 || text.matches(HOLE).count() > substitutions {
        return false;
    }
    let mut before = String::new();
    for (i, (chunk, expr)) in parts.iter().enumerate() {
        before.push_str(chunk);
        let Some(expr) = expr else { break };
        let expr: String = expr.split_whitespace().collect();
        if !OWN_ADDRESS.contains(&expr.as_str()) {
            return false;
        }
        // The attribute's closing quote is in the literal text that follows.
        let closes = parts.get(i + 1).is_some_and(|(next, _)| next.contains('"'));
        if !closes || !in_double_quoted_attribute(&before) {
            return false;
        }
        before.push('x');
    }
    true
}

/// A template literal's text split at its substitutions: each literal chunk with the
/// expression that follows it (`None` after the last chunk). `None` when the text is not one
/// plain template literal (a tagged template, a `+` concatenation, nested templates).
fn template_parts(template: &str) -> Option<Vec<(&str, Option<&str>)>> {
    let inner = template.strip_prefix('`')?.strip_suffix('`')?;
    let mut parts = Vec::new();
    let mut rest = inner;
    loop {
        let Some(open) = rest.find("${") else {
            if rest.contains('`') {
                return None;
            }
            parts.push((rest, None));
            return Some(parts);
        };
        let chunk = &rest[..open];
        let after = &rest[open + 2..];
        let close = after.find('}')?;
        let expr = &after[..close];
        if chunk.contains('`') || expr.contains(['`', '{', '$']) {
            return None;
        }
        parts.push((chunk, Some(expr)));
        rest = &after[close + 1..];
    }
}

/// Whether markup text ends inside a double-quoted attribute value of a tag, of an attribute
/// other than an event handler (`on…`), `style` and `srcdoc`, with no script, style or
/// comment anywhere before.
fn in_double_quoted_attribute(markup: &str) -> bool {
    let lower = markup.to_ascii_lowercase();
    if lower.contains("<script") || lower.contains("<style") || lower.contains("<!--") {
        return false;
    }
    let Some(open) = lower.rfind('<') else {
        return false;
    };
    let tag = &lower[open + 1..];
    if !tag.starts_with(|c: char| c.is_ascii_alphabetic()) || tag.contains('>') {
        return false;
    }
    // Walk the tag's attributes: name, optional `=`, a quoted or bare value.
    let mut rest = tag.trim_start_matches(|c: char| !c.is_ascii_whitespace());
    loop {
        rest = rest.trim_start();
        let name_end = rest
            .find(|c: char| c.is_ascii_whitespace() || c == '=')
            .unwrap_or(rest.len());
        let name = &rest[..name_end];
        rest = rest[name_end..].trim_start();
        let Some(value) = rest.strip_prefix('=') else {
            if rest.is_empty() {
                return false;
            }
            continue;
        };
        let value = value.trim_start();
        if let Some(quoted) = value.strip_prefix('"') {
            match quoted.find('"') {
                Some(end) => rest = &quoted[end + 1..],
                None => {
                    return !name.is_empty()
                        && !name.starts_with("on")
                        && name != "style"
                        && name != "srcdoc";
                }
            }
        } else if let Some(quoted) = value.strip_prefix('\'') {
            match quoted.find('\'') {
                Some(end) => rest = &quoted[end + 1..],
                None => return false,
            }
        } else {
            let end = value
                .find(|c: char| c.is_ascii_whitespace())
                .unwrap_or(value.len());
            if end == value.len() {
                return false;
            }
            rest = &value[end..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{in_double_quoted_attribute, template_parts};

    #[test]
    fn a_double_quoted_attribute_value_is_found() {
        assert!(in_double_quoted_attribute("<div>\n  <iframe src=\""));
        assert!(in_double_quoted_attribute(
            "<a class=\"x\" data-u='y' hidden href=\"/go?to="
        ));
        assert!(in_double_quoted_attribute("<img alt=x src = \""));
    }

    #[test]
    fn other_places_are_not() {
        assert!(!in_double_quoted_attribute("<p>"));
        assert!(!in_double_quoted_attribute("<iframe src='"));
        assert!(!in_double_quoted_attribute("<iframe src="));
        assert!(!in_double_quoted_attribute("<iframe src=\"a\" "));
        assert!(!in_double_quoted_attribute("<a onclick=\"go('"));
        assert!(!in_double_quoted_attribute("<div style=\"background:url("));
        assert!(!in_double_quoted_attribute("<iframe srcdoc=\""));
        assert!(!in_double_quoted_attribute("<script>var u = \"<a href=\""));
        assert!(!in_double_quoted_attribute("<!-- <a href=\""));
        assert!(!in_double_quoted_attribute("a < b"));
        assert!(!in_double_quoted_attribute(""));
    }

    #[test]
    fn templates_split_at_substitutions() {
        let parts = template_parts("`<a href=\"${location.href}\">${ n }</a>`").unwrap();
        assert_eq!(
            parts,
            vec![
                ("<a href=\"", Some("location.href")),
                ("\">", Some(" n ")),
                ("</a>", None)
            ]
        );
        assert!(template_parts("'<a>' + x").is_none());
        assert!(template_parts("`${`${a}`}`").is_none());
        assert!(template_parts("`${f({a: 1})}`").is_none());
    }
}
