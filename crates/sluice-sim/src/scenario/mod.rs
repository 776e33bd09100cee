//! Scenarios: what a simulator run starts from, read from TOML (unknown keys are refused,
//! every error names its key). Keys:
//!
//! ```toml
//! seed = 42                # seeds the venue and the fault draws (default 42)
//! time_scale = 1.0         # scenario seconds per real second (listenKey life, pings, bans,
//!                          # rate-limit windows and fault windows all run on scenario time)
//! tick_ms = 100            # real ms between venue ticks (matching, mark walk, streams)
//! [venue]
//! order_response_legacy_fields = false  # true: POST/DELETE order answers carry
//!                          # avgPrice/cumQuote as before 2026-07-15 (see `venue`)
//! [rate_limits]            # request_weight_per_minute = 2400, orders_per_10s = 300,
//!                          # orders_per_minute = 1200, ban_seconds = 120
//! [[symbols]]              # overrides one of BTC/ETH/SOL/DOGE/XRP-USDT, or adds a symbol
//! name = "SOLUSDT"         # (copied from BTCUSDT's filters) when the name is new
//! mark_price = "180.5"     # decimals as strings (TOML numbers are accepted too)
//! step_size = "0.01"       # LOT_SIZE and MARKET_LOT_SIZE step unless market_step_size is set
//! market_max_qty = "5000"
//! hidden_market_max_qty = "400"
//! # also: tick_size min_price max_price min_qty max_qty market_step_size market_min_qty
//! #       min_notional multiplier_up multiplier_down price_precision quantity_precision
//! #       max_num_orders status book_levels level_qty book_offset walk_step walk_interval_ms
//! # step sizes may not have more decimals than quantity_precision, nor tick_size more
//! # than price_precision: such a symbol is refused, naming the field.
//! [[accounts]]
//! api_key = "..."  api_secret = "..."  usdt = "100000"
//! # instead of api_secret, an Ed25519 or RSA key's public half (PEM, SubjectPublicKeyInfo:
//! # what Binance asks a user to upload); requests must then be signed with its private key
//! # public_key_pem = """-----BEGIN PUBLIC KEY-----\n...\n-----END PUBLIC KEY-----"""
//! position_mode = "one-way"            # or "hedge"
//! leverage = 20                        # default leverage for every symbol
//! multi_assets = false                 # multi-assets margin mode
//! can_trade = true                     # canTrade as the account endpoints report it
//! trading_locked = false               # apiTradingStatus ACCOUNT indicator locked
//! locked_symbols = []                  # symbols whose apiTradingStatus indicator is locked
//! ip_restricted = false                # the key's IP whitelist excludes callers: -2015
//! futures_enabled = true               # the key's "Enable Futures" (off: -2015 on /fapi)
//! withdrawals_enabled = false          # apiRestrictions enableWithdrawals
//! ip_whitelist = true                  # apiRestrictions ipRestrict
//! positions = [ { symbol = "SOLUSDT", side = "SHORT", quantity = "100", entry_price = "180" } ]
//! [[faults]]               # see `faults::FaultWindow` for every key
//! from = 0
//! until = 60
//! profile = "2025-10-11"
//! [[faults]]               # the account may only reduce from scenario second 120 on
//! from = 120
//! restrict_to_reduce_only = -4400   # or -4087, -4401; -4140 with `symbols = [...]`
//! ```

use std::path::Path;

use rust_decimal::Decimal;
use serde::Deserialize;

use crate::faults::FaultWindow;
use crate::ratelimit::RateLimitConfig;
use crate::venue::{AccountSpec, Permissions, PositionSpec, SymbolSpec};

mod symbols;
mod venue;
use symbols::{symbols_from, SymbolConfig};
pub use venue::VenueOptions;

/// The demo account's key (paper mode and examples use it). Not a secret: the simulator
/// is local and this account holds play money.
pub const DEMO_API_KEY: &str = "sluiceDemoKey0000000000000000000000000000000000000000000000000001";
/// The demo account's HMAC secret.
pub const DEMO_API_SECRET: &str =
    "sluiceDemoSecret000000000000000000000000000000000000000000000001";

/// A fully resolved scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub(crate) seed: u64,
    pub(crate) time_scale: f64,
    pub(crate) tick_ms: u64,
    pub(crate) rate_limits: RateLimitConfig,
    pub(crate) venue: VenueOptions,
    pub(crate) symbols: Vec<SymbolSpec>,
    pub(crate) accounts: Vec<AccountSpec>,
    pub(crate) faults: Vec<FaultWindow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    #[serde(default = "default_seed")]
    seed: u64,
    #[serde(default = "default_scale")]
    time_scale: f64,
    #[serde(default = "default_tick")]
    tick_ms: u64,
    #[serde(default)]
    rate_limits: RateLimitConfig,
    #[serde(default)]
    venue: VenueOptions,
    #[serde(default)]
    symbols: Vec<SymbolConfig>,
    #[serde(default)]
    accounts: Vec<AccountConfig>,
    #[serde(default)]
    faults: Vec<FaultWindow>,
}

fn default_seed() -> u64 {
    42
}
fn default_scale() -> f64 {
    1.0
}
fn default_tick() -> u64 {
    100
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountConfig {
    api_key: String,
    #[serde(default)]
    api_secret: Option<String>,
    #[serde(default)]
    public_key_pem: Option<String>,
    usdt: Decimal,
    #[serde(default = "default_mode")]
    position_mode: String,
    #[serde(default = "default_leverage")]
    leverage: u32,
    #[serde(default)]
    positions: Vec<PositionConfig>,
    #[serde(default)]
    multi_assets: bool,
    #[serde(default = "default_true")]
    can_trade: bool,
    #[serde(default)]
    trading_locked: bool,
    #[serde(default)]
    locked_symbols: Vec<String>,
    #[serde(default)]
    ip_restricted: bool,
    #[serde(default = "default_true")]
    futures_enabled: bool,
    #[serde(default)]
    withdrawals_enabled: bool,
    #[serde(default = "default_true")]
    ip_whitelist: bool,
}

fn default_true() -> bool {
    true
}

fn default_mode() -> String {
    "one-way".into()
}
fn default_leverage() -> u32 {
    20
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PositionConfig {
    symbol: String,
    side: String,
    quantity: Decimal,
    entry_price: Decimal,
}

fn account_from(i: usize, c: AccountConfig, symbols: &[SymbolSpec]) -> Result<AccountSpec, String> {
    if crate::auth::check_key_format(Some(&c.api_key)).is_err() {
        return Err(format!(
            "accounts[{i}].api_key: must be 1-128 ASCII letters/digits"
        ));
    }
    let auth = crate::keys::KeyAuth::from_account(
        i,
        c.api_secret.as_deref(),
        c.public_key_pem.as_deref(),
    )?;
    if c.usdt < Decimal::ZERO {
        return Err(format!("accounts[{i}].usdt: must not be negative"));
    }
    if !(1..=125).contains(&c.leverage) {
        return Err(format!("accounts[{i}].leverage: must be 1..=125"));
    }
    let hedge = match c.position_mode.as_str() {
        "one-way" => false,
        "hedge" => true,
        other => {
            return Err(format!(
                "accounts[{i}].position_mode: '{other}' is neither \"one-way\" nor \"hedge\""
            ))
        }
    };
    let mut spec = AccountSpec::new(&c.api_key, "", c.usdt);
    spec.auth = auth;
    spec.hedge_mode = hedge;
    spec.leverage = c.leverage;
    spec.multi_assets = c.multi_assets;
    if let Some(bad) = c
        .locked_symbols
        .iter()
        .find(|x| !symbols.iter().any(|s| &s.name == *x))
    {
        return Err(format!(
            "accounts[{i}].locked_symbols: unknown symbol '{bad}'"
        ));
    }
    spec.permissions = Permissions {
        can_trade: c.can_trade,
        trading_locked: c.trading_locked,
        locked_symbols: c.locked_symbols,
        ip_restricted: c.ip_restricted,
        futures_enabled: c.futures_enabled,
        withdrawals_enabled: c.withdrawals_enabled,
        ip_whitelist: c.ip_whitelist,
    };
    for (j, p) in c.positions.into_iter().enumerate() {
        let at = format!("accounts[{i}].positions[{j}]");
        if !symbols.iter().any(|s| s.name == p.symbol) {
            return Err(format!("{at}.symbol: unknown symbol '{}'", p.symbol));
        }
        let sign = match p.side.as_str() {
            "LONG" => Decimal::ONE,
            "SHORT" => Decimal::NEGATIVE_ONE,
            other => {
                return Err(format!(
                    "{at}.side: '{other}' is neither \"LONG\" nor \"SHORT\""
                ))
            }
        };
        if p.quantity <= Decimal::ZERO || p.entry_price <= Decimal::ZERO {
            return Err(format!("{at}: quantity and entry_price must be positive"));
        }
        spec.positions.push(PositionSpec {
            symbol: p.symbol,
            position_side: if hedge { p.side } else { "BOTH".into() },
            amount: sign * p.quantity,
            entry_price: p.entry_price,
        });
    }
    Ok(spec)
}

impl Scenario {
    /// One one-way account ([`DEMO_API_KEY`]) with 100 000 USDT, the five mainnet symbols,
    /// no faults, real time.
    pub fn demo() -> Scenario {
        Scenario {
            seed: default_seed(),
            time_scale: 1.0,
            tick_ms: default_tick(),
            rate_limits: RateLimitConfig::default(),
            venue: VenueOptions::default(),
            symbols: SymbolSpec::mainnet_defaults(),
            accounts: vec![AccountSpec::new(
                DEMO_API_KEY,
                DEMO_API_SECRET,
                Decimal::new(100_000, 0),
            )],
            faults: Vec::new(),
        }
    }

    /// Parses and validates a scenario; the error names the offending key.
    pub fn from_toml_str(text: &str) -> Result<Scenario, String> {
        let raw: RawScenario =
            toml::from_str(text).map_err(|e| format!("invalid scenario: {e}"))?;
        if !(raw.time_scale.is_finite() && raw.time_scale > 0.0) {
            return Err("time_scale: must be a positive number".into());
        }
        if raw.tick_ms == 0 {
            return Err("tick_ms: must be at least 1".into());
        }
        let symbols = symbols_from(raw.symbols)?;
        let mut accounts = Vec::with_capacity(raw.accounts.len());
        for (i, c) in raw.accounts.into_iter().enumerate() {
            let a = account_from(i, c, &symbols)?;
            if accounts
                .iter()
                .any(|b: &AccountSpec| b.api_key == a.api_key)
            {
                return Err(format!("accounts[{i}].api_key: duplicated"));
            }
            accounts.push(a);
        }
        let faults = raw
            .faults
            .into_iter()
            .map(FaultWindow::resolved)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Scenario {
            seed: raw.seed,
            time_scale: raw.time_scale,
            tick_ms: raw.tick_ms,
            rate_limits: raw.rate_limits,
            venue: raw.venue,
            symbols,
            accounts,
            faults,
        })
    }

    /// Reads a scenario file; errors name the file and the key.
    pub fn from_file(path: &Path) -> anyhow::Result<Scenario> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("failed to read scenario {}: {e}", path.display()))?;
        Scenario::from_toml_str(&text)
            .map_err(|e| anyhow::anyhow!("scenario {}: {e}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    const FULL: &str = r#"
seed = 7
time_scale = 60.0
[[symbols]]
name = "SOLUSDT"
mark_price = "150.5"
step_size = "0.01"
quantity_precision = 2
market_max_qty = 5000
hidden_market_max_qty = "400"
[[accounts]]
api_key = "k1"
api_secret = "s1"
usdt = "2500.5"
position_mode = "one-way"
positions = [ { symbol = "SOLUSDT", side = "SHORT", quantity = "100", entry_price = "150" } ]
[[faults]]
from = 0
until = 60
profile = "2025-10-11"
"#;

    #[test]
    fn a_full_scenario_overrides_filters_and_builds_accounts() {
        let s = Scenario::from_toml_str(FULL).unwrap();
        assert_eq!((s.seed, s.time_scale), (7, 60.0));
        let sol = s.symbols.iter().find(|x| x.name == "SOLUSDT").unwrap();
        assert_eq!(
            (sol.mark_price, sol.lot_step, sol.market_step),
            (dec!(150.5), dec!(0.01), dec!(0.01))
        );
        assert_eq!(sol.hidden_market_max_qty, Some(dec!(400)));
        let a = &s.accounts[0];
        assert_eq!((a.usdt, a.hedge_mode), (dec!(2500.5), false));
        assert_eq!(a.positions[0].amount, dec!(-100));
        assert_eq!(a.positions[0].position_side, "BOTH");
        assert!(s.faults[0].reduce_only_4118 > 0.0);
    }

    #[test]
    fn account_permissions_and_multi_assets_come_from_the_scenario() {
        let text = FULL.replace(
            "position_mode = \"one-way\"",
            "position_mode = \"one-way\"\nmulti_assets = true\ncan_trade = false\ntrading_locked = true\nlocked_symbols = [\"SOLUSDT\"]\nip_restricted = true",
        );
        let a = &Scenario::from_toml_str(&text).unwrap().accounts[0];
        assert!(a.multi_assets);
        assert_eq!(
            a.permissions,
            Permissions {
                can_trade: false,
                trading_locked: true,
                locked_symbols: vec!["SOLUSDT".into()],
                ip_restricted: true,
                ..Permissions::default()
            }
        );
        let bad = text.replace("[\"SOLUSDT\"]", "[\"NOPEUSDT\"]");
        assert!(Scenario::from_toml_str(&bad)
            .unwrap_err()
            .starts_with("accounts[0].locked_symbols"));
    }

    #[test]
    fn unknown_keys_are_refused_by_name() {
        let e = Scenario::from_toml_str("seed = 1\nbogus = 2\n").unwrap_err();
        assert!(e.contains("bogus"), "{e}");
        let e = Scenario::from_toml_str("[[symbols]]\nname = \"BTCUSDT\"\ntick = 1\n").unwrap_err();
        assert!(e.contains("tick"), "{e}");
    }

    #[test]
    fn semantic_errors_name_the_key() {
        let bad_mode = FULL.replace("\"one-way\"", "\"both\"");
        assert!(Scenario::from_toml_str(&bad_mode)
            .unwrap_err()
            .starts_with("accounts[0].position_mode"));
        let bad_side = FULL.replace("\"SHORT\"", "\"DOWN\"");
        assert!(Scenario::from_toml_str(&bad_side)
            .unwrap_err()
            .starts_with("accounts[0].positions[0].side"));
        let bad_scale = FULL.replace("60.0", "0.0");
        assert!(Scenario::from_toml_str(&bad_scale)
            .unwrap_err()
            .starts_with("time_scale"));
    }

    #[test]
    fn a_reduce_only_restriction_is_read_from_the_scenario_and_a_wrong_code_is_named() {
        let text =
            "[[faults]]\nfrom = 5\nrestrict_to_reduce_only = -4087\nsymbols = [\"SOLUSDT\"]\n";
        let s = Scenario::from_toml_str(text).unwrap();
        assert_eq!(s.faults[0].restrict_to_reduce_only, Some(-4087));
        assert_eq!(s.faults[0].symbols, vec!["SOLUSDT".to_string()]);
        let e = Scenario::from_toml_str(&text.replace("-4087", "-4088")).unwrap_err();
        assert!(
            e.starts_with("faults.restrict_to_reduce_only: -4088 is not one of"),
            "{e}"
        );
        let e = Scenario::from_toml_str(&text.replace("-4087", "\"yes\"")).unwrap_err();
        assert!(e.contains("restrict_to_reduce_only"), "{e}");
    }

    #[test]
    fn the_demo_scenario_has_one_funded_account_and_hides_its_secret() {
        let s = Scenario::demo();
        assert_eq!(s.accounts.len(), 1);
        assert_eq!(s.accounts[0].usdt, dec!(100000));
        assert!(!format!("{s:?}").contains(DEMO_API_SECRET));
    }
}
