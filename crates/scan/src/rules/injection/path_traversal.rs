use crate::rules::{Rule, RuleMeta};

crate::declare_rule! {
    /// TODO
    pub struct PathTraversal {
        code: "X999",
        name: "path-traversal",
        category: Config,
        severity: Low,
        confidence: Low,
        cwe: [],
        summary: "TODO",
    }
}

impl Rule for PathTraversal {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
}
