//! An error as the user reads it, in the language of this process. The libraries' error types
//! say themselves in English (their `Display`, which logs and the JSON of the server keep); the
//! binary knows their kinds, so the ones a user meets (a project with nothing to scan, a
//! configuration that cannot be read or parsed, a port in use, a database that needs its audit
//! key) are said here from the tables of `miniguard-report`. What a kind carries as free text
//! (a sentence built by the library, the TOML parser's or the operating system's own words when
//! no kind is known) stays as the library wrote it.

use std::error::Error as StdError;
use std::io::ErrorKind;

use miniguard_report::i18n::{self, Lang};
use miniguard_report::msg;
use miniguard_server::config::ConfigError;
use miniguard_server::db::DbError;
use miniguard_server::launch::LaunchError;
use miniguard_server::tls::TlsError;

use crate::say;

/// The error and its causes, `: `-separated (`：` in Chinese), leaving out a cause whose text the previous one
/// already ends with (error types that print their source in their own message, as many
/// `io::Error` wrappers do, would otherwise show it twice). A cause of a known kind is said in
/// full (with what it wraps) and ends the line.
pub(crate) fn error_text(err: &anyhow::Error) -> String {
    // Chinese punctuation is full width.
    let separator = match i18n::current() {
        Lang::ZhCn => "：",
        Lang::En => ": ",
    };
    let mut out = String::new();
    for cause in err.chain() {
        let (text, last) = match known(cause) {
            Some(said) => (said, true),
            None => (cause.to_string(), false),
        };
        if out.ends_with(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(separator);
        }
        out.push_str(&text);
        if last {
            break;
        }
    }
    out
}

/// The error said in the reader's language when its kind is known here.
fn known(cause: &(dyn StdError + 'static)) -> Option<String> {
    if let Some(e) = cause.downcast_ref::<miniguard_engine::Error>() {
        return engine_error(e);
    }
    // English is what the libraries say.
    if i18n::current() == Lang::En {
        return None;
    }
    if let Some(e) = cause.downcast_ref::<LaunchError>() {
        return launch_error(e);
    }
    if let Some(e) = cause.downcast_ref::<ConfigError>() {
        return config_error(e);
    }
    if let Some(e) = cause.downcast_ref::<DbError>() {
        return db_error(e);
    }
    if let Some(e) = cause.downcast_ref::<TlsError>() {
        return tls_error(e);
    }
    if let Some(e) = cause.downcast_ref::<miniguard_report::ParseLevelError>() {
        let what = match e.what {
            "severity" => msg!("cli.config.a-severity"),
            "category" => msg!("cli.config.a-category"),
            _ => return None,
        };
        return Some(say(msg!(
            "cli.config.unknown-level",
            what = what,
            value = &e.value,
            expected = e.expected
        )));
    }
    if let Some(e) = cause.downcast_ref::<miniguard_project::read::ReadError>() {
        return read_error(e);
    }
    if let Some(e) = cause.downcast_ref::<std::io::Error>() {
        return Some(io_text(e));
    }
    None
}

/// The scan errors a user meets most.
fn engine_error(err: &miniguard_engine::Error) -> Option<String> {
    match err {
        miniguard_engine::Error::NothingToScan { path, skipped: 0 } => {
            Some(say(msg!("cli.nothing-to-scan", path = path)))
        }
        miniguard_engine::Error::NothingToScan { path, skipped } => Some(say(msg!(
            "cli.nothing-to-scan-skipped",
            path = path,
            skipped = *skipped
        ))),
        miniguard_engine::Error::UnknownRule(rule) => {
            Some(say(msg!("cli.unknown-rule", rule = rule)))
        }
        _ => None,
    }
}

/// Why `serve` could not start.
fn launch_error(err: &LaunchError) -> Option<String> {
    match err {
        LaunchError::DevNotLoopback(address) => Some(say(msg!(
            "cli.serve.dev-not-loopback",
            address = address.to_string()
        ))),
        // The server names what it was doing; binding the listening socket is the one a user
        // can fix, so it is said in full.
        LaunchError::Io { what, source } => match what.strip_prefix("listening on ") {
            Some(address) => {
                let reason = if source.kind() == ErrorKind::PermissionDenied {
                    say(msg!("cli.serve.port-permission"))
                } else {
                    io_text(source)
                };
                Some(say(msg!(
                    "cli.serve.cannot-listen",
                    address = address,
                    reason = reason
                )))
            }
            None => Some(format!("{what}: {}", io_text(source))),
        },
        LaunchError::Config(e) => config_error(e),
        LaunchError::Db(e) => db_error(e),
        LaunchError::Tls(e) => tls_error(e),
        _ => None,
    }
}

/// A `miniguard.toml` that cannot be read, parsed or used.
fn config_error(err: &ConfigError) -> Option<String> {
    Some(match err {
        ConfigError::Read { path, source } => say(msg!(
            "cli.serve.config-read",
            path = path,
            reason = io_text(source)
        )),
        // The parser's own words: they quote the line and point at the column.
        ConfigError::Parse { path, source } => say(msg!(
            "cli.serve.config-parse",
            path = path,
            reason = source.to_string()
        )),
        // A sentence the server built from the setting's name and value.
        ConfigError::Invalid(reason) => say(msg!("cli.serve.config-invalid", reason = reason)),
        _ => return None,
    })
}

fn db_error(err: &DbError) -> Option<String> {
    Some(match err {
        DbError::AuditKeyNeeded => say(msg!("cli.serve.audit-key-needed")),
        DbError::SchemaTooNew { found, known } => say(msg!(
            "cli.serve.schema-too-new",
            found = *found,
            known = *known
        )),
        DbError::Connect { url, source } => say(msg!(
            "cli.serve.cannot-connect",
            url = url,
            reason = source.to_string()
        )),
        DbError::Files { path, source } => format!("{path}: {}", io_text(source)),
        _ => return None,
    })
}

fn tls_error(err: &TlsError) -> Option<String> {
    Some(match err {
        TlsError::NoCert(path) => say(msg!("cli.serve.no-certificate", path = path)),
        TlsError::Cert { path, source } => say(msg!(
            "cli.serve.bad-certificate",
            path = path,
            reason = source.to_string()
        )),
        TlsError::Key { path, source } => say(msg!(
            "cli.serve.bad-private-key",
            path = path,
            reason = source.to_string()
        )),
        _ => return None,
    })
}

/// Why a file (a configuration, a baseline) was not read.
fn read_error(err: &miniguard_project::read::ReadError) -> Option<String> {
    use miniguard_project::read::ReadError;
    Some(match err {
        ReadError::NotRegular { kind } => say(msg!("cli.io.not-regular", kind = *kind)),
        ReadError::TooLarge { limit } => say(msg!("cli.io.too-large", limit = *limit)),
        ReadError::OutsideTree => say(msg!("cli.io.outside-tree")),
        ReadError::NotUtf8 => say(msg!("cli.io.not-utf8")),
        ReadError::Io(e) => io_text(e),
        _ => return None,
    })
}

/// An operating-system error: what its kind means (the system's own words when the kind is not
/// one of these).
fn io_text(err: &std::io::Error) -> String {
    let said = match err.kind() {
        ErrorKind::NotFound => msg!("cli.io.not-found"),
        ErrorKind::PermissionDenied => msg!("cli.io.permission-denied"),
        ErrorKind::AlreadyExists => msg!("cli.io.already-exists"),
        ErrorKind::IsADirectory => msg!("cli.io.is-a-directory"),
        ErrorKind::NotADirectory => msg!("cli.io.not-a-directory"),
        ErrorKind::ReadOnlyFilesystem => msg!("cli.io.read-only"),
        ErrorKind::StorageFull => msg!("cli.io.storage-full"),
        ErrorKind::AddrInUse => msg!("cli.serve.addr-in-use"),
        ErrorKind::AddrNotAvailable => msg!("cli.serve.addr-not-available"),
        _ => return err.to_string(),
    };
    say(said)
}
