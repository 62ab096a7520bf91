use crate::rules::{Rule, RuleMeta};

crate::declare_rule! {
    /// TODO
    pub struct MissingPrivateInfos {
        code: "X999",
        name: "missing-private-infos",
        category: Config,
        severity: Low,
        confidence: Low,
        cwe: [],
        summary: "TODO",
    }
}

impl Rule for MissingPrivateInfos {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
}
