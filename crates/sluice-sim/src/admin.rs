//! The admin API under `/sim/` (never under `/fapi`): inspect the whole venue and the
//! request counters, open/close fault windows, move marks, revoke API keys. Test harnesses
//! and the daemon's end-to-end tests drive the simulator through it.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::faults::FaultWindow;
use crate::server::state::{lock, ActiveWindow, SimState};
use crate::venue::OrderView;

fn ok(v: Value) -> Response {
    (StatusCode::OK, axum::Json(v)).into_response()
}

fn bad(status: StatusCode, msg: String) -> Response {
    (status, axum::Json(json!({ "error": msg }))).into_response()
}

fn order_json(o: &OrderView) -> Value {
    json!({
        "orderId": o.order_id, "symbol": o.symbol, "status": o.status.as_str(),
        "clientOrderId": o.client_order_id, "side": o.side.as_str(),
        "positionSide": o.position_side.as_str(), "type": o.order_type.as_str(),
        "price": o.price.to_string(), "origQty": o.orig_qty.to_string(),
        "executedQty": o.executed_qty.to_string(), "reduceOnly": o.reduce_only,
        "selfTradePreventionMode": o.self_trade_prevention_mode,
        "timeInForce": o.time_in_force.as_str(), "goodTillDate": o.good_till_date,
        "priceMatch": o.price_match,
        "time": o.time, "updateTime": o.update_time,
    })
}

/// `GET /sim/state`.
pub(crate) async fn state(State(s): State<Arc<SimState>>) -> Response {
    let stats: Value = serde_json::from_str(&lock(&s.stats).to_json()).unwrap_or(Value::Null);
    let venue = s.venue();
    let snapshot = venue.snapshot();
    let symbols: Vec<String> = venue.symbols().iter().map(|x| x.name.clone()).collect();
    let accounts: Vec<Value> = snapshot
        .accounts
        .iter()
        .map(|acc| {
            let id = acc.view.account;
            let orders: Vec<Value> = symbols
                .iter()
                .flat_map(|sym| venue.all_orders(id, sym, None, None, None, usize::MAX))
                .map(|o| order_json(&o))
                .collect();
            let open: Vec<Value> = venue.open_orders(id, None).iter().map(order_json).collect();
            let algos: Vec<Value> = venue
                .open_algos(id, None)
                .iter()
                .filter_map(|o| serde_json::from_str(&crate::server::handlers_algo::queried(o)).ok())
                .collect();
            json!({
                "account": id,
                "apiKeys": acc.api_keys,
                "dualSidePosition": acc.view.dual_side_position,
                "balances": acc.view.assets,
                "positions": acc.view.positions.iter().filter(|p| !p.position_amt.is_zero()).collect::<Vec<_>>(),
                "openOrders": open,
                "openAlgoOrders": algos,
                "orders": orders,
                "totalRealizedPnl": acc.total_realized_pnl.to_string(),
                "totalCommission": acc.total_commission.to_string(),
            })
        })
        .collect();
    ok(json!({
        "serverTime": s.clock.wall_ms(),
        "scenarioTimeMs": s.clock.scenario_ms(),
        "timeScale": s.clock.scale(),
        "marks": snapshot.marks,
        "accounts": accounts,
        "ordersTotal": snapshot.orders_total,
        "tradesTotal": snapshot.trades_total,
        "stats": stats,
        "rateLimits": rate_limits(&s),
        "faults": lock(&s.faults).windows.iter().map(|w| json!({
            "from": w.window.from, "until": w.window.until, "profile": w.window.profile, "fired": w.fired,
        })).collect::<Vec<_>>(),
    }))
}

/// The limits and the highest counts so far: request weight per client IP (the peak of
/// one minute window, and the total over all windows), orders per account (10 s and 1 min windows), as the venue counted them.
fn rate_limits(s: &SimState) -> Value {
    let limiter = lock(&s.limiter);
    let cfg = limiter.config();
    let peaks = limiter.peaks();
    json!({
        "requestWeightPerMinute": cfg.request_weight_per_minute,
        "ordersPer10s": cfg.orders_per_10s,
        "ordersPerMinute": cfg.orders_per_minute,
        "ips": peaks.ips.iter().map(|(ip, w, total)| json!({"ip": ip.to_string(), "peakWeight1m": w, "totalWeight": total})).collect::<Vec<_>>(),
        "accounts": peaks.accounts.iter().map(|(a, ten, min)| json!({"account": a, "peakOrders10s": ten, "peakOrders1m": min})).collect::<Vec<_>>(),
    })
}

/// `GET /sim/time`: scenario time.
pub(crate) async fn time(State(s): State<Arc<SimState>>) -> Response {
    ok(
        json!({ "scenarioTimeMs": s.clock.scenario_ms(), "serverTime": s.clock.wall_ms(), "timeScale": s.clock.scale() }),
    )
}

/// `POST /sim/faults`: one window, same keys as the TOML; `from`/`until` count from now.
pub(crate) async fn add_fault(State(s): State<Arc<SimState>>, body: Bytes) -> Response {
    let window: FaultWindow = match serde_json::from_slice(&body) {
        Ok(w) => w,
        Err(e) => {
            return bad(
                StatusCode::BAD_REQUEST,
                format!("invalid fault window: {e}"),
            )
        }
    };
    let mut window = match window.resolved() {
        Ok(w) => w,
        Err(e) => return bad(StatusCode::BAD_REQUEST, e),
    };
    let now = s.clock.scenario_secs();
    window.from += now;
    window.until = window.until.map(|u| u + now);
    let reply = json!({ "from": window.from, "until": window.until });
    lock(&s.faults).windows.push(ActiveWindow {
        window,
        fired: false,
    });
    s.fire_opening_windows();
    ok(reply)
}

/// `DELETE /sim/faults`: removes every window.
pub(crate) async fn clear_faults(State(s): State<Arc<SimState>>) -> Response {
    let removed = {
        let mut f = lock(&s.faults);
        let n = f.windows.len();
        f.windows.clear();
        n
    };
    ok(json!({ "removed": removed }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MarkBody {
    symbol: String,
    mark_price: Decimal,
}

/// `POST /sim/marks {"symbol": "BTCUSDT", "mark_price": "65000.1"}`.
pub(crate) async fn set_mark(State(s): State<Arc<SimState>>, body: Bytes) -> Response {
    let m: MarkBody = match serde_json::from_slice(&body) {
        Ok(m) => m,
        Err(e) => return bad(StatusCode::BAD_REQUEST, format!("invalid mark: {e}")),
    };
    let now = s.clock.wall_ms();
    let stall = s.algo_stall();
    let res = {
        let mut venue = s.venue();
        venue.stall_algo_triggers(stall);
        venue.set_mark(&m.symbol, m.mark_price, now)
    };
    match res {
        Ok(()) => {
            s.flush_user_events();
            ok(json!({ "symbol": m.symbol, "mark_price": m.mark_price.to_string() }))
        }
        Err(r) => bad(StatusCode::BAD_REQUEST, format!("symbol: {}", r.msg)),
    }
}

/// `POST /sim/accounts/<api_key>/revoke`: the key answers `-2015` from now on.
pub(crate) async fn revoke(State(s): State<Arc<SimState>>, Path(key): Path<String>) -> Response {
    if s.venue().revoke_key(&key) {
        ok(json!({ "revoked": true }))
    } else {
        bad(StatusCode::NOT_FOUND, "api_key: no such key".into())
    }
}

/// `POST /sim/accounts/<api_key>/rotate {"api_key": "...", "api_secret": "..."}` (or
/// `"public_key_pem"` for an Ed25519/RSA key: `admin_keys`): the old key (live or already
/// deleted) is replaced by the new one on the same account.
pub(crate) async fn rotate(
    State(s): State<Arc<SimState>>,
    Path(key): Path<String>,
    body: Bytes,
) -> Response {
    let (new_key, auth) = match crate::admin_keys::key_body(&body) {
        Ok(k) => k,
        Err(r) => return r.into_response(),
    };
    if s.venue().rotate_key(&key, &new_key, auth) {
        ok(json!({ "rotated": true }))
    } else {
        bad(StatusCode::NOT_FOUND, "api_key: no such key".into())
    }
}
