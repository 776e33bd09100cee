//! The user-data stream: listenKey lifecycle, reconnects, and the REST resync that
//! makes a gap harmless.
//!
//! Invariants:
//! - After every (re)connect the stream resyncs over REST (the open orders of every symbol
//!   with orders in flight, positions, the orders in flight, and userTrades since the last
//!   trade id seen for every symbol with orders in flight) and only then emits `Resynced`.
//!   A fill during a gap is therefore never lost; it may arrive twice, which downstream
//!   handles (fills are keyed by id). The orders in flight are every order sent through
//!   the adapter and not seen to end, and those the caller named when it subscribed (at
//!   start, the ledger's non-terminal LIMIT orders), so no read of every symbol's open
//!   orders (IP weight 40) is needed to find them.
//! - The resync's reads are routine ([`Purpose::Routine`]): the executor resolves its own
//!   orders over REST while the stream is down, with the reads that may use the weight
//!   kept for risk-reducing requests.
//! - The socket is opened BEFORE the resync, so events during the resync wait in the
//!   socket and are not lost either.
//! - Keepalive every `keepalive` (30 min); -1125 or `listenKeyExpired` → a new key; the
//!   connection is recycled before the venue's 24 h cap; pings are answered by
//!   tungstenite as long as we keep reading.
//! - A session also ends when asked to ([`StreamCtx::reopen`]): the router does so when
//!   the stream stays silent while REST shows sluice's orders filling.
//! - Every connection, first or re-opened (after -1125, `listenKeyExpired`, the age cap,
//!   a drop or a silent stream), uses the query form `config::user_stream_endpoint` builds; the path form
//!   is silent since 2026-04-23 (docs/binance-fapi.md §0).
//! - The task ends when the receiver is dropped.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::events::UserEvent;
use crate::domain::{ClientOrderId, Symbol};
use crate::exchange::binance::config::BinanceConfig;
use crate::exchange::binance::parse;
use crate::exchange::binance::rest::wire;
use crate::exchange::binance::rest::RestClient;
use crate::exchange::{AccountEvent, ExchangeError, OrderReport, Purpose};

/// Stream timers; defaults are Binance's, tests scale them down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamTiming {
    /// How often the listenKey is extended (the key lives 60 min).
    pub keepalive: Duration,
    /// Reconnect before the venue's 24 h connection cap.
    pub max_connection_age: Duration,
    /// First reconnect delay; doubles up to `max_backoff`.
    pub min_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for StreamTiming {
    fn default() -> Self {
        Self {
            keepalive: Duration::from_secs(30 * 60),
            max_connection_age: Duration::from_secs(23 * 3600 + 50 * 60),
            min_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// What the resync needs to know: orders in flight per symbol and the last trade id seen.
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    state: Mutex<TrackerState>,
}

#[derive(Debug, Default)]
struct TrackerState {
    in_flight: HashMap<Symbol, HashSet<String>>,
    last_trade: HashMap<Symbol, i64>,
}

impl Tracker {
    fn lock(&self) -> std::sync::MutexGuard<'_, TrackerState> {
        match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Called before an order is sent: its symbol is now "with orders in flight".
    pub(crate) fn order_sent(&self, symbol: &Symbol, id: &ClientOrderId) {
        self.lock()
            .in_flight
            .entry(symbol.clone())
            .or_default()
            .insert(id.as_str().to_string());
    }

    /// Called when a send certainly failed: nothing can come of it.
    pub(crate) fn order_abandoned(&self, symbol: &Symbol, id: &ClientOrderId) {
        let mut s = self.lock();
        if let Some(set) = s.in_flight.get_mut(symbol) {
            set.remove(id.as_str());
            if set.is_empty() {
                s.in_flight.remove(symbol);
            }
        }
    }

    /// Learn from an event: fills advance the trade id; terminal orders leave the flight.
    pub(crate) fn observe(&self, ev: &AccountEvent) {
        let mut s = self.lock();
        match ev {
            AccountEvent::Fill(f) => {
                let last = s.last_trade.entry(f.symbol.clone()).or_insert(f.trade_id);
                *last = (*last).max(f.trade_id);
            }
            AccountEvent::Order(o) if o.status.is_terminal() => {
                if let Some(set) = s.in_flight.get_mut(&o.symbol) {
                    set.remove(&o.client_order_id);
                    if set.is_empty() {
                        s.in_flight.remove(&o.symbol);
                    }
                }
            }
            _ => {}
        }
    }

    /// `(symbol, fromId)` for every symbol with orders in flight.
    pub(crate) fn trade_targets(&self) -> Vec<(Symbol, Option<i64>)> {
        let s = self.lock();
        s.in_flight
            .keys()
            .map(|sym| (sym.clone(), s.last_trade.get(sym).map(|id| id + 1)))
            .collect()
    }

    /// The symbols with orders in flight.
    fn symbols(&self) -> Vec<Symbol> {
        self.lock().in_flight.keys().cloned().collect()
    }

    pub(crate) fn in_flight(&self) -> Vec<(Symbol, String)> {
        let s = self.lock();
        s.in_flight
            .iter()
            .flat_map(|(sym, ids)| ids.iter().map(move |id| (sym.clone(), id.clone())))
            .collect()
    }
}

/// Everything a stream task needs, shared with the adapter.
pub(crate) struct StreamCtx {
    pub cfg: BinanceConfig,
    pub rest: Arc<RestClient>,
    pub(crate) tracker: Arc<Tracker>,
    pub timing: StreamTiming,
    /// Notified to end the current session (a silent stream); the loop opens a new one.
    pub(crate) reopen: Arc<tokio::sync::Notify>,
}

/// Run the stream until `tx`'s receiver is dropped.
pub(crate) async fn run_user_stream(ctx: Arc<StreamCtx>, tx: mpsc::Sender<AccountEvent>) {
    let mut backoff = ctx.timing.min_backoff;
    loop {
        let started = tokio::time::Instant::now();
        let reason = match session(&ctx, &tx).await {
            Ok(reason) => reason,
            Err(e) => e,
        };
        if tx.is_closed() {
            return;
        }
        tracing::warn!(%reason, "user stream down; reconnecting");
        crate::metrics::record_stream_reconnect("user");
        if tx
            .send(AccountEvent::Disconnected { reason })
            .await
            .is_err()
        {
            return;
        }
        // A session that lived a while was healthy: start the backoff afresh.
        if started.elapsed() > ctx.timing.max_backoff {
            backoff = ctx.timing.min_backoff;
        }
        tokio::select! {
            _ = tokio::time::sleep(jittered(ctx.timing.min_backoff, backoff)) => {}
            _ = tx.closed() => return,
        }
        backoff = (backoff * 2).min(ctx.timing.max_backoff);
    }
}

/// A reconnect delay drawn uniformly from `[min, ceiling]` ("full jitter" with a floor):
/// many clients dropped by one venue incident do not all come back at the same instant.
fn jittered(min: Duration, ceiling: Duration) -> Duration {
    use rand::Rng;
    if ceiling <= min {
        return min;
    }
    let (lo, hi) = (min.as_millis() as u64, ceiling.as_millis() as u64);
    Duration::from_millis(rand::thread_rng().gen_range(lo..=hi))
}

/// One connection's life. Returns why it ended.
async fn session(ctx: &StreamCtx, tx: &mpsc::Sender<AccountEvent>) -> Result<String, String> {
    let key = ctx
        .rest
        .create_listen_key()
        .await
        .map_err(|e| format!("listenKey: {e}"))?
        .listen_key;
    let url = ctx.cfg.user_stream_endpoint(&key);
    let mut ws = super::connect(url.as_str())
        .await
        .map_err(|e| format!("connect: {e}"))?;
    resync(ctx, tx).await.map_err(|e| format!("resync: {e}"))?;
    if tx.send(AccountEvent::Resynced).await.is_err() {
        return Ok("receiver dropped".into());
    }
    let start = tokio::time::Instant::now();
    let mut keepalive =
        tokio::time::interval_at(start + ctx.timing.keepalive, ctx.timing.keepalive);
    let max_age = tokio::time::sleep_until(start + ctx.timing.max_connection_age);
    tokio::pin!(max_age);
    loop {
        tokio::select! {
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(text))) => {
                    if let Some(end) = handle_text(ctx, tx, text.as_str()).await {
                        return Ok(end);
                    }
                }
                Some(Ok(Message::Close(_))) | None => return Ok("closed by the venue".into()),
                Some(Ok(_)) => {} // ping (answered by tungstenite), pong, binary
                Some(Err(e)) => return Err(format!("read: {e}")),
            },
            _ = keepalive.tick() => {
                if let Err(e) = ctx.rest.keepalive_listen_key().await {
                    if e.code == Some(-1125) {
                        return Ok("listenKey no longer exists (-1125)".into());
                    }
                    tracing::warn!(error = %e, "listenKey keepalive failed");
                }
            }
            _ = &mut max_age => return Ok("connection age cap reached".into()),
            _ = ctx.reopen.notified() => {
                return Ok("re-opening: the stream delivered nothing while orders filled".into())
            }
            _ = tx.closed() => return Ok("receiver dropped".into()),
        }
    }
}

/// Decode and forward one text frame; `Some(reason)` ends the session.
async fn handle_text(
    ctx: &StreamCtx,
    tx: &mpsc::Sender<AccountEvent>,
    text: &str,
) -> Option<String> {
    let event = match UserEvent::from_json(text) {
        Ok(ev) => ev,
        Err(e) => {
            // An undecodable event may hide a fill: reconnect so the resync covers it.
            tracing::error!(error = %e, "undecodable user-stream event");
            return Some(format!("undecodable event: {e}"));
        }
    };
    if matches!(event, UserEvent::ListenKeyExpired { .. }) {
        return Some("listenKeyExpired".into());
    }
    match parse::account_events(&event) {
        Ok(events) => {
            for ev in events {
                ctx.tracker.observe(&ev);
                if tx.send(ev).await.is_err() {
                    return Some("receiver dropped".into());
                }
            }
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "unreadable user-stream event");
            Some(format!("unreadable event: {e}"))
        }
    }
}

/// Up to this many symbols with orders in flight, one `openOrders` read per symbol (IP
/// weight 1 each) is cheaper than one read without a symbol (40; docs/binance-fapi.md §2.2).
const SCOPED_READS_UP_TO: usize = 40;

/// The venue's open orders on every symbol with orders in flight: one read per symbol
/// (none when nothing is in flight), or one read of every symbol when there are more than
/// [`SCOPED_READS_UP_TO`] of them.
async fn open_in_flight(ctx: &StreamCtx) -> Result<Vec<wire::Order>, ExchangeError> {
    let symbols = ctx.tracker.symbols();
    if symbols.len() > SCOPED_READS_UP_TO {
        return ctx.rest.open_orders(None, Purpose::Routine).await;
    }
    let mut open = Vec::new();
    for s in &symbols {
        open.extend(ctx.rest.open_orders(Some(s), Purpose::Routine).await?);
    }
    Ok(open)
}

/// Cover a possible gap over REST: fills since the last trade id, orders in flight,
/// their symbols' open orders and positions.
async fn resync(ctx: &StreamCtx, tx: &mpsc::Sender<AccountEvent>) -> Result<(), ExchangeError> {
    let mut events = Vec::new();
    let open = open_in_flight(ctx).await?;
    for o in &open {
        let report = parse::order_report(o)?;
        if let Ok(id) = ClientOrderId::new(&report.client_order_id) {
            ctx.tracker.order_sent(&report.symbol, &id);
        }
    }
    // Orders first, so each trade can name its client order id: a fill that only carries
    // the exchange's order id cannot be matched to an order whose REST answer the
    // executor has not applied yet (several chunks may be out at once).
    let mut asked: HashSet<String> = open.iter().map(|o| o.client_order_id.clone()).collect();
    let mut reports = Vec::new();
    query_in_flight(ctx, &mut asked, &mut reports).await?;
    for o in &open {
        reports.push(parse::order_report(o)?);
    }
    let mut fills = Vec::new();
    for (symbol, from_id) in ctx.tracker.trade_targets() {
        for t in ctx
            .rest
            .user_trades(&symbol, from_id, None, Purpose::Routine)
            .await?
        {
            fills.push(parse::fill_from_trade(&t)?);
        }
    }
    // An order sent while the questions above were asked (the executor keeps sending)
    // may have filled before the trades were read: ask about the orders in flight once
    // more, so each of those trades names its order too. A trade left without its client
    // order id would be stored as external and never counted for its chunk.
    let own_of = |reports: &[OrderReport]| -> HashMap<i64, ClientOrderId> {
        reports
            .iter()
            .filter_map(|r| Some((r.order_id, ClientOrderId::new(&r.client_order_id).ok()?)))
            .collect()
    };
    let mut own = own_of(&reports);
    if fills
        .iter()
        .any(|f| f.client_order_id.is_none() && !own.contains_key(&f.order_id))
    {
        query_in_flight(ctx, &mut asked, &mut reports).await?;
        own = own_of(&reports);
    }
    for mut fill in fills {
        if fill.client_order_id.is_none() {
            fill.client_order_id = own.get(&fill.order_id).cloned();
        }
        events.push(AccountEvent::Fill(fill));
    }
    events.extend(reports.into_iter().map(AccountEvent::Order));
    // v3 lists every non-zero position: a complete snapshot as of when it was asked for,
    // on the exchange's clock (stream events carry the exchange's times).
    let asked_at = chrono::DateTime::from_timestamp_millis(ctx.rest.clock.server_now_ms())
        .unwrap_or_else(chrono::Utc::now);
    let positions = ctx
        .rest
        .position_risk_v3(Purpose::Routine)
        .await?
        .iter()
        .map(parse::position)
        .collect::<Result<Vec<_>, _>>()?;
    events.push(AccountEvent::Positions {
        positions,
        time: asked_at,
        complete: true,
    });
    for ev in events {
        ctx.tracker.observe(&ev);
        if tx.send(ev).await.is_err() {
            break;
        }
    }
    Ok(())
}

/// GET order for every order in flight not asked about yet (`asked`), adding each answer
/// to `reports`; an order the venue does not know yet stays in flight for the next resync.
async fn query_in_flight(
    ctx: &StreamCtx,
    asked: &mut HashSet<String>,
    reports: &mut Vec<OrderReport>,
) -> Result<(), ExchangeError> {
    for (symbol, id) in ctx.tracker.in_flight() {
        if !asked.insert(id.clone()) {
            continue;
        }
        let Ok(cid) = ClientOrderId::new(&id) else {
            continue;
        };
        match ctx.rest.query_order(&symbol, &cid, Purpose::Routine).await {
            Ok(o) => reports.push(parse::order_report(&o)?),
            Err(e) if e.code == Some(-2013) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnect_delays_are_jittered_between_the_floor_and_the_ceiling() {
        let (min, ceiling) = (Duration::from_millis(250), Duration::from_secs(8));
        let delays: Vec<_> = (0..200).map(|_| jittered(min, ceiling)).collect();
        assert!(
            delays.iter().all(|d| *d >= min && *d <= ceiling),
            "{delays:?}"
        );
        let distinct: std::collections::HashSet<_> = delays.iter().collect();
        assert!(distinct.len() > 10, "spread, not one fixed delay");
        assert_eq!(jittered(min, min), min);
    }
    use crate::domain::{OrderStatus, OrderType, PositionSide, Qty, Side};
    use crate::exchange::OrderReport;

    fn report(id: &str, status: OrderStatus) -> AccountEvent {
        AccountEvent::Order(OrderReport {
            symbol: Symbol::new("SOLUSDT").unwrap(),
            order_id: 1,
            client_order_id: id.into(),
            side: Side::Buy,
            position_side: PositionSide::Both,
            order_type: OrderType::Market,
            status,
            reduce_only: true,
            orig_qty: Qty::parse("q", "1").unwrap(),
            executed_qty: Qty::ZERO,
            avg_price: Default::default(),
            price: Default::default(),
            update_time: chrono::Utc::now(),
            expire_reason: None,
        })
    }

    #[test]
    fn a_symbol_stays_in_flight_until_its_last_order_is_terminal() {
        let t = Tracker::default();
        let sol = Symbol::new("SOLUSDT").unwrap();
        t.order_sent(&sol, &ClientOrderId::new("a").unwrap());
        t.order_sent(&sol, &ClientOrderId::new("b").unwrap());
        t.observe(&report("a", OrderStatus::Filled));
        assert_eq!(t.trade_targets(), vec![(sol.clone(), None)]);
        t.observe(&report("b", OrderStatus::New));
        assert_eq!(t.in_flight().len(), 1);
        t.observe(&report("b", OrderStatus::Canceled));
        assert!(t.trade_targets().is_empty());
    }

    #[test]
    fn the_resync_asks_for_trades_after_the_highest_id_seen() {
        let t = Tracker::default();
        let sol = Symbol::new("SOLUSDT").unwrap();
        t.order_sent(&sol, &ClientOrderId::new("a").unwrap());
        let ev = UserEvent::from_json(crate::exchange::binance::samples::TRADE_UPDATE).unwrap();
        for e in parse::account_events(&ev).unwrap() {
            t.observe(&e);
        }
        assert_eq!(t.trade_targets(), vec![(sol, Some(5032914))]);
    }
}
