//! The read models the API returns (and the CLI client reads back): an intent with its
//! chunks, fills, state history and timings; positions; the budget; the halt flag.
//!
//! Pure: built from ledger rows, no I/O. Decimals are strings on the wire.
//! This file builds the full intent ([`IntentResponse`]); the short models (an intent's
//! list line, a position, the halt answer) are in `views/summaries.rs`.
//! A chunk is one `chunk_index` of the plan; re-sends of the same chunk (fresh client
//! order ids after an outcome was resolved as not executed) count as its attempts.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::domain::{Direction, IntentKind, IntentState, Qty, Symbol, Usdt};
use crate::exchange::audit::AttemptRecord;
use crate::ledger::intent_control::IntentEvent;
use crate::ledger::{FillRow, IntentId, IntentView, OrderRow, OrderState, PositionId};

mod summaries;

pub(crate) use summaries::IntentSummary;
pub(crate) use summaries::{HaltResponse, IntentList, PositionView};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct IntentResponse {
    pub id: IntentId,
    pub kind: IntentKind,
    pub state: IntentState,
    /// The terminal outcome: `done`, `done_partial` (done, but the exchange left
    /// `shortfall` of it undone; `error` says why), `failed` (nothing filled) or
    /// `cancelled`; absent while the intent runs.
    #[serde(default)]
    pub outcome: Option<String>,
    /// What a `done_partial` intent could not do (base asset quantity).
    #[serde(default)]
    pub shortfall: Option<Qty>,
    pub error: Option<String>,
    pub symbol: Option<Symbol>,
    pub side: Option<Direction>,
    pub quantity: Option<Qty>,
    pub notional_usdt: Option<Usdt>,
    pub position_id: Option<PositionId>,
    pub idempotency_key: String,
    pub reason: String,
    /// True when the idempotency key was already used: this is the FIRST intent.
    pub replayed: bool,
    /// A LIMIT intent's terms; absent for MARKET.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) limit: Option<LimitView>,
    pub filled_quantity: Qty,
    pub(crate) chunks: Vec<ChunkView>,
    pub(crate) fills: Vec<FillView>,
    pub(crate) events: Vec<IntentEvent>,
    pub(crate) timings: Timings,
}

/// A LIMIT intent's terms as submitted: `price` or `price_match`, `time_in_force`, and a
/// GTD's `good_till_date` (ms since the epoch).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct LimitView {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_match: Option<String>,
    pub time_in_force: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub good_till_date: Option<i64>,
}

impl From<crate::domain::LimitTerms> for LimitView {
    fn from(t: crate::domain::LimitTerms) -> Self {
        LimitView {
            price: t.fixed_price().map(|p| p.get().normalize().to_string()),
            price_match: t.price_match().map(|m| m.as_wire().to_string()),
            time_in_force: t.time_in_force.time_in_force().as_wire().to_string(),
            good_till_date: t.time_in_force.good_till_ms(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct ChunkView {
    pub index: i32,
    /// The latest attempt's client order id.
    pub client_order_id: String,
    pub quantity: Qty,
    pub status: OrderState,
    pub filled_quantity: Qty,
    #[schema(format = "decimal")]
    pub avg_price: Option<Decimal>,
    pub attempts: usize,
    pub last_error_code: Option<i64>,
    pub last_error_msg: Option<String>,
    /// Every attempt's client order id, oldest first.
    pub(crate) client_order_ids: Vec<String>,
    /// Every REST request sent for this chunk (placing, querying, cancelling), oldest
    /// first: the evidence of what the exchange answered and how fast.
    pub requests: Vec<RequestView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct RequestView {
    pub client_order_id: Option<String>,
    pub sent_at: DateTime<Utc>,
    pub method: String,
    pub endpoint: String,
    pub http_status: Option<u16>,
    pub error_code: Option<i64>,
    pub error_msg: Option<String>,
    pub error_class: Option<String>,
    pub latency_ms: i64,
}

impl From<&AttemptRecord> for RequestView {
    fn from(a: &AttemptRecord) -> Self {
        RequestView {
            client_order_id: a.client_order_id.clone(),
            sent_at: a.sent_at,
            method: a.method.clone(),
            endpoint: a.endpoint.clone(),
            http_status: a.http_status,
            error_code: a.error_code,
            error_msg: a.error_msg.clone(),
            error_class: a.error_class.clone(),
            latency_ms: a.latency_ms,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct FillView {
    pub trade_id: i64,
    pub client_order_id: Option<String>,
    #[schema(format = "decimal")]
    pub price: Decimal,
    pub quantity: Qty,
    pub applied_quantity: Qty,
    pub(crate) traded_at: DateTime<Utc>,
    /// How the ledger learned of it (`stream` or `rest`; absent when not recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<crate::ledger::FillSource>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct Timings {
    pub(crate) accepted_at: DateTime<Utc>,
    pub(crate) started_at: Option<DateTime<Utc>>,
    pub(crate) finished_at: Option<DateTime<Utc>>,
    /// Accepted to finished (or to the last update while still running).
    pub(crate) elapsed_ms: i64,
}

impl IntentResponse {
    /// `requests` are the REST attempts recorded for the intent's client order ids.
    pub(crate) fn build(
        view: IntentView,
        events: Vec<IntentEvent>,
        requests: &[AttemptRecord],
        replayed: bool,
    ) -> Self {
        let chunks = chunks_of(&view.orders, requests);
        let filled = chunks
            .iter()
            .fold(Decimal::ZERO, |acc, c| acc + c.filled_quantity.get());
        let timings = timings_of(&view.intent.created_at, &view.intent.updated_at, &events);
        let i = view.intent;
        IntentResponse {
            id: i.id,
            kind: i.kind(),
            state: i.state,
            outcome: i.outcome().map(str::to_string),
            shortfall: i.shortfall,
            error: i.error,
            symbol: i.symbol,
            side: i.direction,
            quantity: i.spec.quantity(),
            notional_usdt: i.notional_usdt,
            position_id: i.position_id,
            idempotency_key: i.idempotency_key,
            reason: i.reason,
            replayed,
            limit: i.limit.map(LimitView::from),
            // Sums of non-negative quantities: never negative.
            filled_quantity: Qty::new("filled_quantity", filled).unwrap_or(Qty::ZERO),
            chunks,
            fills: view.fills.iter().map(FillView::from).collect(),
            events,
            timings,
        }
    }

    /// Chunks whose orders are filled, out of all chunks.
    pub(crate) fn chunks_done(&self) -> usize {
        self.chunks
            .iter()
            .filter(|c| c.status == OrderState::Filled)
            .count()
    }
}

fn chunks_of(orders: &[OrderRow], requests: &[AttemptRecord]) -> Vec<ChunkView> {
    let mut by_chunk: BTreeMap<i32, Vec<&OrderRow>> = BTreeMap::new();
    for o in orders {
        by_chunk.entry(o.chunk_index).or_default().push(o);
    }
    by_chunk
        .into_iter()
        .filter_map(|(index, mut attempts)| {
            attempts.sort_by_key(|o| (o.attempt, o.id));
            let last = *attempts.last()?;
            let filled = attempts
                .iter()
                .fold(Decimal::ZERO, |acc, o| acc + o.filled_quantity.get());
            Some(ChunkView {
                index,
                client_order_id: last.client_order_id.clone(),
                quantity: last.quantity,
                status: last.status,
                filled_quantity: Qty::new("filled_quantity", filled).unwrap_or(Qty::ZERO),
                avg_price: last.avg_price.map(|p| p.get()),
                attempts: attempts.len(),
                last_error_code: attempts.iter().rev().find_map(|o| o.last_error_code),
                last_error_msg: attempts.iter().rev().find_map(|o| o.last_error_msg.clone()),
                client_order_ids: attempts.iter().map(|o| o.client_order_id.clone()).collect(),
                requests: requests_of(&attempts, requests),
            })
        })
        .collect()
}

fn requests_of(attempts: &[&OrderRow], requests: &[AttemptRecord]) -> Vec<RequestView> {
    let mut mine: Vec<&AttemptRecord> = requests
        .iter()
        .filter(|r| {
            attempts
                .iter()
                .any(|o| r.client_order_id.as_deref() == Some(o.client_order_id.as_str()))
        })
        .collect();
    mine.sort_by_key(|r| r.sent_at);
    mine.into_iter().map(RequestView::from).collect()
}

fn timings_of(created: &DateTime<Utc>, updated: &DateTime<Utc>, events: &[IntentEvent]) -> Timings {
    let started_at = events
        .iter()
        .find(|e| e.to == IntentState::Working)
        .map(|e| e.at);
    let finished_at = events.iter().find(|e| e.to.is_terminal()).map(|e| e.at);
    let end = finished_at.unwrap_or(*updated);
    Timings {
        accepted_at: *created,
        started_at,
        finished_at,
        elapsed_ms: (end - *created).num_milliseconds().max(0),
    }
}

impl From<&FillRow> for FillView {
    fn from(f: &FillRow) -> Self {
        FillView {
            trade_id: f.trade_id,
            client_order_id: f.client_order_id.clone(),
            price: f.price,
            quantity: f.quantity,
            applied_quantity: f.applied_quantity,
            traded_at: f.traded_at,
            source: f.source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{OrderType, PositionSide, Side};
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    fn order(id: i64, chunk: i32, attempt: i32, filled: u32) -> OrderRow {
        let t = DateTime::<Utc>::UNIX_EPOCH;
        OrderRow {
            id: crate::ledger::OrderId(id),
            intent_id: IntentId(1),
            intent_kind: IntentKind::Close,
            position_id: Some(PositionId(1)),
            venue: "binance-usdm".into(),
            symbol: Symbol::new("SOLUSDT").expect("symbol"),
            side: Side::Buy,
            position_side: PositionSide::Both,
            order_type: OrderType::Market,
            quantity: Qty::new("quantity", Decimal::from(100)).expect("qty"),
            price: None,
            reduce_only: true,
            client_order_id: format!("c{chunk}-a{attempt}-{id}"),
            chunk_index: chunk,
            attempt,
            status: OrderState::Filled,
            exchange_order_id: None,
            filled_quantity: Qty::new("filled", Decimal::from(filled)).expect("filled"),
            avg_price: None,
            last_error_code: (filled == 0).then_some(-2022),
            last_error_msg: None,
            expire_reason: None,
            created_at: t,
            updated_at: t,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn chunks_account_for_every_order_exactly_once(
            specs in proptest::collection::vec((0i32..5, 0i32..4, 0u32..50), 0..20)
        ) {
            let orders: Vec<OrderRow> = specs
                .iter()
                .enumerate()
                .map(|(i, (c, a, f))| order(i as i64 + 1, *c, *a, *f))
                .collect();
            let chunks = chunks_of(&orders, &[]);
            let distinct: std::collections::BTreeSet<i32> = specs.iter().map(|s| s.0).collect();
            prop_assert_eq!(chunks.len(), distinct.len());
            prop_assert_eq!(chunks.iter().map(|c| c.attempts).sum::<usize>(), orders.len());
            let filled: Decimal = chunks.iter().map(|c| c.filled_quantity.get()).sum();
            let expected: Decimal = specs.iter().map(|s| Decimal::from(s.2)).sum();
            prop_assert_eq!(filled, expected);
            for c in &chunks {
                let latest = orders
                    .iter()
                    .filter(|o| o.chunk_index == c.index)
                    .max_by_key(|o| (o.attempt, o.id))
                    .map(|o| o.client_order_id.clone());
                prop_assert_eq!(Some(c.client_order_id.clone()), latest);
            }
        }
    }

    #[test]
    fn timings_run_from_acceptance_to_the_final_state() {
        let t0 = DateTime::<Utc>::UNIX_EPOCH;
        let at = |ms| t0 + chrono::Duration::milliseconds(ms);
        let event = |to, ms| IntentEvent {
            from: IntentState::Accepted,
            to,
            cause: "test".into(),
            at: at(ms),
        };
        let events = [
            event(IntentState::Working, 40),
            event(IntentState::Done, 1500),
        ];
        let t = timings_of(&t0, &at(9000), &events);
        assert_eq!(t.started_at, Some(at(40)));
        assert_eq!(t.finished_at, Some(at(1500)));
        assert_eq!(t.elapsed_ms, 1500);
    }
}
