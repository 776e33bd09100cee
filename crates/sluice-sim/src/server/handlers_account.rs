//! Account, configuration and listenKey handlers.

use crate::error::ApiError;
use crate::json::{array, JsonObj};
use crate::server::pipeline::Ctx;
use crate::server::render;
use crate::server::render_info;
use crate::server::state::{lock, Control, SimState};
use crate::venue::AccountView;

fn view(s: &SimState, ctx: &Ctx) -> Result<AccountView, ApiError> {
    s.venue()
        .account(ctx.account)
        .ok_or_else(ApiError::rejected_key)
}

fn success() -> String {
    let mut j = JsonObj::new();
    j.int("code", 200).str("msg", "success");
    j.finish()
}

pub(crate) fn account_v2(s: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    Ok(render::account_v2(&view(s, ctx)?))
}

pub(crate) fn account_v3(s: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    Ok(render::account_v3(&view(s, ctx)?))
}

pub(crate) fn balance(s: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    Ok(render::balances(&view(s, ctx)?))
}

/// Position rows, optionally for one symbol (`-1121` if unknown).
fn positions<'a>(
    ctx: &Ctx,
    v: &'a AccountView,
    s: &SimState,
) -> Result<impl Iterator<Item = &'a crate::venue::PositionView>, ApiError> {
    let symbol = ctx.params.opt("symbol").map(str::to_owned);
    if let Some(sym) = &symbol {
        s.venue().symbol(sym).ok_or_else(ApiError::bad_symbol)?;
    }
    Ok(v.positions
        .iter()
        .filter(move |p| symbol.as_ref().is_none_or(|x| *x == p.symbol)))
}

pub(crate) fn position_risk_v2(s: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    let v = view(s, ctx)?;
    let rows: Vec<String> = positions(ctx, &v, s)?
        .map(render::position_risk_v2)
        .collect();
    Ok(array(rows))
}

pub(crate) fn position_risk_v3(s: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    let v = view(s, ctx)?;
    let rows: Vec<String> = positions(ctx, &v, s)?
        .filter(|p| p.active)
        .map(render::position_risk_v3)
        .collect();
    Ok(array(rows))
}

pub(crate) fn account_config(s: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    let v = view(s, ctx)?;
    let mut j = JsonObj::new();
    j.int("feeTier", i64::from(v.fee_tier))
        .bool("canTrade", v.can_trade)
        .bool("canDeposit", v.can_deposit)
        .bool("canWithdraw", v.can_withdraw)
        .bool("dualSidePosition", v.dual_side_position)
        .int("updateTime", 0)
        .bool("multiAssetsMargin", v.multi_assets_margin)
        .int("tradeGroupId", -1);
    Ok(j.finish())
}

pub(crate) fn symbol_config(s: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    let v = view(s, ctx)?;
    let mut seen = std::collections::HashSet::new();
    let rows = positions(ctx, &v, s)?
        .filter(|p| seen.insert(p.symbol.clone()))
        .map(|p| {
            let mut j = JsonObj::new();
            j.str("symbol", &p.symbol)
                .str(
                    "marginType",
                    if p.isolated { "ISOLATED" } else { "CROSSED" },
                )
                .bool("isAutoAddMargin", false)
                .int("leverage", i64::from(p.leverage))
                .dec("maxNotionalValue", p.max_notional, 0);
            j.finish()
        });
    Ok(array(rows.collect::<Vec<_>>()))
}

pub(crate) fn get_dual(s: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    let mut j = JsonObj::new();
    j.bool("dualSidePosition", view(s, ctx)?.dual_side_position);
    Ok(j.finish())
}

fn req_flag(ctx: &Ctx, name: &str) -> Result<bool, ApiError> {
    ctx.params
        .opt_bool(name)?
        .ok_or_else(|| ApiError::mandatory(name))
}

pub(crate) fn set_dual(s: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    let hedge = req_flag(ctx, "dualSidePosition")?;
    s.venue().set_dual_side(ctx.account, hedge)?;
    Ok(success())
}

pub(crate) fn get_multi_assets(s: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    let mut j = JsonObj::new();
    j.bool("multiAssetsMargin", view(s, ctx)?.multi_assets_margin);
    Ok(j.finish())
}

pub(crate) fn set_multi_assets(s: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    let on = req_flag(ctx, "multiAssetsMargin")?;
    s.venue().set_multi_assets(ctx.account, on, ctx.wall_ms)?;
    Ok(success())
}

pub(crate) fn set_leverage(s: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    let symbol = ctx.params.req("symbol")?;
    let lev = ctx.params.req_i64("leverage")?;
    let lev = u32::try_from(lev)
        .map_err(|_| ApiError::new(400, -4028, format!("Leverage {lev} is not valid")))?;
    let l = s
        .venue()
        .set_leverage(ctx.account, symbol, lev, ctx.wall_ms)?;
    Ok(render::leverage(&l))
}

pub(crate) fn leverage_bracket(s: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    let venue = s.venue();
    match ctx.params.opt("symbol") {
        Some(sym) => venue
            .symbol(sym)
            .map(render_info::leverage_bracket)
            .ok_or_else(ApiError::bad_symbol),
        None => Ok(array(
            venue.symbols().iter().map(render_info::leverage_bracket),
        )),
    }
}

/// `GET /fapi/v1/apiTradingStatus`: IP weight 1 with a `symbol`, 10 without (the route's
/// weight function; docs/binance-fapi.md §2.3). The answer is
/// `{"indicators": {"<SYMBOL>": [...], "ACCOUNT": [...]}, "updateTime"}` either way, with
/// indicators only for what is locked (Binance lists the triggered ones). With a `symbol`,
/// only that symbol's are listed; the `ACCOUNT` one is kept (a locked account locks every
/// symbol).
pub(crate) fn api_trading_status(s: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    let permissions = s
        .venue()
        .permissions(ctx.account)
        .cloned()
        .ok_or_else(ApiError::rejected_key)?;
    let symbol = ctx.params.opt("symbol");
    let mut indicators = JsonObj::new();
    if permissions.trading_locked {
        indicators.raw("ACCOUNT", &array([locked_indicator("TMV", ctx.wall_ms)]));
    }
    for sym in &permissions.locked_symbols {
        if symbol.is_none_or(|x| x == sym) {
            indicators.raw(sym, &array([locked_indicator("UFR", ctx.wall_ms)]));
        }
    }
    let mut j = JsonObj::new();
    j.raw("indicators", &indicators.finish())
        .int("updateTime", ctx.wall_ms);
    Ok(j.finish())
}

fn locked_indicator(name: &str, now_ms: i64) -> String {
    let mut j = JsonObj::new();
    j.bool("isLocked", true)
        .int("plannedRecoverTime", now_ms + 10 * 60 * 1000)
        .str("indicator", name)
        .raw("value", "0.99")
        .raw("triggerValue", "0.99");
    j.finish()
}

pub(crate) fn rate_limit_order(s: &SimState, _: &Ctx) -> Result<String, ApiError> {
    Ok(render_info::order_rate_limits(lock(&s.limiter).config()))
}

fn listen_key_json(key: &str) -> String {
    let mut j = JsonObj::new();
    j.str("listenKey", key);
    j.finish()
}

pub(crate) fn listen_key_create(s: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    let now = s.clock.scenario_ms();
    let key = lock(&s.listen_keys).create(ctx.account, now, &mut *lock(&s.key_rng));
    Ok(listen_key_json(&key))
}

pub(crate) fn listen_key_keepalive(s: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    let now = s.clock.scenario_ms();
    let key = lock(&s.listen_keys).keepalive(ctx.account, now)?;
    Ok(listen_key_json(&key))
}

pub(crate) fn listen_key_close(s: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    if let Some(key) = lock(&s.listen_keys).close(ctx.account) {
        // No receivers is fine: nobody was connected.
        let _ = s.control_tx.send(Control::KeysInvalidated(vec![key]));
    }
    Ok("{}".into())
}
