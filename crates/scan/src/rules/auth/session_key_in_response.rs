use crate::rules::{Rule, RuleMeta};

crate::declare_rule! {
    /// TODO
    pub struct SessionKeyInResponse {
        code: "X999",
        name: "session-key-in-response",
        category: Config,
        severity: Low,
        confidence: Low,
        cwe: [],
        summary: "TODO",
    }
}

impl Rule for SessionKeyInResponse {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
}
