//! How settings values are read from TOML and the environment: decimals as strings,
//! lists as TOML lists or comma-separated strings, URLs, symbols and durations given in
//! milliseconds or seconds. Each reader refuses a bad value with the reason; the
//! `config` crate adds the key (`… for key \`exchange.ws_url\``).
//!
//! Invariant: money never passes through `f64` (a TOML float is refused).

use std::collections::BTreeMap;
use std::time::Duration;

use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serializer};
use url::Url;

use crate::domain::{PositionMode, Symbol};

use super::preflight::SymbolSettings;

/// Decimals in settings are written as strings (`"10000"`) or integers. Floats are
/// refused: `0.1` in TOML is a binary float, and money must not pass through one.
pub(super) fn decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Str(String),
        Int(i64),
        Float(f64),
    }
    match Raw::deserialize(d)? {
        // The API's number grammar (`[0-9]+(\.[0-9]+)?`, bounded digits): no `1e3`.
        Raw::Str(s) => crate::domain::num::check_grammar("value", &s, true)
            .map_err(|e| D::Error::custom(e.reason))
            .and_then(|()| {
                s.parse::<Decimal>()
                    .map_err(|_| D::Error::custom(format!("`{s}` is not a decimal number")))
            }),
        Raw::Int(i) => Ok(Decimal::from(i)),
        Raw::Float(f) => Err(D::Error::custom(format!(
            "{f} is a float; write decimals as strings, e.g. \"{f}\""
        ))),
    }
}

/// An optional decimal, with the same rules as [`decimal`].
pub(super) fn opt_decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    decimal(d).map(Some)
}

/// A TOML list, or a comma-separated string (the environment's form).
pub(super) fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        Csv(String),
    }
    Ok(match Raw::deserialize(d)? {
        Raw::List(v) => v,
        Raw::Csv(s) => s
            .split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect(),
    })
}

/// Symbols as [`string_list`] reads them, each checked (and upper-cased) by [`Symbol::new`].
pub(super) fn symbols<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Symbol>, D::Error> {
    string_list(d)?
        .iter()
        .map(|s| Symbol::new(s).map_err(|e| D::Error::custom(e.reason)))
        .collect()
}

/// `[symbols.<S>]` sections keyed by their symbol. The environment source lower-cases
/// keys (`SLUICE__SYMBOLS__SOLUSDT__LEVERAGE` arrives as `solusdt`), so a section
/// spelled otherwise than upper case came from the environment, and its fields win.
pub(super) fn symbol_sections<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<Symbol, SymbolSettings>, D::Error> {
    let raw = BTreeMap::<String, SymbolSettings>::deserialize(d)?;
    let (upper, other): (Vec<_>, Vec<_>) =
        raw.into_iter().partition(|(k, _)| *k == k.to_uppercase());
    let mut merged: BTreeMap<Symbol, SymbolSettings> = BTreeMap::new();
    for (name, s) in upper.into_iter().chain(other) {
        let symbol = Symbol::new(&name)
            .map_err(|e| D::Error::custom(format!("section `{name}`: {}", e.reason)))?;
        merged.entry(symbol).or_default().merge_from(s);
    }
    Ok(merged)
}

/// `one-way` or `hedge` (the `config` crate's own enum error does not list them).
pub(super) fn position_mode<'de, D: Deserializer<'de>>(d: D) -> Result<PositionMode, D::Error> {
    let raw = String::deserialize(d)?;
    match raw.trim() {
        "one-way" => Ok(PositionMode::OneWay),
        "hedge" => Ok(PositionMode::Hedge),
        other => Err(D::Error::custom(format!(
            "`{other}` is not one-way or hedge"
        ))),
    }
}

/// An optional URL: parsed here, so nothing later handles a URL string.
pub(super) mod opt_url {
    use super::*;

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Url>, D::Error> {
        let Some(raw) = Option::<String>::deserialize(d)? else {
            return Ok(None);
        };
        Url::parse(raw.trim())
            .map(Some)
            .map_err(|e| D::Error::custom(format!("`{raw}` is not a URL: {e}")))
    }

    pub(crate) fn serialize<S: Serializer>(url: &Option<Url>, s: S) -> Result<S::Ok, S::Error> {
        match url {
            Some(u) => s.serialize_str(u.as_str()),
            None => s.serialize_none(),
        }
    }
}

/// A duration written back as whole milliseconds (`*_ms` keys, for `config show`).
pub(super) mod millis {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(v.as_millis()).unwrap_or(u64::MAX))
    }
}

/// As [`millis`], refusing zero (a deadline or period of 0 ms would spin or never wait).
pub(super) mod positive_millis {
    use super::*;

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        match u64::deserialize(d)? {
            0 => Err(D::Error::custom("must be positive (milliseconds), got 0")),
            ms => Ok(Duration::from_millis(ms)),
        }
    }

    pub(crate) use super::millis::serialize;
}

/// A period written as whole seconds where 0 means "off" (None).
pub(super) mod secs_or_off {
    use super::*;

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Ok(match u64::deserialize(d)? {
            0 => None,
            s => Some(Duration::from_secs(s)),
        })
    }

    pub(crate) fn serialize<S: Serializer>(v: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(v.map_or(0, |d| d.as_secs()))
    }
}

/// A duration written as whole milliseconds where 0 means "not set" (None).
pub(super) mod millis_or_none {
    use super::*;

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Ok(match u64::deserialize(d)? {
            0 => None,
            ms => Some(Duration::from_millis(ms)),
        })
    }

    pub(crate) fn serialize<S: Serializer>(v: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        super::millis::serialize(&v.unwrap_or(Duration::ZERO), s)
    }
}
