use crate::rules::{Rule, RuleMeta};

crate::declare_rule! {
    /// TODO
    pub struct DomHtmlInjection {
        code: "X999",
        name: "dom-html-injection",
        category: Config,
        severity: Low,
        confidence: Low,
        cwe: [],
        summary: "TODO",
    }
}

impl Rule for DomHtmlInjection {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
}
