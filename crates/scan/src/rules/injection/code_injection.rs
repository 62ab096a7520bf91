use crate::events::{Cx, Event};
use crate::rules::{Rule, RuleMeta};
use crate::value::{Kind, Sanitized, SourceKind};
use miniguard_report::msg;

crate::declare_rule! {
    /// ## What it finds
    /// JavaScript code built from untrusted input and executed: `eval(...)`, `new Function(...)`
    /// / `Function(...)`, `setTimeout` / `setInterval` with a string, `vm.runInNewContext`,
    /// `vm.runInThisContext`, `vm.runInContext`, `vm.compileFunction`, `new vm.Script(...)`,
    /// `vm2` (`new VM().run(...)`, `new NodeVM().run(...)`) and `safe-eval`. Untrusted means a
    /// cloud function `event` or an HTTP request on the server, and page query options, typed
    /// text or the clipboard on the client (H5 builds of uni-app and Taro run `eval`).
    ///
    /// ## Why it matters
    /// Evaluated code runs with everything the process can do: on a server it reads environment
    /// variables (database passwords, cloud keys), files and the network; on a client it reads
    /// tokens and acts as the user. `vm` is not a security boundary
    /// (`this.constructor.constructor('return process')()` escapes it) and `vm2` is
    /// discontinued after repeated sandbox escapes.
    ///
    /// ## Example
    /// ```js
    /// exports.main = async (event) => {
    ///   // "calculator" cloud function
    ///   return { result: eval(event.expression) }
    /// }
    /// ```
    ///
    /// ## Fix
    /// Never evaluate input as code. Parse data with `JSON.parse`, evaluate formulas with a real
    /// expression parser that only knows numbers and operators (e.g. `expr-eval` with functions
    /// disabled), and pass functions rather than strings to `setTimeout`.
    ///
    /// ## References
    /// - CWE-94: Improper Control of Generation of Code ('Code Injection')
    /// - CWE-95: Improper Neutralization of Directives in Dynamically Evaluated Code ('Eval Injection')
    pub struct CodeInjection {
        code: "I004",
        name: "code-injection",
        category: Injection,
        severity: Critical,
        confidence: High,
        cwe: [94, 95],
        summary: "JavaScript code built from untrusted input is executed",
    }
}

impl Rule for CodeInjection {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &mut Cx<'_>, event: &Event<'_, '_>) {
        let Event::Call(call) = event else { return };
        let Some(path) = call.path else { return };
        let path = path
            .strip_prefix("window.")
            .or_else(|| path.strip_prefix("globalThis."))
            .unwrap_or(path);
        // Which arguments are code.
        let code_args: Vec<usize> = match path {
            "eval"
            | "safe-eval"
            | "vm.runInThisContext"
            | "vm.Script"
            | "vm.compileFunction"
            | "vm.runInNewContext"
            | "vm.runInContext"
            | "vm.createScript" => vec![0],
            // Every argument of `Function` is code: parameter names and the body.
            "Function" => (0..call.args.len()).collect(),
            // Only a string argument is compiled; a function is just called.
            "setTimeout" | "setInterval" | "setImmediate" => vec![0],
            p if p.starts_with("vm2.") && matches!(call.method, Some("run" | "runFile")) => vec![0],
            p if p.ends_with("().run") && p.starts_with("vm2") => vec![0],
            _ => return,
        };
        for i in code_args {
            let Some(code) = call.arg(i) else { continue };
            if matches!(code.kind, Kind::Func(_)) {
                continue;
            }
            let Some(taint) = code.attacker_taint(SourceKind::ATTACKER, Sanitized::empty()) else {
                continue;
            };
            let what = match path {
                "setTimeout" | "setInterval" | "setImmediate" => msg!("I004.timer"),
                p if p.starts_with("vm") => msg!("I004.vm"),
                "Function" => msg!("I004.function"),
                _ => msg!("I004.eval"),
            };
            cx.report_flow(&Self::META, call.arg_span(i), &taint, what)
                .help(msg!("I004.help"));
            return;
        }
    }
}
