use crate::rules::{Rule, RuleMeta};

crate::declare_rule! {
    /// TODO
    pub struct UrlCheckDisabled {
        code: "X999",
        name: "url-check-disabled",
        category: Config,
        severity: Low,
        confidence: Low,
        cwe: [],
        summary: "TODO",
    }
}

impl Rule for UrlCheckDisabled {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
}
