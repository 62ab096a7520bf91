//! `miniguard backup`: a consistent copy of `serve`'s SQLite database, taken while the server
//! runs (`Db::backup_into`, SQLite's `VACUUM INTO` in one read transaction).
//!
//! The copy is first written to a hidden file beside `--out` (created empty with mode 0600, so
//! the data is never readable by others, not even for a moment), checked with SQLite's
//! `integrity_check`, synced, and only then linked to its name; linking fails when that name
//! exists, so a backup never replaces a file, and an interrupted run never leaves a half
//! copy under the name a restore would use. PostgreSQL is refused: its own tools (`pg_dump`,
//! base backups) are the backup there. Restore is documented in docs/operations.md: stop,
//! copy the file back (without the old `-wal`/`-shm` files), start.

// Reason: doc comments here are `--help` text, where backticks would show as-is.
#![allow(clippy::doc_markdown)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use miniguard_report::msg;
use miniguard_server::config::ServerSettings;
use miniguard_server::db::{Db, Location};

use crate::say;

/// `miniguard backup`.
#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["db", "config"])))]
pub struct BackupArgs {
    /// The server's SQLite database file (`miniguard.db` in the data directory of `serve --dev
    /// --data-dir`).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// The server's miniguard.toml: back up the SQLite file of its `database` (a PostgreSQL
    /// `database_url` is refused: back it up with pg_dump or a base backup).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Where to write the copy: a new file, created with mode 0600; an existing file is never
    /// overwritten.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: PathBuf,
}

pub const BACKUP_EXAMPLES: &str = "\
Examples:
  miniguard backup --config /etc/miniguard/miniguard.toml --out /backup/miniguard-$(date +%F).db
  miniguard backup --db .miniguard-dev/miniguard.db --out before-upgrade.db

Restore: stop the server, remove the database's -wal and -shm files, copy the backup over the
database file, check it with `miniguard audit-log verify --db FILE --config miniguard.toml`,
start the server. Copy the uploads folder beside the database as well (docs/operations.md).";

pub fn run(args: &BackupArgs) -> Result<ExitCode> {
    let source = match (&args.db, &args.config) {
        (Some(db), _) => db.clone(),
        (None, Some(config)) => {
            let settings = ServerSettings::from_file(config)
                .with_context(|| format!("reading {}", config.display()))?;
            match settings.location()? {
                Location::Sqlite(path) => path,
                Location::Postgres { url, .. } => bail!(
                    "{}",
                    say(msg!(
                        "cli.backup.postgres",
                        url = miniguard_server::db::redact(&url)
                    ))
                ),
            }
        }
        (None, None) => bail!("give the database with --db PATH or --config FILE"),
    };
    if !source.is_file() {
        bail!(
            "{}",
            say(msg!(
                "cli.backup.no-database",
                path = source.display().to_string()
            ))
        );
    }
    refuse_existing(&args.out)?;
    let tmp = partial_path(&args.out)?;
    let guard = RemoveOnDrop(Some(tmp.clone()));
    create_private_empty(&tmp)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let (version, uploads) = runtime.block_on(copy_and_check(&source, &tmp))?;

    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("syncing {}", tmp.display()))?;
    publish(&tmp, &args.out)?;
    drop(guard);
    sync_parent(&args.out);

    let size = std::fs::metadata(&args.out).map_or(0, |m| m.len());
    let mut err = anstream::stderr();
    writeln!(
        err,
        "{}",
        say(msg!(
            "cli.backup.done",
            db = source.display().to_string(),
            out = args.out.display().to_string(),
            bytes = size,
            version = version
        ))
    )?;
    if uploads.is_dir() {
        writeln!(
            err,
            "{}",
            say(msg!(
                "cli.backup.uploads",
                path = uploads.display().to_string()
            ))
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Copies `source` into the empty file `tmp` and checks the copy: the schema version it holds,
/// and the uploads folder that goes with the source.
async fn copy_and_check(source: &Path, tmp: &Path) -> Result<(i64, PathBuf)> {
    // Read-only: a backup never migrates or otherwise writes the live database.
    let db = Db::open_read_only(source)
        .await
        .with_context(|| format!("opening {}", source.display()))?;
    let uploads = db.uploads_dir().to_path_buf();
    let copied = db.backup_into(tmp).await;
    db.close().await;
    copied.with_context(|| format!("copying {}", source.display()))?;

    let copy = Db::open_read_only(tmp)
        .await
        .with_context(|| format!("opening the copy {}", tmp.display()))?;
    let checked = async {
        let problems = copy.integrity_problems().await?;
        let version = copy.schema_version().await?;
        Ok::<_, miniguard_server::db::DbError>((problems, version))
    }
    .await;
    copy.close().await;
    let (problems, version) = checked.context("checking the copy")?;
    if !problems.is_empty() {
        bail!(
            "{}",
            say(msg!("cli.backup.damaged", problems = problems.join("; ")))
        );
    }
    Ok((version, uploads))
}

fn refuse_existing(out: &Path) -> Result<()> {
    if out.exists() || out.is_symlink() {
        bail!(
            "{}",
            say(msg!("cli.backup.exists", path = out.display().to_string()))
        );
    }
    Ok(())
}

/// A hidden name beside `out`, on the same file system (so it can be linked to `out`).
fn partial_path(out: &Path) -> Result<PathBuf> {
    let name = out
        .file_name()
        .with_context(|| format!("{} names no file", out.display()))?;
    let mut partial = std::ffi::OsString::from(".");
    partial.push(name);
    partial.push(format!(".partial-{}", std::process::id()));
    Ok(out.with_file_name(partial))
}

/// Creates `path` empty with mode 0600 (`VACUUM INTO` fills an empty file and keeps its mode).
fn create_private_empty(path: &Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let file = options
        .open(path)
        .with_context(|| say(msg!("cli.cannot-create", path = path.display().to_string())))?;
    #[cfg(unix)]
    {
        // The umask can only remove bits; make the mode exact anyway.
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("setting the mode of {}", path.display()))?;
    }
    Ok(())
}

/// Gives the finished copy its name without ever replacing a file there: a hard link fails
/// when the name exists. Where the file system has no hard links, a rename after a last check.
fn publish(tmp: &Path, out: &Path) -> Result<()> {
    match std::fs::hard_link(tmp, out) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            bail!(
                "{}",
                say(msg!("cli.backup.exists", path = out.display().to_string()))
            )
        }
        Err(_) => {
            refuse_existing(out)?;
            std::fs::rename(tmp, out)
                .with_context(|| say(msg!("cli.cannot-write", path = out.display().to_string())))
        }
    }
}

/// Syncs the folder of `path`, so its new name survives a crash (best effort: not every
/// platform can open a folder).
fn sync_parent(path: &Path) {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if let Ok(dir) = std::fs::File::open(parent) {
        let _ = dir.sync_all();
    }
}

/// Removes the temporary copy however the run ends (after a successful publish the copy's
/// other name is removed, the published one stays).
struct RemoveOnDrop(Option<PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}
