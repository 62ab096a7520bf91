use crate::rules::{Rule, RuleMeta};

crate::declare_rule! {
    /// TODO
    pub struct SessionKeyOnClient {
        code: "X999",
        name: "session-key-on-client",
        category: Config,
        severity: Low,
        confidence: Low,
        cwe: [],
        summary: "TODO",
    }
}

impl Rule for SessionKeyOnClient {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
}
