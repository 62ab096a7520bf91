use crate::rules::{Rule, RuleMeta};

crate::declare_rule! {
    /// TODO
    pub struct JwtWeakVerification {
        code: "X999",
        name: "jwt-weak-verification",
        category: Config,
        severity: Low,
        confidence: Low,
        cwe: [],
        summary: "TODO",
    }
}

impl Rule for JwtWeakVerification {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
}
