//! What preflight compares the account against (read from the settings, validated
//! there), and the probe order it sends to `/order/test` — built and checked with the
//! project's own filter code, so a venue rejection means the venue knows something
//! exchangeInfo does not say. Pure.

use rust_decimal::Decimal;

use crate::domain::rules::ceil_to_step;
use crate::domain::{
    validate, ClientOrderId, FilterChecked, FilterViolation, OrderRequest, OrderType, PositionMode,
    PositionSide, Price, Qty, Side, Symbol, SymbolRules, TimeInForce,
};
use crate::settings::{MarginType, Settings};

/// What one configured symbol must be set to on the account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SymbolExpectation {
    /// The symbol.
    pub symbol: Symbol,
    /// The leverage it must have, when the settings name one.
    pub leverage: Option<u32>,
    pub(crate) margin_type: Option<MarginType>,
    pub(crate) max_position_usdt: Option<Decimal>,
}

/// What preflight compares the account with, taken from the settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectations {
    /// The configured symbols.
    pub symbols: Vec<SymbolExpectation>,
    /// The position mode the account must be in.
    pub position_mode: PositionMode,
    pub(crate) multi_assets_margin: bool,
    /// Available USDT must cover this.
    pub allocation_usdt: Decimal,
    /// The largest clock offset that passes (half of it warns).
    pub clock_offset_max_ms: u64,
    /// Where to read the key's own permissions (`/sapi/v1/account/apiRestrictions`), if anywhere.
    pub(crate) key_permissions_url: Option<url::Url>,
}

impl Expectations {
    /// From the loaded settings, which have checked every value already: this only
    /// gathers them (the `Result` is kept for callers that treat it as fallible).
    pub fn from_settings(s: &Settings) -> anyhow::Result<Expectations> {
        let symbols = s
            .exchange
            .symbols
            .iter()
            .map(|symbol| {
                let cfg = s.symbols.get(symbol).cloned().unwrap_or_default();
                SymbolExpectation {
                    symbol: symbol.clone(),
                    leverage: cfg.leverage,
                    margin_type: cfg.margin_type,
                    max_position_usdt: cfg.max_position_usdt,
                }
            })
            .collect();
        let max_ms = s.preflight.clock_offset_max.as_millis();
        Ok(Expectations {
            symbols,
            position_mode: s.exchange.position_mode,
            multi_assets_margin: s.exchange.multi_assets_margin,
            allocation_usdt: s.budget.allocation_usdt,
            clock_offset_max_ms: u64::try_from(max_ms).unwrap_or(u64::MAX),
            key_permissions_url: s.preflight.key_permissions_url.clone(),
        })
    }
}

/// Every check name, in report order (the daemon's `--skip-preflight` warning lists them).
pub fn check_names(e: &Expectations) -> Vec<String> {
    let mut names: Vec<String> = [
        "rest_reachable",
        "clock_offset",
        "api_key",
        "permissions",
        "key_permissions",
        "trading_status",
        "position_mode",
        "multi_assets_mode",
        "balance",
    ]
    .iter()
    .filter(|n| **n != "key_permissions" || e.key_permissions_url.is_some())
    .map(|s| s.to_string())
    .collect();
    for s in &e.symbols {
        for check in ["filters", "leverage", "max_position", "test_order"] {
            if check != "max_position" || s.max_position_usdt.is_some() {
                names.push(format!("{check}:{}", s.symbol));
            }
        }
    }
    names.push("listen_key".into());
    names.push("user_stream".into());
    names
}

/// The probe: a LIMIT BUY (opening, never reduce-only) GTC at the lowest price the
/// PERCENT_PRICE band allows below the mark — far from the market — for the smallest
/// quantity that meets minQty and MIN_NOTIONAL. Checked by [`validate`].
pub(crate) fn probe_order(
    rules: &SymbolRules,
    mark: Price,
    mode: PositionMode,
    client_order_id: ClientOrderId,
) -> Result<FilterChecked<OrderRequest>, FilterViolation> {
    let tick = rules.price_filter.tick_size;
    let down = if rules.percent_price.multiplier_down.is_zero() {
        Decimal::new(5, 1)
    } else {
        rules.percent_price.multiplier_down
    };
    let mut price = ceil_to_step(mark.get() * down, tick);
    price = price.max(rules.price_filter.min_price);
    if price <= Decimal::ZERO {
        return Err(bad_probe(format!(
            "mark {mark} gives no positive probe price"
        )));
    }
    let lot = &rules.lot_size;
    // 10 % over MIN_NOTIONAL, so rounding on the venue's side cannot push it under.
    let wanted = rules.min_notional * Decimal::new(11, 1) / price;
    let mut qty = ceil_to_step(wanted.max(lot.min_qty), lot.step_size);
    if qty.is_zero() {
        qty = lot.min_qty.max(lot.step_size);
    }
    let order = OrderRequest {
        symbol: rules.symbol.clone(),
        side: Side::Buy,
        position_side: match mode {
            PositionMode::OneWay => PositionSide::Both,
            PositionMode::Hedge => PositionSide::Long,
        },
        order_type: OrderType::Limit,
        quantity: Qty::new("quantity", qty).map_err(|e| bad_probe(e.reason))?,
        price: Some(Price::new("price", price).map_err(|e| bad_probe(e.reason))?),
        time_in_force: Some(TimeInForce::Gtc),
        reduce_only: false,
        client_order_id,
        price_match: None,
        good_till_date: None,
    };
    validate(rules, order, mark)
}

fn bad_probe(reason: String) -> FilterViolation {
    FilterViolation {
        filter: "probe",
        code: 0,
        reason,
    }
}
