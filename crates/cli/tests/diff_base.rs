//! `scan --diff-base REF`: only what a change touches, in a real git repository.

use std::path::Path;
use std::process::{Command, Output};

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
}

fn scan(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_miniguard"))
        .env("LC_ALL", "C")
        .args([
            "scan",
            "--format",
            "json",
            "--no-progress",
            "--fail-on",
            "never",
        ])
        .args(args)
        .arg(dir)
        .output()
        .unwrap()
}

fn lines(out: &Output) -> Vec<(String, u64)> {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let mut found: Vec<(String, u64)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["location"]["path"].as_str().unwrap().to_owned(),
                f["location"]["start"]["line"].as_u64().unwrap(),
            )
        })
        .collect();
    found.sort();
    found
}

const OLD: &str = "wx.request({ url: 'http://old.example.com/a' })\n";

#[test]
fn only_findings_on_changed_lines_or_new_files_are_reported() {
    if Command::new("git").arg("--version").output().is_err() {
        eprintln!("SKIPPED: git is not installed");
        return;
    }
    let repo = tempfile::tempdir().unwrap();
    let app = repo.path().join("app");
    std::fs::create_dir_all(app.join("pages")).unwrap();
    std::fs::write(app.join("pages/a.js"), format!("{OLD}const x = 1\n")).unwrap();
    git(repo.path(), &["init", "-q", "-b", "main"]);
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-q", "-m", "base"]);
    git(repo.path(), &["checkout", "-q", "-b", "feature"]);
    // The change: a new flaw on a changed line of a.js, one in a committed new file and one in
    // a file git does not track yet; the old flaw on line 1 stays as it was.
    std::fs::write(
        app.join("pages/a.js"),
        format!("{OLD}const x = 1\nwx.request({{ url: 'http://new.example.com/b' }})\n"),
    )
    .unwrap();
    std::fs::write(
        app.join("pages/b.js"),
        "wx.request({ url: 'http://b.example.com/' })\n",
    )
    .unwrap();
    git(&app, &["add", "pages/b.js"]);
    git(repo.path(), &["commit", "-q", "-m", "b"]);
    std::fs::write(
        app.join("pages/c.js"),
        "wx.request({ url: 'http://c.example.com/' })\n",
    )
    .unwrap();

    let all = lines(&scan(&app, &["--select", "T001"]));
    assert_eq!(all.len(), 4, "{all:?}");
    let out = scan(&app, &["--select", "T001", "--diff-base", "main"]);
    assert_eq!(
        lines(&out),
        vec![
            ("pages/a.js".to_owned(), 3),
            ("pages/b.js".to_owned(), 1),
            ("pages/c.js".to_owned(), 1),
        ]
    );

    // A revision that does not exist, and a folder outside git, are errors (exit 2).
    let out = scan(&app, &["--diff-base", "no-such-branch"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such commit"));
    let plain = tempfile::tempdir().unwrap();
    std::fs::write(plain.path().join("a.js"), OLD).unwrap();
    let out = scan(plain.path(), &["--diff-base", "main"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not in a git work tree"));
}
