//! The language of what people read: the text and HTML reports, `rules`, rule documentation,
//! finding messages (see [`crate::message`]) and what the binary says. English or Simplified
//! Chinese, chosen once per process (`--lang`, else `LC_ALL` / `LC_MESSAGES` / `LANG`). Machine
//! formats (JSON, SARIF) stay English so that their consumers and baselines do not depend on the
//! reader's locale.
//!
//! Rule documentation in other languages lives beside the code in `i18n/<lang>/<CODE>.md` (the
//! summary line, a blank line, the body), embedded at build time; a test checks that every rule
//! has its translation.

use std::sync::OnceLock;

use crate::{Category, Confidence, RuleInfo, Severity};

include!(concat!(env!("OUT_DIR"), "/translations.rs"));

/// A language miniguard speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    #[default]
    En,
    /// Simplified Chinese.
    ZhCn,
}

impl Lang {
    /// `en`, `en_US.UTF-8`, `zh`, `zh-CN`, `zh_CN.UTF-8`, `zh-Hans`...; `None` for others.
    pub fn parse(s: &str) -> Option<Lang> {
        let s = s.trim().to_ascii_lowercase();
        let base = s.split(['.', '@']).next().unwrap_or("");
        if base == "zh" || base.starts_with("zh-") || base.starts_with("zh_") {
            // Traditional Chinese locales are not served by Simplified Chinese text.
            if ["tw", "hk", "mo", "hant"]
                .iter()
                .any(|t| base.ends_with(t) && base.len() > 3)
            {
                return Some(Lang::En);
            }
            return Some(Lang::ZhCn);
        }
        (base == "en"
            || base.starts_with("en-")
            || base.starts_with("en_")
            || base == "c"
            || base == "posix")
            .then_some(Lang::En)
    }

    /// From the environment as POSIX orders it: `LC_ALL`, then `LC_MESSAGES`, then `LANG`.
    pub fn from_env() -> Lang {
        ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|k| std::env::var(k).ok())
            .find(|v| !v.is_empty())
            .and_then(|v| Lang::parse(&v))
            .unwrap_or_default()
    }

    /// The tag of the language (`en`, `zh-CN`), as in `<html lang>` and the `i18n/` folders.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        }
    }
}

static CURRENT: OnceLock<Lang> = OnceLock::new();

/// Sets the language of this process (the first call wins; call it once at start).
pub fn set(lang: Lang) {
    let _ = CURRENT.set(lang);
}

/// The language of this process: what [`set`] chose, else English.
pub fn current() -> Lang {
    CURRENT.get().copied().unwrap_or_default()
}

/// The translation of a rule's summary and documentation, when there is one.
pub fn rule_text(lang: Lang, code: &str) -> Option<(&'static str, &'static str)> {
    let (_, _, text) = TRANSLATIONS
        .iter()
        .find(|(l, c, _)| *l == lang.tag() && *c == code)?;
    let (summary, body) = text.split_once('\n').unwrap_or((text, ""));
    Some((summary.trim(), body.trim_start_matches(['\n', '\r'])))
}

/// Rules with a translation into `lang` (for the completeness test and `rules --json`).
pub fn translated_codes(lang: Lang) -> Vec<&'static str> {
    TRANSLATIONS
        .iter()
        .filter(|(l, _, _)| *l == lang.tag())
        .map(|(_, c, _)| *c)
        .collect()
}

/// The rule with its summary and documentation in `lang` where a translation exists.
pub fn localize(rule: &RuleInfo, lang: Lang) -> RuleInfo {
    let mut out = rule.clone();
    if lang != Lang::En
        && let Some((summary, docs)) = rule_text(lang, &rule.code)
    {
        summary.clone_into(&mut out.summary);
        docs.clone_into(&mut out.docs);
    }
    out
}

/// A severity's name for people.
pub fn severity(s: Severity, lang: Lang) -> &'static str {
    match lang {
        Lang::En => s.as_str(),
        Lang::ZhCn => match s {
            Severity::Critical => "严重",
            Severity::High => "高危",
            Severity::Medium => "中危",
            Severity::Low => "低危",
            Severity::Info => "提示",
        },
    }
}

/// A platform's name for people, from its report name (`alipay` -> Alipay / 支付宝).
pub fn platform(name: &str, lang: Lang) -> String {
    let (en, zh) = match name {
        "wechat" => ("WeChat", "微信"),
        "alipay" => ("Alipay", "支付宝"),
        "douyin" => ("Douyin", "抖音"),
        "baidu" => ("Baidu", "百度"),
        "qq" => ("QQ", "QQ"),
        "uni-app" => ("uni-app", "uni-app"),
        "taro" => ("Taro", "Taro"),
        other => (other, other),
    };
    match lang {
        Lang::En => en.to_owned(),
        Lang::ZhCn => zh.to_owned(),
    }
}

/// A confidence's name for people.
pub fn confidence(c: Confidence, lang: Lang) -> &'static str {
    match (lang, c) {
        (Lang::En, Confidence::High) => "high",
        (Lang::En, Confidence::Medium) => "medium",
        (Lang::En, Confidence::Low) => "low",
        (Lang::ZhCn, Confidence::High) => "高",
        (Lang::ZhCn, Confidence::Medium) => "中",
        (Lang::ZhCn, Confidence::Low) => "低",
    }
}

/// A category's name for people.
pub fn category(c: Category, lang: Lang) -> &'static str {
    match lang {
        Lang::En => c.as_str(),
        Lang::ZhCn => match c {
            Category::Transport => "传输",
            Category::Auth => "鉴权",
            Category::Injection => "注入",
            Category::Xss => "跨站脚本",
            Category::Storage => "存储",
            Category::Secrets => "密钥",
            Category::Config => "配置",
            Category::Dependency => "依赖",
        },
    }
}

/// The fixed phrases of the reports, text and HTML alike: one table per language. `{}` marks
/// where a value goes ([`fill`]).
pub struct Ui {
    pub no_findings: &'static str,
    pub no_findings_at_or_above: &'static str,
    pub summary: &'static str,
    pub category: &'static str,
    pub total: &'static str,
    pub found: &'static str,
    pub files_scanned: &'static str,
    pub skipped: &'static str,
    pub suppressed: &'static str,
    pub not_shown: &'static str,
    pub warnings: &'static str,
    pub took: &'static str,
    pub report_title: &'static str,
    pub root: &'static str,
    pub platform: &'static str,
    pub findings: &'static str,
    pub duration: &'static str,
    pub min_severity: &'static str,
    pub rule: &'static str,
    pub path: &'static str,
    pub search: &'static str,
    pub path_hint: &'static str,
    pub search_hint: &'static str,
    pub shown: &'static str,
    pub all: &'static str,
    pub rules: &'static str,
    pub confidence: &'static str,
    pub help: &'static str,
    pub severity_here: &'static str,
    pub confidence_here: &'static str,
    pub less_likely: &'static str,
    pub less_likely_why: &'static str,
    pub same_flaw: &'static str,
    pub data_flow: &'static str,
    pub fingerprint: &'static str,
    pub generated_by: &'static str,
    // The labels of a finding's frame in the text report (rustc style: `= help: ...`).
    /// Between a label and its text.
    pub colon: &'static str,
    /// Before the finding's own message when the headline is the rule's translated summary.
    pub detail: &'static str,
    pub help_label: &'static str,
    pub severity_label: &'static str,
    /// `{}` the severity (or confidence), then `{}` the reason.
    pub level_here: &'static str,
    pub note_label: &'static str,
    pub same_flaw_note: &'static str,
    pub data_flow_note: &'static str,
    pub warning_label: &'static str,
}

const EN: Ui = Ui {
    no_findings: "No findings.",
    no_findings_at_or_above: "No findings at or above {}.",
    summary: "Summary",
    category: "category",
    total: "total",
    found: "Found {}.",
    files_scanned: "Files scanned",
    skipped: "skipped",
    suppressed: "Suppressed",
    not_shown: "Not shown",
    warnings: "Warnings",
    took: "Duration",
    report_title: "miniguard report",
    root: "Root",
    platform: "Platform",
    findings: "Findings",
    duration: "Duration",
    min_severity: "Minimum severity",
    rule: "Rule",
    path: "Path",
    search: "Search",
    path_hint: "part of a path",
    search_hint: "message, code, rule",
    shown: "shown",
    all: "all",
    rules: "Rules",
    confidence: "confidence",
    help: "Help:",
    severity_here: "Severity {} here:",
    confidence_here: "Confidence {} here:",
    less_likely: "Less likely",
    less_likely_why: "The code of these findings rarely runs for a user: a page handler that nothing binds or calls, or code only development builds run.",
    same_flaw: "The same flaw, also at",
    data_flow: "Data flow, source first",
    fingerprint: "Fingerprint",
    generated_by: "Generated by miniguard {}.",
    colon: ": ",
    detail: "",
    help_label: "help",
    severity_label: "severity",
    level_here: "{} here: {}",
    note_label: "note",
    same_flaw_note: "the same flaw, also at:",
    data_flow_note: "data flow, source first:",
    warning_label: "warning",
};

const ZH_CN: Ui = Ui {
    no_findings: "未发现问题。",
    no_findings_at_or_above: "未发现{}及以上的问题。",
    summary: "概览",
    category: "类别",
    total: "合计",
    found: "发现 {} 个问题。",
    files_scanned: "已扫描文件",
    skipped: "跳过",
    suppressed: "已抑制",
    not_shown: "未显示",
    warnings: "警告",
    took: "耗时",
    report_title: "miniguard 报告",
    root: "根目录",
    platform: "平台",
    findings: "问题",
    duration: "耗时",
    min_severity: "最低级别",
    rule: "规则",
    path: "路径",
    search: "搜索",
    path_hint: "路径的一部分",
    search_hint: "描述、代码、规则",
    shown: "条显示中",
    all: "全部",
    rules: "规则",
    confidence: "置信度",
    help: "帮助：",
    severity_here: "此处级别为{}：",
    confidence_here: "此处置信度为{}：",
    less_likely: "可能性较低",
    less_likely_why: "这些问题所在的代码很少为用户运行：没有任何模板绑定或调用的页面事件处理函数，或仅在开发版中运行的代码。",
    same_flaw: "同一问题，另见",
    data_flow: "数据流（从来源开始）",
    fingerprint: "指纹",
    generated_by: "由 miniguard {} 生成。",
    colon: "：",
    detail: "详情：",
    help_label: "建议",
    severity_label: "级别",
    level_here: "此处为{}：{}",
    note_label: "注",
    same_flaw_note: "同一问题，另见：",
    data_flow_note: "数据流（从来源开始）：",
    warning_label: "警告",
};

/// The phrases of `lang`.
pub fn ui(lang: Lang) -> &'static Ui {
    match lang {
        Lang::En => &EN,
        Lang::ZhCn => &ZH_CN,
    }
}

/// `template` with each `{}` replaced by the next of `values`.
pub fn fill(template: &str, values: &[&str]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut values = values.iter();
    let mut rest = template;
    while let Some(at) = rest.find("{}") {
        out.push_str(&rest[..at]);
        out.push_str(values.next().copied().unwrap_or(""));
        rest = &rest[at + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locales_map_to_languages() {
        for zh in [
            "zh",
            "zh_CN.UTF-8",
            "zh-CN",
            "zh-Hans",
            "ZH_cn.utf8",
            "zh_SG",
        ] {
            assert_eq!(Lang::parse(zh), Some(Lang::ZhCn), "{zh}");
        }
        for en in ["en", "en_US.UTF-8", "C", "POSIX", "zh_TW.UTF-8", "zh-Hant"] {
            assert_eq!(Lang::parse(en), Some(Lang::En), "{en}");
        }
        assert_eq!(Lang::parse("fr_FR.UTF-8"), None);
    }

    #[test]
    fn fill_places_values_in_order() {
        assert_eq!(fill("Found {}.", &["3 findings"]), "Found 3 findings.");
        assert_eq!(fill("{} and {}", &["a"]), "a and ");
    }
}
