use crate::events::{Cx, Event};
use crate::rules::{Rule, RuleMeta};
use crate::value::{HOLE, Sanitized, SourceKind};
use miniguard_report::msg;

crate::declare_rule! {
    /// ## What it finds
    /// A Node backend that answers with HTML built from the request: `res.send(...)`,
    /// `res.write(...)`, `res.end(...)` or `ctx.body = ...` of a string whose known text is
    /// markup (`'<h1>Hello ' + req.query.name + '</h1>'`, a template literal with tags) and that
    /// carries query, body, params or header data not passed through an HTML escaper.
    ///
    /// Deliberately not reported: `res.json` / `res.jsonp` (served as JSON), a cloud function's
    /// return value (the client receives data, not a page), and a request value sent back on
    /// its own (`res.send(req.query.x)`) or data merely derived from the request, such as a
    /// database row: whether that is rendered as HTML depends on a content type set elsewhere,
    /// and API backends of mini-programs answer data far more often than pages.
    ///
    /// ## Why it matters
    /// The backend's domain often also serves the H5 version, the admin console, or pages
    /// opened in a `web-view`. A link with `<script>` in a parameter runs in that origin with
    /// the victim's cookies: sessions of administrators, payment pages, the web-view bridge.
    ///
    /// ## Example
    /// ```js
    /// router.get('/pay/result', (req, res) => {
    ///   res.send(`<h2>Order ${req.query.orderNo} paid</h2>`)
    /// })
    /// ```
    ///
    /// ## Fix
    /// Render with a template engine that escapes by default (EJS `<%= %>`, Nunjucks, egg-view),
    /// escape values with `escape-html`, or answer JSON and let the page render text.
    ///
    /// ## References
    /// - CWE-79: Improper Neutralization of Input During Web Page Generation ('Cross-site Scripting')
    /// - OWASP Cross Site Scripting Prevention Cheat Sheet
    pub struct ReflectedHtml {
        code: "X004",
        name: "reflected-html",
        category: Xss,
        severity: High,
        confidence: Medium,
        cwe: [79],
        summary: "HTML response built from request data without escaping",
    }
}

impl Rule for ReflectedHtml {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &mut Cx<'_>, event: &Event<'_, '_>) {
        let Event::Respond(r) = event else { return };
        if !matches!(r.via, "res.send" | "res.write" | "res.end" | "ctx.body") {
            return;
        }
        let Some(text) = r.value.text.as_deref() else {
            return;
        };
        if !looks_like_html(text) {
            return;
        }
        let Some(taint) = r
            .value
            .attacker_taint(SourceKind::SERVER_INPUT, Sanitized::HTML)
        else {
            return;
        };
        cx.report_flow(&Self::META, r.span, &taint, msg!("X004.response"))
            .help(msg!("X004.help"));
    }
}

/// Whether the known parts of a text contain a tag: `<` followed by a letter, `/` or `!`.
fn looks_like_html(text: &str) -> bool {
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '<'
            && let Some(&n) = chars.peek()
            && n != HOLE
            && (n.is_ascii_alphabetic() || n == '/' || n == '!')
        {
            return true;
        }
    }
    false
}
