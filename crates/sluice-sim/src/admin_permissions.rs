//! `POST /sim/accounts/<api_key>/permissions`: change what an account may do mid-run, so
//! a test can make each preflight check fail (and recover). Every key is optional:
//!
//! ```json
//! {"can_trade": false, "trading_locked": true, "locked_symbols": ["SOLUSDT"],
//!  "ip_restricted": true, "futures_enabled": false, "withdrawals_enabled": true,
//!  "ip_whitelist": false, "position_mode": "hedge", "multi_assets": true}
//! ```
//!
//! Position mode and multi-assets go through the venue's own switches, so their rules
//! hold (no hedge switch with a position open: `-4068`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::server::state::SimState;
use crate::venue::{AccountId, Venue};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PermissionsBody {
    can_trade: Option<bool>,
    trading_locked: Option<bool>,
    locked_symbols: Option<Vec<String>>,
    ip_restricted: Option<bool>,
    futures_enabled: Option<bool>,
    withdrawals_enabled: Option<bool>,
    ip_whitelist: Option<bool>,
    position_mode: Option<String>,
    multi_assets: Option<bool>,
}

fn answer(status: StatusCode, v: serde_json::Value) -> Response {
    (status, axum::Json(v)).into_response()
}

fn bad(msg: String) -> Response {
    answer(StatusCode::BAD_REQUEST, json!({ "error": msg }))
}

/// Applies the body to the account behind `api_key` and answers with the result.
pub(crate) async fn set_permissions(
    State(s): State<Arc<SimState>>,
    Path(key): Path<String>,
    body: Bytes,
) -> Response {
    let b: PermissionsBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return bad(format!("invalid permissions: {e}")),
    };
    let now = s.clock.wall_ms();
    let mut venue = s.venue();
    let Some((account, _)) = venue.account_by_key(&key) else {
        return answer(
            StatusCode::NOT_FOUND,
            json!({ "error": "api_key: no such key" }),
        );
    };
    if let Err(msg) = apply(&mut venue, account, b, now) {
        return bad(msg);
    }
    let view = venue.account(account);
    let permissions = venue.permissions(account).cloned();
    drop(venue);
    s.flush_user_events();
    answer(
        StatusCode::OK,
        json!({
            "permissions": permissions,
            "dualSidePosition": view.as_ref().map(|v| v.dual_side_position),
            "multiAssetsMargin": view.as_ref().map(|v| v.multi_assets_margin),
        }),
    )
}

/// Validates everything first, then changes the modes (the venue's own rules) and flags.
fn apply(
    venue: &mut Venue,
    account: AccountId,
    b: PermissionsBody,
    now: i64,
) -> Result<(), String> {
    let hedge = match b.position_mode.as_deref() {
        None => None,
        Some("one-way") => Some(false),
        Some("hedge") => Some(true),
        Some(other) => {
            return Err(format!(
                "position_mode: '{other}' is neither one-way nor hedge"
            ))
        }
    };
    if let Some(x) = b
        .locked_symbols
        .iter()
        .flatten()
        .find(|x| venue.symbol(x).is_none())
    {
        return Err(format!("locked_symbols: unknown symbol '{x}'"));
    }
    let current = venue.account(account).map(|v| v.dual_side_position);
    if let Some(h) = hedge.filter(|h| current != Some(*h)) {
        venue
            .set_dual_side(account, h)
            .map_err(|r| format!("position_mode: {} ({})", r.msg, r.code))?;
    }
    if let Some(on) = b.multi_assets {
        venue
            .set_multi_assets(account, on, now)
            .map_err(|r| format!("multi_assets: {} ({})", r.msg, r.code))?;
    }
    venue.set_permissions(account, |p| {
        p.can_trade = b.can_trade.unwrap_or(p.can_trade);
        p.trading_locked = b.trading_locked.unwrap_or(p.trading_locked);
        p.ip_restricted = b.ip_restricted.unwrap_or(p.ip_restricted);
        p.futures_enabled = b.futures_enabled.unwrap_or(p.futures_enabled);
        p.withdrawals_enabled = b.withdrawals_enabled.unwrap_or(p.withdrawals_enabled);
        p.ip_whitelist = b.ip_whitelist.unwrap_or(p.ip_whitelist);
        if let Some(list) = b.locked_symbols {
            p.locked_symbols = list;
        }
    });
    Ok(())
}
