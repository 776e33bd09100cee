//! User-data events as typed structs: TRADE_LITE (§5.4), ORDER_TRADE_UPDATE
//! (§5.3), ACCOUNT_UPDATE (§5.5), ACCOUNT_CONFIG_UPDATE and ALGO_UPDATE (§5.6).
//!
//! Field names spell out the wire keys in comments; the server renders them in
//! Binance's key order. Events are queued per account in the order Binance
//! sends them and handed out by `Venue::drain_events`.

use rust_decimal::Decimal;
use serde::Serialize;

use super::types::{ExecType, OrderStatus, OrderType, PositionSide, Side, TimeInForce};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) enum UserEvent {
    TradeLite(TradeLite),
    OrderTradeUpdate(Box<OrderTradeUpdate>),
    AccountUpdate(AccountUpdate),
    AccountConfigUpdate(AccountConfigUpdate),
    AlgoUpdate(Box<AlgoUpdate>),
}

/// `ALGO_UPDATE` (§5.6): an algo order as it stands after a change of state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct AlgoUpdate {
    pub event_time: i64,       // E
    pub transaction_time: i64, // T
    #[serde(skip)]
    pub order: super::algo::AlgoOrder, // o
}

/// `TRADE_LITE`: one per taker or maker execution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct TradeLite {
    pub event_time: i64,         // E
    pub transaction_time: i64,   // T
    pub symbol: String,          // s
    pub orig_qty: Decimal,       // q
    pub orig_price: Decimal,     // p ("0" for MARKET)
    pub maker: bool,             // m
    pub client_order_id: String, // c
    pub side: Side,              // S
    pub last_price: Decimal,     // L
    pub last_qty: Decimal,       // l
    pub trade_id: i64,           // t
    pub order_id: i64,           // i
    pub price_precision: u32,
    pub quantity_precision: u32,
}

/// `ORDER_TRADE_UPDATE`: every field of §5.3 for LIMIT/MARKET orders.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct OrderTradeUpdate {
    pub event_time: i64,             // E
    pub transaction_time: i64,       // T
    pub symbol: String,              // o.s
    pub client_order_id: String,     // o.c
    pub side: Side,                  // o.S
    pub order_type: OrderType,       // o.o
    pub time_in_force: TimeInForce,  // o.f
    pub orig_qty: Decimal,           // o.q
    pub orig_price: Decimal,         // o.p
    pub avg_price: Decimal,          // o.ap
    pub stop_price: Decimal,         // o.sp
    pub exec_type: ExecType,         // o.x
    pub status: OrderStatus,         // o.X
    pub order_id: i64,               // o.i
    pub last_qty: Decimal,           // o.l
    pub cum_qty: Decimal,            // o.z
    pub last_price: Decimal,         // o.L
    pub commission: Decimal,         // o.n ("0" on NEW)
    pub commission_asset: String,    // o.N
    pub trade_time: i64,             // o.T
    pub trade_id: i64,               // o.t (0 without a fill)
    pub bids_notional: Decimal,      // o.b
    pub asks_notional: Decimal,      // o.a
    pub maker: bool,                 // o.m
    pub reduce_only: bool,           // o.R
    pub working_type: &'static str,  // o.wt
    pub orig_type: OrderType,        // o.ot
    pub position_side: PositionSide, // o.ps
    pub close_position: bool,        // o.cp
    pub realized_profit: Decimal,    // o.rp
    pub price_protect: bool,         // o.pP
    pub stp_mode: String,            // o.V
    pub price_match: &'static str,   // o.pm
    pub good_till_date: i64,         // o.gtd
    /// o.er: 0 none, 1 STP, 2 IOC remainder, 3 IOC and STP, 4 reduce-only knocked out,
    /// 9 MARKET remainder.
    pub expiry_reason: u8,
    pub price_precision: u32,
    pub quantity_precision: u32,
}

/// One `B[]` row of ACCOUNT_UPDATE.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct BalanceUpdate {
    pub asset: String,                 // a
    pub wallet_balance: Decimal,       // wb
    pub cross_wallet_balance: Decimal, // cw
    pub balance_change: Decimal,       // bc (excludes PnL and commission)
}

/// One `P[]` row of ACCOUNT_UPDATE.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct PositionUpdate {
    pub symbol: String,                // s
    pub position_amt: Decimal,         // pa
    pub entry_price: Decimal,          // ep
    pub break_even_price: Decimal,     // bep
    pub accumulated_realized: Decimal, // cr
    pub unrealized_pnl: Decimal,       // up
    pub margin_type: &'static str,     // mt
    pub isolated_wallet: Decimal,      // iw
    pub position_side: PositionSide,   // ps
    pub margin_asset: String,          // ma
    pub price_precision: u32,
    pub quantity_precision: u32,
}

/// `ACCOUNT_UPDATE` (`a.m` = reason, e.g. "ORDER").
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct AccountUpdate {
    pub event_time: i64,
    pub transaction_time: i64,
    pub reason: &'static str,
    pub balances: Vec<BalanceUpdate>,
    pub positions: Vec<PositionUpdate>,
}

/// `ACCOUNT_CONFIG_UPDATE`: either `ac` (leverage) or `ai` (multi-assets).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct AccountConfigUpdate {
    pub event_time: i64,
    pub transaction_time: i64,
    /// `ac: {"s": symbol, "l": leverage}`.
    pub leverage: Option<(String, u32)>,
    /// `ai: {"j": multiAssets}`.
    pub multi_assets: Option<bool>,
}
