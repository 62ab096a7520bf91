//! `miniguard init`: the first command in a project. It looks at the folder the way `scan` does
//! (`miniguard-project`'s discovery: platform, mini-program roots, cloud functions, lockfiles),
//! writes a commented `miniguard.toml` whose every setting is explained where it is set, can
//! accept today's findings as a baseline so that CI reports only new ones, and prints what to
//! run next. It never replaces an existing file without `--force`.
// Reason: doc comments here are `--help` text, where backticks would show as-is.
#![allow(clippy::doc_markdown)]

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser as _};
use miniguard_project::{DiscoverOptions, Platform, Project};
use miniguard_report::{Msg, msg};

use crate::say;

/// The baseline file `--baseline` writes unless `--baseline-file` names another.
pub const DEFAULT_BASELINE: &str = ".miniguard-baseline.json";

#[derive(Args, Debug)]
#[command(after_help = INIT_EXAMPLES)]
pub struct InitArgs {
    /// The project folder: where miniguard.toml (and the baseline) are written.
    #[arg(default_value = ".")]
    pub path: PathBuf,

    /// Replace an existing miniguard.toml (and baseline file).
    #[arg(long)]
    pub force: bool,

    /// Also accept today's findings: write them to the baseline file and point
    /// `[scan] baseline` at it, so scans report only findings that appear later.
    #[arg(long)]
    pub baseline: bool,

    /// The baseline file for --baseline, relative to the project folder.
    #[arg(long, value_name = "FILE", default_value = DEFAULT_BASELINE, requires = "baseline")]
    pub baseline_file: PathBuf,
}

const INIT_EXAMPLES: &str = "\
Examples:
  miniguard init                      # miniguard.toml for the project in this folder
  miniguard init app --baseline       # and accept today's findings (.miniguard-baseline.json)
  miniguard init --force              # replace an existing miniguard.toml";

pub fn run(args: &InitArgs) -> Result<ExitCode> {
    if !args.path.is_dir() {
        bail!(say(msg!(
            "cli.init.not-a-folder",
            path = args.path.display().to_string()
        )));
    }
    let config = args.path.join("miniguard.toml");
    let baseline = args.baseline.then(|| args.path.join(&args.baseline_file));
    // Check every target before writing anything, so a refusal leaves the folder as it was.
    for target in std::iter::once(&config).chain(baseline.as_ref()) {
        if target.exists() && !args.force {
            bail!(say(msg!(
                "cli.init.exists",
                path = target.display().to_string()
            )));
        }
    }
    let project = miniguard_project::discover(&args.path, &DiscoverOptions::default())
        .with_context(|| {
            say(msg!(
                "cli.init.cannot-read-project",
                path = args.path.display().to_string()
            ))
        })?;
    let text = config_text(
        &project,
        &args.path,
        args.baseline.then_some(args.baseline_file.as_path()),
    );
    write_file(&config, &text)?;

    let mut out = anstream::stdout().lock();
    writeln!(
        out,
        "{}",
        say(msg!(
            "cli.init.wrote",
            path = config.display().to_string(),
            project = describe(&project)
        ))
    )?;
    if project.platform == Platform::Unknown && project.miniprogram_roots.is_empty() {
        writeln!(
            out,
            "{}",
            say(msg!(
                "cli.init.not-recognised",
                path = args.path.display().to_string()
            ))
        )?;
    }

    if let Some(file) = &baseline {
        let accepted = write_baseline(&args.path, &config, file)?;
        writeln!(
            out,
            "{}",
            say(msg!(
                "cli.init.baseline-written",
                path = file.display().to_string(),
                count = accepted
            ))
        )?;
    }

    let p = shell_path(&args.path);
    writeln!(out)?;
    writeln!(out, "{}", say(msg!("cli.init.next-steps")))?;
    // The commands stay as typed; what each does is said in the reader's language.
    let step = |command: String, what: Msg| format!("  {command}# {}", say(what));
    if baseline.is_some() {
        writeln!(
            out,
            "{}",
            step(
                format!("miniguard scan {p}                "),
                msg!("cli.init.step-scan-baseline")
            )
        )?;
    } else {
        writeln!(
            out,
            "{}",
            step(
                format!("miniguard scan {p}                "),
                msg!("cli.init.step-scan")
            )
        )?;
    }
    writeln!(
        out,
        "{}",
        step(
            format!("miniguard scan {p} --format html --output miniguard-report.html   "),
            msg!("cli.init.step-html")
        )
    )?;
    if baseline.is_none() {
        writeln!(
            out,
            "{}",
            step(
                format!("miniguard init {p} --force --baseline   "),
                msg!("cli.init.step-baseline")
            )
        )?;
    }
    writeln!(
        out,
        "{}",
        step(
            format!("miniguard deps {p}                "),
            msg!("cli.init.step-deps")
        )
    )?;
    writeln!(
        out,
        "{}",
        step(
            "miniguard rules                   ".to_owned(),
            msg!("cli.init.step-rules")
        )
    )?;
    writeln!(out, "  {}", say(msg!("cli.init.step-ci")))?;
    Ok(ExitCode::SUCCESS)
}

/// The path as the user would type it in the next commands.
fn shell_path(path: &Path) -> String {
    let s = path.display().to_string();
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:@".contains(c))
    {
        s
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The platform, as the project is described (`a WeChat mini-program`).
fn platform_msg(p: Platform) -> Msg {
    match p {
        Platform::WeChat => msg!("cli.init.platform-wechat"),
        Platform::Alipay => msg!("cli.init.platform-alipay"),
        Platform::Douyin => msg!("cli.init.platform-douyin"),
        Platform::Baidu => msg!("cli.init.platform-baidu"),
        Platform::Qq => msg!("cli.init.platform-qq"),
        Platform::UniApp => msg!("cli.init.platform-uni-app"),
        Platform::Taro => msg!("cli.init.platform-taro"),
        Platform::Unknown => msg!("cli.init.platform-unknown"),
    }
}

/// The platform in English: the written `miniguard.toml` is English whatever the reader's
/// language, so that a team shares one file.
fn platform_label(p: Platform) -> String {
    platform_msg(p).render(miniguard_report::i18n::Lang::En)
}

/// `a WeChat mini-program (1 mini-program root, 2 cloud function folders, 1 lockfile)`.
fn describe(project: &Project) -> String {
    let count = |n: usize, one: Msg, many: Msg| say(if n == 1 { one } else { many });
    let roots = project.miniprogram_roots.len();
    let functions = project.cloudfunction_roots.len();
    let lockfiles = project.lockfiles.len();
    let files = project.files.len();
    say(msg!(
        "cli.init.project",
        platform = platform_msg(project.platform),
        roots = count(
            roots,
            msg!("cli.init.roots-one", count = roots),
            msg!("cli.init.roots", count = roots)
        ),
        functions = count(
            functions,
            msg!("cli.init.functions-one", count = functions),
            msg!("cli.init.functions", count = functions)
        ),
        lockfiles = count(
            lockfiles,
            msg!("cli.deps.lockfiles-one", count = lockfiles),
            msg!("cli.deps.lockfiles", count = lockfiles)
        ),
        files = count(
            files,
            msg!("cli.init.files-one", count = files),
            msg!("cli.init.files", count = files)
        ),
    ))
}

fn list(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        return "none".to_owned();
    }
    paths
        .iter()
        .map(|p| {
            let s = p.display().to_string();
            if s.is_empty() { ".".to_owned() } else { s }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// Folders that usually hold tests or mock data, present in this project: suggested (commented)
/// for `exclude`, never excluded by default, since test code can leak real secrets too.
fn test_folders(root: &Path) -> Vec<String> {
    ["test", "tests", "__tests__", "mock", "mocks", "e2e"]
        .iter()
        .filter(|d| root.join(d).is_dir())
        .map(|d| format!("{d}/"))
        .collect()
}

/// The commented `miniguard.toml`. Only `[scan]` and `[rules]` are live settings; the rest is
/// comments, so `scan` reads the file as written.
fn config_text(project: &Project, root: &Path, baseline: Option<&Path>) -> String {
    let mut t = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(
        t,
        "# miniguard.toml: the settings of `miniguard scan` for this project, read from the folder\n\
         # scanned (or given with --config). Flags on the command line win over this file.\n\
         # Written by `miniguard init` for {}.\n\
         #   platform:              {}\n\
         #   mini-program roots:    {}\n\
         #   cloud function roots:  {}\n\
         #   lockfiles:             {}\n",
        platform_label(project.platform),
        project.platform.name(),
        list(&project.miniprogram_roots),
        list(&project.cloudfunction_roots),
        if project.lockfiles.is_empty() {
            "none (add one with your package manager so `miniguard deps` can check versions)"
                .to_owned()
        } else {
            project.lockfiles.join(", ")
        },
    );
    let _ = writeln!(
        t,
        "[scan]\n\
         # Exit with status 1 when a finding is at or above this severity: info, low, medium, high,\n\
         # critical, or never. Settings that only affect the developer tools are info.\n\
         fail-on = \"high\"\n\
         \n\
         # Run only these rules: codes (T001), names (sql-injection) or categories (transport, auth,\n\
         # injection, xss, storage, secrets, config, dependency). Empty runs every rule.\n\
         # select = [\"injection\", \"T001\"]\n\
         \n\
         # Rules or categories not to run; `miniguard rules` lists them all.\n\
         # ignore = []\n"
    );
    let tests = test_folders(root);
    let _ = writeln!(
        t,
        "# Leave out files matching these gitignore-style globs. node_modules, miniprogram_npm and build\n\
         # output are already left out (`scan --include-vendor` reads them).{}\n\
         # exclude = [{}]\n",
        if tests.is_empty() {
            ""
        } else {
            "\n# Test and mock folders found here (test code can leak real keys too, so they are scanned\n# unless you uncomment this):"
        },
        if tests.is_empty() {
            "\"test/\", \"mock/\"".to_owned()
        } else {
            tests
                .iter()
                .map(|s| toml_string(s))
                .collect::<Vec<_>>()
                .join(", ")
        },
    );
    let _ = writeln!(
        t,
        "# Files larger than this are skipped and reported as warnings.\n\
         # max-file-size = \"2M\"\n"
    );
    match baseline {
        Some(b) => {
            let _ = writeln!(
                t,
                "# Findings accepted when this file was written (`miniguard init --baseline`); scans report\n\
                 # only findings that are not in it. Refresh it with `miniguard scan --write-baseline FILE`.\n\
                 baseline = {}\n",
                toml_string(&b.to_string_lossy().replace('\\', "/"))
            );
        }
        None => {
            let _ = writeln!(
                t,
                "# Report only findings that are not in this baseline (`miniguard init --force --baseline`\n\
                 # or `miniguard scan --write-baseline FILE` writes one).\n\
                 # baseline = \"{DEFAULT_BASELINE}\"\n"
            );
        }
    }
    let _ = write!(
        t,
        "# Change one rule's severity (by code or name):\n\
         # [rules.S002]\n\
         # severity = \"low\"\n\
         \n\
         # Suppress one finding in the code with a comment on or above its line:\n\
         #   // miniguard-ignore T001: staging host, never shipped\n"
    );
    t
}

/// Writes `text` to `path` through a temporary file in the same folder, so a failure never
/// leaves a half-written file.
fn write_file(path: &Path, text: &str) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        std::process::id()
    ));
    std::fs::write(&tmp, text)
        .with_context(|| say(msg!("cli.cannot-write", path = tmp.display().to_string())))?;
    std::fs::rename(&tmp, path).with_context(|| {
        let _ = std::fs::remove_file(&tmp);
        say(msg!("cli.cannot-write", path = path.display().to_string()))
    })
}

/// Runs the scan exactly as `miniguard scan PATH --config miniguard.toml --write-baseline FILE`
/// would, and answers how many findings the baseline holds.
fn write_baseline(root: &Path, config: &Path, file: &Path) -> Result<usize> {
    let argv: Vec<std::ffi::OsString> = vec![
        "miniguard".into(),
        "scan".into(),
        root.into(),
        "--config".into(),
        config.into(),
        "--write-baseline".into(),
        file.into(),
        "--no-progress".into(),
    ];
    let cli = crate::args::Cli::try_parse_from(argv)
        .with_context(|| say(msg!("cli.init.building-scan")))?;
    let crate::args::Command::Scan(scan) = cli.command else {
        bail!(say(msg!("cli.init.building-scan")));
    };
    crate::cmd_scan::run(&scan)?;
    Ok(miniguard_engine::Baseline::read(file)?.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_paths_are_quoted_when_needed() {
        assert_eq!(shell_path(Path::new(".")), ".");
        assert_eq!(shell_path(Path::new("my app")), "'my app'");
        assert_eq!(shell_path(Path::new("it's")), r"'it'\''s'");
    }
}
