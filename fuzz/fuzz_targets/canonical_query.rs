//! Fuzzes the query canonicalisation of signed requests (`canonical_query`), which runs on every
//! authenticated request before the signature is checked: no input may panic, the canonical form
//! is canonical (applying it again changes nothing), and it holds only unreserved characters,
//! `%XX` escapes with upper-case hex, `=` and `&`, so it can never inject a line into the
//! canonical request.

#![no_main]

use libfuzzer_sys::fuzz_target;
use miniguard_crypto::canonical_query;

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(canonical) = canonical_query(query) else {
        return;
    };
    assert_eq!(
        canonical_query(&canonical).expect("a canonical query stays valid"),
        canonical,
        "not idempotent"
    );
    let bytes = canonical.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        let allowed = b.is_ascii_alphanumeric()
            || b"-._~=&".contains(&b)
            || (b == b'%'
                && bytes.get(i + 1..i + 3).is_some_and(|h| {
                    h.iter()
                        .all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(c))
                }));
        assert!(allowed, "byte {b:#04x} at {i} in {canonical:?}");
    }
    for pair in canonical.split('&') {
        assert_eq!(pair.matches('=').count(), 1, "pair {pair:?}");
    }
});
