//! `miniguard accounts create`: a staff account (admin or operator) in the server's database.
//! The password comes from standard input, so it never shows in `ps` or shell history.

use std::io::{BufRead as _, Write as _};
use std::process::ExitCode;

use anyhow::{Context, Result};
use miniguard_server::accounts::{self, AccountError};
use miniguard_server::db::Db;
use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::args::{AccountsArgs, AccountsCommand, StaffRole};

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
                .context("reading the password from standard input")?;
            let password = SecretString::from(line.trim_end_matches(['\r', '\n']).to_owned());
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            runtime.block_on(async {
                if let Some(parent) = db.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent)
                        .with_context(|| format!("creating {}", parent.display()))?;
                }
                let handle = Db::open(db)
                    .await
                    .with_context(|| format!("opening {}", db.display()))?;
                if let Some(key) = audit_key {
                    handle
                        .use_audit_key(key)
                        .await
                        .context("chaining the audit log")?;
                }
                let created = accounts::create_account(&handle, username, &password, role).await;
                handle.close().await;
                let user = match created {
                    Ok(user) => user,
                    Err(AccountError::WeakPassword(why)) => anyhow::bail!("{why}"),
                    Err(e) => return Err(e).context("creating the account"),
                };
                writeln!(
                    anstream::stdout().lock(),
                    "created {role} account {} (user id {}); it must enrol TOTP at its first login",
                    username.trim().to_ascii_lowercase(),
                    user.0
                )?;
                Ok(ExitCode::SUCCESS)
            })
        }
    }
}
