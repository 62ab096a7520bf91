//! Inline suppression: `// miniguard-ignore T001: reason` (or `<!-- miniguard-ignore T001 -->`
//! in templates) on the flagged line or the line above it. Several rules may be listed,
//! separated by commas; a rule can be named by code or by name.

/// Whether the finding of `code`/`name` on 0-based `line` of `src` is suppressed.
pub fn is_suppressed(src: &str, line: usize, code: &str, name: &str) -> bool {
    let mut lines = src.lines();
    let this = lines.clone().nth(line);
    let above = if line > 0 { lines.nth(line - 1) } else { None };
    lines_suppress(this, above, code, name)
}

/// [`is_suppressed`] for a flagged line and the line above it that the caller already has
/// (without splitting the whole file again for each finding).
pub fn lines_suppress(this: Option<&str>, above: Option<&str>, code: &str, name: &str) -> bool {
    [this, above]
        .into_iter()
        .flatten()
        .any(|l| mentions(l, code, name))
}

fn mentions(line: &str, code: &str, name: &str) -> bool {
    let Some(pos) = line.find("miniguard-ignore") else {
        return false;
    };
    let rest = &line[pos + "miniguard-ignore".len()..];
    let rest = rest.trim_start_matches([':', ' ', '\t']);
    let list = rest.split(':').next().unwrap_or("");
    list.split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .any(|id| {
            let id = id.trim_end_matches("-->").trim();
            id.eq_ignore_ascii_case(code)
                || id.eq_ignore_ascii_case(name)
                || id.eq_ignore_ascii_case("all")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_line_and_line_above() {
        let src = "a\nwx.request({url}) // miniguard-ignore T001: dev only\n// miniguard-ignore I001, T003: vetted\nx\n";
        assert!(is_suppressed(src, 1, "T001", "insecure-http-endpoint"));
        assert!(is_suppressed(src, 3, "T003", "tls-verification-disabled"));
        assert!(is_suppressed(src, 3, "I001", "sql-injection"));
        assert!(!is_suppressed(src, 3, "T001", "insecure-http-endpoint"));
        assert!(!is_suppressed(src, 0, "T001", "insecure-http-endpoint"));
    }

    #[test]
    fn by_name_and_in_templates() {
        let src = "<!-- miniguard-ignore rich-text-injection: sanitized server side -->\n<rich-text nodes=\"{{html}}\"/>";
        assert!(is_suppressed(src, 1, "X001", "rich-text-injection"));
    }
}
