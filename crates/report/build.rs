//! Embeds the translations:
//!
//! - every `i18n/<lang>/<CODE>.md` becomes an entry of a table (`(lang, code, text)`) in
//!   `$OUT_DIR/translations.rs`, so adding a translation is adding a file. The files are plain
//!   UTF-8 Markdown: the one-line summary, a blank line, the body.
//! - `i18n/en/messages.toml` and `i18n/zh-CN/messages.toml` become the message tables
//!   (`MESSAGES_EN`, `MESSAGES_ZH_CN`: `(id, row)` sorted by id) in `$OUT_DIR/messages.rs`; a
//!   table `[T001]` with a key `plain` is the id `T001.plain`.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    // Read when the script runs, not when it was compiled: a build script compiled for another
    // checkout sharing the target folder would otherwise read that checkout's files.
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest).join("i18n");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut entries: Vec<(String, String, String)> = Vec::new();
    if let Ok(langs) = std::fs::read_dir(&root) {
        for lang in langs.flatten() {
            let lang_dir = lang.path();
            if !lang_dir.is_dir() {
                continue;
            }
            println!("cargo:rerun-if-changed={}", lang_dir.display());
            let lang_name = lang.file_name().to_string_lossy().into_owned();
            let Ok(files) = std::fs::read_dir(&lang_dir) else {
                continue;
            };
            for file in files.flatten() {
                let path = file.path();
                if path.extension().and_then(|e| e.to_str()) != Some("md") {
                    continue;
                }
                let code = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                entries.push((lang_name.clone(), code, path.display().to_string()));
            }
        }
    }
    entries.sort();
    let mut out =
        String::from("/// (language, rule code, text) of every translation in `i18n/`.\n");
    out.push_str("pub(crate) static TRANSLATIONS: &[(&str, &str, &str)] = &[\n");
    for (lang, code, path) in &entries {
        let _ = writeln!(out, "    ({lang:?}, {code:?}, include_str!({path:?})),");
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR is set by cargo"))
        .join("translations.rs");
    std::fs::write(dest, out).expect("write translations.rs");
    messages(&root);
}

/// `$OUT_DIR/messages.rs` from the `messages.toml` of each language.
fn messages(root: &Path) {
    let mut out = String::new();
    for (lang, name) in [("en", "MESSAGES_EN"), ("zh-CN", "MESSAGES_ZH_CN")] {
        let path = root.join(lang).join("messages.toml");
        println!("cargo:rerun-if-changed={}", path.display());
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let table: toml::Table = text
            .parse()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut rows = Vec::new();
        flatten("", &table, &mut rows, &path);
        rows.sort();
        for pair in rows.windows(2) {
            assert!(
                pair[0].0 != pair[1].0,
                "{}: `{}` twice",
                path.display(),
                pair[0].0
            );
        }
        let _ = writeln!(
            out,
            "/// The `{lang}` message table, `(id, row)` sorted by id.\n#[doc(hidden)]\npub const {name}: &[(&str, &str)] = &["
        );
        for (id, row) in &rows {
            let _ = writeln!(out, "    ({id:?}, {row:?}),");
        }
        out.push_str("];\n");
    }
    let dest =
        Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR is set by cargo")).join("messages.rs");
    std::fs::write(dest, out).expect("write messages.rs");
}

fn flatten(prefix: &str, table: &toml::Table, rows: &mut Vec<(String, String)>, path: &Path) {
    for (key, value) in table {
        let id = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::String(row) => rows.push((id, row.clone())),
            toml::Value::Table(inner) => flatten(&id, inner, rows, path),
            _ => panic!("{}: `{id}` is neither text nor a table", path.display()),
        }
    }
}
