use miniguard_report::Severity;
use miniguard_report::{Msg, msg};

use crate::events::{CallEvent, Cx, Event, Span};
use crate::rules::{Rule, RuleMeta};
use crate::value::Value;

crate::declare_rule! {
    /// ## What it finds
    /// Encryption with a broken or unsuitable cipher or mode:
    ///
    /// - crypto-js `DES`, `TripleDES`, `RC4`, `RC4Drop`, `Rabbit` `.encrypt` / `.decrypt`
    ///   (`CryptoJS.DES.encrypt`, `require('crypto-js/tripledes')`, a vendored `crypto-js.js`);
    /// - ECB mode: `mode: CryptoJS.mode.ECB`, `crypto-js/mode-ecb`, Node `aes-128-ecb`, and
    ///   `sm-crypto` / `miniprogram-sm-crypto` `sm4.encrypt(data, key)` without `mode: 'cbc'`
    ///   (its default mode is ECB);
    /// - Node `crypto.createCipheriv` / `createDecipheriv` with a DES, 3DES, RC2, RC4, Blowfish,
    ///   CAST or ECB algorithm;
    /// - Node `crypto.createCipher` / `createDecipher`: deprecated, no IV and an MD5-based key
    ///   derivation.
    ///
    /// AES (or SM4) in CBC, CTR or GCM mode is not reported.
    ///
    /// ## Why it matters
    /// DES keys are brute-forced in hours; 3DES and Blowfish have 64-bit blocks (Sweet32
    /// collisions); RC4's keystream is biased. ECB encrypts equal blocks to equal ciphertext, so
    /// patterns of the plaintext (same phone numbers, same fields) show, and blocks can be cut and
    /// pasted between messages. `createCipher` derives the key with one MD5 round and reuses the
    /// same IV for every message.
    ///
    /// ## Example
    /// ```js
    /// CryptoJS.AES.encrypt(data, key, { mode: CryptoJS.mode.ECB, padding: CryptoJS.pad.Pkcs7 })
    /// crypto.createCipheriv('des-ede3-cbc', key, iv)
    /// ```
    ///
    /// ## Fix
    /// Use AES-256-GCM (or AES-CBC with a random IV and an HMAC, or SM4-CBC/GCM where national
    /// standards apply) with `createCipheriv` and a fresh random IV per message.
    ///
    /// ## References
    /// - CWE-327: Use of a Broken or Risky Cryptographic Algorithm
    /// - NIST SP 800-131A Rev. 2 (DES and 3DES disallowed for encryption)
    pub struct WeakCipher {
        code: "S005",
        name: "weak-cipher",
        category: Storage,
        severity: Medium,
        confidence: High,
        cwe: [327],
        summary: "Broken or risky cipher or cipher mode (DES, 3DES, RC4, ECB, createCipher)",
    }
}

impl Rule for WeakCipher {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &mut Cx<'_>, event: &Event<'_, '_>) {
        match event {
            Event::Member(m) if m.path == Some("crypto-js.mode.ECB") => {
                report_ecb(cx, m.span, msg!("S005.cryptojs-ecb"));
            }
            Event::Property(p) if p.key == "mode" && is_ecb_module(p.value) => {
                report_ecb(cx, p.value_span, msg!("S005.ecb-mode"));
            }
            Event::Assign(a) if a.property == "mode" && is_ecb_module(a.value) => {
                report_ecb(cx, a.value_span, msg!("S005.ecb-mode"));
            }
            Event::Call(call) => check_call(cx, call),
            _ => {}
        }
    }
}

fn is_ecb_module(v: &Value<'_>) -> bool {
    v.api_path() == Some("crypto-js/mode-ecb")
}

fn report_ecb(cx: &mut Cx<'_>, span: Span, what: Msg) {
    cx.report(&WeakCipher::META, span, msg!("S005.ecb", what = what))
        .help(msg!("S005.ecb-help"));
}

fn check_call(cx: &mut Cx<'_>, call: &CallEvent<'_, '_>) {
    let Some(path) = call.path else { return };
    if let Some((algo, op)) = cryptojs_cipher(path) {
        if let Some(why) = weak_cryptojs(algo) {
            cx.report(
                &WeakCipher::META,
                call.span,
                msg!("S005.cryptojs", algo = algo, op = op, why = why),
            )
            .help(msg!("S005.cryptojs-help"));
        }
        return;
    }
    if let Some(f) = node_cipher(path) {
        let alg = call.arg(0).and_then(Value::exact_text);
        let weak = alg.and_then(weak_node_algorithm);
        if f == "createCipher" || f == "createDecipher" {
            let severity = if weak.is_some() {
                Severity::Medium
            } else {
                Severity::Low
            };
            let message = weak.map_or_else(
                || msg!("S005.create-cipher", function = f),
                |w| msg!("S005.create-cipher-weak", function = f, why = w),
            );
            cx.report(&WeakCipher::META, call.span, message)
                .severity(severity)
                .help(msg!("S005.create-cipher-help"));
            return;
        }
        if let (Some(alg), Some(why)) = (alg, weak) {
            cx.report(
                &WeakCipher::META,
                call.arg_span(0),
                msg!("S005.node", function = f, algorithm = alg, why = why),
            )
            .help(msg!("S005.node-help"));
        }
        return;
    }
    if let Some(op) = sm4_call(path) {
        let opts = call.arg(2);
        // No options, options without `mode`, or `mode: 'ecb'`; an unknown mode is not reported.
        let ecb = match opts {
            None => true,
            Some(o) => match o.field("mode") {
                Some(m) => m
                    .exact_text()
                    .is_some_and(|t| t.eq_ignore_ascii_case("ecb")),
                None => o.obj().is_some(),
            },
        };
        if ecb {
            cx.report(&WeakCipher::META, call.span, msg!("S005.sm4", op = op))
                .help(msg!("S005.sm4-help"));
        }
    }
}

/// `(algorithm, operation)` of a crypto-js cipher call: `crypto-js.AES.encrypt` and
/// `crypto-js/aes.encrypt` give `("AES", "encrypt")` / `("aes", "encrypt")`.
pub(crate) fn cryptojs_cipher(path: &str) -> Option<(&str, &str)> {
    let rest = path
        .strip_prefix("crypto-js.")
        .or_else(|| path.strip_prefix("crypto-js/"))?;
    let (algo, op) = rest.split_once('.')?;
    if !matches!(op, "encrypt" | "decrypt") {
        return None;
    }
    let lower = algo.to_ascii_lowercase();
    matches!(
        lower.as_str(),
        "aes" | "des" | "tripledes" | "rc4" | "rc4drop" | "rabbit" | "rabbitlegacy" | "blowfish"
    )
    .then_some((algo, op))
}

fn weak_cryptojs(algo: &str) -> Option<Msg> {
    Some(match algo.to_ascii_lowercase().as_str() {
        "des" => msg!("S005.weak-des"),
        "tripledes" => msg!("S005.weak-tripledes"),
        "rc4" | "rc4drop" => msg!("S005.weak-rc4"),
        "rabbit" | "rabbitlegacy" => msg!("S005.weak-rabbit"),
        "blowfish" => msg!("S005.weak-blowfish"),
        _ => return None,
    })
}

/// The Node cipher factory a path is (`crypto.createCipheriv` -> `createCipheriv`).
pub(crate) fn node_cipher(path: &str) -> Option<&'static str> {
    Some(match path {
        "crypto.createCipheriv" => "createCipheriv",
        "crypto.createDecipheriv" => "createDecipheriv",
        "crypto.createCipher" => "createCipher",
        "crypto.createDecipher" => "createDecipher",
        _ => return None,
    })
}

/// Why a Node / OpenSSL cipher name is weak.
fn weak_node_algorithm(alg: &str) -> Option<Msg> {
    let a = alg.to_ascii_lowercase();
    if a.starts_with("des-ede")
        || a.starts_with("des3")
        || a == "3des"
        || a.starts_with("tripledes")
    {
        Some(msg!("S005.weak-tripledes"))
    } else if a.starts_with("des") {
        Some(msg!("S005.weak-des"))
    } else if a.starts_with("rc4") {
        Some(msg!("S005.weak-rc4"))
    } else if a.starts_with("rc2") {
        Some(msg!("S005.weak-rc2"))
    } else if a.starts_with("bf") || a.starts_with("blowfish") {
        Some(msg!("S005.weak-blowfish"))
    } else if a.starts_with("cast") || a.starts_with("idea") {
        Some(msg!("S005.weak-legacy"))
    } else if a.ends_with("-ecb") || a.contains("-ecb-") {
        Some(msg!("S005.weak-ecb"))
    } else {
        None
    }
}

/// `sm4.encrypt` / `sm4.decrypt` of `sm-crypto` and its mini-program port.
pub(crate) fn sm4_call(path: &str) -> Option<&'static str> {
    let (lib, rest) = path.split_once('.')?;
    if !matches!(lib, "sm-crypto" | "miniprogram-sm-crypto" | "sm-crypto-v2") {
        return None;
    }
    match rest {
        "sm4.encrypt" => Some("encrypt"),
        "sm4.decrypt" => Some("decrypt"),
        _ => None,
    }
}
