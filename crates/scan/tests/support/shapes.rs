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
    vec![
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
    ]
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
