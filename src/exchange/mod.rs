//! The exchange seam: one trait, held as `Arc<dyn Exchange>`, and the normalised
//! types that cross it.
//!
//! The exchange layer never sees Postgres, the router or the API, and makes no
//! policy decision beyond classifying errors ([`ErrorClass`]). Everything that
//! crosses this seam is a domain type; wire types stay inside `binance/`.

pub(crate) mod algo;
pub(crate) mod audit;
pub mod binance;
pub(crate) mod credentials;
pub(crate) mod error;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

pub use algo::AlgoOrderReport;
pub use algo::{AlgoOrderRequest, AlgoStatus, ProtectionKind, WorkingType};
pub use audit::AttemptRecord;
pub use credentials::CredentialSource;
pub use error::{ErrorClass, ExchangeError};

use crate::domain::{
    ClientOrderId, ExpireReason, Fill, FilterChecked, OrderRequest, OrderStatus, OrderType,
    PositionMode, PositionSide, Price, Qty, Side, Symbol, SymbolRules,
};

/// An order as the exchange reports it (REST response or stream update).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderReport {
    pub symbol: Symbol,
    pub order_id: i64,
    pub client_order_id: String,
    pub side: Side,
    pub position_side: PositionSide,
    pub order_type: OrderType,
    pub status: OrderStatus,
    pub reduce_only: bool,
    pub orig_qty: Qty,
    pub executed_qty: Qty,
    /// Zero until something filled, and zero when the venue omits it (POST/DELETE
    /// answers may, docs/binance-fapi.md §0): informational only, fills carry prices.
    pub avg_price: Decimal,
    /// Zero for MARKET orders.
    pub price: Decimal,
    pub update_time: DateTime<Utc>,
    /// Why the order expired (`er`, stream updates only; docs/binance-fapi.md §5.3).
    /// None when not expired or not said. An expiry is never a fill.
    #[serde(default)]
    pub expire_reason: Option<ExpireReason>,
}

/// A position as the exchange reports it. `amount` is signed in one-way mode
/// (negative = short); in hedge mode the side is in `position_side`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangePosition {
    pub symbol: Symbol,
    pub position_side: PositionSide,
    pub amount: Decimal,
    pub entry_price: Decimal,
    pub mark_price: Option<Decimal>,
    pub unrealized_pnl: Decimal,
    pub update_time: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    pub asset: String,
    pub wallet_balance: Decimal,
    pub(crate) available_balance: Decimal,
    pub unrealized_pnl: Decimal,
}

/// Account-level facts preflight and the router need.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSnapshot {
    pub can_trade: bool,
    pub(crate) can_withdraw: bool,
    pub(crate) multi_assets_margin: bool,
    pub position_mode: PositionMode,
    pub total_wallet_balance: Decimal,
    pub(crate) available_balance: Decimal,
    pub balances: Vec<Balance>,
    pub positions: Vec<ExchangePosition>,
}

/// The answer to "what happened to the order with this clientOrderId?".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderResolution {
    /// The exchange knows the order (open or finished); fills are in `trades`.
    Known {
        order: OrderReport,
        trades: Vec<Fill>,
    },
    /// Neither the order lookup, open orders nor user trades know it: it never executed,
    /// and re-sending with a fresh attempt id is safe.
    NotFound,
}

/// Normalised user-stream events. A duplicate event must be harmless downstream
/// (fills are keyed by trade id).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum AccountEvent {
    /// An order changed state (NEW, CANCELED, EXPIRED, TRADE...).
    Order(OrderReport),
    /// A trade execution.
    Fill(Fill),
    /// Positions the exchange reported as changed, and the event time. `complete`: a REST
    /// read listing every non-zero position (the time is when it was asked for), so a
    /// leg it does not list is flat; an ACCOUNT_UPDATE lists only what changed.
    Positions {
        positions: Vec<ExchangePosition>,
        time: DateTime<Utc>,
        complete: bool,
    },
    Balances(Vec<Balance>),
    /// Leverage or multi-assets mode changed.
    ConfigChanged {
        symbol: Option<Symbol>,
        leverage: Option<u32>,
        multi_assets: Option<bool>,
    },
    /// The stream was (re)connected and a REST resync completed: the events before
    /// this one may have had a gap that the resync has covered. Events between a
    /// `Disconnected` (or the start) and this one come from that REST resync; events
    /// after it, up to the next `Disconnected`, come from the live stream.
    Resynced,
    /// The stream is down; events may be missing until the next `Resynced`.
    Disconnected {
        reason: String,
    },
    /// An algo (conditional) order changed state (`ALGO_UPDATE`).
    Algo(AlgoOrderReport),
}

/// A mark price observation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkPrice {
    pub symbol: Symbol,
    pub mark_price: Price,
    pub time: DateTime<Utc>,
}

/// One leverage bracket (leverageBracket endpoint).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeverageBracket {
    pub(crate) bracket: u32,
    pub(crate) initial_leverage: u32,
    pub(crate) notional_cap: Decimal,
    pub(crate) notional_floor: Decimal,
    pub(crate) maint_margin_ratio: Decimal,
}

/// API trading status: is trading locked for the account or a symbol?
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradingStatus {
    pub(crate) account_locked: bool,
    pub locked_symbols: Vec<Symbol>,
}

/// What a request to the venue is for, as the code that asks knows it. A venue that keeps
/// part of its request budget for risk-reducing requests (Binance: a tenth of the IP's
/// request weight per minute) lets only [`Purpose::ReduceRisk`] use that part, so
/// start-up, reconcile, preflight and background reads can never lock a close out of the
/// venue. Every read that can serve either says which at the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// A close, a flatten, a cancel or the resolution of an order in flight waits on it.
    ReduceRisk,
    /// Nothing risk-reducing waits on it: start-up, reconcile, preflight, operator and
    /// background reads, and what an order that may add risk needs.
    Routine,
}

/// `local`, a moment on sluice's clock, on `exchange`'s clock: `local` minus the offset
/// last measured ([`Exchange::clock_offset_ms`]: local minus server), or `local` itself
/// when the adapter has none. For comparing a moment sluice saw with the venue's own
/// times (a trade's time, `src/ledger/reattribute.rs`).
pub async fn on_exchange_clock(exchange: &dyn Exchange, local: DateTime<Utc>) -> DateTime<Utc> {
    let offset = exchange.clock_offset_ms().await.unwrap_or(0);
    local - chrono::Duration::milliseconds(offset)
}

/// The seam between sluice and a venue. Implemented by the Binance adapter; the
/// same code runs against the simulator, testnet and mainnet.
#[async_trait]
pub trait Exchange: Send + Sync {
    /// Which venue this is (`binance-usdm`), for the ledger's fill uniqueness key.
    fn venue(&self) -> &str;

    /// A cheap question the venue answers when it is up (preflight; the executor's
    /// outage probe, on which a parked close waits).
    async fn ping(&self, purpose: Purpose) -> Result<std::time::Duration, ExchangeError>;
    /// Local clock minus server clock, in milliseconds, as last measured.
    async fn clock_offset_ms(&self) -> Result<i64, ExchangeError>;

    /// Every symbol's trading rules (Binance: exchangeInfo). Routine at start, in
    /// preflight and for the operator; the executor's reload after a refusal, which its
    /// one loop awaits (a close's re-plan among what waits), is not.
    async fn symbol_rules(&self, purpose: Purpose) -> Result<Vec<SymbolRules>, ExchangeError>;
    /// The mark price of `symbol` (a fresh one from the market stream when there is one).
    async fn mark_price(
        &self,
        symbol: &Symbol,
        purpose: Purpose,
    ) -> Result<MarkPrice, ExchangeError>;
    async fn leverage_brackets(
        &self,
        symbol: &Symbol,
    ) -> Result<Vec<LeverageBracket>, ExchangeError>;

    async fn account(&self) -> Result<AccountSnapshot, ExchangeError>;
    async fn positions(&self, purpose: Purpose) -> Result<Vec<ExchangePosition>, ExchangeError>;
    async fn position_mode(&self) -> Result<PositionMode, ExchangeError>;
    /// Is API trading locked? Routine for preflight and the operator; the key-loss probe
    /// ([`Exchange::reauthenticate`]) asks it for whatever waits on the key.
    async fn trading_status(&self, purpose: Purpose) -> Result<TradingStatus, ExchangeError>;

    async fn open_orders(
        &self,
        symbol: Option<&Symbol>,
        purpose: Purpose,
    ) -> Result<Vec<OrderReport>, ExchangeError>;
    /// Trades of `symbol` with id >= `from_id` (or the recent ones when None): a routine
    /// read (reconcile); the trades of an order being resolved come with its resolution.
    async fn user_trades(
        &self,
        symbol: &Symbol,
        from_id: Option<i64>,
    ) -> Result<Vec<Fill>, ExchangeError>;

    /// Send one order. Only a `FilterChecked` order can be sent.
    async fn place_order(
        &self,
        order: &FilterChecked<OrderRequest>,
    ) -> Result<OrderReport, ExchangeError>;
    /// Send several orders in one request where the venue has one (Binance
    /// `batchOrders`, at most five). `Err` when the request as a whole failed (the same
    /// for every order); otherwise one result per order, in the order given. By default
    /// each order goes on its own, one after another.
    async fn place_orders(
        &self,
        orders: &[FilterChecked<OrderRequest>],
    ) -> Result<Vec<Result<OrderReport, ExchangeError>>, ExchangeError> {
        let mut out = Vec::with_capacity(orders.len());
        for o in orders {
            out.push(self.place_order(o).await);
        }
        Ok(out)
    }
    /// Validate an order at the exchange without sending it to matching.
    async fn test_order(&self, order: &FilterChecked<OrderRequest>) -> Result<(), ExchangeError>;
    async fn cancel_order(
        &self,
        symbol: &Symbol,
        client_order_id: &ClientOrderId,
    ) -> Result<OrderReport, ExchangeError>;
    /// Resolve an order whose outcome is unknown: GET order, then openOrders, then
    /// userTrades. Nothing may be re-sent while this says the order may be live.
    async fn resolve_order(
        &self,
        symbol: &Symbol,
        client_order_id: &ClientOrderId,
        purpose: Purpose,
    ) -> Result<OrderResolution, ExchangeError>;
    /// Resolve several orders of one symbol, each as [`Exchange::resolve_order`] would,
    /// the first sent no earlier than `sent_since`; one answer per id, in order. A venue
    /// may read their fills together (Binance: one userTrades read for all of them, IP
    /// weight 5, where one per order costs 5 each).
    async fn resolve_orders(
        &self,
        symbol: &Symbol,
        ids: &[ClientOrderId],
        sent_since: chrono::DateTime<chrono::Utc>,
        purpose: Purpose,
    ) -> Vec<Result<OrderResolution, ExchangeError>> {
        let _ = sent_since;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(self.resolve_order(symbol, id, purpose).await);
        }
        out
    }

    /// Prove the credentials with a cheap signed call, first re-reading them from their
    /// source when the adapter has one (a key rotated after key loss). `Ok` means the
    /// exchange accepts the key again. `symbol`: a symbol the daemon trades, which a venue
    /// may scope the probe to so it costs less (Binance: apiTradingStatus with a `symbol`
    /// is IP weight 1, without 10); the answer's content is not used, only that the key is
    /// accepted. `purpose`: what waits on the key (the executor's key-loss probe: every
    /// close, since nothing is sent while the key is refused).
    async fn reauthenticate(
        &self,
        symbol: Option<&Symbol>,
        purpose: Purpose,
    ) -> Result<(), ExchangeError> {
        let _ = symbol;
        self.trading_status(purpose).await.map(|_| ())
    }

    /// Start (or restart) the user-data stream; events arrive on the returned channel.
    /// The adapter resyncs over REST after every (re)connect and then sends `Resynced`.
    /// `in_flight`: the orders the caller knows may still be live at the venue (symbol,
    /// client order id; the daemon: its ledger's non-terminal LIMIT orders), which the
    /// resyncs ask about with the orders sent from here on, so they need not read every
    /// symbol's open orders.
    async fn subscribe_account(
        &self,
        in_flight: &[(Symbol, ClientOrderId)],
    ) -> Result<mpsc::Receiver<AccountEvent>, ExchangeError>;

    /// Place a protective algo order (`POST /fapi/v1/algoOrder`).
    async fn place_algo_order(
        &self,
        order: &AlgoOrderRequest,
    ) -> Result<AlgoOrderReport, ExchangeError> {
        Err(ExchangeError::unsupported(
            "place_algo_order",
            &order.client_algo_id,
        ))
    }
    /// The algo order with this clientAlgoId, None when the venue does not know it.
    /// `purpose`: a fired stop's re-read (its position's close waits on it) and the look-up
    /// before a protective placement reduce risk; reconcile's and the periodic check's do
    /// not.
    async fn algo_order(
        &self,
        client_algo_id: &str,
        purpose: Purpose,
    ) -> Result<Option<AlgoOrderReport>, ExchangeError> {
        let _ = purpose;
        Err(ExchangeError::unsupported("algo_order", client_algo_id))
    }
    /// Cancel an untriggered algo order. `Ok(false)`: it was no longer cancellable.
    async fn cancel_algo_order(&self, client_algo_id: &str) -> Result<bool, ExchangeError> {
        Err(ExchangeError::unsupported(
            "cancel_algo_order",
            client_algo_id,
        ))
    }
    /// Algo orders still held by the venue (NEW, TRIGGERING, TRIGGERED), all symbols.
    async fn open_algo_orders(&self) -> Result<Vec<AlgoOrderReport>, ExchangeError> {
        Err(ExchangeError::unsupported("open_algo_orders", ""))
    }
    /// The open algo orders of one symbol (Binance: IP weight 1, where the list of every
    /// symbol costs 40). A venue without a list per symbol filters the whole list.
    async fn open_algo_orders_of(
        &self,
        symbol: &Symbol,
    ) -> Result<Vec<AlgoOrderReport>, ExchangeError> {
        let all = self.open_algo_orders().await?;
        Ok(all.into_iter().filter(|o| o.symbol == *symbol).collect())
    }
    /// An order by its exchange id, with its trades (the order a stop produced).
    async fn order_by_id(
        &self,
        _symbol: &Symbol,
        order_id: i64,
    ) -> Result<(OrderReport, Vec<Fill>), ExchangeError> {
        Err(ExchangeError::unsupported(
            "order_by_id",
            &order_id.to_string(),
        ))
    }

    /// The dead-man's switch: cancel every open order of `symbol` unless called again
    /// within `countdown` (`Duration::ZERO` stops the timer).
    async fn countdown_cancel_all(
        &self,
        symbol: &Symbol,
        countdown: std::time::Duration,
    ) -> Result<(), ExchangeError> {
        Err(ExchangeError::unsupported(
            "countdown_cancel_all",
            &format!("{symbol} {countdown:?}"),
        ))
    }

    /// May a background read costing `weight` of the IP's request weight go now, leaving
    /// the rest to requests that reduce risk? Background reads (the dead-man's switch's and
    /// the protective comparison's unscoped reads) ask first and are skipped on `false`.
    /// A venue without weight accounting says yes.
    fn background_read_fits(&self, _weight: u32) -> bool {
        true
    }

    /// The user stream is connected but silent (fills went unreported): drop its
    /// connection and open a new one, which resyncs over REST as every reconnect does.
    /// The caller spaces these requests; a venue without a stream ignores them.
    fn reopen_user_stream(&self) {}
}
