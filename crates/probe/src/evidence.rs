//! Evidence: request/response excerpts for findings, with secrets masked.
//!
//! Masked are the identities' own tokens, keys, codes and headers (exact values), and anything
//! that looks like a credential: `Authorization` and `Cookie` values, JSON fields named like
//! tokens, keys or passwords, and token parameters in URLs.

use std::sync::LazyLock;

use regex::Regex;

use crate::client::Exchange;

const MASK: &str = "****";
/// The most characters of a body kept in an excerpt.
const BODY_EXCERPT: usize = 240;

static JSON_SECRET: LazyLock<Regex> = LazyLock::new(|| {
    // Constant pattern: it cannot fail to compile.
    Regex::new(
        r#"(?i)("(?:[a-z_]*token|signing_key|session_key|password|secret|sign)"\s*:\s*")[^"]*""#,
    )
    .unwrap_or_else(|_| unreachable!("constant pattern"))
});
static URL_SECRET: LazyLock<Regex> = LazyLock::new(|| {
    // Constant pattern: it cannot fail to compile.
    Regex::new(r"(?i)([?&](?:[a-z_]*token|session(?:id)?|sid|ticket|key|password)=)[^&\s#]+")
        .unwrap_or_else(|_| unreachable!("constant pattern"))
});

/// Masks known secrets and credential-shaped values.
#[derive(Default)]
pub struct Masker {
    secrets: Vec<String>,
}

impl Masker {
    /// Adds a value to mask wherever it appears (values under 6 characters are masked by shape
    /// only, so that short words are not blotted out everywhere).
    pub fn add(&mut self, secret: &str) {
        if secret.len() >= 6 && !self.secrets.iter().any(|s| s == secret) {
            self.secrets.push(secret.to_owned());
            // Longest first, so that a secret containing another is masked whole.
            self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), MASK);
            }
        }
        let out = JSON_SECRET.replace_all(&out, format!("${{1}}{MASK}\""));
        URL_SECRET
            .replace_all(&out, format!("${{1}}{MASK}"))
            .into_owned()
    }

    /// A few lines that show a request and its answer: request line, credential headers (masked),
    /// body excerpt; status line, the headers that matter, body excerpt.
    pub fn excerpt(&self, ex: &Exchange, show_headers: &[&str]) -> String {
        let mut lines = Vec::new();
        let path = match ex.request.url.query() {
            Some(q) => format!("{}?{q}", ex.request.url.path()),
            None => ex.request.url.path().to_owned(),
        };
        lines.push(format!("> {} {path}", ex.request.method));
        for (k, v) in &ex.request.headers {
            let k_lower = k.to_ascii_lowercase();
            if k_lower == "authorization" || k_lower == "cookie" {
                let scheme = v.split_once(' ').map_or("", |(s, _)| s);
                lines.push(format!("> {k}: {scheme} {MASK}").replace("  ", " "));
            } else if k_lower == "origin" {
                lines.push(format!("> {k}: {v}"));
            }
        }
        if let Some(body) = &ex.request.body {
            lines.push(format!("> {}", one_line(&String::from_utf8_lossy(body))));
        }
        lines.push(format!("< {}", ex.status));
        for name in show_headers {
            if let Some(v) = ex.header(name) {
                lines.push(format!("< {name}: {v}"));
            }
        }
        if !ex.body.is_empty() {
            lines.push(format!("< {}", one_line(&ex.body)));
        }
        self.mask(&lines.join("\n"))
    }
}

fn one_line(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut cut: String = flat.chars().take(BODY_EXCERPT).collect();
    if flat.chars().count() > BODY_EXCERPT {
        cut.push_str(" ...");
    }
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_credential_shapes_are_masked() {
        let mut m = Masker::default();
        m.add("abcdef123456");
        let text =
            r#"{"token":"zzz","x":"abcdef123456","refresh_token":"q"} /home?token=secret1&a=1"#;
        let out = m.mask(text);
        assert!(!out.contains("zzz") && !out.contains("abcdef123456") && !out.contains("secret1"));
        assert!(out.contains("&a=1"));
    }
}
