//! `docs/protocol.md` must keep describing what this crate implements: its worked example is
//! parsed out of the Markdown and recomputed, and it must be one of the conformance vectors in
//! `tests/vectors/signing.json`.

use miniguard_crypto::signing::{
    RequestParts, SigningKey, canonical_query, canonical_request, sign,
};
use serde::Deserialize;

const DOC: &str = include_str!("../../../docs/protocol.md");

/// The body of the first fenced block after `<!-- example:NAME -->`, without its final newline.
fn block(name: &str) -> &'static str {
    let marker = format!("<!-- example:{name} -->");
    let start = DOC
        .find(&marker)
        .unwrap_or_else(|| panic!("docs/protocol.md lost the {marker} marker"));
    let rest = &DOC[start + marker.len()..];
    let open = rest.find("```").expect("a fenced block follows the marker");
    let body_start = open + rest[open..].find('\n').expect("fence line ends") + 1;
    let len = rest[body_start..]
        .find("```")
        .expect("the fenced block is closed");
    rest[body_start..body_start + len]
        .strip_suffix('\n')
        .expect("the block ends with a newline before its fence")
}

struct Example {
    signing_key: &'static str,
    method: &'static str,
    path: &'static str,
    query: &'static str,
    timestamp: u64,
    nonce: &'static str,
    body: &'static str,
}

fn example() -> Example {
    let field = |name: &str| -> &'static str {
        block("inputs")
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(": "))
            .unwrap_or_else(|| panic!("the example inputs lack `{name}: `"))
    };
    Example {
        signing_key: field("signing_key"),
        method: field("method"),
        path: field("path"),
        query: field("query"),
        timestamp: field("timestamp").parse().expect("timestamp is a number"),
        nonce: field("nonce"),
        body: field("body"),
    }
}

#[test]
fn the_worked_example_matches_the_implementation() {
    let e = example();
    let key = SigningKey::from_base64url(e.signing_key).expect("the example key parses");
    let parts = RequestParts {
        method: e.method,
        path: e.path,
        query: e.query,
        timestamp: e.timestamp,
        nonce: e.nonce,
        body: e.body.as_bytes(),
    };
    let canonical = canonical_request(&parts).unwrap();
    assert_eq!(block("canonical-request"), canonical);
    let signature = sign(&key, &parts).unwrap();
    assert_eq!(block("signature"), signature);

    // The prose and the on-the-wire request quote the same values.
    let query = canonical_query(e.query).unwrap();
    assert!(DOC.contains(&format!("The canonical query is `{query}`")));
    let body_hash = canonical.lines().last().unwrap();
    assert!(DOC.contains(&format!("`{body_hash}`")));
    for header in [
        format!("X-MG-Timestamp: {}", e.timestamp),
        format!("X-MG-Nonce: {}", e.nonce),
        format!("X-MG-Signature: {signature}"),
        format!("{} {}?{} HTTP/1.1", e.method, e.path, e.query),
    ] {
        assert!(DOC.contains(&header), "the wire example lacks {header:?}");
    }
}

#[derive(Deserialize)]
struct Vectors {
    signing_key: String,
    vectors: Vec<Vector>,
}

#[derive(Deserialize)]
struct Vector {
    method: String,
    path: String,
    query: String,
    timestamp: u64,
    nonce: String,
    body: String,
    signature: String,
}

#[test]
fn the_worked_example_is_a_conformance_vector() {
    let suite: Vectors = serde_json::from_str(include_str!("vectors/signing.json")).unwrap();
    let e = example();
    assert_eq!(e.signing_key, suite.signing_key);
    let signature = block("signature");
    assert!(
        suite.vectors.iter().any(|v| v.method == e.method
            && v.path == e.path
            && v.query == e.query
            && v.timestamp == e.timestamp
            && v.nonce == e.nonce
            && v.body == e.body
            && v.signature == signature),
        "the example in docs/protocol.md is not in tests/vectors/signing.json"
    );
}

#[test]
fn the_documented_constants_match() {
    use miniguard_crypto::signing::{
        DEFAULT_WINDOW_SECS, MAX_NONCE_BYTES, MIN_NONCE_BYTES, NONCE_HEADER, SIGNATURE_HEADER,
        TIMESTAMP_HEADER,
    };
    assert!(DOC.contains(&format!("**{DEFAULT_WINDOW_SECS} seconds**")));
    assert!(DOC.contains(&format!(
        "{MIN_NONCE_BYTES} to {MAX_NONCE_BYTES} fresh random bytes"
    )));
    for header in [TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER] {
        assert!(DOC.contains(&format!("| `{header}` |")), "{header}");
    }
    assert!(DOC.contains("crates/crypto/tests/vectors/signing.json"));
}
