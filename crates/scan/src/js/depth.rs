//! A nesting pre-scan that runs before oxc sees a source text.
//!
//! oxc's parser, its semantic builder and our evaluator recurse once per nesting level of the
//! code. A generated or hostile file can nest hundreds of thousands of levels in a few hundred
//! kilobytes (`((((…`, `{a:{a:…`, `` `${`${… ``, `A<A<A<…`), and a worker stack of any size
//! would overflow. So every text is measured first, in one linear pass with a stack bounded by
//! the limit, and a text that nests deeper is not handed to the parser at all; the caller reports
//! it as not analysed, with the place where the limit was passed.
//!
//! The scan is a lexer-lite: it knows comments, quoted strings and template literals (so that
//! brackets inside them do not count and `${` in a template opens a level), and counts
//! `(`, `[`, `{`, `${`, runs of prefix operators (`!!!!x`, `- - - x`, `typeof new void x`), and
//! type-argument angles (`A<B<C>>`, TypeScript only, see [`Options::angles`]).
//!
//! Code also nests without brackets, and the parser recurses on that just the same: chains of
//! right-associative operators (`a = b = …`, `x ? y : x ? y : …`, `a => b => …`, `a ** b ** …`),
//! runs of labels (`l: l: … x`, counted like runs of prefix operators) and statements nested
//! without braces (`if (x) if (x) …`, `else if` chains, `for (;;) while (x) …`). Operators and
//! statements count as soft levels of the bracket they are in: an operator level ends at `;`, at
//! `,`, at the bracket that encloses it, and at a line end unless the line ends with an operator
//! or the next one starts with one (an expression split over lines); a statement level ends at
//! `;`, at a `}` and at a line end, unless an `else` (or the `while` of a `do`) follows or the
//! line ends with `else`, `do` or the `)` of `if (…)` and the like (a body on the next line).
//! Left-associative chains (`a + b + …`, `a.b.c…`) are parsed in a loop and do not count.
//!
//! It over-approximates rather than under-approximates: a regular expression with an unbalanced
//! bracket or an `=` adds a level, which only matters for code that is near the limit anyway.

/// How deep a source may nest before it is not parsed. Real code stays far below (the deepest
/// hand-written code in large projects is a few dozen levels; generated parsers reach ~100).
pub const MAX_SOURCE_NESTING: u32 = 1000;

/// What to count.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Count `<` before a name or bracket as a type-argument level (TypeScript). Comparisons
    /// (`i<n`) look the same, so an angle level ends at `;`, at the bracket that encloses it,
    /// and at a line end unless the line ends with `<` or `,` (a type split over lines).
    pub angles: bool,
    /// Count JSX elements (`<div>` opens a level, `</div>` and `/>` close one). A compact
    /// comparison (`a<b`) also opens one; such levels end at `;` and at the enclosing bracket.
    pub jsx: bool,
}

/// Where a text nests deeper than allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooDeep {
    /// Byte offset of the opener that passed the limit.
    pub offset: usize,
    /// The limit that was passed.
    pub limit: u32,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Frame {
    /// `(`, `[` or `{` of code.
    Bracket,
    /// `${` inside a template literal: its `}` returns to the template.
    Subst,
    /// The `(` of `if (…)`, `for (…)`, `while (…)`, `with (…)`: a statement follows its `)`.
    Cond,
}

/// Soft levels opened directly inside one bracket (or at the top level).
#[derive(Clone, Copy, Default)]
struct Open {
    angles: u32,
    tags: u32,
    /// Right-associative operators, labels and keys.
    ops: u32,
    /// Statements nested without braces.
    stmts: u32,
    /// `?` waiting for their `:` (which then adds no level).
    pending_q: u32,
}

impl Open {
    fn soft(self) -> usize {
        (self.angles + self.tags + self.ops + self.stmts) as usize
    }
}

/// Prefix keywords: a run of them nests like a run of `!`.
const PREFIX_WORDS: &[&[u8]] = &[b"typeof", b"void", b"delete", b"await", b"new", b"yield"];
/// Statements whose body is a statement.
const STMT_WORDS: &[&[u8]] = &[b"if", b"for", b"while", b"with", b"do"];

fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

/// Whether a line that ends in `before_last`, `last` goes on with the next line's first byte
/// `next` inside one expression (`x =⏎ y`, `x⏎ ? y : z`; not `x++⏎`, `<a>⏎<b>`).
fn continues_expr(before_last: u8, last: u8, next: u8) -> bool {
    let binary = |c: u8| matches!(c, b'=' | b'?' | b':' | b'*' | b'&' | b'|' | b'^' | b'%');
    binary(last)
        || last == b','
        || (matches!(last, b'+' | b'-') && before_last != last)
        || binary(next)
        || matches!(next, b'.' | b',')
}

/// The first byte at or after `from` that is not whitespace, remembered so that a run of blank
/// lines is skipped once, not once per line.
struct Peek {
    from: usize,
    to: usize,
}

impl Peek {
    fn next_sig(&mut self, b: &[u8], from: usize) -> usize {
        if from >= self.from && from <= self.to {
            return self.to;
        }
        let mut j = from;
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        self.from = from;
        self.to = j;
        j
    }

    /// Whether the next word goes on with the statement before it (`else`, or the `while`
    /// of a `do`).
    fn continues_stmt(&mut self, b: &[u8], from: usize) -> bool {
        let j = self.next_sig(b, from);
        let word = |w: &[u8]| {
            b.get(j..j + w.len()) == Some(w)
                && !b.get(j + w.len()).is_some_and(|&c| is_word_byte(c))
        };
        word(b"else") || word(b"while")
    }
}

enum Mode {
    Code,
    Template,
}

/// Checks that `src` nests at most `limit` levels. Linear time; memory bounded by `limit`.
pub fn check(src: &str, limit: u32, opts: Options) -> Result<(), TooDeep> {
    let b = src.as_bytes();
    let limit_usize = limit as usize;
    let mut frames: Vec<(Frame, Open)> = Vec::new();
    let mut base = Open::default();
    // Sums of the soft levels of every frame.
    let mut soft: usize = 0;
    let mut mode = Mode::Code;
    // Last byte of code that was not whitespace, for `=>`, `>=` and line ends.
    let mut last_sig: u8 = 0;
    // Whether a statement body comes next: after `else`, `do` and the `)` of `if (…)` and the
    // like (the body may be on the next line).
    let mut body_next = false;
    // Whether the last word was `if`, `for`, `while` or `with` (its `(` is a condition).
    let mut cond_next = false;
    // Length of the current run of prefix operators.
    let mut unary_run: usize = 0;
    // Length of the current run of labels (`a: b: c: x`), and the words since the last `:`.
    let mut label_run: usize = 0;
    let mut words_since_colon: u32 = 0;
    let mut before_last: u8 = 0;
    let mut peek = Peek { from: 1, to: 0 };
    let mut i = 0;
    let too_deep = |offset: usize| TooDeep { offset, limit };
    macro_rules! open_here {
        () => {
            match frames.last_mut() {
                Some((_, o)) => o,
                None => &mut base,
            }
        };
    }
    macro_rules! check_at {
        ($at:expr) => {
            // One `key:` is not nested; each further label of a run is.
            if frames.len() + soft + unary_run + label_run.saturating_sub(1) > limit_usize {
                return Err(too_deep($at));
            }
        };
    }
    while i < b.len() {
        let c = b[i];
        if let Mode::Template = mode {
            match c {
                b'\\' => i += 1,
                b'`' => mode = Mode::Code,
                b'$' if b.get(i + 1) == Some(&b'{') => {
                    frames.push((Frame::Subst, Open::default()));
                    check_at!(i);
                    mode = Mode::Code;
                    last_sig = b'{';
                    i += 1;
                }
                _ => {}
            }
            i += 1;
            continue;
        }
        match c {
            b' ' | b'\t' | b'\r' => {
                i += 1;
                continue;
            }
            b'\n' => {
                let next = peek.next_sig(b, i + 1);
                let next = b.get(next).copied().unwrap_or(0);
                let keep_stmts = body_next || peek.continues_stmt(b, i + 1);
                let keep_ops = continues_expr(before_last, last_sig, next);
                let keep_angles = !opts.angles || last_sig == b'<' || last_sig == b',';
                let o = open_here!();
                let before = o.soft();
                if !keep_angles {
                    o.angles = 0;
                }
                if !keep_ops {
                    o.ops = 0;
                    o.pending_q = 0;
                }
                if !keep_stmts {
                    o.stmts = 0;
                }
                soft -= before - o.soft();
                i += 1;
                continue;
            }
            _ => {}
        }
        if is_word_byte(c) {
            let mut j = i + 1;
            while j < b.len() && is_word_byte(b[j]) {
                j += 1;
            }
            let word = &b[i..j];
            // `x.new`, `x.if`: property names, not keywords.
            let keyword = last_sig != b'.' || b.get(i.wrapping_sub(2)) == Some(&b'.');
            body_next = keyword && (word == b"else" || word == b"do");
            // `for await (…)`
            cond_next = keyword && (STMT_WORDS.contains(&word) || (cond_next && word == b"await"));
            if keyword && PREFIX_WORDS.contains(&word) {
                unary_run += 1;
                check_at!(i);
            } else {
                unary_run = 0;
                if keyword && STMT_WORDS.contains(&word) {
                    open_here!().stmts += 1;
                    soft += 1;
                    check_at!(i);
                }
            }
            words_since_colon += 1;
            before_last = if j - i > 1 { b[j - 2] } else { last_sig };
            last_sig = b[j - 1];
            i = j;
            continue;
        }
        let next = b.get(i + 1).copied().unwrap_or(0);
        // Comments change nothing.
        if c == b'/' && next == b'/' {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'/' && next == b'*' {
            i += 2;
            while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                i += 1;
            }
            i += 2;
            continue;
        }
        let cond = std::mem::take(&mut cond_next);
        body_next = false;
        if c != b':' || words_since_colon != 1 {
            label_run = 0;
        }
        words_since_colon = 0;
        if matches!(c, b'!' | b'~' | b'+' | b'-') {
            unary_run += 1;
            check_at!(i);
        } else {
            unary_run = 0;
        }
        match c {
            b'/' if opts.jsx && next == b'>' => {
                let o = open_here!();
                if o.tags > 0 {
                    o.tags -= 1;
                    soft -= 1;
                }
            }
            b'\'' | b'"' => {
                i += 1;
                while i < b.len() && b[i] != c && b[i] != b'\n' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'`' => mode = Mode::Template,
            b'\\' => i += 1,
            b'(' | b'[' | b'{' => {
                let frame = if cond && c == b'(' {
                    Frame::Cond
                } else {
                    Frame::Bracket
                };
                frames.push((frame, Open::default()));
                check_at!(i);
            }
            b')' | b']' | b'}' => {
                if let Some((frame, o)) = frames.pop() {
                    soft -= o.soft();
                    if frame == Frame::Subst && c == b'}' {
                        mode = Mode::Template;
                    } else if frame == Frame::Cond && c == b')' {
                        body_next = true;
                    } else if c == b'}' && !peek.continues_stmt(b, i + 1) {
                        // A block ends the statements around it, unless an `else` follows.
                        let o = open_here!();
                        soft -= o.stmts as usize;
                        o.stmts = 0;
                    }
                }
            }
            b';' => {
                let keep_stmts = peek.continues_stmt(b, i + 1);
                let o = open_here!();
                let before = o.soft();
                let stmts = if keep_stmts { o.stmts } else { 0 };
                *o = Open {
                    stmts,
                    ..Open::default()
                };
                soft -= before - o.soft();
            }
            b',' => {
                let o = open_here!();
                soft -= o.ops as usize;
                o.ops = 0;
                o.pending_q = 0;
            }
            // `==`, `===`: comparisons.
            b'=' if next == b'=' => {
                while b.get(i + 1) == Some(&b'=') {
                    i += 1;
                }
            }
            // `=>`, and assignments (`=`, `+=`, `**=`, `<<=`, `>>=`), but not `!=`, `<=`, `>=`.
            b'=' if next == b'>'
                || !matches!(b.get(i.wrapping_sub(1)), Some(b'!' | b'<' | b'>'))
                || b.get(i.wrapping_sub(2)) == b.get(i.wrapping_sub(1)) =>
            {
                if next == b'>' {
                    i += 1;
                }
                open_here!().ops += 1;
                soft += 1;
                check_at!(i);
            }
            // `?.` and `??` do not nest to the right; `?` of a conditional does until its `:`.
            b'?' if next == b'?' => i += 1,
            b'?' if next == b'.' && !b.get(i + 2).is_some_and(u8::is_ascii_digit) => {}
            b'?' => {
                let o = open_here!();
                o.ops += 1;
                o.pending_q += 1;
                soft += 1;
                check_at!(i);
            }
            b':' => {
                let o = open_here!();
                if o.pending_q > 0 {
                    o.pending_q -= 1;
                    label_run = 0;
                } else {
                    // A label (or a key or type annotation; those come one at a time).
                    label_run += 1;
                    check_at!(i);
                }
            }
            b'*' if next == b'*' => {
                i += 1;
                open_here!().ops += 1;
                soft += 1;
                check_at!(i);
            }
            b'<' => {
                if opts.jsx {
                    let o = open_here!();
                    if next == b'/' {
                        if o.tags > 0 {
                            o.tags -= 1;
                            soft -= 1;
                        }
                    } else if next.is_ascii_alphabetic() || next == b'>' {
                        o.tags += 1;
                        soft += 1;
                    }
                }
                if opts.angles {
                    let after = b
                        .get(i + 1..)
                        .and_then(|r| r.iter().find(|c| !c.is_ascii_whitespace()))
                        .copied()
                        .unwrap_or(0);
                    if after.is_ascii_alphabetic()
                        || matches!(after, b'_' | b'$' | b'<' | b'(' | b'[' | b'{')
                    {
                        open_here!().angles += 1;
                        soft += 1;
                    }
                }
                check_at!(i);
            }
            b'>' if opts.angles && last_sig != b'=' && last_sig != b'-' && next != b'=' => {
                let o = open_here!();
                if o.angles > 0 {
                    o.angles -= 1;
                    soft -= 1;
                }
            }
            _ => {}
        }
        before_last = last_sig;
        last_sig = c;
        i += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TS: Options = Options {
        angles: true,
        jsx: false,
    };
    const JS: Options = Options {
        angles: false,
        jsx: false,
    };
    const JSX: Options = Options {
        angles: false,
        jsx: true,
    };
    const TSX: Options = Options {
        angles: true,
        jsx: true,
    };

    #[test]
    fn counts_brackets_templates_and_operators() {
        assert!(check("f((a), [b], {c: 1})", 2, JS).is_ok());
        assert!(check("f(((a)))", 3, JS).is_ok());
        assert!(check("f((((a))))", 3, JS).is_err());
        assert_eq!(
            check("f; ((((1))))", 3, JS),
            Err(TooDeep {
                offset: 6,
                limit: 3
            })
        );
        // The assignment is a level too.
        assert_eq!(
            check("x = ((((1))))", 3, JS),
            Err(TooDeep {
                offset: 6,
                limit: 3
            })
        );
        assert!(check(&"`${".repeat(5), 4, JS).is_err());
        assert!(check("`${a}${b}${c}${d}${e}`", 1, JS).is_ok());
        assert!(check(&format!("x = {}a", "!".repeat(10)), 9, JS).is_err());
        assert!(check("a - -b; c++ + ++d", 5, JS).is_ok());
    }

    #[test]
    fn chains_without_brackets_count() {
        let n = 50;
        for deep in [
            "x =\n".repeat(n) + "1",
            "x = ".repeat(n) + "1",
            "\nx\n= ".repeat(n) + "1",
            "x ? 1 :\n".repeat(n) + "0",
            "a => ".repeat(n) + "1",
            "2 ** ".repeat(n) + "2",
            "x <<= ".repeat(n) + "2",
            "l:\n".repeat(n) + "x",
            "typeof\nnew\n".repeat(n / 2) + "x",
            "if (x)\n".repeat(n) + "y",
            "if (x) // why\n".repeat(n) + "y",
            "for (;;)\nwhile (x)\n".repeat(n / 2) + "y",
            "for await (x of y) ".repeat(n) + "y",
            "if (x) y;\n".to_owned() + &"else if (x) y;\n".repeat(n),
            "if (x) {}".to_owned() + &" else if (x) {\n}".repeat(n),
            "do ".repeat(n) + &"x; while (y)\n".repeat(n),
        ] {
            assert!(check(&deep, 40, JS).is_err(), "{deep}");
            assert!(check(&deep, 40, TSX).is_err(), "{deep}");
        }
    }

    #[test]
    fn flat_statements_and_expressions_do_not_count() {
        let flat = "a = 1; b = 2;".repeat(500)
            + &"var c = d = x ? y : () => 1\n".repeat(500)
            + &"e = typeof e === 'x' ? e ** 2 : void 0, f = new F(), g = -g; l: for (;;) break l\n"
                .repeat(500)
            + &"if (x) y = 1; else if (z) y = 0; else y = 1\nif (x) { y = 1 } else { y = 2 }\n"
                .repeat(500)
            + &"if (a) f()\nwhile (b) g()\nfor (;;) {}\nx = {a: 1, b: 2 ? 3 : 4}\n".repeat(500)
            + &"o?.p ?? q; r ??= s; t == u; v != w; x <= y; z >= 0\n".repeat(500)
            + &"function f(a: string, b?: number): void {\n  return\n}\n".repeat(500)
            + &"x.if(1).new.for = 2;\n".repeat(500);
        assert!(check(&flat, 10, JS).is_ok());
        assert!(check(&flat, 10, TS).is_ok());
        assert!(check(&flat, 10, TSX).is_ok());
        // An ordinary `else if` chain nests one level per link and is well below the limit.
        let chain = "if (x === 0) {\n} ".to_owned() + &"else if (x === 1) {\n  f()\n} ".repeat(200);
        assert!(check(&chain, MAX_SOURCE_NESTING, JS).is_ok());
        assert!(check(&chain, 100, JS).is_err());
    }

    #[test]
    fn strings_and_comments_do_not_count() {
        let src = "s = '(((((('; t = \"[[[[[[\"; // {{{{{{{\n/* (((((( */ u = `((((((`";
        assert!(check(src, 1, JS).is_ok());
        assert!(check("re = /\\(\\(\\(\\(/g", 1, JS).is_ok());
    }

    #[test]
    fn angles_in_typescript_only_while_they_can_be_types() {
        let deep = "type T = ".to_owned() + &"A<\n".repeat(50) + "B" + &">".repeat(50);
        assert!(check(&deep, 40, TS).is_err());
        assert!(check(&deep, 40, JS).is_ok());
        let comparisons = "for (let i=0;i<n;i++) {}\nif (a<b) x()\n".repeat(200)
            + &"const ok = a<b\n".repeat(200)
            + "let m: Map<string, Array<number>> = new Map();\nconst f = (x) => x >= 1;\n";
        assert!(check(&comparisons, 10, TS).is_ok());
    }

    #[test]
    fn jsx_elements_count_and_close() {
        let deep =
            "const x = (\n".to_owned() + &"<div>\n".repeat(50) + &"</div>\n".repeat(50) + ");";
        assert!(check(&deep, 40, JSX).is_err());
        assert!(check(&deep, 40, TSX).is_err());
        assert!(check(&deep, 60, JSX).is_ok());
        let flat = "const x = (<ul>\n".to_owned()
            + &"<li a={1}><b>x</b><br/></li>\n".repeat(500)
            + "</ul>);\nfor (let i=0;i<n;i++) {}\nif (a<b) f()\n";
        assert!(check(&flat, 10, JSX).is_ok());
        assert!(check(&flat, 10, TSX).is_ok());
    }
}
