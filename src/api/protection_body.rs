//! The `stop_loss` / `take_profit` of an open's body: a price string (`"64000"`), or an
//! object with exactly one of `price`, `pct`, `usdt` (a distance from the average entry).
//! Parsing names the field it refuses.

use serde::{Deserialize, Serialize};

use crate::domain::{DomainError, Price, TriggerSpec};

/// A protective trigger as sent: a price string, or an object with exactly one of
/// `price`, `pct`, `usdt`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub(crate) enum TriggerBody {
    Price(String),
    Distance(DistanceBody),
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DistanceBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pct: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usdt: Option<String>,
}

impl TriggerBody {
    pub(super) fn parse(&self, field: &str) -> Result<TriggerSpec, DomainError> {
        let decimal = |raw: &str| {
            raw.trim()
                .parse::<rust_decimal::Decimal>()
                .map_err(|_| DomainError::new(field, format!("`{raw}` is not a decimal number")))
        };
        let spec = match self {
            TriggerBody::Price(p) => TriggerSpec::Price(Price::parse(field, p)?),
            TriggerBody::Distance(d) => match (&d.price, &d.pct, &d.usdt) {
                (Some(p), None, None) => TriggerSpec::Price(Price::parse(field, p)?),
                (None, Some(p), None) => TriggerSpec::Pct(decimal(p)?),
                (None, None, Some(u)) => TriggerSpec::Usdt(decimal(u)?),
                _ => {
                    return Err(DomainError::new(
                        field,
                        "give exactly one of price, pct, usdt",
                    ))
                }
            },
        };
        spec.check(field)?;
        Ok(spec)
    }
}
