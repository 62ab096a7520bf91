//! `miniguard serve` and `miniguard audit-log verify|anchor|keygen`: thin wiring around
//! `miniguard-server`.
//! The server library emits `tracing` events; this is where they get a destination (stderr,
//! filtered by `RUST_LOG`, default `info`).

use std::io::{IsTerminal as _, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use miniguard_report::{Msg, msg};
use miniguard_server::audit::{Anchor, AuditKey, ChainProblem, ChainReport};
use miniguard_server::config::ServerSettings;
use miniguard_server::db::{Db, Location};
use miniguard_server::launch::{self, DevOptions, Running};

use crate::args::{AuditKeyArgs, AuditLogArgs, AuditLogCommand, ServeArgs};
use crate::say;

const DEV_LISTEN: &str = "127.0.0.1:8443";

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .with_context(|| say(msg!("cli.runtime")))
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
pub(crate) fn arg_or_env(arg: Option<&String>, var: &str) -> Option<String> {
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
                .with_context(|| say(msg!("cli.serve.config-or-dev")))?;
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
        let stop = stop_signal()?;
        print_summary(&running, args.dev)?;
        running
            .run_until(stop)
            .await
            .with_context(|| say(msg!("cli.serve.serving")))?;
        Ok(ExitCode::SUCCESS)
    })
}

/// SIGTERM or SIGINT, listened for from now: before the summary says "Stop with Ctrl-C", so that
/// a signal sent as soon as that is read stops the server gracefully instead of killing it.
#[cfg(unix)]
fn stop_signal() -> Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = interrupt.recv() => {},
        }
    })
}

#[cfg(not(unix))]
fn stop_signal() -> Result<impl Future<Output = ()>> {
    Ok(miniguard_server::serve::shutdown_signal())
}

/// A line of the summary: a label in the reader's language, padded so that the values line up
/// (a Han character takes two columns), then the value.
fn summary_row(label: &Msg, value: &str) -> String {
    let label = say(label.clone());
    let width: usize = label
        .chars()
        .map(|c| if c.is_ascii() { 1 } else { 2 })
        .sum();
    format!(
        "  {label}{} {value}",
        " ".repeat(17usize.saturating_sub(width))
    )
}

fn print_summary(r: &Running, dev: bool) -> Result<()> {
    let mut out = anstream::stdout().lock();
    if dev {
        writeln!(out, "{}", say(msg!("cli.serve.dev-mode")))?;
    } else {
        writeln!(out, "miniguard serve")?;
    }
    writeln!(out, "{}", summary_row(&msg!("cli.serve.listening"), &r.url))?;
    if let Some(fp) = &r.cert_fingerprint {
        let kind = if dev {
            msg!("cli.serve.dev-certificate")
        } else {
            msg!("cli.serve.configured-certificate")
        };
        writeln!(
            out,
            "{}",
            summary_row(&msg!("cli.serve.certificate"), &say(kind))
        )?;
        writeln!(out, "  SHA-256           {fp}")?;
    } else {
        writeln!(
            out,
            "{}",
            summary_row(
                &msg!("cli.serve.transport"),
                &say(msg!("cli.serve.plain-http"))
            )
        )?;
    }
    if let Some(pem) = &r.cert_pem_path {
        writeln!(
            out,
            "{}",
            summary_row(
                &msg!("cli.serve.certificate-file"),
                &pem.display().to_string()
            )
        )?;
    }
    let database = r.database.display();
    let database = match r.database {
        Location::Sqlite(_) if r.data_is_temporary => {
            say(msg!("cli.serve.removed-at-exit", database = database))
        }
        Location::Sqlite(_) | Location::Postgres { .. } => database,
    };
    writeln!(
        out,
        "{}",
        summary_row(&msg!("cli.serve.database"), &database)
    )?;
    if dev
        && !r.data_is_temporary
        && let Some(dir) = &r.data_dir
    {
        let kept = say(msg!(
            "cli.serve.kept-key",
            path = dir.join(launch::DEV_DATA_KEYS_FILE).display().to_string()
        ));
        writeln!(out, "{}", summary_row(&msg!("cli.serve.data-key"), &kept))?;
    }
    if let Some(fake) = &r.fake_platform_url {
        let value = say(msg!(
            "cli.serve.fake-wechat-value",
            url = fake,
            appid = launch::DEV_APPID
        ));
        writeln!(
            out,
            "{}",
            summary_row(&msg!("cli.serve.fake-wechat"), &value)
        )?;
        writeln!(out)?;
        writeln!(out, "{}", say(msg!("cli.serve.log-in")))?;
        writeln!(
            out,
            "  curl -k -X POST {}/v1/auth/wechat/login -H 'content-type: application/json' -d '{{\"code\":\"dev:alice\"}}'",
            r.url
        )?;
        if let Some(pem) = &r.cert_pem_path {
            writeln!(
                out,
                "{}",
                say(msg!(
                    "cli.serve.trust-certificate",
                    path = pem.display().to_string()
                ))
            )?;
        }
        writeln!(out, "{}", say(msg!("cli.serve.answers")))?;
        let key_file = r
            .data_dir
            .as_ref()
            .map(|d| d.join(launch::DEV_AUDIT_KEY_FILE))
            .unwrap_or_default();
        if let Location::Sqlite(db) = &r.database {
            let command = format!(
                "miniguard audit-log verify --db {} --key-file {}",
                db.display(),
                key_file.display()
            );
            writeln!(
                out,
                "{}",
                say(msg!("cli.serve.check-audit-log", command = command))
            )?;
        }
    }
    writeln!(out, "{}", say(msg!("cli.serve.stop")))?;
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
        anyhow::bail!(say(msg!(
            "cli.no-database",
            path = db.display().to_string()
        )));
    }
    let handle = Db::open_read_only(db)
        .await
        .with_context(|| say(msg!("cli.opening", path = db.display().to_string())))?;
    let report = handle
        .verify_audit_with(key, anchor)
        .await
        .with_context(|| say(msg!("cli.audit-log.reading")));
    handle.close().await;
    let report = report?;
    if report
        .problems
        .iter()
        .any(|p| matches!(p, ChainProblem::NoKey { .. }))
    {
        anyhow::bail!(say(msg!("cli.audit-log.keyed-entries")));
    }
    Ok(report)
}

fn print_problems(out: &mut impl Write, report: &ChainReport) -> Result<()> {
    writeln!(
        out,
        "{}",
        say(msg!(
            "cli.audit-log.tampered",
            problems = report.problems.len(),
            rows = report.rows
        ))
    )?;
    for p in &report.problems {
        writeln!(out, "  {}", problem_text(p))?;
    }
    Ok(())
}

/// A problem of the chain in the reader's language (a kind not known here in English).
fn problem_text(p: &ChainProblem) -> String {
    let said = match *p {
        ChainProblem::Edited { id } => msg!("cli.audit-log.edited", id = id),
        ChainProblem::BrokenLink { id } => msg!("cli.audit-log.broken-link", id = id),
        ChainProblem::Gap { expected, found } => {
            msg!("cli.audit-log.gap", from = expected, to = found - 1)
        }
        ChainProblem::Truncated { last_id, issued } => {
            msg!("cli.audit-log.truncated", last = last_id, issued = issued)
        }
        ChainProblem::Unkeyed { id } => msg!("cli.audit-log.unkeyed-row", id = id),
        ChainProblem::NoKey { id } => msg!("cli.audit-log.no-key", id = id),
        ChainProblem::AnchorMismatch { id } => msg!("cli.audit-log.anchor-mismatch", id = id),
        _ => return p.to_string(),
    };
    say(said)
}

pub fn run_audit_log(args: &AuditLogArgs) -> Result<ExitCode> {
    match &args.command {
        AuditLogCommand::Verify { db, key, anchor } => runtime()?.block_on(async {
            let key = audit_key(key)?;
            let anchor = match anchor {
                Some(path) => {
                    let text = std::fs::read_to_string(path).with_context(|| {
                        say(msg!("cli.reading", path = path.display().to_string()))
                    })?;
                    let a: Anchor = serde_json::from_str(&text).with_context(|| {
                        say(msg!(
                            "cli.audit-log.not-an-anchor",
                            path = path.display().to_string()
                        ))
                    })?;
                    if a.format != Anchor::FORMAT {
                        anyhow::bail!(say(msg!(
                            "cli.audit-log.unknown-anchor-format",
                            path = path.display().to_string(),
                            format = format!("{:?}", a.format)
                        )));
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
                "{}",
                say(msg!(
                    "cli.audit-log.intact",
                    rows = report.rows,
                    head = &report.head,
                    id = report.head_id
                ))
            )?;
            if key.is_none() && report.rows > 0 {
                writeln!(out, "{}", say(msg!("cli.audit-log.unkeyed")))?;
            }
            if let Some(a) = &anchor {
                writeln!(
                    out,
                    "{}",
                    say(msg!("cli.audit-log.matches-anchor", id = a.id))
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }),
        AuditLogCommand::Anchor { db, key, out } => runtime()?.block_on(async {
            let key =
                audit_key(key)?.with_context(|| say(msg!("cli.audit-log.anchor-needs-key")))?;
            let report = verify(db, Some(&key), None).await?;
            if !report.is_intact() {
                print_problems(&mut anstream::stderr().lock(), &report)?;
                anyhow::bail!(say(msg!("cli.audit-log.not-anchoring")));
            }
            let text = format!("{}\n", serde_json::to_string_pretty(&report.anchor())?);
            match out {
                Some(path) => {
                    std::fs::write(path, &text).with_context(|| {
                        say(msg!("cli.writing", path = path.display().to_string()))
                    })?;
                    writeln!(
                        anstream::stdout().lock(),
                        "{}",
                        say(msg!(
                            "cli.audit-log.anchored",
                            id = report.head_id,
                            head = &report.head,
                            path = path.display().to_string()
                        ))
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
                    let mut file = options.open(path).with_context(|| {
                        say(msg!("cli.creating", path = path.display().to_string()))
                    })?;
                    file.write_all(line.as_bytes())
                        .and_then(|()| file.sync_all())
                        .with_context(|| {
                            say(msg!("cli.writing", path = path.display().to_string()))
                        })?;
                }
                None => anstream::stdout().lock().write_all(line.as_bytes())?,
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
