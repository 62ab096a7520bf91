use miniguard_report::msg;
use std::rc::Rc;

use crate::config::{AppFacts, ProjectFacts};
use crate::events::Cx;
use crate::js::apis::MP_PRIVATE_INFOS;
use crate::rules::{Rule, RuleMeta};
use crate::value::Origin;

crate::declare_rule! {
    /// ## What it finds
    /// A WeChat mini-program that calls a location API (`wx.getLocation`,
    /// `getFuzzyLocation`, `onLocationChange`, `startLocationUpdate`,
    /// `startLocationUpdateBackground`, `chooseLocation`, `choosePoi`, `chooseAddress`, also
    /// through `uni.` / `Taro.` or a wrapper) while the `app.json` of that mini-program does
    /// not list the API in `requiredPrivateInfos`. Each call site is reported.
    ///
    /// Calls written with another platform's namespace (`my.getLocation` for Alipay,
    /// `tt.getLocation` for Douyin) are not reported: the declaration is WeChat's. Projects
    /// whose `app.json` is generated at build time (uni-app `pages.json`, Taro
    /// `app.config.js`) are not checked, since the source has no `app.json` to compare with.
    ///
    /// ## Why it matters
    /// Since 2022-07-14 WeChat requires every mini-program to declare in `app.json` which
    /// location APIs it uses; the declaration is reviewed and shown to users as part of the
    /// mini-program's privacy scope. An undeclared API fails in the released mini-program
    /// (`requiredPrivateInfos` error), and collecting users' location outside the declared,
    /// reviewed scope is exactly the undisclosed handling of private information the rule is
    /// meant to prevent. CWE-359 is used because the finding is about private personal data
    /// (the user's position and addresses) handled outside its declared scope.
    ///
    /// ## Example
    /// ```js
    /// // app.json: { "pages": ["pages/index/index"] }
    /// wx.getLocation({ type: 'gcj02', success: ({ latitude, longitude }) => {} })
    /// ```
    ///
    /// ## Fix
    /// Add the API to `app.json`:
    /// `"requiredPrivateInfos": ["getLocation"]` (with the matching `permission` description
    /// for `scope.userLocation`), and update the privacy agreement in the console.
    ///
    /// ## References
    /// - CWE-359: Exposure of Private Personal Information to an Unauthorized Actor
    /// - WeChat: `app.json` `requiredPrivateInfos` (geographic location API declaration)
    pub struct MissingPrivateInfos {
        code: "C002",
        name: "missing-private-infos",
        category: Config,
        severity: Medium,
        confidence: High,
        cwe: [359],
        summary: "Location API used without a requiredPrivateInfos declaration in app.json",
    }
}

impl Rule for MissingPrivateInfos {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_project(&self, cx: &mut Cx<'_>, facts: &ProjectFacts) {
        for (api, file, span) in &facts.mp_calls {
            if !MP_PRIVATE_INFOS.contains(&api.as_str()) {
                continue;
            }
            let Some(app) = app_of(&facts.apps, file) else {
                continue;
            };
            if app.required_private_infos.iter().any(|d| d == api) {
                continue;
            }
            let origin = Origin {
                file: Rc::clone(file),
                start: span.start,
                end: span.end,
                what: Rc::from(api.as_str()),
            };
            let message = if app.required_private_infos.is_empty() {
                msg!("C002.undeclared", api = api, file = &app.config_rel)
            } else {
                msg!(
                    "C002.declares-only",
                    api = api,
                    file = &app.config_rel,
                    declared = app.required_private_infos.join(", ")
                )
            };
            cx.report_at(&Self::META, &origin, message).help(msg!(
                "C002.help",
                api = api,
                file = &app.config_rel
            ));
        }
    }
}

/// The mini-program a file belongs to: the app whose root is the longest prefix of its path.
fn app_of<'f>(apps: &'f [AppFacts], file: &str) -> Option<&'f AppFacts> {
    apps.iter()
        .filter(|a| {
            let root = a.root_rel.trim_end_matches('/');
            root.is_empty()
                || file
                    .strip_prefix(root)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
        .max_by_key(|a| a.root_rel.len())
}
