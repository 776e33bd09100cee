//! Wire types: the JSON Binance sends, field for field, with nothing interpreted.
//!
//! Decimals arrive as JSON strings and deserialize straight into `Decimal` (never f64);
//! the few fields Binance sends as JSON numbers (leverage brackets, PERCENT_PRICE
//! `multiplierDecimal` in one docs example) go through [`num_or_str`]. Unknown fields are
//! ignored so a new field on the venue never breaks parsing. Translation to domain types
//! lives in `parse.rs`.

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};

/// Accept a decimal written as a JSON string or a JSON number, via its text (no f64 maths).
pub(crate) fn num_or_str<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    let text = match &v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        other => {
            return Err(serde::de::Error::custom(format!(
                "expected a decimal, got {other}"
            )))
        }
    };
    text.parse::<Decimal>()
        .or_else(|_| Decimal::from_scientific(&text))
        .map_err(|_| serde::de::Error::custom(format!("`{text}` is not a decimal")))
}

/// `{"code": -2011, "msg": "Unknown order sent."}`
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct ErrorBody {
    pub code: i64,
    pub msg: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ServerTime {
    pub(crate) server_time: i64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExchangeInfo {
    #[serde(default)]
    pub rate_limits: Vec<RateLimit>,
    pub symbols: Vec<SymbolInfo>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    pub(crate) rate_limit_type: String,
    pub interval: String,
    pub(crate) interval_num: u32,
    pub limit: u32,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SymbolInfo {
    pub symbol: String,
    pub status: String,
    pub base_asset: String,
    pub quote_asset: String,
    pub price_precision: u32,
    pub quantity_precision: u32,
    #[serde(default)]
    pub(crate) filters: Vec<Filter>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "filterType")]
pub(crate) enum Filter {
    #[serde(rename = "PRICE_FILTER", rename_all = "camelCase")]
    Price {
        min_price: Decimal,
        max_price: Decimal,
        tick_size: Decimal,
    },
    #[serde(rename = "LOT_SIZE", rename_all = "camelCase")]
    LotSize {
        min_qty: Decimal,
        max_qty: Decimal,
        step_size: Decimal,
    },
    #[serde(rename = "MARKET_LOT_SIZE", rename_all = "camelCase")]
    MarketLotSize {
        min_qty: Decimal,
        max_qty: Decimal,
        step_size: Decimal,
    },
    #[serde(rename = "MAX_NUM_ORDERS")]
    MaxNumOrders { limit: u32 },
    #[serde(rename = "MIN_NOTIONAL")]
    MinNotional { notional: Decimal },
    #[serde(rename = "PERCENT_PRICE", rename_all = "camelCase")]
    PercentPrice {
        multiplier_up: Decimal,
        multiplier_down: Decimal,
        #[serde(deserialize_with = "num_or_str")]
        multiplier_decimal: Decimal,
    },
    /// MAX_NUM_ALGO_ORDERS, POSITION_RISK_CONTROL and filters yet to come.
    #[serde(other)]
    Other,
}

/// The order object of POST/GET/DELETE order and openOrders.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub order_id: i64,
    pub symbol: String,
    pub status: String,
    pub client_order_id: String,
    pub price: Decimal,
    /// Absent from POST/DELETE order and batchOrders answers in the official SDKs'
    /// schemas since 2026-07-15 (docs/binance-fapi.md §0), as is `cumQuote` (never read
    /// here); zero when absent. Nothing in sluice depends on it: fills carry the prices.
    #[serde(default)]
    pub avg_price: Decimal,
    pub orig_qty: Decimal,
    pub executed_qty: Decimal,
    #[serde(rename = "type")]
    pub order_type: String,
    #[serde(default)]
    pub reduce_only: bool,
    pub side: String,
    #[serde(default = "both")]
    pub position_side: String,
    pub update_time: i64,
}

/// One element of a `batchOrders` answer (HTTP 200 for the whole request): the order,
/// or `{code, msg}` for an order the venue refused. Tried in this order: an order object
/// never carries `code`.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum BatchItem {
    Refused(ErrorBody),
    Placed(Order),
}

fn both() -> String {
    "BOTH".into()
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserTrade {
    pub id: i64,
    pub order_id: i64,
    pub symbol: String,
    pub side: String,
    #[serde(default = "both")]
    pub position_side: String,
    pub price: Decimal,
    pub qty: Decimal,
    pub commission: Decimal,
    pub commission_asset: String,
    pub realized_pnl: Decimal,
    pub maker: bool,
    pub time: i64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AccountV2 {
    pub can_trade: bool,
    #[serde(default)]
    pub(crate) can_withdraw: bool,
    #[serde(default)]
    pub(crate) multi_assets_margin: bool,
    pub total_wallet_balance: Decimal,
    pub(crate) available_balance: Decimal,
    #[serde(default)]
    pub assets: Vec<AccountAsset>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AccountAsset {
    pub asset: String,
    pub wallet_balance: Decimal,
    pub(crate) unrealized_profit: Decimal,
    pub(crate) available_balance: Decimal,
}

/// A row of `/fapi/v2/positionRisk` or `/fapi/v3/positionRisk` (the common fields).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PositionRisk {
    pub symbol: String,
    pub position_side: String,
    pub position_amt: Decimal,
    pub entry_price: Decimal,
    #[serde(default)]
    pub mark_price: Option<Decimal>,
    pub(crate) un_realized_profit: Decimal,
    pub update_time: i64,
}

/// The fields of `GET /fapi/v1/accountConfig` sluice reads (the rest are ignored).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AccountConfigWire {
    /// true: hedge mode.
    pub(crate) dual_side_position: bool,
    pub(crate) multi_assets_margin: bool,
}

/// One element of `/fapi/v1/leverageBracket` (an object when a symbol was given).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SymbolBrackets {
    pub symbol: String,
    pub brackets: Vec<Bracket>,
}

/// Binance sends these as JSON numbers; `num_or_str` also takes strings.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Bracket {
    pub(crate) bracket: u32,
    pub(crate) initial_leverage: u32,
    #[serde(deserialize_with = "num_or_str")]
    pub(crate) notional_cap: Decimal,
    #[serde(deserialize_with = "num_or_str")]
    pub(crate) notional_floor: Decimal,
    #[serde(deserialize_with = "num_or_str")]
    pub(crate) maint_margin_ratio: Decimal,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum BracketsReply {
    Many(Vec<SymbolBrackets>),
    One(SymbolBrackets),
}

/// One row of `GET /fapi/v1/symbolConfig`: the symbol's margin type and leverage.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SymbolConfig {
    pub symbol: String,
    /// `CROSSED` or `ISOLATED`.
    pub(crate) margin_type: String,
    pub leverage: u32,
}

/// `GET /sapi/v1/account/apiRestrictions` (spot host): what the API key itself may do.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApiRestrictions {
    /// The key only answers from whitelisted IPs.
    pub(crate) ip_restrict: bool,
    pub(crate) enable_withdrawals: bool,
    pub(crate) enable_futures: bool,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct ApiTradingStatus {
    #[serde(default)]
    pub indicators: std::collections::BTreeMap<String, Vec<Indicator>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Indicator {
    pub(crate) is_locked: bool,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListenKey {
    pub listen_key: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PremiumIndex {
    pub mark_price: Decimal,
    pub time: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_filters_are_kept_as_other_and_known_ones_parse_from_strings() {
        let raw = r#"[{"filterType":"POSITION_RISK_CONTROL","positionControlSide":"NONE"},
            {"multiplierDecimal":"4","multiplierUp":"1.0500","filterType":"PERCENT_PRICE","multiplierDown":"0.9500"},
            {"filterType":"PERCENT_PRICE","multiplierUp":"1.1","multiplierDown":"0.9","multiplierDecimal":4}]"#;
        let f: Vec<Filter> = serde_json::from_str(raw).unwrap();
        assert!(matches!(f[0], Filter::Other));
        assert!(
            matches!(f[1], Filter::PercentPrice { multiplier_decimal, .. } if multiplier_decimal == Decimal::from(4))
        );
        assert!(matches!(f[2], Filter::PercentPrice { .. }));
    }

    #[test]
    fn bracket_numbers_parse_without_going_through_f64_maths() {
        let raw = r#"{"bracket":1,"initialLeverage":125,"notionalCap":50000,"notionalFloor":0,"maintMarginRatio":0.004,"cum":0.0}"#;
        let b: Bracket = serde_json::from_str(raw).unwrap();
        assert_eq!(b.maint_margin_ratio.to_string(), "0.004");
        assert_eq!(b.notional_cap, Decimal::from(50000));
    }
}
