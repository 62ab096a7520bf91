//! Project chores, run as `cargo run -p xtask -- <task>` (the cargo-xtask convention: plain Rust,
//! no extra tools to install).
//!
//! Tasks:
//! - `advisories [DIR]`: converts the openly licensed advisory data in `DIR` (default
//!   `../shared/advisories` from the workspace root) into OSV records and writes the embedded
//!   snapshot `crates/deps/data/advisories.json.gz` and the `NOTICE` file.

mod advisories;

use std::path::PathBuf;
use std::process::ExitCode;

fn workspace_root() -> PathBuf {
    // crates/xtask -> workspace root.
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    if args.first().map(String::as_str) != Some("advisories") {
        eprintln!("usage: cargo run -p xtask -- advisories [DIR]");
        return ExitCode::from(2);
    }
    let source = args
        .get(1)
        .map_or_else(|| root.join("../shared/advisories"), PathBuf::from);
    let result = advisories::run(&source, &root);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
