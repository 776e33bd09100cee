//! Trade history inside Binance's retention: `GET /fapi/v1/userTrades` covers only the past
//! 3 months since 2026-08-26 (docs/binance-fapi.md §0) and a startTime/endTime query may
//! span at most 7 days (§2). Anything older is on record in the ledger only.
//!
//! Invariants: no request starts before `now − RETAINED_DAYS` (89 days: inside every
//! reading of "3 months", with a day's margin for clock skew) or spans more than 7 days;
//! each window is paged by trade time until it returns less than a full page; the result
//! is deduplicated by trade id, oldest first.

use std::collections::BTreeMap;

use super::wire::UserTrade;
use super::RestClient;
use crate::domain::Symbol;
use crate::exchange::{ExchangeError, Purpose};

/// How far back a history query may start.
pub(crate) const RETAINED_DAYS: i64 = 89;
const DAY_MS: i64 = 24 * 3_600_000;
/// One query's span: 7 days less a millisecond (endTime is inclusive).
const WINDOW_MS: i64 = 7 * DAY_MS - 1;
const PAGE: usize = 1000;

/// The `(startTime, endTime)` windows covering the retained history up to `now_ms`.
pub(crate) fn retained_windows(now_ms: i64) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut start = now_ms - RETAINED_DAYS * DAY_MS;
    while start <= now_ms {
        let end = (start + WINDOW_MS).min(now_ms);
        out.push((start, end));
        start = end + 1;
    }
    out
}

/// Every retained trade of `symbol` with id ≥ `from_id`, oldest first.
pub async fn retained_trades(
    rest: &RestClient,
    symbol: &Symbol,
    from_id: Option<i64>,
    now_ms: i64,
) -> Result<Vec<UserTrade>, ExchangeError> {
    let mut by_id = BTreeMap::new();
    for (mut start, end) in retained_windows(now_ms) {
        loop {
            // Reconcile's history (the trades of an order being resolved come with its
            // resolution): routine.
            let page = rest
                .user_trades_between(symbol, start, end, Purpose::Routine)
                .await?;
            let full = page.len() >= PAGE;
            let last_time = page.iter().map(|t| t.time).max();
            for t in page {
                by_id.insert(t.id, t);
            }
            match last_time {
                // Several trades may share the last millisecond: restart at it (the ids
                // already seen are deduplicated); a page of one millisecond moves past it.
                Some(t) if full && t > start => start = t,
                Some(t) if full && t < end => start = t + 1,
                _ => break,
            }
        }
    }
    Ok(by_id
        .into_values()
        .filter(|t| from_id.is_none_or(|id| t.id >= id))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_windows_cover_the_retained_days_in_seven_day_steps_without_gaps() {
        let now = 1_800_000_000_000;
        let w = retained_windows(now);
        assert_eq!(w.first().map(|x| x.0), Some(now - RETAINED_DAYS * DAY_MS));
        assert_eq!(w.last().map(|x| x.1), Some(now));
        assert!(w.iter().all(|(s, e)| e - s <= 7 * DAY_MS && s <= e));
        assert!(w.windows(2).all(|p| p[1].0 == p[0].1 + 1));
        assert_eq!(w.len(), 13);
    }
}
