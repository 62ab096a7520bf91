use crate::rules::{Rule, RuleMeta};

crate::declare_rule! {
    /// TODO
    pub struct CodeInjection {
        code: "X999",
        name: "code-injection",
        category: Config,
        severity: Low,
        confidence: Low,
        cwe: [],
        summary: "TODO",
    }
}

impl Rule for CodeInjection {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
}
