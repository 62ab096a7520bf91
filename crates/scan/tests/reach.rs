//! Reachability (issue 10, item 4): findings in page handlers that nothing binds or calls, and
//! in code only development builds run, get one step less confidence and say why; the look-alike
//! code that does run keeps the rule's confidence.

use miniguard_report::{Confidence, Finding};

#[path = "support/project.rs"]
mod support;
use support::{project, scan};

/// A WeChat mini-program with one page made of `js` and, if given, `wxml`.
fn wechat_page(js: &str, wxml: Option<&str>) -> tempfile::TempDir {
    let mut files = vec![
        ("project.config.json", r#"{"miniprogramRoot": "mp/"}"#),
        ("mp/app.json", r#"{"pages": ["pages/index/index"]}"#),
        ("mp/pages/index/index.js", js),
    ];
    if let Some(wxml) = wxml {
        files.push(("mp/pages/index/index.wxml", wxml));
    }
    project(&files)
}

/// The T001 finding (plain-HTTP request) for `host`: (confidence, message).
fn by_host(findings: &[Finding], host: &str) -> (Confidence, String) {
    let f = findings
        .iter()
        .find(|f| f.rule == "T001" && f.message.contains(host))
        .unwrap_or_else(|| panic!("no T001 finding for {host}: {findings:#?}"));
    (f.confidence, f.message.to_string())
}

const UNBOUND: &str = "(handler not bound by any template)";
const DEV: &str = "(development build only)";

/// T001 is a high-confidence rule: lowered once it is medium.
fn assert_kept(findings: &[Finding], host: &str) {
    let (confidence, message) = by_host(findings, host);
    assert_eq!(confidence, Confidence::High, "{host}: {message}");
    assert!(
        !message.contains(UNBOUND) && !message.contains(DEV),
        "{message}"
    );
    let f = findings
        .iter()
        .find(|f| f.message.contains(host))
        .expect("found");
    assert_eq!(f.confidence_reason, None);
}

fn assert_lowered(findings: &[Finding], host: &str, note: &str) {
    let (confidence, message) = by_host(findings, host);
    assert_eq!(confidence, Confidence::Medium, "{host}: {message}");
    assert!(message.ends_with(note), "{message}");
    let f = findings
        .iter()
        .find(|f| f.message.contains(host))
        .expect("found");
    assert_eq!(
        f.confidence_reason.as_deref(),
        Some(note.trim_matches(['(', ')']))
    );
}

#[test]
fn a_handler_no_template_binds_is_less_likely() {
    let p = wechat_page(
        "Page({\n\
         \x20 bound() { wx.request({ url: 'http://bound.example.com/a' }) },\n\
         \x20 catchBound() { wx.request({ url: 'http://catch.example.com/a' }) },\n\
         \x20 unbound() { wx.request({ url: 'http://unbound.example.com/a' }) },\n\
         })\n",
        Some(
            "<view>\n  <button bindtap=\"bound\">a</button>\n  <view catch:longpress=\" catchBound \"/>\n</view>\n",
        ),
    );
    let findings = scan(p.path());
    assert_kept(&findings, "bound.example.com");
    assert_kept(&findings, "catch.example.com");
    assert_lowered(&findings, "unbound.example.com", UNBOUND);
}

/// Lifecycle methods run; what they call (`this.load()`, a callback `this.refresh`) runs, and
/// so does what that calls. A handler only an unbound handler calls is unbound too.
#[test]
fn handlers_called_from_code_that_runs_are_reachable() {
    let p = wechat_page(
        "Page({\n\
         \x20 onLoad() { this.load() },\n\
         \x20 onPullDownRefresh() { setTimeout(this.refresh, 10) },\n\
         \x20 load() { const that = this; that.fetchMore() },\n\
         \x20 fetchMore() { wx.request({ url: 'http://more.example.com/a' }) },\n\
         \x20 refresh() { wx.request({ url: 'http://refresh.example.com/a' }) },\n\
         \x20 debugTap() { this.debugFetch() },\n\
         \x20 debugFetch() { wx.request({ url: 'http://debug.example.com/a' }) },\n\
         })\n",
        Some("<view>list</view>\n"),
    );
    let findings = scan(p.path());
    assert_kept(&findings, "more.example.com");
    assert_kept(&findings, "refresh.example.com");
    assert_lowered(&findings, "debug.example.com", UNBOUND);
}

#[test]
fn a_binding_in_a_template_comment_is_no_binding() {
    let p = wechat_page(
        "Page({\n\
         \x20 onShare() { wx.request({ url: 'http://shared.example.com/a' }) },\n\
         \x20 onOld() { wx.request({ url: 'http://old.example.com/a' }) },\n\
         })\n",
        Some(
            "<button bindtap=\"onShare\">share</button>\n<!-- <button bindtap=\"onOld\">old</button> -->\n",
        ),
    );
    let findings = scan(p.path());
    assert_kept(&findings, "shared.example.com");
    assert_lowered(&findings, "old.example.com", UNBOUND);
}

/// A debug menu shown only in develop or trial builds: its handlers and the bindings inside it
/// are development-only, and so is the `wx:else` of a release test; an ordinary `wx:if`, and
/// the `wx:else` of a develop test, are not.
#[test]
fn a_develop_only_template_block_is_less_likely() {
    let p = wechat_page(
        "Page({\n\
         \x20 data: { envVersion: wx.getAccountInfoSync().miniProgram.envVersion, logged: false },\n\
         \x20 onLoad(options) { this.setData({ page: options.url }) },\n\
         \x20 clearCache() { wx.request({ url: 'http://debug-menu.example.com/a' }) },\n\
         \x20 trialOnly() { wx.request({ url: 'http://trial.example.com/a' }) },\n\
         \x20 login() { wx.request({ url: 'http://login.example.com/a' }) },\n\
         \x20 other() { wx.request({ url: 'http://else.example.com/a' }) },\n\
         \x20 notRelease() { wx.request({ url: 'http://not-release.example.com/a' }) },\n\
         })\n",
        Some(
            "<view wx:if=\"{{envVersion === 'develop' || envVersion === 'trial'}}\" class=\"debug\">\n\
             \x20 <button bindtap=\"clearCache\">clear</button>\n\
             \x20 <web-view src=\"{{page}}\"></web-view>\n\
             </view>\n\
             <view wx:if=\"{{envVersion !== 'release'}}\"><button bindtap=\"trialOnly\"/></view>\n\
             <view wx:if=\"{{envVersion === 'develop'}}\">dev</view>\n\
             <view wx:else><button bindtap=\"other\"/></view>\n\
             <view wx:if=\"{{envVersion === 'release'}}\">shop</view>\n\
             <view wx:else><button bindtap=\"notRelease\"/></view>\n\
             <view wx:if=\"{{!logged}}\"><button bindtap=\"login\">log in</button></view>\n",
        ),
    );
    let findings = scan(p.path());
    assert_lowered(&findings, "debug-menu.example.com", DEV);
    assert_lowered(&findings, "trial.example.com", DEV);
    assert_kept(&findings, "login.example.com");
    assert_kept(&findings, "else.example.com");
    assert_lowered(&findings, "not-release.example.com", DEV);
    // The page query bound into a web-view inside the debug menu.
    let x002: Vec<&Finding> = findings.iter().filter(|f| f.rule == "X002").collect();
    assert_eq!(x002.len(), 1, "{findings:#?}");
    assert!(x002[0].message.ends_with(DEV), "{}", x002[0].message);
    assert_eq!(x002[0].confidence, Confidence::Low);
}

/// The look-alike: the same web-view outside the debug menu keeps its confidence; a condition
/// on something else than the build is ordinary.
#[test]
fn an_ordinary_condition_is_not_development_only() {
    let p = wechat_page(
        "Page({\n\
         \x20 data: { version: 'develop' },\n\
         \x20 onLoad(options) { this.setData({ page: options.url }) },\n\
         })\n",
        Some(
            "<view wx:if=\"{{version === 'develop'}}\">\n  <web-view src=\"{{page}}\"></web-view>\n</view>\n",
        ),
    );
    let findings = scan(p.path());
    let x002: Vec<&Finding> = findings.iter().filter(|f| f.rule == "X002").collect();
    assert_eq!(x002.len(), 1, "{findings:#?}");
    assert_eq!(x002[0].confidence, Confidence::Medium);
    assert_eq!(x002[0].confidence_reason, None);
}

#[test]
fn script_code_only_development_builds_run_is_less_likely() {
    let p = wechat_page(
        "const env = wx.getAccountInfoSync().miniProgram.envVersion\n\
         Page({\n\
         \x20 onLoad() {\n\
         \x20   if (env === 'develop') { wx.request({ url: 'http://dev-if.example.com/a' }) }\n\
         \x20   if (__wxConfig.envVersion !== 'release') { wx.request({ url: 'http://not-release.example.com/a' }) }\n\
         \x20   if (process.env.NODE_ENV === 'production') { wx.request({ url: 'http://prod.example.com/a' }) }\n\
         \x20   else { wx.request({ url: 'http://prod-else.example.com/a' }) }\n\
         \x20   process.env.NODE_ENV !== 'production' && wx.request({ url: 'http://and.example.com/a' })\n\
         \x20   if (env !== 'develop') { wx.request({ url: 'http://not-develop.example.com/a' }) }\n\
         \x20   if (mode === 'develop') { wx.request({ url: 'http://mode.example.com/a' }) }\n\
         \x20 },\n\
         })\n",
        None,
    );
    let findings = scan(p.path());
    assert_lowered(&findings, "dev-if.example.com", DEV);
    assert_lowered(&findings, "not-release.example.com", DEV);
    assert_lowered(&findings, "prod-else.example.com", DEV);
    assert_lowered(&findings, "and.example.com", DEV);
    assert_kept(&findings, "prod.example.com");
    // Trial builds run it.
    assert_kept(&findings, "not-develop.example.com");
    // Not the build environment.
    assert_kept(&findings, "mode.example.com");
}

/// What the scan cannot follow keeps every handler as it was: a page without a template, an
/// event attribute whose value is data, `this[name]()`.
#[test]
fn handlers_stay_when_bindings_cannot_be_told() {
    let js = "Page({\n\
              \x20 onLoad() {},\n\
              \x20 lonely() { wx.request({ url: 'http://lonely.example.com/a' }) },\n\
              })\n";
    let findings = scan(wechat_page(js, None).path());
    assert_kept(&findings, "lonely.example.com");
    let findings = scan(wechat_page(js, Some("<button bindtap=\"{{handler}}\"/>\n")).path());
    assert_kept(&findings, "lonely.example.com");
    let dynamic = "Page({\n\
                   \x20 onTap(e) { this[e.currentTarget.dataset.fn]() },\n\
                   \x20 lonely() { wx.request({ url: 'http://lonely.example.com/a' }) },\n\
                   })\n";
    let findings = scan(wechat_page(dynamic, Some("<button bindtap=\"onTap\"/>\n")).path());
    assert_kept(&findings, "lonely.example.com");
    // A template it includes binds the handler.
    let p = project(&[
        ("project.config.json", r#"{"miniprogramRoot": "mp/"}"#),
        ("mp/app.json", r#"{"pages": ["pages/index/index"]}"#),
        ("mp/pages/index/index.js", js),
        (
            "mp/pages/index/index.wxml",
            "<include src=\"/parts/footer.wxml\"/>\n",
        ),
        ("mp/parts/footer.wxml", "<button bindtap=\"lonely\"/>\n"),
    ]);
    assert_kept(&scan(p.path()), "lonely.example.com");
    // A Vue template in another language than HTML.
    let p = project(&[
        ("src/manifest.json", r#"{"name": "shop", "mp-weixin": {}}"#),
        (
            "src/pages.json",
            r#"{"pages": [{"path": "pages/index/index"}]}"#,
        ),
        (
            "src/pages/index/index.vue",
            "<template lang=\"pug\">\nview\n  button(@click=\"lonely\") go\n</template>\n<script>\nexport default {\n  onLoad() {},\n  methods: {\n    lonely() { uni.request({ url: 'http://lonely.example.com/a' }) },\n  },\n}\n</script>\n",
        ),
    ]);
    assert_kept(&scan(p.path()), "lonely.example.com");
}

/// One flaw reached from a bound and an unbound handler (the same host, one finding) is
/// reached from code that runs.
#[test]
fn a_flaw_shared_with_a_bound_handler_stays() {
    let p = wechat_page(
        "Page({\n\
         \x20 aOld() { wx.request({ url: 'http://shared.example.com/old' }) },\n\
         \x20 zNew() { wx.request({ url: 'http://shared.example.com/new' }) },\n\
         })\n",
        Some("<button bindtap=\"zNew\"/>\n"),
    );
    let findings = scan(p.path());
    let t001: Vec<&Finding> = findings.iter().filter(|f| f.rule == "T001").collect();
    assert_eq!(t001.len(), 1, "{t001:#?}");
    assert_kept(&findings, "shared.example.com");
}

/// Alipay's `onTap` attributes and Vue's `@click` bind handlers too.
#[test]
fn every_dialect_binds() {
    let p = project(&[
        ("mini.project.json", "{}"),
        ("app.json", r#"{"pages": ["pages/index/index"]}"#),
        (
            "pages/index/index.js",
            "Page({\n\
             \x20 onBuy() { my.request({ url: 'http://alipay-bound.example.com/a' }) },\n\
             \x20 onSell() { my.request({ url: 'http://alipay-unbound.example.com/a' }) },\n\
             })\n",
        ),
        (
            "pages/index/index.axml",
            "<button onTap=\"onBuy\">buy</button>\n",
        ),
    ]);
    let findings = scan(p.path());
    assert_kept(&findings, "alipay-bound.example.com");
    assert_lowered(&findings, "alipay-unbound.example.com", UNBOUND);

    let p = project(&[
        ("src/manifest.json", r#"{"name": "shop", "mp-weixin": {}}"#),
        (
            "src/pages.json",
            r#"{"pages": [{"path": "pages/index/index"}]}"#,
        ),
        (
            "src/pages/index/index.vue",
            "<template>\n  <view>\n    <button @click=\"buy(item)\">buy</button>\n    <text>{{ price() }}</text>\n    <!-- <button @click=\"sell\">sell</button> -->\n  </view>\n</template>\n<script>\nexport default {\n  onLoad() {},\n  methods: {\n    buy() { uni.request({ url: 'http://vue-bound.example.com/a' }) },\n    price() { uni.request({ url: 'http://vue-price.example.com/a' }) },\n    sell() { uni.request({ url: 'http://vue-unbound.example.com/a' }) },\n  },\n}\n</script>\n",
        ),
    ]);
    let findings = scan(p.path());
    assert_kept(&findings, "vue-bound.example.com");
    assert_kept(&findings, "vue-price.example.com");
    assert_lowered(&findings, "vue-unbound.example.com", UNBOUND);
}

/// A component's methods are its interface: the page that uses it calls them
/// (`selectComponent('#more').loadMore()`), so they stay as they were.
#[test]
fn component_methods_are_left_alone() {
    let p = project(&[
        ("project.config.json", r#"{"miniprogramRoot": "mp/"}"#),
        ("mp/app.json", r#"{"pages": ["pages/index/index"]}"#),
        (
            "mp/components/more/more.js",
            "Component({\n\
             \x20 methods: {\n\
             \x20   loadMore() { wx.request({ url: 'http://component.example.com/a' }) },\n\
             \x20 },\n\
             })\n",
        ),
        ("mp/components/more/more.wxml", "<view>more</view>\n"),
        (
            "mp/pages/index/index.js",
            "Component({\n\
             \x20 methods: {\n\
             \x20   onLoad() {},\n\
             \x20   onPull() { wx.request({ url: 'http://component-page.example.com/a' }) },\n\
             \x20 },\n\
             })\n",
        ),
        ("mp/pages/index/index.wxml", "<view>page</view>\n"),
    ]);
    let findings = scan(p.path());
    assert_kept(&findings, "component.example.com");
    // A component that is a page (it has `onLoad`) is a page.
    assert_lowered(&findings, "component-page.example.com", UNBOUND);
}

/// A condition of thousands of `&&` links (generated code) is read to a bounded depth at each
/// link, not to its end: the scan stays linear.
#[test]
fn a_long_condition_chain_is_read_in_linear_time() {
    let links = vec!["x"; 30_000].join(" &&\n");
    let js = format!(
        "const env = 'develop'\nif ({links} && env === 'develop') {{ wx.request({{ url: 'http://chain.example.com/a' }}) }}\nPage({{ onLoad() {{}} }})\n"
    );
    let p = wechat_page(&js, Some("<view/>\n"));
    let started = std::time::Instant::now();
    let findings = scan(p.path());
    // Generous: quadratic reading took over a minute in a debug build.
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
    // The last link tests the build; the others are not read to their end.
    assert_lowered(&findings, "chain.example.com", DEV);
}
