use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use miniguard_project::{DiscoverOptions, SkipReason};
use miniguard_report::render::{Format, TextOptions};
use miniguard_report::{Category, Position, Report, Severity, Stats, Warning};
use miniguard_scan::rules::Rule;

use crate::args::{ColorArg, FormatArg, LevelArg, ScanArgs, SeverityArg};
use crate::settings::{Settings, parse_size};
use crate::{baseline, settings};

pub fn run(args: &ScanArgs) -> Result<ExitCode> {
    let started = Instant::now();
    if !args.path.exists() {
        bail!("{} does not exist", args.path.display());
    }
    let settings = load_settings(args)?;
    let rules = select_rules(args, &settings)?;
    let fail_on = fail_threshold(args, &settings)?;

    let mut exclude = settings.scan.exclude.clone();
    exclude.extend(args.exclude.iter().cloned());
    let max_file_size = match args
        .max_file_size
        .as_deref()
        .or(settings.scan.max_file_size.as_deref())
    {
        Some(s) => parse_size(s)?,
        None => DiscoverOptions::default().max_file_size,
    };
    let opts = DiscoverOptions {
        max_file_size,
        include_vendor: args.include_vendor,
        exclude,
        follow_links: false,
    };
    // A .wxapkg package (or a folder of them) is restored into a private temporary folder.
    let packages = crate::cmd_unpack::for_scan(&args.path)?;
    let scan_root = packages.as_ref().map_or(args.path.as_path(), |p| p.root());
    let project = miniguard_project::discover(scan_root, &opts)
        .with_context(|| format!("cannot read project {}", args.path.display()))?;

    if project.files.is_empty() && project.lockfiles.is_empty() {
        let skipped = match project.skipped.len() {
            0 => String::new(),
            n => format!(" ({n} skipped: see --max-file-size, --include-vendor and --exclude)"),
        };
        bail!(
            "nothing to scan in {}: no script, template, JSON configuration or lockfile was found{skipped}",
            args.path.display()
        );
    }
    if args.jobs == Some(0) {
        bail!("--jobs must be at least 1");
    }
    let scripts = project
        .files
        .iter()
        .filter(|f| f.kind.is_analysed_code())
        .count() as u64;
    let bar = progress_bar(args, scripts);
    let output = miniguard_scan::scan(&project, &rules.code, args.jobs, &|n| {
        if let Some(b) = &bar {
            b.set_position(n);
        }
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }

    let mut warnings: Vec<Warning> = project
        .warnings
        .iter()
        .map(|w| Warning {
            path: w.rel.clone(),
            position: w.line.map(|line| Position {
                line,
                column: w.column.unwrap_or(1),
            }),
            message: w.message.clone(),
        })
        .collect();
    for s in &project.skipped {
        let message = match s.reason {
            SkipReason::TooLarge { size } => {
                format!("skipped: {size} bytes is over --max-file-size ({max_file_size})")
            }
            SkipReason::Binary => "skipped: binary file".to_owned(),
            SkipReason::Minified => "skipped: minified or bundled code is not analysed".to_owned(),
            _ => continue,
        };
        warnings.push(Warning {
            path: s.rel.clone(),
            position: None,
            message,
        });
    }
    warnings.extend(output.warnings);
    for (path, message) in packages.iter().flat_map(|p| p.notes.iter().cloned()) {
        warnings.push(Warning {
            path,
            position: None,
            message,
        });
    }

    let mut findings = output.findings;
    let mut lockfiles_failed = false;
    let mut deps_ignored = 0;
    // Third-party packages: the `dependency` category.
    if !rules.deps.is_empty() {
        let db = crate::cmd_deps::open_db(args.db.as_deref())?;
        let audit = crate::cmd_deps::audit_project(scan_root, &project.lockfiles, &db, false);
        let wanted: Vec<&str> = rules.deps.iter().map(|r| r.code).collect();
        findings.extend(
            audit
                .findings
                .into_iter()
                .filter(|f| wanted.contains(&f.rule.as_str())),
        );
        lockfiles_failed = audit.inventory.failed > 0;
        warnings.extend(audit.inventory.warnings);
        let (ignored, notes) = crate::ignores::apply(&mut findings, &settings.deps.ignore);
        deps_ignored = ignored as u64;
        warnings.extend(notes);
    }
    for f in &mut findings {
        if let Some(sev) = settings
            .rules
            .get(&f.rule)
            .or_else(|| settings.rules.get(&f.name))
            .and_then(|r| r.severity.as_deref())
        {
            f.severity = sev
                .parse::<Severity>()
                .with_context(|| format!("invalid severity for rule {}", f.rule))?;
        }
    }
    let mut report = Report {
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        command: "scan".to_owned(),
        root: args.path.display().to_string(),
        findings,
        warnings,
        rules: rules
            .code
            .iter()
            .map(|r| r.meta().info())
            .chain(rules.deps.iter().map(|r| r.info()))
            .collect(),
        stats: Stats {
            files_scanned: output.files_scanned,
            files_skipped: project.skipped.len() as u64,
            bytes_scanned: output.bytes_scanned,
            duration_ms: 0,
            suppressed: output.suppressed + deps_ignored,
            ..Stats::default()
        },
    };
    report.sort();
    miniguard_report::assign_fingerprints(&mut report.findings);

    if let Some(path) = &args.write_baseline {
        baseline::write(path, &report.findings)?;
        let mut err = anstream::stderr();
        writeln!(
            err,
            "wrote {} findings to baseline {}",
            report.findings.len(),
            path.display()
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let baseline_path = match (&args.baseline, &settings.scan.baseline) {
        (Some(flag), _) => Some(flag.clone()),
        // Named by the scanned tree: it must stay inside it (and be a regular file).
        (None, Some(b)) => Some(
            miniguard_project::read::resolve_inside(args_dir(args), &args_dir(args).join(b))
                .map_err(anyhow::Error::from)
                .and_then(|p| {
                    miniguard_project::read::check_regular(
                        &p,
                        miniguard_project::read::BASELINE_LIMIT,
                    )?;
                    Ok(p)
                })
                .with_context(|| format!("cannot read baseline {b} named in miniguard.toml"))?,
        ),
        (None, None) => None,
    };
    if let Some(path) = baseline_path {
        let known = baseline::read(&path)?;
        let before = report.findings.len();
        report.findings.retain(|f| !known.contains(&f.fingerprint));
        report.stats.suppressed += (before - report.findings.len()) as u64;
    }
    if let Some(base) = &args.diff_base {
        if packages.is_some() {
            bail!("--diff-base compares a git work tree; it does not apply to .wxapkg packages");
        }
        let changed = crate::diff::changed_since(args_dir(args), base)?;
        let before = report.findings.len();
        report.findings.retain(|f| changed.touches(f));
        let left_out = before - report.findings.len();
        report.stats.suppressed += left_out as u64;
        if !args.no_progress {
            let mut err = anstream::stderr();
            writeln!(
                err,
                "--diff-base {base}: {} changed, {left_out} findings elsewhere left out",
                if changed.len() == 1 {
                    "1 file".to_owned()
                } else {
                    format!("{} files", changed.len())
                }
            )?;
        }
    }
    // `--fail-on` counts every finding, listed or not.
    let failed = fail_on.is_some_and(|t| report.findings.iter().any(|f| f.severity >= t));
    // Below the minimum severity: counted in the summary, not listed. By default that is `low`,
    // or lower when `--fail-on` is, so that what fails a build is always shown.
    let min_severity = match args.min_severity {
        None => fail_on.map_or(Severity::Low, |t| t.min(Severity::Low)),
        Some(LevelArg::Info) => Severity::Info,
        Some(LevelArg::Low) => Severity::Low,
        Some(LevelArg::Medium) => Severity::Medium,
        Some(LevelArg::High) => Severity::High,
        Some(LevelArg::Critical) => Severity::Critical,
    };
    let before = report.findings.len();
    report.findings.retain(|f| f.severity >= min_severity);
    report.stats.hidden = (before - report.findings.len()) as u64;
    report.stats.min_severity = Some(min_severity);
    report.stats.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);

    let format = match args.format {
        FormatArg::Text => Format::Text,
        FormatArg::Json => Format::Json,
        FormatArg::Sarif => Format::Sarif,
        FormatArg::Html => Format::Html,
    };
    if let Some(path) = &args.output {
        let mut buf = Vec::new();
        miniguard_report::render::render(
            &report,
            format,
            TextOptions {
                color: args.color == ColorArg::Always,
            },
            &mut buf,
        )?;
        std::fs::write(path, buf).with_context(|| format!("cannot write {}", path.display()))?;
    } else {
        let color = match args.color {
            ColorArg::Always => true,
            ColorArg::Never => false,
            ColorArg::Auto => {
                std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        };
        let stdout = std::io::stdout();
        let mut lock = stdout.lock();
        miniguard_report::render::render(&report, format, TextOptions { color }, &mut lock)?;
        lock.flush()?;
    }

    Ok(crate::cmd_deps::exit(failed, lockfiles_failed))
}

fn args_dir(args: &ScanArgs) -> &Path {
    if args.path.is_dir() {
        &args.path
    } else {
        args.path.parent().unwrap_or(Path::new("."))
    }
}

fn load_settings(args: &ScanArgs) -> Result<Settings> {
    if let Some(path) = &args.config {
        return Settings::load(path);
    }
    let dir = args_dir(args);
    Ok(Settings::load_in_tree(dir, &dir.join("miniguard.toml"))?.unwrap_or_default())
}

fn fail_threshold(args: &ScanArgs, settings: &settings::Settings) -> Result<Option<Severity>> {
    threshold(args.fail_on, settings.scan.fail_on.as_deref())
}

/// The `--fail-on` severity: the flag, else the config's `fail-on`, else high. `None` = never.
pub(crate) fn threshold(
    flag: Option<SeverityArg>,
    config: Option<&str>,
) -> Result<Option<Severity>> {
    let arg = match flag {
        Some(a) => a,
        None => match config {
            Some("never") => SeverityArg::Never,
            Some(s) => {
                return Ok(Some(
                    s.parse::<Severity>().context("invalid fail-on in config")?,
                ));
            }
            None => SeverityArg::High,
        },
    };
    Ok(match arg {
        SeverityArg::Info => Some(Severity::Info),
        SeverityArg::Low => Some(Severity::Low),
        SeverityArg::Medium => Some(Severity::Medium),
        SeverityArg::High => Some(Severity::High),
        SeverityArg::Critical => Some(Severity::Critical),
        SeverityArg::Never => None,
    })
}

/// The rules a scan runs: the analyzer's and the dependency audit's.
pub(crate) struct Selection {
    pub code: Vec<&'static dyn Rule>,
    pub deps: Vec<&'static miniguard_deps::audit::DepRule>,
}

/// Rules after `--select` / `--ignore` (codes, names or categories).
fn select_rules(args: &ScanArgs, settings: &Settings) -> Result<Selection> {
    let select = if args.select.is_empty() {
        &settings.scan.select
    } else {
        &args.select
    };
    let ignore = if args.ignore.is_empty() {
        &settings.scan.ignore
    } else {
        &args.ignore
    };
    let matches = |code: &str, name: &str, category: Category, id: &str| -> bool {
        code.eq_ignore_ascii_case(id)
            || name.eq_ignore_ascii_case(id)
            || category.as_str().eq_ignore_ascii_case(id)
    };
    let code_matches = |r: &dyn Rule, id: &str| {
        let m = r.meta();
        matches(m.code, m.name, m.category, id)
    };
    let dep_matches = |r: &miniguard_deps::audit::DepRule, id: &str| {
        matches(r.code, r.name, Category::Dependency, id)
    };
    for id in select.iter().chain(ignore) {
        let id = id.trim();
        if id.is_empty() {
            continue;
        }
        let known = miniguard_scan::rules::all()
            .iter()
            .any(|r| code_matches(*r, id))
            || miniguard_deps::audit::rules()
                .iter()
                .any(|r| dep_matches(r, id))
            || id.parse::<Category>().is_ok();
        if !known {
            bail!("unknown rule or category `{id}` (see `miniguard rules`)");
        }
    }
    let keep = |is: &dyn Fn(&str) -> bool| {
        (select.is_empty() || select.iter().any(|id| is(id.trim())))
            && !ignore.iter().any(|id| is(id.trim()))
    };
    Ok(Selection {
        code: miniguard_scan::rules::all()
            .iter()
            .copied()
            .filter(|r| keep(&|id| code_matches(*r, id)))
            .collect(),
        deps: miniguard_deps::audit::rules()
            .into_iter()
            .filter(|r| keep(&|id| dep_matches(r, id)))
            .collect(),
    })
}

fn progress_bar(args: &ScanArgs, total: u64) -> Option<indicatif::ProgressBar> {
    if args.no_progress || !std::io::stderr().is_terminal() || total < 200 {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} scanning [{bar:30}] {pos}/{len} files ({eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    Some(bar)
}
