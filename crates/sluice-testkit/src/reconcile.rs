//! Builders for the reconcile tests: snapshots, exchange order reports, and a fake
//! `Exchange` that serves a fixed snapshot and refuses (and counts) any trading call.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use rust_decimal::Decimal;
use sluice::domain::{
    ClientOrderId, Direction, Fill, FilterChecked, OrderRequest, OrderStatus, OrderType,
    PositionMode, PositionSide, Side, Symbol, SymbolRules,
};
use sluice::exchange::{
    AccountEvent, AccountSnapshot, ErrorClass, Exchange, ExchangeError, ExchangePosition,
    LeverageBracket, MarkPrice, OrderReport, OrderResolution, Purpose, TradingStatus,
};
use sluice::ledger::{OrderId, OrderState, PositionId};
use sluice::reconcile::{LedgerOrder, LedgerPosition};
use tokio::sync::mpsc;

use crate::ledger::{qty, sym, t, VENUE};

/// The test's stand-in for the router's client-id scheme: sluice ids start with `sl`.
pub fn is_sluice_id(id: &str) -> bool {
    id.starts_with("sl")
}

pub fn ledger_position(
    id: i64,
    symbol: &str,
    leg: PositionSide,
    dir: Direction,
    q: Decimal,
) -> LedgerPosition {
    LedgerPosition {
        position_id: PositionId(id),
        symbol: sym(symbol),
        position_side: leg,
        direction: dir,
        quantity: qty(q),
    }
}

pub fn ledger_order(
    id: i64,
    coid: &str,
    symbol: &str,
    leg: PositionSide,
    status: OrderState,
) -> LedgerOrder {
    LedgerOrder {
        order_id: OrderId(id),
        client_order_id: coid.to_string(),
        symbol: sym(symbol),
        position_side: leg,
        status,
    }
}

pub fn open_order(coid: &str, exchange_id: i64, symbol: &str, leg: PositionSide) -> OrderReport {
    OrderReport {
        symbol: sym(symbol),
        order_id: exchange_id,
        client_order_id: coid.to_string(),
        side: Side::Sell,
        position_side: leg,
        order_type: OrderType::Limit,
        status: OrderStatus::New,
        reduce_only: false,
        orig_qty: qty(Decimal::ONE),
        executed_qty: qty(Decimal::ZERO),
        avg_price: Decimal::ZERO,
        price: Decimal::from(100),
        update_time: t(0),
        expire_reason: None,
    }
}

/// A read-only exchange: serves positions, open orders and trades per symbol; every
/// order-placing or cancelling call fails and is counted, so a test can prove that
/// reconcile never trades.
pub struct FakeExchange {
    pub positions: Vec<ExchangePosition>,
    pub open_orders: Vec<OrderReport>,
    pub trades: BTreeMap<Symbol, Vec<Fill>>,
    /// Answers to `resolve_order` by clientOrderId; any other id is `NotFound`.
    pub resolutions: BTreeMap<String, OrderResolution>,
    pub trading_calls: AtomicUsize,
    pub fail_positions: bool,
    /// What `clock_offset_ms` answers: local minus the exchange's clock (0: the same).
    pub clock_offset_ms: i64,
}

impl FakeExchange {
    pub fn new(
        positions: Vec<ExchangePosition>,
        open_orders: Vec<OrderReport>,
        trades: Vec<Fill>,
    ) -> Self {
        let mut by_symbol: BTreeMap<Symbol, Vec<Fill>> = BTreeMap::new();
        for f in trades {
            by_symbol.entry(f.symbol.clone()).or_default().push(f);
        }
        FakeExchange {
            positions,
            open_orders,
            trades: by_symbol,
            resolutions: BTreeMap::new(),
            trading_calls: AtomicUsize::new(0),
            fail_positions: false,
            clock_offset_ms: 0,
        }
    }
    pub fn trading_calls(&self) -> usize {
        self.trading_calls.load(Ordering::SeqCst)
    }
    fn refuse<T>(&self) -> Result<T, ExchangeError> {
        self.trading_calls.fetch_add(1, Ordering::SeqCst);
        Err(ExchangeError::new(
            ErrorClass::Fatal,
            None,
            None,
            "reconcile must never trade",
        ))
    }
}

fn unused<T>() -> Result<T, ExchangeError> {
    Err(ExchangeError::new(
        ErrorClass::Fatal,
        None,
        None,
        "not used by reconcile",
    ))
}

#[async_trait]
impl Exchange for FakeExchange {
    fn venue(&self) -> &str {
        VENUE
    }
    async fn ping(&self, _: Purpose) -> Result<std::time::Duration, ExchangeError> {
        unused()
    }
    async fn clock_offset_ms(&self) -> Result<i64, ExchangeError> {
        Ok(self.clock_offset_ms)
    }
    async fn symbol_rules(&self, _: Purpose) -> Result<Vec<SymbolRules>, ExchangeError> {
        unused()
    }
    async fn mark_price(&self, _: &Symbol, _: Purpose) -> Result<MarkPrice, ExchangeError> {
        unused()
    }
    async fn leverage_brackets(&self, _: &Symbol) -> Result<Vec<LeverageBracket>, ExchangeError> {
        unused()
    }
    async fn account(&self) -> Result<AccountSnapshot, ExchangeError> {
        unused()
    }
    async fn positions(&self, _: Purpose) -> Result<Vec<ExchangePosition>, ExchangeError> {
        if self.fail_positions {
            return Err(ExchangeError::new(
                ErrorClass::Retry,
                Some(503),
                None,
                "Service Unavailable",
            ));
        }
        Ok(self.positions.clone())
    }
    async fn position_mode(&self) -> Result<PositionMode, ExchangeError> {
        unused()
    }
    async fn trading_status(&self, _: Purpose) -> Result<TradingStatus, ExchangeError> {
        unused()
    }
    async fn open_orders(
        &self,
        symbol: Option<&Symbol>,
        _: Purpose,
    ) -> Result<Vec<OrderReport>, ExchangeError> {
        Ok(self
            .open_orders
            .iter()
            .filter(|o| symbol.is_none_or(|s| *s == o.symbol))
            .cloned()
            .collect())
    }
    async fn user_trades(
        &self,
        symbol: &Symbol,
        from_id: Option<i64>,
    ) -> Result<Vec<Fill>, ExchangeError> {
        let all = self.trades.get(symbol).cloned().unwrap_or_default();
        Ok(all
            .into_iter()
            .filter(|f| from_id.is_none_or(|id| f.trade_id >= id))
            .collect())
    }
    async fn place_order(
        &self,
        _: &FilterChecked<OrderRequest>,
    ) -> Result<OrderReport, ExchangeError> {
        self.refuse()
    }
    async fn test_order(&self, _: &FilterChecked<OrderRequest>) -> Result<(), ExchangeError> {
        self.refuse()
    }
    async fn cancel_order(
        &self,
        _: &Symbol,
        _: &ClientOrderId,
    ) -> Result<OrderReport, ExchangeError> {
        self.refuse()
    }
    async fn resolve_order(
        &self,
        _: &Symbol,
        id: &ClientOrderId,
        _: Purpose,
    ) -> Result<OrderResolution, ExchangeError> {
        Ok(self
            .resolutions
            .get(id.as_str())
            .cloned()
            .unwrap_or(OrderResolution::NotFound))
    }
    async fn subscribe_account(
        &self,
        _: &[(Symbol, ClientOrderId)],
    ) -> Result<mpsc::Receiver<AccountEvent>, ExchangeError> {
        unused()
    }
}
