//! Parsing JS/TS modules with oxc and keeping them for the analysis of batches of files.
//!
//! The analyzer works on batches: all modules a batch needs (its entry files and whatever they
//! import) are analysed together ([`ModuleSet`]), so that taint can follow calls across
//! `require`/`import`. Batches run on a few workers; each worker parses a module once into its
//! arena ([`ModuleCache`]) and hands it to every batch it runs that loads it.

pub mod apis;
pub mod authz_spec;
pub mod depth;
pub mod eval;
pub mod guards;
pub mod handlers;
pub mod reach;
pub mod sql_access;
pub mod vue;

use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};

use miniguard_project::{FileKind, Role, ScriptLang};
use oxc_allocator::Allocator;
use oxc_ast::ast::Program;
use oxc_parser::{ParseOptions, Parser};
use oxc_semantic::{Scoping, SemanticBuilder};
use oxc_span::SourceType;
use rustc_hash::FxHashMap;

use crate::ProjectIndex;

/// One parsed module.
pub struct Module<'a> {
    pub path: PathBuf,
    pub rel: Rc<str>,
    pub role: Role,
    pub source: &'a str,
    pub program: &'a Program<'a>,
    pub scoping: Scoping,
    /// Syntax errors: (offset, message).
    pub errors: Vec<(u32, String)>,
}

/// Modules a worker has parsed, kept across the batches it analyses so that a module imported by
/// files of many batches (a shared `utils/request.js`) is read, parsed and resolved once per
/// worker, not once per batch. Everything lives in one arena; the worker starts a new cache when
/// [`ModuleCache::over_budget`] says the arena has grown past [`CACHE_ARENA_BUDGET`].
///
/// Only what parsing gives is shared: the source, the AST, the scopes and the syntax errors.
/// Each batch still evaluates the modules it loads itself ([`ModuleSet`]), so what a batch finds
/// does not depend on which worker ran it or what that worker ran before.
pub struct ModuleCache<'a> {
    alloc: &'a Allocator,
    index: &'a ProjectIndex,
    /// Parsed modules; a module's number here is its number in every batch of the worker.
    modules: RefCell<Vec<Rc<Module<'a>>>>,
    by_path: RefCell<FxHashMap<PathBuf, Option<usize>>>,
    /// What evaluating a module's top level left behind, by module number, when it can stand
    /// for evaluating it again (see [`eval::Summary`]).
    summaries: RefCell<FxHashMap<usize, Rc<eval::Summary<'a>>>>,
    /// Files read and parsed so far.
    parses: Cell<u64>,
}

/// Arena bytes past which a worker drops its parsed modules and starts a new cache. Checked
/// between batches, with the number of modules (at most [`MAX_BATCH_MODULES`]): a worker carries
/// at most this much and that many modules from one batch to the next, on top of what the next
/// batch parses (itself at most [`MAX_BATCH_MODULES`] modules, as when every batch had an arena
/// of its own).
pub const CACHE_ARENA_BUDGET: usize = 64 * 1024 * 1024;

impl<'a> ModuleCache<'a> {
    pub fn new(alloc: &'a Allocator, index: &'a ProjectIndex) -> Self {
        ModuleCache {
            alloc,
            index,
            modules: RefCell::new(Vec::new()),
            by_path: RefCell::new(FxHashMap::default()),
            summaries: RefCell::new(FxHashMap::default()),
            parses: Cell::new(0),
        }
    }

    /// Files read and parsed so far (those that were not modules included).
    pub fn parses(&self) -> u64 {
        self.parses.get()
    }

    /// The summary of module `id`'s top level, if one was kept.
    pub fn summary(&self, id: usize) -> Option<Rc<eval::Summary<'a>>> {
        self.summaries.borrow().get(&id).cloned()
    }

    /// Keep the summary of module `id`'s top level (the first one kept stays).
    pub fn keep_summary(&self, id: usize, summary: eval::Summary<'a>) {
        self.summaries
            .borrow_mut()
            .entry(id)
            .or_insert_with(|| Rc::new(summary));
    }

    /// The number of the module at `path` if it was parsed (`Some(None)`: tried, not a module).
    pub fn parsed(&self, path: &Path) -> Option<Option<usize>> {
        self.by_path.borrow().get(path).copied()
    }

    pub fn index(&self) -> &'a ProjectIndex {
        self.index
    }

    /// Whether the arena holds more than `budget` bytes ([`CACHE_ARENA_BUDGET`] in a scan), or
    /// the cache more modules than one batch may load ([`MAX_BATCH_MODULES`]: each module also
    /// has its scopes outside the arena, some kilobytes even for a small one).
    pub fn over_budget(&self, budget: usize) -> bool {
        self.alloc.capacity() > budget || self.len() > MAX_BATCH_MODULES
    }

    /// Modules parsed so far.
    pub fn len(&self) -> usize {
        self.modules.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.modules.borrow().is_empty()
    }

    /// The module numbered `id`.
    pub fn get(&self, id: usize) -> Option<Rc<Module<'a>>> {
        self.modules.borrow().get(id).cloned()
    }

    /// The number of the module at `path`, parsed on first use. Problems met while parsing it
    /// are pushed to `failures` that first time only (the scan reports each warning once
    /// anyway).
    fn module(&self, path: &Path, failures: &RefCell<Vec<Failure>>) -> Option<usize> {
        if let Some(found) = self.by_path.borrow().get(path) {
            return *found;
        }
        self.parses.set(self.parses.get() + 1);
        let parsed = self.parse(path, failures).map(|m| {
            let mut modules = self.modules.borrow_mut();
            modules.push(Rc::new(m));
            modules.len() - 1
        });
        self.by_path.borrow_mut().insert(path.to_path_buf(), parsed);
        parsed
    }

    fn parse(&self, path: &Path, failures: &RefCell<Vec<Failure>>) -> Option<Module<'a>> {
        let file = self.index.file(path)?;
        let lang = match file.kind {
            FileKind::Script(lang) => lang,
            FileKind::Vue => ScriptLang::Ts,
            _ => return None,
        };
        let text = match read_source(file) {
            Ok((text, exact)) => {
                if !exact {
                    failures
                        .borrow_mut()
                        .push((file.rel.clone(), None, NOT_UTF8.to_owned()));
                }
                text
            }
            Err(e) => {
                failures
                    .borrow_mut()
                    .push((file.rel.clone(), None, format!("cannot read: {e}")));
                return None;
            }
        };
        let source: &'a str = self.alloc.alloc_str(text.trim_start_matches('\u{feff}'));
        // A Vue single-file component: parse its script blocks in place (the rest masked).
        let mut lang = lang;
        let parse_text: &'a str = if file.kind == FileKind::Vue {
            let split = vue::split(source, "script");
            if let Some(at) = split.unclosed {
                failures.borrow_mut().push((
                    file.rel.clone(),
                    Some(crate::template::line_col(source, at as u32)),
                    "<script> block without its end tag; its code was not analysed".to_owned(),
                ));
            }
            let blocks = split.blocks;
            if !blocks.iter().any(|b| vue::is_typescript(&b.attrs)) {
                lang = ScriptLang::Js;
            }
            let keep: Vec<(usize, usize)> = blocks.iter().map(|b| (b.start, b.end)).collect();
            self.alloc.alloc_str(&vue::mask(source, &keep))
        } else {
            source
        };
        // Bound the nesting before oxc recurses over it (see `depth`).
        let opts = depth::Options {
            angles: matches!(lang, ScriptLang::Ts | ScriptLang::Tsx),
            // `.js` is parsed with JSX on (see `source_type` below).
            jsx: matches!(lang, ScriptLang::Js | ScriptLang::Jsx | ScriptLang::Tsx),
        };
        if let Err(deep) = depth::check(parse_text, depth::MAX_SOURCE_NESTING, opts) {
            failures.borrow_mut().push((
                file.rel.clone(),
                Some(crate::template::line_col(parse_text, deep.offset as u32)),
                format!(
                    "code nested deeper than {} levels; the file was not analysed",
                    deep.limit
                ),
            ));
            return None;
        }
        let source_type = match lang {
            ScriptLang::Js => SourceType::unambiguous().with_jsx(true),
            ScriptLang::Jsx => SourceType::jsx().with_unambiguous(true),
            ScriptLang::Ts => SourceType::ts().with_unambiguous(true),
            ScriptLang::Tsx => SourceType::tsx().with_unambiguous(true),
        };
        let ret = Parser::new(self.alloc, parse_text, source_type)
            .with_options(ParseOptions {
                allow_return_outside_function: true,
                ..ParseOptions::default()
            })
            .parse();
        let mut errors: Vec<(u32, String)> = ret
            .diagnostics
            .iter()
            .map(|d| {
                let offset = d.labels.first().map_or(0, oxc_span::LabeledSpan::offset);
                (offset, d.message.to_string())
            })
            .collect();
        if ret.panicked && errors.is_empty() {
            errors.push((0, "the parser could not recover".to_owned()));
        }
        let program: &'a Program<'a> = self.alloc.alloc(ret.program);
        let semantic = SemanticBuilder::new().build(program);
        let scoping = semantic.semantic.into_scoping();
        let module = Module {
            path: file.path.clone(),
            rel: Rc::from(file.rel.as_str()),
            role: file.role,
            source,
            program,
            scoping,
            errors,
        };
        Some(module)
    }
}

/// The modules of one batch: those its files are and import, taken from the worker's
/// [`ModuleCache`] (parsed there on first use) under the cache's numbers. The evaluator's state
/// is per batch, so the cap and the budget below count what the batch loads, whether or not
/// the worker had parsed it before.
pub struct ModuleSet<'a> {
    cache: &'a ModuleCache<'a>,
    pub index: &'a ProjectIndex,
    /// The numbers of the modules this batch loaded, in the order it loaded them.
    loaded: RefCell<Vec<usize>>,
    by_path: RefCell<FxHashMap<PathBuf, Option<usize>>>,
    /// Files not analysed: (rel path, 1-based line and column of the problem if any, message).
    pub failures: RefCell<Vec<Failure>>,
    /// The first import not loaded because the batch reached [`MAX_BATCH_MODULES`].
    pub import_cap_hit: RefCell<Option<String>>,
    /// Imports the whole scan may still load (shared by every batch), if bounded.
    import_budget: Option<&'a AtomicUsize>,
    /// Imports not loaded because that budget ran out.
    pub budget_refused: Cell<usize>,
    /// Imports not loaded for the cap or the budget.
    refused: Cell<usize>,
}

/// A file not analysed (or analysed in part): rel path, 1-based line and column of the problem
/// if known, message.
pub type Failure = (String, Option<(u32, u32)>, String);

/// Modules one batch parses at most. Each batch parses what its files import into its own
/// arena; in a large, densely connected require graph every batch would parse most of the
/// project, so imports past this many modules are treated as unknown (with a warning).
pub const MAX_BATCH_MODULES: usize = 2000;

/// Imports a scan parses at most, over all its batches, per analysed file (plus
/// [`MIN_SCAN_IMPORTS`]). A batch parses what its files import, so in a densely connected require
/// graph every batch parses up to [`MAX_BATCH_MODULES`] modules again; this keeps the total
/// linear in the number of files. Past it, imports are unknown and the files whose analysis
/// wanted them are reported as analysed in part.
pub const IMPORTS_PER_FILE: usize = 32;
/// The import budget of a scan is never below this, so small projects never meet it.
pub const MIN_SCAN_IMPORTS: usize = 4 * MAX_BATCH_MODULES;

/// The import budget of a scan of `files` analysed files.
pub fn scan_import_budget(files: usize) -> usize {
    files.saturating_mul(IMPORTS_PER_FILE).max(MIN_SCAN_IMPORTS)
}

impl<'a> ModuleSet<'a> {
    /// An empty batch taking its modules from `cache`.
    pub fn new(cache: &'a ModuleCache<'a>) -> Self {
        ModuleSet {
            cache,
            index: cache.index,
            loaded: RefCell::new(Vec::new()),
            by_path: RefCell::new(FxHashMap::default()),
            failures: RefCell::new(Vec::new()),
            import_cap_hit: RefCell::new(None),
            import_budget: None,
            budget_refused: Cell::new(0),
            refused: Cell::new(0),
        }
    }

    /// Takes the imports this set parses from `budget`, shared with the other batches of the
    /// scan (see [`scan_import_budget`]).
    #[must_use]
    pub fn with_import_budget(mut self, budget: &'a AtomicUsize) -> Self {
        self.import_budget = Some(budget);
        self
    }

    /// The module numbered `id` (a number [`ModuleSet::load`] returned).
    pub fn get(&self, id: usize) -> Option<Rc<Module<'a>>> {
        self.cache.get(id)
    }

    /// The worker's cache the modules come from.
    pub fn cache(&self) -> &'a ModuleCache<'a> {
        self.cache
    }

    /// How many modules this batch loaded.
    pub fn len(&self) -> usize {
        self.loaded.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.loaded.borrow().is_empty()
    }

    /// The numbers of the modules this batch loaded, in the order it loaded them.
    pub fn loaded(&self) -> Vec<usize> {
        self.loaded.borrow().clone()
    }

    /// Whether this batch loaded (or tried to load) `path`.
    pub fn has(&self, path: &Path) -> bool {
        self.by_path.borrow().contains_key(path)
    }

    /// Whether this batch loaded module `id`.
    pub fn has_module(&self, id: usize) -> bool {
        self.loaded.borrow().contains(&id)
    }

    /// How many imports this batch refused so far (for the cap or the budget).
    pub fn refusals(&self) -> usize {
        self.refused.get()
    }

    /// Takes `n` imports from the scan's budget at once, if it has them (for a summary's
    /// imports, loaded with [`ModuleSet::load_reserved`] next), and whether the batch's cap
    /// leaves room for them.
    pub fn reserve(&self, n: usize) -> bool {
        if self.len() + n > MAX_BATCH_MODULES {
            return false;
        }
        match self.import_budget {
            Some(budget) => budget
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                    left.checked_sub(n)
                })
                .is_ok(),
            None => true,
        }
    }

    /// [`ModuleSet::load`] of an import whose share of the budget [`ModuleSet::reserve`] took.
    pub fn load_reserved(&self, path: &Path) -> Option<usize> {
        self.load_entry(path)
    }

    pub fn allocator(&self) -> &'a Allocator {
        self.cache.alloc
    }

    /// Load the module at `path` into this batch (parsed once per worker, see [`ModuleCache`]),
    /// which must be a script file of the project.
    /// Imports past [`MAX_BATCH_MODULES`] modules in this batch are not loaded (see
    /// [`ModuleSet::load_entry`] for the batch's own files).
    pub fn load(&self, path: &Path) -> Option<usize> {
        if let Some(found) = self.by_path.borrow().get(path) {
            return *found;
        }
        if self.len() >= MAX_BATCH_MODULES {
            let mut first = self.import_cap_hit.borrow_mut();
            if first.is_none()
                && let Some(f) = self.index.file(path)
            {
                *first = Some(f.rel.clone());
            }
            self.refused.set(self.refused.get() + 1);
            return None;
        }
        if let Some(budget) = self.import_budget
            && budget
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_err()
        {
            self.budget_refused.set(self.budget_refused.get() + 1);
            self.refused.set(self.refused.get() + 1);
            return None;
        }
        self.load_entry(path)
    }

    /// [`ModuleSet::load`] without the module cap, for the files a batch analyses.
    pub fn load_entry(&self, path: &Path) -> Option<usize> {
        if let Some(found) = self.by_path.borrow().get(path) {
            return *found;
        }
        let loaded = self.cache.module(path, &self.failures);
        if let Some(id) = loaded {
            self.loaded.borrow_mut().push(id);
        }
        self.by_path.borrow_mut().insert(path.to_path_buf(), loaded);
        loaded
    }
}

/// The warning for a source that is not UTF-8 (GBK templates are common in older projects).
pub const NOT_UTF8: &str =
    "not valid UTF-8; analysed with the invalid bytes replaced (columns after them may be off)";

/// Reads a discovered source file: a regular file only, at most its discovered size plus
/// some slack (a file that grew during the scan is cut off, not read without end). Returns the
/// text and whether it was valid UTF-8 (if not, invalid bytes are replaced).
pub fn read_source(
    file: &miniguard_project::SourceFile,
) -> Result<(String, bool), miniguard_project::read::ReadError> {
    let limit = file.size.saturating_add(1024 * 1024);
    let bytes = miniguard_project::read::read_bytes(&file.path, limit)?;
    Ok(match String::from_utf8(bytes) {
        Ok(t) => (t, true),
        Err(e) => (String::from_utf8_lossy(e.as_bytes()).into_owned(), false),
    })
}

/// Resolve a module specifier written in `from` to a project file.
///
/// Relative (`./x`, `../x`) and mini-program absolute (`/utils/x`, resolved from the
/// mini-program root) specifiers are tried with the usual extensions and `index` files.
pub fn resolve(index: &ProjectIndex, from: &Path, spec: &str) -> Option<PathBuf> {
    let base: PathBuf =
        if spec.starts_with("./") || spec.starts_with("../") || spec == "." || spec == ".." {
            from.parent()?.join(spec)
        } else if let Some(rest) = spec.strip_prefix('/') {
            let root = index.miniprogram_root_of(from)?;
            root.join(rest)
        } else if let Some(rest) = spec.strip_prefix("@/") {
            // The `@/` alias of uni-app and Vue CLI projects points at `src/`.
            let mut dir = from.parent();
            while let Some(d) = dir {
                if d.file_name().is_some_and(|n| n == "src") {
                    break;
                }
                dir = d.parent();
            }
            dir?.join(rest)
        } else {
            return None;
        };
    resolve_base(index, &base)
}

/// The project script at `base` with the usual extensions or as a folder's `index` file.
pub fn resolve_base(index: &ProjectIndex, base: &Path) -> Option<PathBuf> {
    let base = normalize(base);
    let candidates = [
        base.clone(),
        with_ext(&base, "js"),
        with_ext(&base, "ts"),
        with_ext(&base, "mjs"),
        with_ext(&base, "cjs"),
        with_ext(&base, "jsx"),
        with_ext(&base, "tsx"),
        base.join("index.js"),
        base.join("index.ts"),
    ];
    candidates.into_iter().find(|c| {
        index
            .file(c)
            .is_some_and(|f| matches!(f.kind, FileKind::Script(_) | FileKind::Vue))
    })
}

fn with_ext(base: &Path, ext: &str) -> PathBuf {
    let mut s = base.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

/// Remove `.` and `..` components without touching the file system.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}
