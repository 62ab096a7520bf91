use crate::rules::{Rule, RuleMeta};

crate::declare_rule! {
    /// TODO
    pub struct WeakCipher {
        code: "X999",
        name: "weak-cipher",
        category: Config,
        severity: Low,
        confidence: Low,
        cwe: [],
        summary: "TODO",
    }
}

impl Rule for WeakCipher {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
}
