//! The LIMIT fields of a `POST /v1/intents` body (`price` or `price_match`,
//! `time_in_force`, `good_till_date`) and their pure parse into [`LimitTerms`]. What needs
//! the exchange's rules or the clock is checked in `limit_checks.rs`.

use super::intent_request::{err, refuse_if_set, IntentBody};
use crate::domain::{DomainError, IntentKind, LimitPrice, LimitTerms, LimitTif, Price, PriceMatch};

impl IntentBody {
    /// `price` / `price_match`, `time_in_force`, `good_till_date`: the LIMIT terms of an
    /// open, close or reduce (a flatten is always MARKET).
    pub(super) fn limit(&self, kind: IntentKind) -> Result<Option<LimitTerms>, DomainError> {
        if kind == IntentKind::Flatten {
            refuse_if_set(&self.price, "price", kind)?;
            refuse_if_set(&self.price_match, "price_match", kind)?;
        }
        let price = match (self.price.as_deref(), self.price_match.as_deref()) {
            (Some(_), Some(_)) => {
                return Err(err(
                    "price_match",
                    "give price or price_match, not both (the venue picks a matched price)",
                ))
            }
            (Some(p), None) => LimitPrice::Fixed(positive_price(p)?),
            (None, Some(m)) => LimitPrice::Match(PriceMatch::parse("price_match", m)?),
            (None, None) => {
                let market = "is accepted only with price or price_match (a LIMIT intent)";
                if self.time_in_force.is_some() {
                    return Err(err("time_in_force", market));
                }
                if self.good_till_date.is_some() {
                    return Err(err("good_till_date", market));
                }
                return Ok(None);
            }
        };
        let time_in_force = LimitTif::parse(
            self.time_in_force.as_deref().unwrap_or("GTC"),
            self.good_till_date,
        )?;
        Ok(Some(LimitTerms {
            price,
            time_in_force,
        }))
    }
}

fn positive_price(raw: &str) -> Result<Price, DomainError> {
    let p = Price::parse("price", raw)?;
    if p.get() <= rust_decimal::Decimal::ZERO {
        return Err(err("price", "must be greater than zero"));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::intent_request::tests::{body, field_of};

    fn limit_open() -> IntentBody {
        let mut b = body("open");
        b.symbol = Some("BTCUSDT".into());
        b.side = Some("long".into());
        b.quantity = Some("0.01".into());
        b
    }

    #[test]
    fn an_intent_without_price_is_market_and_refuses_limit_only_fields() {
        let mut b = limit_open();
        assert_eq!(b.parse("api").unwrap().limit, None);
        b.time_in_force = Some("GTX".into());
        assert_eq!(field_of(&b), "time_in_force");
        b.time_in_force = None;
        b.good_till_date = Some(1);
        assert_eq!(field_of(&b), "good_till_date");
    }

    #[test]
    fn a_limit_open_reads_its_price_and_time_in_force() {
        let mut b = limit_open();
        b.price = Some("64000.1".into());
        let t = b.parse("api").unwrap().limit.expect("limit");
        assert_eq!(t.time_in_force, LimitTif::Gtc);
        assert_eq!(
            t.fixed_price().map(|p| p.to_string()),
            Some("64000.1".into())
        );
        b.time_in_force = Some("gtx".into());
        assert_eq!(
            b.parse("api").unwrap().limit.unwrap().time_in_force,
            LimitTif::Gtx
        );
        b.price_match = Some("QUEUE".into());
        assert_eq!(field_of(&b), "price_match");
        b.price = None;
        let t = b.parse("api").unwrap().limit.unwrap();
        assert_eq!(t.price_match(), Some(PriceMatch::Queue));
    }

    #[test]
    fn bad_limit_fields_are_refused_by_name() {
        let mut b = limit_open();
        b.price = Some("1e3".into());
        assert_eq!(field_of(&b), "price");
        b.price = Some("0".into());
        assert_eq!(field_of(&b), "price");
        b.price = None;
        b.price_match = Some("OPPONENT_10".into());
        let e = b.parse("api").unwrap_err();
        assert_eq!(e.field, "price_match");
        assert!(e.reason.contains("removed"), "{}", e.reason);
        b.price_match = Some("QUEUE".into());
        b.time_in_force = Some("FOK".into());
        assert_eq!(field_of(&b), "time_in_force");
        b.time_in_force = Some("GTD".into());
        assert_eq!(field_of(&b), "good_till_date");
        let mut f = body("flatten");
        f.price = Some("1".into());
        assert_eq!(field_of(&f), "price");
    }
}
