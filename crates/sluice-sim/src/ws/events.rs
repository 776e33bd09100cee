//! User-data and market-stream event rendering in Binance's key order (docs/binance-fapi.md §5.3–5.6,
//! market stream payloads). Pure.

use rust_decimal::Decimal;

use crate::json::{array, fmt_dec, JsonObj};
use crate::server::render::MONEY_DP;
use crate::venue::{
    AccountConfigUpdate, AccountUpdate, AlgoOrder, AlgoUpdate, BookTickerView, MarkView,
    OrderTradeUpdate, TradeLite, UserEvent,
};

pub(crate) fn user_event(e: &UserEvent) -> String {
    match e {
        UserEvent::TradeLite(t) => trade_lite(t),
        UserEvent::OrderTradeUpdate(o) => order_trade_update(o),
        UserEvent::AccountUpdate(a) => account_update(a),
        UserEvent::AccountConfigUpdate(c) => account_config_update(c),
        UserEvent::AlgoUpdate(a) => algo_update(a),
    }
}

/// The wire name (`e`) of a user event.
pub(crate) fn kind(e: &UserEvent) -> &'static str {
    match e {
        UserEvent::TradeLite(_) => "TRADE_LITE",
        UserEvent::OrderTradeUpdate(_) => "ORDER_TRADE_UPDATE",
        UserEvent::AccountUpdate(_) => "ACCOUNT_UPDATE",
        UserEvent::AccountConfigUpdate(_) => "ACCOUNT_CONFIG_UPDATE",
        UserEvent::AlgoUpdate(_) => "ALGO_UPDATE",
    }
}

pub(crate) fn trade_lite(t: &TradeLite) -> String {
    let (pp, qp) = (t.price_precision, t.quantity_precision);
    let mut j = JsonObj::new();
    j.str("e", "TRADE_LITE")
        .int("E", t.event_time)
        .int("T", t.transaction_time)
        .str("s", &t.symbol)
        .dec("q", t.orig_qty, qp)
        .dec("p", t.orig_price, pp)
        .bool("m", t.maker)
        .str("c", &t.client_order_id)
        .str("S", t.side.as_str())
        .dec("L", t.last_price, pp)
        .dec("l", t.last_qty, qp)
        .int("t", t.trade_id)
        .int("i", t.order_id);
    j.finish()
}

/// Zero money values go out as "0" (Binance's NEW events show `"n":"0"`).
fn money(v: Decimal) -> String {
    if v.is_zero() {
        "0".into()
    } else {
        fmt_dec(v, MONEY_DP)
    }
}

pub(crate) fn order_trade_update(o: &OrderTradeUpdate) -> String {
    let (pp, qp) = (o.price_precision, o.quantity_precision);
    let mut inner = JsonObj::new();
    inner
        .str("s", &o.symbol)
        .str("c", &o.client_order_id)
        .str("S", o.side.as_str())
        .str("o", o.order_type.as_str())
        .str("f", o.time_in_force.as_str())
        .dec("q", o.orig_qty, qp)
        .dec("p", o.orig_price, pp)
        .dec("ap", o.avg_price, pp + 3)
        .dec("sp", o.stop_price, pp)
        .str("x", o.exec_type.as_str())
        .str("X", o.status.as_str())
        .int("i", o.order_id)
        .dec("l", o.last_qty, qp)
        .dec("z", o.cum_qty, qp)
        .dec("L", o.last_price, pp)
        .str("n", &money(o.commission))
        .str("N", &o.commission_asset)
        .int("T", o.trade_time)
        .int("t", o.trade_id)
        .str("b", &money(o.bids_notional))
        .str("a", &money(o.asks_notional))
        .bool("m", o.maker)
        .bool("R", o.reduce_only)
        .str("wt", o.working_type)
        .str("ot", o.orig_type.as_str())
        .str("ps", o.position_side.as_str())
        .bool("cp", o.close_position)
        .str("rp", &money(o.realized_profit))
        .bool("pP", o.price_protect)
        .int("si", 0)
        .int("ss", 0)
        .str("V", &o.stp_mode)
        .str("pm", o.price_match)
        .int("gtd", o.good_till_date)
        .str("er", &o.expiry_reason.to_string());
    let mut j = JsonObj::new();
    j.str("e", "ORDER_TRADE_UPDATE")
        .int("T", o.transaction_time)
        .int("E", o.event_time)
        .raw("o", &inner.finish());
    j.finish()
}

pub(crate) fn account_update(a: &AccountUpdate) -> String {
    let balances = a.balances.iter().map(|b| {
        let mut j = JsonObj::new();
        j.str("a", &b.asset)
            .dec("wb", b.wallet_balance, MONEY_DP)
            .dec("cw", b.cross_wallet_balance, MONEY_DP)
            .dec("bc", b.balance_change, MONEY_DP);
        j.finish()
    });
    let positions = a.positions.iter().map(|p| {
        let mut j = JsonObj::new();
        j.str("s", &p.symbol)
            .dec("pa", p.position_amt, p.quantity_precision)
            .dec("ep", p.entry_price, MONEY_DP)
            .dec("bep", p.break_even_price, MONEY_DP)
            .dec("cr", p.accumulated_realized, MONEY_DP)
            .dec("up", p.unrealized_pnl, MONEY_DP)
            .str("mt", p.margin_type)
            .dec("iw", p.isolated_wallet, MONEY_DP)
            .str("ps", p.position_side.as_str())
            .str("ma", &p.margin_asset);
        j.finish()
    });
    let mut inner = JsonObj::new();
    inner
        .raw("B", &array(balances.collect::<Vec<_>>()))
        .raw("P", &array(positions.collect::<Vec<_>>()))
        .str("m", a.reason);
    let mut j = JsonObj::new();
    j.str("e", "ACCOUNT_UPDATE")
        .int("T", a.transaction_time)
        .int("E", a.event_time)
        .raw("a", &inner.finish());
    j.finish()
}

pub(crate) fn account_config_update(c: &AccountConfigUpdate) -> String {
    let mut j = JsonObj::new();
    j.str("e", "ACCOUNT_CONFIG_UPDATE")
        .int("E", c.event_time)
        .int("T", c.transaction_time);
    if let Some((symbol, lev)) = &c.leverage {
        let mut ac = JsonObj::new();
        ac.str("s", symbol).int("l", i64::from(*lev));
        j.raw("ac", &ac.finish());
    }
    if let Some(on) = c.multi_assets {
        let mut ai = JsonObj::new();
        ai.bool("j", on);
        j.raw("ai", &ai.finish());
    }
    j.finish()
}

/// `ALGO_UPDATE` in the key order of a 2025-12-11 testnet capture (§5.6): `ai` is a
/// string, empty before the trigger; `ap`/`aq`/`act` once triggered; `rm` only with a
/// reason.
pub(crate) fn algo_update(a: &AlgoUpdate) -> String {
    let o: &AlgoOrder = &a.order;
    let (pp, qp) = (o.price_precision, o.quantity_precision);
    let mut inner = JsonObj::new();
    inner
        .str("caid", &o.client_algo_id)
        .int("aid", o.algo_id)
        .str("at", "CONDITIONAL")
        .str("o", o.kind.as_str())
        .str("s", &o.symbol)
        .str("S", o.side.as_str())
        .str("ps", o.position_side.as_str())
        .str("f", "GTC")
        .dec("q", o.quantity, qp)
        .str("X", o.status.as_str())
        .str(
            "ai",
            &o.actual_order_id.map_or(String::new(), |i| i.to_string()),
        );
    if o.actual_order_id.is_some() {
        inner
            .dec("ap", o.actual_price, pp + 3)
            .dec("aq", o.actual_qty, qp)
            .str("act", "MARKET");
    }
    inner
        .dec("tp", o.trigger_price, pp)
        .str("p", "0")
        .str("V", "EXPIRE_MAKER")
        .str("wt", o.working_type)
        .str("pm", "NONE")
        .bool("cp", o.close_position)
        .bool("pP", o.price_protect)
        .bool("R", o.reduce_only)
        .int("tt", o.trigger_time)
        .int("gtd", 0);
    if !o.reject_reason.is_empty() {
        inner.str("rm", &o.reject_reason);
    }
    let mut j = JsonObj::new();
    j.str("e", "ALGO_UPDATE")
        .int("T", a.transaction_time)
        .int("E", a.event_time)
        .raw("o", &inner.finish());
    j.finish()
}

pub(crate) fn listen_key_expired(key: &str, now_ms: i64) -> String {
    let mut j = JsonObj::new();
    j.str("e", "listenKeyExpired")
        .int("E", now_ms)
        .str("listenKey", key);
    j.finish()
}

pub(crate) fn mark_price_update(m: &MarkView, now_ms: i64) -> String {
    let mut j = JsonObj::new();
    j.str("e", "markPriceUpdate")
        .int("E", now_ms)
        .str("s", &m.symbol)
        .dec("p", m.mark_price, MONEY_DP)
        .dec("i", m.index_price, MONEY_DP)
        .dec("P", m.estimated_settle_price, MONEY_DP)
        .dec("r", m.last_funding_rate, MONEY_DP)
        .int("T", m.next_funding_time);
    j.finish()
}

pub(crate) fn book_ticker_update(b: &BookTickerView, update_id: i64, now_ms: i64) -> String {
    let mut j = JsonObj::new();
    j.str("e", "bookTicker")
        .int("u", update_id)
        .str("s", &b.symbol)
        .dec("b", b.bid_price, b.price_precision)
        .dec("B", b.bid_qty, b.quantity_precision)
        .dec("a", b.ask_price, b.price_precision)
        .dec("A", b.ask_qty, b.quantity_precision)
        .int("T", b.time)
        .int("E", now_ms);
    j.finish()
}

/// The combined-stream wrapper `{"stream": name, "data": payload}`.
pub(crate) fn combined(stream: &str, data: &str) -> String {
    let mut j = JsonObj::new();
    j.str("stream", stream).raw("data", data);
    j.finish()
}
