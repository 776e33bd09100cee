//! The WebSocket API, `/ws-fapi/v1` (docs/binance-fapi.md §6): one JSON request per text
//! frame, one response per request with its `id`, served by the same venue, limits and
//! fault windows as REST (each order method runs through the REST pipeline).
//!
//! Connection rules: a ping every 3 scenario minutes carrying a payload (a pong echoing
//! it is counted in `/sim/state` `stats.wsApiPongs`; a missing pong is not punished by
//! this simulator), closed at the 24-scenario-hour cap. Faults: `disconnect_sockets`
//! and `refuse_ws_api` close the socket (the latter also refuses new ones while open);
//! `drop_ws_api` closes it in place of an answer (`fault.rs`). Per connection, a session key
//! after `session.logon` (Ed25519 keys only).

mod fault;
mod request;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::{sleep_until, Instant};

use crate::server::state::{lock, Control, SimState};
use crate::ws::socket::{PING_EVERY, SOCKET_CAP};

pub(crate) use request::Session;

/// `GET /ws-fapi/v1` (WebSocket upgrade).
pub(crate) async fn route(
    State(s): State<Arc<SimState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ws: WebSocketUpgrade,
) -> Response {
    if s.ws_api_refused() {
        return (StatusCode::SERVICE_UNAVAILABLE, "WebSocket API unavailable").into_response();
    }
    ws.on_upgrade(move |socket| serve(socket, s, peer.ip()))
}

async fn serve(mut socket: WebSocket, state: Arc<SimState>, ip: IpAddr) {
    let mut control = state.control_tx.subscribe();
    let mut session = Session::new(state.clock.wall_ms());
    let mut pinged: Option<Vec<u8>> = None;
    let cap = Instant::now() + state.clock.real(SOCKET_CAP);
    let mut ping = tokio::time::interval(state.clock.real(PING_EVERY));
    ping.tick().await;
    loop {
        tokio::select! {
            msg = socket.recv() => match msg {
                Some(Ok(Message::Text(text))) => {
                    match request::answer(&state, ip, &mut session, text.as_str()).await {
                        request::Reply::Frame(answer) => {
                            if socket.send(Message::Text(answer.into())).await.is_err() {
                                return;
                            }
                        }
                        request::Reply::Drop => return,
                    }
                }
                Some(Ok(Message::Pong(payload))) => {
                    if pinged.as_deref() == Some(&payload[..]) {
                        lock(&state.stats).ws_api_pongs += 1;
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
            ctl = control.recv() => match ctl {
                Ok(Control::DisconnectAll | Control::DropWsApi | Control::Shutdown)
                | Err(RecvError::Closed) => {
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
                Ok(Control::KeysInvalidated(_)) | Err(RecvError::Lagged(_)) => {}
            },
            _ = ping.tick() => {
                // A payload the pong must echo (docs/binance-fapi.md §6).
                let payload = state.clock.wall_ms().to_string().into_bytes();
                if socket.send(Message::Ping(payload.clone().into())).await.is_err() {
                    return;
                }
                pinged = Some(payload);
            }
            _ = sleep_until(cap) => {
                let _ = socket.send(Message::Close(None)).await;
                return;
            }
        }
    }
}
