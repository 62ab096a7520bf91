//! Collection schemas from `[collections.NAME]` in `miniguard.toml`, parsed into typed values.
//!
//! ```toml
//! [collections.orders]
//! fields = { item = "string(1..100) required", qty = "int(1..99)", owner = "owner" }
//! read = "owner or role:staff"
//! write = "owner"            # create and update; `create = ...` overrides it for creates
//! delete = "role:admin and mfa"
//! mfa_window = "5m"          # how recent a step-up `mfa` asks for (default 5 minutes)
//! allow_changes = false      # true lets startup drop removed fields and retype changed ones
//!
//! # or, with many fields, a sub-table (TOML inline tables stay on one line):
//! [collections.posts.fields]
//! body = "richtext"
//! meta = { type = "json", schema = '{"type":"object"}' }
//! status = { type = "enum(draft|published)", write = "role:staff" }
//! ```
//!
//! A field is a string `TYPE [FLAG...]` or a table `{ type = "TYPE", FLAG = true, ... }`. Types:
//! `string`, `string(MIN..MAX)` (characters), `int(MIN..MAX)`, `float(MIN..MAX)`, `bool`,
//! `enum(a|b|c)`, `datetime` (RFC 3339, stored as milliseconds), `json` (optionally with a JSON
//! Schema, see [`JsonSchema`]), `richtext` (sanitized on write), `owner` (the creating user,
//! set by the server), `relation(other)` (the id of a record of `other`). Flags: `required`,
//! `encrypted` (AES-256-GCM at rest; neither filterable nor sortable), `unique`, `private`
//! (never returned), `readonly` (set at creation only); in the table form also `read = RULE`
//! and `write = RULE` for field-level restrictions.
//!
//! Names are `[a-z][a-z0-9_]*`, at most 48 characters, so table and column identifiers derived
//! from them are safe by construction (and quoted anyway).

use std::collections::BTreeMap;
use std::time::Duration;

use super::rules::Rule;

/// A schema problem; always names the collection and, where it applies, the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("collections.{collection}{}: {message}", field.as_ref().map(|f| format!(".fields.{f}")).unwrap_or_default())]
pub struct SchemaError {
    pub collection: String,
    pub field: Option<String>,
    pub message: String,
}

/// The type of a field.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldType {
    /// Length bounds in characters (inclusive).
    String {
        min: usize,
        max: usize,
    },
    Int {
        min: i64,
        max: i64,
    },
    Float {
        min: f64,
        max: f64,
    },
    Bool,
    Enum(Vec<String>),
    /// Milliseconds since the Unix epoch; RFC 3339 on the wire.
    Datetime,
    Json(Option<JsonSchema>),
    RichText,
    Owner,
    Relation(String),
    /// An uploaded file (`file(max=2MB, types=image/png|application/pdf)`, see `super::files`):
    /// the column holds its metadata as JSON, the bytes live under `<data dir>/uploads/`.
    File {
        /// The largest accepted size in bytes.
        max: u64,
        /// Allowed media types, each one `super::files::FileKind` can recognise.
        types: Vec<String>,
    },
}

/// The longest string a `string` field without bounds accepts, and the cap of rich text.
pub const DEFAULT_MAX_STRING: usize = 10_000;

impl FieldType {
    /// The spelling stored in `collection_fields`, to detect a changed type at startup.
    pub fn spec(&self) -> String {
        match self {
            Self::String { min, max } => format!("string({min}..{max})"),
            Self::Int { min, max } => format!("int({min}..{max})"),
            Self::Float { min, max } => format!("float({min}..{max})"),
            Self::Bool => "bool".into(),
            Self::Enum(v) => format!("enum({})", v.join("|")),
            Self::Datetime => "datetime".into(),
            Self::Json(_) => "json".into(),
            Self::RichText => "richtext".into(),
            Self::Owner => "owner".into(),
            Self::Relation(c) => format!("relation({c})"),
            Self::File { max, types } => format!("file(max={max},types={})", types.join("|")),
        }
    }

    /// The SQLite storage class of the column (before encryption).
    pub fn sql_type(&self) -> &'static str {
        match self {
            Self::Int { .. } | Self::Bool | Self::Datetime | Self::Owner => "INTEGER",
            Self::Float { .. } => "REAL",
            _ => "TEXT",
        }
    }

    /// Whether values order meaningfully (sort, `<`, `>`).
    pub fn orderable(&self) -> bool {
        !matches!(self, Self::Json(_) | Self::Bool | Self::File { .. })
    }

    /// Whether `~` (contains) applies.
    pub fn textual(&self) -> bool {
        matches!(
            self,
            Self::String { .. } | Self::RichText | Self::Enum(_) | Self::Relation(_)
        )
    }
}

/// One field.
// Reason: the flags are independent switches of the configuration, one bool each.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub ty: FieldType,
    pub required: bool,
    pub encrypted: bool,
    pub unique: bool,
    /// Never returned to anyone (e.g. a value only rules look at).
    pub private: bool,
    /// Set at creation only.
    pub readonly: bool,
    /// Who may see the field (besides the record's read rule).
    pub read: Option<Rule>,
    /// Who may set the field (besides the record's write rule).
    pub write: Option<Rule>,
}

impl Field {
    /// The column holding the field: `f_<name>`, or `owner_id` for the owner field.
    pub fn column(&self) -> String {
        if self.ty == FieldType::Owner {
            "owner_id".into()
        } else {
            format!("f_{}", self.name)
        }
    }
}

/// One collection.
#[derive(Debug, Clone)]
pub struct Collection {
    pub name: String,
    /// In name order.
    pub fields: Vec<Field>,
    pub read: Rule,
    pub create: Rule,
    pub write: Rule,
    pub delete: Rule,
    pub mfa_window: Duration,
    pub allow_changes: bool,
}

impl Collection {
    /// The table: `c_<name>`.
    pub fn table(&self) -> String {
        format!("c_{}", self.name)
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The field of type `owner`, if declared.
    pub fn owner_field(&self) -> Option<&Field> {
        self.fields.iter().find(|f| f.ty == FieldType::Owner)
    }

    /// Columns stored for fields (the owner field lives in `owner_id`, always present).
    pub fn stored_fields(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter().filter(|f| f.ty != FieldType::Owner)
    }
}

/// Every declared collection, by name.
#[derive(Debug, Clone, Default)]
pub struct Collections {
    pub by_name: BTreeMap<String, Collection>,
}

impl Collections {
    pub fn get(&self, name: &str) -> Option<&Collection> {
        self.by_name.get(name)
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Whether any rule of any collection (record or field rule) names a role. When none does,
    /// a caller's roles are never consulted and a request need not read them.
    pub fn mention_roles(&self) -> bool {
        self.by_name.values().any(|c| {
            [&c.read, &c.create, &c.write, &c.delete]
                .into_iter()
                .any(super::rules::Rule::mentions_role)
                || c.fields.iter().any(|f| {
                    f.read
                        .iter()
                        .chain(&f.write)
                        .any(super::rules::Rule::mentions_role)
                })
        })
    }

    /// Parses the `[collections]` table of a `miniguard.toml` (the value under `collections`).
    pub fn from_toml(value: Option<&toml::Value>) -> Result<Self, SchemaError> {
        let mut out = Self::default();
        let Some(value) = value else { return Ok(out) };
        let top = |m: &str| SchemaError {
            collection: String::new(),
            field: None,
            message: m.into(),
        };
        let table = value
            .as_table()
            .ok_or_else(|| top("[collections] must be a table"))?;
        for (name, def) in table {
            let c = parse_collection(name, def)?;
            out.by_name.insert(name.clone(), c);
        }
        // Relations must name declared collections.
        for c in out.by_name.values() {
            for f in &c.fields {
                if let FieldType::Relation(other) = &f.ty
                    && !out.by_name.contains_key(other)
                {
                    return Err(SchemaError {
                        collection: c.name.clone(),
                        field: Some(f.name.clone()),
                        message: format!("relation to undeclared collection {other:?}"),
                    });
                }
            }
        }
        Ok(out)
    }

    /// Parses a whole `miniguard.toml` text and returns its collections.
    pub fn from_config_text(text: &str) -> Result<Self, SchemaError> {
        let v: toml::Value = toml::from_str(text).map_err(|e| SchemaError {
            collection: String::new(),
            field: None,
            message: format!("not TOML: {e}"),
        })?;
        Self::from_toml(v.get("collections"))
    }
}

/// `[a-z][a-z0-9_]{0,47}`.
pub fn valid_name(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(b'a'..=b'z'))
        && s.len() <= 48
        && b.all(|c| matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'_'))
}

/// Names a record already has.
const RESERVED: [&str; 5] = ["id", "created", "updated", "owner_id", "page"];

fn parse_collection(name: &str, def: &toml::Value) -> Result<Collection, SchemaError> {
    let err = |field: Option<&str>, m: String| SchemaError {
        collection: name.to_owned(),
        field: field.map(str::to_owned),
        message: m,
    };
    if !valid_name(name) {
        return Err(err(
            None,
            "collection names are [a-z][a-z0-9_]*, at most 48 characters".into(),
        ));
    }
    let t = def
        .as_table()
        .ok_or_else(|| err(None, "must be a table".into()))?;
    for k in t.keys() {
        if !matches!(
            k.as_str(),
            "fields" | "read" | "create" | "write" | "delete" | "mfa_window" | "allow_changes"
        ) {
            return Err(err(None, format!("unknown key {k:?}")));
        }
    }
    let fields_t = t
        .get("fields")
        .and_then(toml::Value::as_table)
        .ok_or_else(|| err(None, "needs fields = { name = \"type\", ... }".into()))?;
    let mut fields = Vec::new();
    for (fname, spec) in fields_t {
        if !valid_name(fname) || RESERVED.contains(&fname.as_str()) {
            return Err(err(
                Some(fname),
                "field names are [a-z][a-z0-9_]*, at most 48 characters, not id/created/updated/owner_id/page".into(),
            ));
        }
        fields.push(parse_field(fname, spec).map_err(|m| err(Some(fname), m))?);
    }
    if fields.iter().filter(|f| f.ty == FieldType::Owner).count() > 1 {
        return Err(err(None, "at most one field of type owner".into()));
    }
    let rule = |key: &str| -> Result<Option<Rule>, SchemaError> {
        match t.get(key) {
            None => Ok(None),
            Some(v) => {
                let text = v
                    .as_str()
                    .ok_or_else(|| err(None, format!("{key} must be a rule string")))?;
                Rule::parse(text)
                    .map(Some)
                    .map_err(|e| err(None, format!("{key}: {e}")))
            }
        }
    };
    // Secure defaults: nobody unless a rule says so.
    let read = rule("read")?.unwrap_or(Rule::False);
    let write = rule("write")?.unwrap_or(Rule::False);
    let create = rule("create")?.unwrap_or_else(|| write.clone());
    let delete = rule("delete")?.unwrap_or(Rule::False);
    let mfa_window = match t.get("mfa_window") {
        None => Duration::from_mins(5),
        Some(v) => v
            .as_str()
            .and_then(parse_duration)
            .ok_or_else(|| err(None, "mfa_window is like \"90s\", \"5m\" or \"1h\"".into()))?,
    };
    let allow_changes = match t.get("allow_changes") {
        None => false,
        Some(v) => v
            .as_bool()
            .ok_or_else(|| err(None, "allow_changes is true or false".into()))?,
    };
    let c = Collection {
        name: name.to_owned(),
        fields,
        read,
        create,
        write,
        delete,
        mfa_window,
        allow_changes,
    };
    // Every rule, record-level or field-level, may compare only fields it can see.
    for (what, r) in [
        ("read", &c.read),
        ("create", &c.create),
        ("write", &c.write),
        ("delete", &c.delete),
    ] {
        r.check(&c).map_err(|m| err(None, format!("{what}: {m}")))?;
    }
    for f in &c.fields {
        for r in [&f.read, &f.write].into_iter().flatten() {
            r.check(&c).map_err(|m| err(Some(&f.name), m))?;
        }
    }
    Ok(c)
}

/// `90s`, `5m`, `1h`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.len().checked_sub(1)?);
    let n: u64 = num.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        _ => return None,
    };
    (secs > 0 && secs <= 24 * 3600).then(|| Duration::from_secs(secs))
}

fn parse_field(name: &str, spec: &toml::Value) -> Result<Field, String> {
    let mut f = Field {
        name: name.to_owned(),
        ty: FieldType::Bool,
        required: false,
        encrypted: false,
        unique: false,
        private: false,
        readonly: false,
        read: None,
        write: None,
    };
    let mut json_schema = None;
    match spec {
        toml::Value::String(s) => {
            // The type runs to its closing parenthesis (`file(max=2MB, types=...)` has spaces).
            let s = s.trim();
            let (ty, rest) = match (s.find('('), s.find(char::is_whitespace)) {
                (Some(open), Some(ws)) if open < ws => {
                    let close = s[open..]
                        .find(')')
                        .map(|i| open + i + 1)
                        .ok_or("missing )")?;
                    s.split_at(close)
                }
                _ => s.split_once(char::is_whitespace).unwrap_or((s, "")),
            };
            if ty.is_empty() {
                return Err("empty field type".into());
            }
            f.ty = parse_type(ty)?;
            for w in rest.split_whitespace() {
                set_flag(&mut f, w, true)?;
            }
        }
        toml::Value::Table(t) => {
            let ty = t
                .get("type")
                .and_then(toml::Value::as_str)
                .ok_or("needs type = \"...\"")?;
            f.ty = parse_type(ty)?;
            for (k, v) in t {
                match k.as_str() {
                    "type" => {}
                    "schema" => {
                        let text = v.as_str().ok_or("schema is a JSON text")?;
                        json_schema = Some(JsonSchema::parse(text)?);
                    }
                    "read" | "write" => {
                        let text = v.as_str().ok_or("read/write are rule strings")?;
                        let r = Rule::parse(text).map_err(|e| format!("{k}: {e}"))?;
                        if k == "read" {
                            f.read = Some(r);
                        } else {
                            f.write = Some(r);
                        }
                    }
                    flag => set_flag(&mut f, flag, v.as_bool().ok_or("flags are true or false")?)?,
                }
            }
        }
        _ => return Err("a field is a type string or a table".into()),
    }
    if let Some(s) = json_schema {
        match &mut f.ty {
            FieldType::Json(slot) => *slot = Some(s),
            _ => return Err("schema applies to json fields only".into()),
        }
    }
    if f.encrypted && f.unique {
        return Err("encrypted values use random nonces, so they cannot be unique".into());
    }
    if matches!(f.ty, FieldType::File { .. }) && (f.encrypted || f.unique || f.required) {
        return Err(
            "file fields are set by uploading and take no encrypted/unique/required flag".into(),
        );
    }
    if f.ty == FieldType::Owner && (f.encrypted || f.unique || f.required) {
        return Err("the owner field is set by the server and takes no flags".into());
    }
    Ok(f)
}

fn set_flag(f: &mut Field, flag: &str, on: bool) -> Result<(), String> {
    let slot = match flag {
        "required" => &mut f.required,
        "encrypted" => &mut f.encrypted,
        "unique" => &mut f.unique,
        "private" => &mut f.private,
        "readonly" => &mut f.readonly,
        _ => return Err(format!("unknown flag {flag:?}")),
    };
    *slot = on;
    Ok(())
}

fn bounds(args: Option<&str>) -> Result<Option<(&str, &str)>, String> {
    match args {
        None => Ok(None),
        Some(a) => a
            .split_once("..")
            .map(|(l, h)| Some((l.trim(), h.trim())))
            .ok_or_else(|| "bounds are written MIN..MAX".into()),
    }
}

/// Parses a type like `string(1..100)`, `enum(a|b)`, `relation(users)`.
pub fn parse_type(text: &str) -> Result<FieldType, String> {
    let (head, args) = match text.split_once('(') {
        Some((h, rest)) => (
            h,
            Some(
                rest.strip_suffix(')')
                    .ok_or_else(|| format!("{text:?}: missing )"))?,
            ),
        ),
        None => (text, None),
    };
    let ty = match head {
        "string" => {
            let (min, max) = match bounds(args)? {
                None => (0, DEFAULT_MAX_STRING),
                Some((l, h)) => (
                    l.parse().map_err(|_| "string bounds are whole numbers")?,
                    h.parse().map_err(|_| "string bounds are whole numbers")?,
                ),
            };
            if min > max || max > 1_000_000 {
                return Err("string bounds: MIN <= MAX <= 1000000".into());
            }
            FieldType::String { min, max }
        }
        "int" => {
            let (min, max) = match bounds(args)? {
                None => (i64::MIN, i64::MAX),
                Some((l, h)) => (
                    l.parse().map_err(|_| "int bounds are integers")?,
                    h.parse().map_err(|_| "int bounds are integers")?,
                ),
            };
            if min > max {
                return Err("int bounds: MIN <= MAX".into());
            }
            FieldType::Int { min, max }
        }
        "float" => {
            let (min, max) = match bounds(args)? {
                None => (f64::MIN, f64::MAX),
                Some((l, h)) => (
                    l.parse().map_err(|_| "float bounds are numbers")?,
                    h.parse().map_err(|_| "float bounds are numbers")?,
                ),
            };
            if !min.is_finite() || !max.is_finite() || min > max {
                return Err("float bounds: finite MIN <= MAX".into());
            }
            FieldType::Float { min, max }
        }
        "enum" => {
            let values: Vec<String> = args
                .ok_or("enum needs values: enum(a|b)")?
                .split('|')
                .map(|v| v.trim().to_owned())
                .collect();
            if values.iter().any(String::is_empty) {
                return Err("enum values are not empty".into());
            }
            FieldType::Enum(values)
        }
        "relation" => {
            let other = args.ok_or("relation needs a collection: relation(name)")?;
            if !valid_name(other) {
                return Err("relation names a collection".into());
            }
            FieldType::Relation(other.to_owned())
        }
        "file" => parse_file_type(args.unwrap_or(""))?,
        "bool" | "datetime" | "json" | "richtext" | "owner" if args.is_some() => {
            return Err(format!("{head} takes no arguments"));
        }
        "bool" => FieldType::Bool,
        "datetime" => FieldType::Datetime,
        "json" => FieldType::Json(None),
        "richtext" => FieldType::RichText,
        "owner" => FieldType::Owner,
        _ => return Err(format!("unknown type {head:?}")),
    };
    Ok(ty)
}

/// The largest `max` a file field may declare (the server's `body_limit_bytes` bounds it too).
pub const MAX_FILE_SIZE: u64 = 100 * 1024 * 1024;
/// A file field's `max` when it names none.
pub const DEFAULT_FILE_SIZE: u64 = 5 * 1024 * 1024;

/// `max=2MB, types=image/png|image/jpeg` (both optional; sizes in B, KB, MB, powers of 1024).
fn parse_file_type(args: &str) -> Result<FieldType, String> {
    let mut max = DEFAULT_FILE_SIZE;
    let mut types: Vec<String> = super::files::FileKind::ALL
        .iter()
        .map(|k| k.mime().to_owned())
        .collect();
    for part in args.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or("file takes max=SIZE and types=a/b|c/d")?;
        match k.trim() {
            "max" => max = parse_size(v.trim()).ok_or("file max is like 512KB, 2MB or 1048576")?,
            "types" => {
                types = v.split('|').map(|t| t.trim().to_owned()).collect();
                for t in &types {
                    if super::files::FileKind::from_mime(t).is_none() {
                        return Err(format!(
                            "file type {t:?} is not one the server recognises by content \
                             (image/png, image/jpeg, image/gif, image/webp, application/pdf)"
                        ));
                    }
                }
            }
            other => return Err(format!("file takes max and types, not {other:?}")),
        }
    }
    if max == 0 || max > MAX_FILE_SIZE {
        return Err("file max is between 1 byte and 100MB".into());
    }
    Ok(FieldType::File { max, types })
}

/// `100`, `100B`, `512KB`, `2MB` (powers of 1024).
fn parse_size(s: &str) -> Option<u64> {
    let upper = s.to_ascii_uppercase();
    let (num, mult) = if let Some(n) = upper.strip_suffix("MB") {
        (n, 1024 * 1024)
    } else if let Some(n) = upper.strip_suffix("KB") {
        (n, 1024)
    } else if let Some(n) = upper.strip_suffix('B') {
        (n, 1)
    } else {
        (upper.as_str(), 1)
    };
    num.trim().parse::<u64>().ok()?.checked_mul(mult)
}

/// A small, well-defined subset of JSON Schema (draft 2020-12 keywords): `type` (a name or a
/// list), `enum`, `properties`, `required`, `additionalProperties` (a boolean), `items`,
/// `minItems`, `maxItems`, `minLength`, `maxLength`, `minimum`, `maximum`. Any other keyword is
/// refused at startup, so a schema never silently promises a check that does not happen.
/// (The full-featured validator crates pull in a regex engine, URL and date libraries and
/// remote reference resolution; a field schema needs none of that.)
#[derive(Debug, Clone, PartialEq)]
pub struct JsonSchema(serde_json::Value);

const SCHEMA_KEYWORDS: [&str; 14] = [
    "type",
    "enum",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "$schema",
    "description",
];

impl JsonSchema {
    pub fn parse(text: &str) -> Result<Self, String> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("schema is not JSON: {e}"))?;
        check_schema(&v, 0)?;
        Ok(Self(v))
    }

    /// Checks a value; the error is a fixed-form message with a JSON pointer.
    pub fn validate(&self, v: &serde_json::Value) -> Result<(), String> {
        validate(&self.0, v, "")
    }
}

fn check_schema(s: &serde_json::Value, depth: usize) -> Result<(), String> {
    if depth > 32 {
        return Err("schema nests too deeply".into());
    }
    let obj = s.as_object().ok_or("a schema is an object")?;
    for (k, v) in obj {
        if !SCHEMA_KEYWORDS.contains(&k.as_str()) {
            return Err(format!("unsupported JSON Schema keyword {k:?}"));
        }
        match k.as_str() {
            "properties" => {
                for sub in v.as_object().ok_or("properties is an object")?.values() {
                    check_schema(sub, depth + 1)?;
                }
            }
            "items" => check_schema(v, depth + 1)?,
            "additionalProperties" if !v.is_boolean() => {
                return Err("additionalProperties must be true or false".into());
            }
            _ => {}
        }
    }
    Ok(())
}

fn type_name(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

fn validate(s: &serde_json::Value, v: &serde_json::Value, at: &str) -> Result<(), String> {
    use serde_json::Value as J;
    let here = if at.is_empty() { "/" } else { at };
    if let Some(t) = s.get("type") {
        let actual = type_name(v);
        let ok = |name: &str| name == actual || (name == "number" && actual == "integer");
        let fits = match t {
            J::String(name) => ok(name),
            J::Array(names) => names.iter().filter_map(J::as_str).any(ok),
            _ => false,
        };
        if !fits {
            return Err(format!("{here}: wrong type"));
        }
    }
    if let Some(J::Array(allowed)) = s.get("enum")
        && !allowed.contains(v)
    {
        return Err(format!("{here}: not one of the allowed values"));
    }
    let num = |k: &str| s.get(k).and_then(J::as_f64);
    let count = |k: &str| s.get(k).and_then(J::as_u64);
    match v {
        J::String(text) => {
            let n = text.chars().count() as u64;
            if count("minLength").is_some_and(|m| n < m)
                || count("maxLength").is_some_and(|m| n > m)
            {
                return Err(format!("{here}: length out of range"));
            }
        }
        J::Number(n) => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            // JSON numbers are finite, so plain comparisons are total here.
            if num("minimum").is_some_and(|m| x < m) || num("maximum").is_some_and(|m| x > m) {
                return Err(format!("{here}: out of range"));
            }
        }
        J::Array(items) => {
            let n = items.len() as u64;
            if count("minItems").is_some_and(|m| n < m) || count("maxItems").is_some_and(|m| n > m)
            {
                return Err(format!("{here}: wrong number of items"));
            }
            if let Some(item_schema) = s.get("items") {
                for (i, item) in items.iter().enumerate() {
                    validate(item_schema, item, &format!("{at}/{i}"))?;
                }
            }
        }
        J::Object(map) => {
            let props = s.get("properties").and_then(J::as_object);
            if let Some(J::Array(req)) = s.get("required") {
                for r in req.iter().filter_map(J::as_str) {
                    if !map.contains_key(r) {
                        return Err(format!("{here}: a required property is missing"));
                    }
                }
            }
            for (k, item) in map {
                match props.and_then(|p| p.get(k)) {
                    Some(sub) => validate(sub, item, &format!("{at}/{}", pointer_escape(k)))?,
                    None if s.get("additionalProperties") == Some(&J::Bool(false)) => {
                        return Err(format!("{here}: additional properties are not allowed"));
                    }
                    None => {}
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn pointer_escape(k: &str) -> String {
    // Keys come from the client; keep error pointers short and printable.
    let k: String = k.chars().take(32).filter(|c| !c.is_control()).collect();
    k.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUE: &str = r#"
[collections.orders]
fields = { item = "string(1..100)", qty = "int(1..99)", note = "richtext", phone = "string encrypted", owner = "owner" }
read = "owner or role:staff"
write = "owner"
delete = "role:admin and mfa"
"#;

    #[test]
    fn the_issue_example_parses() {
        let c = Collections::from_config_text(ISSUE).unwrap();
        let o = c.get("orders").unwrap();
        assert_eq!(o.table(), "c_orders");
        assert_eq!(
            o.field("item").unwrap().ty,
            FieldType::String { min: 1, max: 100 }
        );
        assert_eq!(
            o.field("qty").unwrap().ty,
            FieldType::Int { min: 1, max: 99 }
        );
        assert!(o.field("phone").unwrap().encrypted);
        assert_eq!(o.owner_field().unwrap().column(), "owner_id");
        assert_eq!(o.mfa_window, Duration::from_mins(5));
    }

    #[test]
    fn every_type_parses_and_bad_ones_name_the_field() {
        for (t, ok) in [
            ("float(0..1)", true),
            ("bool", true),
            ("enum(a|b|c)", true),
            ("datetime", true),
            ("json", true),
            ("relation(orders)", true),
            ("string(5..1)", false),
            ("int(a..b)", false),
            ("enum()", false),
            ("bool(1)", false),
            ("text", false),
            ("string(1..2", false),
            ("float(NaN..1)", false),
        ] {
            assert_eq!(parse_type(t).is_ok(), ok, "{t}");
        }
        let bad = r#"[collections.x]
fields = { a = "int(1..2) sparkly" }"#;
        let e = Collections::from_config_text(bad).unwrap_err();
        assert_eq!(e.collection, "x");
        assert_eq!(e.field.as_deref(), Some("a"));
        assert!(e.to_string().contains("collections.x.fields.a"), "{e}");
    }

    #[test]
    fn hostile_names_and_flag_combinations_are_refused() {
        for text in [
            "[collections.\"a;drop table users\"]\nfields = { a = \"bool\" }",
            "[collections.x]\nfields = { \"a\\\"b\" = \"bool\" }",
            "[collections.x]\nfields = { id = \"bool\" }",
            "[collections.x]\nfields = { a = \"string unique encrypted\" }",
            "[collections.x]\nfields = { a = \"relation(nope)\" }",
            "[collections.x]\nfields = { a = \"bool\" }\nread = \"b = 1\"",
            "[collections.x]\nfields = { a = \"bool\" }\nsurprise = 1",
            "[collections.x]\nfields = { a = { type = \"json\", schema = '{\"pattern\":\"x\"}' } }",
            "[collections.x]\nfields = { a = \"bool\" }\nmfa_window = \"5 fortnights\"",
        ] {
            assert!(Collections::from_config_text(text).is_err(), "{text}");
        }
    }

    #[test]
    fn missing_rules_default_to_nobody() {
        let c =
            Collections::from_config_text("[collections.x]\nfields = { a = \"bool\" }").unwrap();
        let x = c.get("x").unwrap();
        assert_eq!(x.read, Rule::False);
        assert_eq!(x.delete, Rule::False);
    }

    #[test]
    fn the_json_schema_subset_validates() {
        let s = JsonSchema::parse(
            r#"{"type":"object","properties":{"n":{"type":"integer","minimum":1},
                "tags":{"type":"array","items":{"type":"string","maxLength":3}}},
                "required":["n"],"additionalProperties":false}"#,
        )
        .unwrap();
        assert!(
            s.validate(&serde_json::json!({"n": 2, "tags": ["a"]}))
                .is_ok()
        );
        for bad in [
            serde_json::json!({"tags": []}),
            serde_json::json!({"n": 0}),
            serde_json::json!({"n": 1, "x": 1}),
            serde_json::json!({"n": 1, "tags": ["long"]}),
            serde_json::json!([1]),
        ] {
            assert!(s.validate(&bad).is_err(), "{bad}");
        }
    }
}
