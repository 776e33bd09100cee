//! Decoding a user-stream message into a [`UserEvent`] in one pass over its text.
//!
//! The kind is the `e` field. The venue sends it first, so by the time the payload (`o`,
//! `a`, `ac`, `ai`) comes, its type is known and it is read straight into it; a field of
//! another kind is skipped. serde's internally tagged form (`#[serde(tag = "e")]`) would
//! copy every value of the message into a buffer first and read that buffer again, which
//! cost more than the rest of the decoding. A message whose payload comes before its `e`
//! still decodes the same: the payload is then kept as JSON until the end and read from
//! there. A message without `e`, or without what its kind requires, is an error naming
//! the field; an unknown kind is [`UserEvent::Other`].

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::events::{AccountUpdate, LeverageConfig, MultiAssetsConfig, OrderUpdate, UserEvent};
use crate::exchange::binance::rest::algo::AlgoUpdateWire;

impl UserEvent {
    /// Decode one user-stream message.
    pub fn from_json(text: &str) -> serde_json::Result<Self> {
        let mut de = serde_json::Deserializer::from_str(text);
        let event = (&mut de).deserialize_map(EventVisitor)?;
        de.end()?;
        Ok(event)
    }
}

/// The top-level keys sluice reads; any other is skipped.
#[derive(Deserialize)]
#[serde(field_identifier)]
enum Key {
    #[serde(rename = "e")]
    Kind,
    #[serde(rename = "E")]
    Time,
    #[serde(rename = "o")]
    O,
    #[serde(rename = "a")]
    A,
    #[serde(rename = "ac")]
    Ac,
    #[serde(rename = "ai")]
    Ai,
    #[serde(other)]
    Other,
}

/// What one pass has read so far.
#[derive(Default)]
struct Fields {
    kind: Option<String>,
    event_time: Option<i64>,
    order: Option<Box<OrderUpdate>>,
    algo: Option<Box<AlgoUpdateWire>>,
    account: Option<AccountUpdate>,
    ac: Option<LeverageConfig>,
    ai: Option<MultiAssetsConfig>,
    /// Payload fields seen before `e`, kept as JSON.
    early: Map<String, Value>,
}

struct EventVisitor;

impl<'de> Visitor<'de> for EventVisitor {
    type Value = UserEvent;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a user-stream event object")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<UserEvent, M::Error> {
        let mut f = Fields::default();
        while let Some(key) = map.next_key::<Key>()? {
            read_field(&mut f, key, &mut map)?;
        }
        f.finish()
    }
}

/// Read the value of `key`: into its type when the kind says it is wanted, as JSON when
/// the kind is not known yet, skipped otherwise.
fn read_field<'de, M: MapAccess<'de>>(
    f: &mut Fields,
    key: Key,
    map: &mut M,
) -> Result<(), M::Error> {
    let (name, wanted) = match key {
        Key::Kind => {
            f.kind = Some(map.next_value()?);
            return Ok(());
        }
        Key::Time => {
            f.event_time = Some(map.next_value()?);
            return Ok(());
        }
        Key::O => ("o", ["ORDER_TRADE_UPDATE", "ALGO_UPDATE"].as_slice()),
        Key::A => ("a", ["ACCOUNT_UPDATE"].as_slice()),
        Key::Ac => ("ac", ["ACCOUNT_CONFIG_UPDATE"].as_slice()),
        Key::Ai => ("ai", ["ACCOUNT_CONFIG_UPDATE"].as_slice()),
        Key::Other => {
            map.next_value::<IgnoredAny>()?;
            return Ok(());
        }
    };
    match f.kind.as_deref() {
        None => {
            f.early.insert(name.to_string(), map.next_value()?);
        }
        Some(kind) if !wanted.contains(&kind) => {
            map.next_value::<IgnoredAny>()?;
        }
        Some("ORDER_TRADE_UPDATE") => f.order = Some(map.next_value()?),
        Some("ALGO_UPDATE") => f.algo = Some(map.next_value()?),
        Some("ACCOUNT_UPDATE") => f.account = Some(map.next_value()?),
        Some(_) if name == "ac" => f.ac = map.next_value()?,
        Some(_) => f.ai = map.next_value()?,
    }
    Ok(())
}

impl Fields {
    fn finish<E: de::Error>(mut self) -> Result<UserEvent, E> {
        let kind = self.kind.take().ok_or_else(|| E::missing_field("e"))?;
        if !self.early.is_empty() {
            self.read_early(&kind)?;
        }
        let time = self.event_time.ok_or_else(|| E::missing_field("E"));
        let need = |name: &'static str| E::missing_field(name);
        Ok(match kind.as_str() {
            "ORDER_TRADE_UPDATE" => UserEvent::OrderTradeUpdate {
                event_time: time?,
                order: self.order.ok_or_else(|| need("o"))?,
            },
            "ACCOUNT_UPDATE" => UserEvent::AccountUpdate {
                event_time: time?,
                data: self.account.ok_or_else(|| need("a"))?,
            },
            "ACCOUNT_CONFIG_UPDATE" => UserEvent::ConfigUpdate {
                event_time: time?,
                ac: self.ac,
                ai: self.ai,
            },
            "ALGO_UPDATE" => UserEvent::AlgoUpdate {
                event_time: time?,
                order: self.algo.ok_or_else(|| need("o"))?,
            },
            "listenKeyExpired" => UserEvent::ListenKeyExpired { event_time: time? },
            _ => UserEvent::Other,
        })
    }

    /// The payload fields that came before `e`, read now that the kind is known.
    fn read_early<E: de::Error>(&mut self, kind: &str) -> Result<(), E> {
        let early = std::mem::take(&mut self.early);
        let take = |name: &str| early.get(name).cloned();
        fn typed<T: de::DeserializeOwned, E: de::Error>(name: &str, v: Value) -> Result<T, E> {
            serde_json::from_value(v).map_err(|e| E::custom(format!("{name}: {e}")))
        }
        match kind {
            "ORDER_TRADE_UPDATE" => {
                if let Some(v) = take("o") {
                    self.order = Some(typed("o", v)?);
                }
            }
            "ALGO_UPDATE" => {
                if let Some(v) = take("o") {
                    self.algo = Some(typed("o", v)?);
                }
            }
            "ACCOUNT_UPDATE" => {
                if let Some(v) = take("a") {
                    self.account = Some(typed("a", v)?);
                }
            }
            "ACCOUNT_CONFIG_UPDATE" => {
                if let Some(v) = take("ac") {
                    self.ac = typed("ac", v)?;
                }
                if let Some(v) = take("ai") {
                    self.ai = typed("ai", v)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::UserEvent;
    use crate::exchange::binance::samples::TRADE_UPDATE;

    #[test]
    fn a_payload_before_its_kind_decodes_as_it_does_after() {
        let v: serde_json::Value = serde_json::from_str(TRADE_UPDATE).unwrap();
        let o = v["o"].to_string();
        let reordered = format!(r#"{{"o":{o},"T":1,"E":1568879465651,"e":"ORDER_TRADE_UPDATE"}}"#);
        let (a, b) = match (
            UserEvent::from_json(TRADE_UPDATE).unwrap(),
            UserEvent::from_json(&reordered).unwrap(),
        ) {
            (
                UserEvent::OrderTradeUpdate { order: a, .. },
                UserEvent::OrderTradeUpdate { order: b, .. },
            ) => (a, b),
            other => panic!("expected two order updates, got {other:?}"),
        };
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
    }

    #[test]
    fn an_unknown_kind_is_other_and_a_missing_kind_or_payload_is_an_error_naming_it() {
        let other = UserEvent::from_json(r#"{"e":"MARGIN_CALL","E":1,"o":{"x":1}}"#).unwrap();
        assert!(matches!(other, UserEvent::Other));
        let no_kind = UserEvent::from_json(r#"{"E":1,"o":{}}"#).unwrap_err();
        assert!(no_kind.to_string().contains("`e`"), "{no_kind}");
        let no_order = UserEvent::from_json(r#"{"e":"ORDER_TRADE_UPDATE","E":1}"#).unwrap_err();
        assert!(no_order.to_string().contains("`o`"), "{no_order}");
    }

    #[test]
    fn a_config_update_reads_only_what_it_carries() {
        let ev = UserEvent::from_json(
            r#"{"e":"ACCOUNT_CONFIG_UPDATE","E":1,"T":1,"ac":{"s":"SOLUSDT","l":7}}"#,
        )
        .unwrap();
        match ev {
            UserEvent::ConfigUpdate {
                ac: Some(ac),
                ai: None,
                ..
            } => {
                assert_eq!((ac.symbol.as_str(), ac.leverage), ("SOLUSDT", 7));
            }
            other => panic!("expected a leverage change, got {other:?}"),
        }
    }
}
