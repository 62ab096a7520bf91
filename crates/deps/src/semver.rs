//! npm semver: versions, ranges and `satisfies`, with npm's prerelease rules.
//!
//! Advisories for npm packages are written in npm's range dialect (`<=1.5.1`, `>=1.7.1 <=1.8.3`,
//! `^0.2.3 || 1.x`) and npm resolves lockfile versions with the same rules, so a finding is only
//! right when this module agrees with node-semver. The semantics follow node-semver 7 in its
//! `loose` mode (a leading `v` or `=`, a prerelease without its `-` as in `1.2.3beta`), because
//! lockfiles and old advisories both contain such spellings; the tests are node-semver's own
//! fixtures.
//!
//! The prerelease rule is npm's: a prerelease version (`1.2.3-beta`) satisfies a comparator set
//! only when one of the set's comparators names a prerelease of the same `major.minor.patch`
//! (`>=1.2.3-alpha`). `*` does not include `2.0.0-rc.1`. [`Options::include_prerelease`] turns the
//! rule off, as node-semver's `includePrerelease` does; it is off by default.
//!
//! Parsing never panics: every malformed input is a [`SemverError`]. Inputs are capped in length
//! ([`MAX_VERSION_LEN`], [`MAX_RANGE_LEN`]) because they come from files we do not control.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// Longest version string accepted (node-semver's `MAX_LENGTH`).
pub const MAX_VERSION_LEN: usize = 256;
/// node-semver rejects numbers above `Number.MAX_SAFE_INTEGER`.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;
/// Longest range string accepted; real ranges are far shorter, the cap bounds the work per input.
pub const MAX_RANGE_LEN: usize = 4096;

/// Why a version or range did not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SemverError {
    #[error("empty version")]
    Empty,
    #[error("input longer than {max} characters")]
    TooLong { max: usize },
    #[error("invalid version {input:?}: {reason}")]
    InvalidVersion { input: String, reason: &'static str },
    #[error("invalid range {input:?}: {reason}")]
    InvalidRange { input: String, reason: &'static str },
    #[error("number too large in {input:?}")]
    NumberTooLarge { input: String },
}

/// One dot-separated prerelease identifier. Numeric identifiers sort numerically and before
/// alphanumeric ones (semver 2.0 §11).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Identifier {
    Numeric(u64),
    AlphaNumeric(String),
}

impl Ord for Identifier {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Identifier::Numeric(a), Identifier::Numeric(b)) => a.cmp(b),
            (Identifier::Numeric(_), Identifier::AlphaNumeric(_)) => Ordering::Less,
            (Identifier::AlphaNumeric(_), Identifier::Numeric(_)) => Ordering::Greater,
            (Identifier::AlphaNumeric(a), Identifier::AlphaNumeric(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for Identifier {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Identifier::Numeric(n) => write!(f, "{n}"),
            Identifier::AlphaNumeric(s) => f.write_str(s),
        }
    }
}

/// A version: `major.minor.patch` with optional prerelease identifiers. Build metadata
/// (`+build.5`) is accepted and dropped, because semver gives it no precedence: `1.0.0+a` and
/// `1.0.0+b` are the same version for every question this crate asks.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    /// Empty for a release.
    pub pre: Vec<Identifier>,
}

impl Version {
    /// A release version without prerelease identifiers.
    pub const fn new(major: u64, minor: u64, patch: u64) -> Self {
        Version {
            major,
            minor,
            patch,
            pre: Vec::new(),
        }
    }

    /// Parses a version loosely: surrounding whitespace, a leading `v` or `=`, and a prerelease
    /// without its hyphen (`1.2.3beta`) are accepted, as npm accepts them in lockfiles.
    pub fn parse(input: &str) -> Result<Self, SemverError> {
        if input.len() > MAX_VERSION_LEN {
            return Err(SemverError::TooLong {
                max: MAX_VERSION_LEN,
            });
        }
        let trimmed = input.trim().trim_start_matches(['v', '=', ' ', '\t']);
        if trimmed.is_empty() {
            return Err(SemverError::Empty);
        }
        let partial = parse_partial(trimmed).map_err(|reason| match reason {
            PartialError::TooLarge => SemverError::NumberTooLarge {
                input: input.to_owned(),
            },
            PartialError::Invalid(reason) => SemverError::InvalidVersion {
                input: input.to_owned(),
                reason,
            },
        })?;
        match (partial.major, partial.minor, partial.patch) {
            (Part::Num(major), Part::Num(minor), Part::Num(patch)) => Ok(Version {
                major,
                minor,
                patch,
                pre: partial.pre,
            }),
            _ => Err(SemverError::InvalidVersion {
                input: input.to_owned(),
                reason: "expected major.minor.patch",
            }),
        }
    }

    pub fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }

    /// The same `major.minor.patch` (the tuple npm's prerelease rule compares).
    fn same_tuple(&self, other: &Version) -> bool {
        self.major == other.major && self.minor == other.minor && self.patch == other.patch
    }

    /// `M.m.p-0`: the smallest version of a tuple, used as an exclusive upper bound so that no
    /// prerelease of the next tuple slips in.
    fn with_zero_pre(major: u64, minor: u64, patch: u64) -> Self {
        Version {
            major,
            minor,
            patch,
            pre: vec![Identifier::Numeric(0)],
        }
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.major
            .cmp(&other.major)
            .then(self.minor.cmp(&other.minor))
            .then(self.patch.cmp(&other.patch))
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                // A release sorts after all of its prereleases.
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                // Lexicographic over identifiers; a longer list wins a common prefix.
                (false, false) => self.pre.cmp(&other.pre),
            })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        for (i, id) in self.pre.iter().enumerate() {
            f.write_str(if i == 0 { "-" } else { "." })?;
            write!(f, "{id}")?;
        }
        Ok(())
    }
}

impl FromStr for Version {
    type Err = SemverError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Version::parse(s)
    }
}

/// A comparison operator of a primitive comparator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "=",
        }
    }
}

/// A primitive comparator (`>=1.2.3`). Tilde, caret, x- and hyphen ranges desugar into these.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Comparator {
    pub op: Op,
    pub version: Version,
}

impl Comparator {
    /// Whether `v` passes this comparator by plain precedence (no prerelease rule).
    pub fn matches(&self, v: &Version) -> bool {
        let ord = v.cmp(&self.version);
        match self.op {
            Op::Lt => ord == Ordering::Less,
            Op::Le => ord != Ordering::Greater,
            Op::Gt => ord == Ordering::Greater,
            Op::Ge => ord != Ordering::Less,
            Op::Eq => ord == Ordering::Equal,
        }
    }
}

impl fmt::Display for Comparator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.op.as_str(), self.version)
    }
}

/// Parsing and matching options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Let prerelease versions satisfy ranges without a prerelease on the same tuple
    /// (node-semver's `includePrerelease`). Off by default, as in npm.
    pub include_prerelease: bool,
}

/// A range: comparator sets joined by `||`; a version satisfies the range when it satisfies
/// every comparator of at least one set. An empty set matches every version (`*`, `""`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Range {
    sets: Vec<Vec<Comparator>>,
    options: Options,
}

impl Range {
    /// Parses an npm range with default options.
    pub fn parse(input: &str) -> Result<Self, SemverError> {
        Self::parse_with(input, Options::default())
    }

    /// Parses an npm range: `||`, hyphen ranges, x-ranges, `~`, `^`, primitive comparators and
    /// whitespace-separated AND.
    pub fn parse_with(input: &str, options: Options) -> Result<Self, SemverError> {
        if input.len() > MAX_RANGE_LEN {
            return Err(SemverError::TooLong { max: MAX_RANGE_LEN });
        }
        let err = |reason| SemverError::InvalidRange {
            input: input.to_owned(),
            reason,
        };
        let mut sets = Vec::new();
        for part in input.split("||") {
            let set = parse_set(part.trim(), options).map_err(|e| match e {
                PartialError::TooLarge => SemverError::NumberTooLarge {
                    input: input.to_owned(),
                },
                PartialError::Invalid(reason) => err(reason),
            })?;
            sets.push(set);
        }
        Ok(Range { sets, options })
    }

    /// The comparator sets (OR of ANDs) after desugaring; an empty set matches everything.
    pub fn sets(&self) -> &[Vec<Comparator>] {
        &self.sets
    }

    /// Whether `v` satisfies the range, with npm's prerelease rule unless the range was parsed
    /// with [`Options::include_prerelease`].
    pub fn satisfies(&self, v: &Version) -> bool {
        self.sets
            .iter()
            .any(|set| set_satisfies(set, v, self.options))
    }
}

impl FromStr for Range {
    type Err = SemverError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Range::parse(s)
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, set) in self.sets.iter().enumerate() {
            if i > 0 {
                f.write_str(" || ")?;
            }
            if set.is_empty() {
                f.write_str("*")?;
            }
            for (j, c) in set.iter().enumerate() {
                if j > 0 {
                    f.write_str(" ")?;
                }
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// node-semver's `satisfies(version, range)`: `false` when either does not parse.
pub fn satisfies(version: &str, range: &str) -> bool {
    match (Version::parse(version), Range::parse(range)) {
        (Ok(v), Ok(r)) => r.satisfies(&v),
        _ => false,
    }
}

fn set_satisfies(set: &[Comparator], v: &Version, options: Options) -> bool {
    if !set.iter().all(|c| c.matches(v)) {
        return false;
    }
    if v.is_prerelease() && !options.include_prerelease {
        // npm: a prerelease is only in range when the range opts into prereleases of its tuple.
        return set
            .iter()
            .any(|c| c.version.is_prerelease() && c.version.same_tuple(v));
    }
    true
}

// ---------------------------------------------------------------------------------------------
// Parsing internals

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    Num(u64),
    /// `x`, `X`, `*` or missing.
    Any,
}

#[derive(Debug)]
struct Partial {
    major: Part,
    minor: Part,
    patch: Part,
    pre: Vec<Identifier>,
}

#[derive(Debug)]
enum PartialError {
    Invalid(&'static str),
    TooLarge,
}

/// Parses `M[.m[.p[-pre][+build]]]` where each of M, m, p may be `x`, `X` or `*` (loose:
/// the `-` before a prerelease may be missing). The leading `v`/`=` is stripped by the caller.
fn parse_partial(s: &str) -> Result<Partial, PartialError> {
    let bytes = s.as_bytes();
    let mut pos = 0;
    let mut parts = [Part::Any; 3];
    let mut count = 0;
    while count < 3 {
        let start = pos;
        if pos < bytes.len() && matches!(bytes[pos], b'x' | b'X' | b'*') {
            pos += 1;
            parts[count] = Part::Any;
        } else {
            while pos < bytes.len() && bytes[pos].is_ascii_digit() {
                pos += 1;
            }
            if pos == start {
                return Err(PartialError::Invalid("expected a number or x"));
            }
            let n = s[start..pos]
                .parse::<u64>()
                .map_err(|_| PartialError::TooLarge)?;
            if n > MAX_SAFE_INTEGER {
                return Err(PartialError::TooLarge);
            }
            parts[count] = Part::Num(n);
        }
        count += 1;
        if count < 3 && pos < bytes.len() && bytes[pos] == b'.' {
            pos += 1;
        } else {
            break;
        }
    }
    let mut pre = Vec::new();
    let rest = &s[pos..];
    let (pre_str, build) = match rest.find('+') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    if !pre_str.is_empty() {
        if count < 3 {
            return Err(PartialError::Invalid("prerelease on a partial version"));
        }
        let body = pre_str.strip_prefix('-').unwrap_or(pre_str);
        // Loose mode only lets a prerelease lose its hyphen when it starts with a letter, so
        // `1.2.34` is never read as `1.2.3-4`.
        if !pre_str.starts_with('-') && !body.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return Err(PartialError::Invalid("unexpected character after version"));
        }
        for id in body.split('.') {
            pre.push(parse_identifier(id)?);
        }
    }
    if let Some(build) = build
        && build
            .split('.')
            .any(|id| id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    {
        return Err(PartialError::Invalid("invalid build metadata"));
    }
    Ok(Partial {
        major: parts[0],
        minor: parts[1],
        patch: parts[2],
        pre,
    })
}

fn parse_identifier(id: &str) -> Result<Identifier, PartialError> {
    if id.is_empty() {
        return Err(PartialError::Invalid("empty prerelease identifier"));
    }
    if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(PartialError::Invalid("invalid prerelease identifier"));
    }
    if id.bytes().all(|b| b.is_ascii_digit()) {
        // Loose mode accepts leading zeros; a number too large to be one stays a string, as in
        // node-semver.
        return Ok(match id.parse::<u64>() {
            Ok(n) if n <= MAX_SAFE_INTEGER => Identifier::Numeric(n),
            _ => Identifier::AlphaNumeric(id.to_owned()),
        });
    }
    Ok(Identifier::AlphaNumeric(id.to_owned()))
}

/// Splits one `||` part into tokens, gluing an operator written apart from its version
/// (`>= 1.0.0`, `~ 1.0`) back onto it.
fn tokens(part: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut pending = String::new();
    for raw in part.split_whitespace() {
        if raw
            .bytes()
            .all(|b| matches!(b, b'<' | b'>' | b'=' | b'~' | b'^'))
        {
            pending.push_str(raw);
            continue;
        }
        let mut t = std::mem::take(&mut pending);
        t.push_str(raw);
        out.push(t);
    }
    if !pending.is_empty() {
        out.push(pending);
    }
    out
}

fn parse_set(part: &str, options: Options) -> Result<Vec<Comparator>, PartialError> {
    let toks = tokens(part);
    if let [from, dash, to] = toks.as_slice()
        && dash == "-"
    {
        return hyphen(from, to, options);
    }
    let mut set = Vec::new();
    for tok in &toks {
        expand(tok, options, &mut set)?;
    }
    Ok(set)
}

fn strip_loose(s: &str) -> &str {
    s.trim_start_matches(['v', '='])
}

fn partial_of(s: &str) -> Result<Partial, PartialError> {
    let s = strip_loose(s);
    if s.is_empty() {
        // A bare operator (`>=`) reads as `>=*` in node-semver's grammar.
        return Ok(Partial {
            major: Part::Any,
            minor: Part::Any,
            patch: Part::Any,
            pre: Vec::new(),
        });
    }
    parse_partial(s)
}

fn inc(n: u64) -> Result<u64, PartialError> {
    n.checked_add(1).ok_or(PartialError::TooLarge)
}

fn cmp(op: Op, version: Version) -> Comparator {
    Comparator { op, version }
}

/// `M.m.p` with optional `-0` (the include-prerelease lower bound).
fn lower(major: u64, minor: u64, patch: u64, options: Options) -> Version {
    if options.include_prerelease {
        Version::with_zero_pre(major, minor, patch)
    } else {
        Version::new(major, minor, patch)
    }
}

/// Hyphen range `A - B`: inclusive on both ends; a partial end means "up to the next tuple".
#[allow(
    clippy::many_single_char_names,
    reason = "m/n/p for major/minor/patch of two endpoints mirror node-semver's desugaring table"
)]
fn hyphen(from: &str, to: &str, options: Options) -> Result<Vec<Comparator>, PartialError> {
    let f = partial_of(from)?;
    let t = partial_of(to)?;
    let mut set = Vec::new();
    match (f.major, f.minor, f.patch) {
        (Part::Any, _, _) => {}
        (Part::Num(m), Part::Any, _) => set.push(cmp(Op::Ge, lower(m, 0, 0, options))),
        (Part::Num(m), Part::Num(n), Part::Any) => set.push(cmp(Op::Ge, lower(m, n, 0, options))),
        (Part::Num(m), Part::Num(n), Part::Num(p)) => {
            let v = if f.pre.is_empty() {
                lower(m, n, p, options)
            } else {
                Version {
                    major: m,
                    minor: n,
                    patch: p,
                    pre: f.pre,
                }
            };
            set.push(cmp(Op::Ge, v));
        }
    }
    match (t.major, t.minor, t.patch) {
        (Part::Any, _, _) => {}
        (Part::Num(m), Part::Any, _) => {
            set.push(cmp(Op::Lt, Version::with_zero_pre(inc(m)?, 0, 0)));
        }
        (Part::Num(m), Part::Num(n), Part::Any) => {
            set.push(cmp(Op::Lt, Version::with_zero_pre(m, inc(n)?, 0)));
        }
        (Part::Num(m), Part::Num(n), Part::Num(p)) => {
            if !t.pre.is_empty() {
                let v = Version {
                    major: m,
                    minor: n,
                    patch: p,
                    pre: t.pre,
                };
                set.push(cmp(Op::Le, v));
            } else if options.include_prerelease {
                set.push(cmp(Op::Lt, Version::with_zero_pre(m, n, inc(p)?)));
            } else {
                set.push(cmp(Op::Le, Version::new(m, n, p)));
            }
        }
    }
    Ok(set)
}

/// Desugars one token (`~1.2`, `^0.2.3`, `>=1.x`, `1.2.3`) into primitive comparators.
fn expand(tok: &str, options: Options, out: &mut Vec<Comparator>) -> Result<(), PartialError> {
    if let Some(rest) = tok.strip_prefix("~>").or_else(|| tok.strip_prefix('~')) {
        return tilde(partial_of(rest)?, out);
    }
    if let Some(rest) = tok.strip_prefix('^') {
        return caret(partial_of(rest)?, options, out);
    }
    let (op, rest) = if let Some(r) = tok.strip_prefix(">=") {
        (Some(Op::Ge), r)
    } else if let Some(r) = tok.strip_prefix("<=") {
        (Some(Op::Le), r)
    } else if let Some(r) = tok.strip_prefix('>') {
        (Some(Op::Gt), r)
    } else if let Some(r) = tok.strip_prefix('<') {
        (Some(Op::Lt), r)
    } else if let Some(r) = tok.strip_prefix('=') {
        (Some(Op::Eq), r)
    } else {
        (None, tok)
    };
    if rest.starts_with(['<', '>', '~', '^']) {
        return Err(PartialError::Invalid("doubled operator"));
    }
    x_range(op, partial_of(rest)?, options, out)
}

fn tilde(p: Partial, out: &mut Vec<Comparator>) -> Result<(), PartialError> {
    match (p.major, p.minor, p.patch) {
        (Part::Any, _, _) => {}
        (Part::Num(m), Part::Any, _) => {
            out.push(cmp(Op::Ge, Version::new(m, 0, 0)));
            out.push(cmp(Op::Lt, Version::with_zero_pre(inc(m)?, 0, 0)));
        }
        (Part::Num(m), Part::Num(n), Part::Any) => {
            out.push(cmp(Op::Ge, Version::new(m, n, 0)));
            out.push(cmp(Op::Lt, Version::with_zero_pre(m, inc(n)?, 0)));
        }
        (Part::Num(m), Part::Num(n), Part::Num(patch)) => {
            out.push(cmp(
                Op::Ge,
                Version {
                    major: m,
                    minor: n,
                    patch,
                    pre: p.pre,
                },
            ));
            out.push(cmp(Op::Lt, Version::with_zero_pre(m, inc(n)?, 0)));
        }
    }
    Ok(())
}

fn caret(p: Partial, options: Options, out: &mut Vec<Comparator>) -> Result<(), PartialError> {
    match (p.major, p.minor, p.patch) {
        (Part::Any, _, _) => {}
        (Part::Num(m), Part::Any, _) => {
            out.push(cmp(Op::Ge, lower(m, 0, 0, options)));
            out.push(cmp(Op::Lt, Version::with_zero_pre(inc(m)?, 0, 0)));
        }
        (Part::Num(m), Part::Num(n), Part::Any) => {
            out.push(cmp(Op::Ge, lower(m, n, 0, options)));
            let upper = if m == 0 {
                Version::with_zero_pre(0, inc(n)?, 0)
            } else {
                Version::with_zero_pre(inc(m)?, 0, 0)
            };
            out.push(cmp(Op::Lt, upper));
        }
        (Part::Num(m), Part::Num(n), Part::Num(patch)) => {
            // ^ allows changes that do not modify the left-most non-zero part.
            let upper = if m != 0 {
                Version::with_zero_pre(inc(m)?, 0, 0)
            } else if n != 0 {
                Version::with_zero_pre(0, inc(n)?, 0)
            } else {
                Version::with_zero_pre(0, 0, inc(patch)?)
            };
            out.push(cmp(
                Op::Ge,
                Version {
                    major: m,
                    minor: n,
                    patch,
                    pre: p.pre,
                },
            ));
            out.push(cmp(Op::Lt, upper));
        }
    }
    Ok(())
}

fn x_range(
    op: Option<Op>,
    p: Partial,
    options: Options,
    out: &mut Vec<Comparator>,
) -> Result<(), PartialError> {
    let x_major = p.major == Part::Any;
    let x_minor = x_major || p.minor == Part::Any;
    let any_x = x_minor || p.patch == Part::Any;
    let op = if op == Some(Op::Eq) && any_x {
        None
    } else {
        op
    };
    let (Part::Num(major), minor, patch) = (p.major, p.minor, p.patch) else {
        // `*`, `>=*`, `<=x`: everything; `<*`, `>*`: nothing.
        if matches!(op, Some(Op::Gt | Op::Lt)) {
            out.push(cmp(Op::Lt, Version::with_zero_pre(0, 0, 0)));
        }
        return Ok(());
    };
    let minor_n = match minor {
        Part::Num(n) => n,
        Part::Any => 0,
    };
    let patch_n = match patch {
        Part::Num(n) if !x_minor => n,
        _ => 0,
    };
    match op {
        Some(op) if any_x => {
            let (op, version) = match op {
                Op::Gt if x_minor => (Op::Ge, Version::new(inc(major)?, 0, 0)),
                Op::Gt => (Op::Ge, Version::new(major, inc(minor_n)?, 0)),
                Op::Le if x_minor => (Op::Lt, Version::with_zero_pre(inc(major)?, 0, 0)),
                Op::Le => (Op::Lt, Version::with_zero_pre(major, inc(minor_n)?, 0)),
                Op::Lt => (Op::Lt, Version::with_zero_pre(major, minor_n, patch_n)),
                other => (other, lower(major, minor_n, patch_n, options)),
            };
            let version = if op == Op::Ge {
                lower(version.major, version.minor, version.patch, options)
            } else {
                version
            };
            out.push(cmp(op, version));
        }
        None if x_minor => {
            out.push(cmp(Op::Ge, lower(major, 0, 0, options)));
            out.push(cmp(Op::Lt, Version::with_zero_pre(inc(major)?, 0, 0)));
        }
        None if any_x => {
            out.push(cmp(Op::Ge, lower(major, minor_n, 0, options)));
            out.push(cmp(Op::Lt, Version::with_zero_pre(major, inc(minor_n)?, 0)));
        }
        op => {
            let Part::Num(patch) = patch else {
                return Err(PartialError::Invalid("expected a patch number"));
            };
            out.push(cmp(
                op.unwrap_or(Op::Eq),
                Version {
                    major,
                    minor: minor_n,
                    patch,
                    pre: p.pre,
                },
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// node-semver `test/fixtures/range-include.js`: `(range, version, include_prerelease)`.
    /// Rows with `loose: true` are here as they are: this parser is always loose.
    const INCLUDE: &[(&str, &str, bool)] = &[
        ("1.0.0 - 2.0.0", "1.2.3", false),
        ("^1.2.3+build", "1.2.3", false),
        ("^1.2.3+build", "1.3.0", false),
        ("1.2.3-pre+asdf - 2.4.3-pre+asdf", "1.2.3", false),
        ("1.2.3pre+asdf - 2.4.3-pre+asdf", "1.2.3", false),
        ("1.2.3-pre+asdf - 2.4.3pre+asdf", "1.2.3", false),
        ("1.2.3pre+asdf - 2.4.3pre+asdf", "1.2.3", false),
        ("1.2.3-pre+asdf - 2.4.3-pre+asdf", "1.2.3-pre.2", false),
        ("1.2.3-pre+asdf - 2.4.3-pre+asdf", "2.4.3-alpha", false),
        ("1.2.3+asdf - 2.4.3+asdf", "1.2.3", false),
        ("1.0.0", "1.0.0", false),
        (">=*", "0.2.4", false),
        ("", "1.0.0", false),
        ("*", "1.2.3", false),
        ("*", "v1.2.3", false),
        (">=1.0.0", "1.0.0", false),
        (">=1.0.0", "1.0.1", false),
        (">=1.0.0", "1.1.0", false),
        (">1.0.0", "1.0.1", false),
        (">1.0.0", "1.1.0", false),
        ("<=2.0.0", "2.0.0", false),
        ("<=2.0.0", "1.9999.9999", false),
        ("<=2.0.0", "0.2.9", false),
        ("<2.0.0", "1.9999.9999", false),
        ("<2.0.0", "0.2.9", false),
        (">= 1.0.0", "1.0.0", false),
        (">=  1.0.0", "1.0.1", false),
        (">=   1.0.0", "1.1.0", false),
        ("> 1.0.0", "1.0.1", false),
        (">  1.0.0", "1.1.0", false),
        ("<=   2.0.0", "2.0.0", false),
        ("<= 2.0.0", "1.9999.9999", false),
        ("<=  2.0.0", "0.2.9", false),
        ("<    2.0.0", "1.9999.9999", false),
        ("<\t2.0.0", "0.2.9", false),
        (">=0.1.97", "v0.1.97", false),
        (">=0.1.97", "0.1.97", false),
        ("0.1.20 || 1.2.4", "1.2.4", false),
        (">=0.2.3 || <0.0.1", "0.0.0", false),
        (">=0.2.3 || <0.0.1", "0.2.3", false),
        (">=0.2.3 || <0.0.1", "0.2.4", false),
        ("||", "1.3.4", false),
        ("2.x.x", "2.1.3", false),
        ("1.2.x", "1.2.3", false),
        ("1.2.x || 2.x", "2.1.3", false),
        ("1.2.x || 2.x", "1.2.3", false),
        ("x", "1.2.3", false),
        ("2.*.*", "2.1.3", false),
        ("1.2.*", "1.2.3", false),
        ("1.2.* || 2.*", "2.1.3", false),
        ("1.2.* || 2.*", "1.2.3", false),
        ("*", "1.2.3", false),
        ("2", "2.1.2", false),
        ("2.3", "2.3.1", false),
        ("~0.0.1", "0.0.1", false),
        ("~0.0.1", "0.0.2", false),
        ("~x", "0.0.9", false),
        ("~2", "2.0.9", false),
        ("~2.4", "2.4.0", false),
        ("~2.4", "2.4.5", false),
        ("~>3.2.1", "3.2.2", false),
        ("~1", "1.2.3", false),
        ("~>1", "1.2.3", false),
        ("~> 1", "1.2.3", false),
        ("~1.0", "1.0.2", false),
        ("~ 1.0", "1.0.2", false),
        ("~ 1.0.3", "1.0.12", false),
        ("~ 1.0.3alpha", "1.0.12", false),
        (">=1", "1.0.0", false),
        (">= 1", "1.0.0", false),
        ("<1.2", "1.1.1", false),
        ("< 1.2", "1.1.1", false),
        ("~v0.5.4-pre", "0.5.5", false),
        ("~v0.5.4-pre", "0.5.4", false),
        ("=0.7.x", "0.7.2", false),
        ("<=0.7.x", "0.7.2", false),
        (">=0.7.x", "0.7.2", false),
        ("<=0.7.x", "0.6.2", false),
        ("~1.2.1 >=1.2.3", "1.2.3", false),
        ("~1.2.1 =1.2.3", "1.2.3", false),
        ("~1.2.1 1.2.3", "1.2.3", false),
        ("~1.2.1 >=1.2.3 1.2.3", "1.2.3", false),
        ("~1.2.1 1.2.3 >=1.2.3", "1.2.3", false),
        ("~1.2.1 1.2.3", "1.2.3", false),
        (">=1.2.1 1.2.3", "1.2.3", false),
        ("1.2.3 >=1.2.1", "1.2.3", false),
        (">=1.2.3 >=1.2.1", "1.2.3", false),
        (">=1.2.1 >=1.2.3", "1.2.3", false),
        (">=1.2", "1.2.8", false),
        ("^1.2.3", "1.8.1", false),
        ("^0.1.2", "0.1.2", false),
        ("^0.1", "0.1.2", false),
        ("^0.0.1", "0.0.1", false),
        ("^1.2", "1.4.2", false),
        ("^1.2 ^1", "1.4.2", false),
        ("^1.2.3-alpha", "1.2.3-pre", false),
        ("^1.2.0-alpha", "1.2.0-pre", false),
        ("^0.0.1-alpha", "0.0.1-beta", false),
        ("^0.0.1-alpha", "0.0.1", false),
        ("^0.1.1-alpha", "0.1.1-beta", false),
        ("^x", "1.2.3", false),
        ("x - 1.0.0", "0.9.7", false),
        ("x - 1.x", "0.9.7", false),
        ("1.0.0 - x", "1.9.7", false),
        ("1.x - x", "1.9.7", false),
        ("<=7.x", "7.9.9", false),
        ("2.x", "2.0.0-pre.0", true),
        ("2.x", "2.1.0-pre.0", true),
        ("*", "1.0.0-rc1", true),
        ("^1.0.0-0", "1.0.1-rc1", true),
        ("^1.0.0-rc2", "1.0.1-rc1", true),
        ("^1.0.0", "1.0.1-rc1", true),
        ("^1.0.0", "1.1.0-rc1", true),
    ];

    /// node-semver `test/fixtures/range-exclude.js`.
    const EXCLUDE: &[(&str, &str, bool)] = &[
        ("1.0.0 - 2.0.0", "2.2.3", false),
        ("1.2.3+asdf - 2.4.3+asdf", "1.2.3-pre.2", false),
        ("1.2.3+asdf - 2.4.3+asdf", "2.4.3-alpha", false),
        ("^1.2.3+build", "2.0.0", false),
        ("^1.2.3+build", "1.2.0", false),
        ("^1.2.3", "1.2.3-pre", false),
        ("^1.2", "1.2.0-pre", false),
        (">1.2", "1.3.0-beta", false),
        ("<=1.2.3", "1.2.3-beta", false),
        ("^1.2.3", "1.2.3-beta", false),
        ("=0.7.x", "0.7.0-asdf", false),
        (">=0.7.x", "0.7.0-asdf", false),
        ("1", "1.0.0beta", false),
        ("<1", "1.0.0beta", false),
        ("< 1", "1.0.0beta", false),
        ("1.0.0", "1.0.1", false),
        (">=1.0.0", "0.0.0", false),
        (">=1.0.0", "0.0.1", false),
        (">=1.0.0", "0.1.0", false),
        (">1.0.0", "0.0.1", false),
        (">1.0.0", "0.1.0", false),
        ("<=2.0.0", "3.0.0", false),
        ("<=2.0.0", "2.9999.9999", false),
        ("<=2.0.0", "2.2.9", false),
        ("<2.0.0", "2.9999.9999", false),
        ("<2.0.0", "2.2.9", false),
        (">=0.1.97", "v0.1.93", false),
        (">=0.1.97", "0.1.93", false),
        ("0.1.20 || 1.2.4", "1.2.3", false),
        (">=0.2.3 || <0.0.1", "0.0.3", false),
        (">=0.2.3 || <0.0.1", "0.2.2", false),
        ("2.x.x", "1.1.3", false),
        ("2.x.x", "3.1.3", false),
        ("1.2.x", "1.3.3", false),
        ("1.2.x || 2.x", "3.1.3", false),
        ("1.2.x || 2.x", "1.1.3", false),
        ("2.*.*", "1.1.3", false),
        ("2.*.*", "3.1.3", false),
        ("1.2.*", "1.3.3", false),
        ("1.2.* || 2.*", "3.1.3", false),
        ("1.2.* || 2.*", "1.1.3", false),
        ("2", "1.1.2", false),
        ("2.3", "2.4.1", false),
        ("~0.0.1", "0.1.0-alpha", false),
        ("~0.0.1", "0.1.0", false),
        ("~2.4", "2.5.0", false),
        ("~2.4", "2.3.9", false),
        ("~>3.2.1", "3.3.2", false),
        ("~>3.2.1", "3.2.0", false),
        ("~1", "0.2.3", false),
        ("~>1", "2.2.3", false),
        ("~1.0", "1.1.0", false),
        ("<1", "1.0.0", false),
        (">=1.2", "1.1.1", false),
        ("1", "2.0.0beta", false),
        ("~v0.5.4-beta", "0.5.4-alpha", false),
        ("=0.7.x", "0.8.2", false),
        (">=0.7.x", "0.6.2", false),
        ("<0.7.x", "0.7.2", false),
        ("<1.2.3", "1.2.3-beta", false),
        ("=1.2.3", "1.2.3-beta", false),
        (">1.2", "1.2.8", false),
        ("^0.0.1", "0.0.2-alpha", false),
        ("^0.0.1", "0.0.2", false),
        ("^1.2.3", "2.0.0-alpha", false),
        ("^1.2.3", "1.2.2", false),
        ("^1.2", "1.1.9", false),
        ("*", "v1.2.3-foo", false),
        ("*", "not a version", false),
        (">=2", "glorp", false),
        ("2.x", "3.0.0-pre.0", true),
        ("^1.0.0", "1.0.0-rc1", true),
        ("^1.2.3-rc2", "2.0.0", true),
        ("^1.0.0", "2.0.0-rc1", true),
        ("^1.0.0", "2.0.0-rc1", false),
    ];

    /// node-semver `test/fixtures/comparisons.js`: the first is greater than the second.
    const GREATER: &[(&str, &str)] = &[
        ("0.0.0", "0.0.0-foo"),
        ("0.0.1", "0.0.0"),
        ("1.0.0", "0.9.9"),
        ("0.10.0", "0.9.0"),
        ("0.99.0", "0.10.0"),
        ("2.0.0", "1.2.3"),
        ("v0.0.0", "0.0.0-foo"),
        ("v0.0.1", "0.0.0"),
        ("v1.0.0", "0.9.9"),
        ("v0.10.0", "0.9.0"),
        ("v0.99.0", "0.10.0"),
        ("v2.0.0", "1.2.3"),
        ("0.0.0", "v0.0.0-foo"),
        ("0.0.1", "v0.0.0"),
        ("1.0.0", "v0.9.9"),
        ("0.10.0", "v0.9.0"),
        ("0.99.0", "v0.10.0"),
        ("2.0.0", "v1.2.3"),
        ("1.2.3", "1.2.3-asdf"),
        ("1.2.3", "1.2.3-4"),
        ("1.2.3", "1.2.3-4-foo"),
        ("1.2.3-5-foo", "1.2.3-5"),
        ("1.2.3-5", "1.2.3-4"),
        ("1.2.3-5-foo", "1.2.3-5-Foo"),
        ("3.0.0", "2.7.2+asdf"),
        ("1.2.3-a.10", "1.2.3-a.5"),
        ("1.2.3-a.b", "1.2.3-a.5"),
        ("1.2.3-a.b", "1.2.3-a"),
        ("1.2.3-a.b.c.10.d.5", "1.2.3-a.b.c.5.d.100"),
        ("1.2.3-r2", "1.2.3-r100"),
        ("1.2.3-r100", "1.2.3-R2"),
    ];

    fn check(rows: &[(&str, &str, bool)], expected: bool) {
        let mut failures = Vec::new();
        for &(range, version, include_prerelease) in rows {
            let got = match (
                Range::parse_with(range, Options { include_prerelease }),
                Version::parse(version),
            ) {
                (Ok(r), Ok(v)) => r.satisfies(&v),
                _ => false,
            };
            if got != expected {
                failures.push(format!("{range:?} {version:?} incl={include_prerelease}"));
            }
        }
        assert!(
            failures.is_empty(),
            "expected {expected} for: {failures:#?}"
        );
    }

    #[test]
    fn node_semver_range_include() {
        check(INCLUDE, true);
    }

    #[test]
    fn node_semver_range_exclude() {
        check(EXCLUDE, false);
    }

    #[test]
    fn node_semver_comparisons() {
        for &(a, b) in GREATER {
            let (va, vb) = (Version::parse(a).unwrap(), Version::parse(b).unwrap());
            assert!(va > vb, "{a} > {b}");
            assert!(vb < va, "{b} < {a}");
            assert_ne!(va, vb);
        }
    }

    #[test]
    fn build_metadata_is_ignored() {
        assert_eq!(
            Version::parse("1.2.3+a").unwrap(),
            Version::parse("1.2.3+b").unwrap()
        );
        assert_eq!(Version::parse("=v1.2.3").unwrap().to_string(), "1.2.3");
    }

    #[test]
    fn invalid_versions_are_errors() {
        for bad in [
            "",
            "1",
            "1.2",
            "1.2.3.4",
            "a.b.c",
            "1.2.3-",
            "1.2.3-a..b",
            "1.2.3+",
            "1.2.34x!",
            "99999999999999999999.0.0",
            "1.2.3-é",
        ] {
            assert!(Version::parse(bad).is_err(), "{bad:?} parsed");
        }
        assert!(Version::parse(&"1".repeat(300)).is_err());
    }

    #[test]
    fn desugaring_matches_node_semver() {
        let cases = [
            ("^0.2.3", ">=0.2.3 <0.3.0-0"),
            ("^0.0.3", ">=0.0.3 <0.0.4-0"),
            ("^1.2.3", ">=1.2.3 <2.0.0-0"),
            ("~1.2", ">=1.2.0 <1.3.0-0"),
            ("1.2.3 - 2.3", ">=1.2.3 <2.4.0-0"),
            (">1.2", ">=1.3.0"),
            ("<=1.x", "<2.0.0-0"),
            ("<*", "<0.0.0-0"),
            ("*", "*"),
            ("<=1.5.1", "<=1.5.1"),
        ];
        for (input, want) in cases {
            assert_eq!(Range::parse(input).unwrap().to_string(), want, "{input}");
        }
    }

    /// A tiny deterministic generator: the test must not depend on a crate or on luck.
    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn garbage_never_panics() {
        const ALPHABET: &[u8] = b"0123456789.-+xX*^~<>=|v abz\t\xff";
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for _ in 0..200_000 {
            let len = (rng.next() % 24) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| ALPHABET[(rng.next() % ALPHABET.len() as u64) as usize])
                .collect();
            let s = String::from_utf8_lossy(&bytes);
            let v = Version::parse(&s);
            let r = Range::parse(&s);
            if let (Ok(v), Ok(r)) = (v, r) {
                let _ = r.satisfies(&v);
            }
        }
        // Overflow on increment is an error, not a panic.
        assert!(Range::parse("^9007199254740991").is_ok());
        assert!(Range::parse("~1.18446744073709551615").is_err());
    }
}
