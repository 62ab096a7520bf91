//! `miniguard scan`: arguments and `miniguard.toml` to [`miniguard_engine::Options`], the
//! pipeline, the report printed, the verdict as the exit code.

use std::cell::Cell;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::OnceLock;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use miniguard_engine::{Baseline, Database, DepsInput, Options, Outcome, Progress, Selection};
use miniguard_project::DiscoverOptions;
use miniguard_report::render::{Format, TextOptions};
use miniguard_report::{Finding, Severity, Warning, msg};

use crate::args::{ColorArg, FormatArg, LevelArg, ScanArgs};
use crate::say;
use crate::settings::{self, Settings, parse_size};

pub fn run(args: &ScanArgs) -> Result<ExitCode> {
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
    let settings = load_settings(args)?;
    let rules = select_rules(args, &settings)?;
    let fail_on = settings::fail_on(args.fail_on, settings.scan.fail_on.as_deref())?;
    let severity = settings.overrides()?;
    if let Some(rows) = settings.scan.taint.clone() {
        miniguard_scan::spec::extend(rows)
            .map_err(|e| anyhow::anyhow!("{}", say(msg!("cli.taint-spec-invalid", error = e))))?;
    }

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
    // A .wxapkg package (or a folder of them) is restored into a private temporary folder.
    let packages = crate::cmd_unpack::for_scan(&args.path)?;
    let scan_root = packages.as_ref().map_or(args.path.as_path(), |p| p.root());

    let mut opts = Options::new(scan_root);
    opts.label = Some(args.path.display().to_string());
    opts.discover = DiscoverOptions {
        max_file_size,
        include_vendor: args.include_vendor,
        exclude,
        follow_links: false,
        compiled_package: packages.is_some(),
    };
    opts.rules = rules;
    opts.severity = severity;
    opts.deps = DepsInput {
        db: args.db.as_deref().map_or(Database::Default, Database::Path),
        ignores: settings.deps.ignore.clone(),
    };
    opts.fail_on = fail_on;
    opts.jobs = args.jobs;
    opts.notes = packages
        .iter()
        .flat_map(|p| p.notes.iter().cloned())
        .map(|(path, message)| Warning {
            path,
            position: None,
            message: message.into(),
        })
        .collect();
    let bar = Bar {
        enabled: !args.no_progress && std::io::stderr().is_terminal(),
        bar: OnceLock::new(),
    };
    opts.progress = Some(&bar);

    if let Some(path) = &args.write_baseline {
        // Every current finding: no baseline, no diff, nothing hidden.
        opts.min_severity = Some(Severity::Info);
        let outcome = miniguard_engine::scan(&opts)?;
        miniguard_engine::baseline::write(path, &outcome.report.findings)?;
        let mut err = anstream::stderr();
        writeln!(
            err,
            "{}",
            say(msg!(
                "cli.baseline-written",
                count = outcome.report.findings.len(),
                path = path.display().to_string()
            ))
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
                .with_context(|| say(msg!("cli.baseline-unreadable", path = b)))?,
        ),
        (None, None) => None,
    };
    if let Some(path) = baseline_path {
        opts.baseline = Some(Baseline::read(&path)?);
    }
    let changed = match &args.diff_base {
        Some(base) => {
            if packages.is_some() {
                bail!("{}", say(msg!("cli.diff-base-wxapkg")));
            }
            Some((base, crate::diff::changed_since(args_dir(args), base)?))
        }
        None => None,
    };
    let left_out = Cell::new(0usize);
    let on_changed_lines = |f: &Finding| {
        let keep = changed.as_ref().is_none_or(|(_, c)| c.touches(f));
        if !keep {
            left_out.set(left_out.get() + 1);
        }
        keep
    };
    if changed.is_some() {
        opts.keep = Some(&on_changed_lines);
    }
    opts.min_severity = args.min_severity.map(|l| match l {
        LevelArg::Info => Severity::Info,
        LevelArg::Low => Severity::Low,
        LevelArg::Medium => Severity::Medium,
        LevelArg::High => Severity::High,
        LevelArg::Critical => Severity::Critical,
    });

    let Outcome {
        mut report,
        verdict,
    } = miniguard_engine::scan(&opts)?;
    if let Some((base, changed)) = &changed
        && !args.no_progress
    {
        let mut err = anstream::stderr();
        let files = if changed.len() == 1 {
            msg!("cli.one-file")
        } else {
            msg!("cli.files", count = changed.len())
        };
        writeln!(
            err,
            "{}",
            say(msg!(
                "cli.diff-base-summary",
                base = base.as_str(),
                files = files,
                left_out = left_out.get()
            ))
        )?;
    }
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
        std::fs::write(path, buf)
            .with_context(|| say(msg!("cli.cannot-write", path = path.display().to_string())))?;
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

    Ok(crate::exit::code(verdict.status(false)))
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

/// Rules after `--select` / `--ignore` (codes, names or categories), else the config's.
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
    Ok(Selection::new(select, ignore)?)
}

/// The progress bar, shown on a terminal for scans of 200 script files or more.
struct Bar {
    enabled: bool,
    bar: OnceLock<indicatif::ProgressBar>,
}

impl Progress for Bar {
    fn start(&self, files: u64) {
        if !self.enabled || files < 200 {
            return;
        }
        let bar = indicatif::ProgressBar::new(files);
        bar.set_style(
            indicatif::ProgressStyle::with_template(&bar_template(
                miniguard_report::i18n::current(),
            ))
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        let _ = self.bar.set(bar);
    }

    fn advance(&self, done: u64) {
        if let Some(b) = self.bar.get() {
            b.set_position(done);
        }
    }

    fn finish(&self) {
        if let Some(b) = self.bar.get() {
            b.finish_and_clear();
        }
    }
}

/// The progress bar's `indicatif` template in `lang`: the words from the message tables, the
/// bar, counts and time left as `indicatif` fills them in.
fn bar_template(lang: miniguard_report::i18n::Lang) -> String {
    let line = msg!(
        "cli.scanning",
        bar = "[{bar:30}]",
        done = "{pos}",
        total = "{len}",
        eta = "{eta}"
    )
    .render(lang);
    format!("{{spinner}} {line}")
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use miniguard_report::i18n::Lang;

    use super::*;

    #[test]
    fn the_progress_bar_speaks_the_readers_language() {
        assert_eq!(
            bar_template(Lang::En),
            "{spinner} scanning [{bar:30}] {pos}/{len} files ({eta})"
        );
        let zh = bar_template(Lang::ZhCn);
        assert!(
            zh.contains("正在扫描") && zh.contains("{pos}/{len}"),
            "{zh}"
        );
        for lang in [Lang::En, Lang::ZhCn] {
            assert!(indicatif::ProgressStyle::with_template(&bar_template(lang)).is_ok());
        }
    }

    /// What the progress bar is told.
    #[derive(Default)]
    struct Recorded {
        total: AtomicU64,
        most: AtomicU64,
    }

    impl Progress for Recorded {
        fn start(&self, files: u64) {
            self.total.store(files, Ordering::SeqCst);
        }
        fn advance(&self, done: u64) {
            self.most.fetch_max(done, Ordering::SeqCst);
        }
    }

    /// Issue 14: the bar said `5562/4986 files` on a large tree, the scan analysing files
    /// (Vue single-file components) that its total had not counted. On a tree of every kind of
    /// file, the count ends exactly at the total.
    #[test]
    fn the_progress_count_ends_at_its_total_on_a_large_mixed_tree() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let write = |rel: &str, text: &str| {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write("app.json", r#"{"pages":["pages/p0/index"]}"#);
        write("app.js", "App({})\n");
        for i in 0..150 {
            write(&format!("pages/p{i}/index.js"), "Page({ onLoad() {} })\n");
            write(&format!("pages/p{i}/index.wxml"), "<view>{{a}}</view>\n");
            write(&format!("pages/p{i}/index.json"), "{}\n");
            write(&format!("pages/p{i}/index.wxs"), "module.exports = {};\n");
            write(
                &format!("src/c{i}.vue"),
                "<template><div/></template>\n<script>\nexport default {}\n</script>\n",
            );
            write(&format!("src/m{i}.ts"), "export const a: number = 1;\n");
            write(
                &format!("node_modules/x{i}/index.js"),
                "module.exports = 1;\n",
            );
        }
        write("lib/bundle.min.js", &"var a=1;".repeat(4000));
        let recorded = Recorded::default();
        let mut opts = Options::new(root);
        opts.progress = Some(&recorded);
        opts.fail_on = None;
        miniguard_engine::scan(&opts).unwrap();
        let total = recorded.total.load(Ordering::SeqCst);
        // app.js and the pages' scripts, TypeScript modules and Vue components; vendored and
        // minified code is skipped, templates and JSON are read by other passes.
        assert_eq!(total, 451);
        assert_eq!(recorded.most.load(Ordering::SeqCst), total);
    }
}
