use miniguard_report::{Msg, msg};
use std::sync::LazyLock;

use regex::Regex;

use crate::events::{Cx, Event};
use crate::rules::{Rule, RuleMeta};

crate::declare_rule! {
    /// ## What it finds
    /// A cloud provider access key in a string literal, recognised by its fixed format:
    ///
    /// - Tencent Cloud `SecretId`: `AKID` followed by 32 letters and digits (COS, SMS, TCB, ...);
    /// - Alibaba Cloud `AccessKeyId`: `LTAI` followed by 12 to 24 letters and digits (OSS, SMS);
    /// - AWS access key id: `AKIA` / `ASIA` followed by 16 upper-case letters and digits.
    ///
    /// The id is the half of the pair with a recognisable shape; its secret half sits next to it
    /// (reported by the hardcoded-credential rule when bound to a `SecretKey`-style name).
    /// Documentation examples (`AKIAIOSFODNN7EXAMPLE`, anything containing `EXAMPLE`) and masked
    /// placeholders (`AKIDxxxxxxxx…`) are not reported.
    ///
    /// ## Why it matters
    /// A cloud key in code is an account credential: with it anyone can read and overwrite the
    /// object storage buckets, send SMS at the owner's cost, or call any API the key's policy
    /// allows. Keys in mini-program packages are extracted by automated scanners within days of
    /// release; keys in repositories the moment they are pushed.
    ///
    /// ## Example
    /// ```js
    /// const cos = new COS({ SecretId: 'AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA', SecretKey: '...' })
    /// ```
    ///
    /// ## Fix
    /// Disable the key in the cloud console now. Upload from the client with temporary
    /// credentials (Tencent STS, Alibaba STS, AWS STS) or server-signed URLs, and keep long-term
    /// keys in server-side environment variables or a role.
    ///
    /// ## References
    /// - CWE-798: Use of Hard-coded Credentials
    /// - Tencent Cloud: temporary keys for COS direct upload from mini-programs
    pub struct CloudAccessKey {
        code: "K002",
        name: "cloud-access-key",
        category: Secrets,
        severity: Critical,
        confidence: High,
        cwe: [798],
        summary: "Cloud provider access key hardcoded in the code",
    }
}

/// A phrase of the message tables, made on demand.
type Phrase = fn() -> Msg;

static KEYS: LazyLock<[(Regex, Phrase); 3]> = LazyLock::new(|| {
    let re = |s: &str| Regex::new(s).expect("valid regex");
    [
        (re(r"\bAKID[0-9A-Za-z]{32}\b"), || msg!("K002.tencent")),
        (re(r"\bLTAI[0-9A-Za-z]{12,24}\b"), || msg!("K002.alibaba")),
        (re(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), || msg!("K002.aws")),
    ]
});

impl Rule for CloudAccessKey {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &mut Cx<'_>, event: &Event<'_, '_>) {
        let Event::Literal(lit) = event else { return };
        // Data URIs are long base64 runs where a key-shaped substring is chance.
        if lit.text.len() < 16 || lit.text.starts_with("data:") {
            return;
        }
        for (re, what) in KEYS.iter() {
            let Some(m) = re.find_iter(lit.text).find(|m| !is_placeholder(m.as_str())) else {
                continue;
            };
            let key = m.as_str();
            let shown: String = key.chars().take(8).collect();
            let place = if cx.is_client() {
                msg!("secret.shipped")
            } else {
                msg!("secret.in-source")
            };
            cx.report(
                &Self::META,
                lit.span,
                msg!("K002.hardcoded", kind = what(), key = shown, place = place),
            )
            .help(msg!("K002.help"));
            return;
        }
    }
}

/// Documentation examples and masked keys.
fn is_placeholder(key: &str) -> bool {
    let upper = key.to_ascii_uppercase();
    if upper.contains("EXAMPLE") || upper.contains("XXXX") || upper.contains("0000000") {
        return true;
    }
    // The random part must look random: several distinct characters.
    let body = &key[4..];
    body.bytes()
        .collect::<std::collections::BTreeSet<u8>>()
        .len()
        < 6
}
