//! The request pipeline every `/fapi` call goes through, in Binance's order: IP weight
//! (429/418), parameters, authentication (API key, timestamp window, signature), the
//! account's order counters (429 -1015), injected faults, the endpoint's handler; then the
//! `X-MBX-*` headers and the `/sim/state` counters. Transport-free: the axum layer only
//! converts [`HttpOut`] to a response, so tests can drive it directly.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::auth;
use crate::error::ApiError;
use crate::faults::FaultOutcome;
use crate::params::Params;
use crate::server::endpoints::{self, Endpoint, Security};
use crate::server::order_params;
use crate::server::state::{lock, SimState};
use crate::venue::AccountId;

/// What a handler sees.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub params: Params,
    /// The authenticated account (0 for unauthenticated endpoints, which never read it).
    pub account: AccountId,
    pub wall_ms: i64,
}

/// A finished HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpOut {
    /// The HTTP status.
    pub status: u16,
    /// The Binance error code of an error answer, for the counters.
    pub code: Option<i64>,
    /// The JSON body.
    pub body: String,
    /// The `X-MBX-*` (and `Retry-After`) headers.
    pub headers: Vec<(&'static str, String)>,
}

impl HttpOut {
    fn error(e: &ApiError) -> HttpOut {
        HttpOut {
            status: e.http,
            code: Some(e.code),
            body: e.body(),
            headers: Vec::new(),
        }
    }
}

/// The raw request as it came off the wire.
#[derive(Debug, Clone, Copy)]
pub struct RawRequest<'a> {
    /// `GET`, `POST`, `PUT` or `DELETE`.
    pub method: &'a str,
    /// The path, e.g. `/fapi/v1/order`.
    pub path: &'a str,
    /// The query string without `?` (signed requests carry `signature` here or in the body).
    pub query: &'a str,
    /// The form-encoded body.
    pub body: &'a str,
    /// The caller's address (IP rate limits, the key's IP whitelist).
    pub ip: IpAddr,
    /// The `X-MBX-APIKEY` header.
    pub api_key: Option<&'a str>,
}

/// Runs one request through the whole pipeline.
pub(crate) async fn handle(state: &Arc<SimState>, req: RawRequest<'_>) -> HttpOut {
    handle_with(state, req, Signature::InRequest).await
}

/// Where a signed request's signature was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signature {
    /// REST: the `signature` parameter over the raw query + body (checked here).
    InRequest,
    /// The WebSocket API checked it over its sorted params (or its session is logged
    /// on); the key, its permissions and the timestamp are still checked here.
    Verified,
}

/// As [`handle`], with the signature checked by the caller (`wsapi`).
pub(crate) async fn handle_with(
    state: &Arc<SimState>,
    req: RawRequest<'_>,
    signature: Signature,
) -> HttpOut {
    let Some(ep) = endpoints::find(req.method, req.path) else {
        let out = HttpOut::error(&ApiError::not_found());
        record(state, &format!("{} {}", req.method, req.path), &out);
        return out;
    };
    let name = format!("{} {}", ep.method, ep.path);
    let (mut out, weight_used, account) = run(state, ep, &req, signature).await;
    out.headers
        .push(("X-MBX-USED-WEIGHT-1M", weight_used.to_string()));
    if let (Some(a), true) = (account, ep.orders != (0, 0)) {
        let (ten, min) = lock(&state.limiter).order_counts(a, state.clock.scenario_ms());
        out.headers.push(("X-MBX-ORDER-COUNT-10S", ten.to_string()));
        out.headers.push(("X-MBX-ORDER-COUNT-1M", min.to_string()));
    }
    if ep.method != "GET" {
        state.flush_user_events();
    }
    record(state, &name, &out);
    out
}

fn record(state: &SimState, name: &str, out: &HttpOut) {
    lock(&state.stats).record(name, out.status, out.code);
}

/// Returns the answer, the IP weight used this minute, and the account if authenticated.
async fn run(
    state: &Arc<SimState>,
    ep: &'static Endpoint,
    req: &RawRequest<'_>,
    signature: Signature,
) -> (HttpOut, u32, Option<AccountId>) {
    let parsed = Params::parse(req.query, req.body);
    let weight = parsed.as_ref().map_or(1, |p| (ep.weight)(p));
    let clock = state.clock;
    let now_scn = clock.scenario_ms();
    let admitted =
        lock(&state.limiter).admit_ip(req.ip, weight, now_scn, |t| clock.scenario_to_wall_ms(t));
    let used = match admitted {
        Ok(used) => used,
        Err(refusal) => {
            let mut out = HttpOut::error(&refusal.error);
            out.headers
                .push(("Retry-After", retry_after(state, refusal.until_ms, now_scn)));
            return (out, refusal.weight_1m, None);
        }
    };
    let params = match parsed {
        Ok(p) => p,
        Err(e) => return (HttpOut::error(&e), used, None),
    };
    let wall_ms = clock.wall_ms();
    let account = match authenticate(state, ep.security, &params, req, wall_ms, signature) {
        Ok(a) => a,
        Err(e) => return (HttpOut::error(&e), used, None),
    };
    if let (Some(a), (n10, n1m)) = (account, ep.orders) {
        if n10 + n1m > 0 {
            let admitted = lock(&state.limiter).admit_orders(a, n10, n1m, now_scn);
            if let Err(r) = admitted {
                let mut out = HttpOut::error(&r.error);
                out.headers
                    .push(("Retry-After", retry_after(state, r.until_ms, now_scn)));
                return (out, used, account);
            }
        }
    }
    let ctx = Ctx {
        params,
        account: account.unwrap_or(0),
        wall_ms,
    };
    (with_faults(state, ep, &ctx).await, used, account)
}

/// Whole real seconds (at least 1) until scenario time `until_ms`, rounded UP: a client
/// that waits exactly this long must not arrive before the window ends.
fn retry_after(state: &SimState, until_ms: i64, now_scn: i64) -> String {
    let left = Duration::from_millis((until_ms - now_scn).max(0) as u64);
    retry_after_secs(state.clock.real(left)).to_string()
}

fn retry_after_secs(left: Duration) -> u64 {
    let whole = left.as_secs();
    let rounded = if left.subsec_nanos() > 0 {
        whole + 1
    } else {
        whole
    };
    rounded.max(1)
}

fn authenticate(
    state: &SimState,
    security: Security,
    params: &Params,
    req: &RawRequest<'_>,
    wall_ms: i64,
    signature: Signature,
) -> Result<Option<AccountId>, ApiError> {
    if security == Security::None {
        return Ok(None);
    }
    let key = auth::check_key_format(req.api_key)?;
    let (account, key_auth) = {
        let venue = state.venue();
        let (a, s) = venue
            .account_by_key(key)
            .ok_or_else(ApiError::rejected_key)?;
        // An IP whitelist that excludes the caller: Binance answers -2015 for any keyed call.
        // Without "Enable Futures" the key exists (spot answers) but /fapi refuses it alike.
        let futures_refused = req.path.starts_with("/fapi/")
            && venue.permissions(a).is_some_and(|p| !p.futures_enabled);
        if futures_refused || venue.permissions(a).is_some_and(|p| p.ip_restricted) {
            return Err(ApiError::rejected_key());
        }
        (a, s.clone())
    };
    if security == Security::Signed {
        auth::check_timestamp(params, wall_ms)?;
        if signature == Signature::InRequest {
            auth::verify_signature(&key_auth, params, req.query, req.body)?;
        }
    }
    Ok(Some(account))
}

async fn with_faults(state: &Arc<SimState>, ep: &'static Endpoint, ctx: &Ctx) -> HttpOut {
    if ep.path == "/fapi/v1/batchOrders" {
        match crate::server::batch_faults::batch_with_faults(state, ep, ctx).await {
            Some(Ok(out)) => return out,
            Some(Err((e, lifts_at))) => return throttled(state, &e, lifts_at),
            None => {}
        }
    }
    let order_type = ctx.params.opt("type");
    let symbol = ctx.params.opt("symbol");
    let window = state.active_fault(ep.method, ep.path, symbol);
    let Some(window) = window.filter(|w| w.matches_order_type(order_type)) else {
        return answer((ep.handler)(state, ctx));
    };
    if window.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(window.latency_ms)).await;
    }
    let reducing = reducing(ep, &ctx.params);
    let outcome = window.draw(&mut lock(&state.faults).rng, reducing);
    match outcome {
        None => answer((ep.handler)(state, ctx)),
        Some(FaultOutcome::Refuse(e)) => {
            count_fault(state, e.code);
            HttpOut::error(&e)
        }
        Some(FaultOutcome::Throttle(e, lifts_at)) => {
            count_fault(state, e.code);
            throttled(state, &e, lifts_at)
        }
        Some(FaultOutcome::ExecuteThenFail(e)) => {
            let executed = (ep.handler)(state, ctx).is_ok();
            let mut stats = lock(&state.stats);
            *stats.faults_injected.entry(e.code).or_default() += 1;
            if executed {
                stats.executed_despite_error += 1;
            }
            HttpOut::error(&e)
        }
    }
}

/// A throttle's answer: the error and a `Retry-After` until it lifts (a minute if open-ended).
fn throttled(state: &SimState, e: &crate::error::ApiError, lifts_at: Option<i64>) -> HttpOut {
    let now_scn = state.clock.scenario_ms();
    let until_ms = lifts_at.unwrap_or(now_scn + 60_000);
    let mut out = HttpOut::error(e);
    out.headers
        .push(("Retry-After", retry_after(state, until_ms, now_scn)));
    out
}

fn count_fault(state: &SimState, code: i64) {
    *lock(&state.stats).faults_injected.entry(code).or_default() += 1;
}

/// Whether a request only reduces exposure (batch: every element does).
fn reducing(ep: &Endpoint, params: &Params) -> bool {
    if ep.path == "/fapi/v1/batchOrders" {
        return order_params::parse_batch(params)
            .is_ok_and(|items| items.iter().all(order_params::is_reducing));
    }
    order_params::is_reducing(params)
}

fn answer(r: Result<String, ApiError>) -> HttpOut {
    match r {
        Ok(body) => HttpOut {
            status: 200,
            code: None,
            body,
            headers: Vec::new(),
        },
        Err(e) => HttpOut::error(&e),
    }
}

#[cfg(test)]
mod retry_after_tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_so_a_client_never_returns_early() {
        assert_eq!(retry_after_secs(Duration::from_millis(1_001)), 2);
        assert_eq!(retry_after_secs(Duration::from_millis(2_000)), 2);
        assert_eq!(retry_after_secs(Duration::from_millis(0)), 1);
    }
}
