//! The PC client's encryption of `.wxapkg` packages.
//!
//! The WeChat PC client stores packages as `V1MMWX` followed by the encrypted package. The key
//! is PBKDF2-HMAC-SHA1 of the appid with the salt `saltiest`, 1,000 rounds, 32 bytes. The first
//! 1,024 bytes after the prefix are AES-256-CBC with the IV `the iv: 16 bytes` and no padding;
//! of their plaintext the first 1,023 bytes belong to the package. Every later byte is
//! combined by XOR with one byte of the appid: its second-to-last character (`0x66` for an appid shorter than
//! two characters). This is obfuscation with a public key, not protection; it is undone here
//! only so the package can be audited.

use std::path::Path;

use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockDecryptMut as _, KeyIvInit as _};

use super::WxapkgError;

/// The marker that starts a PC-encrypted package.
pub const PC_PREFIX: &[u8; 6] = b"V1MMWX";
const SALT: &[u8] = b"saltiest";
const IV: &[u8; 16] = b"the iv: 16 bytes";
const ROUNDS: u32 = 1000;
/// Encrypted bytes at the start, and how many of their plaintext are kept.
const HEAD: usize = 1024;
const HEAD_KEPT: usize = 1023;

type Aes256CbcDec = cbc::Decryptor<aes::Aes256>;

/// Whether `bytes` start with the PC client's prefix.
pub fn is_pc_encrypted(bytes: &[u8]) -> bool {
    bytes.starts_with(PC_PREFIX)
}

/// The 32-byte AES key the PC client derives from an appid.
pub fn pc_key(appid: &str) -> [u8; 32] {
    let mut key = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha1::Sha1>(appid.as_bytes(), SALT, ROUNDS, &mut key);
    key
}

/// The byte the PC client XORs the tail with.
pub fn pc_xor_byte(appid: &str) -> u8 {
    let b = appid.as_bytes();
    if b.len() < 2 { 0x66 } else { b[b.len() - 2] }
}

/// Decrypt a PC-encrypted package (`bytes` including the `V1MMWX` prefix) with its appid.
///
/// A wrong appid is noticed because the plaintext then does not start with the package mark.
pub fn decrypt_pc(bytes: &[u8], appid: &str) -> Result<Vec<u8>, WxapkgError> {
    let Some(data) = bytes.strip_prefix(PC_PREFIX.as_slice()) else {
        return Err(WxapkgError::Decrypt("the V1MMWX prefix is missing".into()));
    };
    if data.len() < HEAD {
        return Err(WxapkgError::Truncated(format!(
            "an encrypted package has at least {HEAD} bytes after its prefix, this one {}",
            data.len()
        )));
    }
    let (head, tail) = data.split_at(HEAD);
    let key = pc_key(appid);
    let mut buf = head.to_vec();
    let plain = Aes256CbcDec::new(&key.into(), IV.into())
        .decrypt_padded_mut::<NoPadding>(&mut buf)
        .map_err(|_| WxapkgError::Decrypt("the encrypted head is not whole AES blocks".into()))?;
    let mut out = Vec::with_capacity(HEAD_KEPT + tail.len());
    out.extend_from_slice(plain.get(..HEAD_KEPT).unwrap_or(plain));
    let x = pc_xor_byte(appid);
    out.extend(tail.iter().map(|b| b ^ x));
    if out.first() != Some(&super::reader::FIRST_MARK) {
        return Err(WxapkgError::Decrypt(format!(
            "the result is not a package; is {appid:?} the right appid?"
        )));
    }
    Ok(out)
}

/// Whether `s` looks like a WeChat appid: `wx` followed by 16 hexadecimal digits.
pub fn is_appid(s: &str) -> bool {
    s.len() == 18 && s.starts_with("wx") && s.as_bytes()[2..].iter().all(u8::is_ascii_hexdigit)
}

/// The appid of a package from the folders above it: the PC client keeps packages under a
/// folder named after the appid (`.../wx0123456789abcdef/12/__APP__.wxapkg`). The nearest such
/// folder wins.
pub fn appid_from_path(path: &Path) -> Option<String> {
    path.ancestors()
        .skip(1)
        .filter_map(|a| a.file_name()?.to_str())
        .find(|n| is_appid(n))
        .map(str::to_owned)
}
