//! The message tables against the code that uses them: every message the code makes
//! (`msg!("id", ...)`) has a row in both languages, and every row is made somewhere. `msg!`
//! already refuses to compile an id without rows or with other placeholders; this test also
//! finds rows nothing uses any more.

use std::path::{Path, PathBuf};

use miniguard_report::i18n::Lang;
use miniguard_report::message::{ids, placeholders};

/// The text of every `.rs` file under `crates/*/src` of the workspace.
fn sources() -> Vec<(PathBuf, String)> {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = std::fs::read_dir(&crates)
        .unwrap()
        .flatten()
        .map(|e| e.path().join("src"))
        .filter(|p| p.is_dir())
        .collect();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                // Comments left out: documentation shows made-up ids.
                let text = std::fs::read_to_string(&path)
                    .unwrap()
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("//"))
                    .collect::<Vec<_>>()
                    .join("\n");
                out.push((path, text));
            }
        }
    }
    out
}

/// The ids of `msg!("id"` in `text` (the id may follow on the next line).
fn used_ids(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("msg!(") {
        rest = &rest[at + 5..];
        let trimmed = rest.trim_start();
        if let Some(body) = trimmed.strip_prefix('"')
            && let Some(end) = body.find('"')
        {
            out.push(body[..end].to_owned());
        }
    }
    out
}

#[test]
fn every_message_made_has_rows_and_every_row_is_made() {
    let sources = sources();
    assert!(
        sources.len() > 50,
        "the workspace sources were not found: {}",
        sources.len()
    );
    let en = ids(Lang::En);
    let zh = ids(Lang::ZhCn);
    let mut used = Vec::new();
    let mut missing = Vec::new();
    for (path, text) in &sources {
        for id in used_ids(text) {
            if !en.contains(&id.as_str()) || !zh.contains(&id.as_str()) {
                missing.push(format!("{}: {id}", path.display()));
            }
            used.push(id);
        }
    }
    assert!(missing.is_empty(), "messages without rows: {missing:#?}");
    // The probe's fixes are made from the rule code (`probe-fix.<code>`), checked by the
    // probe's own test against its rules.
    let unused: Vec<&&str> = en
        .iter()
        .filter(|id| !id.starts_with("probe-fix.") && !used.iter().any(|u| u == *id))
        .collect();
    assert!(unused.is_empty(), "rows no code makes: {unused:#?}");
    for id in &en {
        assert_eq!(
            placeholders(Lang::En, id).map(|mut p| {
                p.sort_unstable();
                p.dedup();
                p
            }),
            placeholders(Lang::ZhCn, id).map(|mut p| {
                p.sort_unstable();
                p.dedup();
                p
            }),
            "{id}"
        );
    }
}

/// Chinese rows are Chinese: a row copied from English by mistake is caught (rows that are
/// only code or punctuation, such as `` `{key}` ``, are the same in both).
#[test]
fn chinese_rows_are_translated() {
    let mut same = Vec::new();
    for id in ids(Lang::En) {
        let en = miniguard_report::message::row(Lang::En, id).unwrap_or_default();
        let zh = miniguard_report::message::row(Lang::ZhCn, id).unwrap_or_default();
        let has_words = prose(en)
            .split(|c: char| !c.is_ascii_alphabetic())
            .filter(|w| w.len() > 3)
            .count()
            > 1;
        let has_han = zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
        if has_words && !has_han {
            same.push(id);
        }
    }
    assert!(same.is_empty(), "untranslated rows: {same:#?}");
}

/// `row` without its code spans and placeholders.
fn prose(row: &str) -> String {
    let mut out = String::new();
    let (mut code, mut slot) = (false, false);
    for c in row.chars() {
        match c {
            '`' => code = !code,
            '{' if !code => slot = true,
            '}' if !code => slot = false,
            _ if !code && !slot => out.push(c),
            _ => {}
        }
    }
    out
}
