use crate::rules::{Rule, RuleMeta};

crate::declare_rule! {
    /// TODO
    pub struct HardcodedCryptoKey {
        code: "X999",
        name: "hardcoded-crypto-key",
        category: Config,
        severity: Low,
        confidence: Low,
        cwe: [],
        summary: "TODO",
    }
}

impl Rule for HardcodedCryptoKey {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
}
