//! WeChat mini-program open data: `encryptedData` decryption and the `rawData` signature.
//!
//! # Why
//!
//! `wx.getUserInfo`, the old phone-number flow and similar APIs hand the mini-program a blob
//! encrypted with the user's `session_key`, which only the server holds (it comes from
//! `code2session` and must never reach the client). The server decrypts it, and checks that the
//! `watermark.appid` is its own app: without that check, data encrypted for another app (whose
//! session key the attacker controls) would be accepted. The watermark's timestamp lets the
//! caller refuse stale data.
//!
//! The algorithm is WeChat's, documented at
//! <https://developers.weixin.qq.com/miniprogram/dev/framework/open-ability/signature.html>:
//! AES-128-CBC with PKCS#7 padding, key = base64-decode(`session_key`) (16 bytes),
//! iv = base64-decode(`iv`) (16 bytes). CBC is unauthenticated, so a wrong key or a tampered blob
//! usually shows up as bad padding or bad JSON; both are reported as one error,
//! [`WechatError::Undecryptable`], so the answer cannot serve as a padding oracle.
//!
//! `rawData`'s signature is `hex(SHA-1(rawData + session_key))` with the session key in its
//! base64 text form. It is compared in constant time.

use std::fmt;

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockDecryptMut as _, BlockEncryptMut as _, KeyIvInit as _};
use secrecy::{ExposeSecret as _, SecretString};
use sha1::{Digest as _, Sha1};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use crate::encoding;
use crate::random::{self, RandomError};

type Aes128CbcDec = cbc::Decryptor<aes::Aes128>;
type Aes128CbcEnc = cbc::Encryptor<aes::Aes128>;

/// The largest `encryptedData` accepted, in base64 characters (user info is about 500).
pub const MAX_ENCRYPTED_DATA_CHARS: usize = 64 * 1024;

/// Why WeChat open data was refused. Messages never contain the session key or plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WechatError {
    /// The session key is not standard base64 of 16 bytes.
    #[error("session_key is not 16 bytes of base64")]
    InvalidSessionKey,
    /// The iv is not standard base64 of 16 bytes.
    #[error("iv is not 16 bytes of base64")]
    InvalidIv,
    /// `encryptedData` is not base64, not whole AES blocks, or too large.
    #[error("encryptedData is malformed")]
    MalformedData,
    /// Bad padding or not a JSON object after decryption (wrong key, wrong iv or tampering).
    #[error("encryptedData could not be decrypted")]
    Undecryptable,
    /// The decrypted object has no `watermark` with a string `appid` and a numeric `timestamp`.
    #[error("decrypted data has no valid watermark")]
    MissingWatermark,
    /// The watermark names another app.
    #[error("watermark appid does not match this app")]
    AppIdMismatch,
    /// The `rawData` signature is not 40 hex digits.
    #[error("signature is not 40 hex digits")]
    MalformedSignature,
    /// The `rawData` signature does not match.
    #[error("rawData signature does not match")]
    BadSignature,
}

/// A user's `session_key` from `code2session`, in the base64 text form WeChat returns.
pub struct WechatSessionKey(SecretString);

impl WechatSessionKey {
    /// Checks that the text is standard base64 of 16 bytes.
    pub fn from_base64(text: &str) -> Result<Self, WechatError> {
        let bytes =
            Zeroizing::new(encoding::b64_std_decode(text).ok_or(WechatError::InvalidSessionKey)?);
        if bytes.len() != 16 {
            return Err(WechatError::InvalidSessionKey);
        }
        Ok(Self(SecretString::from(text.to_owned())))
    }

    /// The base64 text, to encrypt for storage.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    fn key_bytes(&self) -> Zeroizing<[u8; 16]> {
        let mut key = Zeroizing::new([0u8; 16]);
        // Validated as 16 bytes of base64 in `from_base64`, the only constructor.
        if let Some(bytes) = encoding::b64_std_decode(self.0.expose_secret()).map(Zeroizing::new)
            && bytes.len() == 16
        {
            key.copy_from_slice(&bytes);
        }
        key
    }
}

impl fmt::Debug for WechatSessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WechatSessionKey([REDACTED])")
    }
}

/// The `watermark` WeChat adds to open data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watermark {
    /// The app the data was encrypted for.
    pub appid: String,
    /// When WeChat produced the data (unix seconds).
    pub timestamp: u64,
}

impl Watermark {
    /// Whether the data is at most `max_age_secs` old at `now` (and not from the future beyond
    /// the same tolerance).
    pub fn is_fresh(&self, now: u64, max_age_secs: u64) -> bool {
        now.abs_diff(self.timestamp) <= max_age_secs
    }
}

/// Decrypted and checked open data.
#[derive(Clone)]
pub struct OpenData {
    /// The whole decrypted JSON object (user info, phone number, ...), watermark included.
    pub json: serde_json::Value,
    /// The checked watermark.
    pub watermark: Watermark,
}

impl fmt::Debug for OpenData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The payload is personal data (phone numbers, open ids); keep it out of logs.
        f.debug_struct("OpenData")
            .field("json", &"[REDACTED]")
            .field("watermark", &self.watermark)
            .finish()
    }
}

/// Decrypts `encryptedData` with the session key and `iv`, and checks that the watermark names
/// `expected_appid`. The caller should also check [`Watermark::is_fresh`].
pub fn decrypt_open_data(
    session_key: &WechatSessionKey,
    encrypted_data: &str,
    iv: &str,
    expected_appid: &str,
) -> Result<OpenData, WechatError> {
    let iv = encoding::b64_std_decode(iv)
        .and_then(|b| <[u8; 16]>::try_from(b).ok())
        .ok_or(WechatError::InvalidIv)?;
    if encrypted_data.len() > MAX_ENCRYPTED_DATA_CHARS {
        return Err(WechatError::MalformedData);
    }
    let mut buffer =
        Zeroizing::new(encoding::b64_std_decode(encrypted_data).ok_or(WechatError::MalformedData)?);
    if buffer.is_empty() || buffer.len() % 16 != 0 {
        return Err(WechatError::MalformedData);
    }
    let key = session_key.key_bytes();
    let plaintext = Aes128CbcDec::new(key.as_ref().into(), (&iv).into())
        .decrypt_padded_mut::<Pkcs7>(&mut buffer)
        .map_err(|_| WechatError::Undecryptable)?;
    let json: serde_json::Value =
        serde_json::from_slice(plaintext).map_err(|_| WechatError::Undecryptable)?;
    if !json.is_object() {
        return Err(WechatError::Undecryptable);
    }
    let watermark = &json["watermark"];
    let (Some(appid), Some(timestamp)) =
        (watermark["appid"].as_str(), watermark["timestamp"].as_u64())
    else {
        return Err(WechatError::MissingWatermark);
    };
    if appid != expected_appid {
        return Err(WechatError::AppIdMismatch);
    }
    let watermark = Watermark {
        appid: appid.to_owned(),
        timestamp,
    };
    Ok(OpenData { json, watermark })
}

/// Encrypts open data the way WeChat does (AES-128-CBC, PKCS#7, the session key), with a fresh
/// random iv. Returns `(encryptedData, iv)`, both standard base64. The server never needs this:
/// it exists for faithful fakes of the platform and for client-side test tooling.
pub fn encrypt_open_data(
    session_key: &WechatSessionKey,
    plaintext: &[u8],
) -> Result<(String, String), RandomError> {
    let iv = random::bytes::<16>()?;
    Ok((
        encrypt_open_data_with_iv(session_key, plaintext, &iv),
        encoding::b64_std_encode(&iv),
    ))
}

/// [`encrypt_open_data`] with a given iv (deterministic; for test vectors).
pub fn encrypt_open_data_with_iv(
    session_key: &WechatSessionKey,
    plaintext: &[u8],
    iv: &[u8; 16],
) -> String {
    let key = session_key.key_bytes();
    let mut buffer = Zeroizing::new(plaintext.to_vec());
    buffer.resize(plaintext.len() + 16, 0);
    // The buffer has a whole spare block, which is all PKCS#7 padding ever needs.
    let sealed = Aes128CbcEnc::new(key.as_ref().into(), iv.into())
        .encrypt_padded_mut::<Pkcs7>(&mut buffer, plaintext.len())
        .map_or_else(|_| Vec::new(), <[u8]>::to_vec);
    encoding::b64_std_encode(&sealed)
}

/// Checks `signature == hex(SHA-1(raw_data + session_key))` in constant time.
pub fn verify_raw_data(
    raw_data: &str,
    session_key: &WechatSessionKey,
    signature: &str,
) -> Result<(), WechatError> {
    let presented =
        encoding::hex_decode_exact::<20>(signature).ok_or(WechatError::MalformedSignature)?;
    let mut hasher = Sha1::new();
    hasher.update(raw_data.as_bytes());
    hasher.update(session_key.expose_secret().as_bytes());
    let expected: [u8; 20] = hasher.finalize().into();
    if bool::from(expected.ct_eq(&presented)) {
        Ok(())
    } else {
        Err(WechatError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use proptest::prelude::*;

    // The official sample of WeChat's open-data decryption: the `WXBizDataCrypt` demo in
    // `aes-sample.zip`, linked from "开放数据校验与解密" (open data verification and decryption),
    // https://developers.weixin.qq.com/miniprogram/dev/framework/open-ability/signature.html .
    // The same appId / sessionKey / encryptedData / iv and decrypted object appear in the demo for
    // every language (C++, Node.js, PHP, Python, C#, Java) and are reproduced verbatim in many
    // public SDK test suites (e.g. WxJava's WxMaUserServiceImplTest, an Erlang wx_biz_data_crypt
    // eunit test).
    const APP_ID: &str = "wx4f4bc4dec97d474b";
    const SESSION_KEY: &str = "tiihtNczf5v6AKRyjwEUhQ==";
    const ENCRYPTED_DATA: &str = "CiyLU1Aw2KjvrjMdj8YKliAjtP4gsMZMQmRzooG2xrDcvSnxIMXFufNstNGTyaGS9uT5geRa0W4oTOb1WT7fJlAC+oNPdbB+3hVbJSRgv+4lGOETKUQz6OYStslQ142dNCuabNPGBzlooOmB231qMM85d2/fV6ChevvXvQP8Hkue1poOFtnEtpyxVLW1zAo6/1Xx1COxFvrc2d7UL/lmHInNlxuacJXwu0fjpXfz/YqYzBIBzD6WUfTIF9GRHpOn/Hz7saL8xz+W//FRAUid1OksQaQx4CMs8LOddcQhULW4ucetDf96JcR3g0gfRK4PC7E/r7Z6xNrXd2UIeorGj5Ef7b1pJAYB6Y5anaHqZ9J6nKEBvB4DnNLIVWSgARns/8wR2SiRS7MNACwTyrGvt9ts8p12PKFdlqYTopNHR1Vf7XjfhQlVsAJdNiKdYmYVoKlaRv85IfVunYzO0IKXsyl7JCUjCpoG20f0a04COwfneQAGGwd5oa+T8yO5hzuyDb/XcxxmK01EpqOyuxINew==";
    const IV: &str = "r7BXXKkLb8qrSNn05n0qiA==";
    const DECRYPTED: &str = r#"{"openId":"oGZUI0egBJY1zhBYw2KhdUfwVJJE","nickName":"Band","gender":1,"language":"zh_CN","city":"Guangzhou","province":"Guangdong","country":"CN","avatarUrl":"http://wx.qlogo.cn/mmopen/vi_32/aSKcBBPpibyKNicHNTMM0qJVh8Kjgiak2AHWr8MHM4WgMEm7GFhsf8OYrySdbvAMvTsw3mo8ibKicsnfN5pRjl1p8HQ/0","unionId":"ocMvos6NjeKLIBqg5Mr9QjxrP1FA","watermark":{"timestamp":1477314187,"appid":"wx4f4bc4dec97d474b"}}"#;

    // The `rawData` signature example on the same documentation page ("数据签名校验").
    const RAW_DATA: &str = r#"{"nickName":"Band","gender":1,"language":"zh_CN","city":"Guangzhou","province":"Guangdong","country":"CN","avatarUrl":"http://wx.qlogo.cn/mmopen/vi_32/1vZvI39NWFQ9XM4LtQpFrQJ1xlgZxx3w7bQxKARol6503Iuswjjn6nIGBiaycAjAtpujxyzYsrztuuICqIM5ibXQ/0"}"#;
    const RAW_SESSION_KEY: &str = "HyVFkGl5F5OQWJZZaNzBBg==";
    const RAW_SIGNATURE: &str = "75e81ceda165f4ffa64f4068af58c64b8f54b88c";

    fn key() -> WechatSessionKey {
        WechatSessionKey::from_base64(SESSION_KEY).unwrap()
    }

    fn encrypt(key: &str, iv: &str, plaintext: &[u8]) -> String {
        let key = STANDARD.decode(key).unwrap();
        let iv = STANDARD.decode(iv).unwrap();
        let mut buffer = plaintext.to_vec();
        buffer.resize(plaintext.len() + 16, 0);
        let sealed = cbc::Encryptor::<aes::Aes128>::new_from_slices(&key, &iv)
            .unwrap()
            .encrypt_padded_mut::<Pkcs7>(&mut buffer, plaintext.len())
            .unwrap();
        STANDARD.encode(sealed)
    }

    #[test]
    fn official_sample_decrypts() {
        let data = decrypt_open_data(&key(), ENCRYPTED_DATA, IV, APP_ID).unwrap();
        let expected: serde_json::Value = serde_json::from_str(DECRYPTED).unwrap();
        assert_eq!(data.json, expected);
        assert_eq!(data.json["openId"], "oGZUI0egBJY1zhBYw2KhdUfwVJJE");
        assert_eq!(
            data.watermark,
            Watermark {
                appid: APP_ID.into(),
                timestamp: 1_477_314_187
            }
        );
        assert!(data.watermark.is_fresh(1_477_314_187 + 60, 300));
        assert!(!data.watermark.is_fresh(1_700_000_000, 300));
        assert!(!format!("{data:?}").contains("oGZUI0"));
        // Our encryption of the published plaintext gives the published ciphertext back.
        assert_eq!(
            encrypt(SESSION_KEY, IV, DECRYPTED.as_bytes()),
            ENCRYPTED_DATA
        );
        let iv: [u8; 16] = STANDARD.decode(IV).unwrap().try_into().unwrap();
        assert_eq!(
            encrypt_open_data_with_iv(&key(), DECRYPTED.as_bytes(), &iv),
            ENCRYPTED_DATA
        );
        let (data, fresh_iv) = encrypt_open_data(&key(), DECRYPTED.as_bytes()).unwrap();
        assert_ne!(fresh_iv, IV);
        let round = decrypt_open_data(&key(), &data, &fresh_iv, APP_ID).unwrap();
        assert_eq!(round.json, expected);
    }

    #[test]
    fn watermark_must_name_this_app() {
        assert_eq!(
            decrypt_open_data(&key(), ENCRYPTED_DATA, IV, "wx0000000000000000").unwrap_err(),
            WechatError::AppIdMismatch
        );
        let no_watermark = encrypt(SESSION_KEY, IV, br#"{"openId":"x"}"#);
        assert_eq!(
            decrypt_open_data(&key(), &no_watermark, IV, APP_ID).unwrap_err(),
            WechatError::MissingWatermark
        );
        let string_time = encrypt(
            SESSION_KEY,
            IV,
            br#"{"watermark":{"appid":"wx4f4bc4dec97d474b","timestamp":"1"}}"#,
        );
        assert_eq!(
            decrypt_open_data(&key(), &string_time, IV, APP_ID).unwrap_err(),
            WechatError::MissingWatermark
        );
        let not_object = encrypt(SESSION_KEY, IV, b"[1,2]");
        assert_eq!(
            decrypt_open_data(&key(), &not_object, IV, APP_ID).unwrap_err(),
            WechatError::Undecryptable
        );
    }

    #[test]
    fn wrong_inputs_are_errors_not_panics() {
        let other = WechatSessionKey::from_base64("AAAAAAAAAAAAAAAAAAAAAA==").unwrap();
        assert_eq!(
            decrypt_open_data(&other, ENCRYPTED_DATA, IV, APP_ID).unwrap_err(),
            WechatError::Undecryptable
        );
        assert_eq!(
            decrypt_open_data(&key(), ENCRYPTED_DATA, "r7BXXKkLb8qrSNn05n0qiA", APP_ID)
                .unwrap_err(),
            WechatError::InvalidIv
        );
        assert_eq!(
            decrypt_open_data(&key(), ENCRYPTED_DATA, "AAAA", APP_ID).unwrap_err(),
            WechatError::InvalidIv
        );
        assert_eq!(
            decrypt_open_data(&key(), "", IV, APP_ID).unwrap_err(),
            WechatError::MalformedData
        );
        assert_eq!(
            decrypt_open_data(&key(), "AAAA", IV, APP_ID).unwrap_err(),
            WechatError::MalformedData
        );
        assert_eq!(
            decrypt_open_data(&key(), "%%%", IV, APP_ID).unwrap_err(),
            WechatError::MalformedData
        );
        let huge = "A".repeat(MAX_ENCRYPTED_DATA_CHARS + 4);
        assert_eq!(
            decrypt_open_data(&key(), &huge, IV, APP_ID).unwrap_err(),
            WechatError::MalformedData
        );
        let mut flipped = STANDARD.decode(ENCRYPTED_DATA).unwrap();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(decrypt_open_data(&key(), &STANDARD.encode(&flipped), IV, APP_ID).is_err());
        assert!(WechatSessionKey::from_base64("AAAA").is_err());
        assert!(WechatSessionKey::from_base64("not base64").is_err());
        assert_eq!(format!("{:?}", key()), "WechatSessionKey([REDACTED])");
    }

    #[test]
    fn official_raw_data_signature() {
        let key = WechatSessionKey::from_base64(RAW_SESSION_KEY).unwrap();
        assert_eq!(verify_raw_data(RAW_DATA, &key, RAW_SIGNATURE), Ok(()));
        assert_eq!(
            verify_raw_data(RAW_DATA, &key, &RAW_SIGNATURE.to_uppercase()),
            Ok(())
        );
        let tampered = RAW_DATA.replace("Band", "Bond");
        assert_eq!(
            verify_raw_data(&tampered, &key, RAW_SIGNATURE),
            Err(WechatError::BadSignature)
        );
        assert_eq!(
            verify_raw_data(RAW_DATA, &self::key(), RAW_SIGNATURE),
            Err(WechatError::BadSignature)
        );
        assert_eq!(
            verify_raw_data(RAW_DATA, &key, "75e81c"),
            Err(WechatError::MalformedSignature)
        );
    }

    proptest! {
        #[test]
        fn decrypt_never_panics(data in ".{0,200}", iv in ".{0,30}") {
            let _ = decrypt_open_data(&key(), &data, &iv, APP_ID);
        }

        #[test]
        fn decrypt_random_blocks_never_panics(blocks in proptest::collection::vec(any::<u8>(), 1..8), iv in proptest::array::uniform16(any::<u8>())) {
            let data = STANDARD.encode(blocks.repeat(16));
            let _ = decrypt_open_data(&key(), &data, &STANDARD.encode(iv), APP_ID);
        }

        #[test]
        fn signature_and_key_parsing_never_panic(text in ".{0,60}") {
            let _ = verify_raw_data("{}", &key(), &text);
            let _ = WechatSessionKey::from_base64(&text);
        }
    }
}
