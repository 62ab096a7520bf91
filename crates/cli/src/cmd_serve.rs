//! `miniguard serve` and `miniguard audit-log verify|anchor|keygen`: thin wiring around
//! `miniguard-server`.
//! The server library emits `tracing` events; this is where they get a destination (stderr,
//! filtered by `RUST_LOG`, default `info`).

use std::io::{IsTerminal as _, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use miniguard_server::audit::{Anchor, AuditKey, ChainProblem, ChainReport};
use miniguard_server::config::ServerSettings;
use miniguard_server::db::{Db, Location};
use miniguard_server::launch::{self, DevOptions, Running};

use crate::args::{AuditKeyArgs, AuditLogArgs, AuditLogCommand, ServeArgs};

const DEV_LISTEN: &str = "127.0.0.1:8443";

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// The argument, else the environment variable when set and not empty.
fn arg_or_env(arg: Option<&String>, var: &str) -> Option<String> {
    arg.cloned()
        .or_else(|| std::env::var(var).ok().filter(|u| !u.is_empty()))
}

pub fn run(args: &ServeArgs) -> Result<ExitCode> {
    init_logging();
    let database_url = arg_or_env(args.database_url.as_ref(), "MINIGUARD_DATABASE_URL");
    let redis_url = arg_or_env(args.redis_url.as_ref(), "MINIGUARD_REDIS_URL");
    runtime()?.block_on(async {
        let running = if args.dev {
            let listen = match args.listen {
                Some(a) => a,
                None => DEV_LISTEN.parse().context("default listen address")?,
            };
            // --config with --dev: only the file's [collections.*], [server.limits] and
            // [server] rich_text_image_hosts are used.
            let (collections, limits, rich_text_image_hosts) = match &args.config {
                Some(path) => (
                    ServerSettings::collections_from_file(path)?,
                    ServerSettings::dev_limits_from_file(path)?,
                    ServerSettings::dev_image_hosts_from_file(path)?,
                ),
                None => (
                    miniguard_server::data::Collections::default(),
                    None,
                    Vec::new(),
                ),
            };
            launch::start_dev_with(
                DevOptions {
                    listen,
                    data_dir: args.data_dir.clone(),
                    database_url,
                    redis_url,
                    limits,
                    rich_text_image_hosts,
                },
                collections,
            )
            .await?
        } else {
            let path = args
                .config
                .as_deref()
                .context("--config FILE or --dev is required")?;
            let mut settings = ServerSettings::from_file(path)?;
            if let Some(listen) = args.listen {
                settings.listen = listen;
            }
            if let Some(url) = database_url {
                settings.database_url = Some(url);
                settings.validate()?;
            }
            if let Some(url) = redis_url {
                settings.redis_url = Some(url);
                settings.validate()?;
            }
            if args.insecure_http_behind_proxy {
                settings.insecure_http_behind_proxy = true;
                settings.validate()?;
            }
            launch::start_configured(&settings).await?
        };
        print_summary(&running, args.dev)?;
        running
            .run_until(miniguard_server::serve::shutdown_signal())
            .await
            .context("serving")?;
        Ok(ExitCode::SUCCESS)
    })
}

fn print_summary(r: &Running, dev: bool) -> Result<()> {
    let mut out = anstream::stdout().lock();
    if dev {
        writeln!(
            out,
            "miniguard serve --dev: DEVELOPMENT MODE (fake logins, throwaway keys; never expose it)"
        )?;
    } else {
        writeln!(out, "miniguard serve")?;
    }
    writeln!(out, "  listening         {}", r.url)?;
    if let Some(fp) = &r.cert_fingerprint {
        let kind = if dev {
            "self-signed for localhost and 127.0.0.1, new on every start"
        } else {
            "from the configured files"
        };
        writeln!(out, "  certificate       {kind}")?;
        writeln!(out, "  SHA-256           {fp}")?;
    } else {
        writeln!(
            out,
            "  transport         plain HTTP for the TLS-terminating proxy in front"
        )?;
    }
    if let Some(pem) = &r.cert_pem_path {
        writeln!(out, "  certificate file  {}", pem.display())?;
    }
    let removed = if r.data_is_temporary {
        " (removed at exit)"
    } else {
        ""
    };
    let removed = match r.database {
        Location::Sqlite(_) => removed,
        Location::Postgres { .. } => "",
    };
    writeln!(out, "  database          {}{removed}", r.database.display())?;
    if dev
        && !r.data_is_temporary
        && let Some(dir) = &r.data_dir
    {
        writeln!(
            out,
            "  data key          {} (mode 0600, kept for the next run on this directory)",
            dir.join(launch::DEV_DATA_KEYS_FILE).display()
        )?;
    }
    if let Some(fake) = &r.fake_platform_url {
        writeln!(
            out,
            "  fake WeChat API   {fake} (appid {}, accepts codes dev:<name>)",
            launch::DEV_APPID
        )?;
        writeln!(out)?;
        writeln!(
            out,
            "Log in a test user (each code works once, like a real wx.login code; dev:alice:2 logs alice in again):"
        )?;
        writeln!(
            out,
            "  curl -k -X POST {}/v1/auth/wechat/login -H 'content-type: application/json' -d '{{\"code\":\"dev:alice\"}}'",
            r.url
        )?;
        if let Some(pem) = &r.cert_pem_path {
            writeln!(
                out,
                "  (or trust the certificate instead of -k: curl --cacert {} ...)",
                pem.display()
            )?;
        }
        writeln!(
            out,
            "It answers access_token, refresh_token and signing_key. Authenticated routes (GET /v1/me, \
             POST /v1/auth/logout) also need X-MG-Timestamp, X-MG-Nonce and X-MG-Signature \
             (HMAC-SHA256 with signing_key; the protocol is in docs/protocol.md)."
        )?;
        let key_file = r
            .data_dir
            .as_ref()
            .map(|d| d.join(launch::DEV_AUDIT_KEY_FILE))
            .unwrap_or_default();
        if let Location::Sqlite(db) = &r.database {
            writeln!(
                out,
                "Check the audit log: miniguard audit-log verify --db {} --key-file {}",
                db.display(),
                key_file.display()
            )?;
        }
    }
    writeln!(out, "Stop with Ctrl-C.")?;
    out.flush()?;
    Ok(())
}

/// The audit key named by the arguments, if any.
pub(crate) fn audit_key(args: &AuditKeyArgs) -> Result<Option<AuditKey>> {
    Ok(if let Some(path) = &args.key_file {
        Some(AuditKey::from_file(path).with_context(|| path.display().to_string())?)
    } else if let Some(var) = &args.key_env {
        Some(AuditKey::from_env(var)?)
    } else if let Some(path) = &args.config {
        Some(ServerSettings::from_file(path)?.audit_key()?)
    } else {
        None
    })
}

/// Verifies the chain of `db`; errors when keyed rows cannot be checked for want of a key.
async fn verify(db: &Path, key: Option<&AuditKey>, anchor: Option<&Anchor>) -> Result<ChainReport> {
    if !db.is_file() {
        anyhow::bail!("no database at {}", db.display());
    }
    let handle = Db::open_read_only(db)
        .await
        .with_context(|| format!("opening {}", db.display()))?;
    let report = handle
        .verify_audit_with(key, anchor)
        .await
        .context("reading the audit log");
    handle.close().await;
    let report = report?;
    if report
        .problems
        .iter()
        .any(|p| matches!(p, ChainProblem::NoKey { .. }))
    {
        anyhow::bail!(
            "the audit log has keyed entries: give its key with --key-file, --key-env or \
             --config (the server's miniguard.toml)"
        );
    }
    Ok(report)
}

fn print_problems(out: &mut impl Write, report: &ChainReport) -> Result<()> {
    writeln!(
        out,
        "audit log TAMPERED: {} problem(s) in {} entries",
        report.problems.len(),
        report.rows
    )?;
    for p in &report.problems {
        writeln!(out, "  {p}")?;
    }
    Ok(())
}

pub fn run_audit_log(args: &AuditLogArgs) -> Result<ExitCode> {
    match &args.command {
        AuditLogCommand::Verify { db, key, anchor } => runtime()?.block_on(async {
            let key = audit_key(key)?;
            let anchor = match anchor {
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    let a: Anchor = serde_json::from_str(&text)
                        .with_context(|| format!("{} is not an audit anchor", path.display()))?;
                    if a.format != Anchor::FORMAT {
                        anyhow::bail!("{}: unknown anchor format {:?}", path.display(), a.format);
                    }
                    Some(a)
                }
                None => None,
            };
            let report = verify(db, key.as_ref(), anchor.as_ref()).await?;
            let mut out = anstream::stdout().lock();
            if !report.is_intact() {
                print_problems(&mut out, &report)?;
                return Ok(ExitCode::from(1));
            }
            writeln!(
                out,
                "audit log intact: {} entries, head {} (entry {})",
                report.rows, report.head, report.head_id
            )?;
            if key.is_none() && report.rows > 0 {
                writeln!(
                    out,
                    "  warning: unkeyed entries only, checked without a key; anyone who can \
                     write the database can rewrite them"
                )?;
            }
            if let Some(a) = &anchor {
                writeln!(out, "  matches the anchor at entry {}", a.id)?;
            }
            Ok(ExitCode::SUCCESS)
        }),
        AuditLogCommand::Anchor { db, key, out } => runtime()?.block_on(async {
            let key = audit_key(key)?.context(
                "an anchor is of a keyed chain: give the key with --key-file, --key-env or --config",
            )?;
            let report = verify(db, Some(&key), None).await?;
            if !report.is_intact() {
                print_problems(&mut anstream::stderr().lock(), &report)?;
                anyhow::bail!("not anchoring a chain that fails verification");
            }
            let text = format!("{}\n", serde_json::to_string_pretty(&report.anchor())?);
            match out {
                Some(path) => {
                    std::fs::write(path, &text)
                        .with_context(|| format!("writing {}", path.display()))?;
                    writeln!(
                        anstream::stdout().lock(),
                        "anchored entry {} (head {}) in {}",
                        report.head_id,
                        report.head,
                        path.display()
                    )?;
                }
                None => anstream::stdout().lock().write_all(text.as_bytes())?,
            }
            Ok(ExitCode::SUCCESS)
        }),
        AuditLogCommand::Keygen { out } => {
            use secrecy::ExposeSecret as _;
            let (_, text) = AuditKey::generate()?;
            let line = format!("{}\n", text.expose_secret());
            match out {
                Some(path) => {
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
                    file.write_all(line.as_bytes())
                        .and_then(|()| file.sync_all())
                        .with_context(|| format!("writing {}", path.display()))?;
                }
                None => anstream::stdout().lock().write_all(line.as_bytes())?,
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
