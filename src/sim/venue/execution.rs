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

use super::events::{
    AccountUpdate, BalanceUpdate, OrderTradeUpdate, PositionUpdate, TradeLite, UserEvent,
};
use super::filters::market_price_acceptable;
use super::order::{Order, OrderView};
use super::placement::Checked;
use super::position::{apply_fill, break_even, commission, unrealized};
use super::reject::Reject;
use super::types::{ExecType, OrderStatus, OrderType, PositionSide, Side, TimeInForce};
use super::views::TradeView;
use super::{AccountId, Trade, Venue};

/// Characters of an auto-generated clientOrderId.
const ID_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Expiry reasons (`o.er`).
pub(crate) const ER_NONE: u8 = 0;
pub(crate) const ER_IOC: u8 = 2;
pub(crate) const ER_REDUCE_ONLY: u8 = 4;
pub(crate) const ER_MARKET: u8 = 9;

/// The events one fill produces, queued later in Binance's order.
struct FillEvents {
    lite: UserEvent,
    trade: UserEvent,
}

impl Venue {
    /// Places a checked order: matches it, rests or expires the remainder.
    pub(crate) fn execute_new(
        &mut self,
        a: AccountId,
        c: Checked,
        now_ms: i64,
    ) -> Result<OrderView, Reject> {
        let plan = self.plan_taker(a, &c);
        let planned: Decimal = plan.iter().map(|(_, q)| *q).sum();
        if c.time_in_force == TimeInForce::Gtx && !plan.is_empty() {
            return Err(Reject::gtx_rejected());
        }
        if c.time_in_force == TimeInForce::Fok && planned < c.qty {
            return Err(Reject::fok_rejected());
        }
        let order = self.new_order_record(a, &c, now_ms);
        let id = order.order_id;
        self.orders.insert(id, order);
        let new_event = self.order_event(id, ExecType::New, None, ER_NONE, now_ms);
        if plan.is_empty() {
            self.push_some(a, new_event);
        } else {
            let fills: Vec<FillEvents> = plan
                .iter()
                .filter_map(|&(p, q)| self.fill(id, p, q, false, now_ms))
                .collect();
            for f in &fills {
                self.push(a, f.lite.clone());
            }
            self.push_some(a, new_event);
            self.push_account_update(
                a,
                &self.symbols[c.spec].name.clone(),
                c.position_side,
                now_ms,
            );
            for f in fills {
                self.push(a, f.trade);
            }
        }
        self.finish_taker(id, &c, planned, now_ms);
        self.enforce_reduce_only(a, c.spec, c.position_side, now_ms);
        let order = self.orders.get(&id).ok_or_else(Reject::no_such_order)?;
        Ok(self.view_of(order))
    }

    /// The taker fills the order would get now (nothing consumed).
    fn plan_taker(&self, a: AccountId, c: &Checked) -> Vec<(Decimal, Decimal)> {
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
            time: now_ms,
            update_time: now_ms,
        }
    }

    /// After the taker pass: GTC/GTD rest; IOC and MARKET remainders expire.
    fn finish_taker(&mut self, id: i64, c: &Checked, planned: Decimal, now_ms: i64) {
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

    /// Applies one fill of `qty` at `price` to order `id`, its position, the
    /// wallet and (for a taker) the book. Returns its events.
    fn fill(
        &mut self,
        id: i64,
        price: Decimal,
        qty: Decimal,
        maker: bool,
        now_ms: i64,
    ) -> Option<FillEvents> {
        let order = self.orders.get(&id)?.clone();
        let i = *self.symbol_index.get(&order.symbol)?;
        let trade_id = self.markets[i].next_trade_id();
        if !maker {
            self.markets[i].consume(order.side, price, qty);
        }
        let fee = commission(price, qty, maker);
        let account = self.accounts.get_mut(order.account as usize)?;
        let pos = account
            .positions
            .entry((order.symbol.clone(), order.position_side))
            .or_default();
        let out = apply_fill(pos.amount, pos.entry, qty * order.side.sign(), price);
        pos.amount = out.amount;
        pos.entry = out.entry;
        pos.realized += out.realized;
        pos.update_time = now_ms;
        account.wallet += out.realized - fee;
        account.realized_total += out.realized;
        account.commission_total += fee;
        account.update_time = now_ms;
        let stored = self.orders.get_mut(&id)?;
        stored.executed_qty += qty;
        stored.cum_quote += price * qty;
        stored.status = if stored.remaining().is_zero() {
            OrderStatus::Filled
        } else {
            OrderStatus::PartiallyFilled
        };
        stored.update_time = now_ms;
        let spec = &self.symbols[i];
        let view = TradeView {
            id: trade_id,
            symbol: order.symbol.clone(),
            order_id: id,
            side: order.side,
            position_side: order.position_side,
            price,
            qty,
            quote_qty: price * qty,
            commission: fee,
            commission_asset: spec.margin_asset.clone(),
            realized_pnl: out.realized,
            margin_asset: spec.margin_asset.clone(),
            buyer: order.side == Side::Buy,
            maker,
            time: now_ms,
            price_precision: spec.price_precision,
            quantity_precision: spec.quantity_precision,
        };
        let lite = UserEvent::TradeLite(TradeLite {
            event_time: now_ms,
            transaction_time: now_ms,
            symbol: order.symbol.clone(),
            orig_qty: order.orig_qty,
            orig_price: order.price,
            maker,
            client_order_id: order.client_order_id.clone(),
            side: order.side,
            last_price: price,
            last_qty: qty,
            trade_id,
            order_id: id,
            price_precision: spec.price_precision,
            quantity_precision: spec.quantity_precision,
        });
        self.trades.push(Trade {
            account: order.account,
            view: view.clone(),
        });
        let trade = self.order_event(id, ExecType::Trade, Some(&view), ER_NONE, now_ms)?;
        Some(FillEvents { lite, trade })
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
            .orders
            .values()
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
                // Binance lowers `q` of resting reduce-only orders (reference §9).
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

    pub(crate) fn push(&mut self, a: AccountId, event: UserEvent) {
        self.events.push((a, event));
    }

    fn push_some(&mut self, a: AccountId, event: Option<UserEvent>) {
        if let Some(event) = event {
            self.push(a, event);
        }
    }

    /// ORDER_TRADE_UPDATE for order `id` as it stands now.
    fn order_event(
        &self,
        id: i64,
        exec: ExecType,
        fill: Option<&TradeView>,
        er: u8,
        now_ms: i64,
    ) -> Option<UserEvent> {
        let o = self.orders.get(&id)?;
        let (pp, qp) = self
            .symbol(&o.symbol)
            .map_or((8, 8), |s| (s.price_precision, s.quantity_precision));
        let margin_asset = self
            .symbol(&o.symbol)
            .map_or_else(|| "USDT".to_owned(), |s| s.margin_asset.clone());
        let (bids, asks) = self.open_notional(o.account, &o.symbol);
        let z = Decimal::ZERO;
        Some(UserEvent::OrderTradeUpdate(Box::new(OrderTradeUpdate {
            event_time: now_ms,
            transaction_time: now_ms,
            symbol: o.symbol.clone(),
            client_order_id: o.client_order_id.clone(),
            side: o.side,
            order_type: o.order_type,
            time_in_force: o.time_in_force,
            orig_qty: o.orig_qty,
            orig_price: o.price,
            avg_price: o.avg_price(),
            stop_price: z,
            exec_type: exec,
            status: o.status,
            order_id: o.order_id,
            last_qty: fill.map_or(z, |f| f.qty),
            cum_qty: o.executed_qty,
            last_price: fill.map_or(z, |f| f.price),
            commission: fill.map_or(z, |f| f.commission),
            commission_asset: margin_asset,
            trade_time: now_ms,
            trade_id: fill.map_or(0, |f| f.id),
            bids_notional: bids,
            asks_notional: asks,
            maker: fill.is_some_and(|f| f.maker),
            reduce_only: o.reduce_only_flag,
            working_type: "CONTRACT_PRICE",
            orig_type: o.order_type,
            position_side: o.position_side,
            close_position: false,
            realized_profit: fill.map_or(z, |f| f.realized_pnl),
            price_protect: false,
            stp_mode: o.stp_mode.clone(),
            price_match: "NONE",
            good_till_date: o.good_till_date,
            expiry_reason: er,
            price_precision: pp,
            quantity_precision: qp,
        })))
    }

    /// ACCOUNT_UPDATE (reason ORDER) with the wallet and the one changed leg.
    fn push_account_update(&mut self, a: AccountId, symbol: &str, leg: PositionSide, now_ms: i64) {
        let Some(account) = self.acct(a) else { return };
        let Some(spec) = self.symbol(symbol) else {
            return;
        };
        let mark = self
            .symbol_index
            .get(symbol)
            .map_or(Decimal::ZERO, |&i| self.markets[i].mark);
        let pos = account
            .positions
            .get(&(symbol.to_owned(), leg))
            .cloned()
            .unwrap_or_default();
        let event = UserEvent::AccountUpdate(AccountUpdate {
            event_time: now_ms,
            transaction_time: now_ms,
            reason: "ORDER",
            balances: vec![BalanceUpdate {
                asset: spec.margin_asset.clone(),
                wallet_balance: account.wallet,
                cross_wallet_balance: account.wallet,
                balance_change: Decimal::ZERO,
            }],
            positions: vec![PositionUpdate {
                symbol: symbol.to_owned(),
                position_amt: pos.amount,
                entry_price: pos.entry,
                break_even_price: break_even(pos.amount, pos.entry),
                accumulated_realized: pos.realized,
                unrealized_pnl: unrealized(pos.amount, pos.entry, mark),
                margin_type: "cross",
                isolated_wallet: Decimal::ZERO,
                position_side: leg,
                margin_asset: spec.margin_asset.clone(),
                price_precision: spec.price_precision,
                quantity_precision: spec.quantity_precision,
            }],
        });
        self.push(a, event);
    }
}
