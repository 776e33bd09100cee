//! The API key's own settings, as Binance serves them on the SPOT host
//! (`GET /sapi/v1/account/apiRestrictions`). The simulator serves spot and futures on
//! one listener, so preflight's key-permission check can be pointed at it.

use crate::error::ApiError;
use crate::json::JsonObj;
use crate::server::pipeline::Ctx;
use crate::server::state::SimState;

pub(crate) fn api_restrictions(s: &SimState, ctx: &Ctx) -> Result<String, ApiError> {
    let p = s
        .venue()
        .permissions(ctx.account)
        .cloned()
        .ok_or_else(ApiError::rejected_key)?;
    let mut j = JsonObj::new();
    j.bool("ipRestrict", p.ip_whitelist)
        .int("createTime", 1_700_000_000_000)
        .bool("enableReading", true)
        .bool("enableWithdrawals", p.withdrawals_enabled)
        .bool("enableInternalTransfer", false)
        .bool("permitsUniversalTransfer", false)
        .bool("enableVanillaOptions", false)
        .bool("enableFutures", p.futures_enabled)
        .bool("enablePortfolioMarginTrading", false)
        .bool("enableSpotAndMarginTrading", false)
        .bool("enableMargin", false);
    Ok(j.finish())
}
