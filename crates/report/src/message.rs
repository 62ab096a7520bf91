//! What findings and the binary say, in every language miniguard speaks. A sentence is a
//! [`Msg`]: an id of the message tables and its named arguments. The tables are data,
//! `i18n/<lang>/messages.toml` (one per language, embedded at build time), so a new message is
//! a row in each and the code never holds the words themselves:
//!
//! ```toml
//! [T001]
//! plain = "`{url}` is sent over plain {scheme}"
//! ```
//!
//! is the message `T001.plain` with the arguments `url` and `scheme`, made with
//! `msg!("T001.plain", url = shown, scheme = scheme)`. The macro checks at compile time that
//! both tables have the id and that each row's placeholders are exactly the arguments given, so
//! a message cannot lack a translation or a placeholder; a test checks that the two tables have
//! the same rows.
//!
//! An argument is either code (a name, a host, a path: said as it is in every language) or
//! another message (a phrase such as "a password", said in the reader's language). `{{` and
//! `}}` in a row are literal braces.
//!
//! A finding keeps its message as a [`Text`]: the English sentence, which JSON, SARIF and
//! baselines carry whatever the reader's language, and the message it was made from, which the
//! text and HTML reports say in the reader's language.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Serialize};

use crate::i18n::Lang;

include!(concat!(env!("OUT_DIR"), "/messages.rs"));

/// Makes a [`Msg`]: `msg!("id")` or `msg!("id", name = value, ...)`, each value anything that
/// converts into an [`Arg`] (strings are code, messages are phrases). Fails to compile when a
/// language has no row for the id, or a row's placeholders are not the names given.
///
/// ```
/// use miniguard_report::{Text, i18n::Lang, msg};
/// let m = msg!("T001.plain", url = "http://a.example", scheme = "http");
/// assert_eq!(m.render(Lang::En), "`http://a.example` is sent over plain http");
/// assert_eq!(Text::from(m).in_lang(Lang::ZhCn), "`http://a.example` 通过明文 http 发送");
/// ```
///
/// ```compile_fail
/// // No row has this id.
/// let m = miniguard_report::msg!("T001.no-such-message");
/// ```
///
/// ```compile_fail
/// // The rows of `T001.plain` have the placeholders `url` and `scheme`.
/// let m = miniguard_report::msg!("T001.plain", url = "http://a.example");
/// ```
#[macro_export]
macro_rules! msg {
    ($id:expr $(, $name:ident = $value:expr)* $(,)?) => {{
        const _: () = $crate::message::check($id, &[$(stringify!($name)),*]);
        $crate::Msg::checked($id, vec![$((stringify!($name), $crate::Arg::from($value))),*])
    }};
}

/// A message of the tables with its arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Msg {
    id: &'static str,
    args: Vec<(&'static str, Arg)>,
}

/// One argument of a [`Msg`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arg {
    /// Said as it is in every language: code, names, hosts, paths, numbers.
    Code(String),
    /// A phrase said in the reader's language.
    Msg(Msg),
}

impl Msg {
    /// A message whose id and argument names [`msg!`] has checked against the tables.
    #[doc(hidden)]
    pub fn checked(id: &'static str, args: Vec<(&'static str, Arg)>) -> Msg {
        Msg { id, args }
    }

    /// The id of the row, e.g. `T001.plain`.
    pub fn id(&self) -> &'static str {
        self.id
    }

    /// The same message with `f` applied to every code argument, nested ones too (to mask
    /// secrets a message quotes).
    #[must_use]
    pub fn map_code(self, f: &dyn Fn(&str) -> String) -> Msg {
        Msg {
            id: self.id,
            args: self
                .args
                .into_iter()
                .map(|(name, arg)| {
                    let arg = match arg {
                        Arg::Code(code) => Arg::Code(f(&code)),
                        Arg::Msg(m) => Arg::Msg(m.map_code(f)),
                    };
                    (name, arg)
                })
                .collect(),
        }
    }

    /// The message said in `lang`.
    pub fn render(&self, lang: Lang) -> String {
        let template = template(lang, self.id)
            .or_else(|| template(Lang::En, self.id))
            .unwrap_or(self.id);
        // Chinese puts a space between Han characters and Latin text or code; rows are written
        // so, and where an argument meets the row the space is added here.
        let spaced = lang == Lang::ZhCn;
        let mut out = String::with_capacity(template.len() + 32);
        let mut after_arg = false;
        for piece in Pieces::new(template) {
            match piece {
                Piece::Text(t) => {
                    if spaced && after_arg {
                        space_between(&mut out, t);
                    }
                    out.push_str(t);
                    after_arg = false;
                }
                Piece::Slot(name) => {
                    let said = match self.args.iter().find(|(n, _)| *n == name) {
                        Some((_, Arg::Code(code))) => Cow::Borrowed(code.as_str()),
                        Some((_, Arg::Msg(m))) => Cow::Owned(m.render(lang)),
                        None => Cow::Borrowed(""),
                    };
                    if spaced {
                        space_between(&mut out, &said);
                    }
                    out.push_str(&said);
                    after_arg = true;
                }
            }
        }
        out
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Arg {
        Arg::Code(s)
    }
}

impl From<&String> for Arg {
    fn from(s: &String) -> Arg {
        Arg::Code(s.clone())
    }
}

impl From<&str> for Arg {
    fn from(s: &str) -> Arg {
        Arg::Code(s.to_owned())
    }
}

impl From<&&str> for Arg {
    fn from(s: &&str) -> Arg {
        Arg::Code((*s).to_owned())
    }
}

impl From<Cow<'_, str>> for Arg {
    fn from(s: Cow<'_, str>) -> Arg {
        Arg::Code(s.into_owned())
    }
}

impl From<std::rc::Rc<str>> for Arg {
    fn from(s: std::rc::Rc<str>) -> Arg {
        Arg::Code(s.to_string())
    }
}

impl From<&std::rc::Rc<str>> for Arg {
    fn from(s: &std::rc::Rc<str>) -> Arg {
        Arg::Code(s.to_string())
    }
}

impl From<Msg> for Arg {
    fn from(m: Msg) -> Arg {
        Arg::Msg(m)
    }
}

impl From<Text> for Arg {
    fn from(t: Text) -> Arg {
        match t.msg {
            Some(m) => Arg::Msg(m),
            None => Arg::Code(t.en),
        }
    }
}

impl From<&Text> for Arg {
    fn from(t: &Text) -> Arg {
        t.clone().into()
    }
}

macro_rules! number_args {
    ($($t:ty),*) => {$(
        impl From<$t> for Arg {
            fn from(n: $t) -> Arg {
                Arg::Code(n.to_string())
            }
        }
    )*};
}
number_args!(u8, u16, u32, u64, u128, usize, i32, i64, char);

/// A sentence of a report: the English text, and the message it was made from when it was.
/// Equal, serialized and deserialized as its English text, so that JSON, SARIF and baselines do
/// not depend on the reader's language; [`Text::in_lang`] says it in another.
#[derive(Clone, Debug, Default)]
pub struct Text {
    en: String,
    msg: Option<Msg>,
}

impl Text {
    /// English only: a text that no message of the tables says (it is shown as it is in
    /// every language).
    pub fn plain(en: impl Into<String>) -> Text {
        Text {
            en: en.into(),
            msg: None,
        }
    }

    /// The English text.
    pub fn as_str(&self) -> &str {
        &self.en
    }

    /// The message the text was made from, if it was.
    pub fn msg(&self) -> Option<&Msg> {
        self.msg.as_ref()
    }

    /// The text in `lang`: the message said in `lang`, else the English text.
    pub fn in_lang(&self, lang: Lang) -> Cow<'_, str> {
        match (&self.msg, lang) {
            (Some(m), Lang::ZhCn) => Cow::Owned(m.render(lang)),
            _ => Cow::Borrowed(&self.en),
        }
    }

    /// At most `max` characters, an ellipsis after a cut. A cut text is English only, so that
    /// every language shows the same bounded text.
    #[must_use]
    pub fn bounded(self, max: usize) -> Text {
        if self.en.len() <= max || self.en.chars().count() <= max {
            self
        } else {
            Text::plain(self.en.chars().take(max).collect::<String>() + "…")
        }
    }
}

impl From<Msg> for Text {
    fn from(msg: Msg) -> Text {
        Text {
            en: msg.render(Lang::En),
            msg: Some(msg),
        }
    }
}

impl From<String> for Text {
    fn from(en: String) -> Text {
        Text::plain(en)
    }
}

impl From<&str> for Text {
    fn from(en: &str) -> Text {
        Text::plain(en)
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.en
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.en
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.en)
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.en == other.en
    }
}

impl Eq for Text {}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Text) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Text) -> std::cmp::Ordering {
        self.en.cmp(&other.en)
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.en == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.en == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        &self.en == other
    }
}

impl Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.en)
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Text, D::Error> {
        String::deserialize(deserializer).map(Text::plain)
    }
}

/// Adds a space to `out` when its last character and the first of `next` are a Han character
/// and Latin text or code (either way round).
fn space_between(out: &mut String, next: &str) {
    let han = |c: char| ('\u{4e00}'..='\u{9fff}').contains(&c);
    let latin = |c: char| c.is_ascii_alphanumeric() || c == '`';
    if let (Some(a), Some(b)) = (out.chars().next_back(), next.chars().next())
        && ((han(a) && latin(b)) || (latin(a) && han(b)))
    {
        out.push(' ');
    }
}

/// The row of `id` in `lang`'s table.
fn template(lang: Lang, id: &str) -> Option<&'static str> {
    let table = table(lang);
    table
        .binary_search_by(|(i, _)| (*i).cmp(id))
        .ok()
        .map(|at| table[at].1)
}

/// `lang`'s table, sorted by id.
fn table(lang: Lang) -> &'static [(&'static str, &'static str)] {
    match lang {
        Lang::En => MESSAGES_EN,
        Lang::ZhCn => MESSAGES_ZH_CN,
    }
}

/// The ids of `lang`'s table (for the completeness tests).
pub fn ids(lang: Lang) -> Vec<&'static str> {
    table(lang).iter().map(|(id, _)| *id).collect()
}

/// The row `id` of `lang`'s table, as written (for the completeness tests).
pub fn row(lang: Lang, id: &str) -> Option<&'static str> {
    template(lang, id)
}

/// The placeholder names of the row `id` in `lang`, in order, `None` without a row.
pub fn placeholders(lang: Lang, id: &str) -> Option<Vec<&'static str>> {
    let template = template(lang, id)?;
    Some(
        Pieces::new(template)
            .filter_map(|p| match p {
                Piece::Slot(name) => Some(name),
                Piece::Text(_) => None,
            })
            .collect(),
    )
}

/// A piece of a row: text, or the name of a placeholder.
enum Piece<'t> {
    Text(&'t str),
    Slot(&'t str),
}

/// The pieces of a row, `{{` and `}}` read as one brace each.
struct Pieces<'t> {
    rest: &'t str,
}

impl<'t> Pieces<'t> {
    fn new(template: &'t str) -> Self {
        Pieces { rest: template }
    }
}

impl<'t> Iterator for Pieces<'t> {
    type Item = Piece<'t>;

    fn next(&mut self) -> Option<Piece<'t>> {
        let rest = self.rest;
        if rest.is_empty() {
            return None;
        }
        if let Some(after) = rest.strip_prefix("{{") {
            self.rest = after;
            return Some(Piece::Text("{"));
        }
        if let Some(after) = rest.strip_prefix("}}") {
            self.rest = after;
            return Some(Piece::Text("}"));
        }
        if let Some(after) = rest.strip_prefix('{')
            && let Some(end) = after.find('}')
        {
            self.rest = &after[end + 1..];
            return Some(Piece::Slot(&after[..end]));
        }
        // Up to the next brace (a lone brace is text).
        let first = rest.chars().next().map_or(1, char::len_utf8);
        let end = rest[first..]
            .find(['{', '}'])
            .map_or(rest.len(), |i| i + first);
        self.rest = &rest[end..];
        Some(Piece::Text(&rest[..end]))
    }
}

/// Compile-time check of [`msg!`]: both tables have `id`, and each row's placeholders are
/// exactly `names`.
#[doc(hidden)]
pub const fn check(id: &str, names: &[&str]) {
    match const_template(MESSAGES_EN, id) {
        None => panic!("a message id has no row in i18n/en/messages.toml"),
        Some(t) => assert!(
            slots_are(t, names),
            "the English row of a message has other placeholders than its arguments"
        ),
    }
    match const_template(MESSAGES_ZH_CN, id) {
        None => panic!("a message id has no row in i18n/zh-CN/messages.toml"),
        Some(t) => assert!(
            slots_are(t, names),
            "the Chinese row of a message has other placeholders than its arguments"
        ),
    }
}

const fn const_template(table: &[(&'static str, &'static str)], id: &str) -> Option<&'static str> {
    let mut i = 0;
    while i < table.len() {
        if bytes_eq(table[i].0.as_bytes(), 0, table[i].0.len(), id.as_bytes()) {
            return Some(table[i].1);
        }
        i += 1;
    }
    None
}

/// Whether `a[from..to]` is `b`.
const fn bytes_eq(a: &[u8], from: usize, to: usize, b: &[u8]) -> bool {
    if to - from != b.len() {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if a[from + i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Whether the placeholders of `template` are exactly `names` (each name used, each
/// placeholder named).
const fn slots_are(template: &str, names: &[&str]) -> bool {
    let t = template.as_bytes();
    let mut used = 0u64;
    if names.len() > 64 {
        return false;
    }
    let mut i = 0;
    while i < t.len() {
        if t[i] == b'{' && i + 1 < t.len() && t[i + 1] == b'{' {
            i += 2;
            continue;
        }
        if t[i] == b'}' && i + 1 < t.len() && t[i + 1] == b'}' {
            i += 2;
            continue;
        }
        if t[i] == b'{' {
            let mut end = i + 1;
            while end < t.len() && t[end] != b'}' {
                end += 1;
            }
            if end == t.len() {
                return false;
            }
            let mut found = false;
            let mut n = 0;
            while n < names.len() {
                if bytes_eq(t, i + 1, end, names[n].as_bytes()) {
                    used |= 1 << n;
                    found = true;
                }
                n += 1;
            }
            if !found {
                return false;
            }
            i = end + 1;
            continue;
        }
        i += 1;
    }
    let all = if names.len() == 64 {
        u64::MAX
    } else {
        (1u64 << names.len()) - 1
    };
    used == all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_read_braces_and_placeholders() {
        let pieces: Vec<String> = Pieces::new("`{callee}({{ a: 1 }})` x{y}…{z}好")
            .map(|p| match p {
                Piece::Text(t) => t.to_owned(),
                Piece::Slot(s) => format!("<{s}>"),
            })
            .collect();
        assert_eq!(pieces.concat(), "`<callee>({ a: 1 })` x<y>…<z>好");
        assert!(slots_are("{a} and {b}", &["b", "a"]));
        assert!(!slots_are("{a} and {b}", &["a"]));
        assert!(!slots_are("{a}", &["a", "b"]));
        assert!(slots_are("{{a}} x", &[]));
    }

    /// Every message has a row in both languages with the same placeholders, and no row is in
    /// one table only.
    #[test]
    fn both_languages_have_every_message_with_the_same_placeholders() {
        let en = ids(Lang::En);
        let zh = ids(Lang::ZhCn);
        let only_en: Vec<_> = en.iter().filter(|i| !zh.contains(i)).collect();
        let only_zh: Vec<_> = zh.iter().filter(|i| !en.contains(i)).collect();
        assert!(only_en.is_empty(), "no zh-CN row for: {only_en:?}");
        assert!(only_zh.is_empty(), "no English row for: {only_zh:?}");
        let mut differ = Vec::new();
        for id in &en {
            let mut a = placeholders(Lang::En, id).unwrap_or_default();
            let mut b = placeholders(Lang::ZhCn, id).unwrap_or_default();
            a.sort_unstable();
            a.dedup();
            b.sort_unstable();
            b.dedup();
            if a != b {
                differ.push(format!("{id}: en {a:?}, zh-CN {b:?}"));
            }
        }
        assert!(differ.is_empty(), "placeholders differ: {differ:#?}");
    }

    #[test]
    fn chinese_puts_a_space_where_an_argument_meets_han_text() {
        let m = crate::msg!(
            "A003.trusted",
            method = "where",
            source = crate::msg!("A003.source", source = "event.openid")
        );
        let zh = m.render(Lang::ZhCn);
        assert!(zh.contains("信任了 `event.openid`（"), "{zh}");
        let m = crate::msg!(
            "S001.stored",
            api = "setStorageSync",
            what = crate::msg!("label.password")
        );
        assert!(
            m.render(Lang::ZhCn)
                .starts_with("`setStorageSync` 把密码以明文")
        );
        // English as written.
        assert_eq!(
            crate::msg!(
                "S001.stored",
                api = "a",
                what = crate::msg!("label.password")
            )
            .render(Lang::En),
            "`a` stores a password in plain text on the device"
        );
    }

    #[test]
    fn text_is_english_in_machine_formats_and_localized_for_people() {
        let m = crate::msg!(
            "finding.with-reason",
            message = "`a` b",
            reason = crate::msg!("reach.dev-only")
        );
        let t = Text::from(m);
        assert_eq!(t.as_str(), "`a` b (development build only)");
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            "\"`a` b (development build only)\""
        );
        let zh = t.in_lang(Lang::ZhCn);
        assert!(
            zh.starts_with("`a` b（") && !zh.contains("development"),
            "{zh}"
        );
        let back: Text = serde_json::from_str("\"x\"").unwrap();
        assert_eq!(back, "x");
        assert_eq!(back.in_lang(Lang::ZhCn), "x");
    }
}
