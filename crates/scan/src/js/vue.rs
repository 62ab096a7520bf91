//! Vue single-file components (uni-app pages and components, `.vue` / `.nvue`).
//!
//! The script and template blocks are analysed in place: everything outside the block is
//! replaced by spaces (newlines kept), so that offsets in the masked text are offsets in the
//! file and findings point at the right lines without any mapping.

/// A block of an SFC: its tag attributes and the byte range of its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub attrs: String,
    pub start: usize,
    pub end: usize,
}

/// Top-level `<tag ...>...</tag>` blocks (`script` or `template`) of a single-file component.
/// For `template`, nested `<template>` tags inside are matched so the outer block is found.
pub fn blocks(src: &str, tag: &str) -> Vec<Block> {
    let open = format!("<{tag}");
    let close = format!("</{tag}");
    let lower = src.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(i) = lower
        .get(pos..)
        .and_then(|s| s.find(&open))
        .map(|i| i + pos)
    {
        let after = i + open.len();
        // `<scripts>` or `<template-x>` are other tags.
        if !lower[after..].starts_with(|c: char| c == '>' || c.is_ascii_whitespace() || c == '/') {
            pos = after;
            continue;
        }
        let Some(gt) = lower[after..].find('>').map(|g| g + after) else {
            break;
        };
        let attrs = src[after..gt].to_owned();
        if attrs.trim_end().ends_with('/') {
            pos = gt + 1;
            continue;
        }
        let content_start = gt + 1;
        // Find the matching close tag, counting nested same-name tags.
        let mut depth = 1;
        let mut p = content_start;
        let mut content_end = None;
        while depth > 0 {
            let next_open = lower[p..].find(&open).map(|x| x + p);
            let Some(next_close) = lower[p..].find(&close).map(|x| x + p) else {
                break;
            };
            match next_open {
                Some(o) if o < next_close && tag != "script" => {
                    depth += 1;
                    p = o + open.len();
                }
                _ => {
                    depth -= 1;
                    if depth == 0 {
                        content_end = Some(next_close);
                    }
                    p = next_close + close.len();
                }
            }
        }
        let Some(end) = content_end else { break };
        out.push(Block {
            attrs,
            start: content_start,
            end,
        });
        pos = lower[end..].find('>').map_or(src.len(), |g| g + end + 1);
        if tag == "template" {
            // Only the outermost template block matters.
            break;
        }
    }
    out
}

/// `src` with everything outside `keep` ranges replaced by spaces of the same byte length,
/// newlines kept.
pub fn mask(src: &str, keep: &[(usize, usize)]) -> String {
    let mut out = String::with_capacity(src.len());
    for (i, ch) in src.char_indices() {
        let inside = keep.iter().any(|&(s, e)| i >= s && i < e);
        if inside || ch == '\n' {
            out.push(ch);
        } else if ch == '\r' {
            out.push('\r');
        } else {
            for _ in 0..ch.len_utf8() {
                out.push(' ');
            }
        }
    }
    out
}

/// Whether a script block is TypeScript.
pub fn is_typescript(attrs: &str) -> bool {
    let a = attrs.to_ascii_lowercase().replace(' ', "");
    a.contains("lang=\"ts\"")
        || a.contains("lang='ts'")
        || a.contains("lang=\"tsx\"")
        || a.contains("lang=ts")
}

/// `item in list`, `(item, index) in list`, `item of list` → (item, index, list expression).
pub fn parse_v_for(value: &str) -> Option<(String, Option<String>, String)> {
    let (lhs, rhs) = value
        .split_once(" in ")
        .or_else(|| value.split_once(" of "))?;
    let lhs = lhs.trim().trim_start_matches('(').trim_end_matches(')');
    let mut names = lhs.split(',').map(str::trim);
    let item = names.next()?.to_owned();
    let index = names.next().map(str::to_owned);
    Some((item, index, rhs.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_blocks_and_masks_in_place() {
        let src = "<template>\n  <view><template v-if=\"a\"><text/></template></view>\n</template>\n<script lang=\"ts\">\nexport default { data() { return { url: '' } } }\n</script>\n<style>.a{}</style>\n";
        let t = blocks(src, "template");
        assert_eq!(t.len(), 1);
        assert!(src[t[0].start..t[0].end].contains("<view>"));
        assert!(src[t[0].start..t[0].end].trim_end().ends_with("</view>"));
        let s = blocks(src, "script");
        assert_eq!(s.len(), 1);
        assert!(is_typescript(&s[0].attrs));
        let masked = mask(src, &[(s[0].start, s[0].end)]);
        assert_eq!(masked.len(), src.len());
        assert_eq!(masked.lines().count(), src.lines().count());
        assert!(masked.contains("export default"));
        assert!(!masked.contains("<view>"));
    }

    #[test]
    fn unterminated_blocks_are_ignored() {
        assert!(blocks("<script>let a = 1", "script").is_empty());
        assert!(blocks("<scripts></scripts>", "script").is_empty());
        assert!(blocks("", "template").is_empty());
    }

    #[test]
    fn v_for_forms() {
        assert_eq!(
            parse_v_for("item in list"),
            Some(("item".into(), None, "list".into()))
        );
        assert_eq!(
            parse_v_for("(it, i) in data.items"),
            Some(("it".into(), Some("i".into()), "data.items".into()))
        );
        assert_eq!(parse_v_for("nonsense"), None);
    }
}
