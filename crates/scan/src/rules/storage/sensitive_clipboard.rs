use crate::rules::{Rule, RuleMeta};

crate::declare_rule! {
    /// TODO
    pub struct SensitiveClipboard {
        code: "X999",
        name: "sensitive-clipboard",
        category: Config,
        severity: Low,
        confidence: Low,
        cwe: [],
        summary: "TODO",
    }
}

impl Rule for SensitiveClipboard {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
}
