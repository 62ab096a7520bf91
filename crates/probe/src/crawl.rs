//! A bounded crawl from the target's base URL: pages and JSON answers are read for links
//! (`href`/`src`/`action` attributes, absolute URLs and root-relative paths in strings), and
//! only links inside the scope are requested, through the gate like every other request.

use std::collections::{BTreeSet, VecDeque};
use std::sync::LazyLock;

use regex::Regex;
use url::Url;

use crate::client::{Client, Exchange, Request, SendError};

/// The most pages one crawl requests.
pub const MAX_PAGES: usize = 60;

static LINK: LazyLock<Regex> = LazyLock::new(|| {
    // The pattern is a literal checked by the tests; it cannot fail to compile.
    Regex::new(r#"(?i)(?:href|src|action)\s*=\s*["']([^"'<>\s]{1,512})["']|"((?:https?://|/)[^"\s<>\\]{0,512})""#)
        .unwrap_or_else(|_| unreachable!("constant pattern"))
});

/// Links found in an answer, resolved against its URL (not yet checked against the scope).
pub fn links(exchange: &Exchange) -> Vec<Url> {
    let base = &exchange.request.url;
    let mut out = Vec::new();
    if let Some(location) = exchange.header("location")
        && let Ok(u) = base.join(location)
    {
        out.push(u);
    }
    for cap in LINK.captures_iter(&exchange.body).take(500) {
        let Some(m) = cap.get(1).or_else(|| cap.get(2)) else {
            continue;
        };
        if let Ok(mut u) = base.join(m.as_str()) {
            u.set_fragment(None);
            out.push(u);
        }
    }
    out
}

/// What a crawl saw.
#[derive(Debug, Default)]
pub struct Crawl {
    pub exchanges: Vec<Exchange>,
    /// In-scope URLs found but not requested because of [`MAX_PAGES`].
    pub left_over: usize,
    /// Links outside the scope that were found and, by design, never requested.
    pub out_of_scope: BTreeSet<String>,
}

/// Crawls from `start` (GET only, no credentials).
pub async fn crawl(client: &Client, start: &[Url]) -> Result<Crawl, SendError> {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut queue: VecDeque<Url> = VecDeque::new();
    for s in start {
        if seen.insert(s.to_string()) {
            queue.push_back(s.clone());
        }
    }
    let mut crawl = Crawl::default();
    while let Some(url) = queue.pop_front() {
        if !client.in_scope(&url) {
            crawl.out_of_scope.insert(url.to_string());
            continue;
        }
        if crawl.exchanges.len() >= MAX_PAGES {
            crawl.left_over += 1;
            continue;
        }
        let exchange = match client.send(&Request::get(url)).await {
            Ok(e) => e,
            Err(e) if e.is_budget() => return Err(e),
            Err(_) => continue,
        };
        for link in links(&exchange) {
            if seen.len() < 10_000 && seen.insert(link.to_string()) {
                queue.push_back(link);
            }
        }
        crawl.exchanges.push(exchange);
    }
    Ok(crawl)
}
