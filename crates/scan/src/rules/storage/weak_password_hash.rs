use crate::rules::{Rule, RuleMeta};

crate::declare_rule! {
    /// TODO
    pub struct WeakPasswordHash {
        code: "X999",
        name: "weak-password-hash",
        category: Config,
        severity: Low,
        confidence: Low,
        cwe: [],
        summary: "TODO",
    }
}

impl Rule for WeakPasswordHash {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
}
