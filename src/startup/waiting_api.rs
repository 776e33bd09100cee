//! The control API's socket while the daemon cannot build the full API yet (the ledger
//! database is not up, preflight is running): `/healthz` answers ok, `/readyz` answers 503
//! with the reason, every other path 503. The same socket is handed to the full API
//! afterwards ([`WaitingApi::finish`]), so the address never changes and a client that
//! connects in between waits in the listen backlog instead of being refused.
//!
//! Invariant: nothing here reads or writes the ledger or the exchange.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::settings::ApiSettings;

type Reason = Arc<Mutex<String>>;

/// The waiting server and the socket the full API takes over.
pub(crate) struct WaitingApi {
    listener: std::net::TcpListener,
    reason: Reason,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl WaitingApi {
    /// Bind `api.listen` and answer health probes with `reason` until [`finish`](Self::finish).
    pub(crate) fn start(api: &ApiSettings, reason: &str) -> anyhow::Result<WaitingApi> {
        // SO_REUSEADDR as tokio's own bind sets it: a restart must not fail on the previous
        // process's connections still in TIME_WAIT.
        let socket = if api.listen.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket
            .bind(api.listen)
            .with_context(|| format!("api.listen: cannot bind {}", api.listen))?;
        let listener = socket
            .listen(1024)
            .with_context(|| format!("api.listen: cannot listen on {}", api.listen))?
            .into_std()?;
        let serving = listener.try_clone()?;
        serving.set_nonblocking(true)?;
        let serving = tokio::net::TcpListener::from_std(serving)?;
        let addr: SocketAddr = serving.local_addr()?;
        let reason: Reason = Arc::new(Mutex::new(reason.to_string()));
        let app = Router::new()
            .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
            .route("/readyz", get(readyz))
            .fallback(unavailable)
            .with_state(reason.clone())
            .layer(axum::middleware::map_response(close_after));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let limits = crate::api::server::Limits::from_settings(api);
        let task = tokio::spawn(crate::api::server::serve(serving, app, limits, async {
            let _ = stopped.await;
        }));
        tracing::info!(api = %addr, "control API serving");
        tracing::warn!(api = %addr, "control API answers health probes only until the daemon has started");
        Ok(WaitingApi {
            listener,
            reason,
            stop,
            task,
        })
    }

    /// What `/readyz` says now.
    pub(crate) fn set_reason(&self, reason: &str) {
        *self.reason.lock().unwrap_or_else(|p| p.into_inner()) = reason.to_string();
    }

    /// A handle that updates the reason (for loops that run without `self`).
    pub(crate) fn reporter(&self) -> impl Fn(&str) + Send + Sync + 'static {
        let reason = self.reason.clone();
        move |r: &str| *reason.lock().unwrap_or_else(|p| p.into_inner()) = r.to_string()
    }

    /// Stop answering and give the socket to the full API.
    pub(crate) async fn finish(self) -> std::net::TcpListener {
        let _ = self.stop.send(());
        let _ = self.task.await;
        self.listener
    }
}

/// Every answer of the waiting server closes its connection: the server stops at the
/// hand-over and would close a kept-alive connection under a client that is just sending
/// on it (the client sees the connection drop, not an answer). A client polling through
/// the start opens a new connection each time and reaches the full API after it.
async fn close_after(mut response: axum::response::Response) -> axum::response::Response {
    response.headers_mut().insert(
        axum::http::header::CONNECTION,
        axum::http::HeaderValue::from_static("close"),
    );
    response
}

async fn readyz(State(reason): State<Reason>) -> (StatusCode, Json<Value>) {
    let reason = reason.lock().unwrap_or_else(|p| p.into_inner()).clone();
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(
            json!({"ready": false, "status": "not_ready", "role": "starting",
                    "reason": reason, "degraded": []}),
        ),
    )
}

/// 503 `starting`, in the API's one error shape (`crate::api::error`).
async fn unavailable(State(reason): State<Reason>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let reason = reason.lock().unwrap_or_else(|p| p.into_inner()).clone();
    crate::api::ApiError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        body: crate::api::error::ErrorBody {
            code: "starting",
            field: None,
            reason: format!("sluice is starting: {reason}; retry shortly"),
            intent_id: None,
        },
    }
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_while_starting_gets_the_apis_error_shape_with_code_starting() {
        let reason: Reason = Arc::new(Mutex::new("the ledger database is not up".into()));
        let response = unavailable(State(reason)).await;
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
            .await
            .expect("body");
        let body: Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["error"]["code"], "starting", "{body}");
        let reason = body["error"]["reason"].as_str().unwrap_or_default();
        assert!(reason.contains("the ledger database is not up"), "{reason}");
    }

    #[tokio::test]
    async fn the_waiting_server_closes_each_connection_after_its_answer() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let api: ApiSettings = serde_json::from_value(json!({
            "listen": "127.0.0.1:0", "token": null, "token_file": null
        }))
        .expect("settings");
        let waiting = WaitingApi::start(&api, "preflight is running").expect("start");
        let addr = waiting.listener.local_addr().expect("addr");
        let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let request = format!("GET /readyz HTTP/1.1\r\nHost: {addr}\r\n\r\n");
        conn.write_all(request.as_bytes()).await.expect("send");
        // The server ends the connection after the answer: reading to the end finishes.
        let mut answer = String::new();
        tokio::time::timeout(
            std::time::Duration::from_secs(10),
            conn.read_to_string(&mut answer),
        )
        .await
        .expect("the server closed the connection")
        .expect("read");
        let head = answer.to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 503"), "{answer}");
        assert!(head.contains("connection: close"), "{answer}");
        let _ = waiting.finish().await;
    }
}
