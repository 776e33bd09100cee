//! One WebSocket connection's life: forwards the user events of its listenKeys' accounts
//! and the market streams it subscribed to (in the URL or live with Binance's
//! `{"method":"SUBSCRIBE","params":[…],"id":n}` frames, which the official SDK uses), pings
//! every 3 scenario minutes, closes at the 24-scenario-hour cap, and when a key expires
//! sends `listenKeyExpired`. Faults and DELETE /listenKey reach it via the control channel.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use serde_json::Value;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::{sleep_until, Instant};

use crate::json::JsonObj;
use crate::server::state::{lock, Control, MarketMsg, SimState, UserMsg};
use crate::venue::AccountId;
use crate::ws::events;

/// Scenario-time periods (docs/binance-fapi.md §5.1).
pub(crate) const PING_EVERY: Duration = Duration::from_secs(3 * 60);
pub(crate) const SOCKET_CAP: Duration = Duration::from_secs(24 * 60 * 60);

/// One listenKey a socket forwards.
#[derive(Debug, Clone)]
pub(crate) struct UserSub {
    pub account: AccountId,
    pub listen_key: String,
    /// `events=` filter of the query form; `None` = everything.
    pub events: Option<Vec<String>>,
}

/// What a socket forwards. `single_key` sockets (`/private/ws/<key>`) close when their key
/// expires or is invalidated; combined sockets just drop the key.
#[derive(Debug, Clone, Default)]
pub(crate) struct Feed {
    pub users: Vec<UserSub>,
    /// Lower-case market stream names.
    pub streams: Vec<String>,
    pub single_key: bool,
}

/// How payloads are framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    Raw,
    Combined,
}

/// The channels a socket listens to, subscribed BEFORE the 101 answer leaves so that no
/// event sent after the client saw the handshake can be missed.
pub(crate) struct Subscriptions {
    user: broadcast::Receiver<UserMsg>,
    market: broadcast::Receiver<MarketMsg>,
    control: broadcast::Receiver<Control>,
}

impl Subscriptions {
    pub(crate) fn new(state: &SimState) -> Self {
        Subscriptions {
            user: state.user_tx.subscribe(),
            market: state.market_tx.subscribe(),
            control: state.control_tx.subscribe(),
        }
    }
}

/// The earliest real-time instant at which one of the feed's keys expires.
fn next_expiry(state: &SimState, feed: &Feed) -> Instant {
    let far = Instant::now() + Duration::from_secs(86_400 * 365);
    let keys = lock(&state.listen_keys);
    let now_scn = state.clock.scenario_ms();
    feed.users
        .iter()
        .map(|u| match keys.expiry(&u.listen_key) {
            Some(exp) => {
                let left = Duration::from_millis((exp - now_scn).max(0) as u64);
                Instant::now() + state.clock.real(left)
            }
            None => Instant::now(),
        })
        .min()
        .unwrap_or(far)
}

async fn send(socket: &mut WebSocket, text: &str) -> bool {
    socket.send(Message::Text(text.into())).await.is_ok()
}

fn frame(framing: Framing, stream: &str, json: &str) -> String {
    match framing {
        Framing::Raw => json.to_owned(),
        Framing::Combined => events::combined(stream, json),
    }
}

/// What the loop should do after handling one input.
enum Next {
    Continue,
    Close,
}

pub(crate) async fn serve(
    mut socket: WebSocket,
    state: Arc<SimState>,
    subs: Subscriptions,
    mut feed: Feed,
    framing: Framing,
) {
    let Subscriptions {
        user: mut user_rx,
        market: mut market_rx,
        control: mut control_rx,
    } = subs;
    let cap = Instant::now() + state.clock.real(SOCKET_CAP);
    let mut ping = tokio::time::interval(state.clock.real(PING_EVERY));
    ping.tick().await;
    let mut expiry = next_expiry(&state, &feed);
    loop {
        let next = tokio::select! {
            msg = user_rx.recv() => match msg {
                Ok(m) => forward_user(&mut socket, &feed, framing, &m).await,
                Err(RecvError::Lagged(_)) => Next::Continue,
                Err(RecvError::Closed) => Next::Close,
            },
            msg = market_rx.recv() => match msg {
                Ok(m) if feed.streams.iter().any(|s| *s == *m.stream) => {
                    if send(&mut socket, &frame(framing, &m.stream, &m.json)).await { Next::Continue } else { Next::Close }
                }
                Ok(_) | Err(RecvError::Lagged(_)) => Next::Continue,
                Err(RecvError::Closed) => Next::Close,
            },
            ctl = control_rx.recv() => match ctl {
                Ok(Control::KeysInvalidated(keys)) => {
                    let had = feed.users.len();
                    feed.users.retain(|u| !keys.contains(&u.listen_key));
                    if feed.single_key && feed.users.len() < had { Next::Close } else { Next::Continue }
                }
                Ok(Control::DisconnectAll | Control::Shutdown) | Err(RecvError::Closed) => Next::Close,
                Ok(Control::DropWsApi) | Err(RecvError::Lagged(_)) => Next::Continue,
            },
            _ = sleep_until(expiry) => expire_keys(&mut socket, &state, &mut feed, framing).await,
            _ = ping.tick() => {
                if socket.send(Message::Ping(Vec::new().into())).await.is_ok() { Next::Continue } else { Next::Close }
            },
            _ = sleep_until(cap) => Next::Close,
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(t))) => on_request(&mut socket, &state, &mut feed, &t).await,
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => Next::Close,
                Some(Ok(_)) => Next::Continue,
            },
        };
        if let Next::Close = next {
            break;
        }
        expiry = next_expiry(&state, &feed);
    }
    let _ = socket.send(Message::Close(None)).await;
}

async fn forward_user(socket: &mut WebSocket, feed: &Feed, framing: Framing, m: &UserMsg) -> Next {
    let sub = feed.users.iter().find(|u| {
        u.account == m.account
            && u.events
                .as_ref()
                .is_none_or(|f| f.iter().any(|e| e == m.kind))
    });
    match sub {
        Some(u) if !send(socket, &frame(framing, &u.listen_key, &m.json)).await => Next::Close,
        _ => Next::Continue,
    }
}

/// Sends `listenKeyExpired` for every key past its life and drops it from the feed.
async fn expire_keys(
    socket: &mut WebSocket,
    state: &SimState,
    feed: &mut Feed,
    framing: Framing,
) -> Next {
    let now_scn = state.clock.scenario_ms();
    let expired: Vec<String> = {
        let keys = lock(&state.listen_keys);
        feed.users
            .iter()
            .filter(|u| keys.expiry(&u.listen_key).is_none_or(|e| e <= now_scn))
            .map(|u| u.listen_key.clone())
            .collect()
    };
    for key in &expired {
        let body = events::listen_key_expired(key, state.clock.wall_ms());
        if !send(socket, &frame(framing, key, &body)).await {
            return Next::Close;
        }
    }
    feed.users.retain(|u| !expired.contains(&u.listen_key));
    if feed.single_key && !expired.is_empty() {
        Next::Close
    } else {
        Next::Continue
    }
}

/// Binance's live subscription protocol: SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS.
/// A param that is a live listenKey subscribes to that account's user data.
async fn on_request(socket: &mut WebSocket, state: &SimState, feed: &mut Feed, text: &str) -> Next {
    let Ok(req) = serde_json::from_str::<Value>(text) else {
        return Next::Continue;
    };
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let params: Vec<String> = req
        .get("params")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let mut reply = JsonObj::new();
    match req.get("method").and_then(Value::as_str) {
        Some("SUBSCRIBE") => {
            for p in params {
                subscribe(state, feed, p);
            }
            reply.null("result");
        }
        Some("UNSUBSCRIBE") => {
            feed.users.retain(|u| !params.contains(&u.listen_key));
            feed.streams
                .retain(|s| !params.iter().any(|p| p.to_lowercase() == *s));
            reply.null("result");
        }
        Some("LIST_SUBSCRIPTIONS") => {
            let names = feed
                .streams
                .iter()
                .chain(feed.users.iter().map(|u| &u.listen_key));
            let list = crate::json::array(names.map(|n| Value::String(n.clone()).to_string()));
            reply.raw("result", &list);
        }
        _ => {
            let mut err = JsonObj::new();
            err.int("code", 2)
                .str("msg", "Invalid request: unknown method");
            reply.raw("error", &err.finish());
        }
    }
    reply.raw("id", &id.to_string());
    if send(socket, &reply.finish()).await {
        Next::Continue
    } else {
        Next::Close
    }
}

fn subscribe(state: &SimState, feed: &mut Feed, param: String) {
    let live = lock(&state.listen_keys).lookup(&param, state.clock.scenario_ms());
    match live {
        Some((account, _)) if !feed.users.iter().any(|u| u.listen_key == param) => {
            feed.users.push(UserSub {
                account,
                listen_key: param,
                events: None,
            });
        }
        Some(_) => {}
        None => {
            let s = param.to_lowercase();
            if !feed.streams.contains(&s) {
                feed.streams.push(s);
            }
        }
    }
}
