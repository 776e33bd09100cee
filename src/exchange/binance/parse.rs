//! Translation from wire types to domain types: the only place wire strings become
//! `Symbol`, `Side`, `Qty`, `OrderStatus`...
//!
//! Invariants: every failure names the wire field and the reason (class `Fatal`: the
//! venue said something we cannot read, which is a protocol change or a bug, never
//! something to retry blindly); nothing here does I/O.

use chrono::{DateTime, TimeZone, Utc};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use super::rest::wire;
use super::ws::events::{OrderUpdate, UserEvent};
use crate::domain::{
    ClientOrderId, DomainError, ExpireReason, Fill, LotFilter, OrderStatus, OrderType,
    PercentPrice, PositionSide, Price, PriceFilter, Qty, Side, Symbol, SymbolRules,
};
use crate::exchange::{
    AccountEvent, Balance, ErrorClass, ExchangeError, ExchangePosition, LeverageBracket,
    OrderReport, TradingStatus,
};

/// A response we could not read, naming the field.
pub(crate) fn bad(field: &str, reason: impl std::fmt::Display) -> ExchangeError {
    ExchangeError::new(
        ErrorClass::Fatal,
        None,
        None,
        format!("unreadable exchange data: {field}: {reason}"),
    )
}

fn domain(e: DomainError) -> ExchangeError {
    bad(&e.field, e.reason)
}

pub(crate) fn time_ms(field: &str, ms: i64) -> Result<DateTime<Utc>, ExchangeError> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| bad(field, format!("{ms} is not a valid ms timestamp")))
}

/// Wire order types onto the two sluice sends. Venue-generated kinds (liquidation,
/// legacy conditional orders) are mapped by how they execute, so their fills are
/// never lost for want of a variant.
pub(crate) fn order_type(raw: &str) -> Result<OrderType, ExchangeError> {
    match raw {
        "LIMIT" | "STOP" | "TAKE_PROFIT" => Ok(OrderType::Limit),
        "MARKET"
        | "LIQUIDATION"
        | "STOP_MARKET"
        | "TAKE_PROFIT_MARKET"
        | "TRAILING_STOP_MARKET"
        | "ADL" => Ok(OrderType::Market),
        other => Err(bad("type", format!("`{other}` is not a known order type"))),
    }
}

pub fn symbol_rules(s: &wire::SymbolInfo) -> Result<SymbolRules, ExchangeError> {
    let symbol = Symbol::new(&s.symbol).map_err(domain)?;
    let mut price_filter = None;
    let mut lot_size = None;
    let mut market_lot_size = None;
    let mut min_notional = Decimal::ZERO;
    let mut percent_price = PercentPrice {
        multiplier_up: Decimal::ZERO,
        multiplier_down: Decimal::ZERO,
        multiplier_decimal: 0,
    };
    let mut max_num_orders = 0;
    for f in &s.filters {
        match f {
            wire::Filter::Price {
                min_price,
                max_price,
                tick_size,
            } => {
                price_filter = Some(PriceFilter {
                    min_price: *min_price,
                    max_price: *max_price,
                    tick_size: *tick_size,
                })
            }
            wire::Filter::LotSize {
                min_qty,
                max_qty,
                step_size,
            } => {
                lot_size = Some(LotFilter {
                    min_qty: *min_qty,
                    max_qty: *max_qty,
                    step_size: *step_size,
                })
            }
            wire::Filter::MarketLotSize {
                min_qty,
                max_qty,
                step_size,
            } => {
                market_lot_size = Some(LotFilter {
                    min_qty: *min_qty,
                    max_qty: *max_qty,
                    step_size: *step_size,
                })
            }
            wire::Filter::MaxNumOrders { limit } => max_num_orders = *limit,
            wire::Filter::MinNotional { notional } => min_notional = *notional,
            wire::Filter::PercentPrice {
                multiplier_up,
                multiplier_down,
                multiplier_decimal,
            } => {
                percent_price = PercentPrice {
                    multiplier_up: *multiplier_up,
                    multiplier_down: *multiplier_down,
                    multiplier_decimal: multiplier_decimal.to_u32().unwrap_or(0),
                }
            }
            wire::Filter::Other => {}
        }
    }
    let field = |name: &str| format!("symbols[{}].filters.{name}", s.symbol);
    let price_filter = price_filter.ok_or_else(|| bad(&field("PRICE_FILTER"), "missing"))?;
    let lot_size = lot_size.ok_or_else(|| bad(&field("LOT_SIZE"), "missing"))?;
    // Without MARKET_LOT_SIZE the venue applies LOT_SIZE to market orders too.
    let market_lot_size = market_lot_size.unwrap_or_else(|| lot_size.clone());
    Ok(SymbolRules {
        symbol,
        status: s.status.clone(),
        base_asset: s.base_asset.clone(),
        quote_asset: s.quote_asset.clone(),
        price_precision: s.price_precision,
        quantity_precision: s.quantity_precision,
        price_filter,
        lot_size,
        market_lot_size,
        min_notional,
        percent_price,
        max_num_orders,
    })
}

pub(crate) fn order_report(o: &wire::Order) -> Result<OrderReport, ExchangeError> {
    let status = OrderStatus::parse(&o.status).map_err(domain)?;
    Ok(OrderReport {
        symbol: Symbol::new(&o.symbol).map_err(domain)?,
        order_id: o.order_id,
        client_order_id: o.client_order_id.clone(),
        side: Side::parse(&o.side).map_err(domain)?,
        position_side: PositionSide::parse(&o.position_side).map_err(domain)?,
        order_type: order_type(&o.order_type)?,
        status,
        reduce_only: o.reduce_only,
        orig_qty: Qty::new("origQty", o.orig_qty).map_err(domain)?,
        executed_qty: Qty::new("executedQty", o.executed_qty).map_err(domain)?,
        avg_price: o.avg_price,
        price: o.price,
        update_time: time_ms("updateTime", o.update_time)?,
        // REST order objects carry no `er`; the status alone still tells an STP expiry.
        expire_reason: ExpireReason::of_update(status, None),
    })
}

pub(crate) fn fill_from_trade(t: &wire::UserTrade) -> Result<Fill, ExchangeError> {
    Ok(Fill {
        symbol: Symbol::new(&t.symbol).map_err(domain)?,
        trade_id: t.id,
        order_id: t.order_id,
        client_order_id: None,
        side: Side::parse(&t.side).map_err(domain)?,
        position_side: PositionSide::parse(&t.position_side).map_err(domain)?,
        price: Price::new("price", t.price).map_err(domain)?,
        quantity: Qty::new("qty", t.qty).map_err(domain)?,
        commission: t.commission,
        commission_asset: t.commission_asset.clone(),
        realized_pnl: t.realized_pnl,
        maker: t.maker,
        time: time_ms("time", t.time)?,
    })
}

pub(crate) fn position(p: &wire::PositionRisk) -> Result<ExchangePosition, ExchangeError> {
    Ok(ExchangePosition {
        symbol: Symbol::new(&p.symbol).map_err(domain)?,
        position_side: PositionSide::parse(&p.position_side).map_err(domain)?,
        amount: p.position_amt,
        entry_price: p.entry_price,
        mark_price: p.mark_price.filter(|m| !m.is_zero()),
        unrealized_pnl: p.un_realized_profit,
        update_time: time_ms("updateTime", p.update_time)?,
    })
}

pub(crate) fn balance(a: &wire::AccountAsset) -> Balance {
    Balance {
        asset: a.asset.clone(),
        wallet_balance: a.wallet_balance,
        available_balance: a.available_balance,
        unrealized_pnl: a.unrealized_profit,
    }
}

pub(crate) fn leverage_brackets(
    reply: wire::BracketsReply,
    symbol: &Symbol,
) -> Result<Vec<LeverageBracket>, ExchangeError> {
    let list = match reply {
        wire::BracketsReply::One(one) => vec![one],
        wire::BracketsReply::Many(many) => many,
    };
    let entry = list
        .into_iter()
        .find(|b| b.symbol.eq_ignore_ascii_case(symbol.as_str()))
        .ok_or_else(|| bad("leverageBracket", format!("no brackets for {symbol}")))?;
    Ok(entry
        .brackets
        .into_iter()
        .map(|b| LeverageBracket {
            bracket: b.bracket,
            initial_leverage: b.initial_leverage,
            notional_cap: b.notional_cap,
            notional_floor: b.notional_floor,
            maint_margin_ratio: b.maint_margin_ratio,
        })
        .collect())
}

pub(crate) fn trading_status(s: &wire::ApiTradingStatus) -> Result<TradingStatus, ExchangeError> {
    let mut out = TradingStatus {
        account_locked: false,
        locked_symbols: Vec::new(),
    };
    for (key, indicators) in &s.indicators {
        if !indicators.iter().any(|i| i.is_locked) {
            continue;
        }
        if key == "ACCOUNT" {
            out.account_locked = true;
        } else {
            out.locked_symbols.push(Symbol::new(key).map_err(domain)?);
        }
    }
    Ok(out)
}

/// Translate one user-stream event. A TRADE update yields the fill, then the order.
pub fn account_events(event: &UserEvent) -> Result<Vec<AccountEvent>, ExchangeError> {
    match event {
        UserEvent::OrderTradeUpdate { order, .. } => order_update(order),
        UserEvent::AlgoUpdate { event_time, order } => Ok(vec![AccountEvent::Algo(
            super::rest::algo::algo_update_report(order, *event_time)?,
        )]),
        UserEvent::AccountUpdate { event_time, data } => {
            let time = time_ms("E", *event_time)?;
            let mut out = Vec::new();
            if !data.balances.is_empty() {
                // The stream carries wallet and cross-wallet balances only: available is
                // the cross wallet, unrealized PnL is not reported per asset.
                out.push(AccountEvent::Balances(
                    data.balances
                        .iter()
                        .map(|b| Balance {
                            asset: b.asset.clone(),
                            wallet_balance: b.wallet_balance,
                            available_balance: b.cross_wallet,
                            unrealized_pnl: Decimal::ZERO,
                        })
                        .collect(),
                ));
            }
            if !data.positions.is_empty() {
                let positions = data
                    .positions
                    .iter()
                    .map(|p| {
                        Ok(ExchangePosition {
                            symbol: Symbol::new(&p.symbol).map_err(domain)?,
                            position_side: PositionSide::parse(&p.position_side).map_err(domain)?,
                            amount: p.amount,
                            entry_price: p.entry_price,
                            mark_price: None,
                            unrealized_pnl: p.unrealized_pnl,
                            update_time: time,
                        })
                    })
                    .collect::<Result<Vec<_>, ExchangeError>>()?;
                out.push(AccountEvent::Positions {
                    positions,
                    time,
                    complete: false,
                });
            }
            Ok(out)
        }
        UserEvent::ConfigUpdate { ac, ai, .. } => Ok(vec![AccountEvent::ConfigChanged {
            symbol: ac
                .as_ref()
                .map(|c| Symbol::new(&c.symbol))
                .transpose()
                .map_err(domain)?,
            leverage: ac.as_ref().map(|c| c.leverage),
            multi_assets: ai.as_ref().map(|c| c.multi_assets),
        }]),
        UserEvent::ListenKeyExpired { .. } | UserEvent::Other => Ok(Vec::new()),
    }
}

fn order_update(o: &OrderUpdate) -> Result<Vec<AccountEvent>, ExchangeError> {
    let symbol = Symbol::new(&o.symbol).map_err(domain)?;
    let side = Side::parse(&o.side).map_err(domain)?;
    let position_side = PositionSide::parse(&o.position_side).map_err(domain)?;
    let time = time_ms("o.T", o.trade_time)?;
    let mut out = Vec::with_capacity(2);
    if o.execution_type == "TRADE" && o.trade_id > 0 {
        out.push(AccountEvent::Fill(Fill {
            symbol: symbol.clone(),
            trade_id: o.trade_id,
            order_id: o.order_id,
            // Venue-generated ids (autoclose-…) may not fit our format; the order id still links.
            client_order_id: ClientOrderId::new(&o.client_order_id).ok(),
            side,
            position_side,
            price: Price::new("o.L", o.last_price).map_err(domain)?,
            quantity: Qty::new("o.l", o.last_qty).map_err(domain)?,
            commission: o.commission.unwrap_or(Decimal::ZERO),
            commission_asset: o.commission_asset.clone().unwrap_or_default(),
            realized_pnl: o.realized_pnl,
            maker: o.maker,
            time,
        }));
    }
    let status = OrderStatus::parse(&o.status).map_err(domain)?;
    let er = o
        .expire_reason
        .as_deref()
        .map(|raw| ExpireReason::parse("o.er", raw))
        .transpose()
        .map_err(domain)?;
    out.push(AccountEvent::Order(OrderReport {
        symbol,
        order_id: o.order_id,
        client_order_id: o.client_order_id.clone(),
        side,
        position_side,
        order_type: order_type(&o.order_type)?,
        status,
        reduce_only: o.reduce_only,
        orig_qty: Qty::new("o.q", o.orig_qty).map_err(domain)?,
        executed_qty: Qty::new("o.z", o.cum_qty).map_err(domain)?,
        avg_price: o.avg_price,
        price: o.price,
        update_time: time,
        expire_reason: ExpireReason::of_update(status, er),
    }));
    Ok(out)
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
