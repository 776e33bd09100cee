//! `GET /v1/openapi.json` against the routes the router really serves: every route of
//! the route table (the one list the router is built from) is described, every
//! described operation answers on the live router, and the document's references,
//! security and error bodies hold together.

use std::collections::BTreeSet;

use serde_json::Value;
use sluice::api::{routes, Access};
use sluice_testkit::app::*;
use sqlx::PgPool;

async fn document(app: &TestApp) -> Value {
    let (status, doc) = app.get("/v1/openapi.json").await;
    assert_eq!(status, 200, "{doc}");
    doc
}

/// (METHOD, path) of every operation the document describes.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let paths = doc["paths"].as_object().expect("paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            let methods = item.as_object().expect("path item");
            methods
                .keys()
                .filter(|m| ["get", "post", "put", "delete", "patch"].contains(&m.as_str()))
                .map(|m| (m.to_uppercase(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn operation<'a>(doc: &'a Value, method: &str, path: &str) -> &'a Value {
    &doc["paths"][path][method.to_lowercase()]
}

#[sqlx::test]
async fn every_route_the_router_serves_is_described_and_every_description_is_served(pool: PgPool) {
    let app = spawn_app(&pool).await;
    let doc = document(&app).await;
    let served: BTreeSet<(String, String)> =
        routes().into_iter().map(|r| (r.method, r.path)).collect();
    let described = operations(&doc);

    let undescribed: Vec<_> = served.difference(&described).collect();
    let unserved: Vec<_> = described.difference(&served).collect();
    assert!(
        undescribed.is_empty(),
        "routes without a description: {undescribed:?}"
    );
    assert!(
        unserved.is_empty(),
        "described but not routed: {unserved:?}"
    );
    for route in routes() {
        // Ask the live router without a token: a route behind the token answers 401,
        // which only a matched route does (an unknown path is the fallback's 404).
        let url = app.url(&route.path.replace("{id}", "1"));
        let request = match route.method.as_str() {
            "GET" => app.http.get(url),
            "POST" => app.http.post(url).json(&serde_json::json!({})),
            other => panic!("unexpected method {other}"),
        };
        let status = request.send().await.expect("request").status().as_u16();
        let op = operation(&doc, &route.method, &route.path);
        match route.access {
            Access::Token => {
                assert_eq!(status, 401, "{} {}", route.method, route.path);
                assert!(
                    op["security"].is_null(),
                    "{} {} uses the document's bearer rule",
                    route.method,
                    route.path
                );
                assert!(
                    op["responses"]["401"].is_object(),
                    "{} {}",
                    route.method,
                    route.path
                );
            }
            Access::Open => {
                assert!(
                    ![401, 404, 405].contains(&status),
                    "{} {}: {status}",
                    route.method,
                    route.path
                );
                assert_eq!(
                    op["security"],
                    serde_json::json!([{}]),
                    "{} {} needs no token",
                    route.method,
                    route.path
                );
            }
        }
        assert!(op["responses"]["200"].is_object() || op["responses"]["202"].is_object());
    }
    app.stop().await;
}

/// Every `$ref` in `v`, recursively.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[sqlx::test]
async fn the_document_is_openapi_3_1_with_bearer_auth_error_bodies_and_the_event_stream(
    pool: PgPool,
) {
    let app = spawn_app(&pool).await;
    let anonymous = app
        .http
        .get(app.url("/v1/openapi.json"))
        .send()
        .await
        .expect("get");
    let doc = document(&app).await;

    assert_eq!(
        anonymous.status().as_u16(),
        401,
        "the document is behind the token like all of /v1"
    );
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        doc["openapi"]
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert_eq!(doc["security"], serde_json::json!([{ "bearer": [] }]));
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    let mut all = Vec::new();
    refs(&doc, &mut all);
    for r in &all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .expect("a schema reference");
        assert!(schemas.contains_key(name), "dangling reference {r}");
    }
    let error = &schemas["ErrorBody"]["properties"];
    for field in ["code", "field", "reason", "intent_id"] {
        assert!(error[field].is_object(), "ErrorBody.{field}");
    }
    let bad_open = &operation(&doc, "POST", "/v1/intents")["responses"]["422"];
    assert_eq!(
        bad_open["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ErrorResponse"
    );
    let stream = &operation(&doc, "GET", "/v1/events")["responses"];
    assert_eq!(
        stream["200"]["content"]["text/event-stream"]["schema"]["$ref"],
        "#/components/schemas/StreamEvent"
    );
    assert!(stream["410"].is_object(), "since_too_old is described");
    let event = &schemas["StreamEvent"]["properties"];
    for field in ["seq", "at", "kind"] {
        assert!(event[field].is_object(), "StreamEvent.{field}");
    }
    let params = operation(&doc, "GET", "/v1/events")["parameters"]
        .as_array()
        .expect("params")
        .clone();
    let names: Vec<&str> = params.iter().filter_map(|p| p["name"].as_str()).collect();
    assert!(
        names.contains(&"since") && names.contains(&"Last-Event-ID"),
        "{names:?}"
    );
    app.stop().await;
}
