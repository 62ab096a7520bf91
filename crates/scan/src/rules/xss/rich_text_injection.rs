use crate::events::{Cx, Event};
use crate::rules::{Rule, RuleMeta};
use crate::value::{Sanitized, SourceKind};
use miniguard_report::msg;

crate::declare_rule! {
    /// ## What it finds
    /// Markup that a link, typed text or the clipboard controls, rendered as rich text:
    /// `<rich-text nodes="{{…}}">` (WXML, AXML, TTML, SWAN, QML and uni-app templates), Taro's
    /// `<RichText nodes={…}>`, the `mp-html` component's `content`, `towxml`'s `nodes`, and the
    /// vendored `wxParse.wxParse(name, 'html', data, that)`. The value is followed from page
    /// `onLoad(options)`, input events and `getClipboardData` through `setData`.
    ///
    /// HTML that comes from the project's own server (articles, product descriptions) is the
    /// normal use of these components and is deliberately not reported; neither is markup passed
    /// through an HTML sanitizer (`xss`, `sanitize-html`, `DOMPurify`) or escaped.
    ///
    /// ## Why it matters
    /// Anyone can share a card or QR code that opens the page with any query. The page then
    /// shows the attacker's content under the mini-program's name: fake notices, counterfeit
    /// customer-service numbers, QR codes and images that lead users into fraud. `rich-text`
    /// drops scripts, but `mp-html`, `towxml` and `wxParse` render links, images and styles
    /// that can cover the real page, and in H5 builds the same markup reaches the DOM.
    ///
    /// ## Example
    /// ```js
    /// Page({
    ///   onLoad(options) { this.setData({ html: decodeURIComponent(options.content) }) },
    /// })
    /// // page.wxml: <rich-text nodes="{{html}}"></rich-text>
    /// ```
    ///
    /// ## Fix
    /// Load the content from your server by an id (`options.id`) instead of carrying it in the
    /// link, or render the input as plain text (`<text>`); if markup is needed, sanitize it with
    /// an allow-list sanitizer before `setData`.
    ///
    /// ## References
    /// - CWE-79: Improper Neutralization of Input During Web Page Generation ('Cross-site Scripting')
    /// - WeChat: `rich-text` component
    pub struct RichTextInjection {
        code: "X001",
        name: "rich-text-injection",
        category: Xss,
        severity: Medium,
        confidence: Medium,
        cwe: [79],
        summary: "Rich text rendered from a link, user input or the clipboard",
    }
}

impl Rule for RichTextInjection {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &mut Cx<'_>, event: &Event<'_, '_>) {
        match event {
            Event::Binding(b) => {
                let sink = match (b.element, b.attribute) {
                    ("rich-text" | "richtext", "nodes" | ":nodes") => msg!("X001.rich-text"),
                    ("mp-html" | "mphtml", "content" | ":content") => msg!("X001.mp-html"),
                    ("towxml", "nodes" | ":nodes") => msg!("X001.towxml"),
                    ("u-parse" | "uparse", "content" | ":content") => msg!("X001.u-parse"),
                    _ => return,
                };
                let Some(taint) = b
                    .value
                    .attacker_taint(SourceKind::CLIENT_INPUT, Sanitized::HTML)
                else {
                    return;
                };
                cx.report_flow(&Self::META, b.span, &taint, sink)
                    .help(msg!("X001.help"));
            }
            Event::Call(call) => {
                // wxParse.wxParse('article', 'html', data, that)
                if call.path != Some("wxParse.wxParse")
                    && !(call.path == Some("wxParse") && call.method == Some("wxParse"))
                {
                    return;
                }
                let Some(data) = call.arg(2) else { return };
                let Some(taint) = data.attacker_taint(SourceKind::CLIENT_INPUT, Sanitized::HTML)
                else {
                    return;
                };
                cx.report_flow(&Self::META, call.arg_span(2), &taint, msg!("X001.wxparse"))
                    .help(msg!("X001.help"));
            }
            _ => {}
        }
    }
}
