//! Issue 15: the scope is enforced. A second loopback server outside the scope receives no
//! request, even when the target redirects to it or links to it; budgets stop the run on count
//! and on time.

mod common;

use std::time::{Duration, Instant};

use common::{Answer, scope_for, start};
use miniguard_probe::{Client, ClientOptions, Request, SendError};
use url::Url;

#[tokio::test]
async fn an_outside_server_receives_nothing_even_when_redirected_or_linked_to() {
    let outside = start(|_| Answer::ok("outside")).await;
    let out_base = outside.base();
    let target = start(move |path| match path {
        "/api/go" => Answer::redirect(&format!("{out_base}/api/stolen")),
        "/api/hop" => Answer::redirect("/api/landing"),
        "/api/up" => Answer::redirect("/admin/secret"),
        _ => Answer::ok(&format!(
            "<a href=\"{out_base}/api/linked\">x</a> <a href=\"/api/next\">n</a> <img src=\"/admin/x.png\"> {{\"u\":\"{out_base}/api/json\"}}"
        )),
    })
    .await;
    let client = Client::new(
        scope_for(target.port, "\"/api/\"", 200, 100, 30),
        &ClientOptions::default(),
    )
    .unwrap();
    let base = Url::parse(&target.base()).unwrap();

    // A redirect off the scope ends the chain before the hop is sent.
    let (chain, err) = client
        .send_following(&Request::get(base.join("/api/go").unwrap()))
        .await;
    assert_eq!(chain.len(), 1);
    assert!(matches!(err, Some(SendError::OutOfScope { .. })), "{err:?}");
    // A redirect inside the host but outside the paths too.
    let (chain, err) = client
        .send_following(&Request::get(base.join("/api/up").unwrap()))
        .await;
    assert_eq!(chain.len(), 1);
    assert!(matches!(err, Some(SendError::OutOfScope { .. })), "{err:?}");
    // An in-scope redirect is followed.
    let (chain, err) = client
        .send_following(&Request::get(base.join("/api/hop").unwrap()))
        .await;
    assert!(err.is_none());
    assert_eq!(chain.len(), 2);

    // The crawler finds the outside links and never requests them.
    let crawl = miniguard_probe::crawl::crawl(&client, &[base.join("/api/").unwrap()])
        .await
        .unwrap();
    assert!(
        crawl.out_of_scope.iter().any(|u| u.contains("/api/linked")),
        "{:?}",
        crawl.out_of_scope
    );
    assert!(
        crawl
            .out_of_scope
            .iter()
            .any(|u| u.contains("/admin/x.png"))
    );
    assert!(
        crawl
            .exchanges
            .iter()
            .any(|e| e.request.url.path() == "/api/next")
    );

    // Direct attempts are refused too.
    for url in [
        format!("{}/api/direct", outside.base()),
        format!("{}/admin/", target.base()),
    ] {
        let err = client
            .send(&Request::get(Url::parse(&url).unwrap()))
            .await
            .unwrap_err();
        assert!(matches!(err, SendError::OutOfScope { .. }));
    }
    assert_eq!(
        outside.hits(),
        0,
        "the server outside the scope was reached"
    );
    assert_eq!(target.hits(), client.stats().sent);
    assert!(client.stats().refused_out_of_scope >= 4);
}

#[tokio::test]
async fn the_request_budget_stops_the_run_on_count() {
    let target = start(|_| Answer::ok("hi")).await;
    let client = Client::new(
        scope_for(target.port, "\"/\"", 1000, 7, 30),
        &ClientOptions::default(),
    )
    .unwrap();
    let url = Url::parse(&format!("{}/x", target.base())).unwrap();
    let mut ok = 0;
    let mut last = None;
    for _ in 0..20 {
        match client.send(&Request::get(url.clone())).await {
            Ok(_) => ok += 1,
            Err(e) => last = Some(e),
        }
    }
    assert_eq!(ok, 7);
    assert!(
        matches!(last, Some(SendError::RequestBudget(7))),
        "{last:?}"
    );
    assert_eq!(target.hits(), 7);
}

#[tokio::test]
async fn the_time_budget_stops_the_run_on_time_and_the_pace_is_kept() {
    let target = start(|_| Answer::ok("hi")).await;
    // 5 requests a second for at most 1 second: the sixth slot is past the budget.
    let client = Client::new(
        scope_for(target.port, "\"/\"", 5, 1000, 1),
        &ClientOptions::default(),
    )
    .unwrap();
    let url = Url::parse(&format!("{}/x", target.base())).unwrap();
    let started = Instant::now();
    let mut ok = 0;
    let mut stopped = None;
    for _ in 0..1000 {
        match client.send(&Request::get(url.clone())).await {
            Ok(_) => ok += 1,
            Err(e) => {
                stopped = Some(e);
                break;
            }
        }
    }
    assert!(
        matches!(stopped, Some(SendError::TimeBudget(1))),
        "{stopped:?}"
    );
    assert_eq!(
        ok, 5,
        "the pace of 5 per second allows 5 requests in 1 second"
    );
    // Refused as soon as the next slot would fall past the budget, without waiting for it.
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(target.hits(), 5);
}
