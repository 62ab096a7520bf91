//! Fuzzes the parsers of presented session tokens (`Token::parse`, the `Authorization: Bearer`
//! value and the refresh token), stored token hashes (`TokenHash::from_hex`) and family ids
//! (`FamilyId::parse`): no input may panic, and whatever parses keeps its exact text.

#![no_main]

use libfuzzer_sys::fuzz_target;
use miniguard_crypto::{FamilyId, Token, TokenHash};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(token) = Token::parse(text) {
        assert_eq!(token.expose_secret(), text);
        assert_eq!(text.len(), 43);
        assert!(token.hash() == TokenHash::of(text));
        let hex = token.hash().to_hex();
        assert!(TokenHash::from_hex(&hex).is_ok_and(|h| h == token.hash()));
    }
    if let Ok(hash) = TokenHash::from_hex(text) {
        assert_eq!(hash.to_hex(), text.to_ascii_lowercase());
    }
    if let Ok(family) = FamilyId::parse(text) {
        assert_eq!(family.as_str(), text);
    }
});
