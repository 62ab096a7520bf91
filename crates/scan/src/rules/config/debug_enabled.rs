use crate::rules::{Rule, RuleMeta};

crate::declare_rule! {
    /// TODO
    pub struct DebugEnabled {
        code: "X999",
        name: "debug-enabled",
        category: Config,
        severity: Low,
        confidence: Low,
        cwe: [],
        summary: "TODO",
    }
}

impl Rule for DebugEnabled {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
}
