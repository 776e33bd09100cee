//! The breaker's open periods, derived from the transitions the router persisted
//! (`breaker_transitions`). Pure.
//!
//! A period starts at a change *to* `open` and ends at the next change *from* `open`
//! (to `half_open`: opens are admitted again, one trial at a time; or to `closed`). A
//! re-opening from `half_open` starts a new period. A period still open at the end of the
//! transitions has no end. Scopes are kept apart, so two breakers never merge.

use std::collections::BTreeMap;

use super::BreakerPeriod;
use crate::ledger::BreakerTransitionRecord;

/// Open periods in the order they opened. `transitions` must be oldest first (as the
/// ledger returns them).
pub(crate) fn open_periods(transitions: &[BreakerTransitionRecord]) -> Vec<BreakerPeriod> {
    let mut open_now: BTreeMap<&str, usize> = BTreeMap::new();
    let mut periods: Vec<BreakerPeriod> = Vec::new();
    for t in transitions {
        let scope = t.scope.as_str();
        if t.from_state == "open" {
            if let Some(i) = open_now.remove(scope) {
                periods[i].closed_at = Some(t.at);
            }
        }
        if t.to_state == "open" && !open_now.contains_key(scope) {
            open_now.insert(scope, periods.len());
            periods.push(BreakerPeriod {
                opened_at: t.at,
                closed_at: None,
                scope: t.scope.clone(),
                window_total: t.window_total,
                distress: t.server_errors + t.throttled + t.unknown,
            });
        }
    }
    periods
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, TimeZone, Utc};

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 10, 11, 21, 0, 0).unwrap() + chrono::TimeDelta::seconds(secs)
    }

    fn t(secs: i64, from: &str, to: &str) -> BreakerTransitionRecord {
        BreakerTransitionRecord {
            venue: "binance-usdm".into(),
            scope: "orders".into(),
            at: at(secs),
            from_state: from.into(),
            to_state: to.into(),
            window_total: 20,
            server_errors: 3,
            throttled: 9,
            unknown: 2,
        }
    }

    fn spans(p: &[BreakerPeriod]) -> Vec<(DateTime<Utc>, Option<DateTime<Utc>>)> {
        p.iter().map(|p| (p.opened_at, p.closed_at)).collect()
    }

    #[test]
    fn an_open_period_ends_when_the_breaker_lets_a_trial_open_through() {
        let p = open_periods(&[
            t(10, "closed", "open"),
            t(40, "open", "half_open"),
            t(41, "half_open", "closed"),
        ]);
        assert_eq!(spans(&p), vec![(at(10), Some(at(40)))]);
        assert_eq!((p[0].window_total, p[0].distress), (20, 14));
    }

    #[test]
    fn a_failed_trial_starts_a_new_period_and_the_last_one_may_still_be_open() {
        let p = open_periods(&[
            t(10, "closed", "open"),
            t(40, "open", "half_open"),
            t(45, "half_open", "open"),
        ]);
        assert_eq!(spans(&p), vec![(at(10), Some(at(40))), (at(45), None)]);
    }

    #[test]
    fn a_window_that_starts_closed_has_no_period() {
        assert!(open_periods(&[t(5, "half_open", "closed")]).is_empty());
    }
}
