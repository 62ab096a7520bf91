//! Fuzzes WeChat open-data decryption (`decrypt_open_data`: AES-128-CBC with the session key,
//! PKCS#7, JSON, watermark check), which handles `encryptedData`/`iv` straight from the client:
//! no input may panic. The input is `encryptedData`, `iv` and, optionally, the session key,
//! separated by newlines; without a third line a fixed session key is used.

#![no_main]

use libfuzzer_sys::fuzz_target;
use miniguard_crypto::{WechatSessionKey, decrypt_open_data};

const APPID: &str = "wx4f4bc4dec97d474b";
const SESSION_KEY: &str = "tiihtNczf5v6AKRyjwEUhQ==";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.splitn(3, '\n');
    let encrypted_data = parts.next().unwrap_or_default();
    let iv = parts.next().unwrap_or_default();
    let key_text = parts.next().unwrap_or(SESSION_KEY);
    let Ok(session_key) = WechatSessionKey::from_base64(key_text) else {
        return;
    };
    if let Ok(open) = decrypt_open_data(&session_key, encrypted_data, iv, APPID) {
        assert_eq!(open.watermark.appid, APPID, "watermark appid not checked");
    }
});
