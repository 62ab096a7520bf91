//! `miniguard completions SHELL` and `miniguard man`: shell completions and man pages generated
//! from the same clap definitions as `--help` (`clap_complete`, `clap_mangen`), so a new flag
//! appears in all three at once and none of them can drift.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, CommandFactory as _};
use clap_complete::Shell;
use miniguard_report::msg;

use crate::say;

#[derive(Args, Debug)]
#[command(after_help = COMPLETIONS_EXAMPLES)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: Shell,
}

const COMPLETIONS_EXAMPLES: &str = "\
Install (then open a new shell):
  bash        miniguard completions bash > ~/.local/share/bash-completion/completions/miniguard
  zsh         miniguard completions zsh > ~/.zfunc/_miniguard   # with fpath+=(~/.zfunc) before compinit
  fish        miniguard completions fish > ~/.config/fish/completions/miniguard.fish
  PowerShell  miniguard completions powershell >> $PROFILE";

#[derive(Args, Debug)]
#[command(after_help = MAN_EXAMPLES)]
pub struct ManArgs {
    /// Write miniguard.1 and one page per subcommand (miniguard-scan.1, miniguard-db-update.1,
    /// ...) into DIR instead of printing miniguard.1.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

const MAN_EXAMPLES: &str = "\
Examples:
  miniguard man | man -l -
  miniguard man --out docs/man        # every page, for packaging (man 1 miniguard-scan)";

/// The clap command with the binary's name, as completions and pages show it.
fn command() -> clap::Command {
    crate::args::Cli::command()
}

/// A page whose footer names the program and its version (`miniguard 0.1.0`), not the
/// subcommand.
fn page_of(cmd: clap::Command) -> clap_mangen::Man {
    clap_mangen::Man::new(cmd)
        .source(format!("miniguard {}", env!("CARGO_PKG_VERSION")))
        .manual("miniguard manual")
}

pub fn run_completions(args: &CompletionsArgs) -> Result<ExitCode> {
    let mut cmd = command();
    // Into memory first: the generator panics when its writer fails, and a reader that stops
    // early (`miniguard completions bash | head`) is not an error (main treats a closed pipe as
    // success).
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "miniguard", &mut script);
    let mut out = std::io::stdout().lock();
    out.write_all(&script)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

pub fn run_man(args: &ManArgs) -> Result<ExitCode> {
    let cmd = command();
    match &args.out {
        None => {
            let mut out = std::io::stdout().lock();
            page_of(cmd).render(&mut out)?;
            out.flush()?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| {
                say(msg!("cli.cannot-create", path = dir.display().to_string()))
            })?;
            let written = write_pages(cmd, dir)?;
            writeln!(
                anstream::stderr(),
                "{}",
                say(msg!(
                    "cli.man-pages-written",
                    count = written,
                    path = dir.display().to_string()
                ))
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the page of `cmd` and of every subcommand under it (hidden ones and `help` left out);
/// answers how many pages were written.
fn write_pages(cmd: clap::Command, dir: &Path) -> Result<usize> {
    // Sub-commands are named `miniguard-db-update` on their pages, as git and cargo do; the
    // synopsis shows what is typed: `miniguard db update`.
    let mut stack = vec![(
        cmd.disable_help_subcommand(true),
        "miniguard".to_owned(),
        "miniguard".to_owned(),
    )];
    let mut written = 0;
    while let Some((cmd, page, typed)) = stack.pop() {
        let mut cmd = cmd.display_name(page.clone()).bin_name(typed.clone());
        cmd.build();
        let path = dir.join(format!("{page}.1"));
        let mut buf = Vec::new();
        page_of(cmd.clone()).render(&mut buf)?;
        std::fs::write(&path, buf)
            .with_context(|| say(msg!("cli.cannot-write", path = path.display().to_string())))?;
        written += 1;
        for sub in cmd.get_subcommands() {
            if sub.is_hide_set() || sub.get_name() == "help" {
                continue;
            }
            stack.push((
                sub.clone().disable_help_subcommand(true),
                format!("{page}-{}", sub.get_name()),
                format!("{typed} {}", sub.get_name()),
            ));
        }
    }
    Ok(written)
}
