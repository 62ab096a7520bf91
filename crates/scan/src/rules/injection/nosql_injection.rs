use crate::rules::{Rule, RuleMeta};

crate::declare_rule! {
    /// TODO
    pub struct NosqlInjection {
        code: "X999",
        name: "nosql-injection",
        category: Config,
        severity: Low,
        confidence: Low,
        cwe: [],
        summary: "TODO",
    }
}

impl Rule for NosqlInjection {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
}
