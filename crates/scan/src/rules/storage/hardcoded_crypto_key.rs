use miniguard_report::Severity;
use miniguard_report::{Msg, msg};

use crate::events::{CallEvent, Cx, Event, Span};
use crate::rules::storage::weak_cipher::{cryptojs_cipher, node_cipher, sm4_call};
use crate::rules::{Rule, RuleMeta};
use crate::value::Value;

crate::declare_rule! {
    /// ## What it finds
    /// Symmetric encryption whose key or IV is written in the code:
    ///
    /// - crypto-js `AES` / `DES` / `TripleDES` / `RC4` / `Rabbit` `.encrypt` / `.decrypt` with a
    ///   key that is a string literal, a constant from a config module, or
    ///   `CryptoJS.enc.Utf8.parse('...')` of one, or with a constant `iv` option;
    /// - Node `crypto.createCipheriv` / `createDecipheriv` with a constant key or IV
    ///   (`Buffer.from('...')`, a zero `Buffer.alloc(16)`), and `createCipher` with a constant
    ///   password;
    /// - `sm-crypto` / `miniprogram-sm-crypto` `sm4.encrypt` / `decrypt` with a constant key or
    ///   `iv`.
    ///
    /// Keys from `process.env`, a server response, a KMS call or a parameter nobody fills with a
    /// constant, and random IVs (`crypto.randomBytes(16)`, `CryptoJS.lib.WordArray.random(16)`)
    /// are not reported.
    ///
    /// ## Why it matters
    /// A mini-program package is downloaded to every phone and unpacks in seconds; server code
    /// sits in repositories and images. A key in the code is a key everyone has: whatever it
    /// "protects" (stored tokens, request signatures, "encrypted" parameters) can be decrypted and
    /// forged. A fixed IV makes equal plaintexts encrypt to equal ciphertexts and, with CTR/GCM,
    /// reuses the keystream.
    ///
    /// ## Example
    /// ```js
    /// const KEY = CryptoJS.enc.Utf8.parse('1234567890abcdef')
    /// const IV = CryptoJS.enc.Utf8.parse('abcdef1234567890')
    /// CryptoJS.AES.encrypt(data, KEY, { iv: IV, mode: CryptoJS.mode.CBC })
    /// ```
    ///
    /// ## Fix
    /// Keep keys on the server (environment, KMS, a secrets manager) and do the encryption there.
    /// When the client must encrypt, use a per-session key from the server or public-key
    /// encryption. Generate a fresh random IV for every message and send it with the ciphertext.
    ///
    /// ## References
    /// - CWE-321: Use of Hard-coded Cryptographic Key
    /// - CWE-1204: Generation of Weak Initialization Vector (IV)
    /// - OWASP Cryptographic Storage Cheat Sheet (key management)
    pub struct HardcodedCryptoKey {
        code: "S004",
        name: "hardcoded-crypto-key",
        category: Storage,
        severity: High,
        confidence: High,
        cwe: [321, 1204],
        summary: "Encryption key or IV hardcoded in the code",
    }
}

impl Rule for HardcodedCryptoKey {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &mut Cx<'_>, event: &Event<'_, '_>) {
        let Event::Call(call) = event else { return };
        let Some(path) = call.path else { return };
        let (api, iv) = if let Some((algo, op)) = cryptojs_cipher(path) {
            (
                format!("CryptoJS.{algo}.{op}"),
                call.arg(2)
                    .and_then(|o| o.field("iv"))
                    .map(|v| (v, call.arg_span(2))),
            )
        } else if let Some(f) = node_cipher(path) {
            (
                format!("crypto.{f}"),
                call.arg(2).map(|v| (v, call.arg_span(2))),
            )
        } else if let Some(op) = sm4_call(path) {
            (
                format!("sm4.{op}"),
                call.arg(2)
                    .and_then(|o| o.field("iv"))
                    .map(|v| (v, call.arg_span(2))),
            )
        } else {
            return;
        };
        if let Some(key) = call.arg(1)
            && let Some(text) = constant_text(key)
        {
            let what = if path.ends_with("createCipher") || path.ends_with("createDecipher") {
                msg!("S004.password")
            } else {
                msg!("S004.key")
            };
            report(
                cx,
                call,
                key,
                call.arg_span(1),
                Severity::High,
                msg!("S004.hardcoded", api = &api, what = what, key = show(text)),
                msg!("S004.hardcoded-help"),
            );
        }
        if let Some((iv, span)) = iv
            && let Some(text) = constant_iv(iv)
        {
            report(
                cx,
                call,
                iv,
                span,
                Severity::Medium,
                msg!("S004.fixed-iv", api = &api, iv = show(text)),
                msg!("S004.fixed-iv-help"),
            );
        }
    }
}

fn report(
    cx: &mut Cx<'_>,
    call: &CallEvent<'_, '_>,
    v: &Value<'_>,
    span: Span,
    severity: Severity,
    message: Msg,
    help: Msg,
) {
    let sink = cx.origin(call.span, "used here");
    match &v.text_origin {
        Some(origin) => {
            cx.report_at(&HardcodedCryptoKey::META, origin, message)
                .severity(severity)
                .step(Some(sink), msg!("S004.step-used"))
                .help(help);
        }
        None => {
            cx.report(&HardcodedCryptoKey::META, span, message)
                .severity(severity)
                .help(help);
        }
    }
}

/// The text of a key built from literals only.
fn constant_text<'v>(v: &'v Value<'_>) -> Option<&'v str> {
    if !v.is_constant() {
        return None;
    }
    v.exact_text()
        .filter(|t| !t.is_empty() && *t != "null" && *t != "undefined")
}

/// A constant IV: literal text, or a zero-filled `Buffer.alloc(n)`.
fn constant_iv<'v>(v: &'v Value<'_>) -> Option<&'v str> {
    if v.api_path() == Some("Buffer.alloc()") {
        return Some("all zeros");
    }
    constant_text(v)
}

/// A key shown in a message: enough to find it, not the whole secret.
fn show(text: &str) -> Msg {
    if text == "all zeros" {
        return msg!("S004.all-zeros");
    }
    let head: String = text.chars().take(4).collect();
    if text.chars().count() > 4 {
        msg!("S004.shown", key = format!("{head}…"))
    } else {
        msg!("S004.shown", key = head)
    }
}
