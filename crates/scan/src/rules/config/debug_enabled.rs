use miniguard_project::JsonKind;
use miniguard_report::msg;

use miniguard_report::Runtime;

use crate::config::{JsonFile, node_span};
use crate::events::{Cx, Event};
use crate::rules::{Rule, RuleMeta};

crate::declare_rule! {
    /// ## What it finds
    /// Debug mode switched on: `wx.setEnableDebug({ enableDebug: true })` (also `uni.`, `Taro.`,
    /// `tt.`, `qq.`) in client code, which turns on the vConsole debug panel of the released
    /// mini-program, and `"debug": true` in a mini-program's `app.json`, which adds debugging
    /// output to the developer tools' console.
    ///
    /// `"debug": false`, `enableDebug: false` and values decided at run time
    /// (`enableDebug: isDev`) are not reported.
    ///
    /// ## Why it matters
    /// `setEnableDebug(true)` left in the code survives into the release build and applies to
    /// every user's device: the vConsole panel shows every page's lifecycle, `setData` payloads
    /// and the logs of the app to whoever holds the phone (tokens, addresses, API responses,
    /// internal endpoints), and the extra logging slows every page down. `"debug": true` in
    /// `app.json` only changes what the developer tools print; it is worth removing before
    /// release, but it does not reach users.
    ///
    /// ## Severity
    /// `low` for `setEnableDebug(true)` in code; `info` for `"debug": true` in `app.json`,
    /// which only the developer tools read (see `docs/severity.md`).
    ///
    /// ## Example
    /// ```js
    /// wx.setEnableDebug({ enableDebug: true })
    /// ```
    /// ```json
    /// { "pages": ["pages/index/index"], "debug": true }
    /// ```
    ///
    /// ## Fix
    /// Remove `"debug": true` from `app.json` (or set it to `false`) before release, and call
    /// `setEnableDebug` only from a development build or a hidden, access-controlled switch.
    ///
    /// ## References
    /// - CWE-489: Active Debug Code
    /// - CWE-215: Insertion of Sensitive Information Into Debugging Code
    /// - WeChat: `app.json` `debug`, `wx.setEnableDebug`
    pub struct DebugEnabled {
        code: "C001",
        name: "debug-enabled",
        category: Config,
        severity: Low,
        confidence: High,
        cwe: [489, 215],
        summary: "Debug mode enabled in the mini-program configuration or code",
    }
}

impl Rule for DebugEnabled {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_json(&self, cx: &mut Cx<'_>, file: &JsonFile<'_>) {
        if file.kind != JsonKind::AppJson {
            return;
        }
        let Some(debug) = file.root.get("debug") else {
            return;
        };
        if debug.as_bool() != Some(true) {
            return;
        }
        cx.report(
            &Self::META,
            node_span(debug),
            msg!("C001.app-json", file = &file.rel),
        )
        .runtime(Runtime::DevTools)
        .help(msg!("C001.app-json-help"));
    }

    fn check(&self, cx: &mut Cx<'_>, event: &Event<'_, '_>) {
        let Event::Call(call) = event else { return };
        if call.path != Some("mp.setEnableDebug") || cx.is_server() {
            return;
        }
        let Some(flag) = call.arg(0).and_then(|a| a.field("enableDebug")) else {
            return;
        };
        if !(flag.taint.is_empty()
            && flag.text_origin.is_none()
            && flag.exact_text() == Some("true"))
        {
            return;
        }
        let callee = cx.text(call.callee_span);
        let callee = if callee.is_empty() || callee.len() > 40 {
            "setEnableDebug"
        } else {
            callee
        };
        cx.report(
            &Self::META,
            call.span,
            msg!("C001.set-enable-debug", callee = callee),
        )
        .help(msg!("C001.set-enable-debug-help"));
    }
}
