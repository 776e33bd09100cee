//! The account-facing commands: place, cancel, cancel-all, leverage, position
//! mode, multi-assets mode. Each either changes state and queues its events,
//! or returns the exact Binance rejection and changes nothing.

use rust_decimal::Decimal;

use super::account::max_notional;
use super::events::{AccountConfigUpdate, UserEvent};
use super::execution::ER_NONE;
use super::order::{NewOrder, OrderView};
use super::reject::Reject;
use super::types::OrderStatus;
use super::views::LeverageView;
use super::{AccountId, Venue};

/// Binance's leverage range on `POST /fapi/v1/leverage`.
const MAX_LEVERAGE: u32 = 125;

impl Venue {
    /// `POST /fapi/v1/order` (`test_only` = `/order/test`: validated, not
    /// recorded, answered with a NEW order view whose ids are 0/empty).
    pub(crate) fn place_order(
        &mut self,
        a: AccountId,
        o: NewOrder,
        test_only: bool,
        now_ms: i64,
    ) -> Result<OrderView, Reject> {
        self.now_ms = self.now_ms.max(now_ms);
        let checked = self.check_order(a, &o, now_ms)?;
        if test_only {
            // NOTE: the exact /order/test body is unverified (docs/binance-fapi.md §2.2);
            // validation is what matters, matching is not simulated.
            let spec = &self.symbols[checked.spec];
            return Ok(OrderView {
                order_id: 0,
                symbol: spec.name.clone(),
                status: OrderStatus::New,
                client_order_id: checked.client_order_id.clone().unwrap_or_default(),
                price: checked.price,
                avg_price: Decimal::ZERO,
                orig_qty: checked.qty,
                executed_qty: Decimal::ZERO,
                cum_quote: Decimal::ZERO,
                time_in_force: checked.time_in_force,
                order_type: checked.order_type,
                reduce_only: checked.reduce_only_flag,
                close_position: false,
                side: checked.side,
                position_side: checked.position_side,
                stop_price: Decimal::ZERO,
                working_type: "CONTRACT_PRICE",
                price_protect: false,
                orig_type: checked.order_type,
                price_match: checked.price_match,
                self_trade_prevention_mode: checked.stp_mode.clone(),
                good_till_date: checked.good_till_date,
                time: now_ms,
                update_time: now_ms,
                price_precision: spec.price_precision,
                quantity_precision: spec.quantity_precision,
            });
        }
        self.execute_new(a, checked, now_ms)
    }

    /// `DELETE /fapi/v1/order`: `-1121` unknown symbol, `-1102` neither id
    /// given, `-2011` unknown or no longer open.
    pub(crate) fn cancel_order(
        &mut self,
        a: AccountId,
        symbol: &str,
        order_id: Option<i64>,
        client_id: Option<&str>,
        now_ms: i64,
    ) -> Result<OrderView, Reject> {
        self.spec_index(symbol)?;
        if order_id.is_none() && client_id.is_none() {
            return Err(Reject::mandatory("orderId"));
        }
        let id = self
            .find_order(a, symbol, order_id, client_id)
            .filter(|o| o.status.is_open())
            .map(|o| o.order_id)
            .ok_or_else(Reject::unknown_order)?;
        self.close_order(id, OrderStatus::Canceled, ER_NONE, now_ms);
        let order = self.orders.get(&id).ok_or_else(Reject::unknown_order)?;
        Ok(self.view_of(order))
    }

    /// `DELETE /fapi/v1/allOpenOrders`: cancels every open order of `a` on `symbol`.
    pub(crate) fn cancel_all(
        &mut self,
        a: AccountId,
        symbol: &str,
        now_ms: i64,
    ) -> Result<Vec<OrderView>, Reject> {
        self.spec_index(symbol)?;
        let ids: Vec<i64> = self
            .open_order_records()
            .filter(|o| o.account == a && o.symbol == symbol && o.status.is_open())
            .map(|o| o.order_id)
            .collect();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            self.close_order(id, OrderStatus::Canceled, ER_NONE, now_ms);
            if let Some(o) = self.orders.get(&id) {
                out.push(self.view_of(o));
            }
        }
        Ok(out)
    }

    /// `POST /fapi/v1/leverage`: `-4028` outside 1..=125 or above the symbol's
    /// top bracket, `-2027` when the open position exceeds the new cap.
    /// Queues ACCOUNT_CONFIG_UPDATE `ac`.
    pub(crate) fn set_leverage(
        &mut self,
        a: AccountId,
        symbol: &str,
        leverage: u32,
        now_ms: i64,
    ) -> Result<LeverageView, Reject> {
        let i = self.spec_index(symbol)?;
        let account = self.acct(a).ok_or_else(Reject::rejected_key)?;
        let spec = &self.symbols[i];
        let top = spec
            .brackets
            .iter()
            .map(|b| b.initial_leverage)
            .max()
            .unwrap_or(MAX_LEVERAGE);
        if leverage == 0 || leverage > MAX_LEVERAGE || leverage > top {
            return Err(Reject::invalid_leverage(leverage));
        }
        let cap = max_notional(spec, leverage);
        let mark = self.markets[i].mark;
        let held: Decimal = account
            .sides()
            .iter()
            .map(|&s| account.amount(symbol, s).abs())
            .sum();
        if held * mark > cap {
            return Err(Reject::max_leverage_ratio());
        }
        if let Some(account) = self.accounts.get_mut(a as usize) {
            account.leverage.insert(symbol.to_owned(), leverage);
            account.update_time = now_ms;
        }
        self.push(
            a,
            config_event(now_ms, Some((symbol.to_owned(), leverage)), None),
        );
        Ok(LeverageView {
            symbol: symbol.to_owned(),
            leverage,
            max_notional_value: cap,
        })
    }

    /// `POST /fapi/v1/positionSide/dual`: `-4059` no change, `-4067` open
    /// orders, `-4068` open positions.
    pub(crate) fn set_dual_side(&mut self, a: AccountId, hedge: bool) -> Result<(), Reject> {
        let account = self.acct(a).ok_or_else(Reject::rejected_key)?;
        if account.hedge == hedge {
            return Err(Reject::no_need_to_change_position_side());
        }
        if self
            .open_order_records()
            .any(|o| o.account == a && o.status.is_open())
        {
            return Err(Reject::position_side_change_open_orders());
        }
        if account.positions.values().any(|p| !p.amount.is_zero()) {
            return Err(Reject::position_side_change_positions());
        }
        if let Some(account) = self.accounts.get_mut(a as usize) {
            account.hedge = hedge;
            account.positions.clear();
        }
        Ok(())
    }

    /// `POST /fapi/v1/multiAssetsMargin`. Queues ACCOUNT_CONFIG_UPDATE `ai`.
    // NOTE: Binance's -4167…-4172 switching rules are not modelled; the
    // simulator only tracks the flag (single-asset USDT margin either way).
    pub(crate) fn set_multi_assets(
        &mut self,
        a: AccountId,
        on: bool,
        now_ms: i64,
    ) -> Result<(), Reject> {
        let account = self
            .accounts
            .get_mut(a as usize)
            .ok_or_else(Reject::rejected_key)?;
        account.multi_assets = on;
        account.update_time = now_ms;
        self.push(a, config_event(now_ms, None, Some(on)));
        Ok(())
    }
}

fn config_event(
    now_ms: i64,
    leverage: Option<(String, u32)>,
    multi_assets: Option<bool>,
) -> UserEvent {
    UserEvent::AccountConfigUpdate(AccountConfigUpdate {
        event_time: now_ms,
        transaction_time: now_ms,
        leverage,
        multi_assets,
    })
}
