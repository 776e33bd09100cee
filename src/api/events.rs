//! `GET /v1/events`: the ledger's event outbox (`ledger::events`) as Server-Sent Events.
//!
//! Each event is `id: <seq>`, `event: <kind>`, `data: <one JSON object>` (the payload
//! with `seq`, `at` and `kind`). A client resumes with `?since=<seq>` (or the standard
//! `Last-Event-ID` header) and gets every event after it, in order, once: the sequence
//! is durable and in commit order (see the migration), and any daemon on the ledger,
//! standby included, serves it. Without `since` the stream starts at the newest event.
//!
//! Invariants:
//! - a `since` below the retention floor is refused (410 `since_too_old`, naming the
//!   oldest resumable seq) before anything is sent; one above the newest event is
//!   refused (422): it belongs to another ledger;
//! - the stream is woken by the ledger's `LISTEN sluice_events` (writes of any process,
//!   a standby's included) and polls every [`SAFETY_POLL`] in case a notification was
//!   lost; the wake-up is marked seen BEFORE each read, so none falls between the two;
//! - a ledger error pauses the stream (it retries), never ends or skips it; the stream
//!   ends when the daemon stops ([`EventHub::close`]).

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use serde::Serialize;
use tokio::sync::watch;

use super::error::{ApiError, ErrorBody, ErrorResponse};
use super::ApiState;
use crate::ledger::{EventRecord, Ledger};

/// How often a stream reads the ledger without a notification (lost NOTIFY, listener
/// down).
pub(crate) const SAFETY_POLL: Duration = Duration::from_secs(1);
/// Events read per query.
const PAGE: i64 = 500;
/// How often the hub deletes events older than the retention.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Wake-ups for every open stream, from one listening connection per daemon.
pub struct EventHub {
    wake: watch::Sender<u64>,
    closed: watch::Sender<bool>,
}

impl EventHub {
    /// Listen for committed events until [`EventHub::close`]; with `retention`, delete
    /// the events older than it every minute (any daemon may: it is idempotent).
    pub fn start(ledger: Ledger, retention: Option<Duration>) -> Arc<EventHub> {
        let hub = Arc::new(EventHub {
            wake: watch::channel(0).0,
            closed: watch::channel(false).0,
        });
        tokio::spawn(listen(hub.clone(), ledger, retention));
        hub
    }

    /// End every stream (the daemon is stopping) and the hub's task.
    pub fn close(&self) {
        self.closed.send_replace(true);
    }
}

async fn listen(hub: Arc<EventHub>, ledger: Ledger, retention: Option<Duration>) {
    let mut closed = hub.closed.subscribe();
    let mut prune = tokio::time::interval(PRUNE_EVERY);
    let mut pause = Duration::from_millis(100);
    let mut wakeups = None;
    // LISTEN is retried with its own backoff while polling goes on every `pause`.
    let mut listen_backoff = Duration::from_millis(100);
    let mut listen_at = tokio::time::Instant::now();
    while !*closed.borrow() {
        if wakeups.is_none() && tokio::time::Instant::now() >= listen_at {
            match ledger.event_wakeups().await {
                Ok(w) => {
                    wakeups = Some(w);
                    pause = Duration::from_millis(100);
                    listen_backoff = Duration::from_millis(100);
                }
                // The ledger's pool was closed: whoever owned it is gone for good.
                Err(_) if ledger.pool().is_closed() => return,
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_ms = listen_backoff.as_millis() as u64,
                        "event stream: cannot LISTEN; polling");
                    listen_at = tokio::time::Instant::now() + listen_backoff;
                    listen_backoff = (listen_backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
        let next = async {
            match wakeups.as_mut() {
                Some(w) => w.next().await,
                None => {
                    tokio::time::sleep(pause).await;
                    Ok(())
                }
            }
        };
        tokio::select! {
            _ = closed.changed() => return,
            got = next => {
                if got.is_err() {
                    wakeups = None;
                    pause = (pause * 2).min(Duration::from_secs(10));
                }
                hub.wake.send_modify(|n| *n = n.wrapping_add(1));
            }
            _ = prune.tick() => prune_once(&ledger, retention).await,
        }
    }
}

async fn prune_once(ledger: &Ledger, retention: Option<Duration>) {
    let Some(keep) = retention.and_then(|r| chrono::Duration::from_std(r).ok()) else {
        return;
    };
    match ledger.prune_events(chrono::Utc::now() - keep).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(deleted = n, "event stream: retention deleted old events"),
        Err(e) => tracing::warn!(error = %e, "event stream: retention failed; retrying"),
    }
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct EventsQuery {
    /// Resume after this sequence number (the last `seq` seen; 0 = from the oldest
    /// retained event). Without `since` or `Last-Event-ID` the stream starts at the
    /// newest event.
    #[param(value_type = Option<i64>, minimum = 0)]
    pub since: Option<String>,
    /// The account whose events to stream (docs/accounts.md); the daemon's own account if
    /// absent. An unknown name is a 404.
    pub account: Option<String>,
}

#[utoipa::path(
    get, path = "/v1/events", tag = "events",
    params(
        EventsQuery,
        ("Last-Event-ID" = Option<i64>, Header, description = "The standard SSE resume header; `since` wins when both are given"),
    ),
    responses(
        (status = 200, description = "A Server-Sent Events stream. Each event is `id: <seq>`, `event: <kind>` and `data: <StreamEvent as one JSON line>`; comments keep the connection alive every 15 s. A client that falls behind the retention mid-stream gets one last `event: error` whose data is an ErrorResponse (`since_too_old`), and the stream ends.", content_type = "text/event-stream", body = StreamEvent),
        (status = 410, description = "`since_too_old`: `since` is below the retention floor (the reason names the oldest resumable seq)", body = ErrorResponse),
        (status = 422, description = "`since` is after the newest event: it was issued by another ledger", body = ErrorResponse),
    )
)]
/// `GET /v1/events[?since=<seq>][&account=<name>]`.
pub(crate) async fn stream(
    State(state): State<ApiState>,
    headers: HeaderMap,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request("since", e.body_text()))?;
    let since = match query.since {
        Some(raw) => Some(parse_since("since", &raw)?),
        None => match headers.get("last-event-id") {
            Some(v) => Some(parse_since("last-event-id", v.to_str().unwrap_or(""))?),
            None => None,
        },
    };
    let account = super::read::account_id(&state, query.account.as_deref()).await?;
    let head = state.ledger.events_after(i64::MAX, 1).await?;
    let cursor = match since {
        None => head.newest,
        Some(s) if s < head.floor => return Err(too_old(s, head.floor)),
        Some(s) if s > head.newest => {
            return Err(ApiError::invalid(
                "since",
                format!(
                    "{s} is after the newest event ({}): it was not issued by this ledger",
                    head.newest
                ),
            ))
        }
        Some(s) => s,
    };
    let feed = Feed {
        ledger: state.ledger.clone(),
        account,
        cursor,
        buffer: VecDeque::new(),
        wake: state.events.wake.subscribe(),
        closed: state.events.closed.subscribe(),
        ended: false,
    };
    let body = stream::unfold(feed, |mut feed| async move {
        let event = feed.next().await?;
        Some((Ok::<_, Infallible>(event), feed))
    });
    let keep_alive = KeepAlive::new().interval(Duration::from_secs(15));
    Ok(Sse::new(body).keep_alive(keep_alive).into_response())
}

fn parse_since(field: &str, raw: &str) -> Result<i64, ApiError> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|s| *s >= 0)
        .ok_or_else(|| {
            ApiError::bad_request(
                field,
                format!("`{raw}` is not a sequence number (0 or more)"),
            )
        })
}

fn too_old(since: i64, floor: i64) -> ApiError {
    ApiError {
        status: StatusCode::GONE,
        body: ErrorBody {
            code: "since_too_old",
            field: Some("since".into()),
            reason: format!(
                "since={since} is too old: events up to {floor} were deleted by retention (api.events_retention_hours); \
                 `since` must be {floor} or later: read the current state from the API, then \
                 resume with since={floor} or without since"
            ),
            intent_id: None,
        },
    }
}

/// One client's position in the outbox.
struct Feed {
    ledger: Ledger,
    /// The account streamed (None: the default one).
    account: Option<i64>,
    cursor: i64,
    buffer: VecDeque<EventRecord>,
    wake: watch::Receiver<u64>,
    closed: watch::Receiver<bool>,
    /// The client fell behind retention: the error was sent, the stream ends.
    ended: bool,
}

impl Feed {
    /// The next event to send; None ends the stream (the daemon stops, or the client
    /// fell behind the retention).
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(e) = self.buffer.pop_front() {
                self.cursor = e.seq;
                return Some(render(&e));
            }
            if self.ended || *self.closed.borrow() {
                return None;
            }
            self.wake.borrow_and_update();
            match self.ledger.events_of(self.account, self.cursor, PAGE).await {
                Ok(page) if page.floor > self.cursor => {
                    self.ended = true;
                    return Some(error_event(&too_old(self.cursor, page.floor)));
                }
                Ok(page) if !page.events.is_empty() => {
                    self.buffer.extend(page.events);
                    continue;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "event stream: reading the ledger failed; retrying")
                }
            }
            tokio::select! {
                _ = self.closed.changed() => return None,
                _ = self.wake.changed() => {}
                _ = tokio::time::sleep(SAFETY_POLL) => {}
            }
        }
    }
}

/// The `data` of one event on `GET /v1/events`: `seq`, `at` and `kind`, then the fields
/// of the change it describes, by kind (decimals are strings, absent values `null`):
/// - `intent`: `intent_id`, `intent_kind`, `symbol`, `direction`, `state`,
///   `previous_state`, `position_id`, `error`, `shortfall`;
/// - `order`: `order_id`, `intent_id`, `position_id`, `client_order_id`,
///   `exchange_order_id`, `symbol`, `side`, `position_side`, `order_type`, `reduce_only`,
///   `quantity`, `price`, `status`, `previous_status`, `filled_quantity`, `avg_price`,
///   `error_code`, `error`;
/// - `fill`: `fill_id`, `order_id`, `intent_id`, `position_id`, `symbol`, `trade_id`,
///   `client_order_id`, `side`, `position_side`, `price`, `quantity`, `applied_quantity`,
///   `commission`, `commission_asset`, `realized_pnl`, `maker`, `external`, `source`,
///   `traded_at`;
/// - `position`: `position_id`, `symbol`, `direction`, `position_side`, `status`,
///   `origin`, `quantity`, `entry_price`, `closed_quantity`, `exit_price`, `realized_pnl`;
/// - `breaker`: `scope`, `from_state`, `to_state`, `changed_at`, `window_total`,
///   `server_errors`, `throttled`, `unknown`;
/// - `halt`: `halted`, `reason`, `actor`, `flatten_intents`;
/// - `adjustment`: `adjustment_id`, `actor`, `reason`, `table`, `row_id`;
/// - `key_loss` and `reconcile`: what the daemon found, in the fields it names.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct StreamEvent {
    /// The event's sequence number, also its SSE `id`: durable and increasing in commit
    /// order. Resume after it with `since` (or `Last-Event-ID`).
    pub seq: i64,
    /// When the change was committed (RFC 3339, UTC, microseconds).
    #[schema(value_type = String, format = DateTime)]
    pub at: String,
    /// `intent`, `order`, `fill`, `position`, `breaker`, `halt`, `key_loss`,
    /// `reconcile` or `adjustment`; also the SSE `event` name.
    pub kind: String,
    /// The change's own fields (listed by kind above).
    #[serde(flatten)]
    pub payload: BTreeMap<String, serde_json::Value>,
}

fn render(e: &EventRecord) -> Event {
    let mut payload = BTreeMap::new();
    if let serde_json::Value::Object(fields) = &e.payload {
        for (k, v) in fields {
            if !matches!(k.as_str(), "seq" | "at" | "kind") {
                payload.insert(k.clone(), v.clone());
            }
        }
    }
    let data = StreamEvent {
        seq: e.seq,
        at: e.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        kind: e.kind.clone(),
        payload,
    };
    Event::default()
        .id(e.seq.to_string())
        .event(e.kind.as_str())
        .data(serde_json::to_string(&data).unwrap_or_default())
}

/// The stream's last event when the client fell behind retention mid-stream.
fn error_event(e: &ApiError) -> Event {
    let body = ErrorResponse {
        error: e.body.clone(),
    };
    let data = serde_json::to_string(&body).unwrap_or_default();
    Event::default().event("error").data(data)
}
