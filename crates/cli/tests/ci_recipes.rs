//! The CI recipes of `docs/ci/` (issue 14, workflow), checked against the binary they call: the
//! GitHub Actions workflow parses, uploads scan and deps under distinct categories, names only
//! subcommands and flags that exist, and its scan and deps steps run as written; the pre-commit
//! hook refuses a flaw staged in a scratch git repository and judges the staged snapshot, not the
//! working tree; the before-upload check passes a clean mini-program and stops a vulnerable one.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use yaml_rust2::{Yaml, YamlLoader};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_miniguard"))
}

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// PATH with the binary under test first.
fn path_with_bin() -> String {
    format!(
        "{}:{}",
        bin().parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    )
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

fn workflow() -> Yaml {
    let text = std::fs::read_to_string(root().join("docs/ci/github-actions.yml")).unwrap();
    let mut docs = YamlLoader::load_from_str(&text).expect("the workflow is valid YAML");
    assert_eq!(docs.len(), 1);
    docs.remove(0)
}

fn steps(wf: &Yaml) -> Vec<Yaml> {
    let job = &wf["jobs"]["miniguard"];
    assert!(!job.is_badvalue(), "a job named miniguard");
    job["steps"].as_vec().expect("steps").clone()
}

/// The `miniguard ...` command lines of a `run:` script.
fn miniguard_lines(script: &str) -> Vec<Vec<String>> {
    script
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("miniguard "))
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect()
}

#[test]
fn the_workflow_uploads_scan_and_deps_under_distinct_categories() {
    let wf = workflow();
    for trigger in ["push", "pull_request", "schedule"] {
        assert!(!wf["on"][trigger].is_badvalue(), "on: {trigger}");
    }
    let job = &wf["jobs"]["miniguard"];
    assert_eq!(
        job["permissions"]["security-events"].as_str(),
        Some("write")
    );

    let steps = steps(&wf);
    let outputs: Vec<String> = steps
        .iter()
        .filter_map(|s| s["run"].as_str())
        .flat_map(miniguard_lines)
        .filter_map(|words| {
            let at = words.iter().position(|w| w == "--output")?;
            words.get(at + 1).cloned()
        })
        .collect();
    let uploads: Vec<&Yaml> = steps
        .iter()
        .filter(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif@"))
        })
        .collect();
    assert_eq!(uploads.len(), 2, "scan and deps are uploaded");
    let mut categories = Vec::new();
    for upload in uploads {
        let file = upload["with"]["sarif_file"].as_str().unwrap();
        assert!(
            outputs.iter().any(|o| o == file),
            "{file} is written by a step: {outputs:?}"
        );
        let category = upload["with"]["category"].as_str().unwrap().to_owned();
        assert!(!category.is_empty());
        categories.push(category);
        // The upload happens even when the scan step reported findings.
        assert!(upload["if"].as_str().unwrap().contains("always()"));
    }
    categories.sort();
    categories.dedup();
    assert_eq!(categories.len(), 2, "distinct categories: {categories:?}");
}

#[test]
fn every_command_and_flag_of_the_recipes_exists() {
    let mut lines: Vec<Vec<String>> = steps(&workflow())
        .iter()
        .filter_map(|s| s["run"].as_str())
        .flat_map(miniguard_lines)
        .collect();
    // The shell recipes call "$MINIGUARD" SUBCOMMAND ...
    for script in ["docs/ci/pre-commit", "docs/ci/before-upload"] {
        let text = std::fs::read_to_string(root().join(script)).unwrap();
        for line in text.lines().map(str::trim) {
            if let Some(rest) = line.strip_prefix("\"$MINIGUARD\" ") {
                let mut words = vec!["miniguard".to_owned()];
                words.extend(rest.split_whitespace().map(str::to_owned));
                lines.push(words);
            }
        }
    }
    assert!(lines.len() >= 6, "{lines:?}");
    for words in lines {
        // The subcommand path: `scan`, `deps`, `db update`.
        let mut sub = vec![words[1].clone()];
        if words[1] == "db" {
            sub.push(words[2].clone());
        }
        let help = Command::new(bin())
            .args(&sub)
            .arg("--help")
            .output()
            .unwrap();
        assert!(help.status.success(), "miniguard {sub:?} exists: {help:?}");
        let help = String::from_utf8(help.stdout).unwrap();
        for flag in words.iter().filter(|w| w.starts_with("--")) {
            assert!(
                help.contains(&format!("{flag} ")) || help.contains(&format!("{flag}\n")),
                "miniguard {} has no {flag}",
                sub.join(" ")
            );
        }
    }
}

/// Runs a workflow step's `run:` script the way the runner does (bash, a `GITHUB_OUTPUT` file).
fn run_step(script: &str, cwd: &Path, scratch: &Path) -> (Output, String) {
    let github_output = scratch.join("github-output");
    std::fs::write(&github_output, "").unwrap();
    let out = Command::new("bash")
        .args(["-e", "-c", script])
        .current_dir(cwd)
        .env("PATH", path_with_bin())
        .env("GITHUB_OUTPUT", &github_output)
        // The embedded advisory snapshot, not whatever `db update` left on this machine.
        .env("MINIGUARD_CACHE_DIR", scratch.join("cache"))
        .output()
        .unwrap();
    (out, std::fs::read_to_string(&github_output).unwrap())
}

#[test]
fn the_workflow_scan_and_deps_steps_run_as_written() {
    if !have("bash") {
        return;
    }
    let steps = steps(&workflow());
    let step = |id: &str| -> String {
        steps
            .iter()
            .find(|s| s["id"].as_str() == Some(id))
            .and_then(|s| s["run"].as_str())
            .unwrap_or_else(|| panic!("a step with id {id}"))
            .to_owned()
    };
    let scratch = tempfile::tempdir().unwrap();
    let vulnerable = scratch.path().join("vulnerable");
    copy_dir(&root().join("examples/vulnerable-app"), &vulnerable);
    let clean = scratch.path().join("clean");
    copy_dir(&root().join("examples/secure-app/miniprogram"), &clean);

    for (id, sarif) in [
        ("scan", "miniguard-scan.sarif"),
        ("deps", "miniguard-deps.sarif"),
    ] {
        let (out, github_output) = run_step(&step(id), &vulnerable, scratch.path());
        assert!(out.status.success(), "{id}: {out:?}");
        assert_eq!(
            github_output.trim(),
            "exit=1",
            "{id} finds the planted flaws"
        );
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(vulnerable.join(sarif)).unwrap())
                .unwrap();
        assert_eq!(report["version"], "2.1.0");
        assert!(
            !report["runs"][0]["results"].as_array().unwrap().is_empty(),
            "{id}: {report}"
        );
    }
    let (out, github_output) = run_step(&step("scan"), &clean, scratch.path());
    assert!(out.status.success(), "{out:?}");
    assert_eq!(github_output.trim(), "exit=0");

    // An error (2) stops the step instead of passing as "no findings".
    std::fs::write(
        clean.join("miniguard.toml"),
        "[scan]\nfail-on = \"sometimes\"\n",
    )
    .unwrap();
    let (out, github_output) = run_step(&step("scan"), &clean, scratch.path());
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(github_output, "");
}

fn git(repo: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .args(args)
        .current_dir(repo)
        .env("MINIGUARD", bin())
        .env("MINIGUARD_CACHE_DIR", repo.join(".git/mg-cache"))
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .unwrap()
}

const CLEAN_CONFIG: &str = "module.exports = { apiBase: 'https://api.example.com/v2' }\n";
const LEAKY_CONFIG: &str = "module.exports = { apiBase: 'https://api.example.com/v2', appSecret: '9f86d081884c7d659a2feaa0c55ad015' }\n";

#[test]
fn the_pre_commit_hook_refuses_a_staged_flaw() {
    if !have("git") || !have("bash") {
        eprintln!("git or bash is not available; skipping");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    assert!(git(repo, &["init", "-q"]).status.success());
    std::fs::write(
        repo.join("project.config.json"),
        r#"{"miniprogramRoot": "miniprogram/", "appid": "wx0000000000000000"}"#,
    )
    .unwrap();
    std::fs::create_dir_all(repo.join("miniprogram")).unwrap();
    std::fs::write(
        repo.join("miniprogram/app.json"),
        r#"{"pages": ["pages/index/index"]}"#,
    )
    .unwrap();
    std::fs::write(repo.join("miniprogram/app.js"), "App({})\n").unwrap();
    std::fs::write(repo.join("miniprogram/config.js"), CLEAN_CONFIG).unwrap();
    let hook = repo.join(".git/hooks/pre-commit");
    std::fs::create_dir_all(hook.parent().unwrap()).unwrap();
    std::fs::copy(root().join("docs/ci/pre-commit"), &hook).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    // A clean project commits.
    assert!(git(repo, &["add", "-A"]).status.success());
    let ok = git(repo, &["commit", "-q", "-m", "clean"]);
    assert!(ok.status.success(), "{ok:?}");

    // A hard-coded AppSecret staged: refused, and nothing is committed.
    std::fs::write(repo.join("miniprogram/config.js"), LEAKY_CONFIG).unwrap();
    assert!(git(repo, &["add", "-A"]).status.success());
    let refused = git(repo, &["commit", "-q", "-m", "leak"]);
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    // git sends a hook's standard output to standard error.
    let stderr = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert!(stderr.contains("commit refused"), "{stderr}");
    assert!(stderr.contains("K001"), "the finding is shown: {stderr}");
    let log = git(repo, &["log", "--oneline"]);
    assert_eq!(String::from_utf8_lossy(&log.stdout).lines().count(), 1);

    // The staged snapshot is judged: fixed in the index, still leaky in the working tree, passes.
    let staged_fix = repo.join("fixed.js");
    std::fs::write(&staged_fix, CLEAN_CONFIG).unwrap();
    let blob = git(repo, &["hash-object", "-w", "fixed.js"]);
    let blob = String::from_utf8(blob.stdout).unwrap();
    std::fs::remove_file(&staged_fix).unwrap();
    let cacheinfo = format!("100644,{},miniprogram/config.js", blob.trim());
    assert!(
        git(repo, &["update-index", "--cacheinfo", &cacheinfo])
            .status
            .success()
    );
    std::fs::write(repo.join("miniprogram/app.js"), "App({ onLaunch() {} })\n").unwrap();
    assert!(git(repo, &["add", "miniprogram/app.js"]).status.success());
    let passed = git(repo, &["commit", "-q", "-m", "fixed in the index"]);
    assert!(passed.status.success(), "{passed:?}");
    assert_eq!(
        std::fs::read_to_string(repo.join("miniprogram/config.js")).unwrap(),
        LEAKY_CONFIG,
        "the hook leaves the working tree alone"
    );

    // And the other way round: a flaw staged, a fix only in the working tree, refused.
    assert!(git(repo, &["add", "-A"]).status.success());
    std::fs::write(repo.join("miniprogram/config.js"), CLEAN_CONFIG).unwrap();
    let refused = git(repo, &["commit", "-q", "-m", "leak staged"]);
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");

    // Nothing miniguard reads staged: the hook does not run a scan.
    // (Unstage the flaw: the index is the clean HEAD again, the working tree is clean too.)
    assert!(git(repo, &["reset", "-q"]).status.success());
    assert!(git(repo, &["diff", "--quiet"]).status.success());
    std::fs::write(repo.join("NOTES.md"), "notes\n").unwrap();
    assert!(git(repo, &["add", "NOTES.md"]).status.success());
    assert!(git(repo, &["commit", "-q", "-m", "notes"]).status.success());
}

#[test]
fn the_pre_commit_framework_hook_points_at_the_script() {
    let text = std::fs::read_to_string(root().join(".pre-commit-hooks.yaml")).unwrap();
    let docs = YamlLoader::load_from_str(&text).unwrap();
    let hooks = docs[0].as_vec().unwrap();
    assert_eq!(hooks[0]["id"].as_str(), Some("miniguard"));
    let entry = hooks[0]["entry"].as_str().unwrap();
    assert_eq!(hooks[0]["language"].as_str(), Some("script"));
    let script = root().join(entry);
    assert!(script.is_file(), "{entry}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&script).unwrap().permissions().mode();
        assert!(mode & 0o111 != 0, "{entry} is executable");
    }
}

#[test]
fn the_before_upload_check_passes_clean_code_and_stops_vulnerable_code() {
    if !have("bash") {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let run = |project: &Path| {
        Command::new("bash")
            .arg(root().join("docs/ci/before-upload"))
            .arg(project)
            .env("MINIGUARD", bin())
            .env("MINIGUARD_CACHE_DIR", scratch.path().join("cache"))
            .output()
            .unwrap()
    };
    let clean = run(&root().join("examples/secure-app/miniprogram"));
    assert_eq!(clean.status.code(), Some(0), "{clean:?}");
    assert!(String::from_utf8_lossy(&clean.stderr).contains("ready to upload"));
    let vulnerable = run(&root().join("examples/vulnerable-app"));
    assert_eq!(vulnerable.status.code(), Some(1), "{vulnerable:?}");
    assert!(String::from_utf8_lossy(&vulnerable.stderr).contains("do not upload"));
    let usage = Command::new("bash")
        .arg(root().join("docs/ci/before-upload"))
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2));
}
