//! REST JSON rendering in Binance's key order (docs/binance-fapi.md §2). Decimals are strings padded to
//! the symbol's precision, ids and millisecond times are numbers. Pure functions of views.

use rust_decimal::Decimal;

use crate::json::{array, JsonObj};
use crate::venue::{
    AccountView, AssetView, BookTickerView, DepthView, LeverageView, MarkView, OrderView,
    PositionView, TradeView,
};

/// Decimals for balances, PnL, margins and other account money.
pub(crate) const MONEY_DP: u32 = 8;

/// Which endpoint an order object is for: POST/DELETE add `cumQty`, GETs add `time`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum OrderShape {
    /// POST/DELETE order and batchOrders. `avgPrice`/`cumQuote` left the official
    /// SDKs' schemas of these responses on 2026-07-15 (docs/binance-fapi.md §0); whether
    /// the wire still sends them is unverified, so by default they are omitted (the
    /// stricter case) and `[venue] order_response_legacy_fields = true` brings them back.
    Placed { legacy_fields: bool },
    /// GET order, openOrder(s), allOrders: unchanged, both fields present.
    Queried,
}

pub(crate) fn order(o: &OrderView, shape: OrderShape) -> String {
    let (pp, qp) = (o.price_precision, o.quantity_precision);
    let (placed, averages) = match shape {
        OrderShape::Placed { legacy_fields } => (true, legacy_fields),
        OrderShape::Queried => (false, true),
    };
    let mut j = JsonObj::new();
    j.int("orderId", o.order_id)
        .str("symbol", &o.symbol)
        .str("status", o.status.as_str())
        .str("clientOrderId", &o.client_order_id)
        .dec("price", o.price, pp);
    if averages {
        j.dec("avgPrice", o.avg_price, pp + 3);
    }
    j.dec("origQty", o.orig_qty, qp)
        .dec("executedQty", o.executed_qty, qp);
    if placed {
        j.dec("cumQty", o.executed_qty, qp);
    }
    if averages {
        j.dec("cumQuote", o.cum_quote, pp + qp);
    }
    j.str("timeInForce", o.time_in_force.as_str())
        .str("type", o.order_type.as_str())
        .bool("reduceOnly", o.reduce_only)
        .bool("closePosition", o.close_position)
        .str("side", o.side.as_str())
        .str("positionSide", o.position_side.as_str())
        .dec("stopPrice", o.stop_price, pp)
        .str("workingType", o.working_type)
        .bool("priceProtect", o.price_protect)
        .str("origType", o.orig_type.as_str())
        .str("priceMatch", o.price_match)
        .str("selfTradePreventionMode", &o.self_trade_prevention_mode)
        .int("goodTillDate", o.good_till_date);
    if shape == OrderShape::Queried {
        j.int("time", o.time);
    }
    j.int("updateTime", o.update_time);
    j.finish()
}

pub(crate) fn orders(list: &[OrderView], shape: OrderShape) -> String {
    array(list.iter().map(|o| order(o, shape)))
}

pub(crate) fn trade(t: &TradeView) -> String {
    let (pp, qp) = (t.price_precision, t.quantity_precision);
    let mut j = JsonObj::new();
    j.bool("buyer", t.buyer)
        .dec("commission", t.commission, MONEY_DP)
        .str("commissionAsset", &t.commission_asset)
        .int("id", t.id)
        .bool("maker", t.maker)
        .int("orderId", t.order_id)
        .dec("price", t.price, pp)
        .dec("qty", t.qty, qp)
        .dec("quoteQty", t.quote_qty, pp + qp)
        .dec("realizedPnl", t.realized_pnl, MONEY_DP)
        .str("marginAsset", &t.margin_asset)
        .str("side", t.side.as_str())
        .str("positionSide", t.position_side.as_str())
        .str("symbol", &t.symbol)
        .int("time", t.time);
    j.finish()
}

fn totals(j: &mut JsonObj, a: &AccountView) {
    j.dec("totalInitialMargin", a.total_initial_margin, MONEY_DP)
        .dec("totalMaintMargin", a.total_maint_margin, MONEY_DP)
        .dec("totalWalletBalance", a.total_wallet_balance, MONEY_DP)
        .dec("totalUnrealizedProfit", a.total_unrealized_profit, MONEY_DP)
        .dec("totalMarginBalance", a.total_margin_balance, MONEY_DP)
        .dec(
            "totalPositionInitialMargin",
            a.total_position_initial_margin,
            MONEY_DP,
        )
        .dec(
            "totalOpenOrderInitialMargin",
            a.total_open_order_initial_margin,
            MONEY_DP,
        )
        .dec(
            "totalCrossWalletBalance",
            a.total_cross_wallet_balance,
            MONEY_DP,
        )
        .dec("totalCrossUnPnl", a.total_cross_un_pnl, MONEY_DP)
        .dec("availableBalance", a.available_balance, MONEY_DP)
        .dec("maxWithdrawAmount", a.max_withdraw_amount, MONEY_DP);
}

fn asset(x: &AssetView, with_margin_available: bool) -> String {
    let mut j = JsonObj::new();
    j.str("asset", &x.asset)
        .dec("walletBalance", x.wallet_balance, MONEY_DP)
        .dec("unrealizedProfit", x.unrealized_profit, MONEY_DP)
        .dec("marginBalance", x.margin_balance, MONEY_DP)
        .dec("maintMargin", x.maint_margin, MONEY_DP)
        .dec("initialMargin", x.initial_margin, MONEY_DP)
        .dec("positionInitialMargin", x.position_initial_margin, MONEY_DP)
        .dec(
            "openOrderInitialMargin",
            x.open_order_initial_margin,
            MONEY_DP,
        )
        .dec("crossWalletBalance", x.cross_wallet_balance, MONEY_DP)
        .dec("crossUnPnl", x.cross_un_pnl, MONEY_DP)
        .dec("availableBalance", x.available_balance, MONEY_DP)
        .dec("maxWithdrawAmount", x.max_withdraw_amount, MONEY_DP);
    if with_margin_available {
        j.bool("marginAvailable", true);
    }
    j.int("updateTime", x.update_time);
    j.finish()
}

fn position_v2(p: &PositionView) -> String {
    let mut j = JsonObj::new();
    j.str("symbol", &p.symbol)
        .dec("initialMargin", p.initial_margin, MONEY_DP)
        .dec("maintMargin", p.maint_margin, MONEY_DP)
        .dec("unrealizedProfit", p.unrealized_profit, MONEY_DP)
        .dec("positionInitialMargin", p.position_initial_margin, MONEY_DP)
        .dec(
            "openOrderInitialMargin",
            p.open_order_initial_margin,
            MONEY_DP,
        )
        .str("leverage", &p.leverage.to_string())
        .bool("isolated", p.isolated)
        .dec("entryPrice", p.entry_price, MONEY_DP)
        .dec("maxNotional", p.max_notional, 0)
        .dec("bidNotional", p.bid_notional, 0)
        .dec("askNotional", p.ask_notional, 0)
        .str("positionSide", p.position_side.as_str())
        .dec("positionAmt", p.position_amt, p.quantity_precision)
        .int("updateTime", p.update_time);
    j.finish()
}

fn position_v3(p: &PositionView) -> String {
    let mut j = JsonObj::new();
    j.str("symbol", &p.symbol)
        .str("positionSide", p.position_side.as_str())
        .dec("positionAmt", p.position_amt, p.quantity_precision)
        .dec("unrealizedProfit", p.unrealized_profit, MONEY_DP)
        .dec("isolatedMargin", Decimal::ZERO, MONEY_DP)
        .dec("notional", p.notional, MONEY_DP)
        .dec("isolatedWallet", Decimal::ZERO, MONEY_DP)
        .dec("initialMargin", p.initial_margin, MONEY_DP)
        .dec("maintMargin", p.maint_margin, MONEY_DP)
        .int("updateTime", p.update_time);
    j.finish()
}

pub(crate) fn account_v2(a: &AccountView) -> String {
    let mut j = JsonObj::new();
    j.int("feeTier", i64::from(a.fee_tier))
        .bool("feeBurn", false)
        .bool("canTrade", a.can_trade)
        .bool("canDeposit", a.can_deposit)
        .bool("canWithdraw", a.can_withdraw)
        .int("updateTime", 0)
        .bool("multiAssetsMargin", a.multi_assets_margin)
        .int("tradeGroupId", -1);
    totals(&mut j, a);
    j.raw("assets", &array(a.assets.iter().map(|x| asset(x, true))))
        .raw("positions", &array(a.positions.iter().map(position_v2)));
    j.finish()
}

pub(crate) fn account_v3(a: &AccountView) -> String {
    let mut j = JsonObj::new();
    totals(&mut j, a);
    j.raw("assets", &array(a.assets.iter().map(|x| asset(x, false))))
        .raw(
            "positions",
            &array(a.positions.iter().filter(|p| p.active).map(position_v3)),
        );
    j.finish()
}

pub(crate) fn balances(a: &AccountView) -> String {
    array(a.assets.iter().map(|x| {
        let mut j = JsonObj::new();
        j.str("accountAlias", "SgsR")
            .str("asset", &x.asset)
            .dec("balance", x.wallet_balance, MONEY_DP)
            .dec("crossWalletBalance", x.cross_wallet_balance, MONEY_DP)
            .dec("crossUnPnl", x.cross_un_pnl, MONEY_DP)
            .dec("availableBalance", x.available_balance, MONEY_DP)
            .dec("maxWithdrawAmount", x.max_withdraw_amount, MONEY_DP)
            .bool("marginAvailable", true)
            .int("updateTime", x.update_time);
        j.finish()
    }))
}

pub(crate) fn position_risk_v2(p: &PositionView) -> String {
    let mut j = JsonObj::new();
    j.dec("entryPrice", p.entry_price, MONEY_DP)
        .dec("breakEvenPrice", p.break_even_price, MONEY_DP)
        .str("marginType", if p.isolated { "isolated" } else { "cross" })
        .str("isAutoAddMargin", "false")
        .dec("isolatedMargin", Decimal::ZERO, MONEY_DP)
        .str("leverage", &p.leverage.to_string())
        .dec("liquidationPrice", p.liquidation_price, MONEY_DP)
        .dec("markPrice", p.mark_price, MONEY_DP)
        .dec("maxNotionalValue", p.max_notional, 0)
        .dec("positionAmt", p.position_amt, p.quantity_precision)
        .dec("notional", p.notional, MONEY_DP)
        .dec("isolatedWallet", Decimal::ZERO, MONEY_DP)
        .str("symbol", &p.symbol)
        .dec("unRealizedProfit", p.unrealized_profit, MONEY_DP)
        .str("positionSide", p.position_side.as_str())
        .int("updateTime", p.update_time);
    j.finish()
}

pub(crate) fn position_risk_v3(p: &PositionView) -> String {
    let mut j = JsonObj::new();
    j.str("symbol", &p.symbol)
        .str("positionSide", p.position_side.as_str())
        .dec("positionAmt", p.position_amt, p.quantity_precision)
        .dec("entryPrice", p.entry_price, MONEY_DP)
        .dec("breakEvenPrice", p.break_even_price, MONEY_DP)
        .dec("markPrice", p.mark_price, MONEY_DP)
        .dec("unRealizedProfit", p.unrealized_profit, MONEY_DP)
        .dec("liquidationPrice", p.liquidation_price, MONEY_DP)
        .dec("isolatedMargin", Decimal::ZERO, MONEY_DP)
        .dec("notional", p.notional, MONEY_DP)
        .str("marginAsset", "USDT")
        .dec("isolatedWallet", Decimal::ZERO, MONEY_DP)
        .dec("initialMargin", p.initial_margin, MONEY_DP)
        .dec("maintMargin", p.maint_margin, MONEY_DP)
        .dec("positionInitialMargin", p.position_initial_margin, MONEY_DP)
        .dec(
            "openOrderInitialMargin",
            p.open_order_initial_margin,
            MONEY_DP,
        )
        .int("adl", 0)
        .dec("bidNotional", p.bid_notional, MONEY_DP)
        .dec("askNotional", p.ask_notional, MONEY_DP)
        .int("updateTime", p.update_time);
    j.finish()
}

pub(crate) fn leverage(l: &LeverageView) -> String {
    let mut j = JsonObj::new();
    j.int("leverage", i64::from(l.leverage))
        .dec("maxNotionalValue", l.max_notional_value, 0)
        .str("symbol", &l.symbol);
    j.finish()
}

pub(crate) fn premium_index(m: &MarkView) -> String {
    let mut j = JsonObj::new();
    j.str("symbol", &m.symbol)
        .dec("markPrice", m.mark_price, MONEY_DP)
        .dec("indexPrice", m.index_price, MONEY_DP)
        .dec("estimatedSettlePrice", m.estimated_settle_price, MONEY_DP)
        .dec("lastFundingRate", m.last_funding_rate, MONEY_DP)
        .dec("interestRate", m.interest_rate, MONEY_DP)
        .int("nextFundingTime", m.next_funding_time)
        .int("time", m.time);
    j.finish()
}

pub(crate) fn book_ticker(b: &BookTickerView) -> String {
    let mut j = JsonObj::new();
    j.str("symbol", &b.symbol)
        .dec("bidPrice", b.bid_price, b.price_precision)
        .dec("bidQty", b.bid_qty, b.quantity_precision)
        .dec("askPrice", b.ask_price, b.price_precision)
        .dec("askQty", b.ask_qty, b.quantity_precision)
        .int("time", b.time);
    j.finish()
}

pub(crate) fn depth(d: &DepthView) -> String {
    let side = |levels: &[(Decimal, Decimal)]| {
        array(levels.iter().map(|(p, q)| {
            array([
                format!("\"{}\"", crate::json::fmt_dec(*p, d.price_precision)),
                format!("\"{}\"", crate::json::fmt_dec(*q, d.quantity_precision)),
            ])
        }))
    };
    let mut j = JsonObj::new();
    j.int("lastUpdateId", d.last_update_id)
        .int("E", d.event_time)
        .int("T", d.transaction_time)
        .raw("bids", &side(&d.bids))
        .raw("asks", &side(&d.asks));
    j.finish()
}
