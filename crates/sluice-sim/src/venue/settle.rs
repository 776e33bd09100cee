//! Settlement of one fill: the book, the position leg, the wallet, the order's
//! progress and the trade record, then the fill's TRADE_LITE and TRADE events.
//!
//! Invariant: the wallet moves by exactly `realized − commission`, and the
//! account's running totals move by the same two amounts.

use rust_decimal::Decimal;

use super::events::{TradeLite, UserEvent};
use super::execution::ER_NONE;
use super::order::Order;
use super::position::{apply_fill, commission, FillOutcome};
use super::types::{ExecType, OrderStatus, Side};
use super::views::TradeView;
use super::{Trade, Venue};

/// The events one fill produces, queued later in Binance's order.
pub(crate) struct FillEvents {
    pub lite: UserEvent,
    pub trade: UserEvent,
}

impl Venue {
    /// Applies a signed fill to the order's position leg and the wallet.
    fn settle(
        &mut self,
        id: i64,
        price: Decimal,
        qty: Decimal,
        fee: Decimal,
        now_ms: i64,
    ) -> Option<FillOutcome> {
        let order = self.orders.get_mut(&id)?;
        order.executed_qty += qty;
        order.cum_quote += price * qty;
        order.status = if order.remaining().is_zero() {
            OrderStatus::Filled
        } else {
            OrderStatus::PartiallyFilled
        };
        order.update_time = now_ms;
        if !order.status.is_open() {
            self.open_ids.remove(&id);
        }
        let key = (order.symbol.clone(), order.position_side);
        let signed = qty * order.side.sign();
        let account = self.accounts.get_mut(order.account as usize)?;
        let pos = account.positions.entry(key).or_default();
        let out = apply_fill(pos.amount, pos.entry, signed, price);
        pos.amount = out.amount;
        pos.entry = out.entry;
        pos.realized += out.realized;
        pos.update_time = now_ms;
        account.wallet += out.realized - fee;
        account.realized_total += out.realized;
        account.commission_total += fee;
        account.update_time = now_ms;
        Some(out)
    }

    /// Applies one fill of `qty` at `price` to order `id`, its position, the
    /// wallet and (for a taker) the book. Returns its events.
    pub(crate) fn fill(
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
        let out = self.settle(id, price, qty, fee, now_ms)?;
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
        let lite = trade_lite(&order, &view);
        self.trades.push(Trade {
            account: order.account,
            view: view.clone(),
        });
        let trade = self.order_event(id, ExecType::Trade, Some(&view), ER_NONE, now_ms)?;
        Some(FillEvents { lite, trade })
    }
}

/// TRADE_LITE for one fill of `order`.
fn trade_lite(order: &Order, fill: &TradeView) -> UserEvent {
    UserEvent::TradeLite(TradeLite {
        event_time: fill.time,
        transaction_time: fill.time,
        symbol: order.symbol.clone(),
        orig_qty: order.orig_qty,
        orig_price: order.price,
        maker: fill.maker,
        client_order_id: order.client_order_id.clone(),
        side: order.side,
        last_price: fill.price,
        last_qty: fill.qty,
        trade_id: fill.id,
        order_id: order.order_id,
        price_precision: fill.price_precision,
        quantity_precision: fill.quantity_precision,
    })
}
