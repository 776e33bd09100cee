//! Read-only views the server renders: trades, account, positions, leverage,
//! marks, book ticker, depth, and the whole-venue snapshot for `GET /sim/state`.
//!
//! Views carry `Decimal`s and the symbol's precisions; padding and key order
//! are the renderer's job.

use rust_decimal::Decimal;
use serde::Serialize;

use super::types::{PositionSide, Side};
use super::AccountId;

/// One fill as `GET /fapi/v1/userTrades` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct TradeView {
    pub id: i64,
    pub symbol: String,
    pub order_id: i64,
    pub side: Side,
    pub position_side: PositionSide,
    pub price: Decimal,
    pub qty: Decimal,
    pub quote_qty: Decimal,
    pub commission: Decimal,
    pub commission_asset: String,
    pub realized_pnl: Decimal,
    pub margin_asset: String,
    pub buyer: bool,
    pub maker: bool,
    pub time: i64,
    pub price_precision: u32,
    pub quantity_precision: u32,
}

/// One position row (one-way: BOTH; hedge: LONG and SHORT), for v2/v3 account
/// and positionRisk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct PositionView {
    pub symbol: String,
    pub position_side: PositionSide,
    /// Signed: negative for a short.
    pub position_amt: Decimal,
    pub entry_price: Decimal,
    pub break_even_price: Decimal,
    pub mark_price: Decimal,
    pub unrealized_profit: Decimal,
    /// Signed notional at the mark.
    pub notional: Decimal,
    pub leverage: u32,
    pub max_notional: Decimal,
    pub initial_margin: Decimal,
    pub maint_margin: Decimal,
    pub position_initial_margin: Decimal,
    pub open_order_initial_margin: Decimal,
    pub bid_notional: Decimal,
    pub ask_notional: Decimal,
    pub isolated: bool,
    /// Not modelled (no liquidation engine): always 0.
    pub liquidation_price: Decimal,
    /// True when the account holds a position or open orders on this row.
    pub active: bool,
    pub update_time: i64,
    pub price_precision: u32,
    pub quantity_precision: u32,
}

/// The USDT asset row of the account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct AssetView {
    pub asset: String,
    pub wallet_balance: Decimal,
    pub unrealized_profit: Decimal,
    pub margin_balance: Decimal,
    pub maint_margin: Decimal,
    pub initial_margin: Decimal,
    pub position_initial_margin: Decimal,
    pub open_order_initial_margin: Decimal,
    pub cross_wallet_balance: Decimal,
    pub cross_un_pnl: Decimal,
    pub available_balance: Decimal,
    pub max_withdraw_amount: Decimal,
    pub update_time: i64,
}

/// Everything `GET /fapi/v2|v3/account`, `/balance`, `/positionRisk` and
/// `/accountConfig` need.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct AccountView {
    pub account: AccountId,
    pub fee_tier: u32,
    pub can_trade: bool,
    pub can_deposit: bool,
    pub can_withdraw: bool,
    pub dual_side_position: bool,
    pub multi_assets_margin: bool,
    pub update_time: i64,
    pub total_initial_margin: Decimal,
    pub total_maint_margin: Decimal,
    pub total_wallet_balance: Decimal,
    pub total_unrealized_profit: Decimal,
    pub total_margin_balance: Decimal,
    pub total_position_initial_margin: Decimal,
    pub total_open_order_initial_margin: Decimal,
    pub total_cross_wallet_balance: Decimal,
    pub total_cross_un_pnl: Decimal,
    pub available_balance: Decimal,
    pub max_withdraw_amount: Decimal,
    pub assets: Vec<AssetView>,
    /// Every symbol; one-way BOTH rows or hedge LONG+SHORT rows.
    pub positions: Vec<PositionView>,
}

/// `POST /fapi/v1/leverage` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct LeverageView {
    pub symbol: String,
    pub leverage: u32,
    pub max_notional_value: Decimal,
}

/// `GET /fapi/v1/premiumIndex` row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct MarkView {
    pub symbol: String,
    pub mark_price: Decimal,
    pub index_price: Decimal,
    pub estimated_settle_price: Decimal,
    pub last_funding_rate: Decimal,
    pub interest_rate: Decimal,
    pub next_funding_time: i64,
    pub time: i64,
    pub price_precision: u32,
}

/// `GET /fapi/v1/ticker/bookTicker` row (best levels with remaining depth).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct BookTickerView {
    pub symbol: String,
    pub bid_price: Decimal,
    pub bid_qty: Decimal,
    pub ask_price: Decimal,
    pub ask_qty: Decimal,
    pub time: i64,
    pub price_precision: u32,
    pub quantity_precision: u32,
}

/// `GET /fapi/v1/depth`: best first on both sides.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct DepthView {
    pub symbol: String,
    pub last_update_id: i64,
    pub event_time: i64,
    pub transaction_time: i64,
    pub bids: Vec<(Decimal, Decimal)>,
    pub asks: Vec<(Decimal, Decimal)>,
    pub price_precision: u32,
    pub quantity_precision: u32,
}

/// One account in the snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct AccountSnapshot {
    pub api_keys: Vec<String>,
    pub view: AccountView,
    pub open_orders: usize,
    pub total_realized_pnl: Decimal,
    pub total_commission: Decimal,
}

/// Whole-venue state for `GET /sim/state` (no secrets).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct VenueSnapshot {
    pub now_ms: i64,
    pub marks: Vec<MarkView>,
    pub accounts: Vec<AccountSnapshot>,
    pub orders_total: usize,
    pub trades_total: usize,
}
