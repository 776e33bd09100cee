//! Orders: the request as the server parsed it (`NewOrder`), the venue's record
//! (`Order`) and what the server renders (`OrderView`).
//!
//! Invariant: `executed_qty ≤ orig_qty`; `cum_quote = Σ fill price × fill qty`;
//! an order is open exactly while its status is NEW or PARTIALLY_FILLED.

use rust_decimal::Decimal;
use serde::Serialize;

use super::types::{OrderStatus, OrderType, PositionSide, Side, TimeInForce};
use super::AccountId;

/// A new-order request. Enum-like fields stay strings so the venue can reject
/// a bad value with Binance's own code; `*_raw` carry the text as sent so the
/// venue can apply `-1111` (too many decimals) exactly.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct NewOrder {
    pub symbol: String,
    pub side: String,
    pub position_side: Option<String>,
    pub order_type: String,
    pub time_in_force: Option<String>,
    pub quantity: Option<Decimal>,
    pub price: Option<Decimal>,
    /// `Some(_)` when the parameter was sent (hedge mode rejects its presence).
    pub reduce_only: Option<bool>,
    pub client_order_id: Option<String>,
    /// `newOrderRespType=RESULT`: answer with the state after matching;
    /// otherwise (ACK, the default) with the accepted NEW state.
    pub resp_type_result: bool,
    pub quantity_raw: Option<String>,
    pub price_raw: Option<String>,
    pub good_till_date: Option<i64>,
    pub self_trade_prevention_mode: Option<String>,
    /// `priceMatch` as sent (`NONE` or absent: the order's own price).
    pub price_match: Option<String>,
}

/// The venue's record of an order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Order {
    pub account: AccountId,
    pub order_id: i64,
    pub symbol: String,
    pub client_order_id: String,
    pub side: Side,
    pub position_side: PositionSide,
    pub order_type: OrderType,
    pub time_in_force: TimeInForce,
    pub price: Decimal,
    pub orig_qty: Decimal,
    pub executed_qty: Decimal,
    pub cum_quote: Decimal,
    /// Reduce-only as sent (one-way) or implied by a closing hedge leg.
    pub reduce_only: bool,
    /// The `reduceOnly` flag echoed on the wire (false for hedge closing legs).
    pub reduce_only_flag: bool,
    pub status: OrderStatus,
    pub stp_mode: String,
    pub good_till_date: i64,
    /// The `priceMatch` mode the venue priced it by, `NONE` for an own price.
    pub price_match: &'static str,
    pub time: i64,
    pub update_time: i64,
}

impl Order {
    pub(super) fn remaining(&self) -> Decimal {
        self.orig_qty - self.executed_qty
    }

    pub(super) fn avg_price(&self) -> Decimal {
        if self.executed_qty.is_zero() {
            Decimal::ZERO
        } else {
            self.cum_quote / self.executed_qty
        }
    }

    pub(super) fn view(&self, price_precision: u32, quantity_precision: u32) -> OrderView {
        OrderView {
            order_id: self.order_id,
            symbol: self.symbol.clone(),
            status: self.status,
            client_order_id: self.client_order_id.clone(),
            price: self.price,
            avg_price: self.avg_price(),
            orig_qty: self.orig_qty,
            executed_qty: self.executed_qty,
            cum_quote: self.cum_quote,
            time_in_force: self.time_in_force,
            order_type: self.order_type,
            reduce_only: self.reduce_only_flag,
            close_position: false,
            side: self.side,
            position_side: self.position_side,
            stop_price: Decimal::ZERO,
            working_type: "CONTRACT_PRICE",
            price_protect: false,
            orig_type: self.order_type,
            price_match: self.price_match,
            self_trade_prevention_mode: self.stp_mode.clone(),
            good_till_date: self.good_till_date,
            time: self.time,
            update_time: self.update_time,
            price_precision,
            quantity_precision,
        }
    }
}

/// An order as the REST/WS-API renderer needs it (Binance key order is the
/// renderer's job; this carries every value plus the symbol's precisions).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct OrderView {
    pub order_id: i64,
    pub symbol: String,
    pub status: OrderStatus,
    pub client_order_id: String,
    /// 0 for MARKET.
    pub price: Decimal,
    pub avg_price: Decimal,
    pub orig_qty: Decimal,
    pub executed_qty: Decimal,
    pub cum_quote: Decimal,
    /// MARKET orders show GTC, as on Binance.
    pub time_in_force: TimeInForce,
    pub order_type: OrderType,
    pub reduce_only: bool,
    pub close_position: bool,
    pub side: Side,
    pub position_side: PositionSide,
    pub stop_price: Decimal,
    pub working_type: &'static str,
    pub price_protect: bool,
    pub orig_type: OrderType,
    pub price_match: &'static str,
    pub self_trade_prevention_mode: String,
    pub good_till_date: i64,
    pub time: i64,
    pub update_time: i64,
    pub price_precision: u32,
    pub quantity_precision: u32,
}
