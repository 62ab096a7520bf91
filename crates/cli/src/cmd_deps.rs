//! `miniguard deps` and `miniguard db`.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Instant, SystemTime};

use anyhow::{Context, Result, bail};
use miniguard_deps::audit::{self, Inventory};
use miniguard_deps::db::{self, AdvisoryDb, DbInfo, DbSource};
use miniguard_engine::deps::STALE_DAYS;
use miniguard_engine::{Database, DepsOptions, DepsOutcome};
use miniguard_report::render::{Format, TextOptions};
use miniguard_report::{Finding, Msg, Report, Severity, msg};

use crate::args::{ColorArg, DbArgs, DbCommand, DepsArgs, FormatArg, SbomArg};
use crate::say;

/// The database `--db` names (`embedded` for the snapshot built in), else the cache of
/// `db update`, else the embedded snapshot.
fn open_db(path: Option<&Path>) -> Result<AdvisoryDb> {
    Ok(miniguard_engine::open_db(path)?)
}

pub fn run(args: &DepsArgs) -> Result<ExitCode> {
    let started = Instant::now();
    if !args.path.exists() {
        bail!(
            "{}",
            say(msg!(
                "cli.does-not-exist",
                path = args.path.display().to_string()
            ))
        );
    }
    let fail_on = crate::settings::fail_on(args.fail_on, None)?;
    let settings = if let Some(path) = &args.config {
        crate::settings::Settings::load(path)?
    } else {
        let dir = if args.path.is_dir() {
            args.path.as_path()
        } else {
            args.path.parent().unwrap_or(Path::new("."))
        };
        crate::settings::Settings::load_in_tree(dir, &dir.join("miniguard.toml"))?
            .unwrap_or_default()
    };
    let severity = settings.overrides()?;
    let db = open_db(args.db.as_deref())?;
    let mut opts = DepsOptions::new(&args.path);
    opts.db = Database::Loaded(&db);
    opts.no_dev = args.no_dev;
    opts.ignores = settings.deps.ignore;
    opts.severity = severity;
    opts.fail_on = fail_on;
    let DepsOutcome {
        mut report,
        verdict,
        inventory,
        db: db_info,
    } = miniguard_engine::audit_dependencies(&opts)?;
    report.stats.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);

    if let Some(SbomArg::Cyclonedx) = args.sbom {
        let hits = audit::matches(&inventory.dependencies, &db);
        let name = std::fs::canonicalize(&args.path)
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "project".to_owned());
        let bom = miniguard_deps::sbom::cyclonedx(
            &name,
            env!("CARGO_PKG_VERSION"),
            &inventory.dependencies,
            &hits,
            SystemTime::now(),
        );
        let text = serde_json::to_string_pretty(&bom)? + "\n";
        write_out(args.output.as_deref(), text.as_bytes())?;
        return Ok(ExitCode::SUCCESS);
    }

    // A lockfile that could not be read fails closed: the report is written, then exit 2. So
    // does a project whose manifests declare dependencies of which not one could be checked.
    if verdict.nothing_checked {
        let mut err = anstream::stderr();
        writeln!(
            err,
            "{}",
            say(msg!("cli.error", message = msg!("cli.nothing-audited")))
        )?;
    }
    let status = verdict.status(true);
    let format = match args.format {
        FormatArg::Text => {
            let mut buf = Vec::new();
            table(&report, &inventory, &db_info, &mut buf)?;
            write_out(args.output.as_deref(), &buf)?;
            return Ok(crate::exit::code(status));
        }
        FormatArg::Json => Format::Json,
        FormatArg::Sarif => Format::Sarif,
        FormatArg::Html => Format::Html,
    };
    let color = args.color == ColorArg::Always;
    let mut buf = Vec::new();
    miniguard_report::render::render(&report, format, TextOptions { color }, &mut buf)?;
    write_out(args.output.as_deref(), &buf)?;
    Ok(crate::exit::code(status))
}

/// The advisories of one installed package version at one place, and the one upgrade that
/// clears them all: the highest of their fixed versions.
struct PackageGroup<'a> {
    package: String,
    version: String,
    place: String,
    direct: bool,
    dev: bool,
    /// The direct dependency that pulls a transitive one in, when the lockfile says.
    via: Option<String>,
    upgrade: Option<String>,
    /// Advisories with no fixed version.
    unfixed: usize,
    findings: Vec<&'a Finding>,
}

impl PackageGroup<'_> {
    fn worst(&self) -> Severity {
        self.findings
            .iter()
            .map(|f| f.severity)
            .max()
            .unwrap_or(Severity::Info)
    }

    /// `25 (3 critical, 12 high, 9 medium, 1 low)`.
    fn counts(&self) -> String {
        let parts: Vec<String> = [
            Severity::Critical,
            Severity::High,
            Severity::Medium,
            Severity::Low,
            Severity::Info,
        ]
        .iter()
        .filter_map(|s| {
            let n = self.findings.iter().filter(|f| f.severity == *s).count();
            let lang = miniguard_report::i18n::current();
            (n > 0).then(|| format!("{n} {}", miniguard_report::i18n::severity(*s, lang)))
        })
        .collect();
        format!("{} ({})", self.findings.len(), parts.join(", "))
    }
}

/// Findings of D001 grouped per installed package version and place, most severe first.
fn group_by_package<'a>(vulnerable: &[&'a Finding]) -> Vec<PackageGroup<'a>> {
    let mut groups: Vec<PackageGroup<'a>> = Vec::new();
    for f in vulnerable {
        let Some(d) = f.dependency.as_ref() else {
            continue;
        };
        let place = format!("{}:{}", f.location.path, f.location.start.line);
        let at = groups
            .iter()
            .position(|g| g.package == d.package && g.version == d.version && g.place == place);
        let g = if let Some(i) = at {
            &mut groups[i]
        } else {
            groups.push(PackageGroup {
                package: d.package.clone(),
                version: d.version.clone(),
                place,
                direct: d.direct,
                dev: d.dev,
                via: d
                    .chain
                    .first()
                    .filter(|first| !d.direct && **first != d.package)
                    .cloned(),
                upgrade: None,
                unfixed: 0,
                findings: Vec::new(),
            });
            groups.last_mut().expect("just pushed")
        };
        if d.fixed.is_none() {
            g.unfixed += 1;
        }
        g.findings.push(f);
    }
    for g in &mut groups {
        g.upgrade = one_upgrade(&g.version, &g.findings);
    }
    groups.sort_by(|a, b| {
        b.worst()
            .cmp(&a.worst())
            .then(b.findings.len().cmp(&a.findings.len()))
            .then(a.package.cmp(&b.package))
    });
    groups
}

/// The lowest version above `installed` that none of the advisories affects, among the versions
/// that fix one of them (each advisory's fixed versions and the upper bounds of its affected
/// ranges): upgrading to it clears them all. `None` when no such version is known.
fn one_upgrade(installed: &str, findings: &[&Finding]) -> Option<String> {
    use miniguard_deps::semver::{Version, satisfies};
    let ranges: Vec<&str> = findings
        .iter()
        .filter_map(|f| f.dependency.as_ref()?.vulnerable.as_deref())
        .collect();
    let mut candidates: Vec<(Version, String)> = findings
        .iter()
        .filter_map(|f| f.dependency.as_ref()?.fixed.clone())
        .chain(ranges.iter().flat_map(|r| {
            r.split_whitespace()
                .filter_map(|t| t.strip_prefix('<').filter(|v| !v.starts_with('=')))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        }))
        .filter_map(|v| Version::parse(&v).ok().map(|p| (p, v)))
        .collect();
    candidates.sort_by(|a, b| a.0.cmp(&b.0));
    candidates.dedup_by(|a, b| a.0 == b.0);
    let floor = Version::parse(installed).ok();
    candidates
        .into_iter()
        .filter(|(v, _)| floor.as_ref().is_none_or(|f| v > f))
        .find(|(_, text)| !ranges.iter().any(|r| satisfies(text, r)))
        .map(|(_, text)| text)
}

fn write_out(path: Option<&Path>, bytes: &[u8]) -> Result<()> {
    if let Some(p) = path {
        return std::fs::write(p, bytes)
            .with_context(|| say(msg!("cli.cannot-write", path = p.display().to_string())));
    }
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()?;
    Ok(())
}

/// Runs `db::update` on a worker thread while waiting for SIGINT/SIGTERM; on a signal the
/// temporary file of the update is removed and `None` returned (the old cache is untouched, as
/// the rename is the last step).
fn update_interruptible(from: &str, cache: &Path) -> Result<Option<Result<DbInfo, db::DbError>>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .with_context(|| say(msg!("cli.no-signal-handler")))?;
    let (from_owned, cache_owned) = (from.to_owned(), cache.to_path_buf());
    let outcome = runtime.block_on(async move {
        let work = tokio::task::spawn_blocking(move || db::update(&from_owned, &cache_owned));
        tokio::select! {
            joined = work => Some(joined),
            () = miniguard_server::serve::shutdown_signal() => None,
        }
    });
    // The worker may still be writing: do not wait for it.
    runtime.shutdown_background();
    match outcome {
        Some(Ok(result)) => Ok(Some(result)),
        Some(Err(e)) => bail!("{}", say(msg!("cli.update-stopped", error = e.to_string()))),
        None => {
            db::remove_temp_files(cache);
            Ok(None)
        }
    }
}

/// The text report of `deps`: one row per vulnerable package and advisory.
fn table(report: &Report, inv: &Inventory, db: &DbInfo, out: &mut dyn Write) -> Result<()> {
    let vulnerable: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.rule == audit::D001.code)
        .collect();
    let unverifiable: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.rule == audit::D002.code)
        .collect();
    if vulnerable.is_empty() {
        writeln!(out, "{}", say(msg!("cli.deps.none")))?;
    } else {
        let groups = group_by_package(&vulnerable);
        let rows: Vec<[String; 6]> = groups
            .iter()
            .map(|g| {
                let how = if g.direct {
                    msg!("cli.deps.direct")
                } else {
                    g.via.as_deref().map_or_else(
                        || msg!("cli.deps.transitive"),
                        |via| msg!("cli.deps.through", via = via),
                    )
                };
                let fix = match (&g.upgrade, g.unfixed) {
                    (Some(v), 0) => format!(">= {v}"),
                    (Some(v), n) => say(msg!("cli.deps.partly-fixed", version = v, unfixed = n)),
                    (None, _) => say(msg!("cli.deps.no-fix")),
                };
                let how = if g.dev {
                    msg!("cli.deps.how-dev", how = how)
                } else {
                    how
                };
                [
                    g.package.clone(),
                    g.version.clone(),
                    g.counts(),
                    fix,
                    say(how),
                    g.place.clone(),
                ]
            })
            .collect();
        let head = [
            say(msg!("cli.deps.head-package")),
            say(msg!("cli.deps.head-installed")),
            say(msg!("cli.deps.head-advisories")),
            say(msg!("cli.deps.head-upgrade")),
            say(msg!("cli.deps.head-how")),
            say(msg!("cli.deps.head-path")),
        ];
        let head = head.each_ref().map(String::as_str);
        let mut widths = head.map(|h| h.chars().count());
        for r in &rows {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |cells: &[&str]| -> String {
            cells
                .iter()
                .zip(widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_owned()
        };
        writeln!(out, "{}", line(&head))?;
        for r in &rows {
            let cells: Vec<&str> = r.iter().map(String::as_str).collect();
            writeln!(out, "{}", line(&cells))?;
        }
        for g in &groups {
            writeln!(out, "\n{} {} ({}):", g.package, g.version, g.place)?;
            for f in &g.findings {
                let d = f.dependency.as_ref();
                let id = d.and_then(|d| d.advisory.as_deref()).unwrap_or("");
                let fixed = d.and_then(|d| d.fixed.as_deref()).map_or_else(
                    || say(msg!("cli.deps.no-fix")),
                    |v| say(msg!("cli.deps.fixed-in", version = v)),
                );
                let full = f.message.in_lang(miniguard_report::i18n::current());
                let message: String = full.chars().take(140).collect();
                let cut = if message.len() < full.len() {
                    "…"
                } else {
                    ""
                };
                writeln!(
                    out,
                    "  {:<8} {id} ({fixed}): {message}{cut}",
                    miniguard_report::i18n::severity(f.severity, miniguard_report::i18n::current())
                )?;
            }
        }
    }
    if !unverifiable.is_empty() {
        writeln!(out, "\n{}", say(msg!("cli.deps.unverifiable")))?;
        for f in &unverifiable {
            writeln!(
                out,
                "  {}:{}: {}",
                f.location.path,
                f.location.start.line,
                f.message.in_lang(miniguard_report::i18n::current())
            )?;
        }
    }
    for w in &report.warnings {
        let pos = w.position.map_or(String::new(), |p| format!(":{}", p.line));
        let message = w.message.in_lang(miniguard_report::i18n::current());
        let line = if w.path.is_empty() {
            message.into_owned()
        } else {
            format!("{}{pos}: {message}", w.path)
        };
        writeln!(out, "{}", say(msg!("cli.warning", message = line)))?;
    }
    let packages: std::collections::BTreeSet<(&str, &str)> = vulnerable
        .iter()
        .filter_map(|f| {
            f.dependency
                .as_ref()
                .map(|d| (d.package.as_str(), d.version.as_str()))
        })
        .collect();
    let count = |n: usize, one: Msg, many: Msg| if n == 1 { one } else { many };
    let packages = packages.len();
    let summary = msg!(
        "cli.deps.summary",
        packages = count(
            packages,
            msg!("cli.deps.package-versions-one", count = packages),
            msg!("cli.deps.package-versions", count = packages)
        ),
        findings = count(
            vulnerable.len(),
            msg!("cli.deps.findings-one", count = vulnerable.len()),
            msg!("cli.deps.findings", count = vulnerable.len())
        ),
        unverifiable = unverifiable.len(),
        dependencies = count(
            inv.dependencies.len(),
            msg!("cli.deps.dependencies-one", count = inv.dependencies.len()),
            msg!("cli.deps.dependencies", count = inv.dependencies.len())
        ),
        lockfiles = count(
            inv.lockfiles.len(),
            msg!("cli.deps.lockfiles-one", count = inv.lockfiles.len()),
            msg!("cli.deps.lockfiles", count = inv.lockfiles.len())
        ),
        source = db_source(&db.source),
        advisories = count(
            db.records,
            msg!("cli.deps.advisories-one", count = db.records),
            msg!("cli.deps.advisories", count = db.records)
        ),
        newest = db
            .newest_modified
            .as_deref()
            .map_or(msg!("cli.empty"), |d| msg!("cli.deps.newest", date = d)),
    );
    writeln!(out, "\n{}", say(summary))?;
    Ok(())
}

pub fn run_db(args: &DbArgs) -> Result<ExitCode> {
    let mut out = anstream::stdout().lock();
    match &args.command {
        DbCommand::Info { db } => {
            let db = open_db(db.as_deref())?;
            let info = db.info();
            let unknown = || say(msg!("cli.db.unknown"));
            writeln!(
                out,
                "{}",
                say(msg!("cli.db.source", source = db_source(&info.source)))
            )?;
            writeln!(
                out,
                "{}",
                say(msg!("cli.db.advisories", count = info.records))
            )?;
            writeln!(
                out,
                "{}",
                say(msg!("cli.db.packages", count = info.packages))
            )?;
            writeln!(
                out,
                "{}",
                say(msg!(
                    "cli.db.newest",
                    date = info.newest_modified.clone().unwrap_or_else(unknown)
                ))
            )?;
            if let Some(age) = info.age_days {
                writeln!(out, "{}", say(msg!("cli.db.age", days = age)))?;
                if age > STALE_DAYS {
                    let mut err = anstream::stderr();
                    writeln!(
                        err,
                        "{}",
                        say(msg!(
                            "cli.warning",
                            message = msg!("cli.db.stale", days = STALE_DAYS)
                        ))
                    )?;
                }
            }
        }
        DbCommand::Update { from, cache } => {
            let cache = match cache {
                Some(c) => c.clone(),
                None => db::default_cache_path().with_context(|| say(msg!("cli.db.no-cache")))?,
            };
            if let Some(dir) = cache.parent() {
                std::fs::create_dir_all(dir).with_context(|| {
                    say(msg!("cli.cannot-create", path = dir.display().to_string()))
                })?;
            }
            let from = from.as_deref().unwrap_or(db::DEFAULT_UPDATE_URL);
            if std::io::stderr().is_terminal() {
                let mut err = anstream::stderr();
                writeln!(err, "{}", say(msg!("cli.db.updating", from = from)))?;
            }
            let Some(result) = update_interruptible(from, &cache)? else {
                let mut err = anstream::stderr();
                writeln!(err, "{}", say(msg!("cli.db.interrupted")))?;
                return Ok(ExitCode::from(130));
            };
            let info = result.with_context(|| say(msg!("cli.db.update-failed", from = from)))?;
            writeln!(
                out,
                "{}",
                say(msg!(
                    "cli.db.updated",
                    path = cache.display().to_string(),
                    advisories = info.records,
                    packages = info.packages,
                    date = info
                        .newest_modified
                        .clone()
                        .unwrap_or_else(|| say(msg!("cli.db.unknown")))
                ))
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Where the advisories come from, for people: the embedded snapshot in the reader's language,
/// a path as it is.
fn db_source(source: &DbSource) -> miniguard_report::Arg {
    match source {
        DbSource::Embedded => msg!("cli.deps.embedded").into(),
        DbSource::Path(path) => path.display().to_string().into(),
    }
}
