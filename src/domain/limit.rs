//! Limit terms: how an intent's orders rest on the book instead of taking at MARKET.
//!
//! An intent without [`LimitTerms`] is MARKET, exactly as before. With them, every chunk
//! is a LIMIT order with the intent's price (an explicit tick-grid price, or a
//! `priceMatch` the venue resolves against its book) and time in force (GTC, IOC, GTX =
//! post-only, GTD = good till a date). The facts relied on are in docs/binance-fapi.md
//! §2.2 ("Limit and post-only orders").
//!
//! Invariants:
//! - a price and a price match never go together (the venue refuses `price` beside
//!   `priceMatch`);
//! - `OPPONENT_10` / `OPPONENT_20` are never built: Binance removed them from order
//!   placement (docs/binance-fapi.md §2.2), so they are refused where they are parsed;
//! - a GTD carries its expiry; no other time in force does.

use serde::{Deserialize, Serialize};

use super::{DomainError, Price, TimeInForce};

/// The least time a GTD order must have left when the venue receives it (`-5040` below).
pub(crate) const GTD_MIN_AHEAD_MS: i64 = 600_000;

/// Slack the API asks for on top of [`GTD_MIN_AHEAD_MS`]: the executor sends the last
/// chunk of an intent some time after the intent was accepted.
pub(crate) const GTD_API_SLACK_MS: i64 = 60_000;

/// Slack the executor keeps on top of [`GTD_MIN_AHEAD_MS`] when it sends a chunk: the
/// venue counts from when the order reaches it (and its clock may differ by a little).
pub(crate) const GTD_SEND_SLACK_MS: i64 = 5_000;

/// Latest `goodTillDate` the venue accepts (year 9999).
pub(crate) const GTD_MAX_MS: i64 = 253_402_300_799_000;

/// A price the venue picks from its own book at placement (`priceMatch`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PriceMatch {
    /// The best price on the other side of the book (takes liquidity unless post-only).
    Opponent,
    /// The 5th best price on the other side.
    #[serde(rename = "OPPONENT_5")]
    Opponent5,
    /// The best price on the order's own side (joins the queue).
    Queue,
    /// The 5th best price on the order's own side.
    #[serde(rename = "QUEUE_5")]
    Queue5,
    /// The 10th best price on the order's own side.
    #[serde(rename = "QUEUE_10")]
    Queue10,
    /// The 20th best price on the order's own side.
    #[serde(rename = "QUEUE_20")]
    Queue20,
}

impl PriceMatch {
    pub fn as_wire(self) -> &'static str {
        match self {
            PriceMatch::Opponent => "OPPONENT",
            PriceMatch::Opponent5 => "OPPONENT_5",
            PriceMatch::Queue => "QUEUE",
            PriceMatch::Queue5 => "QUEUE_5",
            PriceMatch::Queue10 => "QUEUE_10",
            PriceMatch::Queue20 => "QUEUE_20",
        }
    }

    /// Parse `field`'s value (case-insensitive); the removed modes get their own reason.
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        let all = [
            PriceMatch::Opponent,
            PriceMatch::Opponent5,
            PriceMatch::Queue,
            PriceMatch::Queue5,
            PriceMatch::Queue10,
            PriceMatch::Queue20,
        ];
        let upper = raw.trim().to_ascii_uppercase();
        if let Some(m) = all.into_iter().find(|m| m.as_wire() == upper) {
            return Ok(m);
        }
        let reason = match upper.as_str() {
            "OPPONENT_10" | "OPPONENT_20" => format!(
                "`{raw}` is not accepted: Binance removed OPPONENT_10 and OPPONENT_20 from \
                 order placement (since 2025-10-23); use OPPONENT, OPPONENT_5 or a QUEUE mode"
            ),
            _ => format!(
                "`{raw}` is not one of OPPONENT, OPPONENT_5, QUEUE, QUEUE_5, QUEUE_10, QUEUE_20"
            ),
        };
        Err(DomainError::new(field, reason))
    }

    /// Whether the match is on the other side of the book (an order priced there takes).
    pub fn is_opponent(self) -> bool {
        matches!(self, PriceMatch::Opponent | PriceMatch::Opponent5)
    }

    /// Which level of its side the match picks (1 = best).
    pub fn depth(self) -> usize {
        match self {
            PriceMatch::Opponent | PriceMatch::Queue => 1,
            PriceMatch::Opponent5 | PriceMatch::Queue5 => 5,
            PriceMatch::Queue10 => 10,
            PriceMatch::Queue20 => 20,
        }
    }
}

/// Where a limit intent's orders are priced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitPrice {
    /// This price, on the tick grid and inside PERCENT_PRICE when accepted.
    Fixed(Price),
    /// The venue's price for this match, read from its book when each order arrives.
    Match(PriceMatch),
}

/// How long a limit intent's orders rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitTif {
    /// Good till cancelled.
    Gtc,
    /// Immediate or cancel: what does not fill at once expires.
    Ioc,
    /// Post-only: refused by the venue (-5022) when it would take.
    Gtx,
    /// Good till `good_till_ms` (ms since the epoch; the venue keeps second precision).
    Gtd { good_till_ms: i64 },
}

impl LimitTif {
    /// Parse `time_in_force` (case-insensitive) with the `good_till_date` it needs.
    pub fn parse(raw: &str, good_till_ms: Option<i64>) -> Result<Self, DomainError> {
        let tif = match raw.trim().to_ascii_uppercase().as_str() {
            "GTC" => LimitTif::Gtc,
            "IOC" => LimitTif::Ioc,
            "GTX" => LimitTif::Gtx,
            "GTD" => {
                let at = good_till_ms.ok_or_else(|| {
                    DomainError::new("good_till_date", "is required with time_in_force GTD")
                })?;
                return Ok(LimitTif::Gtd { good_till_ms: at });
            }
            _ => {
                return Err(DomainError::new(
                    "time_in_force",
                    format!("`{raw}` is not one of GTC, IOC, GTX (post-only), GTD"),
                ))
            }
        };
        if good_till_ms.is_some() {
            return Err(DomainError::new(
                "good_till_date",
                "is accepted only with time_in_force GTD",
            ));
        }
        Ok(tif)
    }

    /// The wire's `timeInForce`.
    pub fn time_in_force(self) -> TimeInForce {
        match self {
            LimitTif::Gtc => TimeInForce::Gtc,
            LimitTif::Ioc => TimeInForce::Ioc,
            LimitTif::Gtx => TimeInForce::Gtx,
            LimitTif::Gtd { .. } => TimeInForce::Gtd,
        }
    }

    /// The expiry of a GTD.
    pub fn good_till_ms(self) -> Option<i64> {
        match self {
            LimitTif::Gtd { good_till_ms } => Some(good_till_ms),
            _ => None,
        }
    }

    /// Whether an order of this kind may rest on the book (GTC, GTX, GTD; not IOC).
    pub fn rests(self) -> bool {
        !matches!(self, LimitTif::Ioc)
    }
}

/// An intent's limit terms: every chunk is a LIMIT order at `price` for `time_in_force`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitTerms {
    pub price: LimitPrice,
    pub time_in_force: LimitTif,
}

impl LimitTerms {
    /// The explicit price, None for a price match.
    pub fn fixed_price(&self) -> Option<Price> {
        match self.price {
            LimitPrice::Fixed(p) => Some(p),
            LimitPrice::Match(_) => None,
        }
    }

    /// The price match, None for an explicit price.
    pub fn price_match(&self) -> Option<PriceMatch> {
        match self.price {
            LimitPrice::Fixed(_) => None,
            LimitPrice::Match(m) => Some(m),
        }
    }

    /// A GTD whose expiry is not at least `ahead_ms` after `now_ms` (or past the venue's
    /// latest date): the reason, naming `good_till_date`.
    pub fn check_good_till(&self, now_ms: i64, ahead_ms: i64) -> Result<(), DomainError> {
        let Some(at) = self.time_in_force.good_till_ms() else {
            return Ok(());
        };
        if at >= GTD_MAX_MS {
            return Err(DomainError::new(
                "good_till_date",
                format!("{at} is past the latest date the venue accepts ({GTD_MAX_MS})"),
            ));
        }
        if at < now_ms.saturating_add(ahead_ms) {
            return Err(DomainError::new(
                "good_till_date",
                format!(
                    "{at} is less than {} s from now ({now_ms}); the venue refuses a GTD \
                     order expiring within 600 s (-5040)",
                    ahead_ms / 1000
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_removed_opponent_modes_are_refused_with_their_reason() {
        let err = PriceMatch::parse("price_match", "opponent_10").unwrap_err();
        assert_eq!(err.field, "price_match");
        assert!(err.reason.contains("removed"), "{}", err.reason);
        assert!(PriceMatch::parse("price_match", "OPPONENT_20").is_err());
        assert_eq!(
            PriceMatch::parse("price_match", "queue_5"),
            Ok(PriceMatch::Queue5)
        );
        assert!(PriceMatch::parse("price_match", "NONE").is_err());
    }

    #[test]
    fn gtd_needs_its_date_and_other_kinds_refuse_one() {
        assert_eq!(
            LimitTif::parse("gtd", None).unwrap_err().field,
            "good_till_date"
        );
        assert_eq!(
            LimitTif::parse("GTX", Some(1)).unwrap_err().field,
            "good_till_date"
        );
        assert_eq!(
            LimitTif::parse("FOK", None).unwrap_err().field,
            "time_in_force"
        );
        assert_eq!(
            LimitTif::parse("GTD", Some(5)),
            Ok(LimitTif::Gtd { good_till_ms: 5 })
        );
    }

    #[test]
    fn a_gtd_too_near_or_in_the_past_is_refused_and_one_far_enough_is_not() {
        let now = 1_800_000_000_000;
        let terms = |at| LimitTerms {
            price: LimitPrice::Match(PriceMatch::Queue),
            time_in_force: LimitTif::Gtd { good_till_ms: at },
        };
        let ahead = GTD_MIN_AHEAD_MS + GTD_API_SLACK_MS;
        assert!(terms(now - 1).check_good_till(now, ahead).is_err());
        assert!(terms(now + 300_000).check_good_till(now, ahead).is_err());
        assert!(terms(now + ahead).check_good_till(now, ahead).is_ok());
        assert!(terms(GTD_MAX_MS).check_good_till(now, ahead).is_err());
    }

    #[test]
    fn terms_round_trip_through_json_as_stored() {
        let t = LimitTerms {
            price: LimitPrice::Fixed(Price::parse("price", "101.5").unwrap()),
            time_in_force: LimitTif::Gtd {
                good_till_ms: 1_900_000_000_000,
            },
        };
        let json = serde_json::to_value(t).unwrap();
        assert_eq!(serde_json::from_value::<LimitTerms>(json).unwrap(), t);
    }
}
