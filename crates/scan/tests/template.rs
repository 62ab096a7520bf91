//! Tests of the mini-program template parser on real-looking templates, error recovery and
//! spans.

use miniguard_scan::template::{
    Dialect, Element, MAX_DEPTH, Node, Part, Span, Template, line_col, parse,
};

/// Parses, checks span invariants, and returns the template.
fn parse_ok(src: &str, dialect: Dialect) -> Template {
    let t = parse(src, dialect);
    if let Err(e) = t.check_spans(src) {
        panic!("span invariant broken: {e}\n{t:#?}");
    }
    t
}

/// Parses and asserts there were no errors.
fn parse_clean(src: &str, dialect: Dialect) -> Template {
    let t = parse_ok(src, dialect);
    assert!(t.errors.is_empty(), "unexpected errors: {:#?}", t.errors);
    t
}

fn find<'a>(t: &'a Template, name: &str) -> &'a Element {
    t.elements()
        .into_iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("no <{name}>"))
}

fn exprs(e: &Element, attr: &str) -> Vec<String> {
    e.attr(attr)
        .and_then(|a| a.value.as_ref())
        .map(|v| v.exprs().map(|(c, _)| c.to_owned()).collect())
        .unwrap_or_default()
}

fn text_exprs(e: &Element) -> Vec<String> {
    e.children
        .iter()
        .filter_map(|n| match n {
            Node::Text(t) => Some(t),
            _ => None,
        })
        .flat_map(|t| t.parts.iter())
        .filter_map(|p| match p {
            Part::Expr { code, .. } => Some(code.clone()),
            Part::Text { .. } => None,
        })
        .collect()
}

const LIST_PAGE: &str = r#"<!--pages/goods/list.wxml-->
<wxs module="fmt">
  var price = function(v) { return v < 0 ? '0.00' : (v / 100).toFixed(2) }
  module.exports = { price: price }
</wxs>
<view class="container {{ loading ? 'is-loading' : '' }}">
  <view wx:if="{{goods.length === 0}}" class="empty">暂无商品</view>
  <block wx:else>
    <view wx:for="{{goods}}" wx:key="id" class="goods-item" bindtap="onTap" data-id="{{item.id}}">
      <image src="{{item.cover}}" mode="aspectFill"/>
      <text class="title">{{item.title}}</text>
      <text class="price">¥{{ fmt.price(item.price) }}</text>
      <view wx:for="{{item.tags}}" wx:for-item="tag" wx:for-index="ti" wx:key="*this">
        <text>{{ti}}: {{tag.name}}</text>
      </view>
    </view>
  </block>
  <button disabled loading="{{loading}}" bind:tap="loadMore">加载更多</button>
</view>
"#;

#[test]
fn list_page_with_wx_for() {
    let t = parse_clean(LIST_PAGE, Dialect::Wxml);
    assert!(matches!(t.nodes[0], Node::Comment(_)));

    let wxs = find(&t, "wxs");
    assert_eq!(wxs.attr("module").unwrap().raw_value(), "fmt");
    assert_eq!(wxs.children.len(), 1, "wxs body is one raw text node");
    let Node::Text(body) = &wxs.children[0] else {
        panic!("raw body")
    };
    assert!(matches!(&body.parts[..], [Part::Text { text, .. }] if text.contains("v < 0 ?")));

    let container = find(&t, "view");
    assert_eq!(
        exprs(container, "class"),
        ["loading ? 'is-loading' : ''"],
        "expression is trimmed"
    );

    let button = find(&t, "button");
    let disabled = button.attr("disabled").unwrap();
    assert!(disabled.value.is_none());
    assert_eq!(disabled.span.text(LIST_PAGE), "disabled");
    assert!(button.attr("bind:tap").is_some());

    let image = find(&t, "image");
    assert!(image.self_closing);
    assert!(image.children.is_empty());
    assert!(
        image
            .attr("src")
            .unwrap()
            .value
            .as_ref()
            .unwrap()
            .is_single_expr()
    );

    // The goods loop and the nested tags loop.
    let mut loops = Vec::new();
    t.walk(&mut |e, ancestors| {
        if let Some(b) = e.for_binding(Dialect::Wxml) {
            loops.push((
                b.list.map(|p| p.as_str().to_owned()),
                b.item,
                b.index,
                ancestors.len(),
            ));
        }
    });
    assert_eq!(
        loops,
        [
            (Some("goods".into()), "item".into(), "index".into(), 2),
            (Some("item.tags".into()), "tag".into(), "ti".into(), 3),
        ]
    );

    // The text inside the inner loop sees both loops among its ancestors.
    let mut chain = Vec::new();
    t.walk(&mut |e, ancestors| {
        if e.name == "text" && text_exprs(e) == ["ti", "tag.name"] {
            chain = ancestors
                .iter()
                .filter(|a| a.directive(Dialect::Wxml, "for").is_some())
                .map(|a| exprs(a, "wx:for"))
                .collect();
        }
    });
    assert_eq!(
        chain,
        [vec!["goods".to_owned()], vec!["item.tags".to_owned()]]
    );

    let price = t
        .elements()
        .into_iter()
        .find(|e| e.attr("class").is_some_and(|a| a.raw_value() == "price"))
        .unwrap();
    assert_eq!(text_exprs(price), ["fmt.price(item.price)"]);
}

#[test]
fn forms_rich_text_and_web_view() {
    let src = r#"<form bindsubmit="onSubmit">
  <input name="phone" type="number" value="{{phone}}" bindinput="onPhoneInput" placeholder="手机号">
  <input name="pwd" password='true' bindinput='onPwd' />
  <textarea value="{{ remark }}" maxlength="200"></textarea>
  <button form-type="submit">提交</button>
</form>
<rich-text nodes="{{article.content}}"></rich-text>
<web-view src="{{url}}" bindmessage="onMessage"></web-view>
"#;
    let t = parse_clean(src, Dialect::Wxml);
    let names: Vec<_> = t.elements().iter().map(|e| e.name.clone()).collect();
    assert_eq!(
        names,
        [
            "form",
            "input",
            "input",
            "textarea",
            "button",
            "rich-text",
            "web-view"
        ]
    );
    // `<input>` without `/>` is void: it does not swallow its siblings.
    let form = find(&t, "form");
    assert_eq!(form.children.len(), 4);
    assert_eq!(exprs(find(&t, "rich-text"), "nodes"), ["article.content"]);
    let web_view = find(&t, "web-view");
    let src_attr = web_view.attr("src").unwrap();
    assert_eq!(exprs(web_view, "src"), ["url"]);
    let v = src_attr.value.as_ref().unwrap();
    assert_eq!(v.raw, "{{url}}");
    assert_eq!(v.span.text(src), "{{url}}");
    assert_eq!(src_attr.span.text(src), r#"src="{{url}}""#);
    let pwd = t.elements()[2];
    assert_eq!(pwd.attr("password").unwrap().raw_value(), "true");
}

#[test]
fn templates_imports_and_includes() {
    let src = r#"<import src="../../templates/card.wxml"/>
<include src="header.wxml"></include>
<template name="card">
  <view class="card"><text>{{title}}</text></view>
</template>
<template is="card" data="{{...cardData, extra: 1}}"/>
<template is="{{ isVip ? 'vip' : 'normal' }}" data="{{ {a: {b: 1}} }}"></template>
<wxs src="./utils.wxs" module="utils" />
"#;
    let t = parse_clean(src, Dialect::Wxml);
    let els = t.elements();
    assert_eq!(els[0].name, "import");
    assert_eq!(els[1].name, "include");
    assert_eq!(els[1].span.text(src), r#"<include src="header.wxml">"#);
    let defs: Vec<_> = els.iter().filter(|e| e.name == "template").collect();
    assert_eq!(defs.len(), 3);
    assert_eq!(defs[0].children.len(), 1);
    assert_eq!(exprs(defs[1], "data"), ["...cardData, extra: 1"]);
    assert_eq!(exprs(defs[2], "data"), ["{a: {b: 1}}"], "nested braces");
    assert_eq!(exprs(defs[2], "is"), ["isVip ? 'vip' : 'normal'"]);
    let wxs = find(&t, "wxs");
    assert!(wxs.self_closing && wxs.children.is_empty());
}

#[test]
fn expression_with_closing_braces_in_strings() {
    let src = r#"<view title="{{ a ? '}}' : `x` }}" data-x='{{ s === "}}" }}'>{{ "}}" + '<b>' }} and {{ x < y && y > z }}</view>"#;
    let t = parse_clean(src, Dialect::Wxml);
    let v = find(&t, "view");
    assert_eq!(exprs(v, "title"), ["a ? '}}' : `x`"]);
    assert_eq!(exprs(v, "data-x"), [r#"s === "}}""#]);
    assert_eq!(text_exprs(v), [r#""}}" + '<b>'"#, "x < y && y > z"]);
}

#[test]
fn expr_spans_equal_code() {
    let src = "<view a=\"x {{ one }} y {{two}}{{}}\">\r\n  中文 {{ 三 + '四' }} \r\n</view>";
    let t = parse_clean(src, Dialect::Wxml);
    let v = find(&t, "view");
    let value = v.attr("a").unwrap().value.as_ref().unwrap();
    let parts: Vec<_> = value
        .parts
        .iter()
        .map(|p| (matches!(p, Part::Expr { .. }), p.as_str()))
        .collect();
    assert_eq!(
        parts,
        [
            (false, "x "),
            (true, "one"),
            (false, " y "),
            (true, "two"),
            (true, "")
        ]
    );
    for p in &value.parts {
        assert_eq!(&src[p.span().range()], p.as_str());
    }
    let Node::Text(text) = &v.children[0] else {
        panic!()
    };
    let Part::Expr { code, span } = &text.parts[1] else {
        panic!()
    };
    assert_eq!(code, "三 + '四'");
    assert_eq!(&src[span.range()], code);
    assert_eq!(line_col(src, span.start), (2, 9));
}

#[test]
fn axml_a_for() {
    let src = r#"<view a:for="{{list}}" a:for-item="row" a:key="id" onTap="onRow">
  <text a:if="{{row.visible}}">{{row.name}}</text>
</view>
<import-sjs from="./util.sjs" name="util"/>
<sjs module="m">var x = a < b && c > d;</sjs>"#;
    let t = parse_clean(src, Dialect::Axml);
    let view = find(&t, "view");
    let b = view.for_binding(Dialect::Axml).unwrap();
    assert_eq!(b.list.unwrap().as_str(), "list");
    assert_eq!((b.item.as_str(), b.index.as_str()), ("row", "index"));
    assert!(view.for_binding(Dialect::Wxml).is_none());
    assert!(find(&t, "text").directive(Dialect::Axml, "if").is_some());
    let sjs = find(&t, "sjs");
    assert_eq!(sjs.children.len(), 1);
}

#[test]
fn swan_s_for_forms() {
    let src = r#"<view s-for="item, idx in list trackBy item.id">{{item.a}}</view>
<view s-for="(p, i) in pages">x</view>
<view s-for="row in rows">x</view>
<view s-for="users" s-for-item="u" s-for-index="k">x</view>
<view s-for="{{ braced }}">x</view>
<filter module="f">export default { up: s => s.toUpperCase() < 'x' };</filter>
<view s-if="ok">y</view>"#;
    let t = parse_clean(src, Dialect::Swan);
    let got: Vec<_> = t
        .elements()
        .iter()
        .filter_map(|e| e.for_binding(Dialect::Swan))
        .map(|b| {
            let list = b.list.unwrap();
            assert!(matches!(list, Part::Expr { .. }));
            assert_eq!(&src[list.span().range()], list.as_str());
            (list.as_str().to_owned(), b.item, b.index)
        })
        .collect();
    let want = [
        ("list", "item", "idx"),
        ("pages", "p", "i"),
        ("rows", "row", "index"),
        ("users", "u", "k"),
        ("braced", "item", "index"),
    ];
    let want: Vec<_> = want
        .iter()
        .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
        .collect();
    assert_eq!(got, want);
    assert_eq!(find(&t, "filter").children.len(), 1);
    // `filter` is only a script tag in SWAN.
    let wx = parse_ok("<filter><view/></filter>", Dialect::Wxml);
    assert_eq!(find(&wx, "filter").children.len(), 1);
    assert!(wx.errors.is_empty());
}

#[test]
fn tt_and_qq_prefixes_and_legacy_for_items() {
    let tt = parse_clean(r#"<view tt:for="{{a}}" tt:for-item="x"/>"#, Dialect::Ttml);
    let b = tt.elements()[0].for_binding(Dialect::Ttml).unwrap();
    assert_eq!((b.list.unwrap().as_str(), b.item.as_str()), ("a", "x"));

    let qq = parse_clean(
        r#"<view qq:for="{{a}}"/><view wx:for="{{b}}"/>"#,
        Dialect::Qml,
    );
    let lists: Vec<_> = qq
        .elements()
        .iter()
        .map(|e| {
            e.for_binding(Dialect::Qml)
                .unwrap()
                .list
                .unwrap()
                .as_str()
                .to_owned()
        })
        .collect();
    assert_eq!(lists, ["a", "b"]);

    let legacy = parse_clean(r#"<view wx:for-items="{{old}}"/>"#, Dialect::Wxml);
    let b = legacy.elements()[0].for_binding(Dialect::Wxml).unwrap();
    assert_eq!(b.list.unwrap().as_str(), "old");

    // A literal list is kept as text, an empty one is None.
    let lit = parse_clean(r#"<view wx:for="abc"/><view wx:for=""/>"#, Dialect::Wxml);
    let els = lit.elements();
    assert!(matches!(
        els[0].for_binding(Dialect::Wxml).unwrap().list,
        Some(Part::Text { .. })
    ));
    assert_eq!(els[1].for_binding(Dialect::Wxml).unwrap().list, None);
}

#[test]
fn unquoted_and_odd_attributes() {
    let src = "<view a=1 b={{x y}} c d = 'q' E=\"up\" bind:tap=go/><VIEW></view>";
    let t = parse_clean(src, Dialect::Wxml);
    let els = t.elements();
    let v = els[0];
    let vals: Vec<_> = v
        .attrs
        .iter()
        .map(|a| (a.name.as_str(), a.value.as_ref().map(|v| v.raw.as_str())))
        .collect();
    assert_eq!(
        vals,
        [
            ("a", Some("1")),
            ("b", Some("{{x y}}")),
            ("c", None),
            ("d", Some("q")),
            ("E", Some("up")),
            ("bind:tap", Some("go")),
        ]
    );
    assert!(v.attr("e").is_some(), "attribute lookup ignores ASCII case");
    assert_eq!(
        els[1].name, "VIEW",
        "case is preserved, closing tag matched case-insensitively"
    );
}

#[test]
fn text_with_lone_less_than_and_entities() {
    let src = "<text>a < b &amp;&lt; 1<2 <= 3 </ x</text>";
    let t = parse_clean(src, Dialect::Wxml);
    let text = find(&t, "text");
    let Node::Text(n) = &text.children[0] else {
        panic!()
    };
    assert_eq!(n.span.text(src), "a < b &amp;&lt; 1<2 <= 3 </ x");
}

#[test]
fn bom_crlf_and_line_col() {
    let src = "\u{feff}<view>\r\n  <text>{{a}}</text>\r\n</view>";
    let t = parse_clean(src, Dialect::Wxml);
    assert_eq!(t.nodes.len(), 1);
    let text = find(&t, "text");
    assert_eq!(line_col(src, text.span.start), (2, 3));
    assert_eq!(line_col(src, find(&t, "view").span.start), (1, 1));
    assert_eq!(line_col(src, u32::MAX), (3, 8));
    assert_eq!(line_col("", 5), (1, 1));
    // Inside a multi-byte char: clamped to its start.
    assert_eq!(line_col("é", 1), (1, 1));
}

#[test]
fn recovers_from_unclosed_and_stray_tags() {
    let src = "<view><text>hi</view></span><view>tail";
    let t = parse_ok(src, Dialect::Wxml);
    let messages: Vec<_> = t.errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "`<text>` is not closed before `</view>`",
            "`</span>` closes no open element",
            "`<view>` is never closed",
        ]
    );
    assert_eq!(t.errors[1].span.text(src), "</span>");
    assert_eq!(t.nodes.len(), 2);
    let first = t.nodes[0].as_element().unwrap();
    assert_eq!(first.span.text(src), "<view><text>hi</view>");
    let text = first.children[0].as_element().unwrap();
    assert_eq!(text.span.text(src), "<text>hi");
    let last = t.nodes[1].as_element().unwrap();
    assert_eq!(last.span.end as usize, src.len());
}

#[test]
fn recovers_from_unterminated_constructs() {
    let cases: [(&str, &str); 7] = [
        ("<view a=\"{{x}}", "no closing quote"),
        ("<view a=\"{{ x \"></view>", "never closed with `}}`"),
        ("<text>{{ user.name </text>", "never closed with `}}`"),
        ("<!-- open", "comment is never closed"),
        ("<wxs module=\"m\">var a = 1;", "body is never closed"),
        ("<view class=\"a\" <text>x</text></view>", "has no `>`"),
        ("<view a=>x</view>", "no value"),
    ];
    for (src, want) in cases {
        let t = parse_ok(src, Dialect::Wxml);
        assert!(
            t.errors.iter().any(|e| e.message.contains(want)),
            "{src:?}: expected {want:?} in {:#?}",
            t.errors
        );
    }
    // The unterminated text expression still yields the code, up to the closing tag.
    let src = "<text>{{ user.name </text><view/>";
    let t = parse_ok(src, Dialect::Wxml);
    assert_eq!(text_exprs(find(&t, "text")), ["user.name"]);
    assert_eq!(t.elements().len(), 2);
}

#[test]
fn deep_nesting_is_capped_not_overflowing() {
    let depth = 100_000;
    let src = "<view>".repeat(depth) + &"</view>".repeat(depth);
    let t = parse_ok(&src, Dialect::Wxml);
    assert_eq!(t.errors.len(), 1, "{:?}", t.errors);
    let mut max = 0;
    let mut count = 0;
    t.walk(&mut |_, ancestors| {
        max = max.max(ancestors.len());
        count += 1;
    });
    assert_eq!(count, depth);
    assert_eq!(max, MAX_DEPTH);
}

#[test]
fn deep_unclosed_nesting_errors_are_capped() {
    let src = "<a>".repeat(50_000);
    let t = parse_ok(&src, Dialect::Wxml);
    assert!(t.errors.len() <= miniguard_scan::template::MAX_ERRORS + 1);
}

#[test]
fn adversarial_inputs_stay_fast() {
    let started = std::time::Instant::now();
    let inputs = [
        "{{'}}".repeat(100_000),
        "<view a=\"".to_owned() + &"{{'".repeat(100_000),
        "{{ <a>".repeat(50_000) + "</x>",
        "<a b={{".repeat(50_000),
        "{{{{{{{{".repeat(50_000),
        "<wxs>".to_owned() + &"</wx".repeat(100_000),
        "</a".repeat(100_000),
        "<!--".repeat(100_000),
        "<a ".repeat(100_000),
        "{{ {".repeat(100_000) + "<x>",
        "<a b=\"".to_owned() + &"{{ { }}".repeat(100_000),
    ];
    for src in &inputs {
        for dialect in [Dialect::Wxml, Dialect::Swan] {
            let t = parse_ok(src, dialect);
            drop(t);
        }
    }
    // Generous: quadratic behaviour on these inputs would take minutes.
    assert!(
        started.elapsed().as_secs() < 20,
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn span_helpers() {
    let s = Span::new(2, 5);
    assert_eq!(s.len(), 3);
    assert!(!s.is_empty());
    assert_eq!(s.text("abcdefg"), "cde");
    assert_eq!(
        s.text("ab"),
        "",
        "out of range gives empty text, not a panic"
    );
    assert_eq!(Dialect::from_extension("WXML"), Some(Dialect::Wxml));
    assert_eq!(Dialect::from_extension("swan"), Some(Dialect::Swan));
    assert_eq!(Dialect::from_extension("html"), None);
}

#[test]
fn empty_and_whitespace_inputs() {
    assert_eq!(parse_clean("", Dialect::Wxml), Template::default());
    assert!(parse_clean(" \r\n\t", Dialect::Wxml).nodes.is_empty());
    assert!(parse_clean("\u{feff}", Dialect::Wxml).nodes.is_empty());
}

#[test]
fn less_than_inside_text_expression_is_not_a_tag() {
    let src = "<view>{{a<b}}{{ {a:1} }}</view><text>{{list.length>0}}</text>";
    let t = parse_clean(src, Dialect::Wxml);
    assert_eq!(text_exprs(find(&t, "view")), ["a<b", "{a:1}"]);
    assert_eq!(text_exprs(find(&t, "text")), ["list.length>0"]);
    assert_eq!(t.elements().len(), 2);
}

/// A broken expression inside one attribute value must not stop later expressions from
/// skipping string literals.
#[test]
fn broken_attribute_expression_stays_local() {
    let src = r#"<view a="{{ 'x }}" b="{{ { }}"><text>{{ '}}' + "<b>" }}</text></view>"#;
    let t = parse_ok(src, Dialect::Wxml);
    assert_eq!(text_exprs(find(&t, "text")), [r#"'}}' + "<b>""#]);
    assert_eq!(exprs(find(&t, "view"), "a"), ["'x"]);
    assert_eq!(exprs(find(&t, "view"), "b"), ["{"]);
}
