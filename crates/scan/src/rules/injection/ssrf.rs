use crate::rules::{Rule, RuleMeta};

crate::declare_rule! {
    /// TODO
    pub struct Ssrf {
        code: "X999",
        name: "ssrf",
        category: Config,
        severity: Low,
        confidence: Low,
        cwe: [],
        summary: "TODO",
    }
}

impl Rule for Ssrf {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
}
