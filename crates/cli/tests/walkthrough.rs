//! The secure-app walk-through (`examples/secure-app/README.md`, sections 1 to 3) runs as
//! written (issue 14, papercuts): every `sh` line of those sections is executed in order in a
//! scratch working directory that sees the repository's `examples/` and `crates/`, with the
//! README's `mg` alias and the `miniguard` binary under test, against the `serve --dev` the README
//! starts (on a port the system picks). A comment that states a status (`# HTTP 403 ...` or
//! `# 404: ...`) is checked against what the server answers; `{"id":"<NAME>",...}` in a comment
//! names the id later lines use as `<NAME>`. Only the optional `sqlite3` inspection is skipped.
//! Everything the walk-through leaves in the working directory must be ignored by `.gitignore`.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The server child, stopped when the test ends however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One command of the walk-through with what its comment promises.
#[derive(Debug)]
struct Step {
    command: String,
    status: Option<u16>,
    capture: Option<String>,
}

/// The `sh` lines of sections 1 to 3, continuation lines joined, each with the expectations of
/// its trailing comment or of the comment line that follows it.
fn steps(readme: &str) -> Vec<Step> {
    let end = readme.find("\n## 4.").expect("the README has a section 4");
    let mut steps: Vec<Step> = Vec::new();
    let mut in_sh = false;
    let mut pending = String::new();
    for line in readme[..end].lines() {
        if line.starts_with("```") {
            in_sh = line == "```sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        if let Some(rest) = line.trim_start().strip_prefix('#') {
            if let Some(last) = steps.last_mut() {
                expect(last, rest);
            }
            continue;
        }
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head);
            continue;
        }
        pending.push_str(line);
        let full = std::mem::take(&mut pending);
        if full.trim().is_empty() {
            continue;
        }
        let (command, comment) = split_comment(&full);
        let mut step = Step {
            command: command.trim().to_owned(),
            status: None,
            capture: None,
        };
        if let Some(c) = comment {
            expect(&mut step, c);
        }
        steps.push(step);
    }
    steps
}

/// Splits a trailing `# comment` outside quotes off a shell line.
fn split_comment(line: &str) -> (&str, Option<&str>) {
    let (mut single, mut double) = (false, false);
    for (i, c) in line.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && line[..i].ends_with(' ') => {
                return (&line[..i], Some(&line[i + 1..]));
            }
            _ => {}
        }
    }
    (line, None)
}

/// Reads `HTTP 201 ...`, `404: ...` and `{"id":"<NAME>"` out of a comment.
fn expect(step: &mut Step, comment: &str) {
    let c = comment.trim();
    let code = c.strip_prefix("HTTP ").unwrap_or(c);
    let digits: String = code.chars().take_while(char::is_ascii_digit).collect();
    if digits.len() == 3 && (c.starts_with("HTTP ") || code[3..].starts_with(':')) {
        step.status = digits.parse().ok();
    }
    if let Some(at) = c.find("\"id\":\"<") {
        let rest = &c[at + 7..];
        if let Some(close) = rest.find('>') {
            step.capture = Some(rest[..close].to_owned());
        }
    }
}

/// Starts the README's `miniguard serve` line on a free port; returns it and its https base.
fn start_server(command: &str, cwd: &Path, bin: &Path) -> (Server, String) {
    let words: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(words[..2], ["miniguard", "serve"], "{command}");
    let mut child = Command::new(bin)
        .args(&words[1..])
        .args(["--listen", "127.0.0.1:0"])
        .current_dir(cwd)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start miniguard serve");
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let base = loop {
        let line = rx
            .recv_timeout(Duration::from_mins(1))
            .expect("serve --dev prints its address");
        if let Some(rest) = line.trim().strip_prefix("listening") {
            break rest.trim().to_owned();
        }
    };
    (server, base)
}

#[test]
fn the_secure_app_walkthrough_runs_as_written() {
    if !have("python3") || !have("bash") {
        eprintln!("python3 or bash is not available; skipping the walk-through");
        return;
    }
    let root = repo_root().canonicalize().unwrap();
    let readme = std::fs::read_to_string(root.join("examples/secure-app/README.md")).unwrap();
    let steps = steps(&readme);
    assert!(steps.len() > 15, "{steps:#?}");

    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    #[cfg(unix)]
    for name in ["examples", "crates"] {
        std::os::unix::fs::symlink(root.join(name), cwd.join(name)).unwrap();
    }
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_miniguard"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let mut server = None;
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    let mut alias = String::new();
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    let mut checked = 0;
    for step in &steps {
        let mut command = step.command.clone();
        for (name, id) in &ids {
            command = command.replace(&format!("<{name}>"), id);
        }
        assert!(
            !command.contains("<GOOD>"),
            "unresolved placeholder: {command}"
        );
        if command.starts_with("miniguard serve") {
            let (s, base) = start_server(&command, cwd, &bin);
            server = Some(s);
            env.insert("MG_BASE".into(), base);
            continue;
        }
        if let Some(rest) = command.strip_prefix("export ") {
            for pair in rest.split_whitespace() {
                let (k, v) = pair.split_once('=').unwrap();
                // The README's default port is replaced by the one the system picked.
                if k != "MG_BASE" {
                    env.insert(k.to_owned(), v.to_owned());
                }
            }
            continue;
        }
        if command.starts_with("alias ") {
            alias = format!("shopt -s expand_aliases; {command}\n");
            continue;
        }
        if command.starts_with("sqlite3 ") {
            continue;
        }
        assert!(server.is_some(), "the server starts first: {command}");
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!("{alias}{command}"))
            .current_dir(cwd)
            .envs(&env)
            .env("PATH", &path)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let what = format!("{command}\nstdout: {stdout}\nstderr: {stderr}");
        assert!(!stderr.contains("Traceback"), "a Python traceback: {what}");
        match step.status {
            Some(status) => {
                assert!(
                    stderr.contains(&format!("HTTP {status} ")),
                    "the README says {status}: {what}"
                );
                checked += 1;
            }
            None => assert!(out.status.success(), "{what}"),
        }
        if let Some(name) = &step.capture {
            let v: serde_json::Value = serde_json::from_str(stdout.trim()).expect(&what);
            let id = v["id"].as_str().expect(&what).to_owned();
            ids.insert(name.clone(), id);
        }
    }
    assert!(checked >= 6, "statuses checked: {checked}");
    for name in ["GOOD", "ADDR", "ORDER"] {
        assert!(ids.contains_key(name), "{ids:?}");
    }
    drop(server);

    // What the walk-through wrote is ignored by git (tokens and keys must not be committed).
    if have("git") {
        for entry in std::fs::read_dir(cwd).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name == "examples" || name == "crates" {
                continue;
            }
            let probe = if entry.path().is_dir() {
                format!("{name}/miniguard.db")
            } else {
                name.clone()
            };
            let ignored = Command::new("git")
                .args(["check-ignore", "-q", "--no-index", &probe])
                .current_dir(&root)
                .status()
                .unwrap();
            assert!(ignored.success(), "{name} is not in .gitignore");
        }
        assert!(cwd.join(".shop-data/miniguard.db").exists());
        assert!(cwd.join(".mg-session.json").exists());
    }
}

#[test]
fn comments_are_read_as_expectations() {
    let mut s = Step {
        command: String::new(),
        status: None,
        capture: None,
    };
    expect(&mut s, " HTTP 201 Created, {\"id\":\"<GOOD>\",...}");
    assert_eq!((s.status, s.capture.as_deref()), (Some(201), Some("GOOD")));
    let mut s = Step {
        command: String::new(),
        status: None,
        capture: None,
    };
    expect(&mut s, " 404: Sam may not read it");
    assert_eq!(s.status, Some(404));
    expect(&mut s, " prints {\"user\":{\"id\":2,...}}");
    assert_eq!(s.status, Some(404));
    assert_eq!(
        split_comment("mg POST /x '{\"a\":\"#\"}'   # 403: no"),
        ("mg POST /x '{\"a\":\"#\"}'   ", Some(" 403: no"))
    );
}
