//! LIMIT intents in the pure core: the price a LIMIT intent's chunks are planned at.
//!
//! The planner checks MIN_NOTIONAL (and converts a notional chunk cap) at one price. For
//! a LIMIT order with its own price that price is the limit, because the venue values
//! the order there (`domain::validate` does the same): planning at the mark instead
//! could plan a chunk that meets MIN_NOTIONAL at the mark but not at a lower bid. A
//! price-matched order is priced by the venue from its book, near the mark: it is
//! planned at the mark.

use crate::domain::{LimitTerms, Price};

/// The price `terms`' chunks are planned at: the limit price, else the mark.
pub(crate) fn planning_price(terms: Option<&LimitTerms>, mark: Price) -> Price {
    terms.and_then(LimitTerms::fixed_price).unwrap_or(mark)
}

#[cfg(test)]
#[path = "limit_tests.rs"]
mod tests;
