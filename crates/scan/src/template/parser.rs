//! The scanner behind [`super::parse`].
//!
//! One forward pass over the bytes with an explicit stack of open elements: no recursion, so
//! nesting depth cannot overflow the call stack. Every position where the source is sliced is
//! either 0, the end, or next to an ASCII byte found by the scan, so slices always fall on
//! `char` boundaries; slicing still goes through `get` so a mistake degrades into an empty
//! string (caught by the fuzz test) instead of a panic.
//!
//! Linear time needs care with `{{ }}`: finding the closing `}}` skips JavaScript string
//! literals and nested braces, and an unterminated literal would make every later `{{` rescan to
//! the end. So the first time a string-aware search fails in text (or an unquoted value), the
//! parser stops honouring string literals for the rest of the template and looks for the first
//! `}}` instead, remembering the last range known to hold none. Inside a quoted attribute value
//! the same switch only lasts until the end of that value, since the value bounds the cost.
//! In text, an expression also never runs past the next closing tag: a forgotten `}}` then
//! costs one text node, not the rest of the file.

use super::{
    AttrValue, Attribute, Dialect, Element, MAX_DEPTH, MAX_ERRORS, Node, Part, Span, Template,
    TemplateError, TextNode,
};

/// Elements that never have content; `</image>` after `<image>` is accepted silently and
/// `<input>` without `/>` does not swallow its following siblings.
const VOID_ELEMENTS: [&str; 7] = ["image", "input", "import", "include", "img", "br", "hr"];

/// What a `<` starts.
enum Markup {
    Comment,
    Open,
    Close,
}

/// Builds a span from `usize` offsets; `parse` has checked the source fits in `u32`.
fn sp(start: usize, end: usize) -> Span {
    Span::new(start as u32, end as u32)
}

fn is_name_start(b: Option<&u8>) -> bool {
    b.is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
}

fn is_void(name: &str) -> bool {
    VOID_ELEMENTS.iter().any(|v| v.eq_ignore_ascii_case(name))
}

/// Offset of the first `needle` in `bytes[from..limit]`.
fn find(bytes: &[u8], from: usize, limit: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..limit)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

pub(super) struct Parser<'s> {
    src: &'s str,
    bytes: &'s [u8],
    dialect: Dialect,
    root: Vec<Node>,
    /// Open elements, outermost first; their children accumulate in place.
    stack: Vec<Element>,
    /// Names of start tags past [`MAX_DEPTH`] that were flattened, so their closers are
    /// consumed quietly.
    phantom: Vec<String>,
    errors: Vec<TemplateError>,
    depth_reported: bool,
    /// Set after the first failed string-aware `}}` search (see module docs).
    naive_close: bool,
    /// `[from, limit)` is known to hold no `}}`.
    no_close: (usize, usize),
    /// Memo for [`Self::next_closer`]: searched from `.0`, found at `.1` (or the end).
    closer_memo: (usize, usize),
}

impl<'s> Parser<'s> {
    pub(super) fn new(src: &'s str, dialect: Dialect) -> Self {
        Self {
            src,
            bytes: src.as_bytes(),
            dialect,
            root: Vec::new(),
            stack: Vec::new(),
            phantom: Vec::new(),
            errors: Vec::new(),
            depth_reported: false,
            naive_close: false,
            no_close: (usize::MAX, 0),
            closer_memo: (usize::MAX, 0),
        }
    }

    pub(super) fn run(mut self) -> Template {
        let len = self.bytes.len();
        let mut pos = if self.src.starts_with('\u{feff}') {
            3
        } else {
            0
        };
        while pos < len {
            pos = match self.markup_at(pos) {
                Some(Markup::Comment) => self.comment(pos),
                Some(Markup::Open) => self.open_tag(pos),
                Some(Markup::Close) => self.close_tag(pos),
                None => self.text(pos),
            };
        }
        while let Some(el) = self.stack.last() {
            let (name, span) = (el.name.clone(), el.name_span);
            self.error(format!("`<{name}>` is never closed"), span);
            self.close_top(len);
        }
        Template {
            nodes: self.root,
            errors: self.errors,
        }
    }

    fn slice(&self, start: usize, end: usize) -> &'s str {
        self.src.get(start..end).unwrap_or_default()
    }

    fn error(&mut self, message: String, span: Span) {
        match self.errors.len() {
            n if n < MAX_ERRORS => self.errors.push(TemplateError { message, span }),
            n if n == MAX_ERRORS => self.errors.push(TemplateError {
                message: format!("more than {MAX_ERRORS} errors; the rest are not reported"),
                span,
            }),
            _ => {}
        }
    }

    fn markup_at(&self, i: usize) -> Option<Markup> {
        let b = self.bytes;
        if b.get(i) != Some(&b'<') {
            return None;
        }
        if b.get(i + 1..i + 4) == Some(b"!--") {
            Some(Markup::Comment)
        } else if b.get(i + 1) == Some(&b'/') && is_name_start(b.get(i + 2)) {
            Some(Markup::Close)
        } else if is_name_start(b.get(i + 1)) {
            Some(Markup::Open)
        } else {
            None
        }
    }

    fn push_node(&mut self, node: Node) {
        match self.stack.last_mut() {
            Some(parent) => parent.children.push(node),
            None => self.root.push(node),
        }
    }

    fn close_top(&mut self, end: usize) {
        if let Some(mut el) = self.stack.pop() {
            el.span.end = end as u32;
            self.push_node(Node::Element(el));
        }
    }

    fn comment(&mut self, start: usize) -> usize {
        let len = self.bytes.len();
        let end = if let Some(i) = find(self.bytes, start + 4, len, b"-->") {
            i + 3
        } else {
            self.error(
                "comment is never closed with `-->`".to_owned(),
                sp(start, len),
            );
            len
        };
        self.push_node(Node::Comment(sp(start, end)));
        end
    }

    /// Scans a tag name starting at `start`; returns its end.
    fn name_end(&self, start: usize) -> usize {
        let mut i = start;
        while let Some(&b) = self.bytes.get(i) {
            if b.is_ascii_whitespace() || matches!(b, b'/' | b'>' | b'<') {
                break;
            }
            i += 1;
        }
        i
    }

    fn skip_ws(&self, mut i: usize) -> usize {
        while self.bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        i
    }

    /// Consumes the rest of a closing tag from `from` (after its name) through `>`.
    fn closer_end(&mut self, tag_start: usize, from: usize) -> usize {
        let mut i = from;
        while let Some(&b) = self.bytes.get(i) {
            match b {
                b'>' => return i + 1,
                b'<' => break,
                _ => i += 1,
            }
        }
        self.error("closing tag has no `>`".to_owned(), sp(tag_start, i));
        i
    }

    fn close_tag(&mut self, start: usize) -> usize {
        let name_start = start + 2;
        let name_end = self.name_end(name_start);
        let end = self.closer_end(start, name_end);
        let name = self.slice(name_start, name_end);

        if self
            .phantom
            .last()
            .is_some_and(|p| p.eq_ignore_ascii_case(name))
        {
            self.phantom.pop();
            return end;
        }
        let Some(k) = self
            .stack
            .iter()
            .rposition(|e| e.name.eq_ignore_ascii_case(name))
        else {
            if !is_void(name) {
                self.error(
                    format!("`</{name}>` closes no open element"),
                    sp(start, end),
                );
            }
            return end;
        };
        while self.stack.len() > k + 1 {
            if let Some(el) = self.stack.last() {
                let message = format!("`<{}>` is not closed before `</{name}>`", el.name);
                let span = el.name_span;
                self.error(message, span);
            }
            self.close_top(start);
        }
        self.close_top(end);
        end
    }

    fn open_tag(&mut self, start: usize) -> usize {
        let len = self.bytes.len();
        let name_start = start + 1;
        let name_end = self.name_end(name_start);
        let name = self.slice(name_start, name_end).to_owned();
        let mut attrs = Vec::new();
        let mut self_closing = false;
        let mut i = name_end;
        let tag_end = loop {
            i = self.skip_ws(i);
            let Some(&b) = self.bytes.get(i) else {
                self.error(format!("start tag `<{name}` has no `>`"), sp(start, len));
                break len;
            };
            match b {
                b'>' => break i + 1,
                b'/' if self.bytes.get(i + 1) == Some(&b'>') => {
                    self_closing = true;
                    break i + 2;
                }
                b'<' => {
                    self.error(format!("start tag `<{name}` has no `>`"), sp(start, i));
                    break i;
                }
                b'/' => i += 1,
                b'=' | b'"' | b'\'' => {
                    self.error(
                        format!("unexpected `{}` in start tag", char::from(b)),
                        sp(i, i + 1),
                    );
                    i += 1;
                }
                _ => {
                    let (attr, next) = self.attribute(i);
                    attrs.push(attr);
                    i = next;
                }
            }
        };

        let mut el = Element {
            name,
            name_span: sp(name_start, name_end),
            attrs,
            children: Vec::new(),
            span: sp(start, tag_end),
            self_closing,
        };
        if self_closing || is_void(&el.name) {
            self.push_node(Node::Element(el));
            return tag_end;
        }
        if self.dialect.is_raw_text_element(&el.name) {
            let end = self.raw_body(&mut el, tag_end);
            self.push_node(Node::Element(el));
            return end;
        }
        if self.stack.len() >= MAX_DEPTH {
            if !self.depth_reported {
                self.depth_reported = true;
                self.error(
                    format!(
                        "elements nested deeper than {MAX_DEPTH} levels; deeper tags are kept \
                         empty and their content is moved up"
                    ),
                    el.name_span,
                );
            }
            self.phantom.push(el.name.clone());
            self.push_node(Node::Element(el));
            return tag_end;
        }
        self.stack.push(el);
        tag_end
    }

    /// Parses one attribute starting at `start` (a non-delimiter byte).
    fn attribute(&mut self, start: usize) -> (Attribute, usize) {
        let len = self.bytes.len();
        let mut i = start;
        while let Some(&b) = self.bytes.get(i) {
            if b.is_ascii_whitespace() || matches!(b, b'=' | b'>' | b'/' | b'<' | b'"' | b'\'') {
                break;
            }
            i += 1;
        }
        let name_end = i;
        let name = self.slice(start, name_end).to_owned();
        let after_name = self.skip_ws(name_end);
        if self.bytes.get(after_name) != Some(&b'=') {
            let attr = Attribute {
                name,
                name_span: sp(start, name_end),
                value: None,
                span: sp(start, name_end),
            };
            return (attr, name_end);
        }
        let vstart = self.skip_ws(after_name + 1);
        let (vspan, attr_end) = match self.bytes.get(vstart) {
            Some(&q @ (b'"' | b'\'')) => {
                if let Some(close) = find(self.bytes, vstart + 1, len, &[q]) {
                    (sp(vstart + 1, close), close + 1)
                } else {
                    self.error(
                        format!("attribute `{name}` has no closing quote"),
                        sp(vstart, len),
                    );
                    (sp(vstart + 1, len), len)
                }
            }
            None | Some(b'>' | b'<') => {
                self.error(
                    format!("attribute `{name}` has `=` but no value"),
                    sp(start, vstart),
                );
                (sp(vstart, vstart), vstart)
            }
            Some(_) => {
                let end = self.unquoted_end(vstart);
                (sp(vstart, end), end)
            }
        };
        let value = AttrValue {
            raw: self
                .slice(vspan.start as usize, vspan.end as usize)
                .to_owned(),
            span: vspan,
            parts: self.split_parts(vspan.start as usize, vspan.end as usize),
        };
        let attr = Attribute {
            name,
            name_span: sp(start, name_end),
            value: Some(value),
            span: sp(start, attr_end),
        };
        (attr, attr_end)
    }

    /// End of an unquoted value: whitespace, `>`, `<` or `/>`, skipping over `{{ }}`.
    fn unquoted_end(&mut self, start: usize) -> usize {
        let len = self.bytes.len();
        let mut i = start;
        while let Some(&b) = self.bytes.get(i) {
            if b.is_ascii_whitespace()
                || matches!(b, b'>' | b'<')
                || (b == b'/' && self.bytes.get(i + 1) == Some(&b'>'))
            {
                break;
            }
            if b == b'{' && self.bytes.get(i + 1) == Some(&b'{') {
                let mut naive = self.naive_close;
                i = self
                    .find_expr_close(i + 2, len, &mut naive)
                    .map_or(i + 2, |c| c + 2);
                self.naive_close = naive;
            } else {
                i += 1;
            }
        }
        i
    }

    /// Cuts `src[start..end]` (an attribute value) into text and expressions. An unterminated
    /// `{{` runs to the end of the value.
    ///
    /// A failed string-aware search only switches this value to naive searching: the value is
    /// bounded, so one failure costs at most its length.
    fn split_parts(&mut self, start: usize, end: usize) -> Vec<Part> {
        let mut naive = self.naive_close;
        let mut parts = Vec::new();
        let mut text_start = start;
        let mut i = start;
        while i + 1 < end {
            if self.bytes.get(i..i + 2) != Some(b"{{") {
                i += 1;
                continue;
            }
            self.push_text(&mut parts, text_start, i);
            let code_start = i + 2;
            if let Some(close) = self.find_expr_close(code_start, end, &mut naive) {
                parts.push(self.expr(code_start, close));
                i = close + 2;
            } else {
                self.error("`{{` is never closed with `}}`".to_owned(), sp(i, end));
                parts.push(self.expr(code_start, end));
                i = end;
            }
            text_start = i;
        }
        self.push_text(&mut parts, text_start, end);
        parts
    }

    fn push_text(&self, parts: &mut Vec<Part>, start: usize, end: usize) {
        if start < end {
            parts.push(Part::Text {
                text: self.slice(start, end).to_owned(),
                span: sp(start, end),
            });
        }
    }

    /// An expression part for the code in `[start, end)`, trimmed.
    fn expr(&self, start: usize, end: usize) -> Part {
        let raw = self.slice(start, end);
        let code = raw.trim();
        let from = start + (raw.len() - raw.trim_start().len());
        Part::Expr {
            code: code.to_owned(),
            span: sp(from, from + code.len()),
        }
    }

    /// Text from `start` (which is not markup) up to the next markup.
    fn text(&mut self, start: usize) -> usize {
        let len = self.bytes.len();
        let mut parts = Vec::new();
        let mut text_start = start;
        let mut i = start;
        let mut open_expr = None;
        while i < len {
            if self.bytes.get(i) == Some(&b'<') && i > start && self.markup_at(i).is_some() {
                break;
            }
            if open_expr.is_none() && self.bytes.get(i..i + 2) == Some(b"{{") {
                let code_start = i + 2;
                // An expression in text cannot run past a closing tag: that is where a
                // forgotten `}}` is most likely meant to end.
                let limit = self.next_closer(code_start);
                self.push_text(&mut parts, text_start, i);
                let mut naive = self.naive_close;
                let found = self.find_expr_close(code_start, limit, &mut naive);
                self.naive_close = naive;
                if let Some(close) = found {
                    parts.push(self.expr(code_start, close));
                    i = close + 2;
                    text_start = i;
                } else {
                    self.error("`{{` is never closed with `}}`".to_owned(), sp(i, i + 2));
                    open_expr = Some(code_start);
                    i = code_start;
                }
                continue;
            }
            i += 1;
        }
        if let Some(code_start) = open_expr {
            parts.push(self.expr(code_start, i));
        } else {
            self.push_text(&mut parts, text_start, i);
        }
        let blank = parts
            .iter()
            .all(|p| matches!(p, Part::Text { text, .. } if text.trim().is_empty()));
        if !blank {
            self.push_node(Node::Text(TextNode {
                parts,
                span: sp(start, i),
            }));
        }
        i
    }

    /// Offset of the next `</name` at or after `from`, or the end.
    fn next_closer(&mut self, from: usize) -> usize {
        let (searched, found) = self.closer_memo;
        if searched <= from && from <= found {
            return found;
        }
        let len = self.bytes.len();
        let mut i = from;
        let found = loop {
            match find(self.bytes, i, len, b"</") {
                Some(k) if is_name_start(self.bytes.get(k + 2)) => break k,
                Some(k) => i = k + 2,
                None => break len,
            }
        };
        self.closer_memo = (from, found);
        found
    }

    /// Offset of the `}}` closing an expression whose code starts at `from`, searching below
    /// `limit`. Braces nest (`{{ {a: {b: 1}} }}`) and, until the first failure, string
    /// literals are skipped (`{{ "}}" }}`). `naive` is the caller's "string-aware search has
    /// failed before" flag: it is set on failure and, once set, only the first `}}` counts.
    fn find_expr_close(&mut self, from: usize, limit: usize, naive: &mut bool) -> Option<usize> {
        let limit = limit.min(self.bytes.len());
        if !*naive {
            if let Some(close) = self.aware_close(from, limit) {
                return Some(close);
            }
            *naive = true;
        }
        let (known_from, known_limit) = self.no_close;
        if known_from <= from && limit <= known_limit {
            return None;
        }
        let found = find(self.bytes, from, limit, b"}}");
        if found.is_none() {
            self.no_close = (from, limit);
        }
        found
    }

    fn aware_close(&self, from: usize, limit: usize) -> Option<usize> {
        let mut depth = 0u32;
        let mut quote = None;
        let mut i = from;
        while i < limit {
            let b = *self.bytes.get(i)?;
            if let Some(q) = quote {
                if b == b'\\' {
                    i += 2;
                    continue;
                }
                // JS string literals cannot span lines, so a stray apostrophe stops at the EOL.
                if b == q || b == b'\n' {
                    quote = None;
                }
            } else {
                match b {
                    b'\'' | b'"' | b'`' => quote = Some(b),
                    b'{' => depth = depth.saturating_add(1),
                    b'}' if depth > 0 => depth -= 1,
                    b'}' if i + 1 < limit && self.bytes.get(i + 1) == Some(&b'}') => {
                        return Some(i);
                    }
                    _ => {}
                }
            }
            i += 1;
        }
        None
    }

    /// Consumes the raw body of a script element and its closing tag, starting after the
    /// start tag at `from`; returns the offset after the closing tag.
    fn raw_body(&mut self, el: &mut Element, from: usize) -> usize {
        let len = self.bytes.len();
        let name = el.name.as_bytes();
        let mut i = from;
        let closer = loop {
            let Some(k) = find(self.bytes, i, len, b"</") else {
                break None;
            };
            let name_end = k + 2 + name.len();
            let matches = self
                .bytes
                .get(k + 2..name_end)
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
                && self
                    .bytes
                    .get(name_end)
                    .is_none_or(|&b| b.is_ascii_whitespace() || matches!(b, b'>' | b'/'));
            if matches {
                break Some((k, name_end));
            }
            i = k + 2;
        };
        let (body_end, end) = if let Some((k, name_end)) = closer {
            (k, self.closer_end(k, name_end))
        } else {
            let message = format!("`<{}>` body is never closed", el.name);
            self.error(message, el.name_span);
            (len, len)
        };
        let body = self.slice(from, body_end);
        if !body.trim().is_empty() {
            el.children.push(Node::Text(TextNode {
                parts: vec![Part::Text {
                    text: body.to_owned(),
                    span: sp(from, body_end),
                }],
                span: sp(from, body_end),
            }));
        }
        el.span.end = end as u32;
        end
    }
}
