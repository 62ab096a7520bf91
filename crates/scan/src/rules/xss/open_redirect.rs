use crate::rules::{Rule, RuleMeta};

crate::declare_rule! {
    /// TODO
    pub struct OpenRedirect {
        code: "X999",
        name: "open-redirect",
        category: Config,
        severity: Low,
        confidence: Low,
        cwe: [],
        summary: "TODO",
    }
}

impl Rule for OpenRedirect {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
}
