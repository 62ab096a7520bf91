use crate::rules::{Rule, RuleMeta};

crate::declare_rule! {
    /// TODO
    pub struct HardcodedAppsecret {
        code: "X999",
        name: "hardcoded-appsecret",
        category: Config,
        severity: Low,
        confidence: Low,
        cwe: [],
        summary: "TODO",
    }
}

impl Rule for HardcodedAppsecret {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
}
