use std::io::Write;
use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::args::RulesArgs;

pub fn run(args: &RulesArgs) -> Result<ExitCode> {
    let mut out = anstream::stdout().lock();
    if let Some(id) = &args.rule {
        let Some(rule) = miniguard_scan::rules::find(id) else {
            bail!("no rule `{id}` (see `miniguard rules` for the list)");
        };
        let m = rule.meta();
        let cwe: Vec<String> = m.cwe.iter().map(|c| format!("CWE-{c}")).collect();
        writeln!(
            out,
            "{} {} ({}, {} severity, {} confidence; {})",
            m.code,
            m.name,
            m.category,
            m.severity,
            m.confidence,
            cwe.join(", ")
        )?;
        writeln!(out, "{}\n", m.summary)?;
        writeln!(out, "{}", m.docs.trim())?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.markdown {
        write!(out, "{}", markdown_table())?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.json {
        let infos: Vec<_> = miniguard_scan::rules::all()
            .iter()
            .map(|r| r.meta().info())
            .collect();
        serde_json::to_writer_pretty(&mut out, &infos)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "{:<6} {:<32} {:<10} {:<9} summary",
        "code", "name", "category", "severity"
    )?;
    for r in miniguard_scan::rules::all() {
        let m = r.meta();
        writeln!(
            out,
            "{:<6} {:<32} {:<10} {:<9} {}",
            m.code,
            m.name,
            m.category.as_str(),
            m.severity.as_str(),
            m.summary
        )?;
    }
    writeln!(
        out,
        "\n`miniguard rules CODE` prints a rule's documentation."
    )?;
    Ok(ExitCode::SUCCESS)
}

/// The rule table of README.md, generated from the rules themselves.
pub fn markdown_table() -> String {
    use std::fmt::Write as _;
    let mut s = String::from(
        "| code | name | category | severity | CWE | finds |\n|---|---|---|---|---|---|\n",
    );
    for r in miniguard_scan::rules::all() {
        let m = r.meta();
        let cwe: Vec<String> = m.cwe.iter().map(|c| format!("CWE-{c}")).collect();
        let _ = writeln!(
            s,
            "| {} | `{}` | {} | {} | {} | {} |",
            m.code,
            m.name,
            m.category,
            m.severity,
            cwe.join(", "),
            m.summary
        );
    }
    s
}
