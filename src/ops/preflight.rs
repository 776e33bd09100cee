//! `sluice preflight [--json]`: the pre-trading check protocol seed 000 asked for. One
//! line per check — `pass`, `warn` or `fail` — with what was observed and, unless it
//! passed, what to do about it. `sluice run` runs the same checks through [`gate`]:
//! a configuration failure holds opens, venue distress starts with the breaker open;
//! neither stops risk-reducing work.
//!
//! Shape: [`observe`] gathers facts from the venue (I/O, every probe under a deadline,
//! so a hung exchange becomes a failed line, never a hang); [`evaluate`] turns facts
//! and [`Expectations`] (from the settings) into lines, purely; [`render`] prints them.
//!
//! Invariants: preflight places no order (the test order goes to `/order/test`, which
//! never reaches matching), changes no account setting, and deletes no listenKey (the
//! account has one, shared with any other client on it — a hot standby's active peer).

mod classify;
pub(crate) mod evaluate;
mod evaluate_symbol;
pub(crate) mod expect;
pub(crate) mod gate;
pub(crate) mod observe;
mod observe_stream;
pub(crate) mod render;

#[cfg(test)]
mod evaluate_tests;

use serde::Serialize;

pub use classify::Cause;
pub(crate) use evaluate::evaluate;
pub use expect::SymbolExpectation;
pub use expect::{check_names, Expectations};
pub use gate::gate;
pub use gate::Gate;

use crate::exchange::binance::config::OrderTransport;
use crate::exchange::binance::BinanceConfig;
use crate::settings::Settings;

/// A check's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The venue matches what the settings expect.
    Pass,
    /// Works, but close to a limit or worth a look.
    Warn,
    /// sluice must not trade until this is fixed.
    Fail,
}

impl Status {
    /// The lowercase name printed in the checklist.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// One line of the checklist. `name` is stable (`test_order:SOLUSDT`): scripts key on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckLine {
    /// The check's stable name.
    pub name: String,
    /// Its verdict.
    pub status: Status,
    /// What the venue said (a value, or the exchange's own error code and message).
    pub observed: String,
    /// On warn/fail: what it means and what to do. On pass: what was compared.
    pub detail: String,
    /// On fail: configuration or venue distress (only the daemon's gate uses it; the
    /// `sluice preflight` command reports every failure as `fail`).
    #[serde(skip)]
    pub cause: Cause,
}

/// The checklist, in a fixed order, plus what preflight cannot check from the futures API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreflightReport {
    /// The venue checked.
    pub venue: String,
    /// One line per check, in a fixed order.
    pub lines: Vec<CheckLine>,
    /// What could not be checked from the futures API, and why.
    pub notes: Vec<String>,
}

/// Said when `preflight.key_permissions_url` is unset, instead of faking the check.
pub(crate) const NOTE_KEY_UNCHECKED: &str = "The key's own settings (Enable Futures, Enable Withdrawals, IP restriction) are served only by GET /sapi/v1/account/apiRestrictions on the spot host, which the futures testnet lacks; preflight.key_permissions_url is unset, so they were not checked. A refused signed call proves the key cannot trade futures; that withdrawals are off is NOT verified — check the key in API Management.";
/// Always said: the one withdrawal flag the futures API has is not about the key.
pub(crate) const NOTE_CAN_WITHDRAW: &str = "canWithdraw in /fapi/v2/account is the account's transfer-out ability, not the key's withdrawal permission, so it is shown but not judged.";

fn notes(expect: &Expectations) -> Vec<String> {
    let mut notes = Vec::new();
    if expect.key_permissions_url.is_none() {
        notes.push(NOTE_KEY_UNCHECKED.to_string());
    }
    notes.push(NOTE_CAN_WITHDRAW.to_string());
    notes
}

impl PreflightReport {
    /// The lines that failed.
    pub fn failed(&self) -> impl Iterator<Item = &CheckLine> {
        self.lines.iter().filter(|l| l.status == Status::Fail)
    }
    /// No line failed (warnings pass).
    pub fn passed(&self) -> bool {
        self.failed().next().is_none()
    }
    /// 0 when nothing failed (warnings allowed), 1 otherwise (2 = usage/config, the caller's).
    pub fn exit_code(&self) -> i32 {
        if self.passed() {
            0
        } else {
            1
        }
    }
}

/// Connect to the configured venue and run every check.
pub async fn run(settings: &Settings) -> anyhow::Result<PreflightReport> {
    let expect = Expectations::from_settings(settings)?;
    let cfg = settings.exchange.binance_config()?;
    let deadline = settings.preflight.check_timeout;
    let venue = cfg.rest_url.to_string();
    let key_type = cfg.signer.kind();
    let ws_cfg = cfg.clone();
    // The REST checks run on REST alone; the WS API has its own line.
    let mut cfg = cfg;
    cfg.order_transport = OrderTransport::Rest;
    let obs = observe::observe(cfg, &expect, deadline).await;
    let mut lines = evaluate(&obs, &expect);
    if ws_cfg.order_transport == OrderTransport::Ws {
        lines.push(ws_api_line(&ws_cfg, &expect, deadline).await);
    }
    // Which kind of key the exchange accepted (README "API keys"): "accepted (ed25519 key)".
    if let Some(l) = lines
        .iter_mut()
        .find(|l| l.name == "api_key" && l.status == Status::Pass)
    {
        l.observed = format!("{} ({key_type} key)", l.observed);
    }
    Ok(PreflightReport {
        venue,
        lines,
        notes: notes(&expect),
    })
}

/// `ws_api`: with `order_transport = "ws"`, the WebSocket API connects and accepts the key
/// (`session.logon` for Ed25519, else a signed `order.status`). A failure warns: orders
/// then go over REST until the socket is up.
async fn ws_api_line(
    cfg: &BinanceConfig,
    expect: &Expectations,
    deadline: std::time::Duration,
) -> CheckLine {
    // order.status needs a symbol; with none configured any listed one does.
    let symbol = match expect.symbols.first() {
        Some(s) => Ok(s.symbol.clone()),
        None => crate::domain::Symbol::new("BTCUSDT").map_err(|e| e.to_string()),
    };
    let result = match symbol {
        Ok(symbol) => {
            let probe = crate::exchange::binance::wsapi::probe::probe(cfg, &symbol, deadline);
            tokio::time::timeout(deadline * 3, probe)
                .await
                .unwrap_or_else(|_| Err(format!("no answer within {deadline:?}")))
        }
        Err(e) => Err(e),
    };
    let (status, observed, detail) = match result {
        Ok(seen) => (
            Status::Pass,
            seen,
            format!("order_transport = \"ws\": {}", cfg.ws_api_url),
        ),
        Err(e) => (
            Status::Warn,
            e,
            format!(
                "order_transport = \"ws\" but the WebSocket API at {} is not usable: orders go over REST until it is",
                cfg.ws_api_url
            ),
        ),
    };
    CheckLine {
        name: "ws_api".into(),
        status,
        observed,
        detail,
        cause: Cause::Distress,
    }
}
