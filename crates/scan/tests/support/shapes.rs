//! Generator of hostile project shapes (issue 12): deep nesting in every place the analyzer
//! parses, and the inputs that used to make it quadratic or exponential. Each shape is a list of
//! `(relative path, content)` at a chosen size, so tests run it at a size that proves the bound
//! in seconds and a benchmark can write it out much larger (`write_to`).

use std::fmt::Write as _;

/// A named project: files to write under an empty folder.
pub struct Shape {
    pub name: &'static str,
    pub files: Vec<(String, String)>,
}

fn page(dir: &str, script: &str, template: Option<(&str, String)>) -> Vec<(String, String)> {
    let mut files = vec![
        (
            "app.json".to_owned(),
            format!("{{\"pages\": [\"{dir}/index\"]}}"),
        ),
        (format!("{dir}/index.js"), script.to_owned()),
    ];
    if let Some((ext, text)) = template {
        files.push((format!("{dir}/index.{ext}"), text));
    }
    files
}

/// `open` repeated `n` times one per line, then `middle`, then `close` `n` times: nesting that
/// fits the default size limit and is not skipped as minified.
fn nest(open: &str, middle: &str, close: &str, n: usize) -> String {
    let mut s = String::with_capacity((open.len() + close.len() + 2) * n + middle.len());
    for _ in 0..n {
        s.push_str(open);
        s.push('\n');
    }
    s.push_str(middle);
    for _ in 0..n {
        s.push_str(close);
        s.push('\n');
    }
    s
}

/// Script nesting shapes of the issue, `n` levels deep (the sizes: 200k `(`, 300k-deep
/// types, 100k `class extends (`, 400k `{a:`, 300k `` `${ ``, 1M `[`), plus nested JSX
/// elements and prefix operators.
pub fn script_nesting(n: usize) -> Vec<Shape> {
    let one = |name, file: &str, text: String| Shape {
        name,
        files: vec![(file.to_owned(), text)],
    };
    let mut shapes = vec![
        one(
            "parens",
            "a.js",
            format!("var x = {};\n", nest("(", "1", ")", n)),
        ),
        one(
            "ts-types",
            "a.ts",
            format!("type T = {};\n", nest("Array<", "string", ">", n)),
        ),
        one(
            "class-extends",
            "a.js",
            format!(
                "var C = {};\n",
                nest("class extends (", "Object", ") {}", n)
            ),
        ),
        one(
            "object",
            "a.js",
            format!("var o = {};\n", nest("{a:", "1", "}", n)),
        ),
        one(
            "template-literal",
            "a.js",
            format!("var t = {};\n", nest("`${", "1", "}`", n)),
        ),
        one(
            "array",
            "a.js",
            format!("var a = {};\n", nest("[", "1", "]", n)),
        ),
        one(
            "jsx",
            "a.jsx",
            format!("var j = (\n{});\n", nest("<div>", "hi", "</div>", n)),
        ),
        one("unary", "a.js", format!("var u = {}1;\n", "!\n".repeat(n))),
    ];
    shapes.extend(bracketless_nesting(n));
    shapes
}

/// Nesting without brackets, `n` levels deep: right-associative operators (`a=b=…`,
/// `x?y:x?y:…`, `a=>b=>…`, `a**b**…`), runs of keyword prefixes (`typeof`, `void`, `await`,
/// `new`, `delete`), statements nested without braces (`if (x) if (x) …`, `else if` chains,
/// loops in loops) and labels.
pub fn bracketless_nesting(n: usize) -> Vec<Shape> {
    let one = |name, text: String| Shape {
        name,
        files: vec![("a.js".to_owned(), text)],
    };
    let mut shapes = vec![
        one("assign", format!("var x;\n{}1;\n", "x =\n".repeat(n))),
        one("ternary", format!("var x = {}0;\n", "x ? 1 :\n".repeat(n))),
        one("arrows", format!("var f = {}1;\n", "a =>\n".repeat(n))),
        one("exponent", format!("var e = {}2;\n", "2 **\n".repeat(n))),
        one(
            "if-chain",
            format!("var x = 1;\n{}x = 2;\n", "if (x)\n".repeat(n)),
        ),
        one(
            "else-if",
            format!(
                "var x = 1;\nif (x) x = 0;\n{}x = 2;\n",
                "else if (x) x = 1;\n".repeat(n)
            ),
        ),
        one(
            "loops",
            format!(
                "var x = 1;\n{}x = 2;\n",
                "for (;;)\nwhile (x)\n".repeat(n / 2)
            ),
        ),
        one("labels", format!("{}x: 1;\n", "l:\n".repeat(n))),
    ];
    for word in ["typeof", "void", "new", "delete"] {
        shapes.push(Shape {
            name: word,
            files: vec![(
                format!("{word}.js"),
                format!("var v = {}x;\n", format!("{word}\n").repeat(n)),
            )],
        });
    }
    shapes.push(one(
        "await",
        format!(
            "async function f() {{\nreturn {}x;\n}}\n",
            "await\n".repeat(n)
        ),
    ));
    shapes
}

/// Long flat code that looks like the shapes of [`bracketless_nesting`] but does not nest:
/// `n` assignments with and without semicolons, ternaries and arrows one per statement, and
/// `if`/`else` pairs side by side. All of it must be analysed.
pub fn bracketless_flat(n: usize) -> Vec<Shape> {
    let one = |name, text: String| Shape {
        name,
        files: vec![("a.js".to_owned(), text)],
    };
    let mut semi = String::new();
    let mut asi = String::new();
    let mut mixed = String::new();
    let mut ifs = String::new();
    for i in 0..n {
        let _ = write!(semi, "a{i} = {i};");
        let _ = writeln!(asi, "var b{i} = b{i} = x ? y : () => {i}");
        let _ = writeln!(
            mixed,
            "c = typeof c === 'x' ? c ** 2 : void 0, d = new D(), e = -e; lbl{i}: for (;;) break lbl{i}"
        );
        let _ = writeln!(
            ifs,
            "if (x) y = {i}; else if (z) y = 0; else y = 1\nif (x) {{ y = 1 }} else {{ y = 2 }}"
        );
    }
    vec![
        one("flat-semicolons", semi),
        one("flat-asi", asi),
        one("flat-mixed", mixed),
        one("flat-ifs", ifs),
    ]
}

/// An `else if` chain of `n` links, each with a block, as a generated dispatcher would write it.
pub fn else_if_chain(n: usize) -> String {
    let mut s = String::from("function f(x) {\n  if (x === -1) {\n    return -1\n  }");
    for i in 0..n {
        let _ = write!(s, " else if (x === {i}) {{\n    return {i}\n  }}");
    }
    s.push_str(" else {\n    return 0\n  }\n}\n");
    s
}

/// A page whose template binds `src="{{((…))}}"` `n` levels deep, in each dialect, and a Vue
/// component with `v-html` and `:src` just as deep.
pub fn binding_nesting(n: usize) -> Vec<Shape> {
    let expr = format!("{}url{}", "(".repeat(n), ")".repeat(n));
    let script = "Page({ data: { url: '' }, onLoad(o) { this.setData({ url: o.u }) } })\n";
    let mut shapes: Vec<Shape> = ["wxml", "axml", "ttml", "swan", "qml"]
        .into_iter()
        .map(|ext| Shape {
            name: ext,
            files: page(
                "pages/p",
                script,
                Some((
                    ext,
                    format!("<web-view src=\"{{{{{expr}}}}}\"></web-view>\n"),
                )),
            ),
        })
        .collect();
    shapes.push(Shape {
        name: "vue",
        files: vec![(
            "src/pages/p.vue".to_owned(),
            format!(
                "<template>\n<view><view v-html=\"{expr}\"></view><web-view :src=\"{expr}\"/></view>\n</template>\n<script>\nexport default {{ data() {{ return {{ url: '' }} }} }}\n</script>\n"
            ),
        )],
    });
    shapes
}

/// A Vue file with `n` `<script>` blocks (block masking was quadratic).
pub fn vue_many_scripts(n: usize) -> Shape {
    let mut s = String::from("<template><view/></template>\n");
    for i in 0..n {
        let _ = writeln!(s, "<script>\nvar v{i} = {i}\n</script>");
    }
    Shape {
        name: "vue-many-scripts",
        files: vec![("src/pages/m.vue".to_owned(), s)],
    }
}

/// A Vue file with `<template>` nested `n` deep (the block finder searched again per level).
pub fn vue_nested_templates(n: usize) -> Shape {
    let body = nest("<template>", "<view/>", "</template>", n);
    Shape {
        name: "vue-nested-templates",
        files: vec![(
            "src/pages/t.vue".to_owned(),
            format!("{body}<script>\nexport default {{}}\n</script>\n"),
        )],
    }
}

/// `depth` nested `wx:for` loops around `bindings` bindings (each binding re-evaluated every
/// enclosing loop and cloned the scope).
pub fn nested_loops(depth: usize, bindings: usize) -> Shape {
    let mut t = String::new();
    for i in 0..depth {
        let _ = writeln!(t, "<view wx:for=\"{{{{list{i}}}}}\" wx:for-item=\"it{i}\">");
    }
    for i in 0..bindings {
        let _ = writeln!(t, "<image src=\"{{{{it{}.u}}}}\"/>", i % depth.max(1));
    }
    for _ in 0..depth {
        t.push_str("</view>\n");
    }
    Shape {
        name: "nested-loops",
        files: page(
            "pages/l",
            "Page({ data: { list0: [] }, onLoad(o) { this.setData({ list0: o.l }) } })\n",
            Some(("wxml", t)),
        ),
    }
}

/// One file with `n` findings (suppression split the file again for every finding).
pub fn many_findings(n: usize) -> Shape {
    let mut s = String::new();
    for i in 0..n {
        let _ = writeln!(s, "wx.request({{ url: 'http://h{i}.example.com/' }})");
    }
    Shape {
        name: "many-findings",
        files: vec![("a.js".to_owned(), s)],
    }
}

/// `n` modules, each requiring `k` others spread over the graph and reading what they export at
/// its top level: a densely connected require graph in which every batch of files reaches most
/// modules.
pub fn dense_requires(n: usize, k: usize) -> Shape {
    let files = (0..n)
        .map(|i| {
            let mut s = String::new();
            for j in 1..=k {
                let _ = writeln!(s, "const m{j} = require('./m{}').v", (i * 7 + j * 13) % n);
            }
            let _ = writeln!(
                s,
                "module.exports = {{ v: m1 }}\nwx.request({{ url: 'http://h{i}.example.com/' }})"
            );
            (format!("lib/m{i}.js"), s)
        })
        .collect();
    Shape {
        name: "dense-requires",
        files,
    }
}

/// Writes every shape under `dir/<name>/`, for runs of the binary under `/usr/bin/time -v`.
#[allow(dead_code)] // Reason: used by the benchmark entry point only.
pub fn write_to(dir: &std::path::Path, shapes: &[Shape]) -> std::io::Result<()> {
    for shape in shapes {
        for (rel, text) in &shape.files {
            let p = dir.join(shape.name).join(rel);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(p, text)?;
        }
    }
    Ok(())
}
