//! A trade execution as reported by the exchange (user stream or userTrades).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{ClientOrderId, PositionSide, Price, Qty, Side, Symbol};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fill {
    pub symbol: Symbol,
    /// Exchange trade id; unique per venue + symbol, which makes fills idempotent.
    pub trade_id: i64,
    pub order_id: i64,
    /// None when the exchange did not say (userTrades omits it): the ledger
    /// then looks the order up by `order_id`.
    pub client_order_id: Option<ClientOrderId>,
    pub side: Side,
    pub position_side: PositionSide,
    pub price: Price,
    pub quantity: Qty,
    pub commission: Decimal,
    pub commission_asset: String,
    pub realized_pnl: Decimal,
    pub maker: bool,
    pub time: DateTime<Utc>,
}
