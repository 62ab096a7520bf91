//! I102 with `$where`: a route whose filter runs a `$where` condition from the query is
//! reported; one that ignores it, and one that answers the same to everything, are not.

mod common;

use common::{Answer, scope_for, start};
use miniguard_probe::{ClientOptions, OpenApiSource, ProbeConfig, rules, run};

const OPENAPI: &str = r#"{"openapi": "3.0.3", "paths": {
  "/find": {"get": {"parameters": [{"name": "code", "in": "query", "example": "WELCOME"}]}},
  "/ignore": {"get": {"parameters": [{"name": "code", "in": "query", "example": "WELCOME"}]}}
}}"#;

fn json(body: &str) -> Answer {
    Answer {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.to_owned(),
    }
}

#[tokio::test]
async fn a_where_condition_that_decides_the_answer_is_reported_and_an_ignored_one_is_not() {
    let target = start(|target| {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        // `$` is sent as %24. Only /find runs the condition, and only at the top level.
        let condition = query
            .split('&')
            .find_map(|p| p.strip_prefix("%24where="))
            .map(|v| v.replace('+', " "));
        match (path, condition.as_deref()) {
            ("/find", Some("true" | "return true")) => {
                json(r#"{"coupons": ["WELCOME", "STAFF-ONLY-90"]}"#)
            }
            ("/find", Some(_)) => json(r#"{"coupons": []}"#),
            ("/find" | "/ignore", _) if query.contains("code=WELCOME") => {
                json(r#"{"coupons": ["WELCOME"]}"#)
            }
            _ => json(r#"{"coupons": []}"#),
        }
    })
    .await;
    let skip = rules::ALL
        .iter()
        .map(|r| r.code.to_owned())
        .filter(|c| c != "I102")
        .collect();
    let config = ProbeConfig {
        target: target.base().parse().unwrap(),
        scope: scope_for(target.port, "\"/\"", 500, 400, 60),
        client: ClientOptions::default(),
        openapi: Some(OpenApiSource::Text(OPENAPI.into())),
        identities: Vec::new(),
        path_values: Vec::new(),
        skip,
    };
    let outcome = run(config, &|_, _| {}).await.unwrap();
    let found: Vec<(&str, &str, &str)> = outcome
        .report
        .findings
        .iter()
        .map(|f| {
            (
                f.rule.as_str(),
                f.location.path.as_str(),
                f.message.as_str(),
            )
        })
        .collect();
    assert_eq!(found.len(), 1, "{found:#?}");
    let (rule, route, message) = found[0];
    assert_eq!((rule, route), ("I102", "/find"));
    assert!(message.contains("`$where=true`"), "{message}");
    assert!(outcome.stopped.is_none());
}
