//! The Algo Service endpoints (docs/binance-fapi.md §2.4): place, query, cancel one,
//! the open list and cancel-all, rendered in the key order of Binance's documented
//! answers; and the dead-man's switch `countdownCancelAll` (§2.5). Each holds the venue
//! lock for one synchronous call.

use crate::error::ApiError;
use crate::json::{array, JsonObj};
use crate::params::Params;
use crate::server::order_params::{decimal, flag};
use crate::server::pipeline::Ctx;
use crate::server::state::SimState;
use crate::venue::{AlgoOrder, NewAlgo};

/// Parses `POST /fapi/v1/algoOrder`'s parameters (syntax only; rules are the venue's).
pub(crate) fn parse_new_algo(p: &Params) -> Result<NewAlgo, ApiError> {
    let (quantity, quantity_raw) = decimal(p, "quantity")?;
    let (trigger_price, trigger_price_raw) = decimal(p, "triggerPrice")?;
    match p.opt("newOrderRespType") {
        None | Some("ACK" | "RESULT") => {}
        Some(_) => return Err(ApiError::new(400, -1136, "Invalid newOrderRespType")),
    }
    Ok(NewAlgo {
        algo_type: p.req("algoType")?.to_owned(),
        symbol: p.req("symbol")?.to_owned(),
        side: p.req("side")?.to_owned(),
        position_side: p.opt("positionSide").map(str::to_owned),
        order_type: p.req("type")?.to_owned(),
        quantity,
        quantity_raw,
        trigger_price,
        trigger_price_raw,
        working_type: p.opt("workingType").map(str::to_owned),
        close_position: flag(p, "closePosition")?,
        reduce_only: flag(p, "reduceOnly")?,
        price_protect: flag(p, "priceProtect")?,
        client_algo_id: p.opt("clientAlgoId").map(str::to_owned),
    })
}

/// The fields every algo order answer shares, up to `algoStatus`.
fn head(j: &mut JsonObj, o: &AlgoOrder) {
    j.int("algoId", o.algo_id)
        .str("clientAlgoId", &o.client_algo_id)
        .str("algoType", "CONDITIONAL")
        .str("orderType", o.kind.as_str())
        .str("symbol", &o.symbol)
        .str("side", o.side.as_str())
        .str("positionSide", o.position_side.as_str())
        .str("timeInForce", "GTC")
        .dec("quantity", o.quantity, o.quantity_precision)
        .str("algoStatus", o.status.as_str());
}

fn tail(j: &mut JsonObj, o: &AlgoOrder) {
    j.str("selfTradePreventionMode", "EXPIRE_MAKER")
        .str("workingType", o.working_type)
        .str("priceMatch", "NONE")
        .bool("closePosition", o.close_position)
        .bool("priceProtect", o.price_protect)
        .bool("reduceOnly", o.reduce_only);
}

/// The answer to `POST /fapi/v1/algoOrder`.
pub(crate) fn placed(o: &AlgoOrder) -> String {
    let pp = o.price_precision;
    let mut j = JsonObj::new();
    head(&mut j, o);
    j.dec("triggerPrice", o.trigger_price, pp)
        .dec("price", rust_decimal::Decimal::ZERO, pp)
        .null("icebergQuantity");
    tail(&mut j, o);
    j.str("activatePrice", "")
        .str("callbackRate", "")
        .int("createTime", o.create_time)
        .int("updateTime", o.update_time)
        .int("triggerTime", o.trigger_time)
        .int("goodTillDate", 0);
    j.finish()
}

/// An algo order as `GET /fapi/v1/algoOrder` and `openAlgoOrders` show it, with the
/// resulting order (`actualOrderId`, empty before the trigger).
pub(crate) fn queried(o: &AlgoOrder) -> String {
    let pp = o.price_precision;
    let zero = rust_decimal::Decimal::ZERO;
    let mut j = JsonObj::new();
    head(&mut j, o);
    j.str(
        "actualOrderId",
        &o.actual_order_id.map_or(String::new(), |i| i.to_string()),
    )
    .dec("actualPrice", o.actual_price, pp + 3)
    .dec("triggerPrice", o.trigger_price, pp)
    .dec("price", zero, pp)
    .null("icebergQuantity")
    .dec("tpTriggerPrice", zero, pp)
    .dec("tpPrice", zero, pp)
    .dec("slTriggerPrice", zero, pp)
    .dec("slPrice", zero, pp)
    .str("tpOrderType", "");
    tail(&mut j, o);
    j.int("createTime", o.create_time)
        .int("updateTime", o.update_time)
        .int("triggerTime", o.trigger_time)
        .int("goodTillDate", 0);
    j.finish()
}

pub(crate) fn new_algo_order(s: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    let order = parse_new_algo(&ctx.params)?;
    let placed_order = s.venue().place_algo(ctx.account, order, ctx.wall_ms)?;
    Ok(placed(&placed_order))
}

/// `algoId` or `clientAlgoId` (`-1102 algoId` when neither is sent).
fn algo_ref(ctx: &Ctx) -> Result<(Option<i64>, Option<&str>), ApiError> {
    let id = ctx.params.opt_i64("algoId")?;
    let cid = ctx.params.opt("clientAlgoId");
    if id.is_none() && cid.is_none() {
        return Err(ApiError::mandatory("algoId"));
    }
    Ok((id, cid))
}

pub(crate) fn query_algo_order(s: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    let (id, cid) = algo_ref(ctx)?;
    let o = s.venue().algo(ctx.account, id, cid)?;
    Ok(queried(&o))
}

pub(crate) fn cancel_algo_order(s: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    let (id, cid) = algo_ref(ctx)?;
    let o = s.venue().cancel_algo(ctx.account, id, cid, ctx.wall_ms)?;
    let mut j = JsonObj::new();
    // The docs' example answers `code` as the string "200" here (numeric elsewhere).
    j.int("algoId", o.algo_id)
        .str("clientAlgoId", &o.client_algo_id)
        .str("code", "200")
        .str("msg", "success");
    Ok(j.finish())
}

pub(crate) fn open_algo_orders(s: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    let symbol = ctx.params.opt("symbol");
    let venue = s.venue();
    if let Some(sym) = symbol {
        venue.symbol(sym).ok_or_else(ApiError::bad_symbol)?;
    }
    let list = venue.open_algos(ctx.account, symbol);
    Ok(array(list.iter().map(queried)))
}

pub(crate) fn cancel_all_algo_orders(s: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    let symbol = ctx.params.req("symbol")?;
    s.venue()
        .cancel_all_algos(ctx.account, symbol, ctx.wall_ms)?;
    let mut j = JsonObj::new();
    j.int("code", 200)
        .str("msg", "The operation of cancel all open order is done.");
    Ok(j.finish())
}

/// `POST /fapi/v1/countdownCancelAll`: `{"symbol": …, "countdownTime": "<ms>"}` (the
/// docs' example answers the time as a string).
pub(crate) fn countdown_cancel_all(s: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    let symbol = ctx.params.req("symbol")?;
    let ms = ctx.params.req_i64("countdownTime")?;
    s.venue()
        .countdown_cancel_all(ctx.account, symbol, ms, ctx.wall_ms)?;
    let mut j = JsonObj::new();
    j.str("symbol", symbol)
        .str("countdownTime", &ms.to_string());
    Ok(j.finish())
}
