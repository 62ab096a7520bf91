//! A small JSON parser that remembers where every value and every key came from.
//!
//! Config rules (`urlCheck: false` in `project.config.json`, a risky permission in `app.json`)
//! must point at the exact key or value, so a plain `serde_json::Value` is not enough: this
//! parser keeps, for every value and every object key, its byte span and its 1-based line and
//! column.
//!
//! What it accepts:
//!
//! - strict JSON (RFC 8259): no trailing commas, no single quotes, no `NaN`;
//! - plus `//` line comments and `/* */` block comments, because `WeChat` developer tools write
//!   and accept them in `project.config.json`;
//! - plus a leading UTF-8 byte order mark.
//!
//! Design notes:
//!
//! - Input comes from files we audit, so the parser never panics: every index is checked, nesting
//!   is limited to [`MAX_DEPTH`] levels (an error beyond, not a stack overflow), and the unit
//!   tests throw random and mutated input at it.
//! - Columns count Unicode scalar values, as `miniguard_report::Position` does. The byte order
//!   mark is not counted: the first visible character is column 1. Only `\n` ends a line.
//! - Duplicate keys are all kept in [`JsonNode::entries`]; [`JsonNode::get`] returns the last
//!   one, as `JSON.parse` in the mini-program runtime does.
//! - Numbers keep their source text, so large integers lose nothing; [`JsonNode::as_f64`]
//!   converts on demand.
//! - A lone UTF-16 surrogate in a `\u` escape (legal JSON, not a Rust `char`) becomes U+FFFD.

use std::fmt;

/// How deeply arrays and objects may nest before parsing fails.
pub const MAX_DEPTH: usize = 256;

/// A byte range in the source text, `start..end` (end exclusive).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// A 1-based line and column; the column counts Unicode scalar values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

/// A parsed value with its location.
#[derive(Clone, Debug, PartialEq)]
pub struct JsonNode {
    pub value: JsonValue,
    /// Bytes of the whole value, e.g. from `{` to `}` or including a string's quotes.
    pub span: Span,
    /// Where the value starts.
    pub start: Pos,
    /// Where the value ends (the position just after its last character).
    pub end: Pos,
}

/// The value itself.
#[derive(Clone, Debug, PartialEq)]
pub enum JsonValue {
    Null,
    Bool(bool),
    /// The number's source text, e.g. `-1.5e3`; always valid JSON number syntax.
    Number(String),
    String(String),
    Array(Vec<JsonNode>),
    /// Members in source order, duplicates kept.
    Object(Vec<JsonMember>),
}

/// An object key with its location (the span includes the quotes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonKey {
    pub name: String,
    pub span: Span,
    pub start: Pos,
    pub end: Pos,
}

/// One `"key": value` member of an object.
#[derive(Clone, Debug, PartialEq)]
pub struct JsonMember {
    pub key: JsonKey,
    pub value: JsonNode,
}

/// Why parsing failed, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError {
    pub message: String,
    /// 1-based line of the offending character (or of the end of input).
    pub line: u32,
    /// 1-based column, in Unicode scalar values.
    pub column: u32,
    /// Byte offset of the offending character.
    pub offset: usize,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at line {} column {}",
            self.message, self.line, self.column
        )
    }
}

impl std::error::Error for JsonError {}

impl JsonNode {
    /// The value of the last member named `key`, if this is an object.
    pub fn get(&self, key: &str) -> Option<&JsonNode> {
        self.member(key).map(|m| &m.value)
    }

    /// The last member named `key` (key and value with their locations), if this is an object.
    pub fn member(&self, key: &str) -> Option<&JsonMember> {
        self.entries().iter().rev().find(|m| m.key.name == key)
    }

    /// The span of the last key named `key`, if this is an object that has it.
    pub fn key_span(&self, key: &str) -> Option<Span> {
        self.member(key).map(|m| m.key.span)
    }

    /// Follows a path of object keys: `node.get_path(&["setting", "urlCheck"])`.
    pub fn get_path(&self, path: &[&str]) -> Option<&JsonNode> {
        path.iter().try_fold(self, |node, key| node.get(key))
    }

    /// The members of an object in source order; empty for anything else.
    pub fn entries(&self) -> &[JsonMember] {
        match &self.value {
            JsonValue::Object(members) => members,
            _ => &[],
        }
    }

    pub fn as_object(&self) -> Option<&[JsonMember]> {
        match &self.value {
            JsonValue::Object(members) => Some(members),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[JsonNode]> {
        match &self.value {
            JsonValue::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            JsonValue::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.value {
            JsonValue::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match &self.value {
            JsonValue::Number(text) => text.parse().ok(),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, JsonValue::Null)
    }
}

/// Parses one JSON document (comments and a leading BOM allowed).
pub fn parse(src: &str) -> Result<JsonNode, JsonError> {
    let mut p = Parser {
        src: src.as_bytes(),
        text: src,
        pos: 0,
        line: 1,
        column: 1,
    };
    if src.starts_with('\u{feff}') {
        // The BOM is invisible in editors, so it does not move the column.
        p.pos = '\u{feff}'.len_utf8();
    }
    p.skip_trivia()?;
    let node = p.value(0)?;
    p.skip_trivia()?;
    if p.pos < p.src.len() {
        return Err(p.error("unexpected characters after the JSON value"));
    }
    Ok(node)
}

fn error_at(message: impl Into<String>, at: Pos, offset: usize) -> JsonError {
    JsonError {
        message: message.into(),
        line: at.line,
        column: at.column,
        offset,
    }
}

struct Parser<'a> {
    src: &'a [u8],
    text: &'a str,
    pos: usize,
    line: u32,
    column: u32,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn here(&self) -> Pos {
        Pos {
            line: self.line,
            column: self.column,
        }
    }

    fn error(&self, message: impl Into<String>) -> JsonError {
        error_at(message, self.here(), self.pos)
    }

    /// Moves past one byte, keeping line and column up to date.
    fn bump(&mut self) {
        if let Some(b) = self.peek() {
            self.pos += 1;
            if b == b'\n' {
                self.line = self.line.saturating_add(1);
                self.column = 1;
            } else if b & 0xC0 != 0x80 {
                // A leading byte starts a new scalar value; continuation bytes do not.
                self.column = self.column.saturating_add(1);
            }
        }
    }

    fn bump_n(&mut self, n: usize) {
        for _ in 0..n {
            self.bump();
        }
    }

    fn skip_trivia(&mut self) -> Result<(), JsonError> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\n' | b'\r') => self.bump(),
                Some(b'/') => match self.src.get(self.pos + 1) {
                    Some(b'/') => {
                        while let Some(b) = self.peek() {
                            if b == b'\n' {
                                break;
                            }
                            self.bump();
                        }
                    }
                    Some(b'*') => {
                        let (at, offset) = (self.here(), self.pos);
                        self.bump_n(2);
                        loop {
                            match self.peek() {
                                None => {
                                    return Err(error_at("unterminated block comment", at, offset));
                                }
                                Some(b'*') if self.src.get(self.pos + 1) == Some(&b'/') => {
                                    self.bump_n(2);
                                    break;
                                }
                                Some(_) => self.bump(),
                            }
                        }
                    }
                    _ => return Err(self.error("unexpected character '/'")),
                },
                _ => return Ok(()),
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<JsonNode, JsonError> {
        let (start, start_pos) = (self.pos, self.here());
        let value = match self.peek() {
            None => return Err(self.error("unexpected end of input, expected a value")),
            Some(b'{') => self.object(depth)?,
            Some(b'[') => self.array(depth)?,
            Some(b'"') => JsonValue::String(self.string()?),
            Some(b'-' | b'0'..=b'9') => self.number()?,
            Some(b't') => self.literal("true", JsonValue::Bool(true))?,
            Some(b'f') => self.literal("false", JsonValue::Bool(false))?,
            Some(b'n') => self.literal("null", JsonValue::Null)?,
            Some(_) => return Err(self.unexpected("a value")),
        };
        Ok(JsonNode {
            value,
            span: Span {
                start,
                end: self.pos,
            },
            start: start_pos,
            end: self.here(),
        })
    }

    /// An error naming the character at the current position.
    fn unexpected(&self, expected: &str) -> JsonError {
        match self
            .text
            .get(self.pos..)
            .and_then(|rest| rest.chars().next())
        {
            Some(c) => self.error(format!("unexpected character {c:?}, expected {expected}")),
            None => self.error(format!("unexpected end of input, expected {expected}")),
        }
    }

    fn literal(&mut self, word: &str, value: JsonValue) -> Result<JsonValue, JsonError> {
        if self.src.get(self.pos..self.pos + word.len()) == Some(word.as_bytes()) {
            self.bump_n(word.len());
            Ok(value)
        } else {
            Err(self.unexpected("a value"))
        }
    }

    fn enter(&self, depth: usize) -> Result<usize, JsonError> {
        if depth >= MAX_DEPTH {
            Err(self.error(format!("nesting deeper than {MAX_DEPTH} levels")))
        } else {
            Ok(depth + 1)
        }
    }

    fn array(&mut self, depth: usize) -> Result<JsonValue, JsonError> {
        let depth = self.enter(depth)?;
        self.bump(); // '['
        let mut items = Vec::new();
        self.skip_trivia()?;
        if self.peek() == Some(b']') {
            self.bump();
            return Ok(JsonValue::Array(items));
        }
        loop {
            self.skip_trivia()?;
            items.push(self.value(depth)?);
            self.skip_trivia()?;
            match self.peek() {
                Some(b',') => self.bump(),
                Some(b']') => {
                    self.bump();
                    return Ok(JsonValue::Array(items));
                }
                _ => return Err(self.unexpected("',' or ']'")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<JsonValue, JsonError> {
        let depth = self.enter(depth)?;
        self.bump(); // '{'
        let mut members = Vec::new();
        self.skip_trivia()?;
        if self.peek() == Some(b'}') {
            self.bump();
            return Ok(JsonValue::Object(members));
        }
        loop {
            self.skip_trivia()?;
            if self.peek() != Some(b'"') {
                return Err(self.unexpected("a string key"));
            }
            let (key_start, key_start_pos) = (self.pos, self.here());
            let name = self.string()?;
            let key = JsonKey {
                name,
                span: Span {
                    start: key_start,
                    end: self.pos,
                },
                start: key_start_pos,
                end: self.here(),
            };
            self.skip_trivia()?;
            if self.peek() != Some(b':') {
                return Err(self.unexpected("':'"));
            }
            self.bump();
            self.skip_trivia()?;
            let value = self.value(depth)?;
            members.push(JsonMember { key, value });
            self.skip_trivia()?;
            match self.peek() {
                Some(b',') => self.bump(),
                Some(b'}') => {
                    self.bump();
                    return Ok(JsonValue::Object(members));
                }
                _ => return Err(self.unexpected("',' or '}'")),
            }
        }
    }

    fn string(&mut self) -> Result<String, JsonError> {
        let (at, offset) = (self.here(), self.pos);
        self.bump(); // opening quote
        let mut out = String::new();
        loop {
            // Copy the run of plain characters in one go; the run ends on an ASCII byte, so
            // the slice boundaries are character boundaries.
            let run_start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.bump();
            }
            if let Some(run) = self.text.get(run_start..self.pos) {
                out.push_str(run);
            }
            match self.peek() {
                None => return Err(error_at("unterminated string", at, offset)),
                Some(b'"') => {
                    self.bump();
                    return Ok(out);
                }
                Some(b'\\') => self.escape(&mut out)?,
                Some(_) => {
                    return Err(self.error("control character in string (escape it)"));
                }
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), JsonError> {
        let (at, offset) = (self.here(), self.pos);
        self.bump(); // backslash
        let c = match self.peek() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.bump();
                let first = self.hex4(at, offset)?;
                let c = if (0xD800..0xDC00).contains(&first) {
                    // A high surrogate: combine with a following low surrogate if there is one.
                    if self.src.get(self.pos) == Some(&b'\\')
                        && self.src.get(self.pos + 1) == Some(&b'u')
                    {
                        let save = (self.pos, self.line, self.column);
                        self.bump_n(2);
                        let second = self.hex4(at, offset)?;
                        if (0xDC00..0xE000).contains(&second) {
                            let code = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                            char::from_u32(code).unwrap_or('\u{fffd}')
                        } else {
                            (self.pos, self.line, self.column) = save;
                            '\u{fffd}'
                        }
                    } else {
                        '\u{fffd}'
                    }
                } else {
                    char::from_u32(first).unwrap_or('\u{fffd}')
                };
                out.push(c);
                return Ok(());
            }
            _ => return Err(error_at("invalid escape sequence", at, offset)),
        };
        self.bump();
        out.push(c);
        Ok(())
    }

    fn hex4(&mut self, at: Pos, offset: usize) -> Result<u32, JsonError> {
        let mut code = 0u32;
        for _ in 0..4 {
            let digit = self
                .peek()
                .and_then(|b| char::from(b).to_digit(16))
                .ok_or_else(|| error_at("invalid \\u escape", at, offset))?;
            code = code * 16 + digit;
            self.bump();
        }
        Ok(code)
    }

    fn number(&mut self) -> Result<JsonValue, JsonError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.bump();
        }
        match self.peek() {
            Some(b'0') => self.bump(),
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.unexpected("a digit")),
        }
        if self.peek() == Some(b'.') {
            self.bump();
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.unexpected("a digit after '.'"));
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.bump();
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.bump();
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.unexpected("a digit in the exponent"));
            }
            self.digits();
        }
        let text = self.text.get(start..self.pos).unwrap_or_default();
        Ok(JsonValue::Number(text.to_owned()))
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.bump();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_positions_of_keys_and_values() {
        let src = "{\n  \"setting\": {\n    \"urlCheck\": false\n  },\n  \"名\": \"值\"\n}";
        let doc = parse(src).unwrap();
        let url = doc.get_path(&["setting", "urlCheck"]).unwrap();
        assert_eq!(url.as_bool(), Some(false));
        assert_eq!(&src[url.span.start..url.span.end], "false");
        assert_eq!(
            url.start,
            Pos {
                line: 3,
                column: 17
            }
        );
        assert_eq!(
            url.end,
            Pos {
                line: 3,
                column: 22
            }
        );
        let setting = doc.get("setting").unwrap();
        let key = setting.member("urlCheck").unwrap();
        assert_eq!(&src[key.key.span.start..key.key.span.end], "\"urlCheck\"");
        assert_eq!(key.key.start, Pos { line: 3, column: 5 });
        let name = doc.member("名").unwrap();
        assert_eq!(name.key.start, Pos { line: 5, column: 3 });
        // Columns count characters, not bytes.
        assert_eq!(name.value.start, Pos { line: 5, column: 8 });
        assert_eq!(name.value.as_str(), Some("值"));
        assert_eq!(doc.key_span("名"), Some(name.key.span));
        assert_eq!(
            doc.span,
            Span {
                start: 0,
                end: src.len()
            }
        );
    }

    #[test]
    fn comments_and_bom_are_accepted() {
        let src = "\u{feff}// generated\n{ /* a */ \"a\": 1, // x\n \"b\": [true, null /* y */] }\n/* end */";
        let doc = parse(src).unwrap();
        assert_eq!(doc.get("a").and_then(JsonNode::as_f64), Some(1.0));
        let b = doc.get("b").and_then(JsonNode::as_array).unwrap();
        assert!(b[1].is_null());
        assert_eq!(doc.start, Pos { line: 2, column: 1 });
        let bom_only = parse("\u{feff}1").unwrap();
        assert_eq!(bom_only.start, Pos { line: 1, column: 1 });
        assert_eq!(bom_only.span.start, 3);
    }

    #[test]
    fn strict_json_otherwise() {
        for bad in [
            "",
            "{",
            "[1,]",
            "{\"a\":1,}",
            "{'a':1}",
            "NaN",
            "01",
            "1.",
            "-",
            "1e",
            "\"a\nb\"",
            "\"\\x\"",
            "\"\\u12\"",
            "{} {}",
            "/* open",
            "/ 1",
            "{a:1}",
            "tru",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn error_positions() {
        let err = parse("{\n  \"pages\": [\n    \"a\",\n  ]\n}").unwrap_err();
        assert_eq!((err.line, err.column), (4, 3));
        let err = parse("{\"a\": \"unterminated").unwrap_err();
        assert_eq!((err.line, err.column), (1, 7));
        assert!(err.to_string().contains("line 1 column 7"));
    }

    #[test]
    fn escapes_and_numbers() {
        let doc = parse(r#"["\"\\\/\b\f\n\r\t", "\u00e9\ud83d\ude00", "\ud800x", -0.5e+3, 12345678901234567890]"#)
            .unwrap();
        let items = doc.as_array().unwrap();
        assert_eq!(items[0].as_str(), Some("\"\\/\u{8}\u{c}\n\r\t"));
        assert_eq!(items[1].as_str(), Some("é😀"));
        assert_eq!(items[2].as_str(), Some("\u{fffd}x"));
        assert_eq!(items[3].as_f64(), Some(-500.0));
        assert_eq!(
            items[4].value,
            JsonValue::Number("12345678901234567890".into())
        );
    }

    #[test]
    fn duplicate_keys_last_wins() {
        let doc = parse(r#"{"a": 1, "a": 2}"#).unwrap();
        assert_eq!(doc.entries().len(), 2);
        assert_eq!(doc.get("a").and_then(JsonNode::as_f64), Some(2.0));
    }

    #[test]
    fn depth_limit() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        let err = parse(&deep).unwrap_err();
        assert!(err.message.contains("nesting"));
        // Far beyond the limit must not overflow the stack either.
        assert!(parse(&"{\"a\":[".repeat(100_000)).is_err());
    }

    /// A tiny deterministic generator so the fuzz-style tests need no extra dependency.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    fn check_node(src: &str, node: &JsonNode) {
        // Every span must slice the source on character boundaries.
        assert!(src.get(node.span.start..node.span.end).is_some());
        for item in node.as_array().unwrap_or_default() {
            check_node(src, item);
        }
        for member in node.entries() {
            assert!(
                src.get(member.key.span.start..member.key.span.end)
                    .is_some()
            );
            check_node(src, &member.value);
        }
    }

    #[test]
    fn never_panics_on_random_input() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let alphabet: Vec<char> =
            "{}[]:,\"\\/*-+.0123456789eEtrufalsn \n\tu\u{e9}\u{4e2d}\u{feff}abcdxyz"
                .chars()
                .collect();
        for _ in 0..20_000 {
            let len = rng.below(40);
            let s: String = (0..len)
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect();
            if let Ok(node) = parse(&s) {
                check_node(&s, &node);
            }
        }
        for _ in 0..2_000 {
            let len = rng.below(64);
            let bytes: Vec<u8> = (0..len).map(|_| (rng.next() & 0xFF) as u8).collect();
            let s = String::from_utf8_lossy(&bytes);
            let _ = parse(&s);
        }
    }

    #[test]
    fn never_panics_on_mutated_configs() {
        let seeds = [
            r#"{"miniprogramRoot": "miniprogram/", "setting": {"urlCheck": false, "es6": true}, "appid": "wx123"}"#,
            "{\n  // comment\n  \"pages\": [\"pages/index/index\"], \"subpackages\": [{\"root\": \"a\", \"pages\": [\"b\"]}],\n  \"usingComponents\": {\"x\": \"/c/x\"} /* c */\n}",
            r#"["\u00e9\ud83d\ude00", -1.5e10, null, true, {"名": "值"}]"#,
        ];
        let mut rng = XorShift(42);
        let pieces = [
            "{", "}", "[", "]", "\"", "\\", "/*", "//", ",", ":", "\n", "\u{4e2d}", "\\u", "1e",
            "-",
        ];
        for seed in seeds {
            for _ in 0..5_000 {
                let mut s: Vec<char> = seed.chars().collect();
                for _ in 0..=rng.below(4) {
                    let at = rng.below(s.len() + 1);
                    match rng.below(3) {
                        0 if at < s.len() => {
                            s.remove(at);
                        }
                        1 => {
                            let piece = pieces[rng.below(pieces.len())];
                            for (i, c) in piece.chars().enumerate() {
                                s.insert(at + i, c);
                            }
                        }
                        _ => s.truncate(at),
                    }
                }
                let s: String = s.into_iter().collect();
                if let Ok(node) = parse(&s) {
                    check_node(&s, &node);
                }
            }
        }
    }
}
