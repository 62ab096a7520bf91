use crate::rules::{Rule, RuleMeta};

crate::declare_rule! {
    /// TODO
    pub struct JwtDecodeWithoutVerify {
        code: "X999",
        name: "jwt-decode-without-verify",
        category: Config,
        severity: Low,
        confidence: Low,
        cwe: [],
        summary: "TODO",
    }
}

impl Rule for JwtDecodeWithoutVerify {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
}
