//! Rules of the `storage` category.

pub mod hardcoded_crypto_key;
pub mod sensitive_clipboard;
pub mod sensitive_log;
pub mod sensitive_storage;
pub mod weak_cipher;
pub mod weak_password_hash;
