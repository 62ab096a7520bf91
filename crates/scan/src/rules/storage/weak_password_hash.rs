use miniguard_report::Severity;
use miniguard_report::msg;

use crate::events::{CallEvent, Cx, Event};
use crate::rules::{Rule, RuleMeta};
use crate::value::{Labels, Value};

crate::declare_rule! {
    /// ## What it finds
    /// A password hashed with MD5 or SHA-1: `crypto.createHash('md5').update(password)`,
    /// `CryptoJS.MD5(password)` / `CryptoJS.SHA1(...)`, `md5(password)` from `md5`,
    /// `blueimp-md5`, `js-md5`, `crypto-js/md5` or a vendored `utils/md5.js`, and helpers named
    /// `hexMD5`, `hex_md5`, `md5`, `sha1` (`utility.md5(pwd)`, `this.$md5(pwd)`). The hashed
    /// value must carry a password (by the names it travelled under: `password`, `pwd`,
    /// `form.passwd`), salted or not.
    ///
    /// MD5 of a file, a nonce or a request signature, SHA-256 signatures, and bcrypt, scrypt,
    /// argon2 and PBKDF2 are not reported. In client code the finding is Medium: hashing a
    /// password before sending it only turns the hash into the password, and the real problem
    /// is how the server stores it; on the server it is High.
    ///
    /// ## Why it matters
    /// MD5 and SHA-1 are fast: a GPU tries billions of guesses per second, and unsalted hashes
    /// of common passwords are in public lookup tables. A leaked user table hashed this way gives
    /// away most passwords in hours — and users reuse them elsewhere.
    ///
    /// ## Example
    /// ```js
    /// const hash = crypto.createHash('md5').update(event.password).digest('hex')
    /// await db.collection('users').add({ data: { phone, password: hash } })
    /// ```
    ///
    /// ## Fix
    /// Store passwords with a slow, salted password hash: `bcrypt.hash(pw, 12)`, argon2id,
    /// `crypto.scrypt`, or PBKDF2 with a high iteration count. Send the password over HTTPS and
    /// hash it on the server.
    ///
    /// ## References
    /// - CWE-916: Use of Password Hash With Insufficient Computational Effort
    /// - CWE-328: Use of Weak Hash
    /// - OWASP Password Storage Cheat Sheet
    pub struct WeakPasswordHash {
        code: "S006",
        name: "weak-password-hash",
        category: Storage,
        severity: High,
        confidence: High,
        cwe: [916, 328],
        summary: "Password hashed with MD5 or SHA-1",
    }
}

impl Rule for WeakPasswordHash {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &mut Cx<'_>, event: &Event<'_, '_>) {
        let Event::Call(call) = event else { return };
        let Some(algo) = weak_hash(call) else { return };
        let Some(arg) = call.arg(0) else { return };
        if !arg.deep_labels().contains(Labels::PASSWORD) {
            return;
        }
        let shown = shorten(cx.text(call.arg_span(0)));
        let side = cx.role;
        let severity = if cx.is_client() {
            Severity::Medium
        } else {
            Severity::High
        };
        cx.report(
            &Self::META,
            call.span,
            msg!("S006.hashed", shown = shown, algorithm = algo),
        )
        .severity(severity)
        // One password scheme used in many places is one flaw, fixed once per side.
        .group(format!("{algo}:{side:?}"))
        .help(msg!("S006.help"));
    }
}

/// `Some("MD5")` / `Some("SHA-1")` when the call computes that hash of its first argument.
fn weak_hash(call: &CallEvent<'_, '_>) -> Option<&'static str> {
    // `crypto.createHash('md5').update(x)`: the receiver keeps the algorithm as its text.
    if call
        .path
        .is_some_and(|p| p.ends_with("createHash().update"))
    {
        let alg = call
            .receiver
            .and_then(Value::exact_text)?
            .to_ascii_lowercase();
        return by_name(&alg.replace('-', ""));
    }
    if let Some(p) = call.path {
        let p = p.strip_suffix("()").unwrap_or(p);
        let lower = p.to_ascii_lowercase();
        // crypto-js: `CryptoJS.MD5(x)`, `require('crypto-js/md5')(x)`.
        if let Some(rest) = lower
            .strip_prefix("crypto-js.")
            .or_else(|| lower.strip_prefix("crypto-js/"))
        {
            return by_name(rest);
        }
        // Hash modules called directly or through a method (`md5(x)`, `md5.hex(x)`).
        let module = lower.split('.').next().unwrap_or("");
        let module_algo = match module {
            "md5" | "blueimp-md5" | "js-md5" | "md5.js" | "crypto-md5" | "spark-md5" => Some("MD5"),
            "sha1" | "js-sha1" | "sha-1" => Some("SHA-1"),
            _ => None,
        };
        if module_algo.is_some()
            && matches!(lower.rsplit('.').next(), Some(m) if m == module || is_hash_method(m))
        {
            return module_algo;
        }
    }
    // Helpers by name: `hexMD5(pwd)`, `utils.md5(pwd)`, `this.$md5(pwd)`.
    let m = call
        .method?
        .trim_start_matches(['$', '_'])
        .to_ascii_lowercase();
    by_name(&m)
}

fn is_hash_method(m: &str) -> bool {
    matches!(
        m,
        "hex" | "hash" | "hexmd5" | "hex_md5" | "digest" | "md5" | "sha1" | "hex_sha1" | "hexsha1"
    )
}

fn by_name(name: &str) -> Option<&'static str> {
    match name {
        "md5" | "hexmd5" | "hex_md5" | "b64_md5" | "md5hex" | "md5_hex" | "hexmd5str" => {
            Some("MD5")
        }
        "md4" => Some("MD4"),
        "sha1" | "hexsha1" | "hex_sha1" | "b64_sha1" | "sha1hex" | "sha1_hex" => Some("SHA-1"),
        _ => None,
    }
}

fn shorten(s: &str) -> String {
    let one_line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 50 {
        one_line.chars().take(50).collect::<String>() + "…"
    } else {
        one_line
    }
}
