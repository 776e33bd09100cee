//! Public market-data handlers: ping, time, exchangeInfo, premiumIndex, bookTicker, depth.

use crate::error::ApiError;
use crate::json::{array, JsonObj};
use crate::server::pipeline::Ctx;
use crate::server::render;
use crate::server::render_info;
use crate::server::state::{lock, SimState};

pub(crate) fn ping(_: &SimState, _: &Ctx) -> Result<String, ApiError> {
    Ok("{}".into())
}

pub(crate) fn time(_: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    let mut j = JsonObj::new();
    j.int("serverTime", ctx.wall_ms);
    Ok(j.finish())
}

pub(crate) fn exchange_info(s: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    let cfg = lock(&s.limiter).config().clone();
    let venue = s.venue();
    Ok(render_info::exchange_info(
        venue.symbols(),
        &cfg,
        ctx.wall_ms,
    ))
}

/// Renders one symbol's row, or every symbol's as an array when none is named.
fn per_symbol<T>(
    s: &SimState,
    ctx: &Ctx,
    get: impl Fn(&crate::venue::Venue, &str) -> Option<T>,
    render: impl Fn(&T) -> String,
) -> Result<String, ApiError> {
    let venue = s.venue();
    match ctx.params.opt("symbol") {
        Some(sym) => get(&venue, sym)
            .map(|v| render(&v))
            .ok_or_else(ApiError::bad_symbol),
        None => {
            let names: Vec<String> = venue.symbols().iter().map(|x| x.name.clone()).collect();
            Ok(array(
                names
                    .iter()
                    .filter_map(|n| get(&venue, n))
                    .map(|v| render(&v)),
            ))
        }
    }
}

pub(crate) fn premium_index(s: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    per_symbol(s, ctx, |v, n| v.mark(n), render::premium_index)
}

pub(crate) fn book_ticker(s: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    per_symbol(s, ctx, |v, n| v.book_ticker(n), render::book_ticker)
}

const DEPTH_LIMITS: [u32; 7] = [5, 10, 20, 50, 100, 500, 1000];

pub(crate) fn depth(s: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    let symbol = ctx.params.req("symbol")?;
    let limit = match ctx.params.opt_i64("limit")? {
        None => 500,
        Some(l) if DEPTH_LIMITS.contains(&(l as u32)) && l > 0 => l as u32,
        Some(_) => return Err(ApiError::new(400, -4021, "Invalid depth limit.")),
    };
    let venue = s.venue();
    venue
        .depth(symbol, limit as usize)
        .map(|d| render::depth(&d))
        .ok_or_else(ApiError::bad_symbol)
}
