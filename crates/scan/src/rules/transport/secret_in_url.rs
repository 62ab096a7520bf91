use crate::rules::{Rule, RuleMeta};

crate::declare_rule! {
    /// TODO
    pub struct SecretInUrl {
        code: "X999",
        name: "secret-in-url",
        category: Config,
        severity: Low,
        confidence: Low,
        cwe: [],
        summary: "TODO",
    }
}

impl Rule for SecretInUrl {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
}
