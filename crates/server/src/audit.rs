//! The tamper-evident audit log: an append-only table whose rows each carry the SHA-256 of the
//! previous row, and the check that walks the chain.
//!
//! A row's hash covers its id, time, actor, action, detail (the stored JSON text, byte for byte)
//! and the previous row's hash, each field length-prefixed so no two rows can encode alike. The
//! first row links to [`GENESIS`]. [`verify`] reports:
//!
//! - an **edited** row (its hash no longer matches its content),
//! - a **broken link** (its `prev_hash` is not the previous row's hash: a deletion, an insertion
//!   or a reordering),
//! - a **gap** in the ids (a deleted row, even when the attacker re-linked the rest),
//! - a **truncated** tail (the highest id ever issued, which the database keeps apart from the
//!   rows, is above the last row).
//!
//! Limits, stated plainly: someone who can rewrite the database file can rebuild the whole chain
//! after their edit. Anchor the head hash that `miniguard audit-log verify` prints somewhere they
//! cannot reach (a ticket, a second system); keyed (HMAC) chaining arrives with
//! `miniguard-crypto`.

use std::fmt;

use sha2::{Digest, Sha256};

/// The `prev_hash` of the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

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
}

/// The hash of a row with these fields (lowercase hex SHA-256).
pub fn entry_hash(
    id: i64,
    at_ms: i64,
    actor: &str,
    action: &str,
    detail: &str,
    prev_hash: &str,
) -> String {
    let mut h = Sha256::new();
    h.update(b"miniguard-audit-v1\n");
    h.update(id.to_be_bytes());
    h.update(at_ms.to_be_bytes());
    for field in [actor, action, detail, prev_hash] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    hex(&h.finalize())
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
        }
    }
}

/// The outcome of walking the chain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChainReport {
    /// Rows read.
    pub rows: u64,
    /// The last row's hash ([`GENESIS`] for an empty log): anchor this outside the database.
    pub head: String,
    /// Everything wrong, in row order; empty when the chain is intact.
    pub problems: Vec<ChainProblem>,
}

impl ChainReport {
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Walks rows in id order. `issued` is the highest id the database ever handed out (SQLite's
/// `sqlite_sequence`), used to notice a cut-off tail.
pub fn verify(rows: impl IntoIterator<Item = AuditRow>, issued: Option<i64>) -> ChainReport {
    let mut report = ChainReport {
        head: GENESIS.to_owned(),
        ..ChainReport::default()
    };
    let mut expected_id = 1;
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
        let recomputed = entry_hash(
            row.id,
            row.at_ms,
            &row.actor,
            &row.action,
            &row.detail,
            &row.prev_hash,
        );
        if recomputed != row.hash {
            report.problems.push(ChainProblem::Edited { id: row.id });
        }
        expected_id = row.id.saturating_add(1);
        report.head = row.hash;
    }
    let last_id = expected_id - 1;
    if let Some(issued) = issued
        && issued > last_id
    {
        report
            .problems
            .push(ChainProblem::Truncated { last_id, issued });
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let r = verify(rows, Some(5));
        assert!(r.is_intact(), "{:?}", r.problems);
        assert_eq!(r.rows, 5);
        assert_eq!(r.head, head);
        assert!(verify(Vec::new(), None).is_intact());
    }

    #[test]
    fn an_edit_is_found() {
        let mut rows = chain(4);
        rows[1].detail = "{\"n\":99}".into();
        let r = verify(rows, Some(4));
        assert_eq!(r.problems, vec![ChainProblem::Edited { id: 2 }]);
    }

    #[test]
    fn a_deletion_is_found_even_when_relinked() {
        let mut rows = chain(4);
        rows.remove(1);
        let r = verify(rows.clone(), Some(4));
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
        let r = verify(rows, Some(4));
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
        assert!(!verify(rows, Some(4)).is_intact());
    }

    #[test]
    fn a_cut_off_tail_is_found() {
        let mut rows = chain(4);
        rows.truncate(3);
        let r = verify(rows, Some(4));
        assert_eq!(
            r.problems,
            vec![ChainProblem::Truncated {
                last_id: 3,
                issued: 4
            }]
        );
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
