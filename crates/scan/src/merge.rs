//! One flaw, one finding.
//!
//! Rules report every place they see; a reviewer wants each flaw once, at the place to fix, with
//! the other places beside it. Three kinds of repeats are merged here, in the pipeline, after
//! every file was analysed:
//!
//! 1. **The same place reached again**: a constant or helper reached from several sinks is
//!    reported where the rule located it (the literal, where the string was built); each further
//!    sink that reaches it becomes a related location of that one finding.
//! 2. **One flaw in several places**: findings of one rule that share a group key (the same
//!    plain-HTTP host, the same secret value, the same setting in a generated
//!    `project.config.json` and the uni-app `manifest.json` it is made from) are one finding at
//!    the place to fix (the one the rule marked primary, else the first in path order).
//! 3. **One place, several rules**: where a more specific rule and a general one flag the same
//!    code of a file, their spans meeting (the `session_key` stored on the phone is A002 and
//!    S001), the specific rule's finding stays and the general one becomes its related location
//!    ([`SUBSUMES`]). Spans, not lines: in a minified file every flaw is on the same line.
//!
//! Related locations are bounded ([`MAX_RELATED`]); a finding never lists itself.

use miniguard_report::{Finding, Related, msg};

/// Related locations kept per finding.
pub const MAX_RELATED: usize = 64;

/// (specific rule, general rules it makes redundant at the same place).
pub const SUBSUMES: &[(&str, &[&str])] = &[
    // The session_key on the client: storing, logging, copying or sending it is the same flaw.
    ("A002", &["S001", "S002", "S003", "T004"]),
    // The session_key returned by a cloud function or server.
    ("A004", &["S002", "T004"]),
    // A user id taken from the event selects the records: the ownership finding of the same
    // call is the same flaw.
    ("A003", &["A007"]),
    // A recognised secret is also a hard-coded credential.
    ("K001", &["K004", "S004"]),
    ("K002", &["K004", "S004"]),
    ("K003", &["K004", "S004"]),
    // A hard-coded credential sent in a URL.
    ("K004", &["T004"]),
];

/// A located finding on its way through the pipeline, with what merging needs to know.
#[derive(Debug)]
pub struct Placed {
    pub finding: Finding,
    /// See [`crate::events::RawFinding::group`].
    pub group: Option<String>,
    pub primary: bool,
    /// See [`crate::events::RawFinding::scope`].
    pub scope: String,
}

/// Whether `path` lies in the folder `scope` (every path lies in the empty scope).
fn in_scope(scope: &str, path: &str) -> bool {
    scope.is_empty()
        || path
            .strip_prefix(scope)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Add `related` to `finding`, unless it is the finding's own place or already listed.
pub fn add_related(finding: &mut Finding, related: Related) {
    let same = |a: &miniguard_report::Location, b: &miniguard_report::Location| {
        a.path == b.path && a.start == b.start && a.end == b.end
    };
    if finding.related.len() >= MAX_RELATED
        || same(&finding.location, &related.location)
        || finding
            .related
            .iter()
            .any(|r| same(&r.location, &related.location))
    {
        return;
    }
    finding.related.push(related);
}

/// What a repeat of `finding` at its own place adds: the sink that reached it this time.
fn sink_of(repeat: &Finding) -> Option<Related> {
    let step = repeat.trace.last()?;
    let note = if step.note == "sink" {
        msg!("merge.also-sink")
    } else {
        msg!("merge.also", note = &step.note)
    };
    Some(Related {
        location: step.location.clone(),
        note: note.into(),
    })
}

/// Fold `repeat` (another report of the same rule at the same place) into `kept`. The more
/// severe of the two speaks for the place (one storage call reached with a phone number and
/// with a password is reported for the password).
pub fn fold_repeat(kept: &mut Finding, mut repeat: Finding) {
    if repeat.severity > kept.severity && repeat.location == kept.location {
        let related = std::mem::take(&mut kept.related);
        std::mem::swap(kept, &mut repeat);
        kept.related = related;
    }
    // A place that code which runs reaches is as likely as that report says, whatever the
    // others (through a handler nothing binds) say.
    if kept.confidence_reason.is_some() && repeat.confidence_reason.is_none() {
        kept.confidence = repeat.confidence;
        kept.confidence_reason = None;
    }
    if let Some(sink) = sink_of(&repeat)
        && kept
            .trace
            .last()
            .is_none_or(|s| s.location != sink.location)
    {
        add_related(kept, sink);
    }
    for r in repeat.related {
        add_related(kept, r);
    }
}

/// Merge repeats at one place (same rule, path, start and end): kinds 1 of the module docs.
pub fn same_place(found: Vec<Placed>) -> Vec<Placed> {
    let mut out: Vec<Placed> = Vec::with_capacity(found.len());
    let mut index = rustc_hash::FxHashMap::default();
    for p in found {
        let l = &p.finding.location;
        let key = (p.finding.rule.clone(), l.path.clone(), l.start, l.end);
        if let Some(&i) = index.get(&key) {
            let kept: &mut Placed = &mut out[i];
            kept.primary |= p.primary;
            if kept.group.is_none() {
                kept.group = p.group;
            }
            fold_repeat(&mut kept.finding, p.finding);
        } else {
            index.insert(key, out.len());
            out.push(p);
        }
    }
    out
}

/// The most lines of one finding that kind 3 compares (a span longer than this is compared by
/// its first lines).
const SPAN_LINES: u32 = 256;

/// Whether two places of one file share code: their spans, from start to end position, meet.
/// Lines alone are not enough: a minified file is one line, and every flaw in it would be on
/// the same lines as every other.
fn overlaps(a: &miniguard_report::Location, b: &miniguard_report::Location) -> bool {
    let (a_end, b_end) = (a.end.max(a.start), b.end.max(b.start));
    a.start <= b_end && b.start <= a_end
}

/// The members of one (rule, group): scope, primary, index in the output.
type GroupMembers = Vec<(String, bool, usize)>;

/// Merge findings of one rule and group (kind 2) and findings a more specific rule made
/// redundant (kind 3). The result is in path order.
pub fn one_per_flaw(found: Vec<Placed>) -> Vec<Finding> {
    let mut found = same_place(found);
    // Primary first, then path order: the first of a group is the place to fix.
    found.sort_by(|a, b| {
        (
            !a.primary,
            &a.finding.location.path,
            a.finding.location.start,
            &a.finding.rule,
        )
            .cmp(&(
                !b.primary,
                &b.finding.location.path,
                b.finding.location.start,
                &b.finding.rule,
            ))
    });
    let mut out: Vec<Finding> = Vec::with_capacity(found.len());
    // (rule, group) -> (scope, primary, index in `out`): a hash lookup per finding, so a file
    // with tens of thousands of distinct groups (one per host, say) stays linear.
    let mut groups: rustc_hash::FxHashMap<(String, String), GroupMembers> =
        rustc_hash::FxHashMap::default();
    for p in found {
        let Some(group) = p.group else {
            out.push(p.finding);
            continue;
        };
        let key = (p.finding.rule.clone(), group);
        let joined = groups.get(&key).and_then(|members| {
            members.iter().find(|(scope, primary, _)| {
                if *primary {
                    in_scope(scope, &p.finding.location.path)
                } else {
                    *scope == p.scope
                }
            })
        });
        if let Some(i) = joined.map(|g| g.2) {
            let kept: &mut Finding = &mut out[i];
            let repeat = p.finding;
            add_related(
                kept,
                Related {
                    location: repeat.location.clone(),
                    note: msg!("merge.same-flaw", message = &repeat.message).into(),
                },
            );
            fold_repeat(kept, repeat);
        } else {
            groups
                .entry(key)
                .or_default()
                .push((p.scope, p.primary, out.len()));
            out.push(p.finding);
        }
    }

    // Kind 3: a general finding whose span meets one a specific rule flagged in the same file.
    // Specific findings are indexed by (path, line), each over at most [`SPAN_LINES`] lines, so
    // the lookup is linear in the findings however many share a file (up to the findings of
    // one line, which are compared by span).
    let lines_of = |l: &miniguard_report::Location| {
        let first = l.start.line;
        let last = l.end.line.max(first);
        first..=last.min(first.saturating_add(SPAN_LINES - 1))
    };
    // A specific finding stands at its own place and at the places of the repeats merged into
    // it above (one identity read, used by several queries): each of them subsumes there.
    let mut specific_by_line: rustc_hash::FxHashMap<
        (&str, u32),
        Vec<(usize, &miniguard_report::Location)>,
    > = rustc_hash::FxHashMap::default();
    for (i, f) in out.iter().enumerate() {
        if SUBSUMES.iter().any(|(s, _)| *s == f.rule) {
            let places = std::iter::once(&f.location).chain(f.related.iter().map(|r| &r.location));
            for place in places {
                for line in lines_of(place) {
                    specific_by_line
                        .entry((place.path.as_str(), line))
                        .or_default()
                        .push((i, place));
                }
            }
        }
    }
    let mut redundant = vec![None; out.len()];
    if !specific_by_line.is_empty() {
        for (g, general) in out.iter().enumerate() {
            let path = general.location.path.as_str();
            // The first (lowest) specific finding on any of its lines, as before.
            redundant[g] = lines_of(&general.location)
                .filter_map(|line| specific_by_line.get(&(path, line)))
                .flat_map(|c| c.iter())
                .filter(|(s, place)| {
                    let specific = &out[*s];
                    overlaps(place, &general.location)
                        && SUBSUMES.iter().any(|(code, generals)| {
                            *code == specific.rule && generals.contains(&general.rule.as_str())
                        })
                })
                .map(|(s, _)| *s)
                .min();
        }
    }
    let mut moved = Vec::new();
    let mut kept = Vec::with_capacity(out.len());
    for (i, f) in out.into_iter().enumerate() {
        match redundant[i] {
            Some(s) => moved.push((s, f)),
            None => kept.push((i, f)),
        }
    }
    for (s, general) in moved {
        // `kept` is in index order (the `usize::MAX` entries pushed below come last).
        let at = kept.binary_search_by_key(&s, |(i, _)| *i).ok();
        if let Some((_, specific)) = at.and_then(|k| kept.get_mut(k)) {
            // Often the very same place: the note says what the other rule saw there.
            if specific.related.len() < MAX_RELATED {
                specific.related.push(Related {
                    location: general.location,
                    note: msg!(
                        "merge.also-rule",
                        rule = &general.rule,
                        name = &general.name,
                        message = &general.message
                    )
                    .into(),
                });
            }
        } else {
            // The specific finding was itself made redundant; keep this one.
            kept.push((usize::MAX, general));
        }
    }
    let mut out: Vec<Finding> = kept.into_iter().map(|(_, f)| f).collect();
    out.sort_by(|a, b| {
        (&a.location.path, a.location.start, &a.rule).cmp(&(
            &b.location.path,
            b.location.start,
            &b.rule,
        ))
    });
    out
}
