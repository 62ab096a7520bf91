use crate::rules::{Rule, RuleMeta};

crate::declare_rule! {
    /// TODO
    pub struct CommandInjection {
        code: "X999",
        name: "command-injection",
        category: Config,
        severity: Low,
        confidence: Low,
        cwe: [],
        summary: "TODO",
    }
}

impl Rule for CommandInjection {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
}
