use crate::rules::{Rule, RuleMeta};

crate::declare_rule! {
    /// TODO
    pub struct WebViewSrc {
        code: "X999",
        name: "web-view-src",
        category: Config,
        severity: Low,
        confidence: Low,
        cwe: [],
        summary: "TODO",
    }
}

impl Rule for WebViewSrc {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
}
