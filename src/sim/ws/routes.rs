//! WebSocket URL forms (reference §1.1): user data at `/private/ws/<listenKey>`,
//! `/private/ws?listenKey=<k>&events=A/B`, `/private/stream?listenKey=<k>` and the legacy
//! `/ws/<listenKey>`; market data at `/market|public/ws/<s1>/<s2>`, `/ws/<stream>` and the
//! combined `/market|public/stream?streams=a/b` and `/stream?streams=a/b`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::sim::error::ApiError;
use crate::sim::server::state::{lock, SimState};
use crate::sim::ws::socket::{serve, Feed, Framing};

type Q = Query<HashMap<String, String>>;

fn error(e: &ApiError) -> Response {
    let status = StatusCode::from_u16(e.http).unwrap_or(StatusCode::BAD_REQUEST);
    (status, [("content-type", "application/json")], e.body()).into_response()
}

fn user_feed(state: &SimState, key: &str, events: Option<&String>) -> Result<Feed, ApiError> {
    let now = state.clock.scenario_ms();
    let (account, _) = lock(&state.listen_keys)
        .lookup(key, now)
        .ok_or_else(ApiError::invalid_listen_key)?;
    Ok(Feed::User {
        account,
        listen_key: key.to_owned(),
        events: events.map(|e| e.split('/').map(str::to_owned).collect()),
    })
}

fn upgrade(
    ws: WebSocketUpgrade,
    state: Arc<SimState>,
    feed: Result<Feed, ApiError>,
    framing: Framing,
) -> Response {
    match feed {
        Ok(feed) => ws.on_upgrade(move |socket| serve(socket, state, feed, framing)),
        Err(e) => error(&e),
    }
}

fn market_feed(streams: &str) -> Result<Feed, ApiError> {
    let streams: Vec<String> = streams
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_lowercase)
        .collect();
    if streams.is_empty() {
        return Err(ApiError::mandatory("streams"));
    }
    Ok(Feed::Market { streams })
}

pub async fn private_ws_path(
    State(s): State<Arc<SimState>>,
    Path(key): Path<String>,
    ws: WebSocketUpgrade,
) -> Response {
    let feed = user_feed(&s, &key, None);
    upgrade(ws, s, feed, Framing::Raw)
}

pub async fn private_ws_query(
    State(s): State<Arc<SimState>>,
    Query(q): Q,
    ws: WebSocketUpgrade,
) -> Response {
    let key = q.get("listenKey").cloned().unwrap_or_default();
    let feed = user_feed(&s, &key, q.get("events"));
    upgrade(ws, s, feed, Framing::Raw)
}

pub async fn private_stream(
    State(s): State<Arc<SimState>>,
    Query(q): Q,
    ws: WebSocketUpgrade,
) -> Response {
    let key = q.get("listenKey").cloned().unwrap_or_default();
    let feed = user_feed(&s, &key, q.get("events"));
    upgrade(ws, s, feed, Framing::Combined)
}

pub async fn market_ws(
    State(s): State<Arc<SimState>>,
    Path(streams): Path<String>,
    ws: WebSocketUpgrade,
) -> Response {
    upgrade(ws, s, market_feed(&streams), Framing::Raw)
}

pub async fn market_stream(
    State(s): State<Arc<SimState>>,
    Query(q): Q,
    ws: WebSocketUpgrade,
) -> Response {
    let streams = q.get("streams").cloned().unwrap_or_default();
    upgrade(ws, s, market_feed(&streams), Framing::Combined)
}

/// Legacy `/ws/<x>`: a live listenKey opens the user stream, anything else market streams.
pub async fn legacy_ws(
    State(s): State<Arc<SimState>>,
    Path(path): Path<String>,
    ws: WebSocketUpgrade,
) -> Response {
    let feed = match user_feed(&s, &path, None) {
        Ok(f) => Ok(f),
        Err(_) if path.contains('@') => market_feed(&path),
        Err(e) => Err(e),
    };
    upgrade(ws, s, feed, Framing::Raw)
}
