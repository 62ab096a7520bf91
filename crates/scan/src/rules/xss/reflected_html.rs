use crate::rules::{Rule, RuleMeta};

crate::declare_rule! {
    /// TODO
    pub struct ReflectedHtml {
        code: "X999",
        name: "reflected-html",
        category: Config,
        severity: Low,
        confidence: Low,
        cwe: [],
        summary: "TODO",
    }
}

impl Rule for ReflectedHtml {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
}
