//! Hostile and broken input never crashes the analyzer: deep nesting, syntax errors, binary
//! bytes, huge literals, mutated real code. Each case must finish and return a result.

use std::fmt::Write as _;
use std::path::Path;

use miniguard_project::{DiscoverOptions, discover};

fn scan_tree(files: &[(&str, String)]) -> miniguard_scan::ScanOutput {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap_or(Path::new("."))).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    let project = discover(dir.path(), &DiscoverOptions::default()).expect("discover");
    miniguard_scan::scan(&project, miniguard_scan::rules::all(), Some(2), &|_| {}).expect("scan")
}

#[test]
fn deep_nesting_is_survived() {
    let n = 5000;
    let mut js = String::new();
    let _ = writeln!(js, "var x = {}1{};", "(\n".repeat(n), ")\n".repeat(n));
    let _ = writeln!(js, "var o = {}1{};", "{a:\n".repeat(n), "}\n".repeat(n));
    let _ = writeln!(
        js,
        "function f() {{ return {}1{} }}",
        "g(\n".repeat(n),
        ")\n".repeat(n)
    );
    let _ = writeln!(js, "{}{}", "if (a) {\n".repeat(n), "}\n".repeat(n));
    let _ = writeln!(
        js,
        "var s = {};",
        (0..20_000)
            .map(|i| format!("'a{i}'"))
            .collect::<Vec<_>>()
            .join(" +\n")
    );
    let _ = writeln!(
        js,
        "const {} = obj;",
        "{ a:\n".repeat(2000) + "b" + &"}\n".repeat(2000)
    );
    let wxml = "<view>\n".repeat(n) + &"</view>\n".repeat(n);
    let out = scan_tree(&[("pages/a/a.js", js), ("pages/a/a.wxml", wxml)]);
    assert_eq!(out.files_scanned, 2);
}

#[test]
fn broken_files_become_warnings() {
    let out = scan_tree(&[
        (
            "a.js",
            "function (((( { wx.request({url: 'http://x.example.com'".to_owned(),
        ),
        ("b.ts", "let x: = ;;; class { }".to_owned()),
        ("c.json", "{ \"debug\": tru".to_owned()),
        (
            "d.wxml",
            "<view><rich-text nodes=\"{{html\"></view".to_owned(),
        ),
        ("e.js", "\u{feff}const ok = 1\n".to_owned()),
    ]);
    let paths: Vec<&str> = out.warnings.iter().map(|w| w.path.as_str()).collect();
    assert!(paths.contains(&"a.js"), "{paths:?}");
    assert!(paths.contains(&"b.ts"), "{paths:?}");
}

/// Mutations of real-looking code (a cheap stable-Rust fuzz): truncate, splice, flip.
#[test]
fn mutated_code_never_panics() {
    let seed_code = r"
const { BASE } = require('./config')
Page({
  data: { html: '' },
  onLoad(options) {
    wx.request({ url: `${BASE}/a?id=${options.id}`, success: (res) => this.setData({ html: res.data }) })
    const [a, , ...rest] = options.list || []
    for (const k in options) { wx.setStorageSync(k, options[k]) }
    new Promise((r) => r(options.x)).then((v) => eval(v))
  },
})
exports.main = async (event) => db.query(`SELECT * FROM t WHERE a = ${event.a}`)
";
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let tokens = [
        "{", "}", "(", ")", "`", "${", "'", "\"", "=>", "...", "[", "]", ",", ";", "\n", "async ",
        "new ",
    ];
    let mut files = Vec::new();
    for i in 0..150 {
        let mut code: Vec<char> = seed_code.chars().collect();
        for _ in 0..=(next() % 6) {
            let pos = usize::try_from(next() % (code.len() as u64 + 1)).unwrap_or(0);
            match next() % 3 {
                0 => code.truncate(pos),
                1 => {
                    let t = tokens[usize::try_from(next() % tokens.len() as u64).unwrap_or(0)];
                    for (k, c) in t.chars().enumerate() {
                        code.insert((pos + k).min(code.len()), c);
                    }
                }
                _ => {
                    if pos < code.len() {
                        code.remove(pos);
                    }
                }
            }
        }
        files.push((format!("m{i}.js"), code.into_iter().collect::<String>()));
    }
    let refs: Vec<(&str, String)> = files.iter().map(|(n, c)| (n.as_str(), c.clone())).collect();
    let out = scan_tree(&refs);
    assert_eq!(out.files_scanned, 150);
}
