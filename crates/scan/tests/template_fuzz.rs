//! Stable-Rust smoke fuzzing of the template parser.
//!
//! The libFuzzer target in `fuzz/` needs nightly; this test runs everywhere (CI included). It
//! feeds deterministic pseudo-random mutations of real template snippets to every dialect and
//! checks that parsing never panics and that every span is in bounds, on `char` boundaries
//! and consistent with the stored text ([`Template::check_spans`]).
//!
//! By default it runs a fixed number of cases (fast in debug builds). Set
//! `MINIGUARD_FUZZ_SECS=N` to run for N seconds instead, and `MINIGUARD_FUZZ_SEED` to change the
//! seed; `fuzz/run-short.sh` does that when `cargo fuzz` is unavailable.

use miniguard_scan::template::{Dialect, Template, parse};
use std::time::{Duration, Instant};

const CASES: u64 = 20_000;

const SEEDS: &[&str] = &[
    r#"<view wx:for="{{list}}" wx:key="id" bindtap="go" data-id="{{item.id}}"><text>{{item.name}}</text></view>"#,
    r#"<image src="{{item.cover}}" mode="aspectFill"/><input value="{{v}}" bindinput="onInput">"#,
    r#"<rich-text nodes="{{article.content}}"></rich-text><web-view src="{{url}}"></web-view>"#,
    r#"<template name="card"><view>{{title}}</view></template><template is="card" data="{{...d}}"/>"#,
    r#"<import src="a.wxml"/><include src="b.wxml"></include><!-- note -->"#,
    "<wxs module=\"m\">var f = function(a) { return a < 1 && a > 0 ? '}}' : \"<b>\" }; module.exports = f;</wxs>",
    r#"<wxs src="./u.wxs" module="u"/><block wx:if="{{a > b}}">x</block><block wx:else>y</block>"#,
    r#"<view a:for="{{list}}" a:for-item="r" onTap="t">{{r}}</view><import-sjs from="x.sjs" name="s"/>"#,
    r#"<view s-for="item, index in list trackBy item.id">{{item}}</view><filter module="f">a<b</filter>"#,
    "<view class=\"{{ {a: {b: 1}} }}\" style='{{ \"}}\" }}'>{{ x ? '}}' : \"{{\" }}</view>",
    "\u{feff}<view>\r\n  中文 {{ 名字 }} é 😀\r\n</view>",
    "<view><text>unclosed<view></span>{{ open <a b=c d e='f' g=\"h",
    "<VIEW Disabled>a < b &amp; c</View></x><sjs module=\"q\">",
];

const TOKENS: &[&str] = &[
    "{{", "}}", "<", ">", "</", "/>", "<!--", "-->", "\"", "'", "`", "=", " ", "\n", "\r\n", "{",
    "}", "\\", "wx:for", "s-for", " in ", "<wxs>", "</wxs>", "<view>", "</view>", "中", "é", "😀",
    "\u{feff}", "\0", "<a", "b=", "&lt;",
];

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            usize::try_from(self.next() % n as u64).unwrap_or(0)
        }
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

fn mutate(rng: &mut Rng, input: &mut Vec<u8>) {
    let len = input.len();
    match rng.below(8) {
        0 => input.truncate(rng.below(len + 1)),
        1 if len > 0 => {
            let i = rng.below(len);
            input[i] ^= 1 << rng.below(8);
        }
        2 | 3 => {
            let at = rng.below(len + 1);
            let token = rng.pick(TOKENS).as_bytes();
            input.splice(at..at, token.iter().copied());
        }
        4 if len > 0 => {
            let a = rng.below(len);
            let b = (a + rng.below(16)).min(len);
            input.drain(a..b);
        }
        5 if len > 0 => {
            // Duplicate a chunk (builds nesting and repetition).
            let a = rng.below(len);
            let b = (a + rng.below(64)).min(len);
            let chunk: Vec<u8> = input[a..b].to_vec();
            let at = rng.below(len + 1);
            input.splice(at..at, chunk);
        }
        6 => {
            // Splice in part of another seed.
            let other = rng.pick(SEEDS).as_bytes();
            let a = rng.below(other.len());
            let b = (a + rng.below(80)).min(other.len());
            let at = rng.below(len + 1);
            input.splice(at..at, other[a..b].iter().copied());
        }
        _ => {
            let at = rng.below(len + 1);
            let byte = u8::try_from(rng.below(256)).unwrap_or(0);
            input.insert(at, byte);
        }
    }
}

fn generate(rng: &mut Rng) -> String {
    let mut bytes = if rng.below(5) == 0 {
        // Pure token soup.
        let n = rng.below(40);
        (0..n)
            .flat_map(|_| rng.pick(TOKENS).as_bytes().to_vec())
            .collect()
    } else {
        rng.pick(SEEDS).as_bytes().to_vec()
    };
    for _ in 0..=rng.below(6) {
        mutate(rng, &mut bytes);
    }
    // Byte flips may break UTF-8; the parser takes `&str`, so repair lossily (this also injects
    // U+FFFD, another multi-byte character).
    String::from_utf8_lossy(&bytes).into_owned()
}

fn check(src: &str) {
    for dialect in [
        Dialect::Wxml,
        Dialect::Axml,
        Dialect::Ttml,
        Dialect::Swan,
        Dialect::Qml,
    ] {
        let t: Template = parse(src, dialect);
        if let Err(e) = t.check_spans(src) {
            panic!("{dialect:?} {src:?}: {e}");
        }
        // The accessors must not panic either.
        t.walk(&mut |e, _| {
            let _ = e.for_binding(dialect);
            let _ = e.directive(dialect, "if");
        });
        for e in &t.errors {
            let _ = miniguard_scan::template::line_col(src, e.span.start);
        }
    }
}

#[test]
fn parser_survives_mutated_templates() {
    let seed = std::env::var("MINIGUARD_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_cafe_f00d_u64);
    let budget = std::env::var("MINIGUARD_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs);
    let mut rng = Rng(seed | 1);
    for s in SEEDS {
        check(s);
    }
    let started = Instant::now();
    let mut cases = 0u64;
    loop {
        match budget {
            Some(b) if started.elapsed() >= b => break,
            None if cases >= CASES => break,
            _ => {}
        }
        check(&generate(&mut rng));
        cases += 1;
    }
    eprintln!(
        "template fuzz: {cases} cases in {:?} (seed {seed})",
        started.elapsed()
    );
}
