use crate::events::{Cx, Event};
use crate::rules::injection::ssrf::host_controlled;
use crate::rules::{Rule, RuleMeta};
use crate::value::{Sanitized, SourceKind};
use miniguard_report::msg;

crate::declare_rule! {
    /// ## What it finds
    /// A `<web-view src="{{url}}">` (or Taro `<WebView src={url}>`) whose URL's scheme and host
    /// come from the page's query options, typed text or the clipboard. This is the classic
    /// generic web-view page, `pages/webview/index?url=…`, that loads whatever the link says.
    ///
    /// URLs whose known start fixes the host (`'https://h5.example.com/activity?id=' + id`) are
    /// not reported: the input only chooses a page on the project's own site.
    ///
    /// ## Why it matters
    /// A crafted card or QR code opens the mini-program on a page of the attacker's choosing
    /// inside the trusted frame: a phishing login, a fake payment page, or a page that uses the
    /// web-view JS-SDK bridge (`wx.miniProgram.postMessage`, `navigateTo`) against the user.
    /// The platform's business-domain list limits the hosts, but any open redirect or
    /// user-content page on an allowed domain is enough.
    ///
    /// ## Severity
    /// `high` where no domain list applies: uni-app and Taro code that is also built for H5 or
    /// App, and H5 or App builds. `medium` in a native mini-program, whose `web-view` only opens
    /// the business domains configured in its console (see `docs/severity.md`).
    ///
    /// ## Example
    /// ```js
    /// // pages/webview/index.js
    /// Page({ onLoad(options) { this.setData({ url: decodeURIComponent(options.url) }) } })
    /// // pages/webview/index.wxml: <web-view src="{{url}}"></web-view>
    /// ```
    ///
    /// ## Fix
    /// Pass a key or a path rather than a URL, and build the URL from a fixed
    /// `https://` host in code; if whole URLs must be accepted, parse them and compare the host
    /// with an allow-list.
    ///
    /// ## References
    /// - CWE-601: URL Redirection to Untrusted Site ('Open Redirect')
    /// - CWE-79: Improper Neutralization of Input During Web Page Generation ('Cross-site Scripting')
    /// - WeChat: `web-view` component and business domains
    pub struct WebViewSrc {
        code: "X002",
        name: "web-view-src",
        category: Xss,
        severity: High,
        confidence: Medium,
        cwe: [601, 79],
        summary: "web-view loads a URL whose host comes from a link or user input",
    }
}

impl Rule for WebViewSrc {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &mut Cx<'_>, event: &Event<'_, '_>) {
        let Event::Binding(b) = event else { return };
        if !matches!(b.element, "web-view" | "webview") || !matches!(b.attribute, "src" | ":src") {
            return;
        }
        let Some(taint) = b
            .value
            .attacker_taint(SourceKind::CLIENT_INPUT, Sanitized::empty())
        else {
            return;
        };
        if !host_controlled(b.value, "") || cx.is_guarded(&taint) {
            return;
        }
        cx.report_flow(&Self::META, b.span, &taint, msg!("X002.src"))
            .help(msg!("X002.help"));
    }
}
