//! Observed facts + expectations → the checklist. Pure: no I/O, no clock.
//!
//! Invariant: every check in [`super::expect::check_names`] yields exactly one line,
//! in that order, whatever was or was not observed; a missing fact is a `fail`.

use std::time::Duration;

use rust_decimal::Decimal;

use super::classify::Cause;
use super::expect::{Expectations, SymbolExpectation};
use super::observe::{KeyFacts, Observations, Probe, ProbeError, SymbolObservation};
use super::{CheckLine, Status};
use crate::domain::SymbolRules;
use crate::exchange::LeverageBracket;

/// Round trips above this are a warning: every order waits at least this long.
pub(crate) const LATENCY_WARN: Duration = Duration::from_millis(1000);

/// What -2015 can mean, and how to tell which (docs/binance-fapi.md §4: the error table, HTTP 401).
pub(crate) const REJECTED_KEY_HELP: &str = "-2015 means one of three: (1) the key does not exist on this venue (deleted, or a testnet key used on mainnet: check exchange.venue / rest_url and that the key is listed in API Management); (2) this host's public IP is not on the key's IP whitelist (compare `curl -s https://api.ipify.org` with the key's restriction list); (3) the key lacks the 'Enable Futures' permission (edit the key in API Management).";

fn line(
    name: impl Into<String>,
    status: Status,
    observed: impl Into<String>,
    detail: impl Into<String>,
) -> CheckLine {
    CheckLine {
        name: name.into(),
        status,
        observed: observed.into(),
        detail: detail.into(),
        cause: Cause::Configuration,
    }
}

/// A failed line for a missing fact: the venue's own words, and what to do.
fn missing(name: impl Into<String>, e: &ProbeError, todo: &str) -> CheckLine {
    let (observed, detail) = match e {
        ProbeError::Timeout { after_ms } => (
            format!("no answer within {after_ms} ms"),
            format!("the venue did not answer before preflight.check_timeout_ms; it may be down or overloaded — {todo}"),
        ),
        ProbeError::Exchange { http_status, code, msg, .. } => {
            let observed = match (http_status, code) {
                (Some(h), Some(c)) => format!("HTTP {h} code {c}: {msg}"),
                (Some(h), None) => format!("HTTP {h}: {msg}"),
                _ => msg.clone(),
            };
            let detail = match code {
                Some(-2015) => REJECTED_KEY_HELP.to_string(),
                Some(-2014) => "the API key is malformed: check exchange.api_key (no quotes, spaces or line breaks)".into(),
                Some(-1022) => "the signature was refused: exchange.api_secret does not belong to exchange.api_key (or was mangled when stored)".into(),
                Some(-1021) => "the request timestamp was outside recvWindow: fix the host clock (see clock_offset)".into(),
                _ => todo.to_string(),
            };
            (observed, detail)
        }
        ProbeError::NotChecked(why) => ("not checked".into(), why.clone()),
        ProbeError::Transport(msg) => (msg.clone(), todo.to_string()),
        ProbeError::Local(msg) => (msg.clone(), todo.to_string()),
    };
    let mut l = line(name, Status::Fail, observed, detail);
    l.cause = super::classify::of_probe(e);
    l
}

/// A failed line that only repeats a failure reported by another line.
fn dependent(name: &str, detail: &str) -> CheckLine {
    let mut l = line(name, Status::Fail, "not checked", detail);
    l.cause = Cause::Dependent;
    l
}

/// The whole checklist, in report order.
pub(crate) fn evaluate(o: &Observations, e: &Expectations) -> Vec<CheckLine> {
    let mut lines = vec![
        rest_reachable(&o.rest_latency),
        clock_offset(&o.clock_offset_ms, e.clock_offset_max_ms),
        api_key(o),
        permissions(o),
    ];
    if let Some(key) = &o.key {
        lines.push(key_permissions(key));
    }
    lines.extend([
        trading_status(o, e),
        position_mode(o, e),
        multi_assets(o, e),
        balance(o, e),
    ]);
    for s in &e.symbols {
        let seen = o.symbols.iter().find(|x| x.symbol == s.symbol);
        lines.extend(symbol_lines(s, seen, &o.rules));
    }
    lines.push(match &o.listen_key {
        Ok(()) => line("listen_key", Status::Pass, "created", "POST /fapi/v1/listenKey accepted"),
        Err(err) => missing("listen_key", err, "the user-data stream is how sluice learns of fills: check the key and the venue's status"),
    });
    lines.push(match &o.user_stream {
        Ok(()) => line(
            "user_stream",
            Status::Pass,
            "connected, then closed",
            "the private WebSocket accepted the listenKey",
        ),
        Err(err) => missing(
            "user_stream",
            err,
            "check exchange.ws_url and that outbound WebSocket (wss, port 443) is allowed",
        ),
    });
    lines
}

fn rest_reachable(p: &Probe<Duration>) -> CheckLine {
    match p {
        Ok(d) if *d <= LATENCY_WARN => line("rest_reachable", Status::Pass, format!("{} ms", d.as_millis()), "GET /fapi/v1/ping round trip"),
        Ok(d) => line("rest_reachable", Status::Warn, format!("{} ms", d.as_millis()), format!("round trip above {} ms: every order waits at least this long; run closer to the venue (AWS Tokyo for Binance) or check the network path", LATENCY_WARN.as_millis())),
        Err(e) => missing("rest_reachable", e, "check exchange.venue / rest_url, DNS, firewall and proxy; try `curl <rest_url>/fapi/v1/ping`"),
    }
}

fn clock_offset(p: &Probe<i64>, max_ms: u64) -> CheckLine {
    let todo = "sync this host's clock (chrony or ntpd; `chronyc tracking`): Binance refuses requests stamped more than 1000 ms ahead or older than recvWindow (-1021)";
    match p {
        Ok(off) => {
            let abs = off.unsigned_abs();
            let observed = format!("{off:+} ms (local - server)");
            if abs > max_ms {
                line(
                    "clock_offset",
                    Status::Fail,
                    observed,
                    format!("beyond preflight.clock_offset_max_ms = {max_ms}: {todo}"),
                )
            } else if abs > max_ms / 2 {
                line(
                    "clock_offset",
                    Status::Warn,
                    observed,
                    format!("more than half of the {max_ms} ms bound: {todo}"),
                )
            } else {
                line(
                    "clock_offset",
                    Status::Pass,
                    observed,
                    format!("within ±{max_ms} ms"),
                )
            }
        }
        Err(e) => missing("clock_offset", e, todo),
    }
}

fn key_permissions(p: &Probe<KeyFacts>) -> CheckLine {
    let k =
        match p {
            Ok(k) => k,
            Err(e) => return missing(
                "key_permissions",
                e,
                "check preflight.key_permissions_url (the spot host, e.g. https://api.binance.com)",
            ),
        };
    let observed = format!(
        "enableFutures={} enableWithdrawals={} ipRestrict={}",
        k.enable_futures, k.enable_withdrawals, k.ip_restrict
    );
    if !k.enable_futures {
        return line(
            "key_permissions",
            Status::Fail,
            observed,
            "the key lacks 'Enable Futures': edit it in API Management",
        );
    }
    let mut risks = Vec::new();
    if k.enable_withdrawals {
        risks.push("withdrawals are enabled: a leaked trading key could move funds; turn 'Enable Withdrawals' off");
    }
    if !k.ip_restrict {
        risks.push("the key is not IP-restricted: anyone holding it can trade from anywhere; restrict it to this host's public IP");
    }
    if risks.is_empty() {
        line(
            "key_permissions",
            Status::Pass,
            observed,
            "futures on, withdrawals off, IP-restricted",
        )
    } else {
        line("key_permissions", Status::Warn, observed, risks.join("; "))
    }
}

/// Which of -2015's three causes the spot host's answer leaves.
fn narrowed_2015(key: Option<&Probe<KeyFacts>>) -> Option<&'static str> {
    match key? {
        Ok(k) if !k.enable_futures => Some("cause (3): the spot host knows the key and this IP, and reports enableFutures=false — enable futures on the key"),
        Ok(_) => None,
        Err(ProbeError::Exchange { code: Some(-2015), .. }) => Some("the spot host refused the key as well, so it is cause (1) or (2): the key is gone, or this IP is not whitelisted"),
        Err(_) => None,
    }
}

fn api_key(o: &Observations) -> CheckLine {
    if let (
        Err(
            e @ ProbeError::Exchange {
                code: Some(-2015), ..
            },
        ),
        Some(narrowed),
    ) = (&o.account, narrowed_2015(o.key.as_ref()))
    {
        let mut l = missing("api_key", e, "");
        l.detail = format!("{narrowed}. {}", l.detail);
        return l;
    }
    match &o.account {
        Ok(_) => line("api_key", Status::Pass, "accepted", "signed GET /fapi/v2/account answered: the key exists, may use futures and this IP is allowed"),
        Err(e) => missing("api_key", e, "check exchange.api_key / api_secret and exchange.venue"),
    }
}

fn permissions(o: &Observations) -> CheckLine {
    match &o.account {
        Ok(a) if a.can_trade => line("permissions", Status::Pass, format!("canTrade=true canWithdraw={}", a.can_withdraw), "the account may trade futures (the key's withdrawal permission is not visible here: see notes)"),
        Ok(a) => line("permissions", Status::Fail, format!("canTrade=false canWithdraw={}", a.can_withdraw), "the account may not trade: check the (sub-)account's futures permission and the key's 'Enable Futures'; a restricted account needs Binance support"),
        Err(_) => dependent("permissions", "the account could not be read (see api_key)"),
    }
}

fn trading_status(o: &Observations, e: &Expectations) -> CheckLine {
    let ts = match &o.trading_status {
        Ok(ts) => ts,
        Err(err) => {
            return missing(
                "trading_status",
                err,
                "GET /fapi/v1/apiTradingStatus failed; retry",
            )
        }
    };
    let ours: Vec<String> = ts
        .locked_symbols
        .iter()
        .filter(|s| e.symbols.iter().any(|x| &x.symbol == *s))
        .map(|s| s.to_string())
        .collect();
    let todo = "Binance's quantitative trading rules locked API trading (apiTradingStatus indicators UFR/IFER/GCR/DR/TMV); wait for plannedRecoverTime or contact Binance support";
    if ts.account_locked {
        line("trading_status", Status::Fail, "account locked", todo)
    } else if !ours.is_empty() {
        line(
            "trading_status",
            Status::Fail,
            format!("locked: {}", ours.join(", ")),
            todo,
        )
    } else {
        line(
            "trading_status",
            Status::Pass,
            "not locked",
            "no lock on the account or a configured symbol",
        )
    }
}

fn position_mode(o: &Observations, e: &Expectations) -> CheckLine {
    match &o.position_mode {
        Ok(m) if *m == e.position_mode => line("position_mode", Status::Pass, m.as_str(), "matches exchange.position_mode"),
        Ok(m) => line("position_mode", Status::Fail, m.as_str(), format!("exchange.position_mode is {}: switch the account (POST /fapi/v1/positionSide/dual; needs no open positions or orders) or change the setting", e.position_mode.as_str())),
        Err(err) => missing("position_mode", err, "GET /fapi/v1/accountConfig failed; retry"),
    }
}

fn multi_assets(o: &Observations, e: &Expectations) -> CheckLine {
    let name = |on: bool| if on { "multi-assets" } else { "single-asset" };
    match &o.multi_assets {
        Ok(on) if *on == e.multi_assets_margin => line("multi_assets_mode", Status::Pass, name(*on), "matches exchange.multi_assets_margin"),
        Ok(on) => line("multi_assets_mode", Status::Fail, name(*on), format!("exchange.multi_assets_margin expects {}: switch the account (POST /fapi/v1/multiAssetsMargin) or change the setting; in multi-assets mode balances and margin are USD-valued across assets", name(e.multi_assets_margin))),
        Err(err) => missing("multi_assets_mode", err, "GET /fapi/v1/accountConfig failed; retry"),
    }
}

fn balance(o: &Observations, e: &Expectations) -> CheckLine {
    let want = e.allocation_usdt.normalize();
    match &o.account {
        Ok(a) => match a.usdt_available {
            Some(have) if have >= e.allocation_usdt => line("balance", Status::Pass, format!("{} USDT available", have.normalize()), format!("covers budget.allocation_usdt = {want}")),
            Some(have) => line("balance", Status::Fail, format!("{} USDT available", have.normalize()), format!("below budget.allocation_usdt = {want}: transfer USDT to the futures wallet or lower the allocation")),
            None => line("balance", Status::Fail, "no USDT asset", format!("budget.allocation_usdt = {want} needs a USDT balance in the futures wallet")),
        },
        Err(_) => dependent("balance", "the account could not be read (see api_key)"),
    }
}

fn symbol_lines(
    s: &SymbolExpectation,
    seen: Option<&SymbolObservation>,
    rules: &Probe<Vec<SymbolRules>>,
) -> Vec<CheckLine> {
    let sym = &s.symbol;
    let nc = ProbeError::NotChecked("not probed".into());
    let mut out = vec![filters(s, rules)];
    let config = seen.map(|x| &x.config);
    out.push(match config {
        Some(Ok(c)) => super::evaluate_symbol::leverage(s, c),
        Some(Err(err)) => missing(
            format!("leverage:{sym}"),
            err,
            "GET /fapi/v1/symbolConfig failed; retry",
        ),
        None => missing(format!("leverage:{sym}"), &nc, ""),
    });
    if let Some(max) = s.max_position_usdt {
        let observed_leverage = config.and_then(|c| c.as_ref().ok()).map(|c| c.leverage);
        let brackets: Result<&Vec<LeverageBracket>, &ProbeError> = match seen {
            Some(x) => x.brackets.as_ref(),
            None => Err(&nc),
        };
        out.push(super::evaluate_symbol::max_position(
            s,
            max,
            s.leverage.or(observed_leverage),
            brackets,
        ));
    }
    out.push(match seen.map(|x| &x.test_order) {
        Some(Ok(t)) => line(format!("test_order:{sym}"), Status::Pass, format!("accepted: {} {} @ {} (mark {})", t.side, t.quantity.normalize(), t.price.normalize(), t.mark.normalize()), "POST /fapi/v1/order/test validated a LIMIT far from the market (never matched)"),
        Some(Err(err)) => missing(format!("test_order:{sym}"), err, "the venue refused an order sluice's filters accept: compare `sluice exchange-info` with the venue, and the account's permissions"),
        None => missing(format!("test_order:{sym}"), &nc, ""),
    });
    out
}

fn filters(s: &SymbolExpectation, rules: &Probe<Vec<SymbolRules>>) -> CheckLine {
    let name = format!("filters:{}", s.symbol);
    let all = match rules {
        Ok(all) => all,
        Err(err) => return missing(name, err, "GET /fapi/v1/exchangeInfo failed; retry"),
    };
    match all.iter().find(|r| r.symbol == s.symbol) {
        None => line(
            name,
            Status::Fail,
            "not listed",
            "the venue does not list this symbol: fix exchange.symbols",
        ),
        Some(r) if !r.is_trading() => line(
            name,
            Status::Fail,
            format!("status {}", r.status),
            "the symbol is not TRADING: remove it from exchange.symbols until it is",
        ),
        Some(r) => line(
            name,
            Status::Pass,
            format!(
                "TRADING tick {} step {} minNotional {} marketMaxQty {}",
                r.price_filter.tick_size.normalize(),
                r.lot_size.step_size.normalize(),
                r.min_notional.normalize(),
                r.market_lot_size.max_qty.normalize()
            ),
            "exchangeInfo filters loaded",
        ),
    }
}

/// The largest notional a position may have at `leverage`: the cap of the last bracket
/// whose initialLeverage is at least `leverage` (brackets narrow as leverage rises).
pub(crate) fn bracket_cap(brackets: &[LeverageBracket], leverage: u32) -> Option<Decimal> {
    brackets
        .iter()
        .filter(|b| b.initial_leverage >= leverage)
        .map(|b| b.notional_cap)
        .max()
}
