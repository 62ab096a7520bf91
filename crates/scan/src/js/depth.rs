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
//! `(`, `[`, `{`, `${`, runs of prefix operators (`!!!!x`, `- - - x`), and type-argument angles
//! (`A<B<C>>`, TypeScript only, see [`Options::angles`]). It over-approximates rather than
//! under-approximates: a regular expression with an unbalanced bracket adds a level, which only
//! matters for code that is near the limit anyway.

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
}

/// Angle and JSX levels opened directly inside one bracket (or at the top level).
#[derive(Clone, Copy, Default)]
struct Open {
    angles: u32,
    tags: u32,
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
    // Sums of the angle and tag levels of every frame.
    let mut soft: usize = 0;
    let mut mode = Mode::Code;
    // Last byte of code that was not whitespace, for `=>`, `>=` and line ends.
    let mut last_sig: u8 = 0;
    // Length of the current run of prefix operators.
    let mut unary_run: usize = 0;
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
    while i < b.len() {
        let c = b[i];
        if let Mode::Template = mode {
            match c {
                b'\\' => i += 1,
                b'`' => mode = Mode::Code,
                b'$' if b.get(i + 1) == Some(&b'{') => {
                    frames.push((Frame::Subst, Open::default()));
                    if frames.len() + soft > limit_usize {
                        return Err(too_deep(i));
                    }
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
                if opts.angles && last_sig != b'<' && last_sig != b',' {
                    let o = open_here!();
                    soft -= o.angles as usize;
                    o.angles = 0;
                }
                i += 1;
                continue;
            }
            _ => {}
        }
        if matches!(c, b'!' | b'~' | b'+' | b'-') {
            unary_run += 1;
            if frames.len() + soft + unary_run > limit_usize {
                return Err(too_deep(i));
            }
        } else {
            unary_run = 0;
        }
        let next = b.get(i + 1).copied().unwrap_or(0);
        match c {
            b'/' if next == b'/' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if next == b'*' => {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i += 2;
                continue;
            }
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
                frames.push((Frame::Bracket, Open::default()));
                if frames.len() + soft > limit_usize {
                    return Err(too_deep(i));
                }
            }
            b')' | b']' | b'}' => {
                if let Some((frame, o)) = frames.pop() {
                    soft -= (o.angles + o.tags) as usize;
                    if frame == Frame::Subst && c == b'}' {
                        mode = Mode::Template;
                    }
                }
            }
            b';' => {
                let o = open_here!();
                soft -= (o.angles + o.tags) as usize;
                *o = Open::default();
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
                if frames.len() + soft > limit_usize {
                    return Err(too_deep(i));
                }
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
            check("x = ((((1))))", 3, JS),
            Err(TooDeep {
                offset: 7,
                limit: 3
            })
        );
        assert!(check(&"`${".repeat(5), 4, JS).is_err());
        assert!(check("`${a}${b}${c}${d}${e}`", 1, JS).is_ok());
        assert!(check(&format!("x = {}a", "!".repeat(10)), 9, JS).is_err());
        assert!(check("a - -b; c++ + ++d", 5, JS).is_ok());
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
