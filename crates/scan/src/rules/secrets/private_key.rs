use crate::rules::{Rule, RuleMeta};

crate::declare_rule! {
    /// TODO
    pub struct PrivateKey {
        code: "X999",
        name: "private-key",
        category: Config,
        severity: Low,
        confidence: Low,
        cwe: [],
        summary: "TODO",
    }
}

impl Rule for PrivateKey {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
}
