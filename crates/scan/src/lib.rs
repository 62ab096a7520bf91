//! The miniguard analyzer.
//!
//! [`scan`] takes a discovered [`Project`] and runs every selected rule over it: JavaScript and
//! TypeScript through oxc and the abstract evaluator in [`js::eval`] (taint from untrusted
//! sources to sinks, sensitive data to storage and logs), page templates through the parser in
//! [`template`] (bindings back to `setData`), JSON configuration files, and project-wide facts.
//!
//! Files are analysed in batches of 8, taken in order by one worker per thread; the files of a
//! batch are evaluated together, with what they import. Each worker keeps what it has parsed
//! ([`js::ModuleCache`]) for the batches it runs next: a module imported by files of many batches
//! is read and parsed once per worker, and its top level is evaluated once per worker when that
//! evaluation depended on the module alone (a config or a request wrapper: no calls of analysed
//! code at its top level), later batches taking its summary ([`js::eval::Summary`]) instead.
//! Memory stays bounded: a worker carries at most [`js::CACHE_ARENA_BUDGET`] bytes of arena and
//! [`js::MAX_BATCH_MODULES`] parsed modules from one batch to the next (past either it drops
//! them and starts over), on top of what one batch loads (at most [`js::MAX_BATCH_MODULES`]
//! modules). The imports all batches load share a budget linear in the number of files
//! ([`js::scan_import_budget`]). Batch results are merged in batch order; what a batch finds does
//! not depend on what its worker ran before, so the report does not depend on the thread count
//! (short of that import budget running out, when which imports it refuses depends on timing).
//! Problems with the input (syntax errors, bad JSON,
//! unreadable files) become [`Warning`]s; the scan goes on. Every file that is skipped or
//! only partly analysed (nested too deeply, an evaluation budget spent, an unclosed Vue block,
//! invalid UTF-8) is named in a warning; see `docs/limits.md`.

#![forbid(unsafe_code)]

pub mod config;
pub mod events;
pub mod js;
pub mod merge;
pub mod names;
pub mod rules;
pub mod severity;
pub mod spec;
pub mod suppress;
pub mod template;
pub mod value;

use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use miniguard_project::{FileKind, JsonKind, Platform, Project, Role, SourceFile, TemplateLang};
use miniguard_report::{
    CONTEXT_LINES, Finding, Location, Position, Runtime, Text, TraceStep, Warning, msg,
};
use rustc_hash::FxHashMap;

use crate::config::{AppFacts, JsonFile, ProjectFacts};
use crate::events::{Cx, Event, LiteralEvent, RawFinding, Span};
use crate::rules::Rule;

/// Files per batch: the files of a batch are evaluated together (an import's top level once
/// per batch).
const BATCH: usize = 8;

/// Lookup of project files by path, and where mini-program roots are.
pub struct ProjectIndex {
    files: FxHashMap<PathBuf, usize>,
    by_rel: FxHashMap<String, usize>,
    list: Vec<SourceFile>,
    mp_roots: Vec<PathBuf>,
    /// App roots (relative, `/`-separated, "" for the scan root) and their platforms, longest
    /// first.
    apps: Vec<(String, Platform)>,
    platform: Platform,
}

impl ProjectIndex {
    pub fn new(project: &Project) -> Self {
        let mut files = FxHashMap::default();
        let mut by_rel = FxHashMap::default();
        for (i, f) in project.files.iter().enumerate() {
            files.insert(js::normalize(&f.path), i);
            by_rel.insert(f.rel.clone(), i);
        }
        let mut apps: Vec<(String, Platform)> = project
            .apps
            .iter()
            .map(|a| (a.root_rel.trim_matches('/').to_owned(), a.platform))
            .collect();
        apps.sort_by_key(|a| std::cmp::Reverse(a.0.len()));
        let mut mp_roots: Vec<PathBuf> = project
            .miniprogram_roots
            .iter()
            .map(|r| js::normalize(&project.root.join(r)))
            .collect();
        // Longest first, so the innermost root wins.
        mp_roots.sort_by_key(|r| std::cmp::Reverse(r.as_os_str().len()));
        ProjectIndex {
            files,
            by_rel,
            list: project.files.clone(),
            mp_roots,
            apps,
            platform: project.platform,
        }
    }

    /// Where the code of the file at `rel` runs (see [`severity::runtime_of`]).
    pub fn runtime_of(&self, rel: &str) -> Option<Runtime> {
        let file = self.list.get(*self.by_rel.get(rel)?)?;
        let app = self
            .apps
            .iter()
            .find(|(root, _)| {
                root.is_empty()
                    || rel
                        .strip_prefix(root.as_str())
                        .is_some_and(|r| r.starts_with('/'))
            })
            .map(|a| a.1);
        severity::runtime_of(file.role, app, self.platform)
    }

    pub fn file(&self, path: &Path) -> Option<&SourceFile> {
        self.files
            .get(&js::normalize(path))
            .and_then(|&i| self.list.get(i))
    }

    /// The mini-program root a file belongs to.
    pub fn miniprogram_root_of(&self, path: &Path) -> Option<PathBuf> {
        let p = js::normalize(path);
        self.mp_roots.iter().find(|r| p.starts_with(r)).cloned()
    }

    /// The template beside a page or component script (`a.js` -> `a.wxml`).
    pub fn template_for(&self, script: &Path) -> Option<(PathBuf, template::Dialect)> {
        for (ext, dialect) in [
            ("wxml", template::Dialect::Wxml),
            ("axml", template::Dialect::Axml),
            ("ttml", template::Dialect::Ttml),
            ("swan", template::Dialect::Swan),
            ("qml", template::Dialect::Qml),
        ] {
            let p = script.with_extension(ext);
            if self.file(&p).is_some() {
                return Some((p, dialect));
            }
        }
        None
    }
}

/// The result of a scan before rendering.
#[derive(Debug, Default)]
pub struct ScanOutput {
    pub findings: Vec<Finding>,
    pub warnings: Vec<Warning>,
    /// Findings suppressed by inline `miniguard-ignore` comments.
    pub suppressed: u64,
    pub files_scanned: u64,
    pub bytes_scanned: u64,
    /// What the analysis of the scripts took.
    pub work: Work,
}

/// How much work a scan's analysis of scripts did: each worker parses a module once and
/// evaluates a module's top level once when a summary of it can stand for the next time (see
/// [`js::ModuleCache`] and [`js::eval::Summary`]). For tests and benchmarks.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Work {
    /// Script files read and parsed, over all workers.
    pub modules_parsed: u64,
    /// Module top levels evaluated.
    pub top_levels_evaluated: u64,
    /// Module top levels taken from a summary instead of evaluated again.
    pub top_levels_from_summaries: u64,
}

impl std::ops::AddAssign for Work {
    fn add_assign(&mut self, other: Work) {
        self.modules_parsed += other.modules_parsed;
        self.top_levels_evaluated += other.top_levels_evaluated;
        self.top_levels_from_summaries += other.top_levels_from_summaries;
    }
}

/// Worker thread stack size. Nesting is bounded before any recursion (the pre-scan in
/// [`js::depth`] refuses sources and bindings nested deeper than 1000 levels; the evaluator
/// stops at 400), so the stack is not what keeps hostile files from crashing the scan. Every
/// hostile shape just under those limits passes with 8 MiB in a debug build
/// (`tests/hostile.rs`); 32 MiB leaves a fourfold margin. The memory is reserved, not used,
/// until needed.
const WORKER_STACK: usize = 32 * 1024 * 1024;

/// Scan a project with the given rules on `jobs` threads (default: one per CPU). `progress` is
/// called with the number of script files done so far (from several threads).
pub fn scan(
    project: &Project,
    rules: &[&'static dyn Rule],
    jobs: Option<usize>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<ScanOutput, ScanError> {
    let mut builder = rayon::ThreadPoolBuilder::new().stack_size(WORKER_STACK);
    if let Some(j) = jobs {
        builder = builder.num_threads(j.clamp(1, max_jobs()));
    }
    let pool = builder
        .build()
        .map_err(|e| ScanError::Threads(e.to_string()))?;
    Ok(pool.install(|| scan_in_pool(project, rules, progress, js::CACHE_ARENA_BUDGET)))
}

/// The most worker threads a scan starts, whatever `jobs` asks for: each worker holds its own
/// arena of parsed modules, so memory grows with the thread count, and more threads than
/// cores only add to it.
pub fn max_jobs() -> usize {
    std::thread::available_parallelism()
        .map_or(4, std::num::NonZero::get)
        .saturating_mul(2)
        .clamp(2, 64)
}

/// Our own failures (problems in the scanned files are warnings, not errors).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    #[error("cannot start worker threads: {0}")]
    Threads(String),
}

/// [`scan`] on the current thread pool, each worker dropping its parsed modules when their
/// arena passes `cache_budget` bytes.
fn scan_in_pool(
    project: &Project,
    rules: &[&'static dyn Rule],
    progress: &(dyn Fn(u64) + Sync),
    cache_budget: usize,
) -> ScanOutput {
    let index = ProjectIndex::new(project);
    let done = AtomicU64::new(0);
    let scripts: Vec<&SourceFile> = project
        .files
        .iter()
        .filter(|f| f.kind.is_analysed_code())
        .collect();
    let import_budget = AtomicUsize::new(js::scan_import_budget(scripts.len()));
    let batches: Vec<&[&SourceFile]> = scripts.chunks(BATCH).collect();
    let next = AtomicUsize::new(0);
    let report = |files: usize| {
        let n = done.fetch_add(files as u64, Ordering::Relaxed) + files as u64;
        progress(n);
    };
    // One worker per thread of the pool, each taking the next batch until none is left.
    let mut numbered: Vec<(usize, BatchResult)> = rayon::broadcast(|_| {
        run_worker(
            &index,
            &batches,
            &next,
            rules,
            &import_budget,
            cache_budget,
            &report,
        )
    })
    .into_iter()
    .flatten()
    .collect();
    // In batch order, as if one worker had run them all.
    numbered.sort_unstable_by_key(|(i, _)| *i);
    let results = numbered.into_iter().map(|(_, r)| r);

    let mut out = ScanOutput::default();
    let mut facts = ProjectFacts::default();
    let mut raw: Vec<merge::Placed> = Vec::new();
    for r in results {
        out.work += r.work;
        raw.extend(r.findings);
        out.warnings.extend(r.warnings);
        out.suppressed += r.suppressed;
        facts.mp_calls.extend(
            r.mp_calls
                .into_iter()
                .map(|(a, f, s)| (a, Rc::from(f.as_str()), s)),
        );
        facts.token_keys.extend(r.token_keys);
    }

    // The rules that read the values of settings files (YAML, `.env`, settings JSON).
    let secret_rules: Vec<&'static dyn Rule> = rules
        .iter()
        .copied()
        .filter(|r| r.meta().category == miniguard_report::Category::Secrets)
        .collect();

    // JSON configuration files.
    for f in project
        .files
        .iter()
        .filter(|f| matches!(f.kind, FileKind::Json(_)))
    {
        let FileKind::Json(kind) = f.kind else {
            continue;
        };
        let text = match miniguard_project::read::read_string(
            &f.path,
            miniguard_project::read::JSON_LIMIT,
        ) {
            Ok(text) => text,
            Err(e) => {
                if !project.warnings.iter().any(|w| w.rel == f.rel) {
                    out.warnings.push(Warning {
                        path: f.rel.clone(),
                        position: None,
                        message: msg!("deps.cannot-read", error = e.to_string()).into(),
                    });
                }
                continue;
            }
        };
        let node = match miniguard_project::json::parse(&text) {
            Ok(n) => n,
            Err(e) => {
                if !project.warnings.iter().any(|w| w.rel == f.rel) {
                    out.warnings.push(Warning {
                        path: f.rel.clone(),
                        position: Some(Position {
                            line: e.line,
                            column: e.column,
                        }),
                        message: msg!("scan.invalid-json", error = &e.message).into(),
                    });
                }
                continue;
            }
        };
        if kind == JsonKind::AppJson {
            facts.apps.push(app_facts(f, &node, project));
        }
        let mut found = Vec::new();
        {
            let file = JsonFile {
                rel: &f.rel,
                kind,
                root: &node,
                source: &text,
            };
            let mut cx = Cx::new(Rc::from(f.rel.as_str()), f.role, &text, &mut found);
            for rule in rules {
                rule.check_json(&mut cx, &file);
            }
            // Settings JSON: its values are settings entries, as in YAML.
            if config::holds_settings(kind) {
                let (values, siblings) = config::json_settings(&node);
                cx.settings = true;
                check_settings(&mut cx, &secret_rules, &values, &siblings);
            }
        }
        let (kept, sup) = place(found, &|_| Some(Rc::from(text.as_str())), &index);
        out.suppressed += sup;
        raw.extend(kept);
    }

    // Settings files: each entry's value is a literal bound to its key, for the secrets rules.
    for f in &project.files {
        let FileKind::Settings(format) = f.kind else {
            continue;
        };
        let text = match miniguard_project::read::read_string(
            &f.path,
            miniguard_project::read::JSON_LIMIT,
        ) {
            Ok(text) => text,
            Err(e) => {
                out.warnings.push(Warning {
                    path: f.rel.clone(),
                    position: None,
                    message: msg!("deps.cannot-read", error = e.to_string()).into(),
                });
                continue;
            }
        };
        let entries = match miniguard_project::settings::entries(format, &text) {
            Ok(entries) => entries,
            Err(e) => {
                out.warnings.push(Warning {
                    path: f.rel.clone(),
                    position: Some(Position {
                        line: e.line,
                        column: e.column,
                    }),
                    message: msg!("scan.invalid-settings", error = &e.message).into(),
                });
                continue;
            }
        };
        let mut found = Vec::new();
        {
            let mut cx = Cx::new(Rc::from(f.rel.as_str()), f.role, &text, &mut found);
            cx.settings = true;
            let (values, siblings) = config::entry_settings(&entries);
            check_settings(&mut cx, &secret_rules, &values, &siblings);
        }
        let (kept, sup) = place(found, &|_| Some(Rc::from(text.as_str())), &index);
        out.suppressed += sup;
        raw.extend(kept);
    }

    // Project-wide rules.
    let mut found = Vec::new();
    {
        let mut cx = Cx::new(Rc::from(""), Role::Unknown, "", &mut found);
        for rule in rules {
            rule.check_project(&mut cx, &facts);
        }
    }
    let read = |rel: &str| -> Option<Rc<str>> {
        let f = project.file(rel)?;
        js::read_source(f).ok().map(|(s, _)| Rc::from(s.as_str()))
    };
    let (kept, sup) = place(found, &read, &index);
    out.suppressed += sup;
    raw.extend(kept);

    // The same finding can come from several batches (a module imported by several files);
    // one flaw is one finding; then the severity model.
    out.findings = merge::one_per_flaw(raw);
    apply_severity_model(&mut out.findings);
    note_reachability(&mut out.findings);
    // A module imported by files of several batches is reported by each of them.
    out.warnings.sort();
    out.warnings.dedup();
    out.files_scanned = project.files.len() as u64;
    out.bytes_scanned = project.files.iter().map(|f| f.size).sum();
    out
}

/// Give the values of a settings file to the secrets rules: each as a literal bound to its key,
/// and as a property of its section (with the section's other keys).
fn check_settings(
    cx: &mut Cx<'_>,
    rules: &[&'static dyn Rule],
    values: &[config::SettingValue<'_>],
    siblings: &[Vec<Rc<str>>],
) {
    for v in values {
        let lit = LiteralEvent {
            text: &v.value,
            name_hint: Some(v.name),
            span: v.span,
        };
        let value = value::Value::text(&v.value, None);
        let prop = events::PropertyEvent {
            key: v.name,
            value: &value,
            span: v.span,
            value_span: v.span,
            siblings: siblings.get(v.section).map_or(&[], Vec::as_slice),
        };
        for rule in rules {
            rule.check(cx, &Event::Literal(&lit));
            rule.check(cx, &Event::Property(&prop));
        }
    }
}

struct BatchResult {
    findings: Vec<merge::Placed>,
    warnings: Vec<Warning>,
    suppressed: u64,
    mp_calls: Vec<(String, String, Span)>,
    token_keys: Vec<config::TokenKey>,
    work: Work,
}

/// A worker: takes the next batch from `batches` (by `next`) until none is left, analysing each
/// with the modules it has parsed for the batches before (see [`js::ModuleCache`]); when that
/// cache's arena passes its budget, the worker drops it and starts a new one. Returns the
/// results by batch number.
fn run_worker(
    index: &ProjectIndex,
    batches: &[&[&SourceFile]],
    next: &AtomicUsize,
    rules: &[&'static dyn Rule],
    import_budget: &AtomicUsize,
    cache_budget: usize,
    done: &(dyn Fn(usize) + Sync),
) -> Vec<(usize, BatchResult)> {
    let mut out = Vec::new();
    loop {
        let alloc = oxc_allocator::Allocator::default();
        let cache = js::ModuleCache::new(&alloc, index);
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(chunk) = batches.get(i) else {
                return out;
            };
            out.push((i, analyse_batch(&cache, chunk, rules, import_budget)));
            done(chunk.len());
            if cache.over_budget(cache_budget) {
                break;
            }
        }
    }
}

fn analyse_batch<'a>(
    cache: &'a js::ModuleCache<'a>,
    chunk: &[&SourceFile],
    rules: &[&'static dyn Rule],
    import_budget: &'a AtomicUsize,
) -> BatchResult {
    let index = cache.index();
    let parses = cache.parses();
    let set = js::ModuleSet::new(cache).with_import_budget(import_budget);
    let mut ev = js::eval::Evaluator::new(&set, rules);
    let mut warnings = Vec::new();
    for file in chunk {
        let Some(idx) = set.load_entry(&file.path) else {
            continue;
        };
        if let Some(m) = set.get(idx)
            && let Some((offset, msg)) = m.errors.first()
        {
            let (line, column) = template::line_col(m.source, *offset);
            let more = m.errors.len() - 1;
            let message = if more > 0 {
                msg!("scan.syntax-error-more", error = msg, more = more)
            } else {
                msg!("scan.syntax-error", error = msg)
            };
            warnings.push(Warning {
                path: m.rel.to_string(),
                position: Some(Position { line, column }),
                message: message.into(),
            });
        }
        let refused = set.budget_refused.get();
        ev.run_entry(idx);
        if set.budget_refused.get() > refused {
            warnings.push(Warning {
                path: file.rel.clone(),
                position: None,
                message: msg!("scan.import-budget", budget = js::IMPORTS_PER_FILE).into(),
            });
        }
    }
    if let Some(rel) = set.import_cap_hit.borrow().as_ref() {
        warnings.push(Warning {
            path: rel.clone(),
            position: None,
            message: msg!("scan.import-cap", modules = js::MAX_BATCH_MODULES).into(),
        });
    }
    for (rel, offset, msg) in set.failures.borrow().iter() {
        let position = offset.map(|(line, column)| Position { line, column });
        warnings.push(Warning {
            path: rel.clone(),
            position,
            message: msg.clone().into(),
        });
    }
    for (idx, why) in &ev.partial {
        if let Some(m) = set.get(*idx) {
            warnings.push(Warning {
                path: m.rel.to_string(),
                position: None,
                message: (*why).into(),
            });
        }
    }
    let mut sources: FxHashMap<Rc<str>, Rc<str>> = FxHashMap::default();
    let loaded = set.loaded();
    for &i in &loaded {
        if let Some(m) = set.get(i) {
            sources.insert(m.rel.clone(), Rc::from(m.source));
        }
    }
    for (rel, src) in &ev.templates {
        sources.insert(rel.clone(), src.clone());
    }
    // Template errors of page templates and of Vue template blocks (whose source is the
    // module's own).
    for (rel, offset, msg) in &ev.template_errors {
        let position = sources.get(rel).map(|src| {
            let (line, column) = template::line_col(src, *offset);
            Position { line, column }
        });
        warnings.push(Warning {
            path: rel.to_string(),
            position,
            message: msg!("scan.template-error", error = msg).into(),
        });
    }
    // Code that rarely runs for a user: handlers nothing binds or calls, development-only code.
    let mut regions = std::mem::take(&mut ev.reach);
    for &i in &loaded {
        if let Some(m) = set.get(i) {
            regions.extend(js::reach::dev_regions(&m));
        }
    }
    let mut findings = std::mem::take(&mut ev.findings);
    js::reach::mark(&mut findings, &regions);
    let (findings, suppressed) = place(findings, &|rel| sources.get(rel).cloned(), index);
    let mp_calls = ev
        .facts
        .mp_calls
        .iter()
        .map(|(a, f, s)| (a.clone(), f.to_string(), *s))
        .collect();
    warnings.sort();
    warnings.dedup();
    let token_keys = std::mem::take(&mut ev.facts.token_keys);
    let work = Work {
        modules_parsed: cache.parses() - parses,
        ..ev.work
    };
    BatchResult {
        findings,
        warnings,
        suppressed,
        mp_calls,
        token_keys,
        work,
    }
}

fn app_facts(
    f: &SourceFile,
    node: &miniguard_project::json::JsonNode,
    project: &Project,
) -> AppFacts {
    let root_rel = project
        .apps
        .iter()
        .find(|a| a.config_rel == f.rel)
        .map_or_else(
            || {
                f.rel
                    .rsplit_once('/')
                    .map_or(String::new(), |(d, _)| d.to_owned())
            },
            |a| a.root_rel.clone(),
        );
    let infos = node.get("requiredPrivateInfos");
    let required_private_infos = infos
        .and_then(|n| n.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let anchor = node
        .key_span("requiredPrivateInfos")
        .map_or(Span { start: 0, end: 1 }, config::key_span);
    AppFacts {
        config_rel: f.rel.clone(),
        root_rel,
        required_private_infos,
        anchor,
    }
}

/// A file's text, its line index and, for code that may be built for several targets, its
/// conditional-compilation blocks.
struct Lines {
    src: Rc<str>,
    index: LineIndex,
    blocks: Option<severity::ConditionalBlocks>,
}

/// Turn raw findings into located findings, dropping those an inline comment suppresses. A
/// finding reported again at the same place (handlers run twice, a helper reached from many
/// sinks) stays one, with the new sinks as related locations.
fn place(
    found: Vec<RawFinding>,
    source_of: &dyn Fn(&str) -> Option<Rc<str>>,
    index: &ProjectIndex,
) -> (Vec<merge::Placed>, u64) {
    let mut out: Vec<merge::Placed> = Vec::new();
    let mut suppressed = 0;
    let mut cache: FxHashMap<Rc<str>, Option<Lines>> = FxHashMap::default();
    let load = |file: &Rc<str>, cache: &mut FxHashMap<Rc<str>, Option<Lines>>| {
        if !cache.contains_key(file) {
            let lines = source_of(file).map(|src| {
                let blocks = (index.runtime_of(file) == Some(Runtime::CrossPlatform))
                    .then(|| severity::ConditionalBlocks::new(&src));
                Lines {
                    index: LineIndex::new(&src),
                    src,
                    blocks,
                }
            });
            cache.insert(file.clone(), lines);
        }
    };
    // (rule, file, span) -> where it went: `Some(i)` into `out`, `None` suppressed.
    let mut seen: FxHashMap<(&'static str, Rc<str>, Span), Option<usize>> = FxHashMap::default();
    for f in found {
        let key = (f.rule.code, f.file.clone(), f.span);
        if seen.get(&key).is_some_and(Option::is_none) {
            continue;
        }
        load(&f.file, &mut cache);
        for (origin, _) in &f.trace {
            load(&origin.file, &mut cache);
        }
        let Some(Some(lines)) = cache.get(&f.file) else {
            continue;
        };
        let location = lines.index.location(&lines.src, &f.file, f.span);
        let line = lines.index.line_of(f.span.start);
        let above = line
            .checked_sub(1)
            .map(|l| lines.index.line_text(&lines.src, l));
        if !seen.contains_key(&key)
            && suppress::lines_suppress(
                Some(lines.index.line_text(&lines.src, line)),
                above,
                f.rule.code,
                f.rule.name,
            )
        {
            seen.insert(key, None);
            suppressed += 1;
            continue;
        }
        let mut trace = Vec::new();
        for (origin, note) in &f.trace {
            if let Some(Some(l)) = cache.get(&origin.file) {
                trace.push(TraceStep {
                    location: l.index.location(
                        &l.src,
                        &origin.file,
                        Span {
                            start: origin.start,
                            end: origin.end,
                        },
                    ),
                    note: note.clone().into(),
                });
            }
        }
        let runtime = f.runtime.or_else(|| {
            lines
                .blocks
                .as_ref()
                .and_then(|b| b.runtime_at(f.span.start as usize))
                .or_else(|| index.runtime_of(&f.file))
        });
        let finding = Finding {
            rule: f.rule.code.to_owned(),
            name: f.rule.name.to_owned(),
            category: f.rule.category,
            severity: f.severity,
            confidence: match f.reach {
                Some(_) => f.rule.confidence.lowered(),
                None => f.rule.confidence,
            },
            message: Text::from(f.message).bounded(MAX_MESSAGE),
            location,
            help: f.help.map(|h| Text::from(h).bounded(MAX_MESSAGE)),
            trace,
            fingerprint: String::new(),
            dependency: None,
            related: Vec::new(),
            runtime,
            severity_reason: None,
            confidence_reason: f.reach.map(|r| r.note().into()),
        };
        if let Some(Some(i)) = seen.get(&key) {
            merge::fold_repeat(&mut out[*i].finding, finding);
        } else {
            seen.insert(key, Some(out.len()));
            out.push(merge::Placed {
                finding,
                group: f.group,
                primary: f.primary,
                scope: f.scope,
            });
        }
    }
    (out, suppressed)
}

/// Longest message or help a finding carries, in characters: rules quote code in them.
const MAX_MESSAGE: usize = 1000;

/// Apply the severity model (see [`severity`]) to merged findings.
fn apply_severity_model(findings: &mut [Finding]) {
    for f in findings {
        if let Some((severity, why)) = severity::adjust(&f.rule, f.severity, f.runtime) {
            f.severity = severity;
            f.severity_reason = Some(why.into());
        }
    }
}

/// Say in the message of each merged finding whose confidence reachability lowered why (see
/// [`js::reach`]): "(handler not bound by any template)".
fn note_reachability(findings: &mut [Finding]) {
    for f in findings {
        if let Some(reason) = &f.confidence_reason {
            f.message = msg!("finding.with-reason", message = &f.message, reason = reason).into();
        }
    }
}

/// Byte offsets of line starts, for turning spans into lines and columns.
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(src: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// 0-based line of a byte offset.
    pub fn line_of(&self, offset: u32) -> usize {
        match self.starts.binary_search(&(offset as usize)) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }

    /// The text of 0-based `line`, without its line break (empty past the end).
    pub fn line_text<'s>(&self, src: &'s str, line: usize) -> &'s str {
        let Some(&start) = self.starts.get(line) else {
            return "";
        };
        let end = self.starts.get(line + 1).map_or(src.len(), |e| e - 1);
        src.get(start..end.max(start))
            .unwrap_or_default()
            .trim_end_matches('\r')
    }

    fn position(&self, src: &str, offset: u32) -> Position {
        let offset = (offset as usize).min(src.len());
        let line = self.line_of(offset as u32);
        let start = self.starts.get(line).copied().unwrap_or(0);
        let col = src.get(start..offset).map_or(0, |s| s.chars().count());
        Position {
            line: line as u32 + 1,
            column: col as u32 + 1,
        }
    }

    fn location(&self, src: &str, file: &str, span: Span) -> Location {
        let start = self.position(src, span.start);
        let end = self.position(src, span.end.max(span.start));
        let first = start.line as usize - 1;
        let last = (end.line as usize - 1).min(first + 2);
        let from = self.starts.get(first).copied().unwrap_or(0);
        let to = self
            .starts
            .get(last + 1)
            .map_or(src.len(), |e| e.saturating_sub(1));
        let snippet = src
            .get(from..to.max(from))
            .unwrap_or("")
            .trim_end_matches('\r')
            .to_owned();
        let lines_text = |from_line: usize, to_line: usize| -> String {
            let from = self.starts.get(from_line).copied().unwrap_or(src.len());
            let to = self
                .starts
                .get(to_line + 1)
                .map_or(src.len(), |e| e.saturating_sub(1));
            src.get(from..to.max(from))
                .unwrap_or("")
                .trim_end_matches(['\r', '\n'])
                .to_owned()
        };
        let context_before = if first == 0 {
            String::new()
        } else {
            lines_text(first.saturating_sub(CONTEXT_LINES), first - 1)
        };
        let lines = self.starts.len();
        let context_after = if last + 1 >= lines {
            String::new()
        } else {
            lines_text(last + 1, (last + CONTEXT_LINES).min(lines - 1))
        };
        let mut location = Location {
            path: file.to_owned(),
            start,
            end,
            snippet,
            snippet_column: 0,
            context_before,
            context_after,
        };
        // A minified line becomes a window around the finding here, so that findings in a
        // one-line bundle do not each hold the whole line.
        location.bound();
        location
    }
}

/// Whether a script file's template is of a given language (used by discovery consumers).
pub fn template_lang(lang: TemplateLang) -> template::Dialect {
    match lang {
        TemplateLang::Wxml => template::Dialect::Wxml,
        TemplateLang::Axml => template::Dialect::Axml,
        TemplateLang::Ttml => template::Dialect::Ttml,
        TemplateLang::Swan => template::Dialect::Swan,
        TemplateLang::Qml => template::Dialect::Qml,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pages that all import the same wrapper, which reads a config module.
    fn shared_imports(dir: &Path, pages: usize) {
        let write = |rel: &str, text: &str| {
            let p = dir.join(rel);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, text).expect("write");
        };
        write(
            "utils/config.js",
            "module.exports = { BASE_URL: 'http://api.example.com' }\n",
        );
        write(
            "utils/request.js",
            "const config = require('./config.js')\n\
             module.exports = { get: (p) => wx.request({ url: config.BASE_URL + p }) }\n",
        );
        for i in 0..pages {
            write(
                &format!("pages/p{i}.js"),
                &format!(
                    "const {{ get }} = require('../utils/request.js')\n\
                     Page({{ onLoad() {{ get('/p{i}') }} }})\n"
                ),
            );
        }
    }

    fn scan_with(project: &Project, cache_budget: usize) -> ScanOutput {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .expect("pool");
        pool.install(|| scan_in_pool(project, rules::all(), &|_| {}, cache_budget))
    }

    fn report(out: &ScanOutput) -> (Vec<String>, Vec<String>) {
        let mut f: Vec<String> = out
            .findings
            .iter()
            .map(|f| serde_json::to_string(f).expect("serializes"))
            .collect();
        f.sort();
        let mut w: Vec<String> = out.warnings.iter().map(|w| format!("{w:?}")).collect();
        w.sort();
        (f, w)
    }

    /// A worker that drops its parsed modules after every batch parses and evaluates again
    /// what the next batch needs: more work, the same report.
    #[test]
    fn dropping_the_cache_changes_the_work_not_the_report() {
        let dir = tempfile::tempdir().expect("tempdir");
        shared_imports(dir.path(), 30);
        let project =
            miniguard_project::discover(dir.path(), &miniguard_project::DiscoverOptions::default())
                .expect("discovers");
        let kept = scan_with(&project, js::CACHE_ARENA_BUDGET);
        let dropped = scan_with(&project, 0);
        assert_eq!(report(&kept), report(&dropped));
        assert!(
            kept.findings.iter().any(|f| f.rule == "T001"),
            "{:?}",
            kept.findings
        );
        assert_eq!(kept.work.modules_parsed, 32, "{:?}", kept.work);
        assert!(kept.work.top_levels_from_summaries > 0, "{:?}", kept.work);
        assert!(
            dropped.work.modules_parsed > kept.work.modules_parsed,
            "{:?}",
            dropped.work
        );
        assert_eq!(
            dropped.work.top_levels_from_summaries, 0,
            "{:?}",
            dropped.work
        );
    }
}
