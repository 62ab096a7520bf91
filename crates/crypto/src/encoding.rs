//! Text encodings shared by the modules: base64url, RFC 4648 base32 and RFC 3986 percent-encoding.
//!
//! These are encodings, not cryptography; base64 comes from the `base64` crate, and the two small
//! codecs below exist because `otpauth://` URIs need base32 and the request-signing canonical form
//! needs one exact percent-encoding that clients in any language can reproduce.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// base64url without padding (RFC 4648 §5), the text form of everything this crate emits.
pub(crate) fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Strict base64url without padding; `None` on any other character, padding or trailing bits.
pub(crate) fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text.as_bytes()).ok()
}

/// Standard base64 with padding (RFC 4648 §4), as WeChat sends it.
pub(crate) fn b64_std_decode(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text.as_bytes()).ok()
}

/// Standard base64 with padding, as WeChat sends it.
pub(crate) fn b64_std_encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes a key written by a person or a secret manager: either alphabet, padding optional,
/// surrounding whitespace ignored.
pub(crate) fn b64_lenient_decode(text: &str) -> Option<Vec<u8>> {
    let trimmed = text.trim().trim_end_matches('=');
    let normalized: String = trimmed
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            other => other,
        })
        .collect();
    b64url_decode(&normalized)
}

const BASE32_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding, upper case (the form authenticator apps expect).
pub(crate) fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u16 = 0;
    let mut bits: u8 = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u16::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(
                BASE32_ALPHABET[usize::from((buffer >> bits) & 0x1f)],
            ));
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(
            BASE32_ALPHABET[usize::from((buffer << (5 - bits)) & 0x1f)],
        ));
    }
    out
}

/// RFC 4648 base32, case-insensitive, padding, spaces and dashes ignored (people type these).
/// `None` on any other character or on non-zero trailing bits.
pub(crate) fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut buffer: u16 = 0;
    let mut bits: u8 = 0;
    for c in text.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a',
            b'2'..=b'7' => c - b'2' + 26,
            b'=' | b' ' | b'-' => continue,
            _ => return None,
        };
        buffer = (buffer << 5) | u16::from(value);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    // Leftover bits must be zero padding of the last quantum, otherwise the text was not produced
    // by an encoder and two different strings would decode to the same secret.
    if buffer != 0 || bits >= 5 {
        return None;
    }
    Some(out)
}

/// RFC 3986 unreserved characters, the only bytes percent-encoding leaves alone.
pub(crate) fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// Percent-encodes every byte except the RFC 3986 unreserved set, with upper-case hex digits.
pub(crate) fn percent_encode(bytes: &[u8], out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &byte in bytes {
        if is_unreserved(byte) {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
}

/// Decodes `%XX` escapes (either case); every other byte stands for itself, `+` included.
/// `None` when a `%` is not followed by two hex digits.
pub(crate) fn percent_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = hex_value(*bytes.get(i + 1)?)?;
            let lo = hex_value(*bytes.get(i + 2)?)?;
            out.push((hi << 4) | lo);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

/// Hex of exactly `N` bytes, either case; `None` otherwise.
pub(crate) fn hex_decode_exact<const N: usize>(text: &str) -> Option<[u8; N]> {
    let bytes = text.as_bytes();
    if bytes.len() != N * 2 {
        return None;
    }
    let mut out = [0u8; N];
    for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        *slot = (hex_value(pair[0])? << 4) | hex_value(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn base32_rfc4648_vectors() {
        // RFC 4648 §10 test vectors (padding dropped).
        for (plain, encoded) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32_encode(plain.as_bytes()), encoded);
            assert_eq!(base32_decode(encoded).as_deref(), Some(plain.as_bytes()));
        }
        assert_eq!(
            base32_decode("mzxw6ytboi======").as_deref(),
            Some(&b"foobar"[..])
        );
        assert_eq!(base32_decode("MZ1"), None);
        assert_eq!(base32_decode("MZ"), None, "trailing non-zero bits");
        assert_eq!(base32_decode("MYA"), None, "dangling character");
    }

    #[test]
    fn percent_round_trip_and_errors() {
        let mut out = String::new();
        percent_encode("a b+c/é~".as_bytes(), &mut out);
        assert_eq!(out, "a%20b%2Bc%2F%C3%A9~");
        assert_eq!(percent_decode(&out).as_deref(), Some("a b+c/é~".as_bytes()));
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%4"), None);
        assert_eq!(percent_decode("%"), None);
        assert_eq!(percent_decode("a+b").as_deref(), Some(&b"a+b"[..]));
    }

    proptest! {
        #[test]
        fn base32_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(base32_decode(&base32_encode(&bytes)), Some(bytes));
        }

        #[test]
        fn base32_decode_never_panics(text in ".{0,80}") {
            let _ = base32_decode(&text);
        }

        #[test]
        fn percent_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut out = String::new();
            percent_encode(&bytes, &mut out);
            prop_assert_eq!(percent_decode(&out), Some(bytes));
        }

        #[test]
        fn percent_decode_never_panics(text in ".{0,80}") {
            let _ = percent_decode(&text);
        }

        #[test]
        fn hex_decode_never_panics(text in ".{0,70}") {
            let _ = hex_decode_exact::<32>(&text);
        }
    }
}
