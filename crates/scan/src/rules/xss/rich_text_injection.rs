use crate::rules::{Rule, RuleMeta};

crate::declare_rule! {
    /// TODO
    pub struct RichTextInjection {
        code: "X999",
        name: "rich-text-injection",
        category: Config,
        severity: Low,
        confidence: Low,
        cwe: [],
        summary: "TODO",
    }
}

impl Rule for RichTextInjection {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
}
