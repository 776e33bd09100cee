//! Refuse at the door a LIMIT intent the venue would refuse (422 naming the field): a
//! `price` off the tick grid, beyond the price precision or outside PERCENT_PRICE at the
//! current mark, and a GTD `good_till_date` not far enough ahead.
//!
//! The price rules are the ones `domain::validate` applies to every order before it is
//! sent (`domain/checked.rs: check_price`), so an intent accepted here builds orders the
//! venue accepts while the mark stays near. A price match is priced by the venue from its
//! book, so there is no price to check. Without the exchange's rules or a mark (no
//! exchange connected) the price is not checked here; the executor still refuses an
//! unsendable price before any order, naming the reason.
//!
//! A GTD must expire more than 600 s after the venue receives each order (-5040); the
//! API asks for a further 60 s, since the executor sends the orders after the intent is
//! stored (docs/binance-fapi.md §2.2).

use super::error::ApiError;
use super::prices::MarkPrices;
use crate::domain::limit::{GTD_API_SLACK_MS, GTD_MIN_AHEAD_MS};
use crate::domain::{LimitTerms, Side, Symbol};
use crate::exchange::Purpose;

/// Check `terms` for an order of `side` on `symbol` against what `prices` has; `purpose`
/// books the rules read when the cache is empty and the mark read when it must be fetched
/// (a close's or reduce's reduce risk, so a spent routine share of the IP's weight does not
/// hold the close until the minute ends; an open's are routine).
pub(crate) async fn check_limit(
    prices: Option<&dyn MarkPrices>,
    symbol: &Symbol,
    side: Side,
    terms: &LimitTerms,
    purpose: Purpose,
) -> Result<(), ApiError> {
    let now_ms = chrono::Utc::now().timestamp_millis();
    terms
        .check_good_till(now_ms, GTD_MIN_AHEAD_MS + GTD_API_SLACK_MS)
        .map_err(|e| ApiError::invalid(e.field, e.reason))?;
    let Some(price) = terms.fixed_price() else {
        return Ok(());
    };
    let Some(source) = prices else {
        return Ok(());
    };
    let Some(rules) = source.symbol_rules(symbol, purpose).await else {
        return Ok(());
    };
    let Ok(mark) = source.mark_price(symbol, purpose).await else {
        return Ok(());
    };
    crate::domain::checked::check_price(&rules, price, side == Side::Buy, mark).map_err(|v| {
        ApiError::invalid(
            "price",
            format!("{price} is refused by {}: {}", v.filter, v.reason),
        )
    })
}
