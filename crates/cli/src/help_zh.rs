//! `--help` in Simplified Chinese. The commands and arguments are the same clap definitions as
//! in English; only their texts are replaced, from `i18n/zh-CN/help.toml`, keyed by the command
//! path (`miniguard scan`, `miniguard db update`) and the argument id. A test fails when a
//! command or an argument has no translation, so the two languages cannot drift apart.

use clap::{Arg, ArgAction, Command};

const TABLE: &str = include_str!("../i18n/zh-CN/help.toml");

/// The command with every text the table has in Chinese, and Chinese section headings.
pub fn localize(cmd: Command) -> Command {
    let Ok(table) = TABLE.parse::<toml::Table>() else {
        return cmd;
    };
    let name = cmd.get_name().to_owned();
    walk(cmd, &table, &name, true)
}

fn text<'t>(entry: Option<&'t toml::Table>, key: &str) -> Option<&'t str> {
    entry?.get(key)?.as_str()
}

fn walk(mut cmd: Command, table: &toml::Table, path: &str, root: bool) -> Command {
    let entry = table.get(path).and_then(toml::Value::as_table);
    if let Some(about) = text(entry, "about") {
        cmd = cmd.about(about.to_owned());
        cmd = cmd.long_about(text(entry, "long_about").unwrap_or(about).to_owned());
    }
    if let Some(after) = text(entry, "after_help") {
        cmd = cmd.after_help(after.to_owned());
    }
    let args = entry
        .and_then(|e| e.get("args"))
        .and_then(toml::Value::as_table);
    let ids: Vec<String> = cmd
        .get_arguments()
        .map(|a| a.get_id().as_str().to_owned())
        .collect();
    for id in ids {
        if let Some(help) = args.and_then(|a| a.get(&id)).and_then(toml::Value::as_str) {
            let help = help.to_owned();
            cmd = cmd.mut_arg(&id, |a| {
                // clap spells the choices and the default in English: said here instead.
                let mut short = help.clone();
                let mut long = help.clone();
                let choices: Vec<String> = a
                    .get_possible_values()
                    .iter()
                    .filter(|v| !v.is_hide_set())
                    .map(|v| v.get_name().to_owned())
                    .collect();
                if !choices.is_empty() {
                    short = format!("{short} [可选值：{}]", choices.join("、"));
                    long = format!("{long}\n可选值：{}", choices.join("、"));
                }
                let defaults: Vec<String> = a
                    .get_default_values()
                    .iter()
                    .map(|v| v.to_string_lossy().into_owned())
                    .collect();
                if !defaults.is_empty() && !help.contains("默认") {
                    short = format!("{short} [默认：{}]", defaults.join(","));
                    long = format!("{long}\n[默认：{}]", defaults.join(","));
                }
                let takes_value = a.get_action().takes_values();
                a.help(short)
                    .long_help(long)
                    .hide_possible_values(takes_value)
                    .hide_default_value(takes_value)
            });
        }
    }
    // The flags clap adds itself, with their texts in Chinese.
    cmd = cmd.disable_help_flag(true).arg(
        Arg::new("help")
            .short('h')
            .long("help")
            .action(ArgAction::Help)
            .help("显示帮助（-h 为摘要）"),
    );
    if root || cmd.get_version().is_some() {
        cmd = cmd.disable_version_flag(true).arg(
            Arg::new("version")
                .short('V')
                .long("version")
                .action(ArgAction::Version)
                .help("显示版本"),
        );
    }
    let mut template = String::from("{before-help}{about-with-newline}\n用法：{usage}");
    if cmd.has_subcommands() {
        template.push_str("\n\n命令：\n{subcommands}");
    }
    if cmd.get_positionals().next().is_some() {
        template.push_str("\n\n参数：\n{positionals}");
    }
    template.push_str("\n\n选项：\n{options}{after-help}");
    cmd = cmd.help_template(template);
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    for name in names {
        let sub_path = format!("{path} {name}");
        cmd = cmd.mut_subcommand(&name, |s| walk(s, table, &sub_path, false));
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    /// Every command and every argument of the English definitions, with its path.
    fn inventory(cmd: &Command, path: &str, out: &mut Vec<(String, Option<String>)>) {
        out.push((path.to_owned(), None));
        for a in cmd.get_arguments() {
            let id = a.get_id().as_str();
            if matches!(id, "help" | "version") {
                continue;
            }
            out.push((path.to_owned(), Some(id.to_owned())));
        }
        for s in cmd.get_subcommands() {
            inventory(s, &format!("{path} {}", s.get_name()), out);
        }
    }

    #[test]
    fn every_command_and_argument_has_a_chinese_text() {
        let table: toml::Table = TABLE.parse().expect("help.toml parses");
        let mut all = Vec::new();
        let cmd = crate::args::Cli::command();
        inventory(&cmd, "miniguard", &mut all);
        let mut missing = Vec::new();
        for (path, arg) in &all {
            let entry = table.get(path).and_then(toml::Value::as_table);
            let found = match arg {
                None => text(entry, "about").is_some(),
                Some(id) => entry
                    .and_then(|e| e.get("args"))
                    .and_then(toml::Value::as_table)
                    .and_then(|a| a.get(id))
                    .and_then(toml::Value::as_str)
                    .is_some(),
            };
            if !found {
                missing.push(format!("{path} {}", arg.as_deref().unwrap_or("(about)")));
            }
        }
        assert!(
            missing.is_empty(),
            "no Chinese text for:\n{}",
            missing.join("\n")
        );
        // Nothing in the table that the definitions do not have (a renamed flag).
        for (path, v) in &table {
            assert!(
                all.iter().any(|(p, _)| p == path),
                "unknown command `{path}`"
            );
            if let Some(args) = v.get("args").and_then(toml::Value::as_table) {
                for id in args.keys() {
                    assert!(
                        all.iter()
                            .any(|(p, a)| p == path && a.as_deref() == Some(id)),
                        "unknown argument `{id}` of `{path}`"
                    );
                }
            }
        }
    }

    #[test]
    fn localized_help_is_chinese_and_the_command_still_parses() {
        // clap's own consistency checks, over every subcommand.
        localize(crate::args::Cli::command()).debug_assert();
        let mut cmd = localize(crate::args::Cli::command());
        cmd.build();
        let help = cmd
            .find_subcommand_mut("scan")
            .expect("scan")
            .render_long_help()
            .to_string();
        assert!(help.contains("用法："), "{help}");
        assert!(help.contains("选项："), "{help}");
        assert!(!help.contains("Options:"), "{help}");
        let cmd = localize(crate::args::Cli::command());
        let m = cmd
            .try_get_matches_from(["miniguard", "scan", ".", "--format", "json"])
            .expect("parses");
        assert!(m.subcommand_matches("scan").is_some());
    }
}
