//! Records: validating writes into typed values, encrypting and decrypting `encrypted` fields,
//! and the JSON a client sees.
//!
//! An `encrypted` field is stored as a `miniguard-crypto` envelope (AES-256-GCM, a random 96-bit
//! nonce per value, the key id in the envelope header) over the value's JSON encoding, with
//! `AssociatedData::field(table, field, record id)` so a ciphertext copied to another record or
//! column does not open. A NULL stays NULL (absence is not hidden).

use std::collections::HashMap;

use miniguard_crypto::{AssociatedData, Keyring};
use serde_json::{Map, Value as Json};

use super::query::SqlValue;
use super::rules::{Principal, RecordView};
use super::sanitize::Cleaner;
use super::schema::{Collection, Field, FieldType};

/// The largest `json` value, serialized.
pub const MAX_JSON_BYTES: usize = 32 * 1024;
/// The largest rich text, in characters (before sanitizing).
pub const MAX_RICH_TEXT: usize = 100_000;

/// A field-level validation error: the field (a schema name, or for unknown fields the key
/// sent, shortened) and a fixed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.chars().filter(|c| !c.is_control()).take(64).collect(),
            message: message.into(),
        }
    }
}

/// A record as stored: the fixed columns and the stored fields' values in schema order
/// (envelopes for encrypted fields).
#[derive(Debug, Clone)]
pub struct StoredRow {
    pub id: String,
    pub owner: Option<i64>,
    pub created: i64,
    pub updated: i64,
    pub values: Vec<SqlValue>,
}

/// A validated write: plain values per field name, and the relations to check exist.
#[derive(Debug, Default)]
pub struct Write {
    pub values: Vec<(String, SqlValue)>,
    pub relations: Vec<(String, String, String)>,
}

/// Whether the principal may read a field of this record (`private`, field `read` rules).
pub fn field_readable(
    c: &Collection,
    f: &Field,
    p: &Principal,
    rec: Option<&RecordView>,
    now: i64,
) -> bool {
    if f.private {
        return false;
    }
    match (&f.read, rec) {
        (None, _) => true,
        (Some(rule), Some(r)) => rule.allows(c, p, r, now),
        // Without a record (filters, sorts), only a rule that holds for any record counts.
        (Some(rule), None) => rule.to_cond(c, p, now) == super::query::Cond::Const(true),
    }
}

/// Validates a create (`existing: None`) or an update body. Unknown fields, the owner field,
/// read-only fields on update and fields the caller may not write are refused. Rich text is
/// sanitized with the default policy.
pub fn validate_write(
    c: &Collection,
    p: &Principal,
    body: &Map<String, Json>,
    existing: Option<&RecordView>,
    now: i64,
) -> Result<Write, Vec<FieldError>> {
    validate_write_with(c, p, body, existing, now, &Cleaner::default())
}

/// [`validate_write`] sanitizing rich text with `cleaner` (the deployment's image hosts).
pub fn validate_write_with(
    c: &Collection,
    p: &Principal,
    body: &Map<String, Json>,
    existing: Option<&RecordView>,
    now: i64,
    cleaner: &Cleaner,
) -> Result<Write, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut out = Write::default();
    // Field write rules see the record as it is, or for a create as it will be owned.
    let fresh = RecordView {
        owner: Some(p.user.0),
        ..RecordView::default()
    };
    let view = existing.unwrap_or(&fresh);
    for (key, value) in body {
        let Some(f) = c.field(key) else {
            errors.push(FieldError::new(key, "unknown field"));
            continue;
        };
        if f.ty == FieldType::Owner {
            errors.push(FieldError::new(key, "set by the server"));
            continue;
        }
        if f.readonly && existing.is_some() {
            errors.push(FieldError::new(key, "read-only after creation"));
            continue;
        }
        if let Some(rule) = &f.write
            && !rule.allows(c, p, view, now)
        {
            errors.push(FieldError::new(key, "not writable by you"));
            continue;
        }
        match typed_value_with(f, value, cleaner) {
            Ok(v) => {
                if let (FieldType::Relation(other), SqlValue::Text(id)) = (&f.ty, &v) {
                    out.relations
                        .push((f.name.clone(), other.clone(), id.clone()));
                }
                if v == SqlValue::Null && f.required {
                    errors.push(FieldError::new(key, "required"));
                } else {
                    out.values.push((f.name.clone(), v));
                }
            }
            Err(m) => errors.push(FieldError::new(key, m)),
        }
    }
    if existing.is_none() {
        for f in c.stored_fields().filter(|f| f.required) {
            if !body.contains_key(&f.name) {
                errors.push(FieldError::new(&f.name, "required"));
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        errors.sort_by(|a, b| a.field.cmp(&b.field));
        Err(errors)
    }
}

/// Turns one JSON value into the field's plain stored value.
pub fn typed_value(f: &Field, v: &Json) -> Result<SqlValue, String> {
    typed_value_with(f, v, &Cleaner::default())
}

/// [`typed_value`] sanitizing rich text with `cleaner`.
pub fn typed_value_with(f: &Field, v: &Json, cleaner: &Cleaner) -> Result<SqlValue, String> {
    if v.is_null() {
        return Ok(SqlValue::Null);
    }
    Ok(match &f.ty {
        FieldType::String { min, max } => {
            let s = v.as_str().ok_or("must be a string")?;
            let n = s.chars().count();
            if n < *min || n > *max {
                return Err(format!("must be {min} to {max} characters"));
            }
            if s.contains('\0') {
                return Err("must not contain NUL".into());
            }
            SqlValue::Text(s.to_owned())
        }
        FieldType::Int { min, max } => {
            let n = v.as_i64().ok_or("must be an integer")?;
            if n < *min || n > *max {
                return Err(format!("must be an integer from {min} to {max}"));
            }
            SqlValue::Int(n)
        }
        FieldType::Float { min, max } => {
            let x = v.as_f64().ok_or("must be a number")?;
            if !(x >= *min && x <= *max) {
                return Err(format!("must be a number from {min} to {max}"));
            }
            SqlValue::Float(x)
        }
        FieldType::Bool => SqlValue::Int(i64::from(v.as_bool().ok_or("must be true or false")?)),
        FieldType::Enum(values) => {
            let s = v.as_str().ok_or("must be a string")?;
            if !values.iter().any(|x| x == s) {
                return Err(format!("must be one of {}", values.join(", ")));
            }
            SqlValue::Text(s.to_owned())
        }
        FieldType::Datetime => {
            let s = v.as_str().ok_or("must be an RFC 3339 date-time string")?;
            SqlValue::Int(parse_rfc3339(s).ok_or("must be an RFC 3339 date-time string")?)
        }
        FieldType::Json(schema) => {
            if let Some(s) = schema {
                s.validate(v)?;
            }
            let text = v.to_string();
            if text.len() > MAX_JSON_BYTES {
                return Err(format!("must be at most {MAX_JSON_BYTES} bytes of JSON"));
            }
            SqlValue::Text(text)
        }
        FieldType::RichText => {
            let s = v.as_str().ok_or("must be a string")?;
            if s.chars().count() > MAX_RICH_TEXT {
                return Err(format!("must be at most {MAX_RICH_TEXT} characters"));
            }
            SqlValue::Text(cleaner.clean(s))
        }
        FieldType::Owner => return Err("set by the server".into()),
        FieldType::File { .. } => {
            return Err("set by uploading to .../records/{id}/files/{field}".into());
        }
        FieldType::Relation(_) => {
            let s = v.as_str().ok_or("must be a record id")?;
            if !valid_id(s) {
                return Err("must be a record id".into());
            }
            SqlValue::Text(s.to_owned())
        }
    })
}

/// Record ids: 32 lowercase hex digits (128 random bits).
pub fn valid_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A fresh record id: a version 4 UUID (122 bits from the OS CSPRNG) as 32 hex digits, so ids
/// in URLs are neither guessable nor enumerable and reveal neither counts nor creation order.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn aad(c: &Collection, f: &Field, id: &str) -> AssociatedData {
    AssociatedData::field(&c.table(), &f.name, id)
}

/// Prepares values for storage: columns from the schema, encrypted fields sealed.
pub fn seal(
    c: &Collection,
    keyring: &Keyring,
    id: &str,
    values: Vec<(String, SqlValue)>,
) -> Result<Vec<(String, SqlValue)>, String> {
    let mut out = Vec::with_capacity(values.len());
    for (name, v) in values {
        let Some(f) = c.field(&name) else { continue };
        let v = if f.encrypted && v != SqlValue::Null {
            let plain = serde_json::to_vec(&plain_json(&v)).map_err(|e| e.to_string())?;
            SqlValue::Blob(
                keyring
                    .encrypt(&plain, &aad(c, f, id))
                    .map_err(|e| e.to_string())?,
            )
        } else {
            v
        };
        out.push((f.column(), v));
    }
    Ok(out)
}

fn plain_json(v: &SqlValue) -> Json {
    match v {
        SqlValue::Null | SqlValue::Blob(_) => Json::Null,
        SqlValue::Int(n) => Json::from(*n),
        SqlValue::Float(x) => Json::from(*x),
        SqlValue::Text(s) => Json::from(s.as_str()),
    }
}

/// Opens a stored row into the rules' view (plain values; encrypted fields decrypted).
pub fn open(c: &Collection, keyring: &Keyring, row: &StoredRow) -> Result<RecordView, String> {
    let mut fields = HashMap::new();
    for (f, v) in c.stored_fields().zip(&row.values) {
        let plain = match (f.encrypted, v) {
            (true, SqlValue::Blob(env)) => {
                let bytes = keyring
                    .decrypt(env, &aad(c, f, &row.id))
                    .map_err(|e| format!("{}.{}: {e}", c.name, f.name))?;
                match serde_json::from_slice::<Json>(&bytes).map_err(|e| e.to_string())? {
                    Json::String(s) => SqlValue::Text(s),
                    Json::Number(n) => n
                        .as_i64()
                        .map(SqlValue::Int)
                        .or_else(|| n.as_f64().map(SqlValue::Float))
                        .unwrap_or(SqlValue::Null),
                    _ => SqlValue::Null,
                }
            }
            (true, SqlValue::Null) => SqlValue::Null,
            (true, _) => return Err(format!("{}.{}: not an envelope", c.name, f.name)),
            (false, v) => v.clone(),
        };
        fields.insert(f.name.clone(), plain);
    }
    Ok(RecordView {
        id: row.id.clone(),
        owner: row.owner,
        created: row.created,
        updated: row.updated,
        fields,
    })
}

/// The JSON the principal sees: `id`, `created`, `updated` and the readable fields.
pub fn to_json(c: &Collection, p: &Principal, r: &RecordView, now: i64) -> Json {
    let mut obj = Map::new();
    obj.insert("id".into(), Json::from(r.id.as_str()));
    obj.insert("created".into(), Json::from(format_rfc3339(r.created)));
    obj.insert("updated".into(), Json::from(format_rfc3339(r.updated)));
    for f in &c.fields {
        if !field_readable(c, f, p, Some(r), now) {
            continue;
        }
        let v = if f.ty == FieldType::Owner {
            r.owner.map_or(Json::Null, Json::from)
        } else {
            match (&f.ty, r.fields.get(&f.name).unwrap_or(&SqlValue::Null)) {
                (_, SqlValue::Null) => Json::Null,
                (FieldType::Bool, SqlValue::Int(n)) => Json::Bool(*n != 0),
                (FieldType::Datetime, SqlValue::Int(ms)) => Json::from(format_rfc3339(*ms)),
                (FieldType::Json(_), SqlValue::Text(t)) => {
                    serde_json::from_str(t).unwrap_or(Json::Null)
                }
                (FieldType::File { .. }, SqlValue::Text(t)) => super::files::public_meta(t),
                (_, v) => plain_json(v),
            }
        };
        obj.insert(f.name.clone(), v);
    }
    Json::Object(obj)
}

// Civil-date arithmetic (Howard Hinnant's algorithms), proleptic Gregorian calendar.
#[allow(clippy::many_single_char_names)] // Reason: the algorithm's published names.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[allow(clippy::many_single_char_names)] // Reason: the algorithm's published names.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` to milliseconds since the epoch (years 0001-9999).
// Reason: date parts read best under their usual one-letter names.
#[allow(clippy::many_single_char_names)]
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b.len() > 40 || !s.is_ascii() {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    if b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d, h, mi, sec) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    let dim = match mo {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => return None,
    };
    if y < 1 || d < 1 || d > dim || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut ms = 0;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start || i - start > 9 {
            return None;
        }
        let frac = format!("{:0<3}", &s[start..i]);
        ms = frac.get(0..3)?.parse::<i64>().ok()?;
    }
    let offset_min = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let (oh, om) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let m = oh * 60 + om;
            if *sign == b'+' { m } else { -m }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec.min(59) - offset_min * 60;
    Some(secs * 1000 + ms)
}

/// Milliseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn format_rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let milli = ms.rem_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{milli:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::schema::Collections;
    use crate::db::UserId;

    #[test]
    fn rfc3339_round_trips() {
        for (s, ms) in [
            ("1970-01-01T00:00:00Z", 0),
            ("2024-02-29T12:34:56.789Z", 1_709_210_096_789),
            ("2024-02-29T20:34:56.789+08:00", 1_709_210_096_789),
            ("1969-12-31T23:59:59.999Z", -1),
        ] {
            assert_eq!(parse_rfc3339(s), Some(ms), "{s}");
        }
        assert_eq!(
            format_rfc3339(1_709_210_096_789),
            "2024-02-29T12:34:56.789Z"
        );
        for bad in [
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-01-01",
            "2024-01-01T00:00:00",
            "2024-01-01T24:00:00Z",
            "٢٠٢٤-01-01T00:00:00Z",
            "2024-01-01T00:00:00+8:00",
            "+2024-01-01T00:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn writes_are_validated_field_by_field() {
        let cs = Collections::from_config_text(
            r#"[collections.orders]
write = "owner"
[collections.orders.fields]
item = "string(1..5) required"
qty = "int(1..99)"
owner = "owner"
kind = "enum(a|b)"
at = "datetime"
note = "richtext"
ro = "string readonly""#,
        )
        .unwrap();
        let c = cs.get("orders").unwrap();
        let p = Principal {
            user: UserId(1),
            roles: vec![],
            mfa_at_ms: None,
        };
        let body = serde_json::json!({
            "item": "toolong", "qty": "3", "owner": 2, "kind": "c", "at": "now", "bogus": 1,
        });
        let errs = validate_write(c, &p, body.as_object().unwrap(), None, 0).unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["at", "bogus", "item", "kind", "owner", "qty"]);
        let missing = validate_write(c, &p, &Map::new(), None, 0).unwrap_err();
        assert_eq!(missing[0].field, "item");
        let ok =
            serde_json::json!({"item": "tea", "note": "<b onclick=x>hi</b><script>1</script>"});
        let w = validate_write(c, &p, ok.as_object().unwrap(), None, 0).unwrap();
        assert!(
            w.values
                .contains(&("note".into(), SqlValue::Text("<b>hi</b>".into())))
        );
        let existing = RecordView::default();
        let ro = serde_json::json!({"ro": "x"});
        assert!(validate_write(c, &p, ro.as_object().unwrap(), Some(&existing), 0).is_err());
    }

    #[test]
    fn encrypted_values_are_bound_to_their_record() {
        let cs = Collections::from_config_text(
            "[collections.p]\nfields = { phone = \"string encrypted\", n = \"int encrypted\" }",
        )
        .unwrap();
        let c = cs.get("p").unwrap();
        let keys = Keyring::from_text("1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8").unwrap();
        let sealed = seal(
            c,
            &keys,
            "a",
            vec![
                ("n".into(), SqlValue::Int(7)),
                ("phone".into(), SqlValue::Text("13800138000".into())),
            ],
        )
        .unwrap();
        let values: Vec<SqlValue> = sealed.iter().map(|(_, v)| v.clone()).collect();
        assert!(values.iter().all(|v| matches!(v, SqlValue::Blob(_))));
        let row = |id: &str| StoredRow {
            id: id.into(),
            owner: None,
            created: 0,
            updated: 0,
            values: values.clone(),
        };
        let opened = open(c, &keys, &row("a")).unwrap();
        assert_eq!(opened.fields["phone"], SqlValue::Text("13800138000".into()));
        assert_eq!(opened.fields["n"], SqlValue::Int(7));
        assert!(
            open(c, &keys, &row("b")).is_err(),
            "moved to another record"
        );
    }

    #[test]
    fn field_level_read_and_write_rules() {
        let cs = Collections::from_config_text(
            r#"[collections.posts]
read = "true"
write = "owner or role:editor"
[collections.posts.fields]
title = "string"
status = { type = "enum(draft|published)", write = "role:editor" }
notes = { type = "string", read = "owner" }
owner = "owner""#,
        )
        .unwrap();
        let c = cs.get("posts").unwrap();
        let author = Principal {
            user: UserId(1),
            roles: vec![],
            mfa_at_ms: None,
        };
        let editor = Principal {
            user: UserId(2),
            roles: vec!["editor".into()],
            mfa_at_ms: None,
        };
        let body = serde_json::json!({"title": "t", "status": "published"});
        let errs = validate_write(c, &author, body.as_object().unwrap(), None, 0).unwrap_err();
        assert_eq!(errs[0].field, "status");
        assert!(validate_write(c, &editor, body.as_object().unwrap(), None, 0).is_ok());
        let mut fields = HashMap::new();
        fields.insert("notes".to_owned(), SqlValue::Text("mine".into()));
        let rec = RecordView {
            id: "r".into(),
            owner: Some(1),
            fields,
            ..RecordView::default()
        };
        assert_eq!(to_json(c, &author, &rec, 0)["notes"], "mine");
        assert!(to_json(c, &editor, &rec, 0).get("notes").is_none());
        // Not readable for every record, so not filterable by the editor.
        let notes = c.field("notes").unwrap();
        assert!(!field_readable(c, notes, &editor, None, 0));
    }
}
