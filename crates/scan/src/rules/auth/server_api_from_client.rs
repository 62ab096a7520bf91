use crate::rules::{Rule, RuleMeta};

crate::declare_rule! {
    /// TODO
    pub struct ServerApiFromClient {
        code: "X999",
        name: "server-api-from-client",
        category: Config,
        severity: Low,
        confidence: Low,
        cwe: [],
        summary: "TODO",
    }
}

impl Rule for ServerApiFromClient {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
}
