use crate::rules::{Rule, RuleMeta};

crate::declare_rule! {
    /// TODO
    pub struct CloudAccessKey {
        code: "X999",
        name: "cloud-access-key",
        category: Config,
        severity: Low,
        confidence: Low,
        cwe: [],
        summary: "TODO",
    }
}

impl Rule for CloudAccessKey {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
}
