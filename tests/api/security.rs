//! The control API cannot be turned against its user: a web
//! page (foreign `Origin`), a DNS-rebound name (foreign `Host`), a bodiless or
//! non-JSON write, trailing bytes, an oversize body, a lower-case `bearer` and
//! invisible format characters in free text, against the real daemon over HTTP.

use reqwest::header::{CONTENT_TYPE, HOST, ORIGIN};
use serde_json::{json, Value};
use sluice::domain::Direction;
use sluice_testkit::app::*;
use sqlx::PgPool;

/// The daemon with no token (`api.auth = "none"` as the test harness builds it): the
/// case of the incident, where only the browser defences stand between a page and
/// the account.
async fn tokenless(pool: &PgPool, env: &'static [(&'static str, &'static str)]) -> TestApp {
    spawn_with(
        pool,
        Spawn {
            token: None,
            env,
            ..Spawn::default()
        },
    )
    .await
}

async fn halted(app: &TestApp) -> bool {
    let (_, body) = app.get("/v1/halt").await;
    body["halt"]["halted"].as_bool().expect("halted flag")
}

#[sqlx::test]
async fn a_page_from_a_foreign_origin_can_neither_flatten_nor_halt(pool: PgPool) {
    let app = tokenless(&pool, &[]).await;
    app.position("SOLUSDT", Direction::Short, "6730.84", "150")
        .await;
    let mut answers = Vec::new();
    for path in ["/v1/flatten", "/v1/halt", "/v1/resume"] {
        let r = app
            .http
            .post(app.url(path))
            .header(ORIGIN, "http://evil.example")
            .send()
            .await
            .expect("send");
        answers.push((path, read(r).await));
    }
    // Even a well-formed JSON write is refused from a foreign page.
    let json_write = app
        .http
        .post(app.url("/v1/halt"))
        .header(ORIGIN, "http://evil.example")
        .json(&json!({}))
        .send()
        .await
        .expect("send");
    let (json_status, json_body) = read(json_write).await;

    for (path, (status, body)) in &answers {
        assert_eq!(*status, 403, "{path}: {body}");
        assert_eq!(body["error"]["field"], "origin", "{path}: {body}");
    }
    assert_eq!(json_status, 403, "{json_body}");
    assert!(!halted(&app).await, "nothing was halted");
    assert_eq!(app.count("intents").await, 0, "no flatten intent stored");
    app.stop().await;
}

#[sqlx::test]
async fn an_allowed_origin_may_call_the_api(pool: PgPool) {
    let app = tokenless(
        &pool,
        &[("SLUICE__API__ALLOWED_ORIGINS", "https://desk.example")],
    )
    .await;
    let r = app
        .http
        .post(app.url("/v1/halt"))
        .header(ORIGIN, "https://DESK.example")
        .json(&json!({"reason": "from the desk page"}))
        .send()
        .await
        .expect("send");
    let (status, body) = read(r).await;
    let other = app
        .http
        .get(app.url("/v1/budget"))
        .header(ORIGIN, "https://desk.example.evil")
        .send()
        .await
        .expect("send");

    assert_eq!(status, 200, "{body}");
    assert!(halted(&app).await);
    assert_eq!(other.status().as_u16(), 403);
    app.stop().await;
}

#[sqlx::test]
async fn a_dns_rebound_host_name_reads_nothing(pool: PgPool) {
    let app = tokenless(
        &pool,
        &[("SLUICE__API__ALLOWED_HOSTS", "sluice.internal:7878")],
    )
    .await;
    app.position("SOLUSDT", Direction::Short, "10", "150").await;
    let port = app.addr.port();
    let mut answers = Vec::new();
    for host in [
        "evil.example".to_string(),
        format!("evil.example:{port}"),
        "sluice.internal:7879".to_string(),
    ] {
        let r = app
            .http
            .get(app.url("/v1/positions"))
            .header(HOST, &host)
            .send()
            .await
            .expect("send");
        answers.push((host, read(r).await));
    }
    let mut accepted = Vec::new();
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        "sluice.internal:7878".to_string(),
    ] {
        let r = app
            .http
            .get(app.url("/v1/positions"))
            .header(HOST, &host)
            .send()
            .await
            .expect("send");
        accepted.push((host, r.status().as_u16()));
    }

    for (host, (status, body)) in &answers {
        assert_eq!(*status, 403, "{host}: {body}");
        assert_eq!(body["error"]["field"], "host", "{host}: {body}");
        assert!(!body.to_string().contains("SOLUSDT"), "{host}: {body}");
    }
    for (host, status) in accepted {
        assert_eq!(status, 200, "{host}");
    }
    app.stop().await;
}

/// POST `body` as raw bytes to `path` with the given Content-Type (None = no header).
async fn raw_post(
    app: &TestApp,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (u16, Value) {
    let mut rb = app.http.post(app.url(path)).bearer_auth(TOKEN).body(body);
    if let Some(ct) = content_type {
        rb = rb.header(CONTENT_TYPE, ct);
    }
    read(rb.send().await.expect("send")).await
}

#[sqlx::test]
async fn every_write_needs_exactly_application_json_even_without_a_body(pool: PgPool) {
    let app = spawn_app(&pool).await;
    let mut refused = Vec::new();
    for (ct, body) in [
        (None, ""),
        (Some("text/plain"), ""),
        (Some("text/plain"), "{}"),
        (Some("application/jsonp"), "{}"),
        (Some("application/json-patch+json"), "{}"),
        (Some("application/json; charset=latin1"), "{}"),
        (Some("application/x-www-form-urlencoded"), "reason=x"),
    ] {
        let (status, answer) = raw_post(&app, "/v1/halt", ct, body.into()).await;
        refused.push((ct, body, status, answer));
    }
    let (empty_status, empty) =
        raw_post(&app, "/v1/flatten", Some("application/json"), Vec::new()).await;
    assert!(!halted(&app).await, "no refused write halted trading");
    let (upper, upper_body) =
        raw_post(&app, "/v1/halt", Some("APPLICATION/JSON"), b"{}".to_vec()).await;
    let (utf8, utf8_body) = raw_post(
        &app,
        "/v1/resume",
        Some("application/json; charset=UTF-8"),
        b"{}".to_vec(),
    )
    .await;

    for (ct, body, status, answer) in refused {
        assert_eq!(status, 415, "{ct:?} {body:?}: {answer}");
        assert_eq!(answer["error"]["field"], "content-type", "{answer}");
    }
    assert_eq!(
        empty_status, 400,
        "an empty body is never read as {{}}: {empty}"
    );
    assert_eq!(empty["error"]["field"], "body");
    assert_eq!(app.count("intents").await, 0);
    assert_eq!(upper, 200, "{upper_body}");
    assert_eq!(utf8, 200, "{utf8_body}");
    app.stop().await;
}

#[sqlx::test]
async fn trailing_bytes_after_the_json_body_are_refused(pool: PgPool) {
    let app = spawn_app(&pool).await;
    let position = app
        .position("SOLUSDT", Direction::Short, "6000", "150")
        .await;
    let body = format!(
        r#"{{"kind":"reduce","position_id":{},"quantity":"1","idempotency_key":"t1"}}{{"quantity":"5000"}} junk"#,
        position.id.0
    );
    let (status, answer) = raw_post(
        &app,
        "/v1/intents",
        Some("application/json"),
        body.into_bytes(),
    )
    .await;

    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"]["field"], "body");
    assert!(
        answer["error"]["reason"]
            .as_str()
            .unwrap_or("")
            .contains("trailing"),
        "{answer}"
    );
    assert_eq!(app.count("intents").await, 0, "nothing written");
    app.stop().await;
}

#[sqlx::test]
async fn a_body_over_64_kb_answers_413(pool: PgPool) {
    let app = spawn_app(&pool).await;
    let reason = "x".repeat(70 * 1024);
    let body = serde_json::to_vec(&json!({ "reason": reason })).expect("json");
    let (status, answer) = raw_post(&app, "/v1/halt", Some("application/json"), body).await;

    assert_eq!(status, 413, "{answer}");
    assert_eq!(answer["error"]["code"], "payload_too_large");
    assert!(!halted(&app).await);
    app.stop().await;
}

#[sqlx::test]
async fn the_bearer_scheme_is_case_insensitive(pool: PgPool) {
    let app = spawn_app(&pool).await;
    let mut statuses = Vec::new();
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let r = app
            .http
            .get(app.url("/v1/budget"))
            .header("authorization", format!("{scheme} {TOKEN}"))
            .send()
            .await
            .expect("send");
        statuses.push((scheme, r.status().as_u16()));
    }
    let basic = app
        .http
        .get(app.url("/v1/budget"))
        .header("authorization", format!("Basic {TOKEN}"))
        .send()
        .await
        .expect("send");

    for (scheme, status) in statuses {
        assert_eq!(status, 200, "{scheme}");
    }
    assert_eq!(basic.status().as_u16(), 401);
    app.stop().await;
}

#[sqlx::test]
async fn invisible_format_characters_are_refused_in_free_text(pool: PgPool) {
    let app = spawn_app(&pool).await;
    let mut answers = Vec::new();
    for (path, body, field) in [
        ("/v1/halt", json!({"reason": "ok\u{202E}evil"}), "reason"),
        ("/v1/halt", json!({"actor": "ops\u{200B}"}), "actor"),
        ("/v1/flatten", json!({"reason": "a\u{2066}b"}), "reason"),
        (
            "/v1/intents",
            json!({"kind": "open", "symbol": "SOLUSDT", "side": "long", "notional_usdt": "10",
                   "idempotency_key": "k1", "reason": "\u{FEFF}x"}),
            "reason",
        ),
        (
            "/v1/intents",
            json!({"kind": "open", "symbol": "SOLUSDT", "side": "long", "notional_usdt": "10",
                   "idempotency_key": "k2", "actor": "bot\u{202D}1"}),
            "actor",
        ),
        (
            "/v1/intents",
            json!({"kind": "open", "symbol": "SOLUSDT", "side": "long", "notional_usdt": "10",
                   "idempotency_key": "k\u{200D}3"}),
            "idempotency_key",
        ),
    ] {
        let (status, answer) = app.post(path, &body).await;
        answers.push((path, field, status, answer));
    }

    for (path, field, status, answer) in answers {
        assert_eq!(status, 422, "{path}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{path}: {answer}");
    }
    assert!(!halted(&app).await);
    assert_eq!(app.count("intents").await, 0);
    app.stop().await;
}
