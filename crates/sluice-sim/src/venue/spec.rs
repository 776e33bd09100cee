//! What a scenario configures: symbols (every exchangeInfo filter, the mark, the
//! synthetic book's shape, leverage brackets) and accounts (keys, balance,
//! position mode, starting positions).
//!
//! Every field is public and plain so a scenario can override any one of them
//! (seed 000 needs SOLUSDT's step at 0.01 and a hidden MARKET cap of 400).

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde::Serialize;

use super::brackets::mainnet_brackets;

/// One leverage bracket (`GET /fapi/v1/leverageBracket`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Bracket {
    pub bracket: u32,
    pub initial_leverage: u32,
    pub notional_floor: Decimal,
    pub notional_cap: Decimal,
    pub maint_margin_ratio: Decimal,
    pub cum: Decimal,
}

/// A tradable symbol: its exchangeInfo filters plus the simulator's market model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct SymbolSpec {
    pub name: String,
    pub pair: String,
    pub contract_type: String,
    pub status: String,
    pub base_asset: String,
    pub quote_asset: String,
    pub margin_asset: String,
    pub onboard_date: i64,
    pub delivery_date: i64,
    pub price_precision: u32,
    pub quantity_precision: u32,
    pub base_asset_precision: u32,
    pub quote_precision: u32,
    pub underlying_type: String,
    pub underlying_sub_type: Vec<String>,
    pub maint_margin_percent: Decimal,
    pub required_margin_percent: Decimal,
    pub trigger_protect: Decimal,
    pub liquidation_fee: Decimal,
    pub market_take_bound: Decimal,
    // PRICE_FILTER
    pub tick_size: Decimal,
    pub min_price: Decimal,
    pub max_price: Decimal,
    // LOT_SIZE
    pub lot_min_qty: Decimal,
    pub lot_max_qty: Decimal,
    pub lot_step: Decimal,
    // MARKET_LOT_SIZE
    pub market_min_qty: Decimal,
    pub market_max_qty: Decimal,
    pub market_step: Decimal,
    // MAX_NUM_ORDERS / MIN_NOTIONAL / PERCENT_PRICE
    pub max_num_orders: u32,
    pub min_notional: Decimal,
    pub multiplier_up: Decimal,
    pub multiplier_down: Decimal,
    pub multiplier_decimal: u32,
    /// A MARKET cap the venue enforces but exchangeInfo does not show (seed 000).
    pub hidden_market_max_qty: Option<Decimal>,
    /// Starting mark price.
    pub mark_price: Decimal,
    /// Levels per book side.
    pub book_levels: u32,
    /// Resting quantity at each level when fully replenished.
    pub level_qty: Decimal,
    /// Distance between two levels, in ticks (≥ 1).
    pub level_spacing_ticks: u32,
    /// Book centre displacement relative to the mark (0.06 = 6 % above): lets a
    /// scenario provoke `-4131`.
    pub book_offset: Decimal,
    /// Milliseconds for a fully consumed level to refill.
    pub replenish_ms: i64,
    /// Largest relative mark move per random-walk step (0 disables the walk).
    pub walk_step: Decimal,
    /// Milliseconds between two random-walk steps.
    pub walk_interval_ms: i64,
    pub brackets: Vec<Bracket>,
}

/// The per-symbol numbers that differ between the five mainnet symbols.
struct Row {
    name: &'static str,
    base: &'static str,
    price_precision: u32,
    quantity_precision: u32,
    tick: Decimal,
    min_price: Decimal,
    max_price: Decimal,
    lot: (Decimal, Decimal, Decimal),
    market: (Decimal, Decimal, Decimal),
    min_notional: Decimal,
    up_down: (Decimal, Decimal),
    mark: Decimal,
    level_qty: Decimal,
    spacing: u32,
}

impl SymbolSpec {
    /// BTC, ETH, SOL, DOGE, XRP with the mainnet filters captured 2024-03-28
    /// (docs/binance-fapi.md §7). Marks and book depth are the simulator's own choices.
    pub(crate) fn mainnet_defaults() -> Vec<SymbolSpec> {
        mainnet_rows()
            .into_iter()
            .map(SymbolSpec::from_row)
            .collect()
    }

    fn from_row(r: Row) -> SymbolSpec {
        let wide = r.up_down.0 > dec!(1.05);
        SymbolSpec {
            name: r.name.to_owned(),
            pair: r.name.to_owned(),
            contract_type: "PERPETUAL".to_owned(),
            status: "TRADING".to_owned(),
            base_asset: r.base.to_owned(),
            quote_asset: "USDT".to_owned(),
            margin_asset: "USDT".to_owned(),
            onboard_date: 1_569_398_400_000,
            delivery_date: 4_133_404_800_000,
            price_precision: r.price_precision,
            quantity_precision: r.quantity_precision,
            base_asset_precision: 8,
            quote_precision: 8,
            underlying_type: "COIN".to_owned(),
            underlying_sub_type: Vec::new(),
            maint_margin_percent: dec!(2.5000),
            required_margin_percent: dec!(5.0000),
            trigger_protect: if wide { dec!(0.1000) } else { dec!(0.0500) },
            liquidation_fee: dec!(0.012500),
            market_take_bound: if wide { dec!(0.10) } else { dec!(0.05) },
            tick_size: r.tick,
            min_price: r.min_price,
            max_price: r.max_price,
            lot_min_qty: r.lot.0,
            lot_max_qty: r.lot.1,
            lot_step: r.lot.2,
            market_min_qty: r.market.0,
            market_max_qty: r.market.1,
            market_step: r.market.2,
            max_num_orders: 200,
            min_notional: r.min_notional,
            multiplier_up: r.up_down.0,
            multiplier_down: r.up_down.1,
            multiplier_decimal: 4,
            hidden_market_max_qty: None,
            mark_price: r.mark,
            book_levels: 50,
            level_qty: r.level_qty,
            level_spacing_ticks: r.spacing,
            book_offset: Decimal::ZERO,
            replenish_ms: 1_000,
            walk_step: Decimal::ZERO,
            walk_interval_ms: 1_000,
            brackets: mainnet_brackets(r.name),
        }
    }
}

fn mainnet_rows() -> Vec<Row> {
    let std = (dec!(1.0500), dec!(0.9500));
    vec![
        Row {
            name: "BTCUSDT",
            base: "BTC",
            price_precision: 2,
            quantity_precision: 3,
            tick: dec!(0.10),
            min_price: dec!(556.80),
            max_price: dec!(4529764),
            lot: (dec!(0.001), dec!(1000), dec!(0.001)),
            market: (dec!(0.001), dec!(120), dec!(0.001)),
            min_notional: dec!(100),
            up_down: std,
            mark: dec!(65000.00),
            level_qty: dec!(5),
            spacing: 10,
        },
        Row {
            name: "ETHUSDT",
            base: "ETH",
            price_precision: 2,
            quantity_precision: 3,
            tick: dec!(0.01),
            min_price: dec!(39.86),
            max_price: dec!(306177),
            lot: (dec!(0.001), dec!(10000), dec!(0.001)),
            market: (dec!(0.001), dec!(2000), dec!(0.001)),
            min_notional: dec!(20),
            up_down: std,
            mark: dec!(3500.00),
            level_qty: dec!(50),
            spacing: 10,
        },
        Row {
            name: "SOLUSDT",
            base: "SOL",
            price_precision: 4,
            quantity_precision: 0,
            tick: dec!(0.0010),
            min_price: dec!(0.4200),
            max_price: dec!(6857),
            lot: (dec!(1), dec!(1000000), dec!(1)),
            market: (dec!(1), dec!(5000), dec!(1)),
            min_notional: dec!(5),
            up_down: std,
            mark: dec!(180.0000),
            level_qty: dec!(500),
            spacing: 10,
        },
        Row {
            name: "DOGEUSDT",
            base: "DOGE",
            price_precision: 6,
            quantity_precision: 0,
            tick: dec!(0.000010),
            min_price: dec!(0.002440),
            max_price: dec!(30),
            lot: (dec!(1), dec!(50000000), dec!(1)),
            market: (dec!(1), dec!(30000000), dec!(1)),
            min_notional: dec!(5),
            up_down: (dec!(1.1000), dec!(0.9000)),
            mark: dec!(0.160000),
            level_qty: dec!(500000),
            spacing: 1,
        },
        Row {
            name: "XRPUSDT",
            base: "XRP",
            price_precision: 4,
            quantity_precision: 1,
            tick: dec!(0.0001),
            min_price: dec!(0.0143),
            max_price: dec!(100000),
            lot: (dec!(0.1), dec!(10000000), dec!(0.1)),
            market: (dec!(0.1), dec!(2000000), dec!(0.1)),
            min_notional: dec!(5),
            up_down: std,
            mark: dec!(0.6000),
            level_qty: dec!(100000),
            spacing: 1,
        },
    ]
}

/// A starting position. `amount` is signed for BOTH (negative = short); for
/// LONG/SHORT legs give the size as Binance shows it (SHORT legs negative).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct PositionSpec {
    pub symbol: String,
    pub position_side: String,
    pub amount: Decimal,
    pub entry_price: Decimal,
}

/// An account and its first API key (HMAC secret or public key). `Debug` never shows
/// the secret.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct AccountSpec {
    pub api_key: String,
    pub auth: crate::keys::KeyAuth,
    pub usdt: Decimal,
    pub hedge_mode: bool,
    pub multi_assets: bool,
    pub positions: Vec<PositionSpec>,
    /// Leverage for every symbol unless `leverage_overrides` names it.
    pub leverage: u32,
    pub leverage_overrides: Vec<(String, u32)>,
    /// canTrade, trading locks, IP restriction.
    pub permissions: super::Permissions,
}

impl std::fmt::Debug for AccountSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountSpec")
            .field("api_key", &self.api_key)
            .field("auth", &self.auth)
            .field("usdt", &self.usdt)
            .field("hedge_mode", &self.hedge_mode)
            .field("multi_assets", &self.multi_assets)
            .field("positions", &self.positions)
            .field("leverage", &self.leverage)
            .field("leverage_overrides", &self.leverage_overrides)
            .field("permissions", &self.permissions)
            .finish()
    }
}

impl AccountSpec {
    /// A one-way account with `usdt`, default leverage 20 and no positions.
    pub(crate) fn new(api_key: &str, api_secret: &str, usdt: Decimal) -> AccountSpec {
        AccountSpec {
            api_key: api_key.to_owned(),
            auth: crate::keys::KeyAuth::Hmac(api_secret.to_owned()),
            usdt,
            hedge_mode: false,
            multi_assets: false,
            positions: Vec::new(),
            leverage: 20,
            leverage_overrides: Vec::new(),
            permissions: super::Permissions::default(),
        }
    }
}
