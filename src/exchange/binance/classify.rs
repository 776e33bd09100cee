//! The one table that maps an exchange answer (HTTP status, code, message) to what
//! the caller must do ([`ErrorClass`]).
//!
//! Invariants: every code of docs/binance-fapi.md §4.2 appears in [`CODE_TABLE`] exactly once; a
//! code not in the table is `Fatal` (unknown rejects are stopped and logged, never
//! retried blindly); anything that may have executed is `OutcomeUnknown`, never `Retry`.

use crate::exchange::ErrorClass;

/// What kind of request got the answer: some codes mean different things for an
/// order placement than for a query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RequestKind {
    /// Reads, listenKey management, account settings.
    Query,
    /// A new order that may increase exposure.
    PlaceOpen,
    /// A new order that can only reduce exposure (reduce-only / closing leg).
    PlaceReduce,
    /// Cancelling an order.
    Cancel,
}

impl RequestKind {
    fn places(self) -> bool {
        matches!(self, RequestKind::PlaceOpen | RequestKind::PlaceReduce)
    }
}

/// How a code maps to a class, when the mapping depends on the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rule {
    Always(ErrorClass),
    /// Outcome unknown for placements and cancels (they change state), else retry (-1000, -1010).
    UnknownIfMutating,
    /// -2011: the status code alone cannot tell "already closed" from "not yet visible", so
    /// it says `OutcomeUnknown`; `BinanceFutures::cancel_order` then looks the order up and
    /// turns it into `Noop` when the order is known to be closed.
    CancelRejected,
    /// -4140: opening is blocked on the symbol; a reduce-only order must replan instead.
    OpeningBlocked,
}

/// (code, Binance name, rule). Keep sorted by code; the tests walk it.
#[rustfmt::skip]
pub(crate) const CODE_TABLE: &[(i64, &str, Rule)] = &[
    (-1000, "UNKNOWN", Rule::UnknownIfMutating),
    (-1001, "DISCONNECTED", Rule::Always(ErrorClass::Retry)),
    (-1002, "UNAUTHORIZED", Rule::Always(ErrorClass::Auth)),
    (-1003, "TOO_MANY_REQUESTS", Rule::Always(ErrorClass::Backoff)),
    (-1004, "DUPLICATE_IP", Rule::Always(ErrorClass::Noop)),
    (-1005, "NO_SUCH_IP", Rule::Always(ErrorClass::Auth)),
    (-1006, "UNEXPECTED_RESP", Rule::Always(ErrorClass::OutcomeUnknown)),
    (-1007, "TIMEOUT", Rule::Always(ErrorClass::OutcomeUnknown)),
    (-1008, "REQUEST_THROTTLED", Rule::Always(ErrorClass::Backoff)),
    (-1010, "ERROR_MSG_RECEIVED", Rule::UnknownIfMutating),
    (-1011, "NON_WHITE_LIST", Rule::Always(ErrorClass::Auth)),
    (-1013, "INVALID_MESSAGE", Rule::Always(ErrorClass::Replan)),
    (-1014, "UNKNOWN_ORDER_COMPOSITION", Rule::Always(ErrorClass::Replan)),
    (-1015, "TOO_MANY_ORDERS", Rule::Always(ErrorClass::Backoff)),
    (-1016, "SERVICE_SHUTTING_DOWN", Rule::Always(ErrorClass::Fatal)),
    (-1020, "UNSUPPORTED_OPERATION", Rule::Always(ErrorClass::Fatal)),
    (-1021, "INVALID_TIMESTAMP", Rule::Always(ErrorClass::ResyncClock)),
    (-1022, "INVALID_SIGNATURE", Rule::Always(ErrorClass::Auth)),
    (-1023, "START_TIME_GREATER_THAN_END_TIME", Rule::Always(ErrorClass::Replan)),
    (-1099, "NOT_FOUND", Rule::Always(ErrorClass::Auth)),
    (-1100, "ILLEGAL_CHARS", Rule::Always(ErrorClass::Replan)),
    (-1101, "TOO_MANY_PARAMETERS", Rule::Always(ErrorClass::Replan)),
    (-1102, "MANDATORY_PARAM_EMPTY_OR_MALFORMED", Rule::Always(ErrorClass::Replan)),
    (-1103, "UNKNOWN_PARAM", Rule::Always(ErrorClass::Replan)),
    (-1104, "UNREAD_PARAMETERS", Rule::Always(ErrorClass::Replan)),
    (-1105, "PARAM_EMPTY", Rule::Always(ErrorClass::Replan)),
    (-1106, "PARAM_NOT_REQUIRED", Rule::Always(ErrorClass::Replan)),
    (-1108, "BAD_ASSET", Rule::Always(ErrorClass::Replan)),
    (-1109, "BAD_ACCOUNT", Rule::Always(ErrorClass::Replan)),
    (-1110, "BAD_INSTRUMENT_TYPE", Rule::Always(ErrorClass::Replan)),
    (-1111, "BAD_PRECISION", Rule::Always(ErrorClass::Replan)),
    (-1112, "NO_DEPTH", Rule::Always(ErrorClass::Retry)),
    (-1114, "TIF_NOT_REQUIRED", Rule::Always(ErrorClass::Replan)),
    (-1115, "INVALID_TIF", Rule::Always(ErrorClass::Replan)),
    (-1116, "INVALID_ORDER_TYPE", Rule::Always(ErrorClass::Replan)),
    (-1117, "INVALID_SIDE", Rule::Always(ErrorClass::Replan)),
    (-1118, "EMPTY_NEW_CL_ORD_ID", Rule::Always(ErrorClass::Replan)),
    (-1119, "EMPTY_ORG_CL_ORD_ID", Rule::Always(ErrorClass::Replan)),
    (-1120, "BAD_INTERVAL", Rule::Always(ErrorClass::Replan)),
    (-1121, "BAD_SYMBOL", Rule::Always(ErrorClass::Fatal)),
    (-1122, "INVALID_SYMBOL_STATUS", Rule::Always(ErrorClass::Fatal)),
    // The user stream recreates the key and resyncs; for a REST caller it is a retry.
    (-1125, "INVALID_LISTEN_KEY", Rule::Always(ErrorClass::Retry)),
    (-1126, "ASSET_NOT_SUPPORTED", Rule::Always(ErrorClass::Replan)),
    (-1127, "MORE_THAN_XX_HOURS", Rule::Always(ErrorClass::Replan)),
    (-1128, "OPTIONAL_PARAMS_BAD_COMBO", Rule::Always(ErrorClass::Replan)),
    (-1130, "INVALID_PARAMETER", Rule::Always(ErrorClass::Replan)),
    (-1136, "INVALID_NEW_ORDER_RESP_TYPE", Rule::Always(ErrorClass::Replan)),
    (-2010, "NEW_ORDER_REJECTED", Rule::Always(ErrorClass::Replan)),
    (-2011, "CANCEL_REJECTED", Rule::CancelRejected),
    (-2012, "CANCEL_ALL_FAIL", Rule::Always(ErrorClass::Retry)),
    // Not found may mean "purged" or "not yet visible": resolve before acting.
    (-2013, "NO_SUCH_ORDER", Rule::Always(ErrorClass::OutcomeUnknown)),
    (-2014, "BAD_API_KEY_FMT", Rule::Always(ErrorClass::Auth)),
    (-2015, "REJECTED_MBX_KEY", Rule::Always(ErrorClass::Auth)),
    (-2016, "NO_TRADING_WINDOW", Rule::Always(ErrorClass::Fatal)),
    (-2017, "API_KEYS_LOCKED", Rule::Always(ErrorClass::Auth)),
    (-2018, "BALANCE_NOT_SUFFICIENT", Rule::Always(ErrorClass::Replan)),
    (-2019, "MARGIN_NOT_SUFFICIEN", Rule::Always(ErrorClass::Replan)),
    (-2020, "UNABLE_TO_FILL", Rule::Always(ErrorClass::Replan)),
    (-2021, "ORDER_WOULD_IMMEDIATELY_TRIGGER", Rule::Always(ErrorClass::Replan)),
    (-2022, "REDUCE_ONLY_REJECT", Rule::Always(ErrorClass::Replan)),
    (-2023, "USER_IN_LIQUIDATION", Rule::Always(ErrorClass::Fatal)),
    (-2024, "POSITION_NOT_SUFFICIENT", Rule::Always(ErrorClass::Replan)),
    (-2025, "MAX_OPEN_ORDER_EXCEEDED", Rule::Always(ErrorClass::Replan)),
    (-2026, "REDUCE_ONLY_ORDER_TYPE_NOT_SUPPORTED", Rule::Always(ErrorClass::Replan)),
    (-2027, "MAX_LEVERAGE_RATIO", Rule::Always(ErrorClass::Replan)),
    (-2028, "MIN_LEVERAGE_RATIO", Rule::Always(ErrorClass::Replan)),
    (-4000, "INVALID_ORDER_STATUS", Rule::Always(ErrorClass::OutcomeUnknown)),
    (-4001, "PRICE_LESS_THAN_ZERO", Rule::Always(ErrorClass::Replan)),
    (-4002, "PRICE_GREATER_THAN_MAX_PRICE", Rule::Always(ErrorClass::Replan)),
    (-4003, "QTY_LESS_THAN_ZERO", Rule::Always(ErrorClass::Replan)),
    (-4004, "QTY_LESS_THAN_MIN_QTY", Rule::Always(ErrorClass::Replan)),
    (-4005, "QTY_GREATER_THAN_MAX_QTY", Rule::Always(ErrorClass::ShrinkChunk)),
    (-4006, "STOP_PRICE_LESS_THAN_ZERO", Rule::Always(ErrorClass::Replan)),
    (-4007, "STOP_PRICE_GREATER_THAN_MAX_PRICE", Rule::Always(ErrorClass::Replan)),
    (-4008, "TICK_SIZE_LESS_THAN_ZERO", Rule::Always(ErrorClass::Replan)),
    (-4009, "MAX_PRICE_LESS_THAN_MIN_PRICE", Rule::Always(ErrorClass::Replan)),
    (-4010, "MAX_QTY_LESS_THAN_MIN_QTY", Rule::Always(ErrorClass::Replan)),
    (-4011, "STEP_SIZE_LESS_THAN_ZERO", Rule::Always(ErrorClass::Replan)),
    (-4012, "MAX_NUM_ORDERS_LESS_THAN_ZERO", Rule::Always(ErrorClass::Replan)),
    (-4013, "PRICE_LESS_THAN_MIN_PRICE", Rule::Always(ErrorClass::Replan)),
    (-4014, "PRICE_NOT_INCREASED_BY_TICK_SIZE", Rule::Always(ErrorClass::Replan)),
    (-4015, "INVALID_CL_ORD_ID_LEN", Rule::Always(ErrorClass::Replan)),
    (-4016, "PRICE_HIGHTER_THAN_MULTIPLIER_UP", Rule::Always(ErrorClass::Replan)),
    (-4020, "TARGET_STRATEGY_INVALID", Rule::Always(ErrorClass::Replan)),
    (-4021, "INVALID_DEPTH_LIMIT", Rule::Always(ErrorClass::Replan)),
    (-4022, "WRONG_MARKET_STATUS", Rule::Always(ErrorClass::Replan)),
    (-4023, "QTY_NOT_INCREASED_BY_STEP_SIZE", Rule::Always(ErrorClass::Replan)),
    (-4024, "PRICE_LOWER_THAN_MULTIPLIER_DOWN", Rule::Always(ErrorClass::Replan)),
    (-4028, "INVALID_LEVERAGE", Rule::Always(ErrorClass::Replan)),
    (-4029, "INVALID_TICK_SIZE_PRECISION", Rule::Always(ErrorClass::Replan)),
    (-4030, "INVALID_STEP_SIZE_PRECISION", Rule::Always(ErrorClass::Replan)),
    (-4031, "INVALID_WORKING_TYPE", Rule::Always(ErrorClass::Replan)),
    (-4032, "EXCEED_MAX_CANCEL_ORDER_SIZE", Rule::Always(ErrorClass::Replan)),
    (-4033, "INSURANCE_ACCOUNT_NOT_FOUND", Rule::Always(ErrorClass::Replan)),
    (-4044, "INVALID_BALANCE_TYPE", Rule::Always(ErrorClass::Replan)),
    (-4045, "MAX_STOP_ORDER_EXCEEDED", Rule::Always(ErrorClass::Replan)),
    (-4046, "NO_NEED_TO_CHANGE_MARGIN_TYPE", Rule::Always(ErrorClass::Noop)),
    (-4047, "THERE_EXISTS_OPEN_ORDERS", Rule::Always(ErrorClass::Replan)),
    (-4048, "THERE_EXISTS_QUANTITY", Rule::Always(ErrorClass::Replan)),
    (-4049, "ADD_ISOLATED_MARGIN_REJECT", Rule::Always(ErrorClass::Replan)),
    (-4050, "CROSS_BALANCE_INSUFFICIENT", Rule::Always(ErrorClass::Replan)),
    (-4051, "ISOLATED_BALANCE_INSUFFICIENT", Rule::Always(ErrorClass::Replan)),
    (-4052, "NO_CHANGE_MARGIN_TYPE", Rule::Always(ErrorClass::Replan)),
    (-4053, "REJECT_CLOSE_POSITION", Rule::Always(ErrorClass::Replan)),
    (-4054, "CANNOT_ADD_POSITION_MARGIN", Rule::Always(ErrorClass::Replan)),
    (-4055, "AMOUNT_MUST_BE_POSITIVE", Rule::Always(ErrorClass::Replan)),
    (-4056, "INVALID_API_KEY_TYPE", Rule::Always(ErrorClass::Auth)),
    (-4057, "INVALID_RSA_PUBLIC_KEY", Rule::Always(ErrorClass::Auth)),
    (-4058, "MAX_PRICE_TOO_LARGE", Rule::Always(ErrorClass::Replan)),
    (-4059, "NO_NEED_TO_CHANGE_POSITION_SIDE", Rule::Always(ErrorClass::Noop)),
    (-4060, "INVALID_POSITION_SIDE", Rule::Always(ErrorClass::Replan)),
    (-4061, "POSITION_SIDE_NOT_MATCH", Rule::Always(ErrorClass::Replan)),
    (-4062, "REDUCE_ONLY_CONFLICT", Rule::Always(ErrorClass::Replan)),
    // -4063..-4081 are options-related; -4067/-4068 (position-mode change blocked) are ours.
    (-4067, "POSITION_SIDE_CHANGE_EXISTS_OPEN_ORDERS", Rule::Always(ErrorClass::Replan)),
    (-4068, "POSITION_SIDE_CHANGE_EXISTS_QUANTITY", Rule::Always(ErrorClass::Replan)),
    (-4082, "INVALID_BATCH_PLACE_ORDER_SIZE", Rule::Always(ErrorClass::Replan)),
    (-4083, "PLACE_BATCH_ORDERS_FAIL", Rule::Always(ErrorClass::OutcomeUnknown)),
    (-4084, "UPCOMING_METHOD", Rule::Always(ErrorClass::Fatal)),
    (-4087, "REDUCE_ONLY_ORDER_PERMISSION", Rule::Always(ErrorClass::ReduceOnlyRestricted)),
    (-4088, "NO_PLACE_ORDER_PERMISSION", Rule::Always(ErrorClass::Fatal)),
    (-4104, "INVALID_CONTRACT_TYPE", Rule::Always(ErrorClass::Replan)),
    (-4109, "INACTIVE_ACCOUNT", Rule::Always(ErrorClass::Fatal)),
    (-4114, "INVALID_CLIENT_TRAN_ID_LEN", Rule::Always(ErrorClass::Replan)),
    (-4115, "DUPLICATED_CLIENT_TRAN_ID", Rule::Always(ErrorClass::Replan)),
    // An order with that id is live: never re-send, resolve it.
    (-4116, "DUPLICATED_CLIENT_ORDER_ID", Rule::Always(ErrorClass::OutcomeUnknown)),
    (-4117, "STOP_ORDER_TRIGGERING", Rule::Always(ErrorClass::Retry)),
    (-4118, "REDUCE_ONLY_MARGIN_CHECK_FAILED", Rule::Always(ErrorClass::Replan)),
    (-4120, "STOP_ORDER_SWITCH_ALGO", Rule::Always(ErrorClass::Replan)),
    (-4131, "MARKET_ORDER_REJECT", Rule::Always(ErrorClass::Retry)),
    (-4135, "INVALID_ACTIVATION_PRICE", Rule::Always(ErrorClass::Replan)),
    (-4137, "QUANTITY_EXISTS_WITH_CLOSE_POSITION", Rule::Always(ErrorClass::Replan)),
    (-4138, "REDUCE_ONLY_MUST_BE_TRUE", Rule::Always(ErrorClass::Replan)),
    (-4139, "ORDER_TYPE_CANNOT_BE_MKT", Rule::Always(ErrorClass::Replan)),
    (-4140, "INVALID_OPENING_POSITION_STATUS", Rule::OpeningBlocked),
    (-4141, "SYMBOL_ALREADY_CLOSED", Rule::Always(ErrorClass::Fatal)),
    (-4142, "STRATEGY_INVALID_TRIGGER_PRICE", Rule::Always(ErrorClass::Replan)),
    (-4144, "INVALID_PAIR", Rule::Always(ErrorClass::Replan)),
    (-4161, "ISOLATED_LEVERAGE_REJECT_WITH_POSITION", Rule::Always(ErrorClass::Replan)),
    (-4164, "MIN_NOTIONAL", Rule::Always(ErrorClass::Replan)),
    (-4165, "INVALID_TIME_INTERVAL", Rule::Always(ErrorClass::Replan)),
    (-4167, "MULTI_ASSETS_MODE_SWITCH_RULE_4167", Rule::Always(ErrorClass::Replan)),
    (-4168, "MULTI_ASSETS_MODE_SWITCH_RULE_4168", Rule::Always(ErrorClass::Replan)),
    (-4169, "MULTI_ASSETS_MODE_SWITCH_RULE_4169", Rule::Always(ErrorClass::Replan)),
    (-4170, "MULTI_ASSETS_MODE_SWITCH_RULE_4170", Rule::Always(ErrorClass::Replan)),
    (-4171, "MULTI_ASSETS_MODE_SWITCH_RULE_4171", Rule::Always(ErrorClass::Replan)),
    (-4172, "MULTI_ASSETS_MODE_SWITCH_RULE_4172", Rule::Always(ErrorClass::Replan)),
    (-4183, "PRICE_HIGHTER_THAN_STOP_MULTIPLIER_UP", Rule::Always(ErrorClass::Replan)),
    (-4184, "PRICE_LOWER_THAN_STOP_MULTIPLIER_DOWN", Rule::Always(ErrorClass::Replan)),
    (-4192, "COOLING_OFF_PERIOD", Rule::Always(ErrorClass::Fatal)),
    (-4202, "ADJUST_LEVERAGE_KYC_FAILED", Rule::Always(ErrorClass::Replan)),
    (-4203, "ADJUST_LEVERAGE_ONE_MONTH_FAILED", Rule::Always(ErrorClass::Replan)),
    (-4205, "ADJUST_LEVERAGE_X_DAYS_FAILED", Rule::Always(ErrorClass::Replan)),
    (-4206, "ADJUST_LEVERAGE_KYC_LIMITED", Rule::Always(ErrorClass::Replan)),
    (-4208, "ADJUST_LEVERAGE_ACCOUNT_SYMBOL_FAILED", Rule::Always(ErrorClass::Replan)),
    (-4209, "ADJUST_LEVERAGE_SYMBOL_FAILED", Rule::Always(ErrorClass::Replan)),
    (-4210, "STOP_PRICE_HIGHER_THAN_PRICE_MULTIPLIER_LIMIT", Rule::Always(ErrorClass::Replan)),
    (-4211, "STOP_PRICE_LOWER_THAN_PRICE_MULTIPLIER_LIMIT", Rule::Always(ErrorClass::Replan)),
    (-4400, "TRADING_QUANTITATIVE_RULE", Rule::Always(ErrorClass::ReduceOnlyRestricted)),
    (-4401, "LARGE_POSITION_SYM_RULE", Rule::Always(ErrorClass::ReduceOnlyRestricted)),
    (-4402, "COMPLIANCE_BLACK_SYMBOL_RESTRICTION", Rule::Always(ErrorClass::Fatal)),
    (-4403, "ADJUST_LEVERAGE_COMPLIANCE_FAILED", Rule::Always(ErrorClass::Fatal)),
    (-4531, "DUAL_SIDE_SYNC_REQUIRED", Rule::Always(ErrorClass::Replan)),
    (-5021, "FOK_ORDER_REJECT", Rule::Always(ErrorClass::Replan)),
    (-5022, "GTX_ORDER_REJECT", Rule::Always(ErrorClass::Replan)),
    (-5024, "MOVE_ORDER_NOT_ALLOWED_SYMBOL_REASON", Rule::Always(ErrorClass::Replan)),
    (-5025, "LIMIT_ORDER_ONLY", Rule::Always(ErrorClass::Replan)),
    (-5026, "EXCEED_MAXIMUM_MODIFY_ORDER_LIMIT", Rule::Always(ErrorClass::Replan)),
    (-5027, "SAME_ORDER", Rule::Always(ErrorClass::Replan)),
    (-5028, "ME_RECVWINDOW_REJECT", Rule::Always(ErrorClass::ResyncClock)),
    (-5029, "MODIFICATION_MIN_NOTIONAL", Rule::Always(ErrorClass::Replan)),
    (-5037, "INVALID_PRICE_MATCH", Rule::Always(ErrorClass::Replan)),
    (-5038, "UNSUPPORTED_ORDER_TYPE_PRICE_MATCH", Rule::Always(ErrorClass::Replan)),
    (-5039, "INVALID_SELF_TRADE_PREVENTION_MODE", Rule::Always(ErrorClass::Replan)),
    (-5040, "FUTURE_GOOD_TILL_DATE", Rule::Always(ErrorClass::Replan)),
    (-5041, "BBO_ORDER_REJECT", Rule::Always(ErrorClass::Retry)),
    (-5043, "MODIFY_ORDER_PENDING", Rule::Always(ErrorClass::Replan)),
];

/// Message of HTTP 503 variant A: the request may have executed.
const UNKNOWN_ERROR_503: &str = "unknown error, please check your request";
/// Message of HTTP 503 variant B: a certain failure, not counted.
const SERVICE_UNAVAILABLE_503: &str = "service unavailable";

fn apply(rule: Rule, kind: RequestKind) -> ErrorClass {
    match rule {
        Rule::Always(c) => c,
        Rule::UnknownIfMutating if kind == RequestKind::Query => ErrorClass::Retry,
        Rule::UnknownIfMutating => ErrorClass::OutcomeUnknown,
        Rule::CancelRejected => ErrorClass::OutcomeUnknown,
        Rule::OpeningBlocked if kind == RequestKind::PlaceReduce => ErrorClass::Replan,
        Rule::OpeningBlocked => ErrorClass::ReduceOnlyRestricted,
    }
}

/// Classify one exchange answer. `code`/`msg` come from the JSON body when it had one.
pub(crate) fn classify(status: u16, code: Option<i64>, msg: &str, kind: RequestKind) -> ErrorClass {
    // The HTTP rows that override whatever code the body carries.
    match status {
        418 => return ErrorClass::Banned,
        429 => return ErrorClass::Backoff,
        401 => return ErrorClass::Auth,
        408 => return ErrorClass::OutcomeUnknown,
        _ => {}
    }
    let lower = msg.to_ascii_lowercase();
    if status == 503 && lower.contains(UNKNOWN_ERROR_503) {
        return ErrorClass::OutcomeUnknown;
    }
    // The message, not the code, tells variant B apart (it may come with -1000).
    if status == 503 && lower.contains(SERVICE_UNAVAILABLE_503) {
        return ErrorClass::Retry;
    }
    if let Some(code) = code {
        return match CODE_TABLE.iter().find(|(c, _, _)| *c == code) {
            Some((_, _, rule)) => apply(*rule, kind),
            // An unknown reject is not retried blindly: stop and let a human read it.
            None => ErrorClass::Fatal,
        };
    }
    classify_status_only(status, kind)
}

/// A response without a Binance code (WAF page, gateway error, empty body).
fn classify_status_only(status: u16, kind: RequestKind) -> ErrorClass {
    match status {
        403 => ErrorClass::Fatal,
        // A 5xx without a code or a known message may have reached the matching
        // engine, so a mutating request's outcome is unknown.
        500..=599 if kind.places() || kind == RequestKind::Cancel => ErrorClass::OutcomeUnknown,
        500..=599 => ErrorClass::Retry,
        _ => ErrorClass::Fatal,
    }
}

/// A transport failure with no HTTP response. `sent` is false only when the
/// connection was never established, so the request certainly did not leave.
pub(crate) fn classify_transport(sent: bool, kind: RequestKind) -> ErrorClass {
    match (sent, kind) {
        (false, _) => ErrorClass::Retry,
        (true, RequestKind::Query) => ErrorClass::Retry,
        (true, _) => ErrorClass::OutcomeUnknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ErrorClass::*;
    use RequestKind::*;

    #[test]
    fn every_code_in_the_table_has_a_class_for_every_request_kind() {
        for (code, name, rule) in CODE_TABLE {
            for kind in [Query, PlaceOpen, PlaceReduce, Cancel] {
                let got = classify(400, Some(*code), name, kind);
                assert_eq!(got, apply(*rule, kind), "{code} {name} {kind:?}");
            }
        }
    }

    #[test]
    fn the_table_is_sorted_and_has_no_duplicate_codes() {
        for pair in CODE_TABLE.windows(2) {
            assert!(pair[0].0 > pair[1].0, "{} before {}", pair[0].0, pair[1].0);
        }
    }

    /// The reference's recommended action per code, restated independently of the table.
    #[test]
    fn reference_actions_map_to_the_expected_classes() {
        let expect = [
            (-1001, Retry),
            (-1002, Auth),
            (-1006, OutcomeUnknown),
            (-1007, OutcomeUnknown),
            (-1008, Backoff),
            (-1015, Backoff),
            (-1021, ResyncClock),
            (-1022, Auth),
            (-1121, Fatal),
            (-2010, Replan),
            (-2013, OutcomeUnknown),
            (-2014, Auth),
            (-2015, Auth),
            (-2022, Replan),
            (-4005, ShrinkChunk),
            (-4046, Noop),
            (-4059, Noop),
            (-4061, Replan),
            (-4087, ReduceOnlyRestricted),
            (-4116, OutcomeUnknown),
            (-4118, Replan),
            (-4164, Replan),
            (-4400, ReduceOnlyRestricted),
            (-4401, ReduceOnlyRestricted),
            (-5028, ResyncClock),
        ];
        for (code, class) in expect {
            assert_eq!(classify(400, Some(code), "", PlaceOpen), class, "{code}");
        }
    }

    #[test]
    fn unknown_error_and_opening_block_depend_on_the_request() {
        assert_eq!(classify(500, Some(-1000), "", PlaceOpen), OutcomeUnknown);
        assert_eq!(classify(500, Some(-1000), "", Query), Retry);
        assert_eq!(
            classify(400, Some(-4140), "", PlaceOpen),
            ReduceOnlyRestricted
        );
        assert_eq!(classify(400, Some(-4140), "", PlaceReduce), Replan);
        assert_eq!(
            classify(400, Some(-2011), "Unknown order sent.", Cancel),
            OutcomeUnknown
        );
    }

    #[test]
    fn http_rows_of_the_reference_are_classified() {
        let unknown = "Unknown error, please check your request or try again later.";
        assert_eq!(classify(503, None, unknown, PlaceReduce), OutcomeUnknown);
        assert_eq!(
            classify(503, None, "Service Unavailable.", PlaceReduce),
            Retry
        );
        assert_eq!(
            classify(502, None, "Bad Gateway", PlaceReduce),
            OutcomeUnknown
        );
        assert_eq!(classify(503, None, "Service Unavailable.", Query), Retry);
        assert_eq!(
            classify(503, Some(-1001), "Internal error", PlaceOpen),
            Retry
        );
        assert_eq!(classify(503, Some(-1008), "throttled", PlaceOpen), Backoff);
        assert_eq!(classify(408, None, "", PlaceOpen), OutcomeUnknown);
        assert_eq!(classify(429, Some(-1003), "", Query), Backoff);
        assert_eq!(classify(418, Some(-1003), "banned until 1", Query), Banned);
        assert_eq!(classify(401, Some(-2015), "", Query), Auth);
        assert_eq!(classify(403, None, "<html>", Query), Fatal);
    }

    #[test]
    fn a_code_missing_from_the_table_stops_instead_of_retrying() {
        assert_eq!(classify(400, Some(-4113), "", PlaceOpen), Fatal);
        assert_eq!(classify(400, Some(-4189), "", PlaceOpen), Fatal);
    }

    #[test]
    fn a_timeout_after_sending_an_order_is_outcome_unknown() {
        assert_eq!(classify_transport(true, PlaceReduce), OutcomeUnknown);
        assert_eq!(classify_transport(true, Cancel), OutcomeUnknown);
        assert_eq!(classify_transport(false, PlaceOpen), Retry);
        assert_eq!(classify_transport(true, Query), Retry);
    }
}
