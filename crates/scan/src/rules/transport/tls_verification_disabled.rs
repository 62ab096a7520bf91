use crate::rules::{Rule, RuleMeta};

crate::declare_rule! {
    /// TODO
    pub struct TlsVerificationDisabled {
        code: "X999",
        name: "tls-verification-disabled",
        category: Config,
        severity: Low,
        confidence: Low,
        cwe: [],
        summary: "TODO",
    }
}

impl Rule for TlsVerificationDisabled {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
}
