use crate::rules::{Rule, RuleMeta};

crate::declare_rule! {
    /// TODO
    pub struct TrustedClientIdentity {
        code: "X999",
        name: "trusted-client-identity",
        category: Config,
        severity: Low,
        confidence: Low,
        cwe: [],
        summary: "TODO",
    }
}

impl Rule for TrustedClientIdentity {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
}
