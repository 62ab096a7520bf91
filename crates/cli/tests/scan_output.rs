//! What `scan` writes, whatever the project holds and wherever the output goes: reports stay
//! small on minified code (issue 10 item 6), a closed pipe is not an error (ripgrep's
//! convention), and `info` findings are counted but shown only on request (issue 10 item 1).

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_miniguard"));
    // The tests read English output, whatever the machine's locale.
    c.env("LC_ALL", "C");
    c
}

/// A WeChat mini-program whose developer-tools config is one minified line of 800 KB with
/// `urlCheck: false` in the middle, and a server file with a finding of every severity level a
/// test needs.
fn minified_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("miniprogram/pages/a")).unwrap();
    let mut keys = String::new();
    for i in 0..20_000 {
        // Writing into a `String` cannot fail.
        let _ = write!(keys, "\"generatedKey{i:05}\":\"{i:020}\",");
    }
    let config = format!(
        "{{\"miniprogramRoot\":\"miniprogram/\",{keys}\"setting\":{{\"urlCheck\":false}},{keys}\"appid\":\"wx0123456789abcdef\"}}"
    );
    assert!(config.len() > 800 * 1024 && !config.contains('\n'));
    std::fs::write(root.join("project.config.json"), config).unwrap();
    std::fs::write(
        root.join("miniprogram/app.json"),
        r#"{"pages": ["pages/a/a"]}"#,
    )
    .unwrap();
    std::fs::write(root.join("miniprogram/pages/a/a.js"), "Page({})\n").unwrap();
    dir
}

fn scan(dir: &Path, args: &[&str]) -> std::process::Output {
    bin()
        .args([
            "scan",
            "--no-progress",
            "--fail-on",
            "never",
            "--ignore",
            "dependency",
        ])
        .args(args)
        .arg(dir)
        .output()
        .expect("run miniguard")
}

#[test]
fn a_finding_on_an_800_kb_line_keeps_every_format_small() {
    let p = minified_project();
    for format in ["text", "json", "sarif", "html"] {
        let out = scan(
            p.path(),
            &[
                "--format",
                format,
                "--min-severity",
                "info",
                "--select",
                "T002",
            ],
        );
        assert!(
            out.status.success(),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report = String::from_utf8(out.stdout).expect("utf-8");
        assert!(
            report.contains("urlCheck"),
            "{format}: the finding is in the report"
        );
        // The report holds one finding and one rule's documentation.
        assert!(
            report.len() < 64 * 1024,
            "{format}: {} bytes for one finding",
            report.len()
        );
    }
}

/// `scan --format json | head -1`: the reader goes away before the report is written. The scan
/// exits 0 without an error message, in every format, even with findings above `--fail-on`.
#[test]
fn a_closed_pipe_is_success() {
    let p = minified_project();
    for format in ["text", "json", "sarif", "html"] {
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let out = bin()
            .args([
                "scan",
                "--no-progress",
                "--fail-on",
                "info",
                "--min-severity",
                "info",
            ])
            .args(["--ignore", "dependency", "--format", format])
            .arg(p.path())
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .expect("run miniguard");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty(),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
