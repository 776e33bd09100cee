//! The per-symbol account checks: leverage and margin type against `[symbols.<S>]`, and
//! the configured max position against the leverage bracket. Pure.

use rust_decimal::Decimal;

use super::classify::Cause;
use super::evaluate::bracket_cap;
use super::expect::SymbolExpectation;
use super::observe::{ProbeError, SymbolConfigFacts};
use super::{CheckLine, Status};
use crate::exchange::LeverageBracket;
use crate::settings::MarginType;

fn wire_margin(m: MarginType) -> &'static str {
    match m {
        MarginType::Cross => "CROSSED",
        MarginType::Isolated => "ISOLATED",
    }
}

/// `leverage:<S>`: observed leverage and margin type, failed where the settings differ.
pub(super) fn leverage(s: &SymbolExpectation, c: &SymbolConfigFacts) -> CheckLine {
    let name = format!("leverage:{}", s.symbol);
    let observed = format!("{}x {}", c.leverage, c.margin_type);
    let mut wrong = Vec::new();
    if let Some(l) = s.leverage.filter(|l| *l != c.leverage) {
        wrong.push(format!(
            "leverage must be {l}x (POST /fapi/v1/leverage symbol={} leverage={l})",
            s.symbol
        ));
    }
    if let Some(m) = s
        .margin_type
        .filter(|m| !c.margin_type.eq_ignore_ascii_case(wire_margin(*m)))
    {
        wrong.push(format!(
            "margin type must be {} (POST /fapi/v1/marginType symbol={} marginType={}; needs no open position or order)",
            m.as_str(),
            s.symbol,
            wire_margin(m)
        ));
    }
    let configured = s.leverage.is_some() || s.margin_type.is_some();
    let (status, detail) = match (wrong.is_empty(), configured) {
        (false, _) => (
            Status::Fail,
            format!("symbols.{}: {}", s.symbol, wrong.join("; ")),
        ),
        (true, true) => (Status::Pass, format!("matches symbols.{}", s.symbol)),
        (true, false) => (
            Status::Pass,
            format!(
                "shown only: no leverage or margin_type under symbols.{}",
                s.symbol
            ),
        ),
    };
    CheckLine {
        name,
        status,
        observed,
        detail,
        cause: Cause::Configuration,
    }
}

/// `max_position:<S>`: the configured max notional must fit the bracket cap at `leverage`.
pub(super) fn max_position(
    s: &SymbolExpectation,
    max: Decimal,
    leverage: Option<u32>,
    brackets: Result<&Vec<LeverageBracket>, &ProbeError>,
) -> CheckLine {
    let name = format!("max_position:{}", s.symbol);
    let fail = |observed: String, detail: String| CheckLine {
        name: name.clone(),
        status: Status::Fail,
        observed,
        detail,
        cause: Cause::Configuration,
    };
    let (Some(lev), Ok(brackets)) = (leverage, brackets) else {
        let mut l = fail(
            "not checked".into(),
            "needs the symbol's leverage and leverage brackets (see leverage:)".into(),
        );
        l.cause = Cause::Dependent;
        return l;
    };
    let max = max.normalize();
    match bracket_cap(brackets, lev) {
        Some(cap) if max <= cap => CheckLine {
            name: name.clone(),
            status: Status::Pass,
            observed: format!("cap {} USDT at {lev}x", cap.normalize()),
            detail: format!("max_position_usdt {max} fits"),
            cause: Cause::Configuration,
        },
        Some(cap) => {
            let fits = highest_leverage_for(brackets, max)
                .map(|l| format!("leverage {l}x or lower"))
                .unwrap_or_else(|| "no leverage".into());
            fail(
                format!("cap {} USDT at {lev}x", cap.normalize()),
                format!("symbols.{}.max_position_usdt = {max} exceeds the bracket cap: the venue would refuse to grow the position past it; use {fits}, or lower max_position_usdt", s.symbol),
            )
        }
        None => fail(
            format!("no bracket allows {lev}x"),
            "lower the leverage to one the venue's brackets allow".into(),
        ),
    }
}

/// The highest leverage whose bracket cap still covers `notional`.
fn highest_leverage_for(brackets: &[LeverageBracket], notional: Decimal) -> Option<u32> {
    brackets
        .iter()
        .filter(|b| b.notional_cap >= notional)
        .map(|b| b.initial_leverage)
        .max()
}
