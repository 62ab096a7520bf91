use miniguard_report::Severity;
use miniguard_report::msg;

use crate::events::{CallEvent, Cx, Event};
use crate::rules::storage::sensitive_storage::is_masked;
use crate::rules::{Rule, RuleMeta};
use crate::spec::{SinkKind, spec};
use crate::value::{Kind, Labels};

crate::declare_rule! {
    /// ## What it finds
    /// Sensitive data written to a log: `console.log/info/warn/error/debug/trace`, the
    /// mini-program log managers (`wx.getLogManager()`, `wx.getRealtimeLogManager()`) and logger
    /// objects (`logger.info`, `ctx.logger.warn`, `this.log.debug`) called with a password, the
    /// `session_key`, a secret, an authentication token, a phone number, an ID card or bank card
    /// number — recognised by the names the value travelled under (`password`,
    /// `res.data.session_key`, an object with a `token` field, a getter's constant key as in
    /// `store.get('token')`), including inside template literals and concatenations. The
    /// answer of a cloud API (`cloud.openapi.subscribeMessage.send({..})`, a database write)
    /// does not carry what was sent.
    ///
    /// Only the logged value counts: a label next to an unrelated value
    /// (`console.log('token expired', err)`) is not reported. Masked values
    /// (`phone.replace(/(\d{3})\d{4}(\d{4})/, '$1****$2')`, `maskPhone(p)`, text with `**`),
    /// hashes, lengths, booleans and ids are not sensitive.
    ///
    /// ## Why it matters
    /// Logs end up where the data should not: cloud function logs in the cloud console, the
    /// realtime log service, vConsole in trial builds, crash collectors and log files on a
    /// Node server, readable by every operator and often kept for months. A `session_key` or
    /// password in a log is a credential anyone with log access can use.
    ///
    /// ## Severity
    /// `medium` for a password, `session_key` or secret, `low` for other personal data. A
    /// client's `console.*` output stays on the phone it runs on (the developer tools, or
    /// vConsole when debugging is on): the user's own data there is one step lower (`low`,
    /// `info`). The realtime log service and server-side logs reach operators and keep the
    /// full severity. See `docs/severity.md`.
    ///
    /// ## Example
    /// ```js
    /// const { session_key, openid } = await code2Session(code)
    /// console.log('login ok', openid, session_key)
    /// ```
    ///
    /// ## Fix
    /// Do not log credentials at all; log an id or a masked form (`138****8000`) instead, and
    /// strip `console` calls from production builds.
    ///
    /// ## References
    /// - CWE-532: Insertion of Sensitive Information into Log File
    /// - OWASP Logging Cheat Sheet (data to exclude)
    pub struct SensitiveLog {
        code: "S002",
        name: "sensitive-log",
        category: Storage,
        severity: Low,
        confidence: Medium,
        cwe: [532],
        summary: "Sensitive data written to a log",
    }
}

impl Rule for SensitiveLog {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &mut Cx<'_>, event: &Event<'_, '_>) {
        let Event::Call(call) = event else { return };
        let Some(logger) = log_call(cx, call) else {
            return;
        };
        let sink = call
            .method
            .and_then(|m| spec().sink_by_method(SinkKind::Log, m));
        for (i, arg) in call.args.iter().enumerate() {
            if sink.is_some_and(|s| !s.takes(i))
                || matches!(arg.kind, Kind::Func(_))
                || is_masked(arg)
            {
                continue;
            }
            let labels = arg.deep_labels();
            if labels.is_empty() {
                continue;
            }
            let span = call.arg_span(i);
            let shown = shorten(cx.text(span));
            let severity =
                if labels.intersects(Labels::PASSWORD | Labels::SESSION_KEY | Labels::SECRET) {
                    Severity::Medium
                } else {
                    Severity::Low
                };
            // A client's console is read on that user's phone only.
            let severity = if cx.is_client() && logger.starts_with("console.") {
                severity.lowered()
            } else {
                severity
            };
            cx.report(
                &Self::META,
                span,
                msg!(
                    "S002.logged",
                    logger = logger,
                    what = labels.describe(),
                    shown = shown
                ),
            )
            .severity(severity)
            .help(msg!("S002.help"));
            return;
        }
    }
}

/// The logging function a call is, for messages: `console.log`, `logger.info`, ...
fn log_call(cx: &Cx<'_>, call: &CallEvent<'_, '_>) -> Option<String> {
    let method = call.method?;
    let is_log = |m: &str| spec().sink_by_method(SinkKind::Log, m).is_some();
    if !is_log(method) {
        return None;
    }
    if let Some(p) = call.path {
        if p.strip_prefix("console.").is_some_and(is_log) {
            return Some(p.to_owned());
        }
        if p.starts_with("mp.getLogManager().") || p.starts_with("mp.getRealtimeLogManager().") {
            return Some(format!(
                "{}.{method}",
                p.split('.').nth(1).unwrap_or("LogManager")
            ));
        }
    }
    // A logger object: the receiver's last name is `log`, `logger`, `appLogger`, ...
    let callee = cx.text(call.callee_span);
    let receiver = callee
        .strip_suffix(method)?
        .trim_end()
        .strip_suffix('.')?
        .trim_end();
    let last = receiver
        .rsplit(['.', ' ', '(', ')'])
        .find(|s| !s.is_empty())?;
    let name = last
        .trim_matches(|c| c == '_' || c == '$')
        .to_ascii_lowercase();
    let is_logger = name.ends_with("logger")
        || matches!(
            name.as_str(),
            "log"
                | "rlog"
                | "logs"
                | "logmanager"
                | "realtimelog"
                | "logutil"
                | "logutils"
                | "log4js"
        );
    is_logger.then(|| format!("{last}.{method}"))
}

fn shorten(s: &str) -> String {
    let one_line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 50 {
        one_line.chars().take(50).collect::<String>() + "…"
    } else {
        one_line
    }
}
