//! Execution: turns a checked order into fills against the synthetic book (as
//! taker) or at its own price (resting, as maker), applies each fill to the
//! position and wallet, and queues the user events in Binance's order:
//! taker `TRADE_LITE… → NEW → ACCOUNT_UPDATE → TRADE…`, maker
//! `TRADE_LITE → ACCOUNT_UPDATE → TRADE`, then `EXPIRED` for a remainder.
//!
//! Invariants: a reduce-only fill never exceeds the position it closes, so it
//! never flips it; wallet changes by exactly `realized − commission` per fill.

use rand::Rng;
use rust_decimal::Decimal;

use super::filters::market_price_acceptable;
use super::order::{Order, OrderView};
use super::placement::Checked;
use super::reject::Reject;
use super::settle::FillEvents;
use super::types::{ExecType, OrderStatus, OrderType, PositionSide, Side, TimeInForce};
use super::{AccountId, Venue};

/// Characters of an auto-generated clientOrderId.
const ID_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Expiry reasons (`o.er`, docs/binance-fapi.md §5.3).
pub(crate) const ER_NONE: u8 = 0;
pub(crate) const ER_STP: u8 = 1;
pub(crate) const ER_IOC: u8 = 2;
pub(crate) const ER_IOC_STP: u8 = 3;
pub(crate) const ER_REDUCE_ONLY: u8 = 4;
pub(crate) const ER_MARKET: u8 = 9;

impl Venue {
    /// Places a checked order: matches it, rests or expires the remainder.
    pub(crate) fn execute_new(
        &mut self,
        a: AccountId,
        c: Checked,
        now_ms: i64,
    ) -> Result<OrderView, Reject> {
        let (plan, self_match) = self.plan_with_stp(a, &c);
        let planned: Decimal = plan.iter().map(|(_, q)| *q).sum();
        if c.time_in_force == TimeInForce::Gtx && !plan.is_empty() {
            return Err(Reject::gtx_rejected());
        }
        if c.time_in_force == TimeInForce::Fok && planned < c.qty {
            return Err(Reject::fok_rejected());
        }
        if let Some(m) = &self_match {
            self.expire_makers(m, now_ms);
        }
        let order = self.new_order_record(a, &c, now_ms);
        let id = order.order_id;
        self.orders.insert(id, order);
        self.open_ids.insert(id);
        let ack = self.orders.get(&id).map(|o| self.view_of(o));
        let new_event = self.order_event(id, ExecType::New, None, ER_NONE, now_ms);
        if plan.is_empty() {
            self.push_some(a, new_event);
        } else {
            let (lites, trades): (Vec<_>, Vec<_>) = plan
                .iter()
                .filter_map(|&(p, q)| self.fill(id, p, q, false, now_ms))
                .map(|f: FillEvents| (f.lite, f.trade))
                .unzip();
            for lite in lites {
                self.push(a, lite);
            }
            self.push_some(a, new_event);
            self.push_account_update(
                a,
                &self.symbols[c.spec].name.clone(),
                c.position_side,
                now_ms,
            );
            for trade in trades {
                self.push(a, trade);
            }
        }
        self.finish_after_match(id, &c, self_match.as_ref(), planned, now_ms);
        self.enforce_reduce_only(a, c.spec, c.position_side, now_ms);
        // newOrderRespType=ACK (the default) answers with the accepted state.
        let order = self.orders.get(&id).ok_or_else(Reject::no_such_order)?;
        match ack {
            Some(ack) if !c.resp_type_result => Ok(ack),
            _ => Ok(self.view_of(order)),
        }
    }

    /// The taker fills the order would get now (nothing consumed).
    pub(crate) fn plan_taker(&self, a: AccountId, c: &Checked) -> Vec<(Decimal, Decimal)> {
        let spec = &self.symbols[c.spec];
        let market = &self.markets[c.spec];
        let qty = if c.reduce_only {
            let amount = self
                .acct(a)
                .map_or(Decimal::ZERO, |acc| acc.amount(&spec.name, c.position_side));
            c.qty.min(amount.abs())
        } else {
            c.qty
        };
        let (side, limit, mark) = (c.side, c.price, market.mark);
        match c.order_type {
            OrderType::Market => market.plan(spec, side, qty, |p| {
                market_price_acceptable(spec, side, p, mark)
            }),
            OrderType::Limit => market.plan(spec, side, qty, |p| match side {
                Side::Buy => p <= limit,
                Side::Sell => p >= limit,
            }),
        }
    }

    fn new_order_record(&mut self, a: AccountId, c: &Checked, now_ms: i64) -> Order {
        let order_id = self.next_order_id;
        self.next_order_id += 1;
        let client_order_id = match &c.client_order_id {
            Some(id) => id.clone(),
            None => (0..22)
                .map(|_| ID_CHARS[self.rng.gen_range(0..ID_CHARS.len())] as char)
                .collect(),
        };
        Order {
            account: a,
            order_id,
            symbol: self.symbols[c.spec].name.clone(),
            client_order_id,
            side: c.side,
            position_side: c.position_side,
            order_type: c.order_type,
            time_in_force: c.time_in_force,
            price: c.price,
            orig_qty: c.qty,
            executed_qty: Decimal::ZERO,
            cum_quote: Decimal::ZERO,
            reduce_only: c.reduce_only,
            reduce_only_flag: c.reduce_only_flag,
            status: OrderStatus::New,
            stp_mode: c.stp_mode.clone(),
            good_till_date: c.good_till_date,
            price_match: c.price_match,
            time: now_ms,
            update_time: now_ms,
        }
    }

    /// After the taker pass: GTC/GTD rest; IOC and MARKET remainders expire.
    pub(crate) fn finish_taker(&mut self, id: i64, c: &Checked, planned: Decimal, now_ms: i64) {
        let Some(order) = self.orders.get(&id) else {
            return;
        };
        if order.remaining().is_zero() {
            return;
        }
        let er = match (c.order_type, c.time_in_force) {
            (OrderType::Market, _) if c.reduce_only && planned < c.qty => ER_REDUCE_ONLY,
            (OrderType::Market, _) => ER_MARKET,
            (OrderType::Limit, TimeInForce::Ioc | TimeInForce::Fok) => ER_IOC,
            _ => return,
        };
        self.close_order(id, OrderStatus::Expired, er, now_ms);
    }

    /// Fills a resting LIMIT order at its own price as maker; a reduce-only
    /// order fills at most what closes its position.
    pub(crate) fn fill_resting(&mut self, id: i64, now_ms: i64) {
        let Some(order) = self.orders.get(&id).cloned() else {
            return;
        };
        let Some(&i) = self.symbol_index.get(&order.symbol) else {
            return;
        };
        let mut qty = order.remaining();
        if order.reduce_only {
            let amount = self.acct(order.account).map_or(Decimal::ZERO, |acc| {
                acc.amount(&order.symbol, order.position_side)
            });
            let closes =
                (amount > Decimal::ZERO) == (order.side == Side::Sell) && !amount.is_zero();
            qty = if closes {
                qty.min(amount.abs())
            } else {
                Decimal::ZERO
            };
        }
        if qty.is_zero() {
            self.close_order(id, OrderStatus::Expired, ER_REDUCE_ONLY, now_ms);
            return;
        }
        let Some(events) = self.fill(id, order.price, qty, true, now_ms) else {
            return;
        };
        self.push(order.account, events.lite);
        self.push_account_update(order.account, &order.symbol, order.position_side, now_ms);
        self.push(order.account, events.trade);
        self.enforce_reduce_only(order.account, i, order.position_side, now_ms);
    }

    /// Keeps resting reduce-only orders within the position they close: oldest
    /// first they keep what fits; an order on the wrong side, or with nothing
    /// left to close, is EXPIRED (`er` 4); one that only partly fits is resized.
    pub(crate) fn enforce_reduce_only(
        &mut self,
        a: AccountId,
        spec: usize,
        leg: PositionSide,
        now_ms: i64,
    ) {
        let symbol = self.symbols[spec].name.clone();
        let amount = self
            .acct(a)
            .map_or(Decimal::ZERO, |acc| acc.amount(&symbol, leg));
        let closing = if amount > Decimal::ZERO {
            Some(Side::Sell)
        } else if amount < Decimal::ZERO {
            Some(Side::Buy)
        } else {
            None
        };
        let ids: Vec<i64> = self
            .open_order_records()
            .filter(|o| {
                o.account == a
                    && o.symbol == symbol
                    && o.position_side == leg
                    && o.reduce_only
                    && o.status.is_open()
            })
            .map(|o| o.order_id)
            .collect();
        let mut room = amount.abs();
        for id in ids {
            let Some(o) = self.orders.get_mut(&id) else {
                continue;
            };
            let keep = if Some(o.side) == closing {
                o.remaining().min(room)
            } else {
                Decimal::ZERO
            };
            room -= keep;
            if keep.is_zero() {
                self.close_order(id, OrderStatus::Expired, ER_REDUCE_ONLY, now_ms);
            } else if keep < o.remaining() {
                // Binance lowers `q` of resting reduce-only orders (docs/binance-fapi.md §9).
                o.orig_qty = o.executed_qty + keep;
                o.update_time = now_ms;
            }
        }
    }

    /// Ends an open order as CANCELED or EXPIRED and queues its update.
    pub(crate) fn close_order(&mut self, id: i64, status: OrderStatus, er: u8, now_ms: i64) {
        let Some(order) = self.orders.get_mut(&id) else {
            return;
        };
        order.status = status;
        self.open_ids.remove(&id);
        order.update_time = now_ms;
        let account = order.account;
        let exec = if status == OrderStatus::Canceled {
            ExecType::Canceled
        } else {
            ExecType::Expired
        };
        if let Some(event) = self.order_event(id, exec, None, er, now_ms) {
            self.push(account, event);
        }
    }
}
