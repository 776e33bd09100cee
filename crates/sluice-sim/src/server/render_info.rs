//! `exchangeInfo`, `leverageBracket` and `rateLimit/order` rendering from symbol specs and
//! the configured limits (docs/binance-fapi.md §2.1, §2.3, §7). Pure.

use crate::json::{array, fmt_dec, JsonObj};
use crate::ratelimit::RateLimitConfig;
use crate::venue::{Bracket, SymbolSpec};

fn limit(kind: &str, interval: &str, num: i64, limit: u32) -> String {
    let mut j = JsonObj::new();
    j.str("rateLimitType", kind)
        .str("interval", interval)
        .int("intervalNum", num)
        .int("limit", i64::from(limit));
    j.finish()
}

pub(crate) fn rate_limits(cfg: &RateLimitConfig) -> String {
    array([
        limit("REQUEST_WEIGHT", "MINUTE", 1, cfg.request_weight_per_minute),
        limit("ORDERS", "MINUTE", 1, cfg.orders_per_minute),
        limit("ORDERS", "SECOND", 10, cfg.orders_per_10s),
    ])
}

pub(crate) fn order_rate_limits(cfg: &RateLimitConfig) -> String {
    array([
        limit("ORDERS", "SECOND", 10, cfg.orders_per_10s),
        limit("ORDERS", "MINUTE", 1, cfg.orders_per_minute),
    ])
}

fn filters(s: &SymbolSpec) -> String {
    let pp = s.price_precision;
    let d = |v| fmt_dec(v, pp);
    let mut price = JsonObj::new();
    price
        .str("minPrice", &d(s.min_price))
        .str("maxPrice", &s.max_price.normalize().to_string())
        .str("filterType", "PRICE_FILTER")
        .str("tickSize", &s.tick_size.to_string());
    let lot = |kind: &str,
               min: rust_decimal::Decimal,
               max: rust_decimal::Decimal,
               step: rust_decimal::Decimal| {
        let mut j = JsonObj::new();
        j.str("stepSize", &step.to_string())
            .str("filterType", kind)
            .str("maxQty", &max.normalize().to_string())
            .str("minQty", &min.to_string());
        j.finish()
    };
    let mut max_orders = JsonObj::new();
    max_orders
        .int("limit", i64::from(s.max_num_orders))
        .str("filterType", "MAX_NUM_ORDERS");
    let mut notional = JsonObj::new();
    notional
        .str("notional", &s.min_notional.normalize().to_string())
        .str("filterType", "MIN_NOTIONAL");
    let mut pct = JsonObj::new();
    pct.str(
        "multiplierDown",
        &fmt_dec(s.multiplier_down, s.multiplier_decimal),
    )
    .str(
        "multiplierUp",
        &fmt_dec(s.multiplier_up, s.multiplier_decimal),
    )
    .str("multiplierDecimal", &s.multiplier_decimal.to_string())
    .str("filterType", "PERCENT_PRICE");
    array([
        price.finish(),
        lot("LOT_SIZE", s.lot_min_qty, s.lot_max_qty, s.lot_step),
        lot(
            "MARKET_LOT_SIZE",
            s.market_min_qty,
            s.market_max_qty,
            s.market_step,
        ),
        max_orders.finish(),
        notional.finish(),
        pct.finish(),
    ])
}

fn strings(items: &[&str]) -> String {
    array(items.iter().map(|s| format!("\"{s}\"")))
}

pub(crate) fn symbol(s: &SymbolSpec) -> String {
    let mut j = JsonObj::new();
    j.str("symbol", &s.name)
        .str("pair", &s.pair)
        .str("contractType", &s.contract_type)
        .int("deliveryDate", s.delivery_date)
        .int("onboardDate", s.onboard_date)
        .str("status", &s.status)
        .str("maintMarginPercent", &s.maint_margin_percent.to_string())
        .str(
            "requiredMarginPercent",
            &s.required_margin_percent.to_string(),
        )
        .str("baseAsset", &s.base_asset)
        .str("quoteAsset", &s.quote_asset)
        .str("marginAsset", &s.margin_asset)
        .int("pricePrecision", i64::from(s.price_precision))
        .int("quantityPrecision", i64::from(s.quantity_precision))
        .int("baseAssetPrecision", i64::from(s.base_asset_precision))
        .int("quotePrecision", i64::from(s.quote_precision))
        .str("underlyingType", &s.underlying_type)
        .raw(
            "underlyingSubType",
            &array(
                s.underlying_sub_type
                    .iter()
                    .map(|x| serde_json::Value::String(x.clone()).to_string()),
            ),
        )
        .int("settlePlan", 0)
        .str("triggerProtect", &s.trigger_protect.to_string())
        .str("liquidationFee", &s.liquidation_fee.to_string())
        .str("marketTakeBound", &s.market_take_bound.to_string())
        .int("maxMoveOrderLimit", 10000)
        .raw("filters", &filters(s))
        .raw(
            "orderTypes",
            &strings(&[
                "LIMIT",
                "MARKET",
                "STOP",
                "STOP_MARKET",
                "TAKE_PROFIT",
                "TAKE_PROFIT_MARKET",
                "TRAILING_STOP_MARKET",
            ]),
        )
        .raw(
            "timeInForce",
            &strings(&["GTC", "IOC", "FOK", "GTX", "GTD"]),
        )
        .raw("permissionSets", &strings(&["GRID", "COPY"]));
    j.finish()
}

pub(crate) fn exchange_info(
    symbols: &[SymbolSpec],
    cfg: &RateLimitConfig,
    server_ms: i64,
) -> String {
    let mut usdt = JsonObj::new();
    usdt.str("asset", "USDT")
        .bool("marginAvailable", true)
        .str("autoAssetExchange", "-10000");
    let mut j = JsonObj::new();
    j.str("timezone", "UTC")
        .int("serverTime", server_ms)
        .str("futuresType", "U_MARGINED")
        .raw("rateLimits", &rate_limits(cfg))
        .raw("exchangeFilters", "[]")
        .raw("assets", &array([usdt.finish()]))
        .raw("symbols", &array(symbols.iter().map(symbol)));
    j.finish()
}

/// Brackets are JSON numbers on the wire, not strings (docs/binance-fapi.md §2.3).
fn bracket(b: &Bracket) -> String {
    let mut j = JsonObj::new();
    j.int("bracket", i64::from(b.bracket))
        .int("initialLeverage", i64::from(b.initial_leverage))
        .raw("notionalCap", &b.notional_cap.normalize().to_string())
        .raw("notionalFloor", &b.notional_floor.normalize().to_string())
        .raw(
            "maintMarginRatio",
            &b.maint_margin_ratio.normalize().to_string(),
        )
        .raw("cum", &b.cum.normalize().to_string());
    j.finish()
}

pub(crate) fn leverage_bracket(s: &SymbolSpec) -> String {
    let mut j = JsonObj::new();
    j.str("symbol", &s.name)
        .raw("brackets", &array(s.brackets.iter().map(bracket)));
    j.finish()
}
