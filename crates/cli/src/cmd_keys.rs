//! `miniguard keys generate`: a fresh data-encryption key as a keyring line (`ID:BASE64`), the
//! format `serve --config` reads from `data_keys_env` or `data_keys_file`
//! (`miniguard_crypto::Keyring::from_text`). `keys rotate`, `keys status` and `keys retire`:
//! key rotation over the database of a `miniguard.toml` (design in
//! `miniguard_server::rotation`).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use miniguard_crypto::{Key, KeyId, Keyring};
use miniguard_server::config::ServerSettings;
use miniguard_server::db::Db;
use miniguard_server::rotation;
use secrecy::ExposeSecret as _;
use zeroize::Zeroizing;

use crate::args::{KeysArgs, KeysCommand};

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
        .context("starting the async runtime")
}

fn settings(config: &Path) -> Result<ServerSettings> {
    ServerSettings::from_file(config).with_context(|| format!("reading {}", config.display()))
}

async fn open_db(s: &ServerSettings) -> Result<Db> {
    let location = s.location()?;
    let db = Db::open_at(&location)
        .await
        .with_context(|| format!("opening {}", location.display()))?;
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
            bail!(
                "keys rotate adds the new key to data_keys_file, but {} takes its keys from \
                 data_keys_env. Add a key yourself (`miniguard keys generate --id N` appended to the \
                 variable's value), restart the server, then run `miniguard keys rotate --resume`",
                config.display()
            );
        };
        let id = rotation::add_key_to_file(path)?;
        writeln!(
            err,
            "Added data key {id} to {} (old keys kept; mode 0600).",
            path.display()
        )?;
        if add_only {
            writeln!(
                err,
                "Restart the server so it encrypts under key {id}, then run `miniguard keys \
                 rotate --resume --config {}`.",
                config.display()
            )?;
            return Ok(ExitCode::SUCCESS);
        }
    }
    let keyring = s.keyring().context("loading the data keys")?;
    let db = open_db(&s).await?;
    let result = rotation::reencrypt(&db, &keyring, &s.collections, batch, limit).await;
    db.close().await;
    let progress = result?;
    writeln!(
        err,
        "Re-encrypted {} envelope(s) under key {}; {} already current.",
        progress.reencrypted,
        keyring.current_id(),
        progress.current
    )?;
    if progress.complete {
        writeln!(
            err,
            "Every envelope is under key {}. Restart running servers if they were started before \
             the key was added; `miniguard keys status` shows which old keys can be retired.",
            keyring.current_id()
        )?;
    } else {
        writeln!(
            err,
            "Stopped at the limit; run `miniguard keys rotate --resume --config {}` to continue.",
            config.display()
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
            .map(|(id, n)| format!("key {id}: {n}"))
            .collect();
        let mut line = format!("{}.{}\t{}", u.table, u.column, keys.join(", "));
        if keys.is_empty() {
            line.push_str("(empty)");
        }
        if u.malformed > 0 {
            let _ = write!(line, ", malformed: {}", u.malformed);
        }
        writeln!(out, "{line}")?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn retire(config: &Path, id: u32) -> Result<ExitCode> {
    let s = settings(config)?;
    let Some(path) = &s.data_keys_file else {
        bail!(
            "{} takes its keys from data_keys_env; remove the key from the variable yourself \
             once `miniguard keys status` shows it unused",
            config.display()
        );
    };
    let db = open_db(&s).await?;
    let result = rotation::retire_key_in_file(path, &db, &s.collections, KeyId(id)).await;
    db.close().await;
    result?;
    writeln!(
        anstream::stderr().lock(),
        "Removed key {id} from {}.",
        path.display()
    )?;
    Ok(ExitCode::SUCCESS)
}

fn generate(out: Option<&Path>, force: bool, id: u32) -> Result<ExitCode> {
    let key = Key::generate().context("reading the OS random number generator")?;
    let line = Zeroizing::new(format!("{id}:{}\n", key.to_base64().expose_secret()));
    // What `serve --config` will do with it; a failure here is a bug, never a bad key.
    let ring =
        Keyring::from_text(&line).context("the generated line does not parse as a keyring")?;
    anyhow::ensure!(
        ring.current_id() == KeyId(id),
        "the generated line names another key id"
    );

    let mut err = anstream::stderr().lock();
    if let Some(path) = out {
        write_private(path, line.as_bytes(), force)?;
        writeln!(
            err,
            "Wrote data-encryption key {id} to {} (mode 0600). In miniguard.toml:\n\n  \
             [server]\n  data_keys_file = \"{}\"\n\n\
             The file must stay readable by the server's user only.",
            path.display(),
            path.display()
        )?;
    } else {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(line.as_bytes())?;
        stdout.flush()?;
        writeln!(
            err,
            "\nThat line is a data-encryption keyring (key id {id}). Give it to `miniguard serve \
             --config` in one of two ways:\n  \
             - an environment variable: data_keys_env = \"MINIGUARD_DATA_KEYS\" in [server], and\n    \
             export MINIGUARD_DATA_KEYS=$(miniguard keys generate)\n  \
             - a file only the server's user can read: data_keys_file = \"/etc/miniguard/data-keys\", made with\n    \
             miniguard keys generate --out /etc/miniguard/data-keys   (mode 0600)"
        )?;
    }
    writeln!(
        err,
        "Keep a backup: data encrypted under a lost key cannot be recovered. To rotate, add a key \
         with the next id (`--id {}`) to the same line, `1:OLD,2:NEW`; the highest id encrypts.",
        id.saturating_add(1)
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Creates `path` with mode 0600 and writes `bytes`; an existing file is an error unless `force`.
fn write_private(path: &Path, bytes: &[u8], force: bool) -> Result<()> {
    if path.exists() || path.is_symlink() {
        if !force {
            bail!(
                "{} already exists; refusing to overwrite a key (its data would become \
                 unreadable). Use --force to replace it",
                path.display()
            );
        }
        // Removed rather than truncated, so the new file gets mode 0600 whatever the old one had.
        std::fs::remove_file(path).with_context(|| format!("removing {}", path.display()))?;
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
        .with_context(|| format!("creating {}", path.display()))?;
    #[cfg(unix)]
    {
        // The umask can only remove bits; make the mode exact anyway.
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("setting the mode of {}", path.display()))?;
    }
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
