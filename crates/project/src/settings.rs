//! The key-value entries of settings files ([`crate::FileKind::Settings`]): YAML with a real
//! parser (`yaml-rust2`, every document of a stream), dotenv, Java properties and INI lines by
//! their grammar. Each entry keeps its value's byte span in the file, so that findings point at
//! the value.
//!
//! What an entry's key is follows how these files name a value:
//! - YAML maps: the key of the scalar (`password: 1234` under `spring.datasource`), with its path
//!   (`spring.datasource.password`);
//! - YAML lists of `KEY=value` strings (docker-compose `environment:`): split at `=`;
//! - YAML maps with a scalar `name` and a scalar `value` (Kubernetes `env:` entries): the name;
//! - `.env`: `[export ]KEY=value`, quotes removed, `#` comments after unquoted values;
//! - properties: `key=value`, `key: value` or `key value`; `#`/`!` comments; a value continued on
//!   the next line (trailing `\`) is left out;
//! - INI: `key = value` (or `key: value`) under `[section]`; `;`/`#` comments; lines without a
//!   separator (nginx directives) are not entries.
//!
//! Bounded: at most [`MAX_ENTRIES`] entries per file and YAML nesting up to [`MAX_DEPTH`];
//! aliases are not expanded.

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::TScalarStyle;

use crate::SettingsFormat;

/// Entries read from one file at most.
pub const MAX_ENTRIES: usize = 20_000;
/// YAML nesting followed at most.
pub const MAX_DEPTH: usize = 64;

/// One value of a settings file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The dotted path of the value (`spring.datasource.password`, `mysql.environment.MYSQL_ROOT_PASSWORD`).
    pub path: String,
    /// The name the value is bound to: the last key (`password`, `MYSQL_ROOT_PASSWORD`).
    pub name: String,
    pub value: String,
    /// Byte span of the value in the file (quotes included when it is quoted).
    pub start: u32,
    pub end: u32,
}

/// A file that is not valid in its format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingsError {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// The entries of `text`, a file in `format`.
pub fn entries(format: SettingsFormat, text: &str) -> Result<Vec<Entry>, SettingsError> {
    match format {
        SettingsFormat::Yaml => yaml_entries(text),
        SettingsFormat::Env => Ok(line_entries(text, LineSyntax::Env)),
        SettingsFormat::Properties => Ok(line_entries(text, LineSyntax::Properties)),
        SettingsFormat::Ini => Ok(line_entries(text, LineSyntax::Ini)),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum LineSyntax {
    Env,
    Properties,
    Ini,
}

fn line_entries(text: &str, syntax: LineSyntax) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut offset = 0usize;
    let mut continued = false;
    for raw in text.split_inclusive('\n') {
        let line_start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let was_continued = continued;
        continued = syntax == LineSyntax::Properties && ends_with_odd_backslashes(line);
        if was_continued || out.len() >= MAX_ENTRIES {
            continue;
        }
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if trimmed.is_empty() {
            continue;
        }
        let comment = match syntax {
            LineSyntax::Env => trimmed.starts_with('#'),
            LineSyntax::Properties => trimmed.starts_with(['#', '!']),
            LineSyntax::Ini => trimmed.starts_with([';', '#']),
        };
        if comment {
            continue;
        }
        if syntax == LineSyntax::Ini && trimmed.starts_with('[') {
            if let Some(end) = trimmed.find(']') {
                trimmed[1..end].trim().clone_into(&mut section);
            }
            continue;
        }
        let body = if syntax == LineSyntax::Env {
            trimmed
                .strip_prefix("export ")
                .map_or(trimmed, str::trim_start)
        } else {
            trimmed
        };
        let body_start = line_start + indent + (trimmed.len() - body.len());
        let sep = match syntax {
            LineSyntax::Env => body.find('='),
            LineSyntax::Properties => body.find(['=', ':']).or_else(|| body.find([' ', '\t'])),
            LineSyntax::Ini => body.find(['=', ':']),
        };
        let Some(sep) = sep else { continue };
        let key = body[..sep].trim();
        if key.is_empty()
            || key.len() > 200
            || !key
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '[' | ']'))
        {
            continue;
        }
        if syntax == LineSyntax::Properties && continued {
            continue;
        }
        let rest = &body[sep + 1..];
        let lead = rest.len() - rest.trim_start().len();
        let value_text = rest.trim_start();
        let value_start = body_start + sep + 1 + lead;
        let Some((value, len)) = line_value(value_text, syntax) else {
            continue;
        };
        let path = if section.is_empty() {
            key.to_owned()
        } else {
            format!("{section}.{key}")
        };
        out.push(Entry {
            path,
            name: key.to_owned(),
            value,
            start: u32::try_from(value_start).unwrap_or(u32::MAX),
            end: u32::try_from(value_start + len).unwrap_or(u32::MAX),
        });
    }
    out
}

fn ends_with_odd_backslashes(line: &str) -> bool {
    line.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 1
}

/// A line's value and its length in the source: quoted values without their quotes; unquoted
/// ones up to an inline comment (dotenv and INI: ` #`, ` ;`).
fn line_value(text: &str, syntax: LineSyntax) -> Option<(String, usize)> {
    if syntax != LineSyntax::Properties
        && let Some(q) = text.chars().next().filter(|c| matches!(c, '"' | '\''))
    {
        let end = text[1..].find(q)?;
        return Some((text[1..=end].to_owned(), end + 2));
    }
    let mut end = text.len();
    if syntax != LineSyntax::Properties {
        for (i, _) in text.match_indices([' ', '\t']) {
            if text[i..].trim_start().starts_with(['#', ';']) {
                end = i;
                break;
            }
        }
    }
    let value = text[..end].trim_end();
    Some((value.to_owned(), value.len()))
}

/// A container being read: a map with the key waiting for its value, or a sequence.
struct Open {
    map: bool,
    /// The key of this container in its parent (`environment`).
    name: String,
    pending: Option<String>,
    /// Scalars of a map, for the Kubernetes `name`/`value` pair.
    name_field: Option<String>,
    value_field: Option<(String, u32, u32)>,
}

fn yaml_entries(text: &str) -> Result<Vec<Entry>, SettingsError> {
    // Marks count characters; spans are bytes.
    let byte_at: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(text.len()))
        .collect();
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Open> = Vec::new();
    let mut out = Vec::new();
    let path_of = |stack: &[Open], name: &str| {
        let mut parts: Vec<&str> = stack
            .iter()
            .skip(1)
            .map(|o| o.name.as_str())
            .filter(|n| !n.is_empty())
            .collect();
        parts.push(name);
        parts.join(".")
    };
    loop {
        let (event, mark) = parser.next_token().map_err(|e| SettingsError {
            line: u32::try_from(e.marker().line()).unwrap_or(u32::MAX),
            column: u32::try_from(e.marker().col() + 1).unwrap_or(u32::MAX),
            message: e.info().to_owned(),
        })?;
        if out.len() >= MAX_ENTRIES {
            break;
        }
        match event {
            Event::StreamEnd => break,
            Event::Scalar(value, style, _, _) => {
                let start = byte_at.get(mark.index()).copied().unwrap_or(text.len());
                let end = scalar_end(text, start, &value, style);
                let (start, end) = (
                    u32::try_from(start).unwrap_or(u32::MAX),
                    u32::try_from(end).unwrap_or(u32::MAX),
                );
                let Some(top) = stack.last_mut() else {
                    continue;
                };
                if top.map {
                    match top.pending.take() {
                        None => top.pending = Some(value),
                        Some(key) => {
                            if key == "name" {
                                top.name_field = Some(value.clone());
                            } else if key == "value" {
                                top.value_field = Some((value.clone(), start, end));
                            }
                            let path = path_of(&stack, &key);
                            out.push(Entry {
                                path,
                                name: key,
                                value,
                                start,
                                end,
                            });
                        }
                    }
                } else if let Some((key, v)) = value.split_once('=')
                    && !key.is_empty()
                    && key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
                {
                    // `- MYSQL_ROOT_PASSWORD=1234` in a compose `environment:` list.
                    let offset = u32::try_from(key.len() + 1).unwrap_or(0);
                    let quoted = u32::from(!matches!(style, TScalarStyle::Plain));
                    let path = path_of(&stack, key);
                    out.push(Entry {
                        path,
                        name: key.to_owned(),
                        value: v.to_owned(),
                        start: start.saturating_add(offset + quoted).min(end),
                        end: end.saturating_sub(quoted),
                    });
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(SettingsError {
                        line: u32::try_from(mark.line()).unwrap_or(u32::MAX),
                        column: u32::try_from(mark.col() + 1).unwrap_or(u32::MAX),
                        message: format!("nested deeper than {MAX_DEPTH} levels"),
                    });
                }
                let name = match stack.last_mut() {
                    Some(top) if top.map => top.pending.take().unwrap_or_default(),
                    _ => String::new(),
                };
                stack.push(Open {
                    map: matches!(event, Event::MappingStart(..)),
                    name,
                    pending: None,
                    name_field: None,
                    value_field: None,
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                if let Some(open) = stack.pop()
                    && let (Some(name), Some((value, start, end))) =
                        (open.name_field, open.value_field)
                {
                    // Kubernetes `env: [{ name: DB_PASSWORD, value: "..." }]`.
                    let path = path_of(&stack, &name);
                    out.push(Entry {
                        path,
                        name,
                        value,
                        start,
                        end,
                    });
                }
            }
            Event::Alias(_) => {
                // A value we do not expand; it still completes its key.
                if let Some(top) = stack.last_mut()
                    && top.map
                    && top.pending.take().is_none()
                {
                    top.pending = Some(String::new());
                }
            }
            Event::Nothing | Event::StreamStart | Event::DocumentStart | Event::DocumentEnd => {}
        }
    }
    Ok(out)
}

/// Where a scalar that starts at `start` ends: its text for plain scalars, the closing quote for
/// quoted ones, else the end of the line.
fn scalar_end(text: &str, start: usize, value: &str, style: TScalarStyle) -> usize {
    let rest = text.get(start..).unwrap_or("");
    let line_end = start + rest.find('\n').unwrap_or(rest.len());
    match style {
        TScalarStyle::Plain if rest.starts_with(value) => start + value.len(),
        TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => {
            let q = if matches!(style, TScalarStyle::SingleQuoted) {
                '\''
            } else {
                '"'
            };
            rest.get(1..)
                .and_then(|r| r.find(q))
                .map_or(line_end, |i| start + i + 2)
                .min(text.len())
        }
        _ => line_end,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(format: SettingsFormat, text: &str) -> Vec<(String, String, String)> {
        entries(format, text)
            .expect("parses")
            .into_iter()
            .map(|e| {
                (
                    e.path,
                    e.value,
                    text[e.start as usize..e.end as usize].to_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn yaml_maps_lists_and_kubernetes_env() {
        let text = "spring:\n  datasource:\n    password: 's3cr3t!'\nservices:\n  db:\n    environment:\n      - MYSQL_ROOT_PASSWORD=1234\n      - \"REDIS_PASSWORD=abc\"\n---\nenv:\n  - name: DB_PASSWORD\n    value: hunter22\n";
        let got = pairs(SettingsFormat::Yaml, text);
        assert!(got.contains(&(
            "spring.datasource.password".into(),
            "s3cr3t!".into(),
            "'s3cr3t!'".into()
        )));
        assert!(got.contains(&(
            "services.db.environment.MYSQL_ROOT_PASSWORD".into(),
            "1234".into(),
            "1234".into()
        )));
        assert!(got.contains(&(
            "services.db.environment.REDIS_PASSWORD".into(),
            "abc".into(),
            "abc".into()
        )));
        assert!(got.contains(&(
            "env.DB_PASSWORD".into(),
            "hunter22".into(),
            "hunter22".into()
        )));
    }

    #[test]
    fn yaml_errors_and_depth_are_reported() {
        assert!(entries(SettingsFormat::Yaml, "a: [1, 2\nb: }").is_err());
        let deep = "[".repeat(MAX_DEPTH + 5);
        assert!(entries(SettingsFormat::Yaml, &deep).is_err());
        // Far deeper nesting stops at the limit too, without exhausting the stack.
        let deeper = "a:\n".to_owned() + &"- ".repeat(200_000) + "x\n";
        assert!(entries(SettingsFormat::Yaml, &deeper).is_err());
        assert!(entries(SettingsFormat::Yaml, &"{a: ".repeat(200_000)).is_err());
        // Aliases are not expanded: a "billion laughs" stays small.
        let laughs = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b]\n";
        assert!(entries(SettingsFormat::Yaml, laughs).expect("parses").len() < 10);
        let unicode = "名字: 值\npassword: \"密码abc\"\n";
        let got = pairs(SettingsFormat::Yaml, unicode);
        assert_eq!(got[1].2, "\"密码abc\"");
    }

    #[test]
    fn dotenv_properties_and_ini_lines() {
        let env = "# comment\nexport DB_PASSWORD=\"p@ss word\" # note\nJWT_SECRET=abc123 # tail\nEMPTY=\n";
        let got = pairs(SettingsFormat::Env, env);
        assert_eq!(
            got,
            vec![
                (
                    "DB_PASSWORD".into(),
                    "p@ss word".into(),
                    "\"p@ss word\"".into()
                ),
                ("JWT_SECRET".into(), "abc123".into(), "abc123".into()),
                ("EMPTY".into(), String::new(), String::new()),
            ]
        );
        let props = "! c\nspring.datasource.password=1234\nkey: value\nlong=a\\\n  continued=x\n";
        let got = pairs(SettingsFormat::Properties, props);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, "spring.datasource.password");
        let ini = "[mysql]\npassword = root123 ; inline\n; c\nlisten 80;\n";
        let got = pairs(SettingsFormat::Ini, ini);
        assert_eq!(
            got,
            vec![("mysql.password".into(), "root123".into(), "root123".into())]
        );
    }
}
