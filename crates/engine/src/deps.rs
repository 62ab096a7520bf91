//! The dependency audit as `scan` merges it in and `deps` reports it alone: lockfiles (those
//! discovery found and git-ignored ones), `miniprogram_npm` and copied library files, matched
//! against an advisory database.

use std::path::{Path, PathBuf};
use std::time::Instant;

use miniguard_deps::audit::{self, Inventory};
use miniguard_deps::db::{AdvisoryDb, DbInfo};
use miniguard_project::{DiscoverOptions, discover};
use miniguard_report::{Finding, Report, Severity, Stats, Warning};

use crate::ignores::IgnoredAdvisory;
use crate::rules::Overrides;
use crate::{Error, Verdict};

/// Advisories older than this make the dependency report say so.
pub const STALE_DAYS: u64 = 30;

/// Where the advisory database comes from.
#[derive(Clone, Copy, Debug, Default)]
pub enum Database<'a> {
    /// The cache of `db update`, else the snapshot built in.
    #[default]
    Default,
    /// An OSV directory or zip; `embedded` (when no such file exists) is the snapshot built in.
    Path(&'a Path),
    /// A database already loaded.
    Loaded(&'a AdvisoryDb),
}

/// Loads the database `path` names (`embedded` for the snapshot built in, unless a file of
/// that name exists), else the cache of `db update`, else the embedded snapshot.
pub fn open_db(path: Option<&Path>) -> Result<AdvisoryDb, Error> {
    if path.is_some_and(|p| p == Path::new("embedded") && !p.exists()) {
        return AdvisoryDb::embedded().map_err(Error::EmbeddedDb);
    }
    match path {
        Some(p) => AdvisoryDb::load(p).map_err(|source| Error::Db {
            path: p.to_path_buf(),
            source,
        }),
        None => AdvisoryDb::open_default().map_err(Error::DefaultDb),
    }
}

/// A database loaded now, or the one the caller holds.
pub(crate) enum DbHandle<'a> {
    Owned(AdvisoryDb),
    Borrowed(&'a AdvisoryDb),
}

impl DbHandle<'_> {
    pub(crate) fn get(&self) -> &AdvisoryDb {
        match self {
            DbHandle::Owned(db) => db,
            DbHandle::Borrowed(db) => db,
        }
    }
}

impl<'a> Database<'a> {
    pub(crate) fn open(self) -> Result<DbHandle<'a>, Error> {
        Ok(match self {
            Database::Default => DbHandle::Owned(open_db(None)?),
            Database::Path(p) => DbHandle::Owned(open_db(Some(p))?),
            Database::Loaded(db) => DbHandle::Borrowed(db),
        })
    }
}

/// What the audit of a project found, before ignores and selection.
#[derive(Debug)]
pub struct ProjectAudit {
    pub inventory: Inventory,
    pub findings: Vec<Finding>,
    pub db: DbInfo,
}

/// Audits the project at `root`: the lockfiles discovery listed (relative paths) and any
/// git-ignored ones (a git-ignored lockfile still describes what is installed), `miniprogram_npm`
/// and copied library files. `no_dev` leaves development-only dependencies out.
pub fn audit_project(
    root: &Path,
    lockfiles: &[String],
    db: &AdvisoryDb,
    no_dev: bool,
) -> ProjectAudit {
    let mut all: Vec<String> = lockfiles.to_vec();
    all.extend(audit::find_lockfiles(root));
    all.sort();
    all.dedup();
    let mut inventory = audit::inventory(root, &all);
    if no_dev {
        inventory.dependencies.retain(|d| !d.dev);
    }
    let base = if root.is_file() {
        root.parent().unwrap_or(Path::new("."))
    } else {
        root
    };
    let findings = {
        let hits = audit::matches(&inventory.dependencies, db);
        audit::findings(&hits, &|rel| {
            miniguard_project::read::read_string(
                &base.join(rel),
                miniguard_project::read::LOCKFILE_LIMIT,
            )
            .ok()
        })
    };
    ProjectAudit {
        inventory,
        findings,
        db: db.info(),
    }
}

/// Whether an inventory checked nothing although `package.json` declares dependencies (no
/// lockfile, no installed package): a clean result would say nothing.
pub(crate) fn nothing_checked(inventory: &Inventory) -> bool {
    inventory.dependencies.is_empty() && inventory.unlocked > 0
}

/// What `deps` audits: a project's third-party packages alone.
#[derive(Debug, Clone)]
pub struct DepsOptions<'a> {
    /// The project folder (or a lockfile).
    pub root: PathBuf,
    /// How the report names the project [default: `root` as given].
    pub label: Option<String>,
    pub db: Database<'a>,
    /// Leave out development-only dependencies.
    pub no_dev: bool,
    /// `[[deps.ignore]]`: advisories judged not to apply.
    pub ignores: Vec<IgnoredAdvisory>,
    /// Severities that replace the rules' defaults (`[rules.D001]`).
    pub severity: Overrides,
    /// Findings at or above this fail the verdict; `None` never fails.
    pub fail_on: Option<Severity>,
}

impl DepsOptions<'_> {
    /// Every dependency of `root` against the default database, failing on `high`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DepsOptions {
            root: root.into(),
            label: None,
            db: Database::Default,
            no_dev: false,
            ignores: Vec::new(),
            severity: Overrides::default(),
            fail_on: Some(Severity::High),
        }
    }
}

/// The dependency report and what it was made from.
#[derive(Debug)]
pub struct DepsOutcome {
    /// The `deps` report: every dependency rule, findings sorted and fingerprinted.
    pub report: Report,
    pub verdict: Verdict,
    /// The dependencies found, the lockfiles read and the problems met (also the report's
    /// warnings).
    pub inventory: Inventory,
    pub db: DbInfo,
}

/// Audits a project's third-party packages: the report of `miniguard deps`.
pub fn audit_dependencies(opts: &DepsOptions<'_>) -> Result<DepsOutcome, Error> {
    let started = Instant::now();
    let label = opts
        .label
        .clone()
        .unwrap_or_else(|| opts.root.display().to_string());
    let project =
        discover(&opts.root, &DiscoverOptions::default()).map_err(|source| Error::Project {
            path: label.clone(),
            source,
        })?;
    let db = opts.db.open()?;
    let mut result = audit_project(&opts.root, &project.lockfiles, db.get(), opts.no_dev);
    let (ignored, notes) = crate::ignores::apply(&mut result.findings, &opts.ignores);
    result.inventory.warnings.extend(notes);
    // `deps` says when its data is old; `scan` leaves that to `deps` and `db info`.
    if let Some(age) = result.db.age_days.filter(|a| *a > STALE_DAYS) {
        result.inventory.warnings.push(Warning {
            path: String::new(),
            position: None,
            message: miniguard_report::msg!("deps.database-old", days = age).into(),
        });
    }
    opts.severity.apply(&mut result.findings);
    let mut report = Report {
        tool_version: crate::VERSION.to_owned(),
        command: "deps".to_owned(),
        root: label,
        findings: result.findings,
        warnings: result.inventory.warnings.clone(),
        rules: audit::rules().iter().map(|r| r.info()).collect(),
        stats: Stats {
            files_scanned: result.inventory.lockfiles.len() as u64,
            suppressed: ignored as u64,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            ..Stats::default()
        },
    };
    report.sort();
    miniguard_report::assign_fingerprints(&mut report.findings);
    let verdict = Verdict::of(
        &report.findings,
        opts.fail_on,
        result.inventory.failed,
        nothing_checked(&result.inventory),
    );
    Ok(DepsOutcome {
        report,
        verdict,
        inventory: result.inventory,
        db: result.db,
    })
}
