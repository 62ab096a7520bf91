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
/// A block whose end tag is missing is left out; [`split`] also says where it starts.
pub fn blocks(src: &str, tag: &str) -> Vec<Block> {
    split(src, tag).blocks
}

/// The blocks of [`blocks`], and the offset of a `<tag` whose end tag is missing (the blocks
/// after it cannot be told apart from its content).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Split {
    pub blocks: Vec<Block>,
    pub unclosed: Option<usize>,
}

/// Finds the blocks in one forward pass: every search starts where the last one ended, so the
/// time is linear in the file whatever the number of blocks or the nesting of `<template>`.
pub fn split(src: &str, tag: &str) -> Split {
    let open = format!("<{tag}");
    let close = format!("</{tag}");
    let lower = src.to_ascii_lowercase();
    let find_from = |needle: &str, from: usize| -> Option<usize> {
        lower
            .get(from..)
            .and_then(|s| s.find(needle))
            .map(|i| i + from)
    };
    let mut out = Split::default();
    let mut pos = 0;
    while let Some(i) = find_from(&open, pos) {
        let after = i + open.len();
        // `<scripts>` or `<template-x>` are other tags.
        if !lower.get(after..).is_some_and(|r| {
            r.starts_with(|c: char| c == '>' || c.is_ascii_whitespace() || c == '/')
        }) {
            pos = after;
            continue;
        }
        let Some(gt) = find_from(">", after) else {
            out.unclosed = Some(i);
            break;
        };
        let attrs = src.get(after..gt).unwrap_or_default().to_owned();
        if attrs.trim_end().ends_with('/') {
            pos = gt + 1;
            continue;
        }
        let content_start = gt + 1;
        // Find the matching close tag, counting nested same-name tags (not for scripts, whose
        // content is code). Both searches only move forward.
        let mut depth = 1usize;
        let mut p = content_start;
        let mut next_open = if tag == "script" {
            None
        } else {
            find_from(&open, p)
        };
        let mut next_close = find_from(&close, p);
        let mut content_end = None;
        while let Some(c) = next_close {
            match next_open {
                Some(o) if o < c => {
                    depth += 1;
                    p = o + open.len();
                    next_open = find_from(&open, p);
                }
                _ => {
                    depth -= 1;
                    p = c + close.len();
                    if depth == 0 {
                        content_end = Some(c);
                        break;
                    }
                    next_close = find_from(&close, p);
                }
            }
        }
        let Some(end) = content_end else {
            out.unclosed = Some(i);
            break;
        };
        out.blocks.push(Block {
            attrs,
            start: content_start,
            end,
        });
        pos = find_from(">", end).map_or(src.len(), |g| g + 1);
        if tag == "template" {
            // Only the outermost template block matters.
            break;
        }
    }
    out
}

/// `src` with everything outside `keep` ranges replaced by spaces of the same byte length,
/// newlines kept. Linear in `src` and `keep` (ranges in any order).
pub fn mask(src: &str, keep: &[(usize, usize)]) -> String {
    let mut ranges: Vec<(usize, usize)> = keep.to_vec();
    ranges.sort_unstable();
    let mut next = ranges.iter().peekable();
    let mut current: Option<(usize, usize)> = None;
    let mut out = String::with_capacity(src.len());
    for (i, ch) in src.char_indices() {
        while current.is_none_or(|(_, e)| i >= e) {
            match next.peek() {
                Some(&&(_, e)) if e <= i => {
                    next.next();
                }
                Some(&&r) if r.0 <= i => {
                    current = Some(r);
                    next.next();
                }
                _ => break,
            }
        }
        let inside = current.is_some_and(|(s, e)| i >= s && i < e);
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

/// The data fields a Vue template binds two ways (`v-model="password"`, `v-model.trim="name"`,
/// `v-model:value="x"`), with the byte offset of each binding's value: what the user types lands
/// in them. Only plain field names (`form.password` gives `form`); at most `limit` of them.
pub fn model_bindings(src: &str, block: &Block, limit: usize) -> Vec<(String, usize)> {
    let text = src.get(block.start..block.end).unwrap_or_default();
    let mut out = Vec::new();
    let mut pos = 0;
    while out.len() < limit {
        let Some(i) = text.get(pos..).and_then(|t| t.find("v-model")) else {
            break;
        };
        let at = pos + i;
        pos = at + "v-model".len();
        // The attribute's value: `v-model<modifiers>="..."`.
        let Some(eq) = text.get(pos..).and_then(|t| t.find('=')) else {
            break;
        };
        let between = &text[pos..pos + eq];
        if between.contains(|c: char| c.is_whitespace() || c == '>' || c == '<') {
            continue;
        }
        let value_at = pos + eq + 1;
        let Some(quote) = text[value_at..]
            .chars()
            .next()
            .filter(|c| *c == '"' || *c == '\'')
        else {
            continue;
        };
        let start = value_at + 1;
        let Some(len) = text[start..].find(quote) else {
            break;
        };
        let expr = text[start..start + len].trim();
        let name: String = expr
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '$')
            .collect();
        if !name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit()) {
            out.push((name, block.start + start));
        }
        pos = start + len;
    }
    out
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

    #[test]
    fn v_model_bindings_are_read_with_their_offsets() {
        let src = "<template><input v-model=\"password\"/><input v-model.trim='form.name'/>\
                   <input v-model:value=\"x\"/><b>v-model</b></template>";
        let block = blocks(src, "template").remove(0);
        let got = model_bindings(src, &block, 10);
        let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["password", "form", "x"]);
        assert_eq!(&src[got[0].1..got[0].1 + 8], "password");
        assert_eq!(model_bindings(src, &block, 1).len(), 1);
    }
}
