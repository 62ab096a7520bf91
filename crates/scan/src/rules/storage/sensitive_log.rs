use crate::rules::{Rule, RuleMeta};

crate::declare_rule! {
    /// TODO
    pub struct SensitiveLog {
        code: "X999",
        name: "sensitive-log",
        category: Config,
        severity: Low,
        confidence: Low,
        cwe: [],
        summary: "TODO",
    }
}

impl Rule for SensitiveLog {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
}
