//! The severity model: how bad a finding is depends on where its code runs.
//!
//! A rule declares the severity of its flaw where nothing else stands in the way. The same code
//! is less dangerous where the platform bounds it: a release build of a native mini-program only
//! reaches the request domains configured in its console, which must be HTTPS, and its
//! `web-view` only opens the configured business domains; a setting that only the developer
//! tools read never reaches a user at all. The rows of [`MODEL`] say, per rule and [`Runtime`],
//! how far a finding's severity goes down, and why; the pipeline applies them after findings
//! are merged (one flaw, one finding) and before suppressions. The model never raises a
//! severity. `docs/severity.md` is the same table for people.
//!
//! Where code runs comes from the file's role and the project's platform (see
//! [`runtime_of`]), refined by uni-app's conditional compilation (`// #ifdef MP-WEIXIN` ...
//! `// #endif`, see [`ConditionalBlocks`]), or set by the rule itself for settings only the
//! developer tools read.

use miniguard_project::{Platform, Role};
use miniguard_report::{Msg, Runtime, Severity, msg};

/// One row of the model: findings of `rule` (every rule when `None`) whose code runs in one of
/// `runtimes` are at most `severity`.
#[derive(Debug)]
pub struct Row {
    pub rule: Option<&'static str>,
    pub runtimes: &'static [Runtime],
    pub severity: Severity,
    /// Why, in one sentence; shown with the finding (`severity_reason`).
    pub why: fn() -> Msg,
}

/// The model. Rows are checked in order; the first that matches decides.
pub const MODEL: &[Row] = &[
    Row {
        rule: None,
        runtimes: &[Runtime::DevTools],
        severity: Severity::Info,
        why: || msg!("severity.dev-tools"),
    },
    Row {
        rule: Some("T001"),
        runtimes: &[Runtime::MiniProgram],
        severity: Severity::Low,
        why: || msg!("severity.T001-mini-program"),
    },
    Row {
        rule: Some("X002"),
        runtimes: &[Runtime::MiniProgram],
        severity: Severity::Medium,
        why: || msg!("severity.X002-mini-program"),
    },
];

/// The severity of a finding of `rule` with severity `severity` whose code runs in `runtime`,
/// and the reason when the model lowers it.
pub fn adjust(rule: &str, severity: Severity, runtime: Option<Runtime>) -> Option<(Severity, Msg)> {
    let runtime = runtime?;
    let row = MODEL
        .iter()
        .find(|r| r.rule.is_none_or(|c| c == rule) && r.runtimes.contains(&runtime))?;
    (row.severity < severity).then(|| (row.severity, (row.why)()))
}

/// The rows that concern `rule`, for its documentation.
pub fn rows_for(rule: &str) -> impl Iterator<Item = &'static Row> + '_ {
    MODEL.iter().filter(move |r| r.rule == Some(rule))
}

/// Where a file's code runs, from its role and the platform of the app it belongs to
/// (`app_platform`, else the project's).
pub fn runtime_of(
    role: Role,
    app_platform: Option<Platform>,
    project: Platform,
) -> Option<Runtime> {
    match role {
        Role::CloudFunction => Some(Runtime::CloudFunction),
        Role::Server => Some(Runtime::Server),
        Role::Client => Some(match app_platform.unwrap_or(project) {
            Platform::WeChat
            | Platform::Alipay
            | Platform::Douyin
            | Platform::Baidu
            | Platform::Qq => Runtime::MiniProgram,
            // uni-app and Taro build the same code for H5 and App too; an unknown platform
            // is taken at its most exposed as well.
            Platform::UniApp | Platform::Taro | Platform::Unknown => Runtime::CrossPlatform,
        }),
        Role::Unknown => None,
    }
}

/// Most nested conditional-compilation blocks a file is read for; deeper ones count as unknown.
const MAX_DEPTH: usize = 32;

/// uni-app conditional compilation in one file: the byte ranges between `#ifdef X` and its
/// `#endif` (in `//`, `/* */` or `<!-- -->` comments) whose condition names only mini-program
/// platforms (`MP`, `MP-WEIXIN || MP-ALIPAY`: compiled only into mini-programs), only `H5`, or
/// only App platforms (`APP`, `APP-PLUS`, `APP-NVUE`). Code in such a block runs there and
/// nowhere else. `#ifndef` blocks and mixed conditions say nothing.
#[derive(Debug, Default)]
pub struct ConditionalBlocks {
    /// (start, end, runtime), innermost blocks after the blocks that contain them.
    blocks: Vec<(usize, usize, Runtime)>,
}

impl ConditionalBlocks {
    /// Read the blocks of `src`: one pass over its lines.
    pub fn new(src: &str) -> Self {
        let mut blocks = Vec::new();
        // Open blocks: (start, what they say).
        let mut open: Vec<(usize, Option<Runtime>)> = Vec::new();
        let mut offset = 0;
        for line in src.split_inclusive('\n') {
            let start = offset;
            offset += line.len();
            let text = line.trim();
            let Some(body) = text
                .strip_prefix("//")
                .or_else(|| text.strip_prefix("/*"))
                .or_else(|| text.strip_prefix("<!--"))
            else {
                continue;
            };
            let body = body.trim_end_matches("-->").trim_end_matches("*/").trim();
            if let Some(condition) = body.strip_prefix("#ifdef") {
                if open.len() < MAX_DEPTH {
                    open.push((start, condition_runtime(condition)));
                }
            } else if body.starts_with("#ifndef") {
                if open.len() < MAX_DEPTH {
                    open.push((start, None));
                }
            } else if body.starts_with("#endif")
                && let Some((from, runtime)) = open.pop()
                && let Some(runtime) = runtime
            {
                blocks.push((from, offset, runtime));
            }
        }
        // Blocks close inner first; sorting by start puts an outer block before the blocks
        // it contains, so the last match of a lookup is the innermost.
        blocks.sort_by_key(|b| b.0);
        ConditionalBlocks { blocks }
    }

    /// Where the code at byte `offset` runs, if a conditional block says.
    pub fn runtime_at(&self, offset: usize) -> Option<Runtime> {
        self.blocks
            .iter()
            .take_while(|b| b.0 <= offset)
            .filter(|b| offset < b.1)
            .last()
            .map(|b| b.2)
    }
}

/// What an `#ifdef` condition (`MP-WEIXIN || MP-ALIPAY`) says about where the code runs.
fn condition_runtime(condition: &str) -> Option<Runtime> {
    let mut names = condition
        .split("||")
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .peekable();
    names.peek()?;
    let mut runtime = None;
    for name in names {
        let name = name.to_ascii_uppercase();
        let this = if name == "MP" || name.starts_with("MP-") {
            Runtime::MiniProgram
        } else if name == "H5" || name == "WEB" {
            Runtime::H5
        } else if name == "APP" || name.starts_with("APP-") {
            Runtime::App
        } else {
            return None;
        };
        if runtime.is_some_and(|r| r != this) {
            return None;
        }
        runtime = Some(this);
    }
    runtime
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_lowers_and_never_raises() {
        assert_eq!(
            adjust("T001", Severity::High, Some(Runtime::MiniProgram)).map(|a| a.0),
            Some(Severity::Low)
        );
        assert_eq!(
            adjust("T001", Severity::High, Some(Runtime::CrossPlatform)),
            None
        );
        assert_eq!(adjust("T001", Severity::High, Some(Runtime::H5)), None);
        assert_eq!(adjust("T001", Severity::High, None), None);
        assert_eq!(
            adjust("C001", Severity::Low, Some(Runtime::DevTools)).map(|a| a.0),
            Some(Severity::Info)
        );
        assert_eq!(
            adjust("C001", Severity::Info, Some(Runtime::DevTools)),
            None
        );
        assert_eq!(
            adjust("X002", Severity::High, Some(Runtime::MiniProgram)).map(|a| a.0),
            Some(Severity::Medium)
        );
        assert_eq!(adjust("X002", Severity::High, Some(Runtime::App)), None);
    }

    #[test]
    fn roles_and_platforms_decide_the_runtime() {
        assert_eq!(
            runtime_of(Role::Client, Some(Platform::Alipay), Platform::UniApp),
            Some(Runtime::MiniProgram)
        );
        assert_eq!(
            runtime_of(Role::Client, None, Platform::Taro),
            Some(Runtime::CrossPlatform)
        );
        assert_eq!(
            runtime_of(Role::Server, None, Platform::WeChat),
            Some(Runtime::Server)
        );
        assert_eq!(runtime_of(Role::Unknown, None, Platform::WeChat), None);
    }

    #[test]
    fn uni_app_conditional_compilation() {
        let src = "a()\n// #ifdef MP-WEIXIN || MP-ALIPAY\nb()\n/* #ifdef H5 */\nc()\n// #endif\nd()\n// #endif\n<!-- #ifdef APP-PLUS -->\ne()\n<!-- #endif -->\n// #ifdef MP-WEIXIN || H5\nf()\n// #endif\n// #ifndef MP\ng()\n// #endif\n// #ifdef MP\nh()\n";
        let blocks = ConditionalBlocks::new(src);
        let at = |needle: &str| blocks.runtime_at(src.find(needle).unwrap());
        assert_eq!(at("a()"), None);
        assert_eq!(at("b()"), Some(Runtime::MiniProgram));
        assert_eq!(at("c()"), Some(Runtime::H5));
        assert_eq!(at("d()"), Some(Runtime::MiniProgram));
        assert_eq!(at("e()"), Some(Runtime::App));
        assert_eq!(at("f()"), None);
        assert_eq!(at("g()"), None);
        // Never closed: says nothing.
        assert_eq!(at("h()"), None);
    }
}
