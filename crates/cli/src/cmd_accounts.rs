//! `miniguard accounts create`: a staff account (admin or operator) in the server's database.
//! The password comes from standard input, so it never shows in `ps` or shell history.
//!
//! `miniguard accounts end-sessions`: every session ends at once (an incident, a leaked key):
//! the database revokes every token, and the running instances follow it (told through Redis
//! at once when there is one, and within a second from the database in any case).

use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use miniguard_report::{Msg, msg};
use miniguard_server::accounts::{self, AccountError};
use miniguard_server::config::ServerSettings;
use miniguard_server::db::{Db, Location};
use miniguard_server::session_cache::Invalidation;
use miniguard_server::shared::Shared;
use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::args::{AccountsArgs, AccountsCommand, AuditKeyArgs, StaffRole};
use crate::cmd_serve::arg_or_env;
use crate::say;

pub fn run(args: &AccountsArgs) -> Result<ExitCode> {
    match &args.command {
        AccountsCommand::EndSessions {
            db,
            database_url,
            redis_url,
            audit_key,
        } => end_sessions(
            db.as_deref(),
            database_url.as_ref(),
            redis_url.as_ref(),
            audit_key,
        ),
        AccountsCommand::Create {
            db,
            username,
            role,
            audit_key,
        } => {
            let audit_key = crate::cmd_serve::audit_key(audit_key)?;
            let role = match role {
                StaffRole::Admin => "admin",
                StaffRole::Operator => "operator",
            };
            let mut line = Zeroizing::new(String::new());
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .with_context(|| say(msg!("cli.accounts.reading-password")))?;
            let password = SecretString::from(line.trim_end_matches(['\r', '\n']).to_owned());
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .with_context(|| say(msg!("cli.runtime")))?;
            runtime.block_on(async {
                if let Some(parent) = db.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).with_context(|| {
                        say(msg!("cli.creating", path = parent.display().to_string()))
                    })?;
                }
                let handle = Db::open(db)
                    .await
                    .with_context(|| say(msg!("cli.opening", path = db.display().to_string())))?;
                if let Some(key) = audit_key {
                    handle
                        .use_audit_key(key)
                        .await
                        .with_context(|| say(msg!("cli.chaining-audit-log")))?;
                }
                let created = accounts::create_account(&handle, username, &password, role).await;
                handle.close().await;
                let user = match created {
                    Ok(user) => user,
                    Err(AccountError::WeakPassword(why)) => anyhow::bail!(weak_password(why)),
                    Err(AccountError::InvalidUsername) => {
                        anyhow::bail!(say(msg!("cli.accounts.invalid-username")))
                    }
                    Err(AccountError::Taken) => anyhow::bail!(say(msg!("cli.accounts.taken"))),
                    Err(e) => {
                        return Err(e).with_context(|| say(msg!("cli.accounts.creating")));
                    }
                };
                writeln!(
                    anstream::stdout().lock(),
                    "{}",
                    say(msg!(
                        "cli.accounts.created",
                        role = role,
                        username = username.trim().to_ascii_lowercase(),
                        id = user.0
                    ))
                )?;
                Ok(ExitCode::SUCCESS)
            })
        }
    }
}

/// `accounts end-sessions`: see the module documentation.
fn end_sessions(
    db: Option<&Path>,
    database_url: Option<&String>,
    redis_url: Option<&String>,
    audit_key_args: &AuditKeyArgs,
) -> Result<ExitCode> {
    let settings = audit_key_args
        .config
        .as_deref()
        .map(ServerSettings::from_file)
        .transpose()?;
    let location = match (db, arg_or_env(database_url, "MINIGUARD_DATABASE_URL")) {
        (Some(path), _) => Location::Sqlite(path.to_path_buf()),
        (None, Some(url)) => Location::from_url(&url, Path::new("uploads"))?,
        (None, None) => match &settings {
            Some(s) => s.location()?,
            None => anyhow::bail!(say(msg!("cli.accounts.name-the-database"))),
        },
    };
    if let Location::Sqlite(path) = &location
        && !path.is_file()
    {
        // A mistyped path must not create an empty database.
        anyhow::bail!(say(msg!(
            "cli.roles.no-database",
            path = path.display().to_string()
        )));
    }
    let redis_url = arg_or_env(redis_url, "MINIGUARD_REDIS_URL")
        .or_else(|| settings.as_ref().and_then(|s| s.redis_url.clone()));
    let audit_key = match crate::cmd_serve::audit_key(audit_key_args)? {
        Some(key) => Some(key),
        None => dev_audit_key(db)?,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .with_context(|| say(msg!("cli.runtime")))?;
    runtime.block_on(async {
        let handle = Db::open_at(&location)
            .await
            .with_context(|| say(msg!("cli.opening", path = location.display())))?;
        let ended = end_on(&handle, audit_key, redis_url.as_deref()).await;
        handle.close().await;
        ended
    })
}

async fn end_on(
    db: &Db,
    audit_key: Option<miniguard_server::audit::AuditKey>,
    redis_url: Option<&str>,
) -> Result<ExitCode> {
    if let Some(key) = audit_key {
        db.use_audit_key(key)
            .await
            .with_context(|| say(msg!("cli.chaining-audit-log")))?;
    }
    // Connected first, so the instances hear of the end as soon as it is written; a Redis that
    // does not answer holds nothing up: the database is the truth.
    let mut err = anstream::stderr().lock();
    let shared = match redis_url {
        Some(url) => {
            let deployment = db
                .deployment_id()
                .await
                .with_context(|| say(msg!("cli.accounts.ending-sessions")))?;
            match Shared::connect(url, &deployment).await {
                Ok(shared) => Some(shared),
                Err(e) => {
                    writeln!(err, "{}", say(redis_unreachable(&e.to_string())))?;
                    None
                }
            }
        }
        None => None,
    };
    let tokens = db
        .end_all_sessions("cli")
        .await
        .with_context(|| say(msg!("cli.accounts.ending-sessions")))?;
    let mut out = anstream::stdout().lock();
    writeln!(
        out,
        "{}",
        say(msg!("cli.accounts.sessions-ended", tokens = tokens))
    )?;
    let told = match &shared {
        Some(shared) => match shared.publish(&Invalidation::All).await {
            Ok(()) => true,
            Err(e) => {
                writeln!(err, "{}", say(redis_unreachable(&e.to_string())))?;
                false
            }
        },
        None => false,
    };
    let how = if told {
        msg!("cli.accounts.sessions-told")
    } else {
        msg!("cli.accounts.sessions-within-a-second")
    };
    writeln!(out, "{}", say(how))?;
    Ok(ExitCode::SUCCESS)
}

fn redis_unreachable(reason: &str) -> Msg {
    msg!(
        "cli.warning",
        message = say(msg!("cli.accounts.redis-unreachable", reason = reason))
    )
}

/// The `dev-audit-key` that `serve --dev --data-dir` keeps beside a `--db` file, when there.
fn dev_audit_key(db: Option<&Path>) -> Result<Option<miniguard_server::audit::AuditKey>> {
    let Some(db) = db else { return Ok(None) };
    let dev: PathBuf = db
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join(miniguard_server::launch::DEV_AUDIT_KEY_FILE);
    if !dev.is_file() {
        return Ok(None);
    }
    let key = miniguard_server::audit::AuditKey::from_file(&dev)
        .with_context(|| dev.display().to_string())?;
    Ok(Some(key))
}

/// The password policy's explanation (`miniguard_server::accounts::check_new_password`, a fixed
/// English sentence) in the reader's language; a sentence not known here stays English.
fn weak_password(why: &str) -> String {
    weak_password_msg(why).map_or_else(|| why.to_owned(), say)
}

fn weak_password_msg(why: &str) -> Option<Msg> {
    Some(match why {
        "The password must be at least 12 characters long." => msg!("cli.accounts.too-short"),
        "The password must be at most 128 characters long." => msg!("cli.accounts.too-long"),
        "The password is one of the most common passwords." => msg!("cli.accounts.common"),
        "The password must not contain the username." => msg!("cli.accounts.contains-username"),
        "The password must not repeat a pattern." => msg!("cli.accounts.repetitive"),
        "The password must not be keyboard rows or sequences." => {
            msg!("cli.accounts.sequences")
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use miniguard_report::i18n::Lang;
    use miniguard_server::accounts::check_new_password;

    /// Every explanation the policy gives has its message, said in English exactly as the
    /// policy says it (so the table follows the server's wording).
    #[test]
    fn every_password_policy_explanation_is_translated() {
        let long = "x".repeat(200) + "Qz7!kP";
        for password in [
            "short",
            long.as_str(),
            "password1234",
            "my-alice-secret-9Q!",
            "abcabcabcabcabc",
            "qwertyuiop1234567",
        ] {
            let why = check_new_password(password, "alice").expect_err(password);
            let m = weak_password_msg(why).unwrap_or_else(|| panic!("no message for {why:?}"));
            assert_eq!(m.render(Lang::En), why);
            assert!(!m.render(Lang::ZhCn).contains("password"), "{why}");
        }
    }
}
