//! `miniguard keys generate`: a fresh data-encryption key as a keyring line (`ID:BASE64`), the
//! format `serve --config` reads from `data_keys_env` or `data_keys_file`
//! (`miniguard_crypto::Keyring::from_text`). `keys rotate`, `keys status` and `keys retire`:
//! key rotation over the database of a `miniguard.toml` (design in
//! `miniguard_server::rotation`).

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use miniguard_crypto::{Key, KeyId, Keyring};
use miniguard_report::msg;
use miniguard_server::config::{ConfigError, ServerSettings};
use miniguard_server::db::Db;
use miniguard_server::rotation;
use secrecy::ExposeSecret as _;
use zeroize::Zeroizing;

use crate::args::{KeysArgs, KeysCommand};
use crate::say;

pub fn run(args: &KeysArgs) -> Result<ExitCode> {
    match &args.command {
        KeysCommand::Generate { out, force, id } => generate(out.as_deref(), *force, *id),
        KeysCommand::Rotate {
            config,
            resume,
            add_only,
            batch,
            limit,
        } => runtime()?.block_on(rotate(config, *resume, *add_only, *batch, *limit)),
        KeysCommand::Status { config } => runtime()?.block_on(status(config)),
        KeysCommand::Retire { config, id } => runtime()?.block_on(retire(config, *id)),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .with_context(|| say(msg!("cli.runtime")))
}

fn settings(config: &Path) -> Result<ServerSettings> {
    // A file that cannot be read or parsed names itself; a setting it refuses does not.
    ServerSettings::from_file(config).map_err(|e| match e {
        ConfigError::Invalid(_) => anyhow::Error::new(e).context(say(msg!(
            "cli.reading",
            path = config.display().to_string()
        ))),
        other => other.into(),
    })
}

async fn open_db(s: &ServerSettings) -> Result<Db> {
    let location = s.location()?;
    let db = Db::open_at(&location)
        .await
        .with_context(|| say(msg!("cli.opening", path = location.display())))?;
    Ok(db)
}

async fn rotate(
    config: &Path,
    resume: bool,
    add_only: bool,
    batch: usize,
    limit: Option<u64>,
) -> Result<ExitCode> {
    let s = settings(config)?;
    let mut err = anstream::stderr().lock();
    if !resume {
        let Some(path) = &s.data_keys_file else {
            bail!(say(msg!(
                "cli.keys.env-keys-rotate",
                config = config.display().to_string()
            )));
        };
        let id = rotation::add_key_to_file(path)?;
        writeln!(
            err,
            "{}",
            say(msg!(
                "cli.keys.added",
                id = id.to_string(),
                path = path.display().to_string()
            ))
        )?;
        if add_only {
            writeln!(
                err,
                "{}",
                say(msg!(
                    "cli.keys.restart-then-resume",
                    id = id.to_string(),
                    config = config.display().to_string()
                ))
            )?;
            return Ok(ExitCode::SUCCESS);
        }
    }
    let keyring = s.keyring().with_context(|| say(msg!("cli.keys.loading")))?;
    let db = open_db(&s).await?;
    let result = rotation::reencrypt(&db, &keyring, &s.collections, batch, limit).await;
    db.close().await;
    let progress = result?;
    writeln!(
        err,
        "{}",
        say(msg!(
            "cli.keys.reencrypted",
            count = progress.reencrypted,
            id = keyring.current_id().to_string(),
            current = progress.current
        ))
    )?;
    if progress.complete {
        writeln!(
            err,
            "{}",
            say(msg!(
                "cli.keys.complete",
                id = keyring.current_id().to_string()
            ))
        )?;
    } else {
        writeln!(
            err,
            "{}",
            say(msg!(
                "cli.keys.stopped-at-limit",
                config = config.display().to_string()
            ))
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn status(config: &Path) -> Result<ExitCode> {
    let s = settings(config)?;
    let db = open_db(&s).await?;
    let result = rotation::key_usage(&db, &s.collections).await;
    db.close().await;
    let mut out = std::io::stdout().lock();
    for u in result? {
        let keys: Vec<String> = u
            .by_key
            .iter()
            .map(|(id, n)| say(msg!("cli.keys.status-key", id = id.to_string(), count = *n)))
            .collect();
        let mut line = format!("{}.{}\t{}", u.table, u.column, keys.join(", "));
        if keys.is_empty() {
            line.push_str(&say(msg!("cli.keys.status-empty")));
        }
        if u.malformed > 0 {
            line.push_str(&say(msg!("cli.keys.status-malformed", count = u.malformed)));
        }
        writeln!(out, "{line}")?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn retire(config: &Path, id: u32) -> Result<ExitCode> {
    let s = settings(config)?;
    let Some(path) = &s.data_keys_file else {
        bail!(say(msg!(
            "cli.keys.env-keys-retire",
            config = config.display().to_string()
        )));
    };
    let db = open_db(&s).await?;
    let result = rotation::retire_key_in_file(path, &db, &s.collections, KeyId(id)).await;
    db.close().await;
    result?;
    writeln!(
        anstream::stderr().lock(),
        "{}",
        say(msg!(
            "cli.keys.removed",
            id = id,
            path = path.display().to_string()
        ))
    )?;
    Ok(ExitCode::SUCCESS)
}

fn generate(out: Option<&Path>, force: bool, id: u32) -> Result<ExitCode> {
    let key = Key::generate().with_context(|| say(msg!("cli.keys.random")))?;
    let line = Zeroizing::new(format!("{id}:{}\n", key.to_base64().expose_secret()));
    // What `serve --config` will do with it; a failure here is a bug, never a bad key.
    let ring = Keyring::from_text(&line).with_context(|| say(msg!("cli.keys.not-a-keyring")))?;
    anyhow::ensure!(
        ring.current_id() == KeyId(id),
        say(msg!("cli.keys.other-id"))
    );

    let mut err = anstream::stderr().lock();
    if let Some(path) = out {
        write_private(path, line.as_bytes(), force)?;
        writeln!(
            err,
            "{}",
            say(msg!(
                "cli.keys.wrote",
                id = id,
                path = path.display().to_string()
            ))
        )?;
    } else {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(line.as_bytes())?;
        stdout.flush()?;
        writeln!(err, "{}", say(msg!("cli.keys.printed", id = id)))?;
    }
    writeln!(
        err,
        "{}",
        say(msg!("cli.keys.backup", next = id.saturating_add(1)))
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Creates `path` with mode 0600 and writes `bytes`; an existing file is an error unless `force`.
fn write_private(path: &Path, bytes: &[u8], force: bool) -> Result<()> {
    if path.exists() || path.is_symlink() {
        if !force {
            bail!(say(msg!(
                "cli.keys.exists",
                path = path.display().to_string()
            )));
        }
        // Removed rather than truncated, so the new file gets mode 0600 whatever the old one had.
        std::fs::remove_file(path)
            .with_context(|| say(msg!("cli.removing", path = path.display().to_string())))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| say(msg!("cli.creating", path = path.display().to_string())))?;
    #[cfg(unix)]
    {
        // The umask can only remove bits; make the mode exact anyway.
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| say(msg!("cli.setting-mode", path = path.display().to_string())))?;
    }
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| say(msg!("cli.writing", path = path.display().to_string())))?;
    Ok(())
}
