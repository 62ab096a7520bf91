use miniguard_report::Severity;
use miniguard_report::{Msg, msg};

use crate::events::{Cx, Event};
use crate::names::words;
use crate::rules::{Rule, RuleMeta};

crate::declare_rule! {
    /// ## What it finds
    /// A private key written in the code:
    ///
    /// - PEM blocks `-----BEGIN RSA PRIVATE KEY-----`, `EC`, `DSA`, `OPENSSH`, PKCS#8
    ///   `PRIVATE KEY` and `PGP PRIVATE KEY BLOCK`, in string or template literals or the first
    ///   part of a concatenation;
    /// - bare base64 keys as Alipay and WeChat Pay SDKs take them (`MIIEvQIBADAN…`, 600+
    ///   characters) bound to a name such as `privateKey`, `merchantPrivateKey`,
    ///   `appPrivateKey`, `rsaPrivateKey`.
    ///
    /// `ENCRYPTED PRIVATE KEY` blocks are reported at High rather than Critical: the key is
    /// protected by a passphrase, but the passphrase is almost always in the same code base.
    /// Public keys (`-----BEGIN PUBLIC KEY-----`, `alipayPublicKey`), certificates and keys read
    /// from files or environment variables are not reported.
    ///
    /// ## Why it matters
    /// A private key is an identity: with the merchant key anyone can sign Alipay or WeChat Pay
    /// requests (refunds, transfers) as the merchant; with a JWT signing key they mint tokens for
    /// any user; with an RSA key used for "client-side encryption" they decrypt everything the
    /// app protects. In a mini-program package it ships to every user.
    ///
    /// ## Example
    /// ```js
    /// const alipaySdk = new AlipaySdk({ appId: '2021000000000000', privateKey: 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC…' })
    /// ```
    ///
    /// ## Fix
    /// Revoke the key pair and generate a new one. Load the private key on the server from a file
    /// outside the repository, an environment variable or a secrets manager
    /// (`fs.readFileSync(process.env.ALIPAY_KEY_PATH)`); never put a private key in client code.
    ///
    /// ## References
    /// - CWE-321: Use of Hard-coded Cryptographic Key
    /// - CWE-798: Use of Hard-coded Credentials
    pub struct PrivateKey {
        code: "K003",
        name: "private-key",
        category: Secrets,
        severity: Critical,
        confidence: High,
        cwe: [321, 798],
        summary: "Private key hardcoded in the code",
    }
}

/// What a literal holds, if it is a private key: (description, encrypted).
pub(crate) fn private_key_kind(text: &str, name_hint: Option<&str>) -> Option<(Msg, bool)> {
    if let Some(pos) = text.find("-----BEGIN ") {
        let rest = &text[pos + 11..];
        let label = rest.split("-----").next().unwrap_or("");
        if label.len() > 40 {
            return None;
        }
        return match label {
            "RSA PRIVATE KEY" => Some((msg!("K003.rsa"), false)),
            "EC PRIVATE KEY" => Some((msg!("K003.ec"), false)),
            "DSA PRIVATE KEY" => Some((msg!("K003.dsa"), false)),
            "OPENSSH PRIVATE KEY" => Some((msg!("K003.openssh"), false)),
            "PRIVATE KEY" => Some((msg!("K003.pkcs8"), false)),
            "PGP PRIVATE KEY BLOCK" => Some((msg!("K003.pgp"), false)),
            "ENCRYPTED PRIVATE KEY" => Some((msg!("K003.encrypted"), true)),
            _ => None,
        };
    }
    if is_private_key_name(name_hint?) && is_base64_private_key(text) {
        return Some((msg!("K003.base64"), false));
    }
    None
}

fn is_private_key_name(name: &str) -> bool {
    let ws = words(name);
    let joined: String = ws.concat();
    (joined.ends_with("privatekey") || joined.ends_with("prikey") || joined.ends_with("privkey"))
        && !ws
            .iter()
            .any(|w| w == "public" || w == "path" || w == "file")
}

/// A DER private key in base64 on one line: `MII…`, long enough not to be a public key.
fn is_base64_private_key(text: &str) -> bool {
    let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    t.len() >= 600
        && t.starts_with("MII")
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
}

impl Rule for PrivateKey {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &mut Cx<'_>, event: &Event<'_, '_>) {
        let Event::Literal(lit) = event else { return };
        let Some((what, encrypted)) = private_key_kind(lit.text, lit.name_hint) else {
            return;
        };
        let place = if cx.is_client() {
            msg!("secret.shipped")
        } else {
            msg!("secret.in-source")
        };
        let r = cx
            .report(
                &Self::META,
                lit.span,
                msg!("K003.hardcoded", what = what, place = place),
            )
            .help(msg!("K003.help"));
        if encrypted {
            r.severity(Severity::High);
        }
    }
}
