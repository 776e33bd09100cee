//! Server hygiene: a flood of idle and half-sent connections, more
//! than `api.max_connections`, is cut by the header-read and idle timeouts and does not
//! stop an intent write or a halt from being answered.

use std::time::Duration;

use serde_json::json;
use sluice_testkit::app::*;
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const LIMITS: &[(&str, &str)] = &[
    ("SLUICE__API__MAX_CONNECTIONS", "8"),
    ("SLUICE__API__HEADER_READ_TIMEOUT_MS", "300"),
    ("SLUICE__API__IDLE_TIMEOUT_MS", "600"),
];

/// Wait until the server closes `stream` (EOF or reset), with a deadline.
async fn closed_by_server(mut stream: TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            // A 408 answer before the close is fine; keep reading until EOF.
            Ok(Ok(_)) => continue,
        }
    }
}

#[sqlx::test]
async fn a_flood_of_idle_and_half_sent_connections_does_not_block_writes(pool: PgPool) {
    let app = spawn_with(
        &pool,
        Spawn {
            env: LIMITS,
            ..Spawn::default()
        },
    )
    .await;
    let mut flood = Vec::new();
    for i in 0..32 {
        let mut s = TcpStream::connect(app.addr).await.expect("connect");
        if i % 2 == 0 {
            // Half-sent: a request line and one header, never the blank line.
            s.write_all(b"POST /v1/flatten HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                .await
                .expect("write");
        }
        flood.push(s);
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let open = client
        .post(app.url("/v1/intents"))
        .bearer_auth(TOKEN)
        .json(&open_body("during-flood", "SOLUSDT", "long", "10"))
        .send()
        .await
        .expect("the intent write is answered during the flood");
    let halt = client
        .post(app.url("/v1/halt"))
        .bearer_auth(TOKEN)
        .json(&json!({"reason": "during the flood"}))
        .send()
        .await
        .expect("the halt is answered during the flood");
    let mut cut = 0;
    for s in flood {
        if closed_by_server(s, Duration::from_secs(20)).await {
            cut += 1;
        }
    }

    assert_eq!(open.status().as_u16(), 202);
    assert_eq!(halt.status().as_u16(), 200);
    assert_eq!(
        cut, 32,
        "every idle or half-sent connection was closed by the server"
    );
    app.stop().await;
}

#[sqlx::test]
async fn a_keep_alive_connection_serves_requests_then_is_closed_when_idle(pool: PgPool) {
    let app = spawn_with(
        &pool,
        Spawn {
            env: LIMITS,
            ..Spawn::default()
        },
    )
    .await;
    let mut s = TcpStream::connect(app.addr).await.expect("connect");
    let request = format!(
        "GET /v1/budget HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {TOKEN}\r\n\r\n",
        app.addr
    );
    s.write_all(request.as_bytes()).await.expect("write");
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).await.expect("read");
    let head = String::from_utf8_lossy(&buf[..n]).to_string();

    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        closed_by_server(s, Duration::from_secs(20)).await,
        "an idle keep-alive connection is closed"
    );
    app.stop().await;
}
