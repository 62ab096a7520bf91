//! Fingerprints identify a finding across edits that move lines: they hash the rule, the file and
//! the *text* of the flagged line (whitespace folded), plus how many identical (rule, file, text)
//! findings came before it. Baselines and SARIF `partialFingerprints` both use them.

use std::collections::HashMap;
use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use crate::Finding;

/// The fingerprint of one finding, given its occurrence index among identical ones.
pub fn fingerprint_line(rule: &str, path: &str, line_text: &str, occurrence: usize) -> String {
    let folded: String = line_text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut hasher = Sha256::new();
    hasher.update(rule.as_bytes());
    hasher.update([0]);
    hasher.update(path.as_bytes());
    hasher.update([0]);
    hasher.update(folded.as_bytes());
    hasher.update([0]);
    hasher.update(occurrence.to_le_bytes());
    let digest = hasher.finalize();
    let mut hex = String::with_capacity(32);
    for b in &digest[..16] {
        // Writing into a `String` cannot fail.
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

/// Fill in `fingerprint` of every finding. Findings must already be sorted (see
/// [`crate::Report::sort`]) so that occurrence indices are stable.
pub fn assign_fingerprints(findings: &mut [Finding]) {
    let mut seen: HashMap<(String, String, String), usize> = HashMap::new();
    for f in findings {
        // The bounded snippet, as reports show it: a long line's window.
        let first_line = f
            .location
            .bounded()
            .snippet
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_owned();
        let key = (f.rule.clone(), f.location.path.clone(), first_line.clone());
        let n = seen.entry(key).or_insert(0);
        f.fingerprint = fingerprint_line(&f.rule, &f.location.path, &first_line, *n);
        *n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_and_line_number_do_not_matter() {
        let a = fingerprint_line("T001", "a.js", "  wx.request({ url })", 0);
        let b = fingerprint_line("T001", "a.js", "wx.request({  url })", 0);
        assert_eq!(a, b);
        assert_ne!(
            a,
            fingerprint_line("T001", "a.js", "wx.request({ url })", 1)
        );
        assert_ne!(
            a,
            fingerprint_line("T002", "a.js", "wx.request({ url })", 0)
        );
        assert_eq!(a.len(), 32);
    }
}
