// Reason: doc comments here are `--help` text, where backticks would show as-is.
#![allow(clippy::doc_markdown)]

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Security auditor for mini-programs (WeChat, Alipay, Douyin, Baidu, QQ, uni-app, Taro).
///
/// `miniguard scan PATH` audits a mini-program with its cloud functions and Node backend for
/// insecure transport, weak authentication, injection, XSS-style injection, leaky storage and
/// logs, hard-coded secrets and risky configuration. `miniguard rules` lists what it checks.
#[derive(Parser, Debug)]
#[command(
    name = "miniguard",
    version,
    about,
    long_about,
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Audit a project: a mini-program source tree, its cloud functions and Node backend.
    ///
    /// Exit codes: 0 when no finding is at or above --fail-on, 1 when one is, 2 on a usage or
    /// I/O error.
    #[command(after_help = SCAN_EXAMPLES)]
    Scan(Box<ScanArgs>),
    /// List the rules, or print one rule's documentation (`miniguard rules T001`).
    Rules(RulesArgs),
}

const SCAN_EXAMPLES: &str = "\
Examples:
  miniguard scan .
  miniguard scan app --format sarif --output results.sarif
  miniguard scan app --select injection,T001 --fail-on medium
  miniguard scan app --write-baseline .miniguard-baseline.json
  miniguard scan app --baseline .miniguard-baseline.json     # only new findings

Suppress one finding with a comment on or above its line:
  // miniguard-ignore T001: staging host, never shipped";

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatArg {
    /// Human-readable report with code frames (the default).
    Text,
    /// Stable JSON, documented in docs/json-format.md.
    Json,
    /// SARIF 2.1.0 for code scanning.
    Sarif,
    /// One self-contained HTML page.
    Html,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeverityArg {
    Info,
    Low,
    Medium,
    High,
    Critical,
    /// Never fail because of findings.
    Never,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

#[derive(Args, Debug)]
pub struct ScanArgs {
    /// The project folder (or a single file) to audit.
    #[arg(default_value = ".")]
    pub path: PathBuf,

    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,

    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Exit with 1 when a finding has at least this severity [default: high].
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<SeverityArg>,

    /// Configuration file [default: miniguard.toml in PATH, if present].
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Report only findings not in this baseline file.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Write every current finding to FILE as the new baseline (exit code 0).
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,

    /// Run only these rules or categories (comma separated codes, names or categories:
    /// `T001,sql-injection,xss`).
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub select: Vec<String>,

    /// Do not run these rules or categories.
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub ignore: Vec<String>,

    /// Leave out files matching these gitignore-style globs (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,

    /// Also scan node_modules, miniprogram_npm and build output.
    #[arg(long)]
    pub include_vendor: bool,

    /// Number of parallel jobs [default: number of CPUs].
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,

    /// Skip files larger than this (bytes, or with K/M suffix) [default: 2M].
    #[arg(long, value_name = "SIZE")]
    pub max_file_size: Option<String>,

    /// Do not show a progress bar.
    #[arg(long)]
    pub no_progress: bool,

    /// When to use colours in text output.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
}

#[derive(Args, Debug)]
pub struct RulesArgs {
    /// Print the documentation of this rule (code or name).
    pub rule: Option<String>,

    /// Print the rule table as JSON.
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,

    /// Print the rule table as Markdown (the table in README.md).
    #[arg(long)]
    pub markdown: bool,

    /// Write one Markdown page per rule, and an index, into DIR (how docs/rules is made).
    #[arg(long, value_name = "DIR")]
    pub write_docs: Option<std::path::PathBuf>,
}
