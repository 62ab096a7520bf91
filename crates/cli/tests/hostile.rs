//! Issue 12 end to end: a scanned tree cannot make the binary block, read files outside the
//! tree, print them, or pass over a lockfile it could not read.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_miniguard"));
    c.env("LC_ALL", "C");
    c.env(
        "MINIGUARD_CACHE_DIR",
        std::env::temp_dir().join("miniguard-test-no-cache"),
    );
    c
}

/// Runs with a deadline: a blocked process (a FIFO opened for reading) is killed and the test
/// fails instead of hanging, and a run that ends but takes over 20 s fails too. Output is
/// drained on another thread, so a large report cannot fill the pipe and block the child.
fn run(cmd: &mut Command) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    let started = std::time::Instant::now();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let Ok(out) = rx.recv_timeout(Duration::from_mins(1)) else {
        let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
        panic!("miniguard blocked: {cmd:?}");
    };
    // Generous for a debug build on a busy machine; each case here takes about a second.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{cmd:?} took {:?}",
        started.elapsed()
    );
    out.expect("output")
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

fn app(root: &Path) {
    write(root, "app.json", r#"{"pages": ["pages/a/a"]}"#);
    write(
        root,
        "pages/a/a.js",
        "Page({ onLoad() { wx.request({ url: 'http://api.example.com/x' }) } })\n",
    );
}

fn lockfile(root: &Path) {
    write(
        root,
        "package-lock.json",
        r#"{"name":"p","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{"":{"name":"p","version":"1.0.0","dependencies":{"minimist":"0.0.8"}},"node_modules/minimist":{"version":"0.0.8"}}}"#,
    );
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(status.success());
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[cfg(unix)]
#[test]
fn a_config_linked_out_of_the_tree_is_not_read_or_printed() {
    let outside = tempfile::tempdir().expect("tempdir");
    let secret = outside.path().join("passwd");
    std::fs::write(&secret, "root:x:0:0:SECRET-LINE:/root:/bin/sh\n").expect("write");
    let proj = tempfile::tempdir().expect("tempdir");
    app(proj.path());
    std::os::unix::fs::symlink(&secret, proj.path().join("miniguard.toml")).expect("symlink");
    let out = run(bin().args(["scan", "--no-progress"]).arg(proj.path()));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("outside the scanned folder"), "{err}");
    assert!(!err.contains("SECRET-LINE"), "{err}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("SECRET-LINE"));
}

#[test]
fn a_baseline_named_by_the_tree_must_stay_inside_it() {
    let outside = tempfile::tempdir().expect("tempdir");
    write(outside.path(), "b.json", r#"{"version":1,"findings":[]}"#);
    let proj = tempfile::tempdir().expect("tempdir");
    app(proj.path());
    let rel = format!(
        "../{}/b.json",
        outside.path().file_name().expect("name").to_string_lossy()
    );
    write(
        proj.path(),
        "miniguard.toml",
        &format!("[scan]\nbaseline = \"{rel}\"\n"),
    );
    let out = run(bin().args(["scan", "--no-progress"]).arg(proj.path()));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("outside the scanned folder"),
        "{}",
        stderr(&out)
    );
}

#[cfg(unix)]
#[test]
fn fifos_where_files_are_expected_do_not_block() {
    // A FIFO package.json beside a lockfile and beside src/ + dist/, a FIFO baseline and a FIFO
    // .gitignore: every command ends, with a warning or an error naming the file.
    let proj = tempfile::tempdir().expect("tempdir");
    app(proj.path());
    lockfile(proj.path());
    std::fs::create_dir_all(proj.path().join("src")).expect("mkdir");
    std::fs::create_dir_all(proj.path().join("dist")).expect("mkdir");
    write(proj.path(), "dist/x.js", "var a = 1\n");
    mkfifo(&proj.path().join("package.json"));
    std::fs::create_dir_all(proj.path().join("sub")).expect("mkdir");
    mkfifo(&proj.path().join("sub/.gitignore"));
    let out = run(bin()
        .args([
            "scan",
            "--no-progress",
            "--db",
            "embedded",
            "--format",
            "json",
        ])
        .arg(proj.path()));
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    let warnings = report["warnings"].to_string();
    assert!(warnings.contains("not a regular file"), "{warnings}");
    assert!(warnings.contains(".gitignore"), "{warnings}");
    let out = run(bin()
        .args(["deps", "--db", "embedded", "--format", "json"])
        .arg(proj.path()));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("package.json"),
        "{}",
        stderr(&out)
    );

    let single = run(bin()
        .args(["scan", "--no-progress"])
        .arg(proj.path().join("pages/a/a.js")));
    assert!(single.status.code().is_some(), "{}", stderr(&single));

    write(
        proj.path(),
        "miniguard.toml",
        "[scan]\nbaseline = \"base.json\"\n",
    );
    mkfifo(&proj.path().join("base.json"));
    let out = run(bin().args(["scan", "--no-progress"]).arg(proj.path()));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not a regular file"),
        "{}",
        stderr(&out)
    );

    // The same FIFO named by the `--baseline` flag rather than the config (it blocked before).
    std::fs::remove_file(proj.path().join("miniguard.toml")).expect("rm config");
    let out = run(bin()
        .args(["scan", "--no-progress", "--baseline"])
        .arg(proj.path().join("base.json"))
        .arg(proj.path()));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not a regular file"),
        "{}",
        stderr(&out)
    );

    let fifo = proj.path().join("all.zip");
    mkfifo(&fifo);
    let out = run(bin()
        .args(["db", "update", "--cache"])
        .arg(proj.path().join("cache.zip"))
        .arg("--from")
        .arg(&fifo));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not a regular file"),
        "{}",
        stderr(&out)
    );
}

/// The walker reads the ignore files of the folders above the scanned one too: a FIFO
/// `.gitignore` or an `.ignore` linked to /dev/zero one folder up blocked a scan of `repo/sub`
/// or read until memory ran out.
#[cfg(unix)]
#[test]
fn ignore_files_above_the_scanned_folder_do_not_block() {
    let repo = tempfile::tempdir().expect("tempdir");
    let sub = repo.path().join("sub");
    app(&sub);
    write(&sub, "gen/x.js", "var x = 1\n");
    write(&sub, ".gitignore", "gen/\n");
    let started = std::time::Instant::now();
    mkfifo(&repo.path().join(".gitignore"));
    let out = run(bin()
        .args(["scan", "--no-progress", "--format", "json"])
        .arg(&sub));
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    let warnings = report["warnings"].to_string();
    assert!(
        warnings.contains(".gitignore is not a regular file")
            && warnings.contains("no ignore file"),
        "{warnings}"
    );
    assert!(
        report["findings"].to_string().contains("pages/a/a.js"),
        "{report:#}"
    );
    // `deps` walks the folder for vendored libraries the same way.
    let out = run(bin()
        .args(["deps", "--db", "embedded", "--format", "json"])
        .arg(&sub));
    assert!(out.status.code().is_some(), "{}", stderr(&out));

    std::fs::remove_file(repo.path().join(".gitignore")).expect("rm");
    std::os::unix::fs::symlink("/dev/zero", repo.path().join(".ignore")).expect("symlink");
    let out = run(bin()
        .args(["scan", "--no-progress", "--format", "json"])
        .arg(&sub));
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    assert!(
        report["warnings"]
            .to_string()
            .contains(".ignore is not a regular file"),
        "{report:#}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));

    // With ordinary ignore files above, the folder's own ignore file applies without a word.
    std::fs::remove_file(repo.path().join(".ignore")).expect("rm");
    write(repo.path(), ".gitignore", "*.log\n");
    let out = run(bin()
        .args(["scan", "--no-progress", "--format", "json"])
        .arg(&sub));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(
        !report["warnings"].to_string().contains("ignore"),
        "{report:#}"
    );
}

/// `miniguard scan X >&-` lost the report and exited 0 or 1 as if it had been written (the
/// runtime reopens a closed standard output on /dev/null).
#[cfg(unix)]
#[test]
fn a_closed_standard_output_is_an_error() {
    let proj = tempfile::tempdir().expect("tempdir");
    app(proj.path());
    lockfile(proj.path());
    let sh = |redirect: &str, args: &str| {
        run(Command::new("sh")
            .env("LC_ALL", "C")
            .arg("-c")
            .arg(format!("exec \"$0\" {args} \"$1\" {redirect}"))
            .arg(env!("CARGO_BIN_EXE_miniguard"))
            .arg(proj.path()))
    };
    for args in ["scan --no-progress", "deps --db embedded"] {
        let out = sh(">&-", args);
        assert_eq!(out.status.code(), Some(2), "{args}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("standard output is closed"),
            "{}",
            stderr(&out)
        );
        // Sent to /dev/null on purpose, or closed with --output: the command runs.
        let out = sh(">/dev/null", args);
        assert_eq!(out.status.code(), Some(1), "{args}: {}", stderr(&out));
        let report = proj.path().join("report.txt");
        let out = sh(&format!(">&- --output {}", report.display()), args);
        assert_eq!(out.status.code(), Some(1), "{args}: {}", stderr(&out));
        assert!(std::fs::metadata(&report).expect("report").len() > 0);
    }
}

#[cfg(unix)]
#[test]
fn a_linked_package_json_is_read_only_inside_the_tree() {
    let proj = tempfile::tempdir().expect("tempdir");
    lockfile(proj.path());
    std::os::unix::fs::symlink("/dev/zero", proj.path().join("package.json")).expect("symlink");
    let out = run(bin()
        .args([
            "deps",
            "--db",
            "embedded",
            "--format",
            "json",
            "--fail-on",
            "never",
        ])
        .arg(proj.path()));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("outside the scanned folder"),
        "{text} {}",
        stderr(&out)
    );
}

#[test]
fn a_lockfile_with_an_invalid_byte_fails_closed() {
    let proj = tempfile::tempdir().expect("tempdir");
    lockfile(proj.path());
    let mut bytes = std::fs::read(proj.path().join("package-lock.json")).expect("read");
    bytes.insert(1, 0xff);
    std::fs::write(proj.path().join("package-lock.json"), bytes).expect("write");
    let out = run(bin()
        .args([
            "deps",
            "--db",
            "embedded",
            "--format",
            "json",
            "--fail-on",
            "never",
        ])
        .arg(proj.path()));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(
        report["warnings"].to_string().contains("not valid UTF-8"),
        "{report:#}"
    );
}

#[test]
fn unpinned_versions_are_reported_as_unverifiable() {
    let proj = tempfile::tempdir().expect("tempdir");
    write(
        proj.path(),
        "package-lock.json",
        r#"{"name":"p","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{"":{"name":"p","version":"1.0.0","dependencies":{"a":"*","b":"latest","c":"1.2"}},"node_modules/a":{"version":"*"},"node_modules/b":{"version":"latest"},"node_modules/c":{"version":"1.2"}}}"#,
    );
    let out = run(bin()
        .args([
            "deps",
            "--db",
            "embedded",
            "--format",
            "json",
            "--fail-on",
            "never",
        ])
        .arg(proj.path()));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let findings = report["findings"].as_array().cloned().unwrap_or_default();
    for name in ["a", "b", "c"] {
        assert!(
            findings.iter().any(|f| f["rule"] == "D002"
                && f["dependency"]["package"] == name
                && f["message"].as_str().unwrap_or("").contains("not pinned")),
            "{name}: {findings:#?}"
        );
    }
}

#[test]
fn scan_accepts_the_server_and_collections_sections() {
    let proj = tempfile::tempdir().expect("tempdir");
    app(proj.path());
    write(
        proj.path(),
        "miniguard.toml",
        "[scan]\nfail-on = \"never\"\n\n[server]\nlisten = \"127.0.0.1:8443\"\n\n[collections.posts]\nfields = { title = \"text\" }\n",
    );
    let out = run(bin().args(["scan", "--no-progress"]).arg(proj.path()));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn error_causes_are_printed_once_and_jobs_are_capped() {
    let proj = tempfile::tempdir().expect("tempdir");
    app(proj.path());
    let out = run(bin()
        .args(["scan", "--no-progress", "--config"])
        .arg(proj.path())
        .arg(proj.path()));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.matches("not a regular file").count(), 1, "{err}");
    // `db update --from DIR` printed "Is a directory (os error 21)" twice.
    let out = run(bin()
        .args(["db", "update", "--cache"])
        .arg(proj.path().join("cache.zip"))
        .arg("--from")
        .arg(proj.path()));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.matches("not a regular file").count(), 1, "{err}");
    let out = run(bin()
        .args([
            "scan",
            "--no-progress",
            "--fail-on",
            "never",
            "-j",
            "100000",
        ])
        .arg(proj.path()));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn an_oversized_lockfile_fails_closed() {
    let proj = tempfile::tempdir().expect("tempdir");
    lockfile(proj.path());
    // Sparse: 40 MiB without writing them.
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(proj.path().join("package-lock.json"))
        .expect("open");
    f.set_len(40 * 1024 * 1024).expect("set_len");
    let out = run(bin()
        .args([
            "deps",
            "--db",
            "embedded",
            "--format",
            "json",
            "--fail-on",
            "never",
        ])
        .arg(proj.path()));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(
        report["warnings"].to_string().contains("larger than"),
        "{report:#}"
    );
}

/// Files skipped as minified are named in the warnings of every format: JSON `warnings` and
/// SARIF `toolExecutionNotifications`.
#[test]
fn minified_files_are_reported_in_json_and_sarif() {
    let proj = tempfile::tempdir().expect("tempdir");
    app(proj.path());
    write(proj.path(), "libs/x.min.js", "var a=1;\n");
    let long = format!("var b=[{}];\n", vec!["1"; 2000].join(","));
    write(proj.path(), "libs/bundle.js", &long);
    let out = run(bin()
        .args(["scan", "--no-progress", "--format", "json"])
        .arg(proj.path()));
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    for file in ["libs/x.min.js", "libs/bundle.js"] {
        let listed = report["warnings"]
            .as_array()
            .expect("warnings")
            .iter()
            .any(|w| {
                w["path"] == file
                    && w["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("minified"))
            });
        assert!(listed, "{file}: {:#}", report["warnings"]);
    }
    let out = run(bin()
        .args(["scan", "--no-progress", "--format", "sarif"])
        .arg(proj.path()));
    let sarif: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    let notes = &sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"];
    for file in ["libs/x.min.js", "libs/bundle.js"] {
        let listed = notes.as_array().expect("notifications").iter().any(|n| {
            n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == file
                && n["message"]["text"]
                    .as_str()
                    .is_some_and(|m| m.contains("minified"))
        });
        assert!(listed, "{file}: {notes:#}");
    }
}

/// `scan` audits the lockfiles of the tree too: one it cannot read makes it exit 2 after the
/// report, with the reason among the warnings.
#[test]
fn scan_with_a_corrupt_lockfile_fails_closed() {
    let proj = tempfile::tempdir().expect("tempdir");
    app(proj.path());
    write(
        proj.path(),
        "package-lock.json",
        r#"{"name":"p","lockfileVersion":3,"packages":{"":{"dependencies":{"a":"1.0.0"}},"node_modules/a":{"version":"1.0.0""#,
    );
    let out = run(bin()
        .args([
            "scan",
            "--no-progress",
            "--db",
            "embedded",
            "--format",
            "json",
            "--fail-on",
            "never",
        ])
        .arg(proj.path()));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    assert!(
        report["warnings"]
            .as_array()
            .expect("warnings")
            .iter()
            .any(|w| w["path"] == "package-lock.json"),
        "{:#}",
        report["warnings"]
    );
    assert!(
        report["findings"].to_string().contains("pages/a/a.js"),
        "the rest of the tree is still reported"
    );
}
