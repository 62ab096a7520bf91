use miniguard_report::Severity;
use miniguard_report::msg;

use crate::events::{Cx, Event};
use crate::rules::storage::sensitive_storage::is_masked;
use crate::rules::{Rule, RuleMeta};
use crate::value::Labels;

crate::declare_rule! {
    /// ## What it finds
    /// A credential or identity number copied to the system clipboard:
    /// `setClipboardData({ data })` of every mini-program platform, Alipay's
    /// `my.setClipboard({ text })` and `navigator.clipboard.writeText(x)` in H5 builds, where the
    /// copied value is an authentication token, a password, a secret, the `session_key` or an ID
    /// card number (recognised by the names it travelled under, or by the constant key a getter
    /// read it under: `store.get('token')`, `cache.getItem('password')`).
    ///
    /// Copying order numbers, invite codes, links, phone numbers of a shop or masked values is
    /// what the clipboard is for and is not reported.
    ///
    /// ## Why it matters
    /// The clipboard is shared by every app on the phone: other apps and input methods read it
    /// (many do on every launch), cloud clipboard sync sends it to other devices, and it stays
    /// there until something else is copied. A token or password copied "for support" or by a
    /// debug button leaks to all of them.
    ///
    /// ## Example
    /// ```js
    /// wx.setClipboardData({ data: wx.getStorageSync('token') })
    /// ```
    ///
    /// ## Fix
    /// Never put credentials on the clipboard. For support, copy an opaque request id or a
    /// short-lived code the server can look up.
    ///
    /// ## References
    /// - CWE-200: Exposure of Sensitive Information to an Unauthorized Actor
    /// - WeChat: `wx.setClipboardData`
    pub struct SensitiveClipboard {
        code: "S003",
        name: "sensitive-clipboard",
        category: Storage,
        severity: Medium,
        confidence: Medium,
        cwe: [200],
        summary: "Credential or identity number copied to the clipboard",
    }
}

/// Labels worth reporting on the clipboard (phone and bank card numbers are copied on purpose).
const CLIPBOARD_LABELS: Labels = Labels::TOKEN
    .union(Labels::PASSWORD)
    .union(Labels::SECRET)
    .union(Labels::SESSION_KEY)
    .union(Labels::ID_NUMBER);

impl Rule for SensitiveClipboard {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &mut Cx<'_>, event: &Event<'_, '_>) {
        let Event::Call(call) = event else { return };
        let (api, data, span) = match call.path.and_then(|p| p.strip_prefix("mp.")) {
            Some("setClipboardData") => (
                "setClipboardData",
                call.arg(0).and_then(|a| a.field("data")),
                call.arg_span(0),
            ),
            Some("setClipboard") => (
                "setClipboard",
                call.arg(0).and_then(|a| a.field("text")),
                call.arg_span(0),
            ),
            _ if call.method == Some("writeText")
                && cx.text(call.callee_span).ends_with("clipboard.writeText") =>
            {
                (
                    "navigator.clipboard.writeText",
                    call.arg(0),
                    call.arg_span(0),
                )
            }
            _ => return,
        };
        let Some(data) = data else { return };
        if is_masked(data) {
            return;
        }
        let labels = data.deep_labels() & CLIPBOARD_LABELS;
        if labels.is_empty() {
            return;
        }
        let severity = if labels.intersects(Labels::PASSWORD | Labels::SECRET | Labels::SESSION_KEY)
        {
            Severity::High
        } else {
            Severity::Medium
        };
        cx.report(
            &Self::META,
            span,
            msg!("S003.copied", api = api, what = labels.describe()),
        )
        .severity(severity)
        .help(msg!("S003.help"));
    }
}
