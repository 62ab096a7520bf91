//! JSON configuration files as the config rules see them, and project-wide facts.

use std::borrow::Cow;
use std::rc::Rc;

use miniguard_project::JsonKind;
use miniguard_project::json::{JsonNode, JsonValue};
use miniguard_project::settings::{Entry, MAX_ENTRIES};

use crate::events::{MAX_SIBLINGS, Span};

/// A parsed JSON configuration file.
#[derive(Debug)]
pub struct JsonFile<'s> {
    pub rel: &'s str,
    pub kind: JsonKind,
    pub root: &'s JsonNode,
    pub source: &'s str,
}

impl JsonFile<'_> {
    /// The file name (`app.json`, `project.config.json`).
    pub fn name(&self) -> &str {
        self.rel.rsplit('/').next().unwrap_or(self.rel)
    }
}

/// The span of a JSON node, for reports.
pub fn node_span(n: &JsonNode) -> Span {
    Span {
        start: u32::try_from(n.span.start).unwrap_or(u32::MAX),
        end: u32::try_from(n.span.end).unwrap_or(u32::MAX),
    }
}

/// The span of a JSON key, for reports.
pub fn key_span(s: miniguard_project::json::Span) -> Span {
    Span {
        start: u32::try_from(s.start).unwrap_or(u32::MAX),
        end: u32::try_from(s.end).unwrap_or(u32::MAX),
    }
}

/// One mini-program's `app.json`, as far as project rules need it.
#[derive(Debug, Clone)]
pub struct AppFacts {
    /// `app.json` path relative to the scan root.
    pub config_rel: String,
    /// The mini-program root, relative to the scan root ("" for the root).
    pub root_rel: String,
    /// Entries of `requiredPrivateInfos`.
    pub required_private_infos: Vec<String>,
    /// Where to point when something is missing: the `requiredPrivateInfos` key, or the start
    /// of the file.
    pub anchor: Span,
}

/// A JSON Web Token signed or verified in server code with a key the code names.
#[derive(Debug, Clone)]
pub struct TokenKey {
    /// `verify` (else `sign`).
    pub verify: bool,
    /// The key: its text when the code gives it (`'s3cret'`, a constant), else `code:` and
    /// the expression (`code:app.config.jwt.secret`).
    pub key: String,
    pub file: String,
    pub span: crate::events::Span,
    /// The file lies in a back-office folder (`admin/`, `manage/`).
    pub admin: bool,
    /// The file reads a role-like claim (`.role`, `.isAdmin`, `.permissions`).
    pub role_claim: bool,
}

/// Facts gathered over the whole project.
#[derive(Debug, Clone, Default)]
pub struct ProjectFacts {
    pub apps: Vec<AppFacts>,
    /// Token signatures and verifications with their keys.
    pub token_keys: Vec<TokenKey>,
    /// Mini-program APIs called from client code: (api name, file, span).
    pub mp_calls: Vec<(String, Rc<str>, Span)>,
}

/// Whether a JSON file's values are settings the secrets rules read: settings files of
/// backends and cloud functions, a cloud function's `config.json`, and uni-app's
/// `manifest.json` (the App modules' keys). Not the developer tools' project files, `app.json`,
/// page files, `package.json`, `pages.json`, nor data and translations.
pub fn holds_settings(kind: JsonKind) -> bool {
    matches!(
        kind,
        JsonKind::Config | JsonKind::CloudFunctionConfig | JsonKind::UniManifest
    )
}

/// A value of a settings file, bound to its key.
#[derive(Debug)]
pub struct SettingValue<'t> {
    /// The key the value is bound to (`password`, `MYSQL_ROOT_PASSWORD`).
    pub name: &'t str,
    pub value: Cow<'t, str>,
    /// The value in the file (quotes included when it is quoted).
    pub span: Span,
    /// The section it belongs to: an index into the sibling lists that come with it.
    pub section: usize,
}

/// The string and number values of a settings JSON file, each bound to its key (an array's
/// items to the array's key), and for each object the keys it has (see
/// [`crate::events::PropertyEvent::siblings`]). At most [`MAX_ENTRIES`] values.
pub fn json_settings(root: &JsonNode) -> (Vec<SettingValue<'_>>, Vec<Vec<Rc<str>>>) {
    let mut values = Vec::new();
    let mut sections = Vec::new();
    json_object(root, &mut values, &mut sections);
    (values, sections)
}

fn json_object<'n>(
    node: &'n JsonNode,
    values: &mut Vec<SettingValue<'n>>,
    sections: &mut Vec<Vec<Rc<str>>>,
) {
    match &node.value {
        JsonValue::Object(members) => {
            let section = sections.len();
            sections.push(if members.len() <= MAX_SIBLINGS {
                members
                    .iter()
                    .map(|m| Rc::from(m.key.name.as_str()))
                    .collect()
            } else {
                Vec::new()
            });
            for m in members {
                json_member(&m.key.name, &m.value, section, values, sections);
            }
        }
        JsonValue::Array(items) => {
            for item in items {
                json_object(item, values, sections);
            }
        }
        _ => {}
    }
}

fn json_member<'n>(
    name: &'n str,
    node: &'n JsonNode,
    section: usize,
    values: &mut Vec<SettingValue<'n>>,
    sections: &mut Vec<Vec<Rc<str>>>,
) {
    if values.len() >= MAX_ENTRIES {
        return;
    }
    let value = match &node.value {
        JsonValue::String(s) => Cow::Borrowed(s.as_str()),
        JsonValue::Number(n) => Cow::Borrowed(n.as_str()),
        JsonValue::Object(_) => return json_object(node, values, sections),
        JsonValue::Array(items) => {
            for item in items {
                json_member(name, item, section, values, sections);
            }
            return;
        }
        JsonValue::Null | JsonValue::Bool(_) => return,
    };
    values.push(SettingValue {
        name,
        value,
        span: node_span(node),
        section,
    });
}

/// The entries of a YAML, `.env`, properties or INI file as settings values, sections being
/// the entries that share the path up to their key (`spring.datasource`, an INI `[section]`).
pub fn entry_settings(entries: &[Entry]) -> (Vec<SettingValue<'_>>, Vec<Vec<Rc<str>>>) {
    let mut by_parent: rustc_hash::FxHashMap<&str, usize> = rustc_hash::FxHashMap::default();
    let mut sections: Vec<Vec<Rc<str>>> = Vec::new();
    let mut values = Vec::with_capacity(entries.len());
    for e in entries {
        let parent = e
            .path
            .strip_suffix(e.name.as_str())
            .unwrap_or("")
            .trim_end_matches('.');
        let section = *by_parent.entry(parent).or_insert_with(|| {
            sections.push(Vec::new());
            sections.len() - 1
        });
        if let Some(keys) = sections.get_mut(section)
            && keys.len() <= MAX_SIBLINGS
        {
            keys.push(Rc::from(e.name.as_str()));
        }
        values.push(SettingValue {
            name: &e.name,
            value: Cow::Borrowed(&e.value),
            span: Span {
                start: e.start,
                end: e.end,
            },
            section,
        });
    }
    // A section too large to be one service's settings has no siblings.
    for keys in &mut sections {
        if keys.len() > MAX_SIBLINGS {
            keys.clear();
        }
    }
    (values, sections)
}

#[cfg(test)]
mod tests {
    use super::{entry_settings, json_settings};
    use miniguard_project::SettingsFormat;
    use miniguard_project::json::parse;
    use miniguard_project::settings::entries;

    #[test]
    fn json_values_are_bound_to_their_keys_and_sections() {
        let src = r#"{ "port": 3000, "wxpay": { "mch_id": "150", "key": "k" },
            "hosts": ["a", "b"], "users": [{ "password": "p" }], "debug": true, "x": null }"#;
        let root = parse(src).expect("valid JSON");
        let (values, sections) = json_settings(&root);
        let seen: Vec<(&str, &str)> = values.iter().map(|v| (v.name, &*v.value)).collect();
        assert_eq!(
            seen,
            [
                ("port", "3000"),
                ("mch_id", "150"),
                ("key", "k"),
                ("hosts", "a"),
                ("hosts", "b"),
                ("password", "p"),
            ]
        );
        let key = &values[2];
        assert_eq!(
            &src[key.span.start as usize..key.span.end as usize],
            r#""k""#
        );
        let siblings: Vec<&str> = sections[key.section].iter().map(|k| &**k).collect();
        assert_eq!(siblings, ["mch_id", "key"]);
        // An array's items belong to the object that holds the array.
        assert_eq!(values[3].section, values[0].section);
        assert_ne!(values[5].section, values[0].section);
    }

    #[test]
    fn settings_entries_share_sections_by_path() {
        let text = "wxpay:\n  mchid: '1'\n  key: k\nredis:\n  password: p\n";
        let list = entries(SettingsFormat::Yaml, text).expect("valid YAML");
        let (values, sections) = entry_settings(&list);
        let key = values.iter().find(|v| v.name == "key").expect("key");
        let siblings: Vec<&str> = sections[key.section].iter().map(|k| &**k).collect();
        assert_eq!(siblings, ["mchid", "key"]);
        let pass = values
            .iter()
            .find(|v| v.name == "password")
            .expect("password");
        assert_ne!(pass.section, key.section);
    }
}
