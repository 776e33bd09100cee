//! WebSocket URL forms (docs/binance-fapi.md §1.1, §0): user data at
//! `/private/ws?listenKey=<k>&events=A/B` and `/private/stream?listenKey=<k>` (or a live
//! SUBSCRIBE of the key there, as the official SDK does); market data at `/market|public/ws/<s1>/<s2>`, `/ws/<stream>` and the
//! combined `/market|public/stream?streams=a/b` and `/stream?streams=a/b`. Combined sockets
//! may start empty and SUBSCRIBE live (the official SDK does).
//!
//! As Binance since 2026-04-23: the path form `/private/ws/<listenKey>` (and the legacy
//! unrouted `/ws/<listenKey>`) completes the
//! handshake, whatever the key, and then delivers nothing but pings — never an error, so a
//! client on the old form fails silently here exactly as on mainnet. On the query form only
//! the `events=` listed are delivered (all when absent), and `listenKeyExpired` always: the
//! reference leaves open whether a filter suppresses it, and a client that asked for it
//! must see it; one that did not is at worst told its key died.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::server::state::{lock, SimState};
use crate::ws::socket::{serve, Feed, Framing, Subscriptions, UserSub};

type Q = Query<HashMap<String, String>>;

fn error(e: &ApiError) -> Response {
    let status = StatusCode::from_u16(e.http).unwrap_or(StatusCode::BAD_REQUEST);
    (status, [("content-type", "application/json")], e.body()).into_response()
}

fn user_sub(state: &SimState, key: &str, events: Option<&String>) -> Result<UserSub, ApiError> {
    let now = state.clock.scenario_ms();
    let (account, _) = lock(&state.listen_keys)
        .lookup(key, now)
        .ok_or_else(ApiError::invalid_listen_key)?;
    Ok(UserSub {
        account,
        listen_key: key.to_owned(),
        events: events.map(|e| e.split('/').map(str::to_owned).collect()),
    })
}

fn single_user(state: &SimState, key: &str, events: Option<&String>) -> Result<Feed, ApiError> {
    Ok(Feed {
        users: vec![user_sub(state, key, events)?],
        streams: Vec::new(),
        single_key: true,
    })
}

fn streams(list: &str) -> Vec<String> {
    list.split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn upgrade(
    ws: WebSocketUpgrade,
    state: Arc<SimState>,
    feed: Result<Feed, ApiError>,
    framing: Framing,
) -> Response {
    match feed {
        Ok(feed) => {
            let subs = Subscriptions::new(&state);
            ws.on_upgrade(move |socket| serve(socket, state, subs, feed, framing))
        }
        Err(e) => error(&e),
    }
}

/// `/private/ws/<listenKey>`: retired form; a silent socket (see the module doc).
pub(crate) async fn private_ws_path(
    State(s): State<Arc<SimState>>,
    Path(_key): Path<String>,
    ws: WebSocketUpgrade,
) -> Response {
    lock(&s.stats).silent_user_sockets += 1;
    upgrade(ws, s, Ok(Feed::default()), Framing::Raw)
}

pub(crate) async fn private_ws_query(
    State(s): State<Arc<SimState>>,
    Query(q): Q,
    ws: WebSocketUpgrade,
) -> Response {
    let key = q.get("listenKey").cloned().unwrap_or_default();
    let feed = single_user(&s, &key, q.get("events"));
    upgrade(ws, s, feed, Framing::Raw)
}

/// `/private/stream[?listenKey=k&events=…]`: combined framing; may start empty.
pub(crate) async fn private_stream(
    State(s): State<Arc<SimState>>,
    Query(q): Q,
    ws: WebSocketUpgrade,
) -> Response {
    let feed = match q.get("listenKey") {
        Some(key) => user_sub(&s, key, q.get("events")).map(|u| Feed {
            users: vec![u],
            ..Feed::default()
        }),
        None => Ok(Feed::default()),
    };
    upgrade(ws, s, feed, Framing::Combined)
}

pub(crate) async fn market_ws(
    State(s): State<Arc<SimState>>,
    Path(list): Path<String>,
    ws: WebSocketUpgrade,
) -> Response {
    let feed = Feed {
        streams: streams(&list),
        ..Feed::default()
    };
    upgrade(ws, s, Ok(feed), Framing::Raw)
}

pub(crate) async fn market_stream(
    State(s): State<Arc<SimState>>,
    Query(q): Q,
    ws: WebSocketUpgrade,
) -> Response {
    let list = q.get("streams").cloned().unwrap_or_default();
    let feed = Feed {
        streams: streams(&list),
        ..Feed::default()
    };
    upgrade(ws, s, Ok(feed), Framing::Combined)
}

/// Legacy unrouted `/ws/<x>`: a list of market streams. Since 2026-04-23 such
/// connections carry public data only (docs/binance-fapi.md §0), so a listenKey here gets
/// a silent socket, like the retired `/private/ws/<listenKey>`.
pub(crate) async fn legacy_ws(
    State(s): State<Arc<SimState>>,
    Path(path): Path<String>,
    ws: WebSocketUpgrade,
) -> Response {
    if !path.contains('@') {
        lock(&s.stats).silent_user_sockets += 1;
    }
    let feed = Feed {
        streams: streams(&path),
        ..Feed::default()
    };
    upgrade(ws, s, Ok(feed), Framing::Raw)
}
