//! `[preflight]` and `[symbols.<S>]`: what `sluice preflight` (and the daemon's start-up
//! gate) allows, and the optional per-symbol account expectations it checks.
//!
//! Invariants: every section names a symbol of `exchange.symbols` (an expectation for a
//! symbol sluice does not trade is a typo); leverage is 1..=125; money is a positive
//! decimal string.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::bail;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::domain::Symbol;

use super::de;

/// `[preflight]`: the thresholds `sluice preflight` checks the account against.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PreflightSettings {
    /// |local - server| clock offset above this fails, warns above half of it
    /// (`clock_offset_max_ms`).
    #[serde(rename = "clock_offset_max_ms", with = "de::positive_millis")]
    pub(crate) clock_offset_max: Duration,
    /// Each check's deadline: a hung exchange is a failed line, not a hang
    /// (`check_timeout_ms`).
    #[serde(rename = "check_timeout_ms", with = "de::positive_millis")]
    pub(crate) check_timeout: Duration,
    /// The SPOT REST host that serves `/sapi/v1/account/apiRestrictions` for this key
    /// (mainnet: `https://api.binance.com`); unset = the key's own withdrawal and IP
    /// settings are not checked (the futures testnet has no such host).
    #[serde(with = "de::opt_url")]
    pub(crate) key_permissions_url: Option<Url>,
}

impl Default for PreflightSettings {
    fn default() -> Self {
        PreflightSettings {
            clock_offset_max: Duration::from_millis(1000),
            check_timeout: Duration::from_millis(5000),
            key_permissions_url: None,
        }
    }
}

/// The margin type a symbol must be in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum MarginType {
    Cross,
    Isolated,
}

impl MarginType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            MarginType::Cross => "cross",
            MarginType::Isolated => "isolated",
        }
    }
}

/// `[symbols.<S>]`: what one symbol must be set to, and its default protection.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SymbolSettings {
    /// The leverage the symbol must be set to (1..=125).
    pub leverage: Option<u32>,
    pub(crate) margin_type: Option<MarginType>,
    /// The largest position notional sluice may hold (USDT): it must fit the leverage
    /// bracket of `leverage`.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub(crate) max_position_usdt: Option<Decimal>,
    /// A stop-loss this far (percent of the entry) from every open of the symbol that
    /// does not ask for its own: an exchange-side STOP_MARKET on the mark price.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub(crate) stop_loss_pct: Option<Decimal>,
    /// Likewise a take-profit (TAKE_PROFIT_MARKET on the mark price).
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub(crate) take_profit_pct: Option<Decimal>,
}

impl SymbolSettings {
    /// Fields set in `later` replace ours (the environment over a file).
    pub(super) fn merge_from(&mut self, later: SymbolSettings) {
        self.leverage = later.leverage.or(self.leverage);
        self.margin_type = later.margin_type.or(self.margin_type);
        self.max_position_usdt = later.max_position_usdt.or(self.max_position_usdt);
        self.stop_loss_pct = later.stop_loss_pct.or(self.stop_loss_pct);
        self.take_profit_pct = later.take_profit_pct.or(self.take_profit_pct);
    }

    /// The protection an open of this symbol gets when it asks for none.
    pub(crate) fn default_protection(&self) -> crate::domain::Protection {
        use crate::domain::{ProtectionLeg, TriggerSpec, WorkingType};
        let leg = |pct: Option<Decimal>| {
            pct.map(|p| ProtectionLeg {
                trigger: TriggerSpec::Pct(p),
                working_type: WorkingType::Mark,
            })
        };
        crate::domain::Protection {
            stop_loss: leg(self.stop_loss_pct),
            take_profit: leg(self.take_profit_pct),
        }
    }
}

/// Each `[symbols.<S>]` section against the traded symbols and its own bounds.
pub(super) fn validate_sections(
    sections: &BTreeMap<Symbol, SymbolSettings>,
    traded: &[Symbol],
) -> anyhow::Result<()> {
    for (name, s) in sections {
        if !traded.contains(name) {
            let traded: Vec<&str> = traded.iter().map(Symbol::as_str).collect();
            bail!("symbols.{name}: not one of exchange.symbols {traded:?}");
        }
        if let Some(l) = s.leverage {
            if !(1..=125).contains(&l) {
                bail!("symbols.{name}.leverage: must be 1..=125, got {l}");
            }
        }
        if let Some(m) = s.max_position_usdt {
            if m <= Decimal::ZERO {
                bail!("symbols.{name}.max_position_usdt: must be positive, got {m}");
            }
        }
        for (field, pct) in [
            ("stop_loss_pct", s.stop_loss_pct),
            ("take_profit_pct", s.take_profit_pct),
        ] {
            if pct.is_some_and(|p| p <= Decimal::ZERO || p >= Decimal::ONE_HUNDRED) {
                bail!(
                    "symbols.{name}.{field}: must be greater than 0 and less than 100, got {}",
                    pct.unwrap_or_default()
                );
            }
        }
    }
    Ok(())
}
