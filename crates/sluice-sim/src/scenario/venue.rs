//! `[venue]`: how the simulated exchange answers, where Binance's behaviour changed over
//! time and a scenario may want the older one. Unknown keys are refused.

use serde::Deserialize;

/// `[venue]` keys; every one defaults to today's exchange.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenueOptions {
    /// POST/DELETE order and batchOrders answers carry `avgPrice` and `cumQuote`, as
    /// before the official SDKs dropped them (2026-07-15, docs/binance-fapi.md §0).
    /// Default false: the stricter case, a client must not need them.
    #[serde(default)]
    pub order_response_legacy_fields: bool,
}

#[cfg(test)]
mod tests {
    use crate::scenario::Scenario;

    #[test]
    fn legacy_order_fields_are_off_by_default_and_switched_on_by_the_venue_table() {
        assert!(!Scenario::demo().venue.order_response_legacy_fields);
        assert!(
            !Scenario::from_toml_str("")
                .unwrap()
                .venue
                .order_response_legacy_fields
        );
        let s = Scenario::from_toml_str("[venue]\norder_response_legacy_fields = true\n").unwrap();
        assert!(s.venue.order_response_legacy_fields);
        let e = Scenario::from_toml_str("[venue]\navg_price = true\n").unwrap_err();
        assert!(e.contains("avg_price"), "{e}");
    }
}
