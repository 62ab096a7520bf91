use crate::events::{Cx, Event};
use crate::rules::{Rule, RuleMeta};
use crate::value::{HOLE, Sanitized, SourceKind, Value};
use miniguard_report::msg;

crate::declare_rule! {
    /// ## What it finds
    /// A mini-program navigation (`navigateTo`, `redirectTo`, `reLaunch`, `switchTab`,
    /// `navigateToMiniProgram`, `openEmbeddedMiniProgram`, in every platform's namespace) whose
    /// whole target comes from the page's query options, typed text or the clipboard: a
    /// `redirect` / `returnUrl` parameter passed straight to `wx.redirectTo({ url })`, or a
    /// target mini-program `appId` taken from a link.
    ///
    /// Targets with a fixed page path (`'/pages/detail/detail?id=' + options.id`) are not
    /// reported: the input only fills a parameter.
    ///
    /// ## Why it matters
    /// A shared card or QR code can then send the user anywhere after login or payment:
    /// to a page that posts with the user's session, to a `web-view` page with an attacker URL,
    /// or to another mini-program that imitates the original. Users trust where an official
    /// mini-program takes them.
    ///
    /// ## Example
    /// ```js
    /// Page({
    ///   onLoad(options) { this.redirect = decodeURIComponent(options.redirect || '') },
    ///   onLoginSuccess() { wx.redirectTo({ url: this.redirect }) },
    /// })
    /// ```
    ///
    /// ## Fix
    /// Accept only known targets: map a short key to a page path from a fixed table, or check
    /// that the value starts with `/pages/` and names a page of `app.json`; never take an
    /// `appId` from a link.
    ///
    /// ## References
    /// - CWE-601: URL Redirection to Untrusted Site ('Open Redirect')
    /// - WeChat: `wx.navigateTo`, `wx.navigateToMiniProgram`
    pub struct NavigationInjection {
        code: "I007",
        name: "navigation-injection",
        category: Injection,
        severity: Medium,
        confidence: Medium,
        cwe: [601],
        summary: "Mini-program navigation target taken from a link or user input",
    }
}

impl Rule for NavigationInjection {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &mut Cx<'_>, event: &Event<'_, '_>) {
        let Event::Call(call) = event else { return };
        let Some(api) = call.path.and_then(|p| p.strip_prefix("mp.")) else {
            return;
        };
        let fields: &[&str] = match api {
            "navigateTo" | "redirectTo" | "reLaunch" | "switchTab" => &["url"],
            "navigateToMiniProgram" | "openEmbeddedMiniProgram" => &["appId", "path"],
            _ => return,
        };
        let Some(opts) = call.arg(0) else { return };
        for &field in fields {
            let Some(target) = opts.field(field) else {
                continue;
            };
            let Some(taint) = target.attacker_taint(SourceKind::CLIENT_INPUT, Sanitized::URL)
            else {
                continue;
            };
            // A fixed start (`'/pages/detail/detail?id=' + id`) only lets the input fill a
            // parameter.
            if !starts_unknown(target) || cx.is_guarded(&taint) {
                continue;
            }
            let what = if field == "appId" {
                msg!("I007.app-id", api = api)
            } else {
                msg!("I007.field", api = api, field = field)
            };
            cx.report_flow(&Self::META, call.arg_span(0), &taint, what)
                .help(msg!("I007.help"));
            return;
        }
    }
}

/// Whether the value's text starts with an unknown part (or is unknown altogether).
fn starts_unknown(v: &Value<'_>) -> bool {
    v.text.as_deref().is_none_or(|t| t.starts_with(HOLE))
}
