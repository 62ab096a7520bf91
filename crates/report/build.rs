//! Embeds the rule translations: every `i18n/<lang>/<CODE>.md` becomes an entry of a table
//! (`(lang, code, text)`) in `$OUT_DIR/translations.rs`, so adding a translation is adding a
//! file. The files are plain UTF-8 Markdown: the one-line summary, a blank line, the body.

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
}
