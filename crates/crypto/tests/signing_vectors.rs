//! The committed request-signing test vectors (`tests/vectors/signing.json`, produced by the
//! independent Python reference `tests/vectors/signing.py`) must match this crate exactly. Client
//! implementations (the JS SDK, third-party clients) check themselves against the same file.

use miniguard_crypto::signing::{
    FixedClock, MemoryNonceStore, RequestParts, SignatureError, SignedRequest, SigningKey,
    Verifier, canonical_query, canonical_request, sign, verify,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct Document {
    signing_key: String,
    vectors: Vec<Vector>,
    invalid_queries: Vec<String>,
}

#[derive(Deserialize)]
struct Vector {
    description: String,
    method: String,
    path: String,
    query: String,
    timestamp: u64,
    nonce: String,
    body: String,
    canonical_query: String,
    canonical_request: String,
    signature: String,
}

fn document() -> Document {
    serde_json::from_str(include_str!("vectors/signing.json")).expect("signing.json parses")
}

fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("the in-memory store never waits"),
    }
}

#[test]
fn vectors_match() {
    let document = document();
    let key = SigningKey::from_base64url(&document.signing_key).unwrap();
    assert!(document.vectors.len() >= 5);
    for v in &document.vectors {
        let parts = RequestParts {
            method: &v.method,
            path: &v.path,
            query: &v.query,
            timestamp: v.timestamp,
            nonce: &v.nonce,
            body: v.body.as_bytes(),
        };
        assert_eq!(
            canonical_query(&v.query).unwrap(),
            v.canonical_query,
            "{}",
            v.description
        );
        assert_eq!(
            canonical_request(&parts).unwrap(),
            v.canonical_request,
            "{}",
            v.description
        );
        assert_eq!(
            sign(&key, &parts).unwrap(),
            v.signature,
            "{}",
            v.description
        );
        verify(&key, &parts, &v.signature).unwrap();
    }
    for query in &document.invalid_queries {
        assert!(
            matches!(canonical_query(query), Err(SignatureError::MalformedQuery)),
            "{query}"
        );
    }
}

#[test]
fn vectors_pass_the_verifier_once() {
    let document = document();
    let key = SigningKey::from_base64url(&document.signing_key).unwrap();
    let store = MemoryNonceStore::new();
    for v in &document.vectors {
        let timestamp = v.timestamp.to_string();
        let verifier = Verifier::with_clock(FixedClock(v.timestamp + 10));
        let request = SignedRequest {
            method: &v.method,
            path: &v.path,
            query: &v.query,
            timestamp: &timestamp,
            nonce: &v.nonce,
            signature: &v.signature,
            body: v.body.as_bytes(),
        };
        block_on(verifier.verify(&key, "session", &request, &store)).unwrap();
        assert!(matches!(
            block_on(verifier.verify(&key, "session", &request, &store)),
            Err(SignatureError::Replay)
        ));
    }
}
