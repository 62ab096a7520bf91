use crate::events::{Cx, Event};
use crate::rules::injection::ssrf::host_controlled;
use crate::rules::{Rule, RuleMeta};
use crate::value::{Kind, Sanitized, SourceKind, Value};
use miniguard_report::msg;

crate::declare_rule! {
    /// ## What it finds
    /// A server redirect whose target's scheme and host come from the request: Express
    /// `res.redirect(url)` (also `res.redirect(301, url)`), Koa/Egg `ctx.redirect(url)`,
    /// `res.writeHead(302, { Location: url })`, `res.setHeader('Location', url)`,
    /// `res.set('Location', url)` and `ctx.set('Location', url)`, with `url` taken from the
    /// query (`returnUrl`, `redirect`, `next`), body, params or headers.
    ///
    /// Targets whose known start fixes the site (`'/orders/' + id`,
    /// `'https://shop.example.com/pay?order=' + id`) are not reported. A bare `'/' + x` is,
    /// since `x = '/evil.com'` makes `//evil.com`.
    ///
    /// ## Why it matters
    /// Links on the real domain that land on the attacker's site make phishing convincing, and
    /// OAuth or login flows that redirect with a code or token in the URL hand it to the
    /// attacker. In Egg, `ctx.redirect` only checks the target when `security.domainWhiteList`
    /// is configured.
    ///
    /// ## Example
    /// ```js
    /// router.get('/login/callback', (req, res) => {
    ///   res.redirect(req.query.returnUrl)
    /// })
    /// ```
    ///
    /// ## Fix
    /// Redirect only to paths of your own site (check that the target starts with a single `/`
    /// followed by a letter) or to hosts from an allow-list after parsing the URL with
    /// `new URL()`.
    ///
    /// ## References
    /// - CWE-601: URL Redirection to Untrusted Site ('Open Redirect')
    /// - OWASP Unvalidated Redirects and Forwards Cheat Sheet
    pub struct OpenRedirect {
        code: "X005",
        name: "open-redirect",
        category: Xss,
        severity: Medium,
        confidence: Medium,
        cwe: [601],
        summary: "Server redirect to a URL taken from the request",
    }
}

impl Rule for OpenRedirect {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &mut Cx<'_>, event: &Event<'_, '_>) {
        let Event::Call(call) = event else { return };
        let Some(path) = call.path else { return };
        let target: Option<(&Value<'_>, usize)> = match path {
            "@res.redirect" | "@ctx.redirect" | "@ctx.unsafeRedirect" | "@koareq.redirect" => {
                // `res.redirect(301, url)`.
                let i = usize::from(
                    call.args.len() > 1
                        && call
                            .arg(0)
                            .and_then(Value::exact_text)
                            .is_some_and(|t| t.parse::<u16>().is_ok()),
                );
                call.arg(i).map(|v| (v, i))
            }
            "@res.writeHead" => call
                .args
                .iter()
                .enumerate()
                .find_map(|(i, a)| location(a).map(|v| (v, i))),
            "@res.setHeader" | "@res.set" | "@res.header" | "@ctx.set" | "@res.location" => {
                if path == "@res.location" {
                    call.arg(0).map(|v| (v, 0))
                } else if call
                    .arg(0)
                    .and_then(Value::exact_text)
                    .is_some_and(|h| h.eq_ignore_ascii_case("location"))
                {
                    call.arg(1).map(|v| (v, 1))
                } else {
                    call.arg(0).and_then(location).map(|v| (v, 0))
                }
            }
            _ => None,
        };
        let Some((url, i)) = target else { return };
        if matches!(url.kind, Kind::Func(_) | Kind::Object(_)) {
            return;
        }
        let Some(taint) = url.attacker_taint(SourceKind::SERVER_INPUT, Sanitized::empty()) else {
            return;
        };
        if !host_controlled(url, cx.text(call.arg_span(i))) || cx.is_guarded(&taint) {
            return;
        }
        cx.report_flow(&Self::META, call.arg_span(i), &taint, msg!("X005.target"))
            .help(msg!("X005.help"));
    }
}

/// The `Location` header of a headers object.
fn location<'v, 'a>(headers: &'v Value<'a>) -> Option<&'v Value<'a>> {
    headers
        .field("Location")
        .or_else(|| headers.field("location"))
}
