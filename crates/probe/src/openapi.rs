//! The routes to probe, read from an OpenAPI 3 document (JSON): each operation's method, path
//! template, path, query and header parameters (with their examples), whether it declares security, and
//! the properties of its JSON body. Bounded: at most [`MAX_OPERATIONS`] operations are kept.

use std::fmt::Write as _;

use reqwest::Method;
use serde_json::Value;

/// The most operations read from one document.
pub const MAX_OPERATIONS: usize = 500;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenApiError {
    #[error("the OpenAPI document is not JSON: {0} (YAML documents must be converted to JSON)")]
    NotJson(String),
    #[error("the OpenAPI document has no `paths` object")]
    NoPaths,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamIn {
    Path,
    Query,
    Header,
}

#[derive(Clone, Debug)]
pub struct Param {
    pub name: String,
    pub location: ParamIn,
    /// An example or default value from the document, if any.
    pub example: Option<String>,
    pub integer: bool,
}

#[derive(Clone, Debug)]
pub struct Operation {
    pub method: Method,
    /// The path template, e.g. `/api/orders/{id}`.
    pub path: String,
    pub params: Vec<Param>,
    /// The operation (or the document) requires some security scheme.
    pub secured: bool,
    /// Top-level properties of the JSON request body.
    pub body_props: Vec<String>,
}

impl Operation {
    pub fn has_path_params(&self) -> bool {
        self.params.iter().any(|p| p.location == ParamIn::Path)
    }

    pub fn query_params(&self) -> impl Iterator<Item = &Param> {
        self.params.iter().filter(|p| p.location == ParamIn::Query)
    }

    /// The header parameter whose (lower-cased) name contains `word`, if any.
    pub fn header_param(&self, word: &str) -> Option<&Param> {
        self.params
            .iter()
            .find(|p| p.location == ParamIn::Header && p.name.to_ascii_lowercase().contains(word))
    }

    /// The path with every path parameter replaced: by `values` when named there, else by the
    /// example, else by `1`. Values are percent-encoded as one segment.
    pub fn fill_path(&self, values: &[(&str, &str)]) -> String {
        let mut path = self.path.clone();
        for p in self.params.iter().filter(|p| p.location == ParamIn::Path) {
            let value = values
                .iter()
                .find(|(n, _)| *n == p.name)
                .map(|(_, v)| (*v).to_owned())
                .or_else(|| p.example.clone())
                .unwrap_or_else(|| "1".into());
            path = path.replace(&format!("{{{}}}", p.name), &encode_segment(&value));
        }
        path
    }
}

fn encode_segment(v: &str) -> String {
    let mut out = String::new();
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            // Writing into a `String` cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Reads the operations of a document.
pub fn parse(text: &str) -> Result<Vec<Operation>, OpenApiError> {
    let doc: Value =
        serde_json::from_str(text).map_err(|e| OpenApiError::NotJson(e.to_string()))?;
    let paths = doc
        .get("paths")
        .and_then(Value::as_object)
        .ok_or(OpenApiError::NoPaths)?;
    let global_secured = secured(doc.get("security")).unwrap_or(false);
    let mut ops = Vec::new();
    for (path, item) in paths {
        if !path.starts_with('/') {
            continue;
        }
        let shared: Vec<Param> = item
            .get("parameters")
            .map(|p| params(&doc, p))
            .unwrap_or_default();
        for (name, method) in [
            ("get", Method::GET),
            ("post", Method::POST),
            ("put", Method::PUT),
            ("patch", Method::PATCH),
            ("delete", Method::DELETE),
        ] {
            let Some(op) = item.get(name) else { continue };
            if ops.len() >= MAX_OPERATIONS {
                return Ok(ops);
            }
            let mut ps = shared.clone();
            for p in op
                .get("parameters")
                .map(|p| params(&doc, p))
                .unwrap_or_default()
            {
                ps.retain(|q: &Param| !(q.name == p.name && q.location == p.location));
                ps.push(p);
            }
            let body_props = op
                .pointer("/requestBody/content/application~1json/schema")
                .map(|s| resolve(&doc, s))
                .and_then(|s| s.get("properties"))
                .and_then(Value::as_object)
                .map(|o| o.keys().take(100).cloned().collect())
                .unwrap_or_default();
            ops.push(Operation {
                method,
                path: path.clone(),
                params: ps,
                secured: secured(op.get("security")).unwrap_or(global_secured),
                body_props,
            });
        }
    }
    Ok(ops)
}

/// `security: []` is public; a list with a non-empty requirement is secured; a list holding an
/// empty requirement `{}` makes security optional (public).
fn secured(value: Option<&Value>) -> Option<bool> {
    let list = value?.as_array()?;
    Some(
        !list.is_empty()
            && list
                .iter()
                .all(|r| r.as_object().is_some_and(|o| !o.is_empty())),
    )
}

/// Follows one local `$ref` (`#/components/...`), once.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) if r.starts_with("#/") => doc.pointer(&r[1..]).unwrap_or(v),
        _ => v,
    }
}

fn params(doc: &Value, list: &Value) -> Vec<Param> {
    let Some(list) = list.as_array() else {
        return Vec::new();
    };
    list.iter()
        .take(100)
        .filter_map(|p| {
            let p = resolve(doc, p);
            let location = match p.get("in")?.as_str()? {
                "path" => ParamIn::Path,
                "query" => ParamIn::Query,
                "header" => ParamIn::Header,
                _ => return None,
            };
            let schema = p.get("schema").map(|s| resolve(doc, s));
            let example = p
                .get("example")
                .or_else(|| schema.and_then(|s| s.get("example")))
                .or_else(|| schema.and_then(|s| s.get("default")))
                .and_then(|e| match e {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    Value::Bool(b) => Some(b.to_string()),
                    _ => None,
                });
            let integer = schema
                .and_then(|s| s.get("type"))
                .and_then(Value::as_str)
                .is_some_and(|t| t == "integer" || t == "number");
            Some(Param {
                name: p.get("name")?.as_str()?.to_owned(),
                location,
                example,
                integer,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_parameters_and_security_are_read() {
        let doc = r##"{"openapi":"3.0.3","security":[{"b":[]}],
          "components":{"parameters":{"Id":{"name":"id","in":"path","schema":{"type":"integer"}}}},
          "paths":{
            "/a/{id}":{"get":{"parameters":[{"$ref":"#/components/parameters/Id"},
                {"name":"q","in":"query","example":"tea"}]}},
            "/login":{"post":{"security":[],"requestBody":{"content":{"application/json":
                {"schema":{"properties":{"code":{"type":"string"}}}}}}}},
            "/opt":{"get":{"security":[{}]}}
          }}"##;
        let ops = parse(doc).unwrap();
        assert_eq!(ops.len(), 3);
        let a = &ops[0];
        assert!(a.secured && a.has_path_params());
        assert_eq!(a.fill_path(&[("id", "7")]), "/a/7");
        assert_eq!(a.fill_path(&[]), "/a/1");
        assert_eq!(
            a.query_params().next().unwrap().example.as_deref(),
            Some("tea")
        );
        assert!(!ops[1].secured);
        assert_eq!(ops[1].body_props, ["code"]);
        assert!(!ops[2].secured);
        assert!(parse("paths: {}").is_err());
    }
}
