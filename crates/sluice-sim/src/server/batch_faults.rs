//! Fault windows applied to `batchOrders` one element at a time, as they apply to a lone
//! order: each element is matched by its own `symbol` and `type` (a window on
//! `POST /fapi/v1/order` covers the orders of a batch too) and draws its own outcome, so
//! one element may be refused with -1008 while the next executes. A refused element
//! answers `{code, msg}` in its slot of the HTTP 200 array. A throttle (429) and the
//! window's latency stay whole-request: the venue refuses or delays the request, not an
//! element. Stricter than a single draw per batch: a client cannot dodge a fault window
//! by batching. A reduce-only restriction keeps refusing a batch with any opening element
//! whole (the pipeline's request-level path).

use std::sync::Arc;
use std::time::Duration;

use crate::faults::{FaultOutcome, FaultWindow};
use crate::json::array;
use crate::params::Params;
use crate::server::endpoints::Endpoint;
use crate::server::handlers_trade::place;
use crate::server::order_params::{is_reducing, parse_batch};
use crate::server::pipeline::{Ctx, HttpOut};
use crate::server::state::{lock, SimState};

/// The window that applies to one element, if any.
fn window_for(state: &SimState, ep: &Endpoint, p: &Params) -> Option<FaultWindow> {
    let symbol = p.opt("symbol");
    state
        .active_fault(ep.method, ep.path, symbol)
        .or_else(|| state.active_fault("POST", "/fapi/v1/order", symbol))
        .filter(|w| w.matches_order_type(p.opt("type")))
}

/// `batchOrders` under faults. None: the request-level path applies (no window applies to
/// any element, or a reduce-only restriction meets an opening element).
pub(crate) async fn batch_with_faults(
    state: &Arc<SimState>,
    ep: &'static Endpoint,
    ctx: &Ctx,
) -> Option<Result<HttpOut, (crate::error::ApiError, Option<i64>)>> {
    let items = parse_batch(&ctx.params).ok()?;
    let windows: Vec<Option<FaultWindow>> =
        items.iter().map(|p| window_for(state, ep, p)).collect();
    let restricted = windows
        .iter()
        .flatten()
        .any(|w| w.restrict_to_reduce_only.is_some());
    if restricted && !items.iter().all(is_reducing) {
        return None;
    }
    let latency = windows.iter().flatten().map(|w| w.latency_ms).max()?;
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let mut bodies = Vec::with_capacity(items.len());
    for (p, w) in items.iter().zip(&windows) {
        let outcome = w
            .as_ref()
            .and_then(|w| w.draw(&mut lock(&state.faults).rng, is_reducing(p)));
        let body = match outcome {
            None => place(state, ctx, p, false).unwrap_or_else(|e| e.body()),
            Some(FaultOutcome::Refuse(e)) => {
                count(state, e.code, false);
                e.body()
            }
            Some(FaultOutcome::Throttle(e, lifts_at)) => {
                count(state, e.code, false);
                return Some(Err((e, lifts_at)));
            }
            Some(FaultOutcome::ExecuteThenFail(e)) => {
                let executed = place(state, ctx, p, false).is_ok();
                count(state, e.code, executed);
                e.body()
            }
        };
        bodies.push(body);
    }
    Some(Ok(HttpOut {
        status: 200,
        code: None,
        body: array(bodies),
        headers: Vec::new(),
    }))
}

fn count(state: &SimState, code: i64, executed: bool) {
    let mut stats = lock(&state.stats);
    *stats.faults_injected.entry(code).or_default() += 1;
    if executed {
        stats.executed_despite_error += 1;
    }
}
