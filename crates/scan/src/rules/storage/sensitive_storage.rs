use crate::rules::{Rule, RuleMeta};

crate::declare_rule! {
    /// TODO
    pub struct SensitiveStorage {
        code: "X999",
        name: "sensitive-storage",
        category: Config,
        severity: Low,
        confidence: Low,
        cwe: [],
        summary: "TODO",
    }
}

impl Rule for SensitiveStorage {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
}
