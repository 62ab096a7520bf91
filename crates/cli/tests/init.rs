//! `miniguard init` (issue 14, workflow): a commented `miniguard.toml` for the detected project
//! that `scan` reads as written, no overwrite without `--force`, `--baseline` accepting today's
//! findings so the next scan reports none, and the next steps printed.

use std::path::Path;
use std::process::{Command, Output};

fn miniguard(args: &[&str], path: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_miniguard"))
        .env("LC_ALL", "C")
        .args(args)
        .arg(path)
        .output()
        .unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn example(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
}

#[test]
fn init_writes_a_commented_config_that_scan_reads() {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app");
    copy_dir(&example("vulnerable-app"), &app);

    let out = miniguard(&["init"], &app);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("a WeChat mini-program"), "{stdout}");
    assert!(stdout.contains("1 cloud function folder"), "{stdout}");
    assert!(stdout.contains("Next steps:"), "{stdout}");
    assert!(stdout.contains(&format!("miniguard scan {}", app.display())));
    assert!(
        stdout.contains("--baseline"),
        "it says how to accept today's findings"
    );

    let text = std::fs::read_to_string(app.join("miniguard.toml")).unwrap();
    assert!(text.contains("#   platform:              wechat"), "{text}");
    assert!(
        text.contains("#   cloud function roots:  cloudfunctions"),
        "{text}"
    );
    assert!(text.contains("server/package-lock.json"), "{text}");
    // Every setting is explained; the live ones are what scan reads.
    let value: toml::Value = toml::from_str(&text).unwrap();
    assert_eq!(value["scan"]["fail-on"].as_str(), Some("high"), "{text}");
    assert!(!text.contains("\nbaseline ="), "no baseline unless asked");

    // `scan` reads the written file as it is (an unknown key would make it exit 2).
    let scan = miniguard(&["scan", "--no-progress", "--format", "json"], &app);
    assert_eq!(scan.status.code(), Some(1), "the example has high findings");
}

#[test]
fn init_refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path();
    copy_dir(&example("secure-app/miniprogram"), app);
    std::fs::write(app.join("miniguard.toml"), "# ours\n").unwrap();

    let refused = miniguard(&["init", "--baseline"], app);
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    let stderr = String::from_utf8(refused.stderr).unwrap();
    assert!(stderr.contains("--force"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(app.join("miniguard.toml")).unwrap(),
        "# ours\n"
    );
    assert!(
        !app.join(".miniguard-baseline.json").exists(),
        "a refusal writes nothing"
    );

    let forced = miniguard(&["init", "--force"], app);
    assert!(forced.status.success(), "{forced:?}");
    let text = std::fs::read_to_string(app.join("miniguard.toml")).unwrap();
    assert!(text.contains("[scan]"), "{text}");
    assert!(
        String::from_utf8(forced.stdout)
            .unwrap()
            .contains("a WeChat mini-program")
    );
}

#[test]
fn init_baseline_accepts_todays_findings() {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app");
    copy_dir(&example("vulnerable-app"), &app);

    let out = miniguard(&["init", "--baseline"], &app);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let baseline_file = app.join(".miniguard-baseline.json");
    let baseline: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&baseline_file).unwrap()).unwrap();
    let accepted = baseline["findings"].as_array().unwrap().len();
    assert!(accepted > 10, "{baseline}");
    assert!(
        stdout.contains(&format!("{accepted} findings of today accepted")),
        "{stdout}"
    );
    let text = std::fs::read_to_string(app.join("miniguard.toml")).unwrap();
    assert!(
        text.contains("\nbaseline = \".miniguard-baseline.json\"\n"),
        "{text}"
    );

    // The next scan reports nothing: today's findings are accepted.
    let scan = miniguard(&["scan", "--no-progress", "--format", "json"], &app);
    assert_eq!(scan.status.code(), Some(0), "{scan:?}");
    let report: serde_json::Value = serde_json::from_slice(&scan.stdout).unwrap();
    assert_eq!(report["findings"].as_array().unwrap().len(), 0);

    // A new flaw shows up.
    std::fs::write(
        app.join("miniprogram/new.js"),
        "wx.request({ url: 'http://api.example.com/pay' });\n",
    )
    .unwrap();
    let scan = miniguard(&["scan", "--no-progress", "--format", "json"], &app);
    let report: serde_json::Value = serde_json::from_slice(&scan.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert!(!findings.is_empty(), "{report}");
    assert!(
        findings
            .iter()
            .all(|f| f["location"]["path"] == "miniprogram/new.js"),
        "{report}"
    );
}

#[test]
fn init_refuses_a_file_or_a_missing_folder() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.js");
    std::fs::write(&file, "").unwrap();
    let out = miniguard(&["init"], &file);
    assert_eq!(out.status.code(), Some(2));
    let out = miniguard(&["init"], &dir.path().join("missing"));
    assert_eq!(out.status.code(), Some(2));
    assert!(!dir.path().join("missing").exists());
}

#[test]
fn init_in_a_folder_without_a_project_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = miniguard(&["init"], dir.path());
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("no mini-program"), "{stdout}");
}

/// The README's quick start (issue 14: three lines a mini-program developer can follow) runs as
/// written: the install line names this package, and the `miniguard` lines, on a copy of the
/// secure-app example's mini-program, write the config and an HTML report and exit 0.
#[test]
fn the_readme_quick_start_runs_as_written() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    let section = &readme[readme
        .find("## Quick start")
        .expect("a Quick start section")..];
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a sh block");
    let lines: Vec<&str> = block
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0], "cargo install --locked --path crates/cli");
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains("name = \"miniguard\""),
        "crates/cli builds miniguard"
    );

    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("your-miniprogram");
    copy_dir(&example("secure-app/miniprogram"), &app);
    for line in &lines[1..] {
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words[0], "miniguard", "{line}");
        let out = Command::new(env!("CARGO_BIN_EXE_miniguard"))
            .env("LC_ALL", "C")
            .current_dir(dir.path())
            .args(
                words[1..]
                    .iter()
                    .map(|w| w.replace("path/to/your-miniprogram", "your-miniprogram")),
            )
            .args((words[1] == "scan").then_some("--no-progress"))
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{line}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(app.join("miniguard.toml").is_file());
    let html = std::fs::read_to_string(dir.path().join("miniguard-report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") || html.starts_with("<!doctype html>"));
}
