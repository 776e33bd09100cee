//! One WebSocket connection's life: forwards the user events of its listenKey's account or
//! the market streams it subscribed to, pings every 3 scenario minutes, closes at the
//! 24-scenario-hour cap, and on the key's expiry sends `listenKeyExpired` and closes.
//! Faults and DELETE /listenKey reach it through the control channel.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::{sleep_until, Instant};

use crate::sim::server::state::{lock, Control, SimState};
use crate::sim::venue::AccountId;
use crate::sim::ws::events;

/// Scenario-time periods (reference §5.1).
pub const PING_EVERY: Duration = Duration::from_secs(3 * 60);
pub const SOCKET_CAP: Duration = Duration::from_secs(24 * 60 * 60);

/// What a socket forwards.
#[derive(Debug, Clone)]
pub enum Feed {
    User {
        account: AccountId,
        listen_key: String,
        /// `events=` filter of the query form; `None` = everything.
        events: Option<Vec<String>>,
    },
    /// Lower-case stream names.
    Market { streams: Vec<String> },
}

/// How payloads are framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    Raw,
    Combined,
}

/// Real-time instant at which the listenKey expires (None once it no longer exists).
fn key_deadline(state: &SimState, key: &str) -> Option<Instant> {
    let expires = lock(&state.listen_keys).expiry(key)?;
    let left_scn = (expires - state.clock.scenario_ms()).max(0) as u64;
    Some(Instant::now() + state.clock.real(Duration::from_millis(left_scn)))
}

async fn send(socket: &mut WebSocket, text: &str) -> bool {
    socket.send(Message::Text(text.into())).await.is_ok()
}

pub async fn serve(mut socket: WebSocket, state: Arc<SimState>, feed: Feed, framing: Framing) {
    let mut user_rx = state.user_tx.subscribe();
    let mut market_rx = state.market_tx.subscribe();
    let mut control_rx = state.control_tx.subscribe();
    let far = Instant::now() + Duration::from_secs(86_400 * 365);
    let cap = Instant::now() + state.clock.real(SOCKET_CAP);
    let mut ping = tokio::time::interval(state.clock.real(PING_EVERY));
    ping.tick().await;
    let mut expiry = match &feed {
        Feed::User { listen_key, .. } => {
            key_deadline(&state, listen_key).unwrap_or_else(Instant::now)
        }
        Feed::Market { .. } => far,
    };
    loop {
        tokio::select! {
            msg = user_rx.recv(), if matches!(feed, Feed::User { .. }) => match msg {
                Ok(m) => {
                    let Feed::User { account, listen_key, events: filter } = &feed else { continue };
                    let wanted = m.account == *account
                        && filter.as_ref().is_none_or(|f| f.iter().any(|e| e == m.kind));
                    if wanted && !send(&mut socket, &frame(framing, listen_key, &m.json)).await {
                        break;
                    }
                }
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => break,
            },
            msg = market_rx.recv(), if matches!(feed, Feed::Market { .. }) => match msg {
                Ok(m) => {
                    let Feed::Market { streams } = &feed else { continue };
                    if streams.iter().any(|s| *s == *m.stream)
                        && !send(&mut socket, &frame(framing, &m.stream, &m.json)).await
                    {
                        break;
                    }
                }
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => break,
            },
            ctl = control_rx.recv() => match ctl {
                Ok(Control::KeysInvalidated(keys)) => {
                    if let Feed::User { listen_key, .. } = &feed {
                        if keys.contains(listen_key) { break; }
                    }
                }
                Ok(Control::DisconnectAll | Control::Shutdown) | Err(RecvError::Closed) => break,
                Err(RecvError::Lagged(_)) => continue,
            },
            _ = sleep_until(expiry) => {
                let Feed::User { listen_key, .. } = &feed else { expiry = far; continue };
                match key_deadline(&state, listen_key) {
                    Some(d) if d > Instant::now() => expiry = d,
                    _ => {
                        let body = events::listen_key_expired(listen_key, state.clock.wall_ms());
                        let _ = send(&mut socket, &frame(framing, listen_key, &body)).await;
                        break;
                    }
                }
            },
            _ = ping.tick() => {
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() { break; }
            },
            _ = sleep_until(cap) => break,
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    let _ = socket.send(Message::Close(None)).await;
}

fn frame(framing: Framing, stream: &str, json: &str) -> String {
    match framing {
        Framing::Raw => json.to_owned(),
        Framing::Combined => events::combined(stream, json),
    }
}
