//! Turning a compiled package back into the shape of a source tree.
//!
//! What the compiler does, and what is undone here:
//!
//! - **Scripts.** Every module is wrapped as `define("utils/config.js", function(require,
//!   module, exports, ...) { <module code> })` and concatenated into `app-service.js` (newer
//!   packages: `appservice.app.js`; mini-games: `game.js`; subpackages: the same names inside
//!   their folder). The bundle is parsed with oxc and each wrapper's body becomes the file its
//!   name gives, byte for byte, so a finding's line inside the module is the line in the
//!   source. A bundle is kept as it is when no wrapper is found in it (a mini-game's plain
//!   `game.js`). Plugin modules (`plugin-private://wx.../x.js`) go to `__plugin__/<appid>/x.js`.
//! - **Configuration.** `app-config.json` merges `app.json` with every page's configuration
//!   (`page` → `{"pages/a/a.html": {"window": {...}}}`). It is split back into `app.json`
//!   (without `page`, `entryPagePath` and `global`, whose `window` becomes the app's `window`)
//!   and one `pages/a/a.json` per page, unless the package already has that file. The JSON is
//!   written with two-space indentation and the package's key order; `app-config.json` itself
//!   is dropped once split, like a split bundle. Newer bundles also assign page configurations
//!   as `__wxAppCode__["pages/a/a.json"] = {...}`; those become `pages/a/a.json` as well.
//! - **Templates.** When the package carries `.wxml` files they are kept. Templates compiled
//!   into the `$gwx` render functions of `page-frame.html`, `app-wxss.js` or `page-frame.js`
//!   are **not** turned back into WXML: that needs evaluating the generated code. Such a package
//!   gets a note saying so, and the template rules (rich-text, web-view sources) cannot run on
//!   it; the scripts and configuration are still audited. WXS modules compiled into the same
//!   functions are not recovered either.
//!
//! Everything else (styles, images, the compiled files themselves) is kept under its own name.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use oxc_allocator::Allocator;
use oxc_ast::ast::{Argument, AssignmentTarget, Expression, Statement};
use oxc_parser::{ParseOptions, Parser};
use oxc_span::{GetSpan as _, SourceType};

use super::Package;
use super::reader::check_name;
use crate::json::{self, JsonNode, JsonValue};

/// Names of the bundles that hold `define(...)` wrapped modules.
const BUNDLES: &[&str] = &["app-service.js", "appservice.app.js", "game.js"];
/// Files that hold templates compiled into `$gwx` functions.
const COMPILED_TEMPLATES: &[&str] = &["page-frame.html", "app-wxss.js", "page-frame.js"];
/// How deep wrappers are looked for inside parentheses, sequences and immediately invoked
/// functions.
const MAX_WRAP_DEPTH: usize = 16;
/// Bundles whose brackets nest deeper than this are not parsed: the parser recurses, and no
/// compiler output nests like that.
const MAX_BRACKET_DEPTH: usize = 1000;

/// A package in source shape: files by relative path (sorted), and notes on what could not be
/// restored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Restored {
    pub files: BTreeMap<String, Vec<u8>>,
    pub notes: Vec<String>,
}

/// Restore the source shape of a checked package.
pub fn restore(pkg: &Package) -> Restored {
    let mut out = Restored::default();
    let mut bundles = Vec::new();
    let mut configs = Vec::new();
    for e in pkg.entries() {
        let base = e.name.rsplit('/').next().unwrap_or(&e.name);
        if BUNDLES.contains(&base) {
            bundles.push(e);
        } else if base == "app-config.json" {
            configs.push(e);
        }
        out.files.insert(e.name.clone(), pkg.contents(e).to_vec());
    }

    for b in bundles {
        let text = String::from_utf8_lossy(pkg.contents(b));
        let modules = match split_bundle(&text) {
            Ok(m) => m,
            Err(msg) => {
                out.notes.push(format!("{}: {msg}; kept as it is", b.name));
                continue;
            }
        };
        if modules.is_empty() {
            continue;
        }
        let mut written = 0usize;
        for (name, body) in modules {
            let Some(path) = module_path(&name) else {
                out.notes.push(format!(
                    "{}: module {name:?} has an unsafe name; left out",
                    b.name
                ));
                continue;
            };
            if path.ends_with(".json") {
                // A page configuration: JSON as the compiler wrote it, indented like a source
                // file; a file of the package with the same name wins.
                let text = match json::parse(&body) {
                    Ok(node) => {
                        let mut t = String::new();
                        write_json(&node, 0, &mut t);
                        t.push('\n');
                        t
                    }
                    Err(_) => body,
                };
                out.files.entry(path).or_insert_with(|| text.into_bytes());
                continue;
            }
            out.files.insert(path, body.into_bytes());
            written += 1;
        }
        if written > 0 {
            out.files.remove(&b.name);
        }
    }

    for c in configs {
        let dir = c.name.rsplit_once('/').map_or("", |(d, _)| d);
        let text = String::from_utf8_lossy(pkg.contents(c));
        match json::parse(&text) {
            Ok(node) => {
                if split_config(&node, dir, &mut out) {
                    out.files.remove(&c.name);
                }
            }
            Err(e) => out
                .notes
                .push(format!("{}: invalid JSON ({e}); kept as it is", c.name)),
        }
    }

    let has_wxml = out.files.keys().any(|k| k.ends_with(".wxml"));
    let compiled: Vec<&str> = pkg
        .entries()
        .iter()
        .map(|e| e.name.as_str())
        .filter(|n| COMPILED_TEMPLATES.contains(&n.rsplit('/').next().unwrap_or(n)))
        .collect();
    if !has_wxml && !compiled.is_empty() {
        out.notes.push(format!(
            "templates are compiled into $gwx functions ({}) and are not restored to WXML; \
             template rules (rich-text, web-view) do not run on this package",
            compiled.join(", ")
        ));
    }
    out
}

/// The `(name, body)` of every `define("name", function(...) { body })` in a bundle, in order.
/// The body loses one leading and one trailing line break, which the compiler puts around the
/// module's code. Page configurations assigned as `__wxAppCode__["pages/a/a.json"] = {...}`
/// come out as `("pages/a/a.json", "{...}")`.
pub fn split_bundle(text: &str) -> Result<Vec<(String, String)>, String> {
    if bracket_depth(text) > MAX_BRACKET_DEPTH {
        return Err(format!(
            "brackets nest deeper than {MAX_BRACKET_DEPTH}, not parsed"
        ));
    }
    let alloc = Allocator::default();
    let ret = Parser::new(&alloc, text, SourceType::cjs())
        .with_options(ParseOptions {
            allow_return_outside_function: true,
            ..ParseOptions::default()
        })
        .parse();
    if ret.panicked {
        return Err("the bundle does not parse as JavaScript".into());
    }
    let mut found = Vec::new();
    for s in &ret.program.body {
        statement(s, text, 0, &mut found);
    }
    Ok(found)
}

fn statement(s: &Statement<'_>, text: &str, depth: usize, found: &mut Vec<(String, String)>) {
    if let Statement::ExpressionStatement(es) = s {
        expression(&es.expression, text, depth, found);
    }
}

fn expression(e: &Expression<'_>, text: &str, depth: usize, found: &mut Vec<(String, String)>) {
    if depth >= MAX_WRAP_DEPTH {
        return;
    }
    match e {
        Expression::SequenceExpression(seq) => {
            for x in &seq.expressions {
                expression(x, text, depth + 1, found);
            }
        }
        Expression::ParenthesizedExpression(p) => {
            expression(&p.expression, text, depth + 1, found);
        }
        Expression::UnaryExpression(u) => expression(&u.argument, text, depth + 1, found),
        // Newer bundles carry page configurations: `__wxAppCode__["pages/a/a.json"] = {...}`.
        Expression::AssignmentExpression(a) => {
            if let AssignmentTarget::ComputedMemberExpression(m) = &a.left
                && let Expression::Identifier(obj) = &m.object
                && obj.name == "__wxAppCode__"
                && let Expression::StringLiteral(key) = &m.expression
                && key.value.ends_with(".json")
                && let Expression::ObjectExpression(_) = &a.right
            {
                let span = a.right.span();
                let raw = text
                    .get(span.start as usize..span.end as usize)
                    .unwrap_or("");
                found.push((key.value.to_string(), raw.to_owned()));
            }
        }
        Expression::CallExpression(call) => {
            if let Expression::Identifier(id) = &call.callee
                && id.name == "define"
                && let [
                    Argument::StringLiteral(name),
                    Argument::FunctionExpression(f),
                    ..,
                ] = call.arguments.as_slice()
                && let Some(body) = &f.body
            {
                let start = body.span.start as usize + 1;
                let end = (body.span.end as usize).saturating_sub(1).max(start);
                let raw = text.get(start..end).unwrap_or("");
                let raw = raw
                    .strip_prefix("\r\n")
                    .or_else(|| raw.strip_prefix('\n'))
                    .unwrap_or(raw);
                let raw = raw
                    .strip_suffix("\r\n")
                    .or_else(|| raw.strip_suffix('\n'))
                    .unwrap_or(raw);
                found.push((name.value.to_string(), raw.to_owned()));
                return;
            }
            // An immediately invoked wrapper around the modules: `(function(){ ... })()`.
            let callee = match &call.callee {
                Expression::ParenthesizedExpression(p) => &p.expression,
                other => other,
            };
            let stmts = match callee {
                Expression::FunctionExpression(f) => f.body.as_ref().map(|b| &b.statements),
                Expression::ArrowFunctionExpression(a) => match &a.body {
                    oxc_ast::ast::ArrowFunctionBody::FunctionBody(b) => Some(&b.statements),
                    _ => None,
                },
                _ => None,
            };
            for s in stmts.into_iter().flatten() {
                statement(s, text, depth + 1, found);
            }
        }
        _ => {}
    }
}

/// The deepest nesting of `(`, `[` and `{` in `text`, counting brackets in strings and
/// comments too (an upper bound is all that is needed).
fn bracket_depth(text: &str) -> usize {
    let mut depth = 0usize;
    let mut max = 0usize;
    for b in text.bytes() {
        match b {
            b'(' | b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Where a module named in a wrapper goes, or `None` when its name is unsafe.
fn module_path(name: &str) -> Option<String> {
    let plugin = name
        .strip_prefix("plugin-private://")
        .or_else(|| name.strip_prefix("plugin://"));
    let rel = match plugin {
        Some(rest) => format!("__plugin__/{rest}"),
        None => name.trim_start_matches('/').to_owned(),
    };
    check_name(0, rel.as_bytes()).ok()
}

/// Split `app-config.json` (in folder `dir` of the package) into `app.json` and page configs;
/// `false` when it is not an object and was kept as it is.
fn split_config(node: &JsonNode, dir: &str, out: &mut Restored) -> bool {
    let Some(members) = node.as_object() else {
        out.notes
            .push("app-config.json is not an object; kept as it is".to_owned());
        return false;
    };
    let join = |name: &str| {
        if dir.is_empty() {
            name.to_owned()
        } else {
            format!("{dir}/{name}")
        }
    };
    let has_window = node.get("window").is_some();
    let mut app = String::from("{");
    let mut first = true;
    for m in members {
        let (key, value) = match m.key.name.as_str() {
            "page" | "entryPagePath" => continue,
            "global" => match m.value.get("window") {
                Some(w) if !has_window => ("window", w),
                _ => continue,
            },
            k => (k, &m.value),
        };
        app.push_str(if first { "\n" } else { ",\n" });
        first = false;
        app.push_str("  ");
        push_string(&mut app, key);
        app.push_str(": ");
        write_json(value, 1, &mut app);
    }
    app.push_str(if first { "}\n" } else { "\n}\n" });
    let app_path = join("app.json");
    out.files
        .entry(app_path)
        .or_insert_with(|| app.into_bytes());

    let Some(pages) = node.get("page").and_then(JsonNode::as_object) else {
        return true;
    };
    for p in pages {
        let page = p.key.name.strip_suffix(".html").unwrap_or(&p.key.name);
        let Some(path) = module_path(&format!("{page}.json")) else {
            out.notes.push(format!(
                "app-config.json: page {:?} has an unsafe name; left out",
                p.key.name
            ));
            continue;
        };
        if out.files.contains_key(&path) {
            continue;
        }
        // Older packages nest the page's configuration under `window`.
        let config = match p.value.as_object() {
            Some([only]) if only.key.name == "window" => &only.value,
            _ => &p.value,
        };
        let mut text = String::new();
        write_json(config, 0, &mut text);
        text.push('\n');
        out.files.insert(path, text.into_bytes());
    }
    true
}

/// JSON with two-space indentation, as `JSON.stringify(value, null, 2)` writes it.
fn write_json(node: &JsonNode, level: usize, out: &mut String) {
    let pad = |out: &mut String, level: usize| {
        for _ in 0..level {
            out.push_str("  ");
        }
    };
    match &node.value {
        JsonValue::Null => out.push_str("null"),
        JsonValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        JsonValue::Number(n) => out.push_str(n),
        JsonValue::String(s) => push_string(out, s),
        JsonValue::Array(items) if items.is_empty() => out.push_str("[]"),
        JsonValue::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                out.push_str(if i == 0 { "\n" } else { ",\n" });
                pad(out, level + 1);
                write_json(item, level + 1, out);
            }
            out.push('\n');
            pad(out, level);
            out.push(']');
        }
        JsonValue::Object(members) if members.is_empty() => out.push_str("{}"),
        JsonValue::Object(members) => {
            out.push('{');
            for (i, m) in members.iter().enumerate() {
                out.push_str(if i == 0 { "\n" } else { ",\n" });
                pad(out, level + 1);
                push_string(out, &m.key.name);
                out.push_str(": ");
                write_json(&m.value, level + 1, out);
            }
            out.push('\n');
            pad(out, level);
            out.push('}');
        }
    }
}

fn push_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
