//! The tamper-evident audit log: an append-only table whose rows each carry a keyed hash
//! (HMAC-SHA256 with the audit key, a key of its own) over their content and the previous row's
//! hash, and the check that walks the chain.
//!
//! A row's hash covers its id, time, actor, action, detail (the stored JSON text, byte for byte)
//! and the previous row's hash, each field length-prefixed so no two rows can encode alike. The
//! first row links to [`GENESIS`]. Rows of scheme 2 are keyed ([`AuditKey`]): without the key,
//! nobody can recompute them, so an edit followed by re-hashing the later rows no longer
//! verifies. Rows of scheme 1 (plain SHA-256) were written before keyed chaining; they are
//! accepted only as a prefix that the first keyed row, an `audit.keyed` entry, seals (its hash
//! covers the last legacy hash).
//!
//! [`verify`] reports:
//!
//! - an **edited** row (its hash no longer matches its content),
//! - a **broken link** (its `prev_hash` is not the previous row's hash: a deletion, an insertion
//!   or a reordering),
//! - a **gap** in the ids (a deleted row, even when the attacker re-linked the rest),
//! - a **truncated** tail (the highest id ever issued, which the database keeps apart from the
//!   rows, or the anchor's id, is above the last row),
//! - an **unkeyed** row where a keyed one belongs, and a row that does not match the **anchor**.
//!
//! What the key cannot stop, the anchor does: whoever can write the database file can still cut
//! off its tail and lower `sqlite_sequence`. `miniguard audit-log anchor` exports the head (id and
//! keyed hash) as an [`Anchor`]; kept where the database's owner cannot reach it (a ticket, a
//! second system, a write-once bucket), `audit-log verify --anchor FILE` finds a truncation (the
//! anchored row is gone) and a rewrite (the anchored row's hash differs).

use std::fmt;

use hmac::{Hmac, Mac};
use secrecy::ExposeSecret as _;
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Scheme of rows written before keyed chaining: SHA-256.
pub const SCHEME_SHA256: i64 = 1;
/// Scheme of keyed rows: HMAC-SHA256 with the audit key.
pub const SCHEME_HMAC: i64 = 2;
/// The action of the first keyed row after legacy rows.
pub const KEYED_ACTION: &str = "audit.keyed";

/// The key of the audit chain: 32 bytes, separate from the data keys, read like the other
/// secrets (`audit_key_env` / `audit_key_file`; `serve --dev` makes one). Never printed.
#[derive(Clone)]
pub struct AuditKey(Hmac<Sha256>);

impl fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuditKey(..)")
    }
}

/// Why an audit key could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditKeyError {
    #[error("audit key: {0}")]
    Key(#[from] miniguard_crypto::KeyError),
    #[error("audit key: {0}")]
    Random(#[from] miniguard_crypto::RandomError),
}

impl AuditKey {
    /// From a 32-byte key (the same base64 format as a data key, without an id).
    pub fn from_key(key: &miniguard_crypto::Key) -> Self {
        use base64::Engine as _;
        let text = key.to_base64();
        let bytes = zeroize::Zeroizing::new(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(text.expose_secret())
                .unwrap_or_default(),
        );
        // HMAC takes keys of any length, so this cannot fail.
        Self(Hmac::<Sha256>::new_from_slice(&bytes).unwrap_or_else(|_| unreachable!()))
    }

    /// Parses a base64 key (what `miniguard audit-log keygen` prints).
    pub fn from_base64(text: &str) -> Result<Self, AuditKeyError> {
        Ok(Self::from_key(&miniguard_crypto::Key::from_base64(text)?))
    }

    /// Reads a base64 key from a file.
    pub fn from_file(path: &std::path::Path) -> Result<Self, AuditKeyError> {
        Ok(Self::from_key(&miniguard_crypto::Key::from_file(path)?))
    }

    /// Reads a base64 key from an environment variable.
    pub fn from_env(var: &str) -> Result<Self, AuditKeyError> {
        Ok(Self::from_key(&miniguard_crypto::Key::from_env(var)?))
    }

    /// A fresh key and its base64 text (to store once).
    pub fn generate() -> Result<(Self, secrecy::SecretString), AuditKeyError> {
        let key = miniguard_crypto::Key::generate()?;
        Ok((Self::from_key(&key), key.to_base64()))
    }
}

/// One stored row of the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRow {
    pub id: i64,
    /// Milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// Who acted: `user:<id>`, `anonymous`, `system`.
    pub actor: String,
    /// What happened, dotted: `login.failure`, `login.platform_verified`.
    pub action: String,
    /// JSON text, stored and hashed exactly as written.
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
    /// [`SCHEME_SHA256`] or [`SCHEME_HMAC`].
    pub scheme: i64,
}

fn encode(
    domain: &[u8],
    id: i64,
    at_ms: i64,
    actor: &str,
    action: &str,
    detail: &str,
    prev_hash: &str,
) -> Vec<u8> {
    let mut m = Vec::with_capacity(64 + actor.len() + action.len() + detail.len());
    m.extend_from_slice(domain);
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&at_ms.to_be_bytes());
    for field in [actor, action, detail, prev_hash] {
        m.extend_from_slice(&(field.len() as u64).to_be_bytes());
        m.extend_from_slice(field.as_bytes());
    }
    m
}

/// The unkeyed hash of a row (scheme 1, lowercase hex SHA-256): rows written before keyed
/// chaining, and databases of code that set no key.
pub fn entry_hash(
    id: i64,
    at_ms: i64,
    actor: &str,
    action: &str,
    detail: &str,
    prev_hash: &str,
) -> String {
    let m = encode(
        b"miniguard-audit-v1\n",
        id,
        at_ms,
        actor,
        action,
        detail,
        prev_hash,
    );
    hex(&Sha256::digest(&m))
}

/// The keyed hash of a row (scheme 2, lowercase hex HMAC-SHA256).
pub fn keyed_entry_hash(
    key: &AuditKey,
    id: i64,
    at_ms: i64,
    actor: &str,
    action: &str,
    detail: &str,
    prev_hash: &str,
) -> String {
    let m = encode(
        b"miniguard-audit-v2\n",
        id,
        at_ms,
        actor,
        action,
        detail,
        prev_hash,
    );
    let mut mac = key.0.clone();
    mac.update(&m);
    hex(&mac.finalize().into_bytes())
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The head of the chain at one moment, kept outside the database.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Anchor {
    /// Always [`Anchor::FORMAT`].
    pub format: String,
    /// The head row's id (0 for an empty log).
    pub id: i64,
    /// The head row's hash ([`GENESIS`] for an empty log).
    pub hash: String,
    /// When the head row was written, in milliseconds since the Unix epoch.
    pub at_ms: i64,
}

impl Anchor {
    /// The format tag of anchor files.
    pub const FORMAT: &'static str = "miniguard-audit-anchor/1";
}

/// One thing wrong with the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChainProblem {
    /// The row's content does not match its hash.
    Edited { id: i64 },
    /// The row does not link to the row before it.
    BrokenLink { id: i64 },
    /// Ids jump: rows `expected..found` are missing.
    Gap { expected: i64, found: i64 },
    /// Rows after `last_id` up to `issued` were removed.
    Truncated { last_id: i64, issued: i64 },
    /// A row with the unkeyed scheme where only keyed rows may be (after a keyed row, or
    /// legacy rows that no `audit.keyed` row seals).
    Unkeyed { id: i64 },
    /// Keyed rows and no key to check them with.
    NoKey { id: i64 },
    /// The anchored row has another hash than the anchor: the chain was rewritten.
    AnchorMismatch { id: i64 },
}

impl fmt::Display for ChainProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Edited { id } => write!(f, "row {id}: content does not match its hash (edited)"),
            Self::BrokenLink { id } => write!(
                f,
                "row {id}: prev_hash is not the previous row's hash (row deleted, inserted or moved)"
            ),
            Self::Gap { expected, found } => {
                write!(f, "rows {expected}..{} are missing (deleted)", found - 1)
            }
            Self::Truncated { last_id, issued } => write!(
                f,
                "rows after {last_id} up to {issued} are missing (the end of the log was cut off)"
            ),
            Self::Unkeyed { id } => write!(
                f,
                "row {id}: not keyed where keyed rows are required (rewritten without the key)"
            ),
            Self::NoKey { id } => write!(
                f,
                "row {id} and later: keyed rows, and no audit key given to check them"
            ),
            Self::AnchorMismatch { id } => write!(
                f,
                "row {id}: hash differs from the anchor (the chain was rewritten)"
            ),
        }
    }
}

/// The outcome of walking the chain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChainReport {
    /// Rows read.
    pub rows: u64,
    /// The last row's id (0 for an empty log).
    pub head_id: i64,
    /// The last row's hash ([`GENESIS`] for an empty log): anchor this outside the database.
    pub head: String,
    /// The last row's time.
    pub head_at_ms: i64,
    /// Rows of the unkeyed legacy prefix.
    pub legacy_rows: u64,
    /// Everything wrong, in row order; empty when the chain is intact.
    pub problems: Vec<ChainProblem>,
}

impl ChainReport {
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }

    /// The head as an anchor to keep outside the database.
    pub fn anchor(&self) -> Anchor {
        Anchor {
            format: Anchor::FORMAT.to_owned(),
            id: self.head_id,
            hash: self.head.clone(),
            at_ms: self.head_at_ms,
        }
    }
}

/// What [`verify`] checks against besides the rows.
#[derive(Clone, Copy, Debug, Default)]
pub struct VerifyWith<'a> {
    /// The highest id the database ever handed out (SQLite's `sqlite_sequence`).
    pub issued: Option<i64>,
    /// The audit key; without it keyed rows cannot be checked ([`ChainProblem::NoKey`]).
    pub key: Option<&'a AuditKey>,
    /// A head exported earlier.
    pub anchor: Option<&'a Anchor>,
}

/// Walks rows in id order.
pub fn verify(rows: impl IntoIterator<Item = AuditRow>, with: VerifyWith<'_>) -> ChainReport {
    let mut report = ChainReport {
        head: GENESIS.to_owned(),
        ..ChainReport::default()
    };
    let mut expected_id = 1;
    // The first legacy row not yet sealed by an `audit.keyed` row.
    let mut unsealed_legacy: Option<i64> = None;
    let mut seen_keyed = false;
    let mut no_key_reported = false;
    let mut anchor_seen = false;
    for row in rows {
        report.rows += 1;
        if row.id != expected_id {
            report.problems.push(ChainProblem::Gap {
                expected: expected_id,
                found: row.id,
            });
        }
        if row.prev_hash != report.head {
            report
                .problems
                .push(ChainProblem::BrokenLink { id: row.id });
        }
        let recomputed = match (row.scheme, with.key) {
            (SCHEME_HMAC, Some(key)) => Some(keyed_entry_hash(
                key,
                row.id,
                row.at_ms,
                &row.actor,
                &row.action,
                &row.detail,
                &row.prev_hash,
            )),
            (SCHEME_HMAC, None) => {
                if !no_key_reported {
                    report.problems.push(ChainProblem::NoKey { id: row.id });
                    no_key_reported = true;
                }
                None
            }
            _ => Some(entry_hash(
                row.id,
                row.at_ms,
                &row.actor,
                &row.action,
                &row.detail,
                &row.prev_hash,
            )),
        };
        if recomputed.is_some_and(|h| h != row.hash) {
            report.problems.push(ChainProblem::Edited { id: row.id });
        }
        if row.scheme == SCHEME_HMAC {
            if unsealed_legacy.is_some() && row.action != KEYED_ACTION {
                // Legacy rows must be sealed by the very first keyed row.
                if let Some(first) = unsealed_legacy {
                    report.problems.push(ChainProblem::Unkeyed { id: first });
                }
            }
            unsealed_legacy = None;
            seen_keyed = true;
        } else if seen_keyed {
            report.problems.push(ChainProblem::Unkeyed { id: row.id });
        } else {
            report.legacy_rows += 1;
            unsealed_legacy.get_or_insert(row.id);
        }
        if let Some(anchor) = with.anchor
            && anchor.id == row.id
        {
            anchor_seen = true;
            if anchor.hash != row.hash {
                report
                    .problems
                    .push(ChainProblem::AnchorMismatch { id: row.id });
            }
        }
        expected_id = row.id.saturating_add(1);
        report.head_id = row.id;
        report.head_at_ms = row.at_ms;
        report.head = row.hash;
    }
    // A server with a key seals legacy rows before it writes anything else, so checked with the
    // key, legacy rows that no keyed row seals are a chain rewritten without the key.
    if with.key.is_some()
        && let Some(first) = unsealed_legacy
    {
        report.problems.push(ChainProblem::Unkeyed { id: first });
    }
    let last_id = expected_id - 1;
    let issued = with
        .issued
        .into_iter()
        .chain(with.anchor.map(|a| a.id))
        .max();
    if let Some(issued) = issued
        && issued > last_id
    {
        report
            .problems
            .push(ChainProblem::Truncated { last_id, issued });
    }
    if let Some(anchor) = with.anchor
        && !anchor_seen
        && anchor.id <= last_id
        && anchor.id > 0
    {
        report
            .problems
            .push(ChainProblem::AnchorMismatch { id: anchor.id });
    }
    report
}

/// Actions an outsider can trigger at will (each probe of another user's record id, each bad
/// signature); they are bounded per actor by [`AuditBudget`].
pub const NOISY_ACTIONS: &[&str] = &["authz.denied", "auth.signature_rejected"];

/// Rows of one noisy action an actor may write per window before the rest are only counted.
pub const NOISY_PER_WINDOW: u32 = 5;
/// The window of [`NOISY_PER_WINDOW`].
pub const NOISY_WINDOW: std::time::Duration = std::time::Duration::from_mins(1);
/// (actor, action) pairs tracked at once; past it, events of new pairs are counted together.
const MAX_TRACKED: usize = 10_000;

#[derive(Debug)]
struct Window {
    start: std::time::Instant,
    written: u32,
    suppressed: u64,
}

/// Bounds the rows noisy actions write per (actor, action): the first [`NOISY_PER_WINDOW`] of a
/// window are written, the rest counted, and the count rides on the next row written for that
/// actor and action (`"suppressed": n`), so the log shows how much happened without one row per
/// probe. Memory is bounded: at most 10,000 (actor, action) pairs are tracked.
#[derive(Debug, Default)]
pub struct AuditBudget {
    windows: std::sync::Mutex<std::collections::HashMap<(String, String), Window>>,
    /// Events of pairs that found the table full.
    untracked: std::sync::atomic::AtomicU64,
}

/// What to do with one noisy event.
#[derive(Debug, PartialEq, Eq)]
pub enum Admit {
    /// Write it, noting this many events not written before it.
    Write { suppressed: u64 },
    /// Only count it.
    Count,
}

impl AuditBudget {
    /// Decides for an event of `action` by `actor` at `now`.
    pub fn admit(&self, actor: &str, action: &str, now: std::time::Instant) -> Admit {
        use std::sync::atomic::Ordering;
        // A poisoned lock only means a panic elsewhere mid-update of plain counters; go on.
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = (actor.to_owned(), action.to_owned());
        if !windows.contains_key(&key) && windows.len() >= MAX_TRACKED {
            windows.retain(|_, w| now.duration_since(w.start) < NOISY_WINDOW || w.suppressed > 0);
            if windows.len() >= MAX_TRACKED {
                self.untracked.fetch_add(1, Ordering::Relaxed);
                return Admit::Count;
            }
        }
        let w = windows.entry(key).or_insert(Window {
            start: now,
            written: 0,
            suppressed: 0,
        });
        if now.duration_since(w.start) >= NOISY_WINDOW {
            w.start = now;
            w.written = 0;
        }
        if w.written < NOISY_PER_WINDOW {
            w.written += 1;
            let suppressed =
                std::mem::take(&mut w.suppressed) + self.untracked.swap(0, Ordering::Relaxed);
            Admit::Write { suppressed }
        } else {
            w.suppressed += 1;
            Admit::Count
        }
    }
}

/// Longest string kept in an audit detail, in characters.
pub const MAX_DETAIL_STRING: usize = 200;

/// Makes a detail safe to store and show: every string (client-controlled text such as a
/// request path included) is cut to [`MAX_DETAIL_STRING`] characters and its control and
/// invisible formatting characters (bidi overrides, zero-width) written as `\u{..}` escapes, so
/// a value can neither forge lines nor disguise itself in a terminal or a log viewer. Detail
/// stays structured JSON: client text only ever sits in a value of its own, never in a message.
pub fn clean_detail(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(s) => Value::String(clean_text(s)),
        Value::Array(a) => Value::Array(a.iter().map(clean_detail).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (clean_text(k), clean_detail(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn clean_text(s: &str) -> String {
    use fmt::Write as _;
    let mut out = String::new();
    for (count, c) in s.chars().enumerate() {
        if count == MAX_DETAIL_STRING {
            let _ = write!(out, "…[+{}]", s.chars().count() - MAX_DETAIL_STRING);
            break;
        }
        let invisible = c.is_control()
            || matches!(
                c,
                '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}'
            );
        if invisible {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issued(n: i64) -> VerifyWith<'static> {
        VerifyWith {
            issued: Some(n),
            ..VerifyWith::default()
        }
    }

    fn chain(n: i64) -> Vec<AuditRow> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|id| {
                let detail = format!("{{\"n\":{id}}}");
                let hash = entry_hash(id, 1000 + id, "system", "test", &detail, &prev);
                let row = AuditRow {
                    id,
                    at_ms: 1000 + id,
                    actor: "system".into(),
                    action: "test".into(),
                    detail,
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                    scheme: SCHEME_SHA256,
                };
                prev = hash;
                row
            })
            .collect()
    }

    #[test]
    fn an_intact_chain_verifies() {
        let rows = chain(5);
        let head = rows[4].hash.clone();
        let r = verify(rows, issued(5));
        assert!(r.is_intact(), "{:?}", r.problems);
        assert_eq!(r.rows, 5);
        assert_eq!(r.head, head);
        assert!(verify(Vec::new(), VerifyWith::default()).is_intact());
    }

    #[test]
    fn an_edit_is_found() {
        let mut rows = chain(4);
        rows[1].detail = "{\"n\":99}".into();
        let r = verify(rows, issued(4));
        assert_eq!(r.problems, vec![ChainProblem::Edited { id: 2 }]);
    }

    #[test]
    fn a_deletion_is_found_even_when_relinked() {
        let mut rows = chain(4);
        rows.remove(1);
        let r = verify(rows.clone(), issued(4));
        assert!(r.problems.contains(&ChainProblem::Gap {
            expected: 2,
            found: 3
        }));
        assert!(r.problems.contains(&ChainProblem::BrokenLink { id: 3 }));
        // Re-link row 3 to row 1 and rehash: the gap still shows.
        rows[1].prev_hash = rows[0].hash.clone();
        let r3 = &rows[1];
        rows[1].hash = entry_hash(
            r3.id,
            r3.at_ms,
            &r3.actor,
            &r3.action,
            &r3.detail,
            &r3.prev_hash,
        );
        let r = verify(rows, issued(4));
        assert!(r.problems.contains(&ChainProblem::Gap {
            expected: 2,
            found: 3
        }));
    }

    #[test]
    fn a_reordering_is_found() {
        let mut rows = chain(4);
        // Swap the contents of rows 2 and 3, keeping ids in order.
        let (a, b) = (rows[1].clone(), rows[2].clone());
        rows[1] = AuditRow { id: 2, ..b };
        rows[2] = AuditRow { id: 3, ..a };
        assert!(!verify(rows, issued(4)).is_intact());
    }

    #[test]
    fn a_cut_off_tail_is_found() {
        let mut rows = chain(4);
        rows.truncate(3);
        let r = verify(rows, issued(4));
        assert_eq!(
            r.problems,
            vec![ChainProblem::Truncated {
                last_id: 3,
                issued: 4
            }]
        );
    }

    #[test]
    fn noisy_actions_are_bounded_per_actor_and_counted() {
        let b = AuditBudget::default();
        let t0 = std::time::Instant::now();
        for _ in 0..NOISY_PER_WINDOW {
            assert_eq!(
                b.admit("user:1", "authz.denied", t0),
                Admit::Write { suppressed: 0 }
            );
        }
        for _ in 0..100 {
            assert_eq!(b.admit("user:1", "authz.denied", t0), Admit::Count);
        }
        // Another actor has its own budget.
        assert!(matches!(
            b.admit("user:2", "authz.denied", t0),
            Admit::Write { .. }
        ));
        // The next window writes again, carrying the count.
        assert_eq!(
            b.admit("user:1", "authz.denied", t0 + NOISY_WINDOW),
            Admit::Write { suppressed: 100 }
        );
    }

    #[test]
    fn details_are_cut_and_escaped() {
        let v = serde_json::json!({
            "path": format!("/v1/\u{202e}gnp.exe\n{}", "a".repeat(500)),
            "n": 3,
        });
        let c = clean_detail(&v);
        let path = c["path"].as_str().unwrap();
        assert!(path.starts_with("/v1/\\u{202e}gnp.exe\\u{a}"), "{path}");
        assert!(path.ends_with(']'), "{path}");
        assert!(path.chars().count() < 240, "{path}");
        assert_eq!(c["n"], 3);
    }

    #[test]
    fn fields_are_length_prefixed() {
        // Moving a byte from one field to the next changes the hash.
        assert_ne!(
            entry_hash(1, 1, "ab", "c", "{}", GENESIS),
            entry_hash(1, 1, "a", "bc", "{}", GENESIS)
        );
    }
}
