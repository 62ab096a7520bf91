//! `miniguard accounts create`: a staff account (admin or operator) in the server's database.
//! The password comes from standard input, so it never shows in `ps` or shell history.

use std::io::{BufRead as _, Write as _};
use std::process::ExitCode;

use anyhow::{Context, Result};
use miniguard_report::{Msg, msg};
use miniguard_server::accounts::{self, AccountError};
use miniguard_server::db::Db;
use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::args::{AccountsArgs, AccountsCommand, StaffRole};
use crate::say;

pub fn run(args: &AccountsArgs) -> Result<ExitCode> {
    match &args.command {
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
