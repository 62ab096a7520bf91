use crate::rules::{Rule, RuleMeta};

crate::declare_rule! {
    /// TODO
    pub struct NavigationInjection {
        code: "X999",
        name: "navigation-injection",
        category: Config,
        severity: Low,
        confidence: Low,
        cwe: [],
        summary: "TODO",
    }
}

impl Rule for NavigationInjection {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
}
