//! `POST /v1/intents` bodies: the wire shape (strings, as sent) and the pure parse
//! into domain types. Every rule here names the field it refuses; nothing is written
//! before the whole body has parsed.
//!
//! Shapes accepted:
//! - `open`: `symbol`, `side`, and exactly one of `quantity` / `notional_usdt`; optional
//!   `stop_loss` / `take_profit` (a price `"64000"`, or `{"pct": "2"}` / `{"usdt": "500"}`
//!   from the average fill price; `{"price": "64000"}` too) and `working_type`
//!   (`mark`, the default, or `contract`): protective orders the exchange holds;
//! - `close`: `position_id`, or `symbol` + `side` naming the open position; `quantity`
//!   optional (omitted = all of it);
//! - `reduce`: as `close`, with `quantity` required;
//! - `flatten`: optional `symbol` (omitted = everything).
//!
//! An open, close or reduce may be LIMIT instead of MARKET: `price` (a decimal string)
//! or `price_match` (`OPPONENT`, `OPPONENT_5`, `QUEUE`, `QUEUE_5`, `QUEUE_10`,
//! `QUEUE_20`), with `time_in_force` `GTC` (the default), `IOC`, `GTX` (post-only) or
//! `GTD` with `good_till_date` (ms since the epoch). Without `price` and `price_match`
//! the intent is MARKET, and `time_in_force` / `good_till_date` are refused. Whether a
//! price sits on the tick grid and inside PERCENT_PRICE, and whether a GTD date is far
//! enough ahead, needs the exchange's rules and the clock: `api/limit_checks.rs`.

use serde::{Deserialize, Serialize};

pub(crate) use super::protection_body::TriggerBody;
use crate::domain::{
    Direction, DomainError, IntentKind, IntentSpec, LimitTerms, OpenSize, PositionId, Protection,
    ProtectionLeg, Qty, Symbol, Usdt, WorkingType,
};

const MAX_KEY_LEN: usize = 128;
const MAX_REASON_LEN: usize = 500;

/// The body as sent. Unknown fields are refused: a typo (`quantiy`) must not turn a
/// partial close into a close of everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct IntentBody {
    pub kind: Option<String>,
    pub symbol: Option<String>,
    pub side: Option<String>,
    pub quantity: Option<String>,
    pub notional_usdt: Option<String>,
    pub position_id: Option<i64>,
    pub idempotency_key: Option<String>,
    pub reason: Option<String>,
    /// Who asks (`cli:alice`, `strategy-7`); recorded with a halt or a flatten.
    pub actor: Option<String>,
    /// An open's exchange-side stop-loss.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_loss: Option<TriggerBody>,
    /// An open's exchange-side take-profit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub take_profit: Option<TriggerBody>,
    /// What the protective orders trigger on: `mark` (default) or `contract` (last price).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_type: Option<String>,
    /// LIMIT price (a decimal string on the symbol's tick grid); omitted = MARKET.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<String>,
    /// LIMIT priced by the venue from its book (`QUEUE`, `OPPONENT`, ...), instead of `price`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_match: Option<String>,
    /// A LIMIT intent's `GTC` (default), `IOC`, `GTX` (post-only) or `GTD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_in_force: Option<String>,
    /// A GTD's expiry, ms since the epoch: at least 660 s ahead when submitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub good_till_date: Option<i64>,
}

/// Which position a close or reduce acts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PositionRef {
    Id(PositionId),
    Leg {
        symbol: Symbol,
        direction: Direction,
    },
}

/// A body that passed every rule: the intent's one shape ([`IntentSpec`]), its
/// position still named as the caller named it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ParsedIntent {
    pub spec: IntentSpec<PositionRef>,
    pub(crate) meta: Meta,
    /// Protective orders an open asked for (empty for every other kind).
    pub protection: Protection,
    /// LIMIT terms; None: MARKET.
    pub limit: Option<LimitTerms>,
}

/// What every intent carries besides its target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Meta {
    pub idempotency_key: String,
    pub reason: String,
    pub actor: String,
}

pub(super) fn err(field: &str, reason: impl Into<String>) -> DomainError {
    DomainError::new(field, reason)
}

pub(super) fn refuse_if_set<T>(
    value: &Option<T>,
    field: &str,
    kind: IntentKind,
) -> Result<(), DomainError> {
    match value {
        Some(_) => Err(err(
            field,
            format!("is not accepted for a {} intent", kind.as_str()),
        )),
        None => Ok(()),
    }
}

fn positive_qty(raw: &str) -> Result<Qty, DomainError> {
    let q = Qty::parse("quantity", raw)?;
    if q.is_zero() {
        return Err(err("quantity", "must be greater than zero"));
    }
    Ok(q)
}

fn positive_notional(raw: &str) -> Result<Usdt, DomainError> {
    let n = Usdt::parse("notional_usdt", raw)?;
    if n.get() <= rust_decimal::Decimal::ZERO {
        return Err(err("notional_usdt", "must be greater than zero"));
    }
    Ok(n)
}

/// Check a free-text field: bounded, no control or format characters (they end up in
/// logs and CLI tables; see [`super::text`]).
fn text(field: &str, raw: Option<&str>, max: usize) -> Result<String, DomainError> {
    let value = raw.unwrap_or("").trim();
    if value.chars().count() > max {
        return Err(err(field, format!("is longer than {max} characters")));
    }
    if super::text::has_unsafe(value) {
        return Err(err(
            field,
            "contains control or invisible format characters (e.g. U+202E, U+200B)",
        ));
    }
    Ok(value.to_string())
}

impl IntentBody {
    /// Parse into domain types; `default_actor` is used when the body names none.
    pub(crate) fn parse(&self, default_actor: &str) -> Result<ParsedIntent, DomainError> {
        let kind = IntentKind::parse(
            self.kind
                .as_deref()
                .ok_or_else(|| err("kind", "is required"))?,
        )?;
        let meta = self.meta(default_actor)?;
        let symbol = self.symbol.as_deref().map(Symbol::new).transpose()?;
        let direction = self.side.as_deref().map(Direction::parse).transpose()?;
        let protection = self.protection(kind)?;
        let limit = self.limit(kind)?;
        let spec = match kind {
            IntentKind::Open => self.parse_open(symbol, direction)?,
            IntentKind::Close | IntentKind::Reduce => self.parse_reduce(kind, symbol, direction)?,
            IntentKind::Flatten => {
                refuse_if_set(&self.side, "side", kind)?;
                refuse_if_set(&self.quantity, "quantity", kind)?;
                refuse_if_set(&self.notional_usdt, "notional_usdt", kind)?;
                refuse_if_set(&self.position_id, "position_id", kind)?;
                IntentSpec::Flatten { symbol }
            }
        };
        Ok(ParsedIntent {
            spec,
            meta,
            protection,
            limit,
        })
    }

    /// `stop_loss`, `take_profit`, `working_type`: for opens only.
    fn protection(&self, kind: IntentKind) -> Result<Protection, DomainError> {
        if kind != IntentKind::Open {
            refuse_if_set(&self.stop_loss, "stop_loss", kind)?;
            refuse_if_set(&self.take_profit, "take_profit", kind)?;
            refuse_if_set(&self.working_type, "working_type", kind)?;
            return Ok(Protection::default());
        }
        let working_type = match self.working_type.as_deref() {
            None => WorkingType::Mark,
            Some(w) => WorkingType::parse(w)
                .ok_or_else(|| err("working_type", format!("`{w}` is not mark or contract")))?,
        };
        let leg = |body: &Option<TriggerBody>, field: &str| {
            body.as_ref()
                .map(|b| {
                    b.parse(field).map(|trigger| ProtectionLeg {
                        trigger,
                        working_type,
                    })
                })
                .transpose()
        };
        Ok(Protection {
            stop_loss: leg(&self.stop_loss, "stop_loss")?,
            take_profit: leg(&self.take_profit, "take_profit")?,
        })
    }

    fn meta(&self, default_actor: &str) -> Result<Meta, DomainError> {
        let key = text(
            "idempotency_key",
            self.idempotency_key.as_deref(),
            MAX_KEY_LEN,
        )?;
        if key.is_empty() {
            return Err(err(
                "idempotency_key",
                "is required (the same key twice returns the first intent)",
            ));
        }
        let actor = text("actor", self.actor.as_deref(), MAX_KEY_LEN)?;
        Ok(Meta {
            idempotency_key: key,
            reason: text("reason", self.reason.as_deref(), MAX_REASON_LEN)?,
            actor: if actor.is_empty() {
                default_actor.to_string()
            } else {
                actor
            },
        })
    }

    fn parse_open(
        &self,
        symbol: Option<Symbol>,
        direction: Option<Direction>,
    ) -> Result<IntentSpec<PositionRef>, DomainError> {
        let symbol = symbol.ok_or_else(|| err("symbol", "is required for an open"))?;
        let direction = direction.ok_or_else(|| err("side", "is required for an open"))?;
        refuse_if_set(&self.position_id, "position_id", IntentKind::Open)?;
        let size = match (self.quantity.as_deref(), self.notional_usdt.as_deref()) {
            (Some(q), None) => OpenSize::Quantity(positive_qty(q)?),
            (None, Some(n)) => OpenSize::Notional(positive_notional(n)?),
            (Some(_), Some(_)) => {
                return Err(err(
                    "notional_usdt",
                    "give quantity or notional_usdt, not both",
                ))
            }
            (None, None) => return Err(err("quantity", "an open needs quantity or notional_usdt")),
        };
        Ok(IntentSpec::Open {
            symbol,
            direction,
            size,
        })
    }

    fn parse_reduce(
        &self,
        kind: IntentKind,
        symbol: Option<Symbol>,
        direction: Option<Direction>,
    ) -> Result<IntentSpec<PositionRef>, DomainError> {
        refuse_if_set(&self.notional_usdt, "notional_usdt", kind)?;
        let quantity = self.quantity.as_deref().map(positive_qty).transpose()?;
        let reduce_quantity = match (kind, quantity) {
            (IntentKind::Reduce, None) => return Err(err("quantity", "is required for a reduce")),
            (IntentKind::Reduce, Some(q)) => Some(q),
            _ => None,
        };
        let position = match (self.position_id, symbol, direction) {
            (Some(id), None, None) => PositionRef::Id(PositionId(id)),
            (Some(_), _, _) => {
                return Err(err(
                    "position_id",
                    "name the position by position_id or by symbol and side, not both",
                ))
            }
            (None, Some(symbol), Some(direction)) => PositionRef::Leg { symbol, direction },
            (None, None, _) => {
                return Err(err(
                    "position_id",
                    "is required (or symbol and side of the open position)",
                ))
            }
            (None, Some(_), None) => {
                return Err(err("side", "is required with symbol to name the position"))
            }
        };
        Ok(match reduce_quantity {
            Some(quantity) => IntentSpec::Reduce { position, quantity },
            None => IntentSpec::Close { position, quantity },
        })
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::api::protection_body::DistanceBody;
    use crate::domain::TriggerSpec;

    pub(in crate::api) fn body(kind: &str) -> IntentBody {
        IntentBody {
            kind: Some(kind.into()),
            idempotency_key: Some("k1".into()),
            ..IntentBody::default()
        }
    }

    pub(in crate::api) fn field_of(b: &IntentBody) -> String {
        b.parse("api").unwrap_err().field
    }

    #[test]
    fn an_open_needs_exactly_one_of_quantity_and_notional() {
        let mut b = body("open");
        b.symbol = Some("solusdt".into());
        b.side = Some("short".into());
        assert_eq!(field_of(&b), "quantity");
        b.quantity = Some("2".into());
        b.notional_usdt = Some("100".into());
        assert_eq!(field_of(&b), "notional_usdt");
        b.notional_usdt = None;
        let parsed = b.parse("api").expect("valid open");
        assert!(
            matches!(parsed.spec, IntentSpec::Open { size: OpenSize::Quantity(q), .. } if q.get().to_string() == "2")
        );
    }

    #[test]
    fn a_close_without_quantity_means_all_and_a_reduce_needs_one() {
        let mut b = body("close");
        b.position_id = Some(7);
        let parsed = b.parse("api").expect("valid close");
        assert!(matches!(
            parsed.spec,
            IntentSpec::Close {
                quantity: None,
                position: PositionRef::Id(PositionId(7)),
            }
        ));
        b.kind = Some("reduce".into());
        assert_eq!(field_of(&b), "quantity");
    }

    #[test]
    fn bad_values_name_their_field() {
        let mut b = body("open");
        b.symbol = Some("SOL/USDT".into());
        assert_eq!(field_of(&b), "symbol");
        b.symbol = Some("SOLUSDT".into());
        b.side = Some("sideways".into());
        assert_eq!(field_of(&b), "side");
        b.side = Some("long".into());
        b.quantity = Some("-1".into());
        assert_eq!(field_of(&b), "quantity");
        b.kind = Some("yolo".into());
        assert_eq!(field_of(&b), "kind");
        let mut no_key = body("flatten");
        no_key.idempotency_key = Some("  ".into());
        assert_eq!(field_of(&no_key), "idempotency_key");
    }

    #[test]
    fn a_flatten_refuses_sizing_fields() {
        let mut b = body("flatten");
        b.quantity = Some("1".into());
        assert_eq!(field_of(&b), "quantity");
    }

    #[test]
    fn an_open_carries_its_stop_and_take_profit_and_other_kinds_refuse_them() {
        let mut b = body("open");
        b.symbol = Some("BTCUSDT".into());
        b.side = Some("long".into());
        b.quantity = Some("0.01".into());
        b.stop_loss = Some(TriggerBody::Distance(DistanceBody {
            pct: Some("2".into()),
            ..DistanceBody::default()
        }));
        b.take_profit = Some(TriggerBody::Price("70000".into()));
        b.working_type = Some("contract".into());
        let p = b.parse("api").unwrap().protection;
        let sl = p.stop_loss.expect("stop");
        assert_eq!(sl.working_type, WorkingType::Contract);
        assert!(matches!(sl.trigger, TriggerSpec::Pct(d) if d.to_string() == "2"));
        assert!(matches!(
            p.take_profit.map(|t| t.trigger),
            Some(TriggerSpec::Price(_))
        ));

        b.stop_loss = Some(TriggerBody::Distance(DistanceBody {
            pct: Some("2".into()),
            usdt: Some("5".into()),
            ..DistanceBody::default()
        }));
        assert_eq!(field_of(&b), "stop_loss");
        b.stop_loss = None;
        b.working_type = Some("index".into());
        assert_eq!(field_of(&b), "working_type");

        let mut close = body("close");
        close.position_id = Some(1);
        close.stop_loss = Some(TriggerBody::Price("1".into()));
        assert_eq!(field_of(&close), "stop_loss");
    }

    #[test]
    fn a_trigger_body_reads_a_price_string_or_one_distance_object() {
        let price: IntentBody = serde_json::from_str(
            r#"{"kind":"open","stop_loss":"64000","take_profit":{"usdt":"500"}}"#,
        )
        .unwrap();
        assert_eq!(price.stop_loss, Some(TriggerBody::Price("64000".into())));
        assert!(matches!(price.take_profit, Some(TriggerBody::Distance(_))));
        assert!(serde_json::from_str::<IntentBody>(r#"{"stop_loss":{"pcnt":"2"}}"#).is_err());
    }
}
