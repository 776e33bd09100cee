//! Order handlers: place (single, test, batch), query, cancel, open/all orders, trades.
//! Each holds the venue lock for one synchronous call.

use crate::error::ApiError;
use crate::json::{array, JsonObj};
use crate::server::order_params::{parse_batch, parse_new_order};
use crate::server::pipeline::Ctx;
use crate::server::render::{self, OrderShape};
use crate::server::state::SimState;

pub(crate) fn place(
    s: &SimState,
    ctx: &Ctx,
    p: &crate::params::Params,
    test: bool,
) -> Result<String, ApiError> {
    let order = parse_new_order(p)?;
    let view = s
        .venue()
        .place_order(ctx.account, order, test, ctx.wall_ms)?;
    if test {
        return Ok("{}".into());
    }
    Ok(render::order(&view, s.placed_shape()))
}

pub(crate) fn new_order(s: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    place(s, ctx, &ctx.params, false)
}

/// `order/test`: validated like a real order, nothing is placed; `{}` on success.
pub(crate) fn test_order(s: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    place(s, ctx, &ctx.params, true)
}

/// `batchOrders`: HTTP 200 with one element per input, an order or `{"code","msg"}`.
pub(crate) fn batch_orders(s: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    let items = parse_batch(&ctx.params)?;
    let rendered = items.iter().map(|p| match place(s, ctx, p, false) {
        Ok(body) => body,
        Err(e) => e.body(),
    });
    Ok(array(rendered.collect::<Vec<_>>()))
}

/// `symbol` plus `orderId` or `origClientOrderId` (`-1102 orderId` when neither is sent).
fn order_ref(ctx: &Ctx) -> Result<(&str, Option<i64>, Option<&str>), ApiError> {
    let symbol = ctx.params.req("symbol")?;
    let id = ctx.params.opt_i64("orderId")?;
    let cid = ctx.params.opt("origClientOrderId");
    if id.is_none() && cid.is_none() {
        return Err(ApiError::new(
            400,
            -1102,
            "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
        ));
    }
    Ok((symbol, id, cid))
}

pub(crate) fn query_order(s: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    let (symbol, id, cid) = order_ref(ctx)?;
    let view = s.venue().order(ctx.account, symbol, id, cid)?;
    Ok(render::order(&view, OrderShape::Queried))
}

/// `openOrder`: like `order`, but a closed order is `-2013` too.
pub(crate) fn open_order(s: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    let (symbol, id, cid) = order_ref(ctx)?;
    let view = s.venue().order(ctx.account, symbol, id, cid)?;
    if !view.status.is_open() {
        return Err(ApiError::new(400, -2013, "Order does not exist."));
    }
    Ok(render::order(&view, OrderShape::Queried))
}

pub(crate) fn cancel_order(s: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    let (symbol, id, cid) = order_ref(ctx)?;
    let view = s
        .venue()
        .cancel_order(ctx.account, symbol, id, cid, ctx.wall_ms)?;
    Ok(render::order(&view, s.placed_shape()))
}

pub(crate) fn open_orders(s: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    let symbol = ctx.params.opt("symbol");
    let venue = s.venue();
    if let Some(sym) = symbol {
        venue.symbol(sym).ok_or_else(ApiError::bad_symbol)?;
    }
    Ok(render::orders(
        &venue.open_orders(ctx.account, symbol),
        OrderShape::Queried,
    ))
}

pub(crate) fn cancel_all(s: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    let symbol = ctx.params.req("symbol")?;
    s.venue().cancel_all(ctx.account, symbol, ctx.wall_ms)?;
    let mut j = JsonObj::new();
    j.int("code", 200)
        .str("msg", "The operation of cancel all open order is done.");
    Ok(j.finish())
}

/// `limit` default `default`, at most `max`.
fn limit(ctx: &Ctx, default: usize, max: usize) -> Result<usize, ApiError> {
    Ok(ctx
        .params
        .opt_i64("limit")?
        .map_or(default, |l| (l.max(1) as usize).min(max)))
}

pub(crate) fn all_orders(s: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    let p = &ctx.params;
    let symbol = p.req("symbol")?;
    let lim = limit(ctx, 500, 1000)?;
    let (from, start, end) = (
        p.opt_i64("orderId")?,
        p.opt_i64("startTime")?,
        p.opt_i64("endTime")?,
    );
    let venue = s.venue();
    venue.symbol(symbol).ok_or_else(ApiError::bad_symbol)?;
    let list = venue.all_orders(ctx.account, symbol, from, start, end, lim);
    Ok(render::orders(&list, OrderShape::Queried))
}

pub(crate) fn user_trades(s: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    let p = &ctx.params;
    let symbol = p.req("symbol")?;
    let lim = limit(ctx, 500, 1000)?;
    let (from, start, end) = (
        p.opt_i64("fromId")?,
        p.opt_i64("startTime")?,
        p.opt_i64("endTime")?,
    );
    if from.is_some() && (start.is_some() || end.is_some()) {
        return Err(ApiError::new(
            400,
            -1128,
            "Combination of optional parameters invalid.",
        ));
    }
    trade_window(ctx.wall_ms, start, end)?;
    let venue = s.venue();
    venue.symbol(symbol).ok_or_else(ApiError::bad_symbol)?;
    let list = venue.user_trades(ctx.account, symbol, from, start, end, lim);
    if list
        .first()
        .is_some_and(|t| t.time < ctx.wall_ms - USER_TRADES_RETENTION_MS)
    {
        // A fromId reaching into trades Binance no longer keeps: refused like a startTime.
        return Err(too_old("fromId"));
    }
    Ok(array(list.iter().map(render::trade)))
}

/// userTrades covers only the past 3 months since 2026-08-26 (docs/binance-fapi.md §0);
/// 90 days is the shortest reading of "3 months", so the strictest.
pub(crate) const USER_TRADES_RETENTION_MS: i64 = 90 * 24 * 3_600_000;
/// startTime..endTime may span at most 7 days (docs/binance-fapi.md §2).
pub(crate) const USER_TRADES_MAX_SPAN_MS: i64 = 7 * 24 * 3_600_000;

/// What Binance does with an out-of-range startTime is unverified; the simulator takes
/// the stricter case and refuses it (-1130, the generic invalid-parameter code) rather
/// than silently returning less, so a client that asks for too much is seen.
fn too_old(param: &str) -> ApiError {
    ApiError::new(
        400,
        -1130,
        format!(
            "Data sent for parameter '{param}' is not valid: userTrades covers only the past 3 months."
        ),
    )
}

fn trade_window(now_ms: i64, start: Option<i64>, end: Option<i64>) -> Result<(), ApiError> {
    if start.is_some_and(|t| t < now_ms - USER_TRADES_RETENTION_MS) {
        return Err(too_old("startTime"));
    }
    let span = match (start, end) {
        (Some(s), Some(e)) => e - s,
        // startTime alone: the 7 days from it; neither: the last 7 days.
        _ => 0,
    };
    if span > USER_TRADES_MAX_SPAN_MS {
        return Err(ApiError::new(
            400,
            -1127,
            "More than 7 days between startTime and endTime.",
        ));
    }
    Ok(())
}
