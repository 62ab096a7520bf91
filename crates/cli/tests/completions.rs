//! `miniguard completions SHELL` and `miniguard man` (issue 14, workflow): generated from the
//! clap definitions, so every subcommand and flag `--help` knows is completed and documented.

use std::process::{Command, Output};

fn miniguard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_miniguard"))
        .env("LC_ALL", "C")
        .args(args)
        .output()
        .unwrap()
}

const SUBCOMMANDS: [&str; 12] = [
    "scan",
    "rules",
    "deps",
    "db",
    "serve",
    "audit-log",
    "keys",
    "accounts",
    "roles",
    "init",
    "completions",
    "man",
];

#[test]
fn completion_scripts_name_every_subcommand() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = miniguard(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {out:?}");
        let script = String::from_utf8(out.stdout).unwrap();
        for sub in SUBCOMMANDS {
            assert!(script.contains(sub), "{shell} lacks {sub}");
        }
        assert!(script.contains("fail-on"), "{shell} lacks scan --fail-on");
    }
    let bad = miniguard(&["completions", "tcsh"]);
    assert_eq!(bad.status.code(), Some(2));
}

/// Runs bash's completion function as bash would for the words typed so far.
fn complete_in_bash(script: &std::path::Path, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let cword = words.len() - 1;
    let prev = if cword > 0 { words[cword - 1] } else { "" };
    let program = format!(
        "source '{}'; COMP_WORDS=({}); COMP_CWORD={cword}; _miniguard miniguard '{}' '{prev}'; \
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        quoted.join(" "),
        words[cword],
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(program)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn bash_completes_subcommands_flags_and_values() {
    if Command::new("bash").arg("--version").output().is_err() {
        eprintln!("bash is not available; skipping");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("miniguard.bash");
    std::fs::write(&script, miniguard(&["completions", "bash"]).stdout).unwrap();
    assert_eq!(complete_in_bash(&script, &["miniguard", "sc"]), ["scan"]);
    assert_eq!(
        complete_in_bash(&script, &["miniguard", "ro"]),
        ["roles"],
        "new subcommands complete too"
    );
    assert_eq!(
        complete_in_bash(&script, &["miniguard", "scan", "--fail-o"]),
        ["--fail-on"]
    );
    assert_eq!(
        complete_in_bash(&script, &["miniguard", "scan", "--fail-on", ""]),
        ["info", "low", "medium", "high", "critical", "never"]
    );
}

#[test]
fn the_man_page_documents_every_subcommand_and_flag() {
    let out = miniguard(&["man"]);
    assert!(out.status.success(), "{out:?}");
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.contains(".TH miniguard 1"), "{page}");
    assert!(page.contains(".SH SUBCOMMANDS"), "{page}");
    for sub in SUBCOMMANDS {
        // roff escapes '-' as '\-'.
        assert!(
            page.contains(&format!("miniguard\\-{}", sub.replace('-', "\\-"))),
            "{sub}"
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let out = miniguard(&["man", "--out", &dir.path().display().to_string()]);
    assert!(out.status.success(), "{out:?}");
    for page in [
        "miniguard.1",
        "miniguard-scan.1",
        "miniguard-db-update.1",
        "miniguard-roles-grant.1",
        "miniguard-audit-log-verify.1",
    ] {
        assert!(dir.path().join(page).is_file(), "{page}");
    }
    let scan = std::fs::read_to_string(dir.path().join("miniguard-scan.1")).unwrap();
    // The synopsis is what one types; every flag of `scan --help` has its paragraph.
    assert!(scan.contains("\\fBminiguard scan\\fR"), "{scan}");
    assert!(
        scan.contains(&format!("\"miniguard {}\"", env!("CARGO_PKG_VERSION"))),
        "the footer names the program: {scan}"
    );
    let help = String::from_utf8(miniguard(&["scan", "--help"]).stdout).unwrap();
    for flag in help
        .split_whitespace()
        .filter(|w| w.starts_with("--") && w.len() > 2)
    {
        let flag = flag.trim_end_matches([',', '.', ']', ')']);
        let flag = flag.split(['=', '[', '<']).next().unwrap();
        assert!(
            scan.contains(&flag.replace('-', "\\-")),
            "{flag} is missing from miniguard-scan.1"
        );
    }
}

/// A reader that stops early (`miniguard completions bash | head`) is not an error: the
/// generator used to panic with a backtrace on the closed pipe.
#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    for args in [&["completions", "bash"][..], &["man"][..]] {
        // The reading end is closed before the program starts, so every write fails with EPIPE.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(env!("CARGO_BIN_EXE_miniguard"))
            .args(args)
            .env("LC_ALL", "C")
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}
