//! The endpoint table: method, path, security type, IP weight, order-counter cost and
//! handler for every `/fapi` route the simulator serves (weights from docs/binance-fapi.md §2), plus
//! the one spot-host route preflight reads (`/sapi/v1/account/apiRestrictions`).

use crate::error::ApiError;
use crate::params::Params;
use crate::server::handlers_account as acct;
use crate::server::handlers_algo as algo;
use crate::server::handlers_market as mkt;
use crate::server::handlers_trade as trade;
use crate::server::pipeline::Ctx;
use crate::server::state::SimState;

/// Binance's security types (docs/binance-fapi.md §1.2). MARKET_DATA endpoints are served as NONE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Security {
    None,
    /// API key header only (listenKey endpoints).
    UserStream,
    /// API key + timestamp + signature (TRADE, USER_DATA).
    Signed,
}

pub(crate) type Handler = fn(&SimState, &Ctx) -> Result<String, ApiError>;

pub(crate) struct Endpoint {
    pub method: &'static str,
    pub path: &'static str,
    pub security: Security,
    pub weight: fn(&Params) -> u32,
    /// (ORDERS/10s, ORDERS/1m) cost.
    pub orders: (u32, u32),
    pub handler: Handler,
}

fn w0(_: &Params) -> u32 {
    0
}
fn w1(_: &Params) -> u32 {
    1
}
fn w5(_: &Params) -> u32 {
    5
}
fn w10(_: &Params) -> u32 {
    10
}
fn w30(_: &Params) -> u32 {
    30
}
fn w1_or_10(p: &Params) -> u32 {
    if p.has("symbol") {
        1
    } else {
        10
    }
}
fn w2_or_5(p: &Params) -> u32 {
    if p.has("symbol") {
        2
    } else {
        5
    }
}
fn w1_or_40(p: &Params) -> u32 {
    if p.has("symbol") {
        1
    } else {
        40
    }
}
fn w_depth(p: &Params) -> u32 {
    match p
        .opt("limit")
        .and_then(|l| l.parse::<u32>().ok())
        .unwrap_or(500)
    {
        0..=50 => 2,
        51..=100 => 5,
        101..=500 => 10,
        _ => 20,
    }
}

macro_rules! ep {
    ($m:literal, $p:literal, $s:ident, $w:ident, $o:expr, $h:expr) => {
        Endpoint {
            method: $m,
            path: $p,
            security: Security::$s,
            weight: $w,
            orders: $o,
            handler: $h,
        }
    };
}

pub(crate) static ENDPOINTS: &[Endpoint] = &[
    ep!("GET", "/fapi/v1/ping", None, w1, (0, 0), mkt::ping),
    ep!("GET", "/fapi/v1/time", None, w1, (0, 0), mkt::time),
    ep!(
        "GET",
        "/fapi/v1/exchangeInfo",
        None,
        w1,
        (0, 0),
        mkt::exchange_info
    ),
    ep!(
        "GET",
        "/fapi/v1/premiumIndex",
        None,
        w1_or_10,
        (0, 0),
        mkt::premium_index
    ),
    ep!(
        "GET",
        "/fapi/v1/ticker/bookTicker",
        None,
        w2_or_5,
        (0, 0),
        mkt::book_ticker
    ),
    ep!("GET", "/fapi/v1/depth", None, w_depth, (0, 0), mkt::depth),
    ep!(
        "POST",
        "/fapi/v1/order",
        Signed,
        w0,
        (1, 1),
        trade::new_order
    ),
    ep!(
        "POST",
        "/fapi/v1/order/test",
        Signed,
        w1,
        (0, 0),
        trade::test_order
    ),
    ep!(
        "POST",
        "/fapi/v1/batchOrders",
        Signed,
        w5,
        (5, 1),
        trade::batch_orders
    ),
    ep!(
        "GET",
        "/fapi/v1/order",
        Signed,
        w1,
        (0, 0),
        trade::query_order
    ),
    ep!(
        "DELETE",
        "/fapi/v1/order",
        Signed,
        w1,
        (0, 0),
        trade::cancel_order
    ),
    ep!(
        "GET",
        "/fapi/v1/openOrder",
        Signed,
        w1,
        (0, 0),
        trade::open_order
    ),
    ep!(
        "GET",
        "/fapi/v1/openOrders",
        Signed,
        w1_or_40,
        (0, 0),
        trade::open_orders
    ),
    ep!(
        "DELETE",
        "/fapi/v1/allOpenOrders",
        Signed,
        w1,
        (0, 0),
        trade::cancel_all
    ),
    ep!(
        "GET",
        "/fapi/v1/allOrders",
        Signed,
        w5,
        (0, 0),
        trade::all_orders
    ),
    ep!(
        "GET",
        "/fapi/v1/userTrades",
        Signed,
        w5,
        (0, 0),
        trade::user_trades
    ),
    ep!(
        "POST",
        "/fapi/v1/algoOrder",
        Signed,
        w0,
        (1, 1),
        algo::new_algo_order
    ),
    ep!(
        "GET",
        "/fapi/v1/algoOrder",
        Signed,
        w1,
        (0, 0),
        algo::query_algo_order
    ),
    ep!(
        "DELETE",
        "/fapi/v1/algoOrder",
        Signed,
        w1,
        (0, 0),
        algo::cancel_algo_order
    ),
    ep!(
        "GET",
        "/fapi/v1/openAlgoOrders",
        Signed,
        w1_or_40,
        (0, 0),
        algo::open_algo_orders
    ),
    ep!(
        "DELETE",
        "/fapi/v1/algoOpenOrders",
        Signed,
        w1,
        (0, 0),
        algo::cancel_all_algo_orders
    ),
    ep!(
        "POST",
        "/fapi/v1/countdownCancelAll",
        Signed,
        w10,
        (0, 0),
        algo::countdown_cancel_all
    ),
    ep!(
        "GET",
        "/fapi/v2/account",
        Signed,
        w5,
        (0, 0),
        acct::account_v2
    ),
    ep!(
        "GET",
        "/fapi/v3/account",
        Signed,
        w5,
        (0, 0),
        acct::account_v3
    ),
    ep!("GET", "/fapi/v2/balance", Signed, w5, (0, 0), acct::balance),
    ep!("GET", "/fapi/v3/balance", Signed, w5, (0, 0), acct::balance),
    ep!(
        "GET",
        "/fapi/v2/positionRisk",
        Signed,
        w5,
        (0, 0),
        acct::position_risk_v2
    ),
    ep!(
        "GET",
        "/fapi/v3/positionRisk",
        Signed,
        w5,
        (0, 0),
        acct::position_risk_v3
    ),
    ep!(
        "GET",
        "/fapi/v1/accountConfig",
        Signed,
        w5,
        (0, 0),
        acct::account_config
    ),
    ep!(
        "GET",
        "/fapi/v1/symbolConfig",
        Signed,
        w5,
        (0, 0),
        acct::symbol_config
    ),
    ep!(
        "GET",
        "/fapi/v1/positionSide/dual",
        Signed,
        w30,
        (0, 0),
        acct::get_dual
    ),
    ep!(
        "POST",
        "/fapi/v1/positionSide/dual",
        Signed,
        w1,
        (0, 0),
        acct::set_dual
    ),
    ep!(
        "POST",
        "/fapi/v1/leverage",
        Signed,
        w1,
        (0, 0),
        acct::set_leverage
    ),
    ep!(
        "GET",
        "/fapi/v1/leverageBracket",
        Signed,
        w1,
        (0, 0),
        acct::leverage_bracket
    ),
    ep!(
        "GET",
        "/fapi/v1/multiAssetsMargin",
        Signed,
        w30,
        (0, 0),
        acct::get_multi_assets
    ),
    ep!(
        "POST",
        "/fapi/v1/multiAssetsMargin",
        Signed,
        w1,
        (0, 0),
        acct::set_multi_assets
    ),
    ep!(
        "GET",
        "/fapi/v1/apiTradingStatus",
        Signed,
        w1_or_10,
        (0, 0),
        acct::api_trading_status
    ),
    ep!(
        "GET",
        "/sapi/v1/account/apiRestrictions",
        Signed,
        w1,
        (0, 0),
        crate::server::handlers_key::api_restrictions
    ),
    ep!(
        "GET",
        "/fapi/v1/rateLimit/order",
        Signed,
        w1,
        (0, 0),
        acct::rate_limit_order
    ),
    ep!(
        "POST",
        "/fapi/v1/listenKey",
        UserStream,
        w1,
        (0, 0),
        acct::listen_key_create
    ),
    ep!(
        "PUT",
        "/fapi/v1/listenKey",
        UserStream,
        w1,
        (0, 0),
        acct::listen_key_keepalive
    ),
    ep!(
        "DELETE",
        "/fapi/v1/listenKey",
        UserStream,
        w1,
        (0, 0),
        acct::listen_key_close
    ),
];

/// The endpoint serving `method path`.
pub(crate) fn find(method: &str, path: &str) -> Option<&'static Endpoint> {
    ENDPOINTS
        .iter()
        .find(|e| e.method == method && e.path == path)
}
