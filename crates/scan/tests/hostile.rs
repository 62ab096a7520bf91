//! Issue 12: the analyzer under hostile input. Every shape ends with a result and a warning that
//! says what was cut short; none crashes (a stack overflow aborts the whole test binary), and
//! each runs at a size that would take minutes or overflow the stack without its bound.

mod support;

use std::fmt::Write as _;
use std::path::Path;

use miniguard_project::{DiscoverOptions, discover};
use support::shapes::{self, Shape};

fn scan_files(files: &[(String, String)]) -> miniguard_scan::ScanOutput {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap_or(Path::new("."))).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    let opts = DiscoverOptions {
        max_file_size: 8 * 1024 * 1024,
        ..DiscoverOptions::default()
    };
    let started = std::time::Instant::now();
    let project = discover(dir.path(), &opts).expect("discover");
    let out = miniguard_scan::scan(&project, miniguard_scan::rules::all(), Some(2), &|_| {})
        .expect("scan");
    // Not a speed check (speed is measured in bench/): a guard against the unbounded work these
    // shapes caused before their bounds, which ran for many minutes or crashed. Each shape takes
    // a few seconds in a debug build; the guard leaves room for a machine busy with other
    // builds (20 s was once exceeded at a load average of 10).
    assert!(
        started.elapsed() < std::time::Duration::from_mins(2),
        "took {:?}",
        started.elapsed()
    );
    out
}

fn scan(shape: &Shape) -> miniguard_scan::ScanOutput {
    scan_files(&shape.files)
}

fn warned(out: &miniguard_scan::ScanOutput, path: &str, needle: &str) -> bool {
    out.warnings
        .iter()
        .any(|w| w.path == path && w.message.contains(needle))
}

#[test]
fn deep_script_nesting_is_refused_before_parsing_with_a_warning() {
    for shape in shapes::script_nesting(200_000) {
        eprintln!("shape {}", shape.name);
        let out = scan(&shape);
        let (file, _) = &shape.files[0];
        assert!(
            warned(&out, file, "nested deeper than"),
            "{}: {:?}",
            shape.name,
            out.warnings
        );
        let w = out
            .warnings
            .iter()
            .find(|w| &w.path == file)
            .expect("warning");
        assert!(
            w.position.is_some(),
            "{}: the warning says where",
            shape.name
        );
    }
}

#[test]
fn nesting_below_the_limit_is_still_analysed() {
    // 990 levels, just under the limit: parsed and analysed (the evaluator follows 400 and
    // says so), without a crash.
    for shape in shapes::script_nesting(990) {
        let out = scan(&shape);
        let (file, _) = &shape.files[0];
        assert!(
            !warned(&out, file, "the file was not analysed"),
            "{}: {:?}",
            shape.name,
            out.warnings
        );
    }
}

#[test]
fn flat_code_like_the_bracketless_shapes_is_analysed() {
    // 20k statements of each look-alike: assignments, ternaries, arrows, prefixes, labels and
    // `if`/`else` side by side (with and without semicolons) are not nesting.
    for shape in shapes::bracketless_flat(20_000) {
        let out = scan(&shape);
        assert!(
            !out.warnings
                .iter()
                .any(|w| w.message.contains("nested deeper")),
            "{}: {:?}",
            shape.name,
            out.warnings
        );
    }
    // An `else if` chain of ordinary length is analysed, and its findings are reported.
    let mut code = shapes::else_if_chain(300);
    code.push_str("f(1)\nwx.request({ url: 'http://api.example.com/x' })\n");
    let out = scan_files(&[("a.js".to_owned(), code)]);
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    assert!(!out.findings.is_empty(), "the file was analysed");
}

#[test]
fn bindings_below_the_limit_are_still_analysed() {
    for shape in shapes::binding_nesting(990) {
        let out = scan(&shape);
        assert!(
            !out.warnings
                .iter()
                .any(|w| w.message.contains("binding nested")),
            "{}: {:?}",
            shape.name,
            out.warnings
        );
    }
}

#[test]
fn deep_template_bindings_are_refused_in_every_dialect_and_vue() {
    for shape in shapes::binding_nesting(100_000) {
        let out = scan(&shape);
        let file = &shape.files.last().expect("template or vue file").0;
        assert!(
            warned(&out, file, "binding nested deeper than"),
            "{}: {:?}",
            shape.name,
            out.warnings
        );
    }
}

#[test]
fn evaluator_depth_cut_is_reported() {
    let shape = &shapes::script_nesting(600)[0];
    let out = scan(shape);
    assert!(
        warned(&out, "a.js", "nested deeper than 400"),
        "{:?}",
        out.warnings
    );
}

#[test]
fn vue_with_many_script_blocks_is_linear() {
    // 20k blocks: the old masking did 20k range checks per character of a 600 KB file.
    let out = scan(&shapes::vue_many_scripts(20_000));
    assert_eq!(out.files_scanned, 1);
}

#[test]
fn vue_with_deeply_nested_templates_is_linear() {
    let out = scan(&shapes::vue_nested_templates(50_000));
    assert_eq!(out.files_scanned, 1);
    assert!(
        warned(&out, "src/pages/t.vue", "nested deeper than"),
        "{:?}",
        out.warnings
    );
}

#[test]
fn unclosed_vue_blocks_are_reported() {
    let out = scan_files(&[
        (
            "src/pages/s.vue".to_owned(),
            "<template><view/></template>\n<script>\nexport default {}\n".to_owned(),
        ),
        (
            "src/pages/t.vue".to_owned(),
            "<template><view v-html=\"x\">\n<script>\nexport default { data() { return { x: '' } } }\n</script>\n".to_owned(),
        ),
    ]);
    assert!(
        warned(
            &out,
            "src/pages/s.vue",
            "<script> block without its end tag"
        ),
        "{:?}",
        out.warnings
    );
    assert!(
        warned(
            &out,
            "src/pages/t.vue",
            "<template> block without its end tag"
        ),
        "{:?}",
        out.warnings
    );
}

#[test]
fn nested_loops_around_many_bindings_are_bounded() {
    // 40 loops deep (past the 32 followed) around 20k bindings.
    let out = scan(&shapes::nested_loops(40, 20_000));
    assert!(
        warned(&out, "pages/l/index.wxml", "loops nested deeper than 32"),
        "{:?}",
        out.warnings
    );
}

#[test]
fn many_findings_in_one_file_are_placed_in_linear_time() {
    let out = scan(&shapes::many_findings(30_000));
    assert!(
        out.findings.len() >= 1000,
        "{} {:?}",
        out.findings.len(),
        out.warnings
    );
}

#[test]
fn templates_in_gbk_are_analysed_with_a_warning() {
    let mut files = vec![
        (
            "app.json".to_owned(),
            "{\"pages\": [\"pages/g/index\"]}".to_owned(),
        ),
        (
            "pages/g/index.js".to_owned(),
            "Page({ data: { u: '' }, onLoad(o) { this.setData({ u: o.u }) } })\n".to_owned(),
        ),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in &files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    // "标题" in GBK, then a tainted web-view.
    let mut wxml = b"<text>\xb1\xea\xcc\xe2</text>\n".to_vec();
    wxml.extend_from_slice(b"<web-view src=\"{{u}}\"></web-view>\n");
    std::fs::write(dir.path().join("pages/g/index.wxml"), wxml).expect("write");
    files.clear();
    let project = discover(dir.path(), &DiscoverOptions::default()).expect("discover");
    let out = miniguard_scan::scan(&project, miniguard_scan::rules::all(), Some(1), &|_| {})
        .expect("scan");
    assert!(
        warned(&out, "pages/g/index.wxml", "not valid UTF-8"),
        "{:?}",
        out.warnings
    );
    assert!(
        out.findings
            .iter()
            .any(|f| f.location.path == "pages/g/index.wxml"),
        "the template was analysed: {:?}",
        out.findings
    );
}

/// Writes every shape at the issue's sizes to `$MINIGUARD_SHAPES_DIR`, for measuring the binary
/// with `/usr/bin/time -v miniguard scan DIR/<shape>`. Does nothing without the variable.
#[test]
fn write_shapes_for_benchmarks() {
    let Some(dir) = std::env::var_os("MINIGUARD_SHAPES_DIR") else {
        return;
    };
    let mut all = shapes::script_nesting(200_000);
    all.extend(shapes::binding_nesting(200_000));
    all.push(shapes::vue_many_scripts(100_000));
    all.push(shapes::vue_nested_templates(300_000));
    all.push(shapes::nested_loops(100, 100_000));
    all.push(shapes::many_findings(72_000));
    all.push(shapes::dense_requires(10_000, 16));
    shapes::write_to(Path::new(&dir), &all).expect("write shapes");
}

/// Stable smoke fuzz of the Vue block splitter, the nesting pre-scan and the JSON config
/// reader (the libFuzzer targets `vue_blocks` and `json_config` check the same with nightly):
/// mutations of real snippets never panic and keep the splitter's invariants.
#[test]
fn smoke_fuzz_vue_split_depth_and_json() {
    use miniguard_scan::js::{depth, vue};
    let seeds = [
        "<template>\n<view v-html=\"a\"><template v-if=\"b\">x</template></view>\n</template>\n<script lang=\"ts\">\nexport default { data() { return { a: `${b}` } } }\n</script>\n",
        "{\"pages\": [\"a/b\"], \"usingComponents\": {\"x\": \"/c/x\"}, \"window\": {\"t\": [1, 2, {\"k\": null}]}}",
        "type T = Array<Map<string, (a: number) => void>>; const x = [{a: (1)}];",
    ];
    let mut state: u64 = std::env::var("MINIGUARD_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x2545_F491_4F6C_DD1D);
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let pieces = [
        "<script",
        "</script>",
        "<template",
        "</template>",
        ">",
        "{",
        "}",
        "(",
        "`",
        "${",
        "\"",
        "\n",
        "é",
        "[",
        "<",
    ];
    for i in 0..3000 {
        let seed = seeds[i % seeds.len()];
        let mut s: String = seed.to_owned();
        for _ in 0..=(next() % 8) {
            let at = usize::try_from(next() % (s.len() as u64 + 1)).unwrap_or(0);
            let mut at = at.min(s.len());
            while !s.is_char_boundary(at) {
                at -= 1;
            }
            match next() % 3 {
                0 => s.truncate(at),
                1 => s.insert_str(
                    at,
                    pieces[usize::try_from(next() % pieces.len() as u64).unwrap_or(0)],
                ),
                _ => {
                    if let Some(c) = s[at..].chars().next() {
                        s.replace_range(at..at + c.len_utf8(), "");
                    }
                }
            }
        }
        for tag in ["script", "template"] {
            let split = vue::split(&s, tag);
            let mut last = 0;
            for b in &split.blocks {
                assert!(
                    b.start <= b.end && b.end <= s.len() && b.start >= last,
                    "{s:?}"
                );
                last = b.end;
            }
            let keep: Vec<(usize, usize)> = split.blocks.iter().map(|b| (b.start, b.end)).collect();
            assert_eq!(vue::mask(&s, &keep).len(), s.len());
        }
        let _ = depth::check(
            &s,
            8,
            depth::Options {
                angles: true,
                jsx: true,
            },
        );
        let _ = miniguard_project::json::parse(&s);
    }
}

/// Issue 12 (part): each batch loads what its files import (parsed once per worker); the number
/// of modules one batch loads is capped, with a warning naming the first import left out.
#[test]
fn modules_per_batch_are_capped() {
    let n = miniguard_scan::js::MAX_BATCH_MODULES + 50;
    let mut files: Vec<(String, String)> = (0..n)
        .map(|i| (format!("lib/m{i}.js"), format!("module.exports = {i}\n")))
        .collect();
    let mut main = String::new();
    for i in 0..n {
        main.push_str("require('./lib/m");
        main.push_str(&i.to_string());
        main.push_str("')\n");
    }
    files.push(("main.js".to_owned(), main));
    let out = scan_files(&files);
    assert!(
        out.warnings
            .iter()
            .any(|w| w.message.contains("not followed as an import")),
        "{:?}",
        out.warnings.iter().take(5).collect::<Vec<_>>()
    );
}

/// Issue 12: every batch of 8 files parsed the modules its files reach, up to 2000 per batch:
/// in a dense require graph that is 2000 parses per 8 files. The imports parsed over the whole
/// scan now share a budget linear in the number of files; the files whose imports it cut are
/// named as analysed in part, and every file is still analysed itself.
#[test]
fn dense_require_graphs_are_parsed_within_a_linear_budget() {
    // 1000 files: 125 batches of up to 2000 parses each before (over a minute in a debug
    // build), 32,000 parses in all now.
    let n = 1000;
    let out = scan(&shapes::dense_requires(n, 8));
    let partly = out
        .warnings
        .iter()
        .filter(|w| {
            w.message
                .contains("analysed in part: the scan had parsed its budget")
        })
        .count();
    assert!(
        partly > 0 && partly <= n,
        "{partly}: {:?}",
        out.warnings.first()
    );
    // Each module's own request is still reported.
    let files: std::collections::BTreeSet<&str> = out
        .findings
        .iter()
        .map(|f| f.location.path.as_str())
        .collect();
    assert_eq!(files.len(), n);
}

/// The handler analysis describes calls by a bounded prefix of their code: a database chain of
/// thousands of links (each call's callee is the whole chain before it) took minutes when every
/// description read the whole callee.
#[test]
fn cloud_function_with_a_long_database_chain_is_analysed_in_linear_time() {
    let mut chain = String::from("db.collection('orders')");
    for i in 0..3000 {
        let _ = write!(chain, "\n    .where({{ a{i}: event.x, b: _.eq(event.y) }})");
    }
    chain.push_str("\n    .remove()");
    let code = format!(
        "const cloud = require('wx-server-sdk')\nconst db = cloud.database()\nconst _ = db.command\nexports.main = async (event) => {{\n  await {chain}\n  await db.collection('orders').doc(event.id).remove()\n}}\n"
    );
    let out = scan_files(&[
        (
            "project.config.json".to_owned(),
            r#"{"cloudfunctionRoot": "cloudfunctions/"}"#.to_owned(),
        ),
        (
            "cloudfunctions/x/package.json".to_owned(),
            r#"{"dependencies": {"wx-server-sdk": "*"}}"#.to_owned(),
        ),
        ("cloudfunctions/x/index.js".to_owned(), code),
    ]);
    assert!(
        out.findings.iter().any(|f| f.rule == "A007"),
        "the file is analysed to its end: the removal by a client-chosen id is reported"
    );
}

/// The template of a Vue file was analysed only for a page with an options object
/// (`export default {…}`): with `<script setup>`, or a template alone, its errors were never
/// reported and its bindings never checked.
#[test]
fn vue_templates_without_an_options_object_are_analysed() {
    let template = "<template>\n<view>\n<web-view :src=\"'https://h.example.com/'\"></web-view>\n<view><text>a</view>\n</view>\n</template>\n";
    let deep = format!(
        "<template>\n<view v-html=\"{}x{}\"></view>\n</template>\n",
        "(".repeat(2000),
        ")".repeat(2000)
    );
    let out = scan_files(&[
        (
            "src/pages/o.vue".to_owned(),
            format!(
                "{template}<script>\nexport default {{ data() {{ return {{}} }} }}\n</script>\n"
            ),
        ),
        (
            "src/pages/s.vue".to_owned(),
            format!("{template}<script setup>\nconst a = 1\n</script>\n"),
        ),
        ("src/pages/t.vue".to_owned(), template.to_owned()),
        (
            "src/pages/d.vue".to_owned(),
            format!("{deep}<script setup>\n</script>\n"),
        ),
    ]);
    for file in ["src/pages/o.vue", "src/pages/s.vue", "src/pages/t.vue"] {
        assert!(
            warned(&out, file, "template: `<text>` is not closed"),
            "{file}: {:?}",
            out.warnings
        );
    }
    assert!(
        warned(&out, "src/pages/d.vue", "binding nested deeper than"),
        "{:?}",
        out.warnings
    );
}
