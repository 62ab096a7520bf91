//! `miniguard roles grant|revoke|list`: the roles the data API's rules (`role:staff`,
//! `role:admin and mfa`) check, kept in the server's database. Changes are audited and take
//! effect on the next request, so no one needs to edit the database by hand.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use miniguard_report::msg;
use miniguard_server::db::{Db, UserId};
use miniguard_server::roles_admin::{self, RoleError};

use crate::say;

#[derive(Args, Debug)]
pub struct RolesArgs {
    #[command(subcommand)]
    pub command: RolesCommand,
}

#[derive(Subcommand, Debug)]
pub enum RolesCommand {
    /// Grant a role to a user (a mini-program user after its first login, or a staff account).
    /// Audited as `role.granted`. Granting a role the user holds changes nothing.
    ///
    /// Exit codes: 0 granted (or already held), 2 error (no such database or user, bad name).
    #[command(after_help = ROLES_EXAMPLES)]
    Grant(RoleChange),
    /// Revoke a role from a user. Audited as `role.revoked`; takes effect on the next request.
    ///
    /// Exit codes: 0 revoked (or not held), 2 error.
    #[command(after_help = ROLES_EXAMPLES)]
    Revoke(RoleChange),
    /// List the roles held, by user id.
    #[command(after_help = ROLES_EXAMPLES)]
    List {
        /// The server's SQLite database (`miniguard.db` in serve's --data-dir).
        #[arg(long, value_name = "PATH")]
        db: PathBuf,
        /// Only this user's roles.
        #[arg(long, value_name = "ID")]
        user: Option<i64>,
    },
}

/// The arguments of `grant` and `revoke`.
#[derive(Args, Debug)]
pub struct RoleChange {
    /// The server's SQLite database (`miniguard.db` in serve's --data-dir).
    #[arg(long, value_name = "PATH")]
    pub db: PathBuf,
    /// The user's id: the `user.id` a login answers (`GET /v1/me` says it too).
    #[arg(long, value_name = "ID")]
    pub user: i64,
    /// The role, as rules name it after `role:` (letters, digits, `_`; e.g. staff, admin).
    #[arg(value_name = "ROLE")]
    pub role: String,
    /// The audit key the change is chained with. Without one, the `dev-audit-key` that
    /// `serve --dev --data-dir` keeps beside the database is used when it is there; a keyed
    /// audit log refuses an unkeyed append, so production needs `--key-file`, `--key-env` or
    /// `--config`.
    #[command(flatten)]
    pub audit_key: crate::args::AuditKeyArgs,
}

const ROLES_EXAMPLES: &str = "\
Examples:
  miniguard roles grant --db .shop-data/miniguard.db --user 2 staff
  miniguard roles list --db .shop-data/miniguard.db
  miniguard roles revoke --db .shop-data/miniguard.db --user 2 staff";

pub fn run(args: &RolesArgs) -> Result<ExitCode> {
    let db_path = match &args.command {
        RolesCommand::Grant(c) | RolesCommand::Revoke(c) => &c.db,
        RolesCommand::List { db, .. } => db,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .with_context(|| say(msg!("cli.runtime")))?;
    let audit_key = match &args.command {
        RolesCommand::Grant(c) | RolesCommand::Revoke(c) => audit_key_for(c)?,
        RolesCommand::List { .. } => None,
    };
    runtime.block_on(async {
        let db = open_existing(db_path).await?;
        if let Some(key) = audit_key
            && let Err(e) = db.use_audit_key(key).await
        {
            db.close().await;
            return Err(e).with_context(|| say(msg!("cli.chaining-audit-log")));
        }
        let result = execute(&db, &args.command).await;
        db.close().await;
        result
    })
}

/// The audit key named by the flags, else the dev server's key file beside the database.
fn audit_key_for(change: &RoleChange) -> Result<Option<miniguard_server::audit::AuditKey>> {
    if let Some(key) = crate::cmd_serve::audit_key(&change.audit_key)? {
        return Ok(Some(key));
    }
    let dev = change
        .db
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join(miniguard_server::launch::DEV_AUDIT_KEY_FILE);
    if dev.is_file() {
        let key = miniguard_server::audit::AuditKey::from_file(&dev)
            .with_context(|| dev.display().to_string())?;
        return Ok(Some(key));
    }
    Ok(None)
}

/// Opens the database only if it exists: a mistyped path must not create an empty one.
async fn open_existing(path: &Path) -> Result<Db> {
    if !path.is_file() {
        anyhow::bail!(say(msg!(
            "cli.roles.no-database",
            path = path.display().to_string()
        )));
    }
    Db::open(path)
        .await
        .with_context(|| say(msg!("cli.opening", path = path.display().to_string())))
}

async fn execute(db: &Db, command: &RolesCommand) -> Result<ExitCode> {
    let mut out = anstream::stdout().lock();
    match command {
        RolesCommand::Grant(c) => {
            let done = roles_admin::grant(db, UserId(c.user), &c.role)
                .await
                .map_err(user_error)?;
            let said = if done {
                msg!("cli.roles.granted", role = &c.role, user = c.user)
            } else {
                msg!("cli.roles.already-held", role = &c.role, user = c.user)
            };
            writeln!(out, "{}", say(said))?;
        }
        RolesCommand::Revoke(c) => {
            let done = roles_admin::revoke(db, UserId(c.user), &c.role)
                .await
                .map_err(user_error)?;
            let said = if done {
                msg!("cli.roles.revoked", role = &c.role, user = c.user)
            } else {
                msg!("cli.roles.not-held", role = &c.role, user = c.user)
            };
            writeln!(out, "{}", say(said))?;
        }
        RolesCommand::List { user, .. } => {
            let grants = roles_admin::list(db, user.map(UserId))
                .await
                .map_err(user_error)?;
            if grants.is_empty() {
                writeln!(out, "{}", say(msg!("cli.roles.none")))?;
            }
            for g in grants {
                let when = if g.granted_at_ms > 0 {
                    miniguard_server::data::records::format_rfc3339(g.granted_at_ms)
                } else {
                    "-".to_owned()
                };
                writeln!(
                    out,
                    "{}",
                    say(msg!(
                        "cli.roles.row",
                        user = format!("{:<6}", g.user.0),
                        platform = format!("{:<8}", g.platform),
                        role = format!("{:<16}", g.role),
                        when = when
                    ))
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn user_error(e: RoleError) -> anyhow::Error {
    match e {
        RoleError::Db(db) => anyhow::Error::new(db).context(say(msg!("cli.roles.updating"))),
        RoleError::InvalidRole => anyhow::anyhow!(say(msg!("cli.roles.invalid-role"))),
        RoleError::NoSuchUser(user) => {
            anyhow::anyhow!(say(msg!("cli.roles.no-such-user", user = user)))
        }
        other => anyhow::anyhow!("{other}"),
    }
}
