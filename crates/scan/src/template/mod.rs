//! Mini-program template parser (WXML and its dialects).
//!
//! `WeChat`'s WXML, Alipay's AXML, Douyin's TTML, Baidu's SWAN and QQ's QML are all the same
//! XML-ish markup with `{{ }}` data bindings and a dialect-specific prefix for control
//! directives (`wx:for`, `a:for`, `tt:for`, `s-for`, `qq:for`). The security rules need to see
//! where data flows into sinks such as `<web-view src>` or `<rich-text nodes>`, and under which
//! `wx:for` scope, with exact byte spans so findings point at the right characters.
//!
//! We write our own parser instead of using an HTML parser crate because:
//!
//! - `{{ }}` is not HTML: an expression may contain `<`, `>` and quotes (`{{ a < b }}`,
//!   `{{ s === "}}" }}`), and must be cut out before markup rules apply;
//! - the bodies of `<wxs>`, `<sjs>`, `<import-sjs>`, `<filter>` and `<qs>` are JavaScript and must
//!   stay raw text;
//! - templates come from untrusted projects, so the parser must never panic, must run in linear
//!   time and must not recurse with the input's nesting depth. Problems become
//!   [`TemplateError`] values with spans, never `Err`: a broken template is a finding, not a failure
//!   of the tool.
//!
//! The parser is lossy only on purpose: whitespace-only text nodes are dropped, and entities are
//! kept as written (no decoding), so every piece of text in the tree is a verbatim slice of the
//! source.

mod check;
mod parser;

use serde::Serialize;

/// Nesting depth beyond which start tags no longer open a new level.
///
/// The tree is walked, dropped and printed recursively by derived impls (`Drop`, `Debug`,
/// `Clone`), so a depth cap is what keeps a hostile `<a><a><a>…` from overflowing the stack.
/// Real templates rarely go past 30 levels.
pub const MAX_DEPTH: usize = 512;

/// At most this many errors are kept per template (plus one saying that more were dropped), so
/// that a garbage input cannot make the error list larger than the tree.
pub const MAX_ERRORS: usize = 1000;

/// A byte range in the template source.
///
/// Offsets are `u32` to keep nodes small; [`parse`] refuses sources of 4 GiB or more. Every span
/// produced by the parser lies on `char` boundaries, so `&src[span.range()]` never panics for the
/// source the template was parsed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize)]
pub struct Span {
    /// Offset of the first byte.
    pub start: u32,
    /// Offset one past the last byte.
    pub end: u32,
}

impl Span {
    /// Builds a span; callers outside the parser use it to point into templates.
    pub fn new(start: u32, end: u32) -> Self {
        Self { start, end }
    }

    /// The span as a `usize` range, for slicing the source.
    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }

    /// Length in bytes.
    pub fn len(self) -> u32 {
        self.end.saturating_sub(self.start)
    }

    /// Whether the span covers no bytes (an empty attribute value, `{{}}`).
    pub fn is_empty(self) -> bool {
        self.end <= self.start
    }

    /// The source text under the span, or `""` if the span does not fit `src` (it was made for
    /// another source). Never panics, unlike indexing.
    pub fn text(self, src: &str) -> &str {
        src.get(self.range()).unwrap_or_default()
    }

    /// Whether `other` lies entirely inside `self`.
    pub fn contains(self, other: Span) -> bool {
        self.start <= other.start && other.end <= self.end
    }
}

/// Which mini-program platform a template is written for.
///
/// The markup is shared; what differs is the directive prefix and the names of the inline-script
/// tags, so the dialect decides how `wx:for`-style scopes and raw script bodies are recognised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Dialect {
    /// `WeChat` `.wxml`: `wx:if`, `wx:for`, `<wxs>`.
    Wxml,
    /// Alipay `.axml`: `a:if`, `a:for`, `<import-sjs>`, `<sjs>`.
    Axml,
    /// Douyin / Toutiao `.ttml`: `tt:if`, `tt:for`, `<sjs>`.
    Ttml,
    /// Baidu `.swan`: `s-if`, `s-for` (also `s-for="item, index in list"`), `<filter>`.
    Swan,
    /// QQ `.qml`: `qq:if`, `qq:for` (and the WeChat-compatible `wx:` forms), `<qs>`, `<wxs>`.
    Qml,
}

impl Dialect {
    /// The dialect for a template file extension (without the dot), so project walkers can pick
    /// the parser mode from the file name.
    pub fn from_extension(ext: &str) -> Option<Self> {
        const TABLE: [(&str, Dialect); 5] = [
            ("wxml", Dialect::Wxml),
            ("axml", Dialect::Axml),
            ("ttml", Dialect::Ttml),
            ("swan", Dialect::Swan),
            ("qml", Dialect::Qml),
        ];
        TABLE
            .iter()
            .find(|(e, _)| e.eq_ignore_ascii_case(ext))
            .map(|&(_, d)| d)
    }

    /// Directive prefixes this dialect accepts, preferred first (`wx:`, `a:`, `tt:`, `s-`,
    /// `qq:` then `wx:` for QQ, which runs `WeChat` templates unchanged).
    pub fn directive_prefixes(self) -> &'static [&'static str] {
        match self {
            Dialect::Wxml => &["wx:"],
            Dialect::Axml => &["a:"],
            Dialect::Ttml => &["tt:"],
            Dialect::Swan => &["s-"],
            Dialect::Qml => &["qq:", "wx:"],
        }
    }

    /// Whether an element's body is raw script text rather than markup.
    ///
    /// `wxs`, `sjs`, `import-sjs` and `qs` are script tags in every dialect (projects converted
    /// between platforms mix them); `filter` only in SWAN, where it is Baidu's script tag.
    pub fn is_raw_text_element(self, name: &str) -> bool {
        const ALWAYS: [&str; 4] = ["wxs", "sjs", "import-sjs", "qs"];
        ALWAYS.iter().any(|t| t.eq_ignore_ascii_case(name))
            || (self == Dialect::Swan && name.eq_ignore_ascii_case("filter"))
    }
}

/// A parsed template: the node forest plus every problem met on the way.
///
/// Parsing always yields a tree (it recovers from every error), so rules can still audit a
/// template that the platform's compiler would reject.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize)]
pub struct Template {
    /// Top-level nodes in source order.
    pub nodes: Vec<Node>,
    /// Syntax problems, in the order they were found (at most [`MAX_ERRORS`] + 1).
    pub errors: Vec<TemplateError>,
}

/// One node of the template tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Node {
    /// `<name attrs>children</name>` or `<name attrs/>`.
    Element(Element),
    /// Text between tags, split into literal text and `{{ }}` expressions.
    Text(TextNode),
    /// `<!-- … -->`, span covering the delimiters. Kept because commented-out markup sometimes
    /// still holds secrets or debug URLs worth reporting.
    Comment(Span),
}

impl Node {
    /// The node's span.
    pub fn span(&self) -> Span {
        match self {
            Node::Element(e) => e.span,
            Node::Text(t) => t.span,
            Node::Comment(s) => *s,
        }
    }

    /// The element, if this node is one; saves a `match` in rule code.
    pub fn as_element(&self) -> Option<&Element> {
        match self {
            Node::Element(e) => Some(e),
            _ => None,
        }
    }
}

/// An element with its attributes and children.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Element {
    /// Tag name as written (case preserved; comparisons in this module ignore ASCII case).
    pub name: String,
    /// Span of the tag name in the start tag.
    pub name_span: Span,
    /// Attributes in source order; duplicates are kept.
    pub attrs: Vec<Attribute>,
    /// Child nodes. For raw-text elements (`<wxs>` and friends) this is at most one
    /// [`TextNode`] holding the script verbatim, with no `{{ }}` splitting.
    pub children: Vec<Node>,
    /// From `<` to the end of the closing tag (or of the start tag for `<x/>` and void
    /// elements; or to where an unclosed element was closed implicitly).
    pub span: Span,
    /// Written as `<x/>`.
    pub self_closing: bool,
}

/// An attribute `name`, `name=value`, `name="value"` or `name='value'`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Attribute {
    /// Name as written, including any prefix (`wx:for`, `bind:tap`, `data-id`).
    pub name: String,
    /// Span of the name.
    pub name_span: Span,
    /// `None` for a valueless attribute such as `disabled`.
    pub value: Option<AttrValue>,
    /// From the first byte of the name to the closing quote (or end of the unquoted value).
    pub span: Span,
}

impl Attribute {
    /// The raw value, or `""` when the attribute has none; handy for literal values like
    /// `type="password"`.
    pub fn raw_value(&self) -> &str {
        self.value.as_ref().map_or("", |v| v.raw.as_str())
    }
}

/// An attribute value, split into literal text and `{{ }}` expressions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AttrValue {
    /// The value exactly as written between the quotes (entities not decoded).
    pub raw: String,
    /// Span of `raw`: between the quotes, or the whole unquoted value.
    pub span: Span,
    /// `raw` cut into text and expressions, in order; empty for an empty value.
    pub parts: Vec<Part>,
}

impl AttrValue {
    /// The expressions in the value, in order, so rules can ask "does data flow in here?"
    /// without matching on [`Part`].
    pub fn exprs(&self) -> impl Iterator<Item = (&str, Span)> {
        self.parts.iter().filter_map(|p| match p {
            Part::Expr { code, span } => Some((code.as_str(), *span)),
            Part::Text { .. } => None,
        })
    }

    /// Whether the value is exactly one expression with no literal text around it
    /// (`"{{url}}"`), i.e. the whole value is data-controlled.
    pub fn is_single_expr(&self) -> bool {
        matches!(self.parts.as_slice(), [Part::Expr { .. }])
    }
}

/// A piece of text content or attribute value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Part {
    /// Literal text, verbatim (`text == src[span]`).
    Text {
        /// The text as written.
        text: String,
        /// Its span.
        span: Span,
    },
    /// A `{{ }}` expression. `code` is the JavaScript between the braces **trimmed of
    /// surrounding whitespace**, and `span` covers exactly `code` (`code == src[span]`), so a
    /// finding on an expression underlines the expression and not the padding. An empty or
    /// all-blank `{{ }}` gives empty code with an empty span.
    Expr {
        /// The expression source, trimmed.
        code: String,
        /// Span of `code`.
        span: Span,
    },
}

impl Part {
    /// The part's span.
    pub fn span(&self) -> Span {
        match self {
            Part::Text { span, .. } | Part::Expr { span, .. } => *span,
        }
    }

    /// The text or the code.
    pub fn as_str(&self) -> &str {
        match self {
            Part::Text { text, .. } => text,
            Part::Expr { code, .. } => code,
        }
    }
}

/// Text content between tags (never whitespace-only unless it holds an expression).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TextNode {
    /// Text and expressions in order.
    pub parts: Vec<Part>,
    /// Span of the whole text run.
    pub span: Span,
}

/// A syntax problem; parsing went on after it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TemplateError {
    /// What is wrong, for people.
    pub message: String,
    /// Where.
    pub span: Span,
}

/// The loop scope an element opens with `wx:for` (or its dialect twin).
///
/// Rules need it to resolve `item.x` inside the loop body back to the list it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ForBinding {
    /// The iterated list: the first `{{ }}` expression of the `for` value; for SWAN, also the
    /// brace-less `list` of `s-for="item, index in list"` (as an [`Part::Expr`] with a span into
    /// the value); a [`Part::Text`] when the value is a plain literal; `None` when empty.
    pub list: Option<Part>,
    /// Loop variable name; `item` unless renamed by `wx:for-item` or the SWAN `in` form.
    pub item: String,
    /// Index variable name; `index` unless renamed by `wx:for-index` or the SWAN `in` form.
    pub index: String,
}

/// Parses a template. Never fails and never panics: problems end up in [`Template::errors`].
///
/// Runs in time linear in `src.len()` and with constant stack depth.
pub fn parse(src: &str, dialect: Dialect) -> Template {
    if u32::try_from(src.len()).is_err() {
        return Template {
            nodes: Vec::new(),
            errors: vec![TemplateError {
                message: "template is 4 GiB or larger; not parsed".to_owned(),
                span: Span::default(),
            }],
        };
    }
    parser::Parser::new(src, dialect).run()
}

/// 1-based line and column (counted in `char`s) of a byte offset, for human-readable reports.
///
/// Offsets past the end are clamped to the end, offsets inside a multi-byte character to its
/// start. A leading byte-order mark is not counted as a column, as editors do not show it.
pub fn line_col(src: &str, offset: u32) -> (u32, u32) {
    let mut off = usize::try_from(offset).unwrap_or(usize::MAX).min(src.len());
    while off > 0 && !src.is_char_boundary(off) {
        off -= 1;
    }
    let before = src.get(..off).unwrap_or_default();
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line_text = before.get(line_start..).unwrap_or_default();
    let line_text = if line_start == 0 {
        line_text.strip_prefix('\u{feff}').unwrap_or(line_text)
    } else {
        line_text
    };
    let col = line_text.chars().count() + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(col).unwrap_or(u32::MAX),
    )
}

impl Element {
    /// The first attribute with this exact name (ASCII case ignored).
    pub fn attr(&self, name: &str) -> Option<&Attribute> {
        self.attrs
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// The directive `name` (`"if"`, `"for"`, `"for-item"`, `"key"`, …) under the dialect's
    /// prefix: `wx:for`, `a:for`, `tt:for`, `s-for`, `qq:for`.
    ///
    /// Rules ask for the directive by meaning so that one rule covers every platform. `"for"`
    /// also finds the legacy `wx:for-items` spelling.
    pub fn directive(&self, dialect: Dialect, name: &str) -> Option<&Attribute> {
        let find = |name: &str| {
            dialect.directive_prefixes().iter().find_map(|prefix| {
                self.attrs
                    .iter()
                    .find(|a| is_prefixed_name(&a.name, prefix, name))
            })
        };
        find(name).or_else(|| {
            if name.eq_ignore_ascii_case("for") {
                find("for-items")
            } else {
                None
            }
        })
    }

    /// The loop this element opens, if it has a `for` directive.
    pub fn for_binding(&self, dialect: Dialect) -> Option<ForBinding> {
        let attr = self.directive(dialect, "for")?;
        let mut list = None;
        let mut item = None;
        let mut index = None;
        if let Some(value) = &attr.value {
            let first_expr = value
                .parts
                .iter()
                .find(|p| matches!(p, Part::Expr { .. }))
                .cloned();
            if first_expr.is_none() && dialect == Dialect::Swan {
                (list, item, index) = parse_swan_for(value);
            } else {
                list = first_expr.or_else(|| value.parts.first().cloned());
            }
        }
        let name_of = |directive: &str| {
            let value = self.directive(dialect, directive)?.value.as_ref()?;
            let name = value
                .exprs()
                .next()
                .map_or(value.raw.trim(), |(code, _)| code);
            (!name.is_empty()).then(|| name.to_owned())
        };
        Some(ForBinding {
            list,
            item: item
                .or_else(|| name_of("for-item"))
                .unwrap_or_else(|| "item".to_owned()),
            index: index
                .or_else(|| name_of("for-index"))
                .unwrap_or_else(|| "index".to_owned()),
        })
    }
}

/// `attr_name == prefix + name`, ASCII case ignored, without slicing (no char-boundary panics).
fn is_prefixed_name(attr_name: &str, prefix: &str, name: &str) -> bool {
    let a = attr_name.as_bytes();
    a.len() == prefix.len() + name.len()
        && a.get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix.as_bytes()))
        && a.get(prefix.len()..)
            .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
}

/// Finds `word` in `s` as a whole whitespace-delimited word; returns its byte offset.
fn find_word(s: &str, word: &str) -> Option<usize> {
    s.match_indices(word).map(|(i, _)| i).find(|&i| {
        let before = s.get(..i).unwrap_or_default();
        let after = s.get(i + word.len()..).unwrap_or_default();
        before.ends_with(char::is_whitespace) && after.starts_with(char::is_whitespace)
    })
}

/// A trimmed sub-slice of `value.raw` turned into an expression part with its source span.
fn raw_expr(value: &AttrValue, start: usize, end: usize) -> Option<Part> {
    let slice = value.raw.get(start..end)?;
    let code = slice.trim();
    if code.is_empty() {
        return None;
    }
    let lead = slice.len() - slice.trim_start().len();
    let from = value.span.start as usize + start + lead;
    Some(Part::Expr {
        code: code.to_owned(),
        span: Span::new(from as u32, (from + code.len()) as u32),
    })
}

/// SWAN's brace-less loop forms: `list`, `item in list`, `item, index in list`,
/// `(item, index) in list`, each optionally followed by `trackBy expr`.
fn parse_swan_for(value: &AttrValue) -> (Option<Part>, Option<String>, Option<String>) {
    let raw = value.raw.as_str();
    let (names, list_start) = match find_word(raw, "in") {
        Some(i) => (raw.get(..i).unwrap_or_default(), i + 2),
        None => ("", 0),
    };
    let list_end = find_word(raw.get(list_start..).unwrap_or_default(), "trackBy")
        .map_or(raw.len(), |i| list_start + i);
    let list = raw_expr(value, list_start, list_end);
    let names = names.trim();
    let names = names
        .strip_prefix('(')
        .and_then(|n| n.strip_suffix(')'))
        .unwrap_or(names);
    let mut split = names.splitn(2, ',').map(str::trim);
    let owned = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(str::to_owned);
    let item = owned(split.next());
    let index = owned(split.next());
    (list, item, index)
}

impl Template {
    /// Visits every element in pre-order. The second argument is the chain of enclosing
    /// elements, outermost first, so a rule looking at `{{item.url}}` can find the `wx:for`
    /// that defines `item`. Iterative: no recursion on the input's depth.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Element, &[&'a Element])) {
        let mut ancestors: Vec<&'a Element> = Vec::new();
        let mut stack: Vec<std::slice::Iter<'a, Node>> = vec![self.nodes.iter()];
        while let Some(iter) = stack.last_mut() {
            match iter.next() {
                Some(Node::Element(e)) => {
                    f(e, &ancestors);
                    ancestors.push(e);
                    stack.push(e.children.iter());
                }
                Some(_) => {}
                None => {
                    stack.pop();
                    ancestors.pop();
                }
            }
        }
    }

    /// Every element in pre-order, for rules that need no ancestor chain.
    pub fn elements(&self) -> Vec<&Element> {
        let mut out = Vec::new();
        self.walk(&mut |e, _| out.push(e));
        out
    }
}
