//! The scan pipeline of miniguard as a library: what `miniguard scan` and `miniguard deps` do
//! between reading their arguments and printing, so that any tool gets the same report.
//!
//! [`scan`] discovers a project, runs the selected analyzer rules ([`rules::Selection`]), merges
//! the dependency audit in ([`deps`], with `[[deps.ignore]]` applied), gives rules the
//! severities a team set ([`rules::Overrides`]), sorts and fingerprints the findings, leaves out
//! those a [`Baseline`] accepted or a caller's filter rejects, hides those below the minimum
//! severity, and judges the result against the `fail_on` threshold: a [`Report`] and a
//! [`Verdict`]. [`deps::audit_dependencies`] is the dependency audit alone.
//!
//! ```no_run
//! use miniguard_engine::{Options, Status, rules::Selection};
//!
//! let mut opts = Options::new("examples/vulnerable-app");
//! opts.rules = Selection::new(&["injection".to_owned()], &[])?;
//! let outcome = miniguard_engine::scan(&opts)?;
//! for f in &outcome.report.findings {
//!     println!("{} {}:{} {}", f.rule, f.location.path, f.location.start.line, f.message);
//! }
//! assert_eq!(outcome.verdict.status(false), Status::Fail);
//! # Ok::<(), miniguard_engine::Error>(())
//! ```
//!
//! This crate never prints; reading `miniguard.toml`, git and exit codes are the binary's.

#![forbid(unsafe_code)]

pub mod baseline;
pub mod deps;
pub mod ignores;
pub mod rules;

use std::path::PathBuf;
use std::time::Instant;

use miniguard_project::{DiscoverOptions, SkipReason};
use miniguard_report::{Finding, Position, Report, RuleMeta, Severity, Stats, Warning};

pub use baseline::Baseline;
pub use deps::{Database, DepsOptions, DepsOutcome, audit_dependencies, open_db};
pub use ignores::IgnoredAdvisory;
pub use rules::{Overrides, Selection};

/// The version reports name as the tool's.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What a scan looks at and how it judges the result.
#[derive(Clone)]
pub struct Options<'a> {
    /// The project folder, or a single file, to audit.
    pub root: PathBuf,
    /// How the report and error messages name the project [default: `root` as given]; a
    /// package restored into a temporary folder is named by the package.
    pub label: Option<String>,
    /// Which files discovery reads (size limit, vendor folders, exclusions).
    pub discover: DiscoverOptions,
    /// The rules to run (default: all).
    pub rules: Selection,
    /// Severities that replace the rules' defaults.
    pub severity: Overrides,
    /// The dependency audit, when a dependency rule is selected.
    pub deps: DepsInput<'a>,
    /// Findings this baseline accepted are left out (counted as suppressed).
    pub baseline: Option<Baseline>,
    /// Findings this returns `false` for are left out after the baseline (counted as
    /// suppressed): the binary's `--diff-base` keeps those on changed lines.
    pub keep: Option<&'a dyn Fn(&Finding) -> bool>,
    /// Findings at or above this fail the verdict; `None` never fails.
    pub fail_on: Option<Severity>,
    /// Findings below this are counted in the summary, not listed [default: `low`, or
    /// `fail_on` when it is lower, so that what fails is always shown].
    pub min_severity: Option<Severity>,
    /// Worker threads [default: one per CPU]; at least 1.
    pub jobs: Option<usize>,
    /// Warnings about the input the caller prepared (such as a package it unpacked), listed
    /// after the scan's own and before the dependency audit's.
    pub notes: Vec<Warning>,
    /// Told how many script files there are, then how many are done.
    pub progress: Option<&'a dyn Progress>,
}

/// The dependency audit's part of a scan.
#[derive(Clone, Debug, Default)]
pub struct DepsInput<'a> {
    /// The advisory database, loaded only when a dependency rule is selected.
    pub db: Database<'a>,
    /// `[[deps.ignore]]`: advisories judged not to apply.
    pub ignores: Vec<IgnoredAdvisory>,
}

impl Options<'_> {
    /// Every rule on `root`, the default database, no baseline, failing on `high`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Options {
            root: root.into(),
            label: None,
            discover: DiscoverOptions::default(),
            rules: Selection::default(),
            severity: Overrides::default(),
            deps: DepsInput::default(),
            baseline: None,
            keep: None,
            fail_on: Some(Severity::High),
            min_severity: None,
            jobs: None,
            notes: Vec::new(),
            progress: None,
        }
    }

    /// The minimum severity listed: as set, else `low`, or `fail_on` when it is lower.
    pub fn listed_from(&self) -> Severity {
        self.min_severity
            .unwrap_or_else(|| self.fail_on.map_or(Severity::Low, |t| t.min(Severity::Low)))
    }
}

/// Progress of the analysis, for a progress bar. Called from several threads.
pub trait Progress: Sync {
    /// The number of script files to analyse, once discovery is done.
    fn start(&self, _files: u64) {}
    /// Script files analysed so far.
    fn advance(&self, _done: u64) {}
    /// The analysis is over.
    fn finish(&self) {}
}

/// The report and its verdict.
#[derive(Debug)]
pub struct Outcome {
    /// Findings sorted and fingerprinted, without those the baseline or the filter left out,
    /// without those below the minimum severity (counted in `stats.hidden`).
    pub report: Report,
    pub verdict: Verdict,
}

/// How the findings compare with the `fail_on` threshold, and whether the dependency audit
/// could check what the project declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The threshold; `None` never fails.
    pub fail_on: Option<Severity>,
    /// Findings at or above it, listed or hidden below the minimum severity.
    pub failing: usize,
    /// Lockfiles the dependency audit could not read completely.
    pub unreadable_lockfiles: usize,
    /// `package.json` declares dependencies, and not one could be checked (no lockfile, no
    /// installed package).
    pub nothing_checked: bool,
}

/// A verdict in one word, as exit codes say it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// No finding at or above the threshold.
    Pass,
    /// A finding at or above the threshold.
    Fail,
    /// The dependency audit is incomplete: whatever the findings, the report is not the whole
    /// answer.
    Incomplete,
}

impl Verdict {
    /// The verdict on these findings.
    pub fn of(
        findings: &[Finding],
        fail_on: Option<Severity>,
        unreadable_lockfiles: usize,
        nothing_checked: bool,
    ) -> Verdict {
        Verdict {
            fail_on,
            failing: fail_on.map_or(0, |t| findings.iter().filter(|f| f.severity >= t).count()),
            unreadable_lockfiles,
            nothing_checked,
        }
    }

    /// Whether a finding is at or above the threshold.
    pub fn failed(&self) -> bool {
        self.failing > 0
    }

    /// Incomplete when a lockfile could not be read, and, when `strict`, when nothing could be
    /// checked (`deps` is strict: auditing dependencies is all it does; `scan` is not); else
    /// fail or pass.
    pub fn status(&self, strict: bool) -> Status {
        if self.unreadable_lockfiles > 0 || (strict && self.nothing_checked) {
            Status::Incomplete
        } else if self.failed() {
            Status::Fail
        } else {
            Status::Pass
        }
    }
}

/// What stops a scan. Problems with the scanned files are warnings in the report, not errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("unknown rule or category `{0}` (see `miniguard rules`)")]
    UnknownRule(String),
    /// A setting is invalid (the text says which and why).
    #[error("{0}")]
    Config(String),
    #[error("cannot read project {path}")]
    Project {
        path: String,
        #[source]
        source: miniguard_project::DiscoverError,
    },
    #[error(
        "nothing to scan in {path}: no script, template, JSON configuration or lockfile was found{}",
        match skipped {
            0 => String::new(),
            n => format!(" ({n} skipped: see --max-file-size, --include-vendor and --exclude)"),
        }
    )]
    NothingToScan { path: String, skipped: usize },
    #[error("--jobs must be at least 1")]
    NoJobs,
    #[error(transparent)]
    Scan(#[from] miniguard_scan::ScanError),
    #[error("cannot load the embedded advisory snapshot")]
    EmbeddedDb(#[source] miniguard_deps::db::DbError),
    #[error("cannot load advisory database {}", path.display())]
    Db {
        path: PathBuf,
        #[source]
        source: miniguard_deps::db::DbError,
    },
    #[error("cannot load the advisory database")]
    DefaultDb(#[source] miniguard_deps::db::DbError),
    #[error("cannot read baseline {}", path.display())]
    BaselineRead {
        path: PathBuf,
        #[source]
        source: miniguard_project::read::ReadError,
    },
    #[error("invalid baseline {}", path.display())]
    BaselineParse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("baseline {} has version {version}, this miniguard reads version 1", path.display())]
    BaselineVersion { path: PathBuf, version: u32 },
    #[error("cannot write baseline {}", path.display())]
    BaselineWrite {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Runs the pipeline: the report of `miniguard scan` and its verdict.
pub fn scan(opts: &Options<'_>) -> Result<Outcome, Error> {
    let started = Instant::now();
    let label = opts
        .label
        .clone()
        .unwrap_or_else(|| opts.root.display().to_string());
    let project = miniguard_project::discover(&opts.root, &opts.discover).map_err(|source| {
        Error::Project {
            path: label.clone(),
            source,
        }
    })?;
    if project.files.is_empty() && project.lockfiles.is_empty() {
        return Err(Error::NothingToScan {
            path: label,
            skipped: project.skipped.len(),
        });
    }
    if opts.jobs == Some(0) {
        return Err(Error::NoJobs);
    }
    let scripts = project
        .files
        .iter()
        .filter(|f| f.kind.is_analysed_code())
        .count() as u64;
    if let Some(p) = opts.progress {
        p.start(scripts);
    }
    let progress = opts.progress;
    let output = miniguard_scan::scan(&project, opts.rules.code_rules(), opts.jobs, &|n| {
        if let Some(p) = progress {
            p.advance(n);
        }
    })?;
    if let Some(p) = opts.progress {
        p.finish();
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
            message: w.message.clone().into(),
        })
        .collect();
    for s in &project.skipped {
        let message = match s.reason {
            SkipReason::TooLarge { size } => miniguard_report::msg!(
                "scan.skipped-too-large",
                size = size,
                limit = opts.discover.max_file_size
            ),
            SkipReason::Binary => miniguard_report::msg!("scan.skipped-binary"),
            SkipReason::Minified => miniguard_report::msg!("scan.skipped-minified"),
            _ => continue,
        };
        warnings.push(Warning {
            path: s.rel.clone(),
            position: None,
            message: message.into(),
        });
    }
    warnings.extend(output.warnings);
    warnings.extend(opts.notes.iter().cloned());

    let mut findings = output.findings;
    let mut unreadable_lockfiles = 0;
    let mut nothing_checked = false;
    let mut deps_ignored = 0;
    let dep_rules = opts.rules.dep_rules();
    // Third-party packages: the `dependency` category.
    if !dep_rules.is_empty() {
        let db = opts.deps.db.open()?;
        let audit = deps::audit_project(&opts.root, &project.lockfiles, db.get(), false);
        findings.extend(
            audit
                .findings
                .into_iter()
                .filter(|f| dep_rules.iter().any(|r| r.code == f.rule)),
        );
        unreadable_lockfiles = audit.inventory.failed;
        nothing_checked = deps::nothing_checked(&audit.inventory);
        warnings.extend(audit.inventory.warnings);
        let (ignored, notes) = ignores::apply(&mut findings, &opts.deps.ignores);
        deps_ignored = ignored as u64;
        warnings.extend(notes);
    }
    opts.severity.apply(&mut findings);
    let mut report = Report {
        tool_version: VERSION.to_owned(),
        command: "scan".to_owned(),
        root: label,
        findings,
        warnings,
        rules: opts.rules.rules().map(RuleMeta::info).collect(),
        stats: Stats {
            files_scanned: output.files_scanned,
            files_skipped: project.skipped.len() as u64,
            bytes_scanned: output.bytes_scanned,
            duration_ms: 0,
            suppressed: output.suppressed + deps_ignored,
            platform: (project.platform != miniguard_project::Platform::Unknown)
                .then(|| project.platform.name().to_owned()),
            ..Stats::default()
        },
    };
    report.sort();
    miniguard_report::assign_fingerprints(&mut report.findings);

    if let Some(baseline) = &opts.baseline {
        let before = report.findings.len();
        report
            .findings
            .retain(|f| !baseline.contains(&f.fingerprint));
        report.stats.suppressed += (before - report.findings.len()) as u64;
    }
    if let Some(keep) = opts.keep {
        let before = report.findings.len();
        report.findings.retain(|f| keep(f));
        report.stats.suppressed += (before - report.findings.len()) as u64;
    }
    // `fail_on` counts every finding, listed or not.
    let verdict = Verdict::of(
        &report.findings,
        opts.fail_on,
        unreadable_lockfiles,
        nothing_checked,
    );
    let min_severity = opts.listed_from();
    let before = report.findings.len();
    report.findings.retain(|f| f.severity >= min_severity);
    report.stats.hidden = (before - report.findings.len()) as u64;
    report.stats.min_severity = Some(min_severity);
    report.stats.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(Outcome { report, verdict })
}
