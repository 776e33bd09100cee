//! The `drop_ws_api` fault: a WebSocket API order request whose socket is closed instead
//! of answered, as when the venue's gateway drops a connection with requests in flight.
//! The request ran first with probability `executed_share` (then only the client cannot
//! know it did); requests the connection had not answered yet stay unanswered, since the
//! socket serves one request at a time and closes right after this one.

use std::net::IpAddr;
use std::sync::Arc;

use rand::Rng;
use serde_json::Value;

use super::request::{order_method, Reply, Session};
use crate::server::state::{lock, SimState};

pub(super) async fn drop_after(
    state: &Arc<SimState>,
    ip: IpAddr,
    session: &mut Session,
    params: Vec<(String, String)>,
    rest: (&'static str, &'static str),
) -> Reply {
    let symbol = params
        .iter()
        .find(|(k, _)| k == "symbol")
        .map(|(_, v)| v.as_str());
    let share = state
        .active_fault(rest.0, rest.1, symbol)
        .map_or(0.0, |w| w.executed_share);
    let executed = lock(&state.faults).rng.gen::<f64>() < share;
    if executed {
        // The answer is never sent: the socket closes instead.
        let _ = order_method(state, ip, session, &Value::Null, params, rest).await;
    }
    *lock(&state.stats)
        .faults_injected
        .entry(DROP_CODE)
        .or_default() += 1;
    Reply::Drop
}

/// The key `/sim/state` counts these drops under in `faultsInjected` (not a venue code).
pub(crate) const DROP_CODE: i64 = 0;
