//! clap's usage errors (unknown argument, missing or invalid value, ...) in Simplified Chinese.
//! clap speaks English only, so the error is said again from its kind and its context (the
//! argument, the value, the choices, the suggestions), with the words from the message tables
//! (`clap.*`). The names of arguments, values and commands stay as they are.

use clap::error::{ContextKind, ContextValue, ErrorKind};
use miniguard_report::i18n::Lang;
use miniguard_report::{Msg, msg};

/// The error as clap would print it, in `lang`: `None` for what is not an error (help and
/// version output) or for English, which clap itself prints.
pub fn render(err: &clap::Error, lang: Lang) -> Option<String> {
    if lang == Lang::En
        || matches!(
            err.kind(),
            ErrorKind::DisplayHelp
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                | ErrorKind::DisplayVersion
        )
    {
        return None;
    }
    let say = |m: Msg| m.render(lang);
    let mut out = say(msg!("cli.error", message = headline(err, lang)));
    let mut suggested = false;
    for (kind, what) in [
        (ContextKind::SuggestedSubcommand, msg!("clap.a-subcommand")),
        (ContextKind::SuggestedArg, msg!("clap.an-argument")),
        (ContextKind::SuggestedValue, msg!("clap.a-value")),
    ] {
        if let Some(value) = err.get(kind) {
            out.push('\n');
            if !suggested {
                out.push('\n');
                suggested = true;
            }
            let names = quoted(value);
            if !names.is_empty() {
                out.push_str("  ");
                out.push_str(&say(msg!("clap.similar", what = what, names = names)));
            }
        }
    }
    if let Some(ContextValue::StyledStrs(tips)) = err.get(ContextKind::Suggested) {
        if !suggested {
            out.push('\n');
        }
        for tip in tips {
            out.push_str("\n  ");
            out.push_str(&say(msg!("clap.tip", tip = tip.to_string())));
        }
    }
    if let Some(ContextValue::StyledStr(usage)) = err.get(ContextKind::Usage) {
        let usage = usage.to_string();
        let usage = usage.strip_prefix("Usage:").map_or(usage.clone(), |rest| {
            say(msg!("clap.usage", usage = rest.trim_start()))
        });
        out.push_str("\n\n");
        out.push_str(&usage);
    }
    out.push_str("\n\n");
    out.push_str(&say(msg!("clap.more-information", flag = "--help")));
    out.push('\n');
    Some(out)
}

/// The first sentence: what is wrong, from the kind and its context.
fn headline(err: &clap::Error, lang: Lang) -> String {
    let say = |m: Msg| m.render(lang);
    let string = |kind| match err.get(kind) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        _ => None,
    };
    let number = |kind| match err.get(kind) {
        Some(ContextValue::Number(n)) => Some(*n),
        _ => None,
    };
    let arg = string(ContextKind::InvalidArg);
    let value = string(ContextKind::InvalidValue);
    let said = match err.kind() {
        ErrorKind::ArgumentConflict => {
            let prior = err.get(ContextKind::PriorArg);
            match (&arg, string(ContextKind::InvalidSubcommand)) {
                (Some(a), _) if prior == Some(&ContextValue::String(a.clone())) => {
                    Some(say(msg!("clap.repeated", arg = a)))
                }
                (Some(a), _) => Some(say(msg!(
                    "clap.conflict",
                    arg = a,
                    with = conflicts_with(prior, lang)
                ))),
                (None, Some(sub)) => Some(say(msg!(
                    "clap.subcommand-conflict",
                    name = sub,
                    with = conflicts_with(prior, lang)
                ))),
                (None, None) => None,
            }
        }
        ErrorKind::NoEquals => arg.map(|a| say(msg!("clap.no-equals", arg = a))),
        ErrorKind::InvalidValue => match (&arg, &value) {
            (Some(a), Some(v)) => {
                let mut s = if v.is_empty() {
                    say(msg!("clap.value-required", arg = a))
                } else {
                    say(msg!("clap.invalid-value", arg = a, value = v))
                };
                let choices = listed(err.get(ContextKind::ValidValue));
                if !choices.is_empty() {
                    s.push_str("\n  ");
                    s.push_str(&say(msg!("clap.possible-values", values = choices)));
                }
                Some(s)
            }
            _ => None,
        },
        ErrorKind::InvalidSubcommand => string(ContextKind::InvalidSubcommand)
            .map(|name| say(msg!("clap.unknown-subcommand", name = name))),
        ErrorKind::MissingRequiredArgument => match err.get(ContextKind::InvalidArg) {
            Some(ContextValue::Strings(args)) => {
                let mut s = say(msg!("clap.missing-arguments"));
                for a in args {
                    s.push_str("\n  ");
                    s.push_str(a);
                }
                Some(s)
            }
            _ => None,
        },
        ErrorKind::MissingSubcommand => string(ContextKind::InvalidSubcommand).map(|name| {
            let mut s = say(msg!("clap.missing-subcommand", name = name));
            let subs = listed(err.get(ContextKind::ValidSubcommand));
            if !subs.is_empty() {
                s.push_str("\n  ");
                s.push_str(&say(msg!("clap.subcommands", values = subs)));
            }
            s
        }),
        ErrorKind::TooManyValues => match (&arg, &value) {
            (Some(a), Some(v)) => Some(say(msg!("clap.too-many-values", arg = a, value = v))),
            _ => None,
        },
        ErrorKind::TooFewValues => match (
            &arg,
            number(ContextKind::ActualNumValues),
            number(ContextKind::MinValues),
        ) {
            (Some(a), Some(actual), Some(min)) => Some(say(msg!(
                "clap.too-few-values",
                arg = a,
                min = min.to_string(),
                actual = actual.to_string()
            ))),
            _ => None,
        },
        ErrorKind::WrongNumberOfValues => match (
            &arg,
            number(ContextKind::ActualNumValues),
            number(ContextKind::ExpectedNumValues),
        ) {
            (Some(a), Some(actual), Some(expected)) => Some(say(msg!(
                "clap.wrong-number-of-values",
                arg = a,
                expected = expected.to_string(),
                actual = actual.to_string()
            ))),
            _ => None,
        },
        ErrorKind::ValueValidation => match (&arg, &value) {
            // The validator's own reason is English: it follows after a colon.
            (Some(a), Some(v)) => {
                let s = say(msg!("clap.invalid-value", arg = a, value = v));
                let reason = std::error::Error::source(err).map(ToString::to_string);
                Some(match reason {
                    Some(r) => format!("{s}: {r}"),
                    None => s,
                })
            }
            _ => None,
        },
        ErrorKind::UnknownArgument => arg.map(|a| say(msg!("clap.unknown-argument", arg = a))),
        _ => None,
    };
    said.unwrap_or_else(|| {
        say(match err.kind() {
            ErrorKind::InvalidValue => msg!("clap.kind-invalid-value"),
            ErrorKind::UnknownArgument => msg!("clap.kind-unknown-argument"),
            ErrorKind::InvalidSubcommand => msg!("clap.kind-unknown-subcommand"),
            ErrorKind::NoEquals => msg!("clap.kind-no-equals"),
            ErrorKind::ValueValidation => msg!("clap.kind-value-validation"),
            ErrorKind::TooManyValues => msg!("clap.kind-too-many-values"),
            ErrorKind::TooFewValues => msg!("clap.kind-too-few-values"),
            ErrorKind::WrongNumberOfValues => msg!("clap.kind-wrong-number-of-values"),
            ErrorKind::ArgumentConflict => msg!("clap.kind-argument-conflict"),
            ErrorKind::MissingRequiredArgument => msg!("clap.kind-missing-argument"),
            ErrorKind::MissingSubcommand => msg!("clap.kind-missing-subcommand"),
            ErrorKind::InvalidUtf8 => msg!("clap.kind-invalid-utf8"),
            _ => msg!("clap.kind-other"),
        })
    })
}

/// What an argument conflicts with: one argument, several, or "the other arguments".
fn conflicts_with(prior: Option<&ContextValue>, lang: Lang) -> String {
    match prior {
        Some(ContextValue::String(s)) => format!("'{s}'"),
        Some(ContextValue::Strings(list)) => list
            .iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(", "),
        _ => msg!("clap.other-arguments").render(lang),
    }
}

/// The names of a context value, quoted, comma-separated.
fn quoted(value: &ContextValue) -> String {
    match value {
        ContextValue::String(s) => format!("'{s}'"),
        ContextValue::Strings(list) => list
            .iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(", "),
        _ => String::new(),
    }
}

/// The values of a list context (choices, subcommands), comma-separated.
fn listed(value: Option<&ContextValue>) -> String {
    match value {
        Some(ContextValue::Strings(list)) => list.join(", "),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    fn zh(args: &[&str]) -> String {
        let cmd = crate::args::Cli::command();
        let err = cmd
            .try_get_matches_from(std::iter::once("miniguard").chain(args.iter().copied()))
            .expect_err("a usage error");
        render(&err, Lang::ZhCn).expect("an error, said in Chinese")
    }

    #[test]
    fn usage_errors_are_said_in_chinese_with_the_names_as_they_are() {
        let text = zh(&["scan", "--bogus"]);
        assert!(text.starts_with("错误：无法识别的参数 '--bogus'"), "{text}");
        assert!(
            text.contains("用法：") && text.contains("'--help'"),
            "{text}"
        );
        assert!(!text.contains("unexpected argument"), "{text}");

        let text = zh(&["scan", "--format", "yaml"]);
        assert!(
            text.contains("'yaml'") && text.contains("--format"),
            "{text}"
        );
        assert!(
            text.contains("可选值：") && text.contains("sarif"),
            "{text}"
        );

        let text = zh(&["scan", "--format"]);
        assert!(text.contains("--format") && text.contains("需要"), "{text}");
        assert!(!text.contains("a value is required"), "{text}");

        let text = zh(&["scna"]);
        assert!(text.contains("'scna'") && text.contains("子命令"), "{text}");
        assert!(text.contains("'scan'"), "a suggestion: {text}");
    }

    #[test]
    fn english_and_help_are_left_to_clap() {
        let cmd = crate::args::Cli::command();
        let err = cmd
            .try_get_matches_from(["miniguard", "scan", "--bogus"])
            .expect_err("a usage error");
        assert!(render(&err, Lang::En).is_none());
        let cmd = crate::args::Cli::command();
        let help = cmd
            .try_get_matches_from(["miniguard", "--help"])
            .expect_err("help is reported as an error kind");
        assert!(render(&help, Lang::ZhCn).is_none());
    }
}
