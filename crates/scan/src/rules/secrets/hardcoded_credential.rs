use crate::rules::{Rule, RuleMeta};

crate::declare_rule! {
    /// TODO
    pub struct HardcodedCredential {
        code: "X999",
        name: "hardcoded-credential",
        category: Config,
        severity: Low,
        confidence: Low,
        cwe: [],
        summary: "TODO",
    }
}

impl Rule for HardcodedCredential {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
}
