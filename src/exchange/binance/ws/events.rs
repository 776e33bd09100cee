//! Wire types of the user-data and market streams, field for field (docs/binance-fapi.md §5).
//!
//! Decoding only: translation to `AccountEvent`s lives in `parse.rs`. Event kinds sluice
//! does not act on (TRADE_LITE duplicates the TRADE update, MARGIN_CALL...)
//! decode to [`UserEvent::Other`] so a new event type never breaks the stream.

use rust_decimal::Decimal;
use serde::Deserialize;

/// One user-stream event, by its `e`. Decoded with [`UserEvent::from_json`]
/// (`event_decode.rs`).
#[derive(Clone, Debug)]
pub enum UserEvent {
    /// `ORDER_TRADE_UPDATE`: `E`, the order in `o`.
    OrderTradeUpdate {
        event_time: i64,
        order: Box<OrderUpdate>,
    },
    /// `ACCOUNT_UPDATE`: `E`, balances and positions in `a`.
    AccountUpdate {
        event_time: i64,
        data: AccountUpdate,
    },
    /// `ACCOUNT_CONFIG_UPDATE`: `E`, a leverage change in `ac` or the asset mode in `ai`.
    ConfigUpdate {
        event_time: i64,
        ac: Option<LeverageConfig>,
        ai: Option<MultiAssetsConfig>,
    },
    /// `ALGO_UPDATE`: `E`, the algo order in `o`.
    AlgoUpdate {
        event_time: i64,
        order: Box<crate::exchange::binance::rest::algo::AlgoUpdateWire>,
    },
    /// `listenKeyExpired`: `E`.
    ListenKeyExpired { event_time: i64 },
    /// Any other `e`.
    Other,
}

/// The `o` object of ORDER_TRADE_UPDATE.
#[derive(Clone, Debug, Deserialize)]
pub struct OrderUpdate {
    #[serde(rename = "s")]
    pub symbol: String,
    #[serde(rename = "c")]
    pub client_order_id: String,
    #[serde(rename = "S")]
    pub side: String,
    #[serde(rename = "o")]
    pub order_type: String,
    #[serde(rename = "q")]
    pub orig_qty: Decimal,
    #[serde(rename = "p")]
    pub price: Decimal,
    #[serde(rename = "ap")]
    pub avg_price: Decimal,
    #[serde(rename = "x")]
    pub(crate) execution_type: String,
    #[serde(rename = "X")]
    pub status: String,
    #[serde(rename = "i")]
    pub order_id: i64,
    #[serde(rename = "l")]
    pub(crate) last_qty: Decimal,
    #[serde(rename = "z")]
    pub(crate) cum_qty: Decimal,
    #[serde(rename = "L")]
    pub(crate) last_price: Decimal,
    /// Absent in some 2022 captures; "0" on NEW.
    #[serde(rename = "n", default)]
    pub commission: Option<Decimal>,
    #[serde(rename = "N", default)]
    pub commission_asset: Option<String>,
    #[serde(rename = "T")]
    pub(crate) trade_time: i64,
    #[serde(rename = "t")]
    pub trade_id: i64,
    #[serde(rename = "m", default)]
    pub maker: bool,
    #[serde(rename = "R", default)]
    pub reduce_only: bool,
    #[serde(rename = "ps", default = "both")]
    pub position_side: String,
    #[serde(rename = "rp", default)]
    pub realized_pnl: Decimal,
    /// Expire reason, since 2025-10-23 (docs/binance-fapi.md §5.3): a string on the wire
    /// ("9"); a number is read too. Absent on older venues.
    #[serde(rename = "er", default, deserialize_with = "string_or_number")]
    pub expire_reason: Option<String>,
}

/// `"9"` or `9` (or null/absent) as the string the parser reads.
fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    match v {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s)),
        Some(serde_json::Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(serde::de::Error::custom(format!(
            "o.er: {other} is neither a string nor a number"
        ))),
    }
}

fn both() -> String {
    "BOTH".into()
}

#[derive(Clone, Debug, Deserialize)]
pub struct AccountUpdate {
    #[serde(rename = "B", default)]
    pub(crate) balances: Vec<BalanceUpdate>,
    #[serde(rename = "P", default)]
    pub(crate) positions: Vec<PositionUpdate>,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct BalanceUpdate {
    #[serde(rename = "a")]
    pub asset: String,
    #[serde(rename = "wb")]
    pub wallet_balance: Decimal,
    #[serde(rename = "cw")]
    pub(crate) cross_wallet: Decimal,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct PositionUpdate {
    #[serde(rename = "s")]
    pub symbol: String,
    #[serde(rename = "pa")]
    pub amount: Decimal,
    #[serde(rename = "ep")]
    pub entry_price: Decimal,
    #[serde(rename = "up")]
    pub unrealized_pnl: Decimal,
    #[serde(rename = "ps", default = "both")]
    pub position_side: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct LeverageConfig {
    #[serde(rename = "s")]
    pub symbol: String,
    #[serde(rename = "l")]
    pub leverage: u32,
}

#[derive(Clone, Debug, Deserialize)]
pub struct MultiAssetsConfig {
    #[serde(rename = "j")]
    pub multi_assets: bool,
}

/// `<symbol>@markPrice@1s` payload (raw form, or the `data` of the combined form).
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct MarkPriceUpdate {
    #[serde(rename = "E")]
    pub event_time: i64,
    #[serde(rename = "s")]
    pub symbol: String,
    #[serde(rename = "p")]
    pub mark_price: Decimal,
}

/// `{"stream": "...", "data": {...}}` of combined streams.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Combined<T> {
    pub data: T,
}
