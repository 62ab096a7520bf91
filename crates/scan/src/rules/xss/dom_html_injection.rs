use crate::events::{Cx, Event};
use crate::rules::{Rule, RuleMeta};
use crate::value::{Kind, Sanitized, SourceKind, Taint, Value};
use miniguard_report::msg;

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
                    cx.report_flow(&Self::META, a.span, &t, what)
                        .help(msg!("X003.help"));
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
                    cx.report_flow(&Self::META, b.span, &t, what)
                        .help(msg!("X003.help"));
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
                    cx.report_flow(&Self::META, call.arg_span(idx), &t, what)
                        .help(msg!("X003.help"));
                }
            }
            _ => {}
        }
    }
}

fn untrusted(v: &Value<'_>) -> Option<Taint> {
    v.attacker_taint(SourceKind::CLIENT_INPUT, Sanitized::HTML)
}
