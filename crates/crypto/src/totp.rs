//! Time-based one-time passwords (RFC 6238) for the second factor.
//!
//! # Why
//!
//! TOTP is the factor every authenticator app speaks, works offline and costs nothing to send.
//! Defaults are the ones apps assume when an `otpauth://` URI says nothing else: HMAC-SHA-1,
//! 30-second steps, 6 digits. (SHA-1's collision weakness does not affect HMAC; RFC 6238 still
//! specifies it.) Secrets are 160 random bits, RFC 4226 §4's recommended length, and should be
//! stored encrypted (see [`crate::envelope`]).
//!
//! [`Totp::verify_after`] accepts the current step and one step either side (clock drift of a
//! phone) and returns the matched step, so the caller records it and refuses the same step again:
//! a code seen over someone's shoulder cannot be replayed (RFC 6238 §5.2). Codes are compared in
//! constant time and every candidate step is always computed.

use std::fmt;
use std::fmt::Write as _;

use hmac::Hmac;
use secrecy::{ExposeSecret as _, SecretBox, SecretString};
use subtle::{ConditionallySelectable as _, ConstantTimeEq as _};
use zeroize::Zeroizing;

use crate::encoding;
use crate::random::{self, RandomError};

/// Bytes in a generated secret (160 bits).
pub const SECRET_BYTES: usize = 20;

/// Why a TOTP operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TotpError {
    /// The code is not the configured number of digits.
    #[error("code must be {digits} digits")]
    MalformedCode {
        /// Digits expected.
        digits: u32,
    },
    /// No step in the window produced this code.
    #[error("code is not valid")]
    Invalid,
    /// The code matched only a step already used (or earlier).
    #[error("code was already used")]
    Reused,
    /// The secret is not base32, or shorter than 16 or longer than 64 bytes.
    #[error("TOTP secret must be 16 to 64 bytes of base32")]
    InvalidSecret,
    /// Digits outside 6..=8 or a zero period.
    #[error("TOTP parameters out of range")]
    InvalidParameters,
    /// The OS random number generator failed.
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// The HMAC hash. Apps universally support SHA-1; the others exist for RFC 6238's vectors and
/// for deployments that control their authenticator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpAlgorithm {
    /// HMAC-SHA-1 (the default).
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

impl TotpAlgorithm {
    fn uri_name(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
            Self::Sha512 => "SHA512",
        }
    }

    fn mac(self, key: &[u8], message: &[u8]) -> Zeroizing<Vec<u8>> {
        fn run<M: hmac::Mac + hmac::digest::KeyInit>(
            key: &[u8],
            message: &[u8],
        ) -> Zeroizing<Vec<u8>> {
            // HMAC accepts keys of every length, so `new_from_slice` cannot fail here.
            let mut mac = <M as hmac::Mac>::new_from_slice(key)
                .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
            mac.update(message);
            Zeroizing::new(mac.finalize().into_bytes().to_vec())
        }
        match self {
            Self::Sha1 => run::<Hmac<sha1::Sha1>>(key, message),
            Self::Sha256 => run::<Hmac<sha2::Sha256>>(key, message),
            Self::Sha512 => run::<Hmac<sha2::Sha512>>(key, message),
        }
    }
}

/// A TOTP shared secret, wiped on drop, never printed.
pub struct TotpSecret(SecretBox<Vec<u8>>);

impl TotpSecret {
    /// A fresh 160-bit secret from the OS CSPRNG, made at enrolment.
    pub fn generate() -> Result<Self, RandomError> {
        let mut bytes = vec![0u8; SECRET_BYTES];
        random::fill(&mut bytes)?;
        Ok(Self(SecretBox::new(Box::new(bytes))))
    }

    /// From raw bytes (as decrypted from storage); 16 to 64 bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, TotpError> {
        let bytes = Zeroizing::new(bytes);
        if !(16..=64).contains(&bytes.len()) {
            return Err(TotpError::InvalidSecret);
        }
        Ok(Self(SecretBox::new(Box::new(bytes.to_vec()))))
    }

    /// From base32 as authenticator apps show it (case, spaces and padding ignored).
    pub fn from_base32(text: &str) -> Result<Self, TotpError> {
        if text.len() > 256 {
            return Err(TotpError::InvalidSecret);
        }
        Self::from_bytes(encoding::base32_decode(text).ok_or(TotpError::InvalidSecret)?)
    }

    /// Upper-case base32 without padding, for manual entry in an app.
    pub fn to_base32(&self) -> SecretString {
        SecretString::from(encoding::base32_encode(self.0.expose_secret()))
    }

    /// The raw bytes, to encrypt for storage.
    pub fn expose_bytes(&self) -> &[u8] {
        self.0.expose_secret()
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret([REDACTED])")
    }
}

/// TOTP parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totp {
    algorithm: TotpAlgorithm,
    digits: u32,
    period: u64,
    skew: u64,
}

impl Default for Totp {
    fn default() -> Self {
        Self::new()
    }
}

impl Totp {
    /// SHA-1, 6 digits, 30-second steps, one step of drift either way.
    pub const fn new() -> Self {
        Self {
            algorithm: TotpAlgorithm::Sha1,
            digits: 6,
            period: 30,
            skew: 1,
        }
    }

    /// Other parameters: 6 to 8 digits, a period of at least one second.
    pub fn custom(algorithm: TotpAlgorithm, digits: u32, period: u64) -> Result<Self, TotpError> {
        if !(6..=8).contains(&digits) || period == 0 {
            return Err(TotpError::InvalidParameters);
        }
        Ok(Self {
            algorithm,
            digits,
            period,
            skew: 1,
        })
    }

    /// How many steps of drift either way are accepted (default 1; 0 for exact).
    pub fn skew(mut self, steps: u64) -> Self {
        self.skew = steps.min(10);
        self
    }

    /// The time step containing `unix_time`.
    pub fn step(&self, unix_time: u64) -> u64 {
        unix_time / self.period
    }

    /// The code for a time step (RFC 4226 §5.3 dynamic truncation).
    pub fn code_at_step(&self, secret: &TotpSecret, step: u64) -> String {
        let mac = self
            .algorithm
            .mac(secret.expose_bytes(), &step.to_be_bytes());
        // The MAC is at least 20 bytes and the offset at most 15, so the four bytes exist.
        let offset = usize::from(mac[mac.len() - 1] & 0x0f);
        let binary = u32::from_be_bytes([
            mac[offset] & 0x7f,
            mac[offset + 1],
            mac[offset + 2],
            mac[offset + 3],
        ]);
        let code = binary % 10u32.pow(self.digits);
        format!("{code:0width$}", width = self.digits as usize)
    }

    /// The code at `unix_time`.
    pub fn generate(&self, secret: &TotpSecret, unix_time: u64) -> String {
        self.code_at_step(secret, self.step(unix_time))
    }

    /// Verifies `code` at `unix_time` within the drift window, ignoring steps at or before
    /// `last_used_step`. Returns the matched step: store it as the new `last_used_step`.
    pub fn verify_after(
        &self,
        secret: &TotpSecret,
        code: &str,
        unix_time: u64,
        last_used_step: Option<u64>,
    ) -> Result<u64, TotpError> {
        let code: String = code
            .chars()
            .filter(|c| !c.is_whitespace())
            .take(16)
            .collect();
        if code.len() != self.digits as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TotpError::MalformedCode {
                digits: self.digits,
            });
        }
        let now = self.step(unix_time);
        let mut found = subtle::Choice::from(0);
        let mut found_fresh = subtle::Choice::from(0);
        let mut matched = 0u64;
        for step in now.saturating_sub(self.skew)..=now.saturating_add(self.skew) {
            let equal = self
                .code_at_step(secret, step)
                .as_bytes()
                .ct_eq(code.as_bytes());
            let fresh =
                subtle::Choice::from(u8::from(last_used_step.is_none_or(|used| step > used)));
            found |= equal;
            let take = equal & fresh;
            found_fresh |= take;
            matched.conditional_assign(&step, take);
        }
        if bool::from(found_fresh) {
            Ok(matched)
        } else if bool::from(found) {
            Err(TotpError::Reused)
        } else {
            Err(TotpError::Invalid)
        }
    }

    /// [`Totp::verify_after`] with no step used yet (enrolment confirmation).
    pub fn verify(
        &self,
        secret: &TotpSecret,
        code: &str,
        unix_time: u64,
    ) -> Result<u64, TotpError> {
        self.verify_after(secret, code, unix_time, None)
    }

    /// The Key URI an authenticator app scans as a QR code:
    /// `otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=ISSUER&algorithm=SHA1&digits=6&period=30`.
    /// It contains the secret, hence the [`SecretString`].
    pub fn otpauth_uri(&self, secret: &TotpSecret, issuer: &str, account: &str) -> SecretString {
        let mut uri = String::from("otpauth://totp/");
        encoding::percent_encode(issuer.as_bytes(), &mut uri);
        uri.push(':');
        encoding::percent_encode(account.as_bytes(), &mut uri);
        uri.push_str("?secret=");
        uri.push_str(secret.to_base32().expose_secret());
        uri.push_str("&issuer=");
        encoding::percent_encode(issuer.as_bytes(), &mut uri);
        // Writing to a String cannot fail.
        let _ = write!(
            uri,
            "&algorithm={}&digits={}&period={}",
            self.algorithm.uri_name(),
            self.digits,
            self.period
        );
        SecretString::from(uri)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 6238 Appendix B: seeds are the ASCII digits "1234567890" repeated to the hash's
    /// output length (20, 32 and 64 bytes); 8 digits, 30-second steps.
    #[test]
    fn rfc6238_appendix_b() {
        let seed = |len: usize| {
            TotpSecret::from_bytes(b"1234567890".iter().copied().cycle().take(len).collect())
                .unwrap()
        };
        let vectors: [(u64, &str, &str, &str); 6] = [
            (59, "94287082", "46119246", "90693936"),
            (1_111_111_109, "07081804", "68084774", "25091201"),
            (1_111_111_111, "14050471", "67062674", "99943326"),
            (1_234_567_890, "89005924", "91819424", "93441116"),
            (2_000_000_000, "69279037", "90698825", "38618901"),
            (20_000_000_000, "65353130", "77737706", "47863826"),
        ];
        for (time, sha1, sha256, sha512) in vectors {
            for (algorithm, len, expected) in [
                (TotpAlgorithm::Sha1, 20, sha1),
                (TotpAlgorithm::Sha256, 32, sha256),
                (TotpAlgorithm::Sha512, 64, sha512),
            ] {
                let totp = Totp::custom(algorithm, 8, 30).unwrap();
                assert_eq!(
                    totp.generate(&seed(len), time),
                    expected,
                    "{algorithm:?} at {time}"
                );
                assert_eq!(totp.verify(&seed(len), expected, time), Ok(totp.step(time)));
            }
        }
        // The six-digit default is the same truncation, modulo 10^6.
        assert_eq!(Totp::new().generate(&seed(20), 59), "287082");
    }

    #[test]
    fn window_and_reuse() {
        let secret = TotpSecret::generate().unwrap();
        let totp = Totp::new();
        let now = 1_700_000_000;
        let step = totp.step(now);
        let previous = totp.code_at_step(&secret, step - 1);
        let next = totp.code_at_step(&secret, step + 1);
        assert_eq!(totp.verify(&secret, &previous, now), Ok(step - 1));
        assert_eq!(totp.verify(&secret, &next, now), Ok(step + 1));
        let too_old = totp.code_at_step(&secret, step - 2);
        if too_old != previous && too_old != next && too_old != totp.code_at_step(&secret, step) {
            assert_eq!(totp.verify(&secret, &too_old, now), Err(TotpError::Invalid));
        }

        let current = totp.generate(&secret, now);
        let used = totp.verify_after(&secret, &current, now, None).unwrap();
        assert_eq!(
            totp.verify_after(&secret, &current, now + 5, Some(used)),
            Err(TotpError::Reused)
        );
        assert!(
            totp.verify_after(&secret, &previous, now, Some(used))
                .is_err()
        );
        assert_eq!(
            totp.verify_after(&secret, &next, now, Some(used)),
            Ok(step + 1)
        );

        // People type spaces.
        let spaced = format!("{} {}", &current[..3], &current[3..]);
        assert_eq!(totp.verify(&secret, &spaced, now), Ok(step));
        for bad in ["", "12345", "1234567", "12345a", "١٢٣٤٥٦"] {
            assert_eq!(
                totp.verify(&secret, bad, now),
                Err(TotpError::MalformedCode { digits: 6 }),
                "{bad:?}"
            );
        }
        if next != totp.code_at_step(&secret, step) {
            assert_eq!(
                totp.skew(0).verify(&secret, &next, now),
                Err(TotpError::Invalid)
            );
        }
    }

    #[test]
    fn uri_secret_and_parameters() {
        let secret = TotpSecret::from_base32("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP").unwrap();
        let uri = Totp::new().otpauth_uri(&secret, "miniguard", "alice@example.com");
        assert_eq!(
            uri.expose_secret(),
            "otpauth://totp/miniguard:alice%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\
             &issuer=miniguard&algorithm=SHA1&digits=6&period=30"
        );
        let uri = Totp::new().otpauth_uri(&secret, "Acme Co", "张三");
        assert!(
            uri.expose_secret()
                .starts_with("otpauth://totp/Acme%20Co:%E5%BC%A0%E4%B8%89?")
        );
        assert_eq!(format!("{secret:?}"), "TotpSecret([REDACTED])");
        assert_eq!(
            TotpSecret::generate().unwrap().expose_bytes().len(),
            SECRET_BYTES
        );
        assert!(TotpSecret::from_base32("JBSWY3DP").is_err(), "too short");
        assert!(TotpSecret::from_base32("not base32!").is_err());
        assert!(Totp::custom(TotpAlgorithm::Sha1, 5, 30).is_err());
        assert!(Totp::custom(TotpAlgorithm::Sha1, 6, 0).is_err());
    }

    proptest! {
        #[test]
        fn verify_never_panics(code in ".{0,40}", time in any::<u64>(), last in proptest::option::of(any::<u64>())) {
            let secret = TotpSecret::from_bytes(vec![7; 20]).unwrap();
            let _ = Totp::new().verify_after(&secret, &code, time, last);
        }

        #[test]
        fn secret_parsing_never_panics(text in ".{0,300}") {
            let _ = TotpSecret::from_base32(&text);
        }

        #[test]
        fn generated_codes_verify(time in 0u64..u64::MAX / 2) {
            let secret = TotpSecret::from_bytes(vec![9; 20]).unwrap();
            let totp = Totp::new();
            prop_assert!(totp.verify(&secret, &totp.generate(&secret, time), time).is_ok());
        }
    }
}
