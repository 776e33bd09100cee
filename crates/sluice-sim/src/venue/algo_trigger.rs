//! Triggering algo orders: when a symbol's reference price (mark or last, per the
//! order's `workingType`) crosses an order's trigger price, the order goes
//! NEW → TRIGGERING, then a real reduce-only MARKET order is placed through the
//! matching engine's own rules: TRIGGERED (with `ai`) → the order's
//! ORDER_TRADE_UPDATE/ACCOUNT_UPDATE events → FINISHED (with `ap`/`aq`). A MARKET
//! order the engine refuses ends the algo order REJECTED with the refusal as `rm`.
//!
//! The stuck-TRIGGERING fault (`stall_algo_triggers`) holds orders in TRIGGERING
//! without placing anything, as reported in the wild; once it lifts they proceed.
//!
//! The resulting order's clientOrderId is auto-generated: whether Binance derives it
//! from the clientAlgoId is unverified, so a client must link it through `ai`.

use rust_decimal::Decimal;

use super::algo::{AlgoOrder, AlgoStatus};
use super::events::{AlgoUpdate, UserEvent};
use super::order::NewOrder;
use super::types::PositionSide;
use super::{AccountId, Venue};

impl Venue {
    /// Holds (`Some(symbols)`, empty = every symbol) or releases (`None`) triggering.
    pub(crate) fn stall_algo_triggers(&mut self, symbols: Option<Vec<String>>) {
        self.algo_stall = symbols;
    }

    fn stalled(&self, symbol: &str) -> bool {
        self.algo_stall
            .as_ref()
            .is_some_and(|s| s.is_empty() || s.iter().any(|x| x == symbol))
    }

    /// Fires every NEW algo order on symbol `i` whose trigger is reached, and carries
    /// every TRIGGERING one (not stalled) through to its MARKET order. Oldest first.
    pub(crate) fn run_algo_triggers(&mut self, i: usize, now_ms: i64) {
        let symbol = self.symbols[i].name.clone();
        let reached: Vec<i64> = self
            .algos
            .values()
            .filter(|o| o.symbol == symbol && o.status == AlgoStatus::New)
            .filter(|o| {
                let price = self.trigger_reference(i, o.working_type);
                o.kind.reached(o.side, price, o.trigger_price)
            })
            .map(|o| o.algo_id)
            .collect();
        for id in reached {
            if let Some(o) = self.algos.get_mut(&id) {
                o.trigger_time = now_ms;
            }
            self.set_algo_status(id, AlgoStatus::Triggering, now_ms);
        }
        if self.stalled(&symbol) {
            return;
        }
        let triggering: Vec<i64> = self
            .algos
            .values()
            .filter(|o| o.symbol == symbol && o.status == AlgoStatus::Triggering)
            .map(|o| o.algo_id)
            .collect();
        for id in triggering {
            self.execute_algo(id, now_ms);
        }
    }

    /// Places the MARKET order of a TRIGGERING algo order and records the outcome.
    fn execute_algo(&mut self, id: i64, now_ms: i64) {
        let Some(algo) = self.algos.get(&id).cloned() else {
            return;
        };
        let order = self.market_for(&algo);
        let checked = match order {
            Some(o) => self.check_order(algo.account, &o, now_ms),
            None => Err(super::reject::Reject::reduce_only_rejected()),
        };
        let checked = match checked {
            Ok(c) => c,
            Err(r) => {
                if let Some(o) = self.algos.get_mut(&id) {
                    o.reject_reason = r.msg;
                }
                self.set_algo_status(id, AlgoStatus::Rejected, now_ms);
                return;
            }
        };
        let order_id = self.next_order_id;
        if let Some(o) = self.algos.get_mut(&id) {
            o.actual_order_id = Some(order_id);
        }
        self.set_algo_status(id, AlgoStatus::Triggered, now_ms);
        let result = self.execute_new(algo.account, checked, now_ms);
        if let (Ok(view), Some(o)) = (result, self.algos.get_mut(&id)) {
            let done = self.orders.get(&view.order_id);
            o.actual_qty = done.map_or(Decimal::ZERO, |d| d.executed_qty);
            o.actual_price = done.map_or(Decimal::ZERO, |d| d.avg_price());
        }
        self.set_algo_status(id, AlgoStatus::Finished, now_ms);
    }

    /// The MARKET order an algo order becomes: the whole leg for `closePosition`, else
    /// its quantity; reduce-only in one-way mode (a hedge closing leg reduces by side).
    /// None when `closePosition` finds no position on the closing side.
    fn market_for(&self, algo: &AlgoOrder) -> Option<NewOrder> {
        let account = self.acct(algo.account)?;
        let amount = account.amount(&algo.symbol, algo.position_side);
        let qty = if algo.close_position {
            let closes = match algo.position_side {
                PositionSide::Both => {
                    amount.is_sign_positive() != (algo.side.sign() > Decimal::ZERO)
                }
                _ => true,
            };
            if amount.is_zero() || !closes {
                return None;
            }
            amount.abs()
        } else {
            algo.quantity
        };
        let hedge = account.hedge;
        Some(NewOrder {
            symbol: algo.symbol.clone(),
            side: algo.side.as_str().to_owned(),
            position_side: Some(algo.position_side.as_str().to_owned()),
            order_type: "MARKET".to_owned(),
            quantity: Some(qty),
            reduce_only: (!hedge && (algo.close_position || algo.reduce_only)).then_some(true),
            resp_type_result: true,
            ..NewOrder::default()
        })
    }

    /// Queues ALGO_UPDATE for algo order `id` as it stands.
    pub(crate) fn push_algo_event(&mut self, id: i64, now_ms: i64) {
        if let Some(o) = self.algos.get(&id) {
            let event = UserEvent::AlgoUpdate(Box::new(AlgoUpdate {
                event_time: now_ms,
                transaction_time: now_ms,
                order: o.clone(),
            }));
            let account: AccountId = o.account;
            self.push(account, event);
        }
    }
}
