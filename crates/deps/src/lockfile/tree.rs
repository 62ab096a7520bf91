//! A small document tree with a line on every node, built from JSON (our own scanner) or YAML
//! (yaml-rust2's event parser).
//!
//! Why not `serde_json::Value`: it forgets where things were, and findings must point at the
//! line of a package's entry. Why one tree for both: npm's JSON and pnpm's / yarn berry's YAML are
//! then walked by the same accessors, and the lockfile parsers never see syntax.
//!
//! Both builders refuse nesting deeper than [`MAX_DEPTH`] (a JSON lockfile nests twice per
//! level of npm v1's `dependencies`, real files stay far below it), so hostile input cannot
//! exhaust the stack.

use super::LockfileError;
use yaml_rust2::parser::{Event, Parser};

/// Deepest nesting of arrays/objects accepted.
pub(crate) const MAX_DEPTH: usize = 256;

/// One value with the 1-based line where it starts.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub line: u32,
    pub kind: Kind,
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    /// JSON `null`, YAML `~`/empty, or an alias (lockfiles do not use anchors; we do not expand).
    Null,
    /// Strings, numbers and booleans, as written (JSON strings unescaped).
    Scalar(String),
    Seq(Vec<Node>),
    /// Keys stay in file order; duplicates are kept (the first wins in [`Node::get`]).
    Map(Vec<(Key, Node)>),
}

/// A mapping key with its own line (a package entry's line is its key's line).
#[derive(Debug, Clone)]
pub(crate) struct Key {
    pub text: String,
    pub line: u32,
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            Kind::Map(entries) => entries.iter().find(|(k, _)| k.text == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar(s) => Some(s),
            _ => None,
        }
    }

    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Node::str)
    }

    /// `true` only for the scalar `true` (JSON boolean or YAML plain scalar).
    pub fn get_bool(&self, key: &str) -> bool {
        self.get_str(key) == Some("true")
    }

    pub fn entries(&self) -> &[(Key, Node)] {
        match &self.kind {
            Kind::Map(entries) => entries,
            _ => &[],
        }
    }

    pub fn is_map(&self) -> bool {
        matches!(self.kind, Kind::Map(_))
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn position(text: &str, offset: usize) -> (u32, u32) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line as u32, column as u32)
}

// ---------------------------------------------------------------------------------------------
// JSON

/// Parses a whole JSON document.
pub(crate) fn parse_json(file: &str, text: &str) -> Result<Node, LockfileError> {
    let mut p = Json {
        file,
        text,
        bytes: text.as_bytes(),
        pos: 0,
        line: 1,
    };
    // A UTF-8 byte order mark is legal at the start of a file some editors save.
    if text.starts_with('\u{feff}') {
        p.pos = 3;
    }
    p.ws();
    let node = p.value(0)?;
    p.ws();
    if p.pos < p.bytes.len() {
        return Err(p.err("unexpected text after the JSON value"));
    }
    Ok(node)
}

struct Json<'a> {
    file: &'a str,
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// Line at `pos`: newlines can only occur in whitespace, so `ws` keeps it current.
    line: u32,
}

impl Json<'_> {
    fn err(&self, message: &str) -> LockfileError {
        let (line, column) = position(self.text, self.pos);
        LockfileError::Syntax {
            file: self.file.to_owned(),
            line,
            column,
            message: message.to_owned(),
        }
    }

    fn ws(&mut self) {
        while let Some(&b) = self.bytes.get(self.pos) {
            match b {
                b'\n' => self.line += 1,
                b' ' | b'\t' | b'\r' => {}
                _ => break,
            }
            self.pos += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, LockfileError> {
        let line = self.line;
        let kind = match self.bytes.get(self.pos) {
            None => return Err(self.err("unexpected end of input, expected a value")),
            Some(b'{') => {
                if depth >= MAX_DEPTH {
                    return Err(self.too_deep());
                }
                self.object(depth)?
            }
            Some(b'[') => {
                if depth >= MAX_DEPTH {
                    return Err(self.too_deep());
                }
                self.array(depth)?
            }
            Some(b'"') => Kind::Scalar(self.string()?),
            Some(b't') => self.literal("true", Kind::Scalar("true".to_owned()))?,
            Some(b'f') => self.literal("false", Kind::Scalar("false".to_owned()))?,
            Some(b'n') => self.literal("null", Kind::Null)?,
            Some(b'-' | b'0'..=b'9') => Kind::Scalar(self.number()?),
            Some(_) => return Err(self.err("expected a JSON value")),
        };
        Ok(Node { line, kind })
    }

    fn too_deep(&self) -> LockfileError {
        let (line, column) = position(self.text, self.pos);
        LockfileError::TooDeep {
            file: self.file.to_owned(),
            line,
            column,
            limit: MAX_DEPTH,
        }
    }

    fn literal(&mut self, word: &str, kind: Kind) -> Result<Kind, LockfileError> {
        if self.bytes.get(self.pos..self.pos + word.len()) == Some(word.as_bytes()) {
            self.pos += word.len();
            Ok(kind)
        } else {
            Err(self.err("expected a JSON value"))
        }
    }

    fn number(&mut self) -> Result<String, LockfileError> {
        let start = self.pos;
        while let Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
        let raw = self.text.get(start..self.pos).unwrap_or_default();
        if raw.parse::<f64>().is_err() {
            self.pos = start;
            return Err(self.err("malformed number"));
        }
        Ok(raw.to_owned())
    }

    fn object(&mut self, depth: usize) -> Result<Kind, LockfileError> {
        self.pos += 1; // `{`
        let mut entries = Vec::new();
        self.ws();
        if self.bytes.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(Kind::Map(entries));
        }
        loop {
            self.ws();
            if self.bytes.get(self.pos) != Some(&b'"') {
                return Err(self.err("expected a string key"));
            }
            let key = Key {
                line: self.line,
                text: self.string()?,
            };
            self.ws();
            if self.bytes.get(self.pos) != Some(&b':') {
                return Err(self.err("expected `:` after the key"));
            }
            self.pos += 1;
            self.ws();
            let value = self.value(depth + 1)?;
            entries.push((key, value));
            self.ws();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Kind::Map(entries));
                }
                _ => return Err(self.err("expected `,` or `}`")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Kind, LockfileError> {
        self.pos += 1; // `[`
        let mut items = Vec::new();
        self.ws();
        if self.bytes.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(Kind::Seq(items));
        }
        loop {
            self.ws();
            items.push(self.value(depth + 1)?);
            self.ws();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Kind::Seq(items));
                }
                _ => return Err(self.err("expected `,` or `]`")),
            }
        }
    }

    fn string(&mut self) -> Result<String, LockfileError> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        loop {
            // Copy the run of plain characters at once: lockfiles are mostly such runs.
            let start = self.pos;
            while let Some(&b) = self.bytes.get(self.pos) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            // `start..pos` ends before an ASCII byte or at the end, so it is a char boundary.
            out.push_str(self.text.get(start..self.pos).unwrap_or_default());
            match self.bytes.get(self.pos) {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    self.escape(&mut out)?;
                }
                Some(_) => return Err(self.err("control character in a string")),
                None => return Err(self.err("unterminated string")),
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), LockfileError> {
        let Some(&b) = self.bytes.get(self.pos) else {
            return Err(self.err("unterminated string"));
        };
        self.pos += 1;
        match b {
            b'"' => out.push('"'),
            b'\\' => out.push('\\'),
            b'/' => out.push('/'),
            b'b' => out.push('\u{8}'),
            b'f' => out.push('\u{c}'),
            b'n' => out.push('\n'),
            b'r' => out.push('\r'),
            b't' => out.push('\t'),
            b'u' => {
                let first = self.hex4()?;
                let c = if (0xD800..0xDC00).contains(&first) {
                    // A high surrogate must be followed by `\u` and a low one.
                    if self.bytes.get(self.pos..self.pos + 2) != Some(b"\\u") {
                        return Err(self.err("lone surrogate in a \\u escape"));
                    }
                    self.pos += 2;
                    let second = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&second) {
                        return Err(self.err("lone surrogate in a \\u escape"));
                    }
                    char::from_u32(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
                } else {
                    char::from_u32(first)
                };
                match c {
                    Some(c) => out.push(c),
                    None => return Err(self.err("invalid \\u escape")),
                }
            }
            _ => {
                self.pos -= 1;
                return Err(self.err("invalid escape"));
            }
        }
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, LockfileError> {
        let digits = self
            .text
            .get(self.pos..self.pos + 4)
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.err("expected four hex digits"))?;
        let v =
            u32::from_str_radix(digits, 16).map_err(|_| self.err("expected four hex digits"))?;
        self.pos += 4;
        Ok(v)
    }
}

// ---------------------------------------------------------------------------------------------
// YAML

/// Parses the first YAML document of `text` (lockfiles have one). An empty file is `Null`.
pub(crate) fn parse_yaml(file: &str, text: &str) -> Result<Node, LockfileError> {
    let mut parser = Parser::new_from_str(text);
    // Containers under construction: the node, and for maps a key waiting for its value.
    let mut stack: Vec<(Node, Option<Key>)> = Vec::new();
    let mut root: Option<Node> = None;
    let syntax = |line: usize, col: usize, message: String| LockfileError::Syntax {
        file: file.to_owned(),
        line: line as u32,
        column: col as u32,
        message,
    };
    loop {
        let (event, mark) = parser
            .next_token()
            .map_err(|e| syntax(e.marker().line(), e.marker().col() + 1, e.info().to_owned()))?;
        let line = mark.line() as u32;
        let node = match event {
            Event::StreamEnd => break,
            Event::Nothing | Event::StreamStart | Event::DocumentStart => continue,
            Event::DocumentEnd => {
                if root.is_some() {
                    break;
                }
                continue;
            }
            Event::Scalar(value, style, _, _) => {
                // A plain `~`/`null`/empty scalar is null; a quoted one is a string.
                let plain = matches!(style, yaml_rust2::scanner::TScalarStyle::Plain);
                if plain && matches!(value.as_str(), "" | "~" | "null" | "Null" | "NULL") {
                    Node {
                        line,
                        kind: Kind::Null,
                    }
                } else {
                    Node {
                        line,
                        kind: Kind::Scalar(value),
                    }
                }
            }
            Event::Alias(_) => Node {
                line,
                kind: Kind::Null,
            },
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(LockfileError::TooDeep {
                        file: file.to_owned(),
                        line,
                        column: mark.col() as u32 + 1,
                        limit: MAX_DEPTH,
                    });
                }
                let kind = if matches!(event, Event::SequenceStart(..)) {
                    Kind::Seq(Vec::new())
                } else {
                    Kind::Map(Vec::new())
                };
                stack.push((Node { line, kind }, None));
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some((node, _)) => node,
                None => {
                    return Err(syntax(
                        line as usize,
                        mark.col() + 1,
                        "unbalanced YAML events".to_owned(),
                    ));
                }
            },
        };
        match stack.last_mut() {
            None => {
                if root.is_none() {
                    root = Some(node);
                }
            }
            Some((parent, pending)) => match &mut parent.kind {
                Kind::Seq(items) => items.push(node),
                Kind::Map(entries) => {
                    if let Some(key) = pending.take() {
                        entries.push((key, node));
                    } else {
                        // Lockfiles only use scalar keys; a complex key becomes an empty one.
                        let text = match node.kind {
                            Kind::Scalar(s) => s,
                            _ => String::new(),
                        };
                        *pending = Some(Key {
                            text,
                            line: node.line,
                        });
                    }
                }
                Kind::Null | Kind::Scalar(_) => {}
            },
        }
    }
    Ok(root.unwrap_or(Node {
        line: 1,
        kind: Kind::Null,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_and_escapes() {
        let n = parse_json(
            "f",
            "{\n  \"a\": {\"b\": \"x\\u00e9\\ud83d\\ude00\"},\n  \"c\": [1, true, null]\n}",
        )
        .unwrap();
        let (k, v) = &n.entries()[0];
        assert_eq!((k.text.as_str(), k.line), ("a", 2));
        assert_eq!(v.get_str("b"), Some("xé😀"));
        assert_eq!(n.entries()[1].0.line, 3);
    }

    #[test]
    fn json_errors_have_positions() {
        let e = parse_json("f", "{\n  \"a\": tru\n}").unwrap_err();
        assert_eq!((e.line(), e.column()), (Some(2), Some(8)));
        let deep = "[".repeat(MAX_DEPTH + 5);
        assert!(matches!(
            parse_json("f", &deep),
            Err(LockfileError::TooDeep { .. })
        ));
    }

    #[test]
    fn yaml_lines() {
        let n = parse_yaml("f", "a:\n  b: 1\n'c@1':\n  d: ~\n").unwrap();
        assert_eq!(n.entries()[1].0.line, 3);
        assert_eq!(n.entries()[1].0.text, "c@1");
        assert!(matches!(
            n.get("c@1").unwrap().get("d").unwrap().kind,
            Kind::Null
        ));
        let deep = "[".repeat(MAX_DEPTH + 5);
        assert!(parse_yaml("f", &deep).is_err());
    }
}
