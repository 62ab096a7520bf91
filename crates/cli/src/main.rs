//! The `miniguard` binary: parses arguments, wires the libraries together, prints, and maps
//! outcomes to exit codes (0 clean, 1 findings at or above `--fail-on`, 2 error).

mod args;
mod clap_zh;
mod cmd_accounts;
mod cmd_backup;
mod cmd_completions;
mod cmd_deps;
mod cmd_init;
mod cmd_keys;
mod cmd_probe;
mod cmd_roles;
mod cmd_rules;
mod cmd_scan;
mod cmd_serve;
mod cmd_unpack;
mod diff;
mod exit;
mod help_zh;
mod said_error;
mod settings;

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory as _, FromArgMatches as _};
use miniguard_report::{Msg, msg};

fn main() -> ExitCode {
    // `--help` and the reports speak the language of `--lang`, else of the locale.
    let lang = lang_of_args().unwrap_or_else(miniguard_report::i18n::Lang::from_env);
    let cmd = args::Cli::command();
    let cmd = match lang {
        miniguard_report::i18n::Lang::ZhCn => help_zh::localize(cmd),
        miniguard_report::i18n::Lang::En => cmd,
    };
    let cli = match cmd
        .try_get_matches()
        .and_then(|m| args::Cli::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e, lang),
    };
    miniguard_report::i18n::set(cli.lang.unwrap_or(lang));
    let report_to_stdout = match &cli.command {
        args::Command::Scan(a) => a.output.is_none(),
        args::Command::Deps(a) => a.output.is_none(),
        _ => false,
    };
    if report_to_stdout && stdout_was_closed() {
        let mut stderr = anstream::stderr();
        let _ = writeln!(
            stderr,
            "{}",
            say(msg!("cli.error", message = msg!("cli.stdout-closed")))
        );
        return ExitCode::from(2);
    }
    let result = match cli.command {
        args::Command::Scan(a) => cmd_scan::run(&a),
        args::Command::Rules(a) => cmd_rules::run(&a),
        args::Command::Deps(a) => cmd_deps::run(&a),
        args::Command::Db(a) => cmd_deps::run_db(&a),
        args::Command::Serve(a) => cmd_serve::run(&a),
        args::Command::AuditLog(a) => cmd_serve::run_audit_log(&a),
        args::Command::Keys(a) => cmd_keys::run(&a),
        args::Command::Accounts(a) => cmd_accounts::run(&a),
        args::Command::Roles(a) => cmd_roles::run(&a),
        args::Command::Init(a) => cmd_init::run(&a),
        args::Command::Completions(a) => cmd_completions::run_completions(&a),
        args::Command::Man(a) => cmd_completions::run_man(&a),
        args::Command::Probe(a) => cmd_probe::run(&a),
        args::Command::Unpack(a) => cmd_unpack::run(&a),
        args::Command::Backup(a) => cmd_backup::run(&a),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            // A closed pipe (`miniguard scan . | head`) is not an error.
            if err.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            let mut stderr = anstream::stderr();
            let _ = writeln!(
                stderr,
                "{}",
                say(msg!("cli.error", message = said_error::error_text(&err)))
            );
            ExitCode::from(2)
        }
    }
}

/// A message in the language of this process (`--lang`, else the locale).
// Reason: every call site passes a fresh `msg!(...)`; taking a reference would only add `&`s.
#[allow(clippy::needless_pass_by_value)]
pub(crate) fn say(message: Msg) -> String {
    message.render(miniguard_report::i18n::current())
}

/// A usage error (unknown argument, missing or invalid value): clap prints it in English and
/// exits; in Chinese it is said here, with clap's exit code. Help and version output stay
/// clap's.
fn usage_error(err: &clap::Error, lang: miniguard_report::i18n::Lang) -> ExitCode {
    match clap_zh::render(err, lang) {
        Some(text) => {
            let mut stderr = anstream::stderr();
            let _ = write!(stderr, "{text}");
            ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2))
        }
        None => err.exit(),
    }
}

/// The language named by `--lang X` or `--lang=X` before clap parses (its help must already be
/// in that language); an unknown name is left for clap to refuse.
fn lang_of_args() -> Option<miniguard_report::i18n::Lang> {
    let mut args = std::env::args_os().skip(1);
    while let Some(a) = args.next() {
        let a = a.to_string_lossy().into_owned();
        if a == "--" {
            break;
        }
        let value = if a == "--lang" {
            args.next().map(|v| v.to_string_lossy().into_owned())
        } else {
            a.strip_prefix("--lang=").map(str::to_owned)
        };
        if let Some(v) = value {
            return miniguard_report::i18n::Lang::parse(&v);
        }
    }
    None
}

/// Whether the process was started with standard output closed (`miniguard scan . >&-`). The
/// Rust runtime reopens a closed descriptor 0, 1 or 2 on /dev/null before `main`, read and
/// write, so every write then succeeds and the report is lost without a word. A shell sends
/// output to /dev/null write-only (`> /dev/null`), which stays allowed.
#[cfg(unix)]
fn stdout_was_closed() -> bool {
    use rustix::fs::{FileType, OFlags};
    let out = std::io::stdout();
    let Ok(flags) = rustix::fs::fcntl_getfl(&out) else {
        return true;
    };
    let (Ok(stat), Ok(null)) = (rustix::fs::fstat(&out), rustix::fs::stat("/dev/null")) else {
        return false;
    };
    FileType::from_raw_mode(stat.st_mode) == FileType::CharacterDevice
        && stat.st_rdev == null.st_rdev
        && flags & OFlags::ACCMODE == OFlags::RDWR
}

#[cfg(not(unix))]
fn stdout_was_closed() -> bool {
    false
}
