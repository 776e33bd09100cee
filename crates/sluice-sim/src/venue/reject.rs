//! A Binance rejection: HTTP status, numeric code and the exact message text.
//!
//! Every rule the venue enforces answers with one of these constructors, so the
//! texts live in exactly one place and match the reference (§4.2) byte for byte.

use rust_decimal::Decimal;
use serde::Serialize;

/// A rejected request, rendered by the server as `{"code": code, "msg": msg}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Reject {
    pub http: u16,
    pub code: i64,
    pub msg: String,
}

impl std::fmt::Display for Reject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {} {} {}", self.http, self.code, self.msg)
    }
}

impl std::error::Error for Reject {}

impl Reject {
    /// A 400 rejection with `code` and `msg`.
    pub(crate) fn bad(code: i64, msg: impl Into<String>) -> Reject {
        Reject {
            http: 400,
            code,
            msg: msg.into(),
        }
    }

    /// `-2015` (HTTP 401): the key is unknown, revoked, or lacks permission.
    pub(crate) fn rejected_key() -> Reject {
        Reject {
            http: 401,
            code: -2015,
            msg: "Invalid API-key, IP, or permissions for action.".to_owned(),
        }
    }

    pub(crate) fn mandatory(param: &str) -> Reject {
        Reject::bad(
            -1102,
            format!("Mandatory parameter '{param}' was not sent, was empty/null, or malformed."),
        )
    }
    pub(crate) fn not_required(param: &str) -> Reject {
        Reject::bad(
            -1106,
            format!("Parameter '{param}' sent when not required."),
        )
    }
    pub(crate) fn precision() -> Reject {
        Reject::bad(
            -1111,
            "Precision is over the maximum defined for this asset.",
        )
    }
    pub(crate) fn invalid_tif() -> Reject {
        Reject::bad(-1115, "Invalid timeInForce.")
    }
    pub(crate) fn invalid_order_type() -> Reject {
        Reject::bad(-1116, "Invalid orderType.")
    }
    pub(crate) fn invalid_side() -> Reject {
        Reject::bad(-1117, "Invalid side.")
    }
    pub(crate) fn invalid_symbol() -> Reject {
        Reject::bad(-1121, "Invalid symbol.")
    }
    pub(crate) fn invalid_symbol_status() -> Reject {
        Reject::bad(-1122, "Invalid symbol status.")
    }
    pub(crate) fn unknown_order() -> Reject {
        Reject::bad(-2011, "Unknown order sent.")
    }
    pub(crate) fn no_such_order() -> Reject {
        Reject::bad(-2013, "Order does not exist.")
    }
    pub(crate) fn margin_insufficient() -> Reject {
        Reject::bad(-2019, "Margin is insufficient.")
    }
    pub(crate) fn reduce_only_rejected() -> Reject {
        Reject::bad(-2022, "ReduceOnly Order is rejected.")
    }
    pub(crate) fn max_open_orders() -> Reject {
        Reject::bad(-2025, "Reach max open order limit.")
    }
    pub(crate) fn max_leverage_ratio() -> Reject {
        Reject::bad(
            -2027,
            "Exceeded the maximum allowable position at current leverage.",
        )
    }
    pub(crate) fn price_not_positive() -> Reject {
        Reject::bad(-4001, "Price less than 0.")
    }
    pub(crate) fn price_above_max() -> Reject {
        Reject::bad(-4002, "Price greater than max price.")
    }
    pub(crate) fn qty_not_positive() -> Reject {
        Reject::bad(-4003, "Quantity less than or equal to zero.")
    }
    pub(crate) fn qty_below_min() -> Reject {
        Reject::bad(-4004, "Quantity less than min quantity.")
    }
    pub(crate) fn qty_above_max() -> Reject {
        Reject::bad(-4005, "Quantity greater than max quantity.")
    }
    pub(crate) fn price_below_min() -> Reject {
        Reject::bad(-4013, "Price less than min price.")
    }
    pub(crate) fn price_off_tick() -> Reject {
        Reject::bad(-4014, "Price not increased by tick size.")
    }
    pub(crate) fn client_order_id_invalid() -> Reject {
        Reject::bad(-4015, "Client order id is not valid.")
    }
    pub(crate) fn price_above_multiplier_up() -> Reject {
        Reject::bad(-4016, "Price is higher than mark price multiplier cap.")
    }
    pub(crate) fn qty_off_step() -> Reject {
        Reject::bad(-4023, "Qty not increased by step size.")
    }
    pub(crate) fn price_below_multiplier_down() -> Reject {
        Reject::bad(-4024, "Price is lower than mark price multiplier floor.")
    }
    pub(crate) fn invalid_leverage(leverage: u32) -> Reject {
        Reject::bad(-4028, format!("Leverage {leverage} is not valid"))
    }
    pub(crate) fn no_need_to_change_position_side() -> Reject {
        Reject::bad(-4059, "No need to change position side.")
    }
    pub(crate) fn invalid_position_side() -> Reject {
        Reject::bad(-4060, "Invalid position side.")
    }
    pub(crate) fn position_side_mismatch() -> Reject {
        Reject::bad(
            -4061,
            "Order's position side does not match user's setting.",
        )
    }
    pub(crate) fn position_side_change_open_orders() -> Reject {
        Reject::bad(
            -4067,
            "Position side cannot be changed if there exists open orders.",
        )
    }
    pub(crate) fn position_side_change_positions() -> Reject {
        Reject::bad(
            -4068,
            "Position side cannot be changed if there exists position.",
        )
    }
    pub(crate) fn client_order_id_duplicated() -> Reject {
        Reject::bad(-4116, "ClientOrderId is duplicated.")
    }
    pub(crate) fn reduce_only_margin_check() -> Reject {
        Reject::bad(
            -4118,
            "ReduceOnly Order Failed. Please check your existing position and open orders",
        )
    }
    pub(crate) fn conditional_moved_to_algo() -> Reject {
        Reject::bad(
            -4120,
            "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead.",
        )
    }
    pub(crate) fn market_percent_price() -> Reject {
        Reject::bad(
            -4131,
            "The counterparty's best price does not meet the PERCENT_PRICE filter limit",
        )
    }
    /// `-4164`, naming the symbol's own minimum (e.g. 5, 20, 100).
    pub(crate) fn min_notional(min: Decimal) -> Reject {
        Reject::bad(
            -4164,
            format!(
                "Order's notional must be no smaller than {} (unless you choose reduce only)",
                min.normalize()
            ),
        )
    }
    pub(crate) fn fok_rejected() -> Reject {
        Reject::bad(
            -5021,
            "Due to the order could not be filled immediately, the FOK order has been rejected. The order will not be recorded in the order history",
        )
    }
    pub(crate) fn invalid_price_match() -> Reject {
        Reject::bad(-5037, "Invalid price match")
    }
    pub(crate) fn price_match_unsupported() -> Reject {
        Reject::bad(
            -5038,
            "Price match only supports order type: LIMIT, STOP AND TAKE_PROFIT",
        )
    }
    pub(crate) fn gtx_rejected() -> Reject {
        Reject::bad(
            -5022,
            "Due to the order could not be executed as maker, the Post Only order will be rejected. The order will not be recorded in the order history",
        )
    }
    pub(crate) fn good_till_date_invalid() -> Reject {
        Reject::bad(
            -5040,
            "goodTillDate timestamp must be greater than current time plus 600 seconds and smaller than 253402300799000",
        )
    }
}
