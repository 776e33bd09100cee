//! Event builders: ORDER_TRADE_UPDATE for an order as it stands, ACCOUNT_UPDATE
//! for one changed leg, and the per-account queue they go to.

use rust_decimal::Decimal;

use super::events::{AccountUpdate, BalanceUpdate, OrderTradeUpdate, PositionUpdate, UserEvent};
use super::position::{break_even, unrealized};
use super::types::{ExecType, PositionSide};
use super::views::TradeView;
use super::{AccountId, Venue};

impl Venue {
    pub(crate) fn push(&mut self, a: AccountId, event: UserEvent) {
        self.events.push((a, event));
    }

    pub(crate) fn push_some(&mut self, a: AccountId, event: Option<UserEvent>) {
        if let Some(event) = event {
            self.push(a, event);
        }
    }

    /// ORDER_TRADE_UPDATE for order `id` as it stands now.
    pub(crate) fn order_event(
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
            price_match: o.price_match,
            good_till_date: o.good_till_date,
            expiry_reason: er,
            price_precision: pp,
            quantity_precision: qp,
        })))
    }

    /// ACCOUNT_UPDATE (reason ORDER) with the wallet and the one changed leg.
    pub(crate) fn push_account_update(
        &mut self,
        a: AccountId,
        symbol: &str,
        leg: PositionSide,
        now_ms: i64,
    ) {
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
