//! Fuzzes opening AES-256-GCM envelopes (`Keyring::decrypt_str` and `decrypt`), the path every
//! value read back from the database takes: no input may panic, and no input that was not
//! produced by the keyring may open. Encrypting the input and opening it again must round-trip.

#![no_main]

use libfuzzer_sys::fuzz_target;
use miniguard_crypto::{AssociatedData, Keyring};

/// Two fixed keys (ids 1 and 2), so envelopes naming either, or neither, are exercised.
const KEYS: &str = "1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8,\
                    2:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8";

fuzz_target!(|data: &[u8]| {
    let keyring = Keyring::from_text(KEYS).expect("fixed keys parse");
    let aad = match data.first().map_or(0, |b| b % 3) {
        0 => AssociatedData::none(),
        1 => AssociatedData::field("users", "phone", "42"),
        _ => AssociatedData::from_bytes(data.get(..4).unwrap_or_default().to_vec()),
    };
    if let Ok(text) = std::str::from_utf8(data) {
        assert!(
            keyring.decrypt_str(text, &aad).is_err(),
            "a foreign text envelope opened"
        );
        let _ = keyring.reencrypt_str(text, &aad);
    }
    assert!(
        keyring.decrypt(data, &aad).is_err(),
        "a foreign binary envelope opened"
    );
    let _ = keyring.needs_reencrypt(data);

    let sealed = keyring.encrypt_to_string(data, &aad).expect("encrypt");
    let opened = keyring
        .decrypt_str(&sealed, &aad)
        .expect("own envelope opens");
    assert_eq!(opened.as_slice(), data);
});
