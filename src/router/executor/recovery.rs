//! Finding out what the exchange did: resolving orders by client order id (at start,
//! before anything new is sent, and whenever an outcome is unknown), backfilling their
//! fills into the ledger, re-reading a leg's real size, and cancelling sluice's own
//! resting reduce-only orders that conflict with a close (-2022/-4118).
//!
//! Invariant: an order whose outcome is unknown is never re-sent; it is resolved first,
//! and `NotFound` (the exchange never executed it) is the only answer that frees a re-send.
//!
//! Every read here serves a close, a flatten, a cancel or an order in flight (whose
//! outcome bounds the exposure a close must take back), so each is made with
//! [`Purpose::ReduceRisk`]: it may use the IP weight kept for risk-reducing requests.

use std::collections::BTreeMap;
use std::time::Duration;

use super::context::Ctx;
use super::job::Leg;
use crate::domain::{ClientOrderId, PositionSide, Qty, Symbol};
use crate::exchange::{ExchangeError, OrderReport, OrderResolution, Purpose};
use crate::ledger::{FillOutcome, FillSource, OrderRow, OrderState, OrderUpdate};
use crate::router::core::client_id::is_sluice;
use crate::shutdown::Shutdown;

/// What resolving one order found.
pub(crate) enum Resolved {
    /// The exchange knows it; its trades are applied.
    Known(OrderReport),
    /// It never executed; the ledger row is now `rejected`.
    NeverExecuted,
}

/// Look `coid` up at the exchange, apply any trades it had, record its status.
pub(crate) async fn resolve(
    ctx: &Ctx,
    symbol: &Symbol,
    coid: &ClientOrderId,
) -> anyhow::Result<Result<Resolved, ExchangeError>> {
    match ctx
        .exchange
        .resolve_order(symbol, coid, Purpose::ReduceRisk)
        .await
    {
        Ok(answer) => apply_resolution(ctx, coid, answer).await.map(Ok),
        Err(e) => Ok(Err(e)),
    }
}

/// Apply what the exchange said about `coid`: its trades and status, or "never executed".
async fn apply_resolution(
    ctx: &Ctx,
    coid: &ClientOrderId,
    answer: OrderResolution,
) -> anyhow::Result<Resolved> {
    match answer {
        OrderResolution::Known { order, trades } => {
            for t in &trades {
                let outcome = ctx
                    .ledger
                    .apply_fill_from(&ctx.venue, t, &[], Some(FillSource::Rest))
                    .await?;
                if !matches!(outcome, FillOutcome::Duplicate) {
                    crate::metrics::record_fill(FillSource::Rest.as_str());
                }
            }
            super::report::record_report(ctx, &order).await?;
            Ok(Resolved::Known(order))
        }
        OrderResolution::NotFound => {
            ctx.ledger
                .update_order_status(
                    coid.as_str(),
                    &OrderUpdate {
                        status: OrderState::Rejected,
                        exchange_order_id: None,
                        error_code: None,
                        error_msg: Some(
                            "resolved by client order id: the exchange never executed it".into(),
                        ),
                    },
                )
                .await?;
            Ok(Resolved::NeverExecuted)
        }
    }
}

/// Crash recovery: resolve every non-terminal order before anything new is sent.
/// The orders of one symbol are asked about together (`Exchange::resolve_orders`: their
/// fills from one read); one whose answer failed is retried alone (with a bounded delay)
/// until it is resolved or shutdown is asked.
pub(crate) async fn recover_orders(ctx: &Ctx, shutdown: &Shutdown) -> anyhow::Result<usize> {
    let non_terminal = ctx.ledger.non_terminal_orders().await?;
    recover_read_orders(ctx, non_terminal, shutdown).await
}

/// [`recover_orders`] with the ledger's non-terminal orders already read by the caller
/// (at start: the one read that also names the LIMIT orders to the user stream).
pub(crate) async fn recover_read_orders(
    ctx: &Ctx,
    non_terminal: Vec<OrderRow>,
    shutdown: &Shutdown,
) -> anyhow::Result<usize> {
    let mut pending = non_terminal;
    pending.extend(short_of_fills(ctx).await?);
    let mut by_symbol: BTreeMap<Symbol, Vec<&OrderRow>> = BTreeMap::new();
    for order in pending.iter().filter(|o| o.venue == ctx.venue) {
        by_symbol
            .entry(order.symbol.clone())
            .or_default()
            .push(order);
    }
    let mut count = 0;
    for (symbol, orders) in &by_symbol {
        let ids = orders
            .iter()
            .map(|o| ClientOrderId::new(&o.client_order_id))
            .collect::<Result<Vec<_>, _>>()?;
        let since = orders
            .iter()
            .map(|o| o.created_at)
            .min()
            .unwrap_or_default();
        let answers = ctx
            .exchange
            .resolve_orders(symbol, &ids, since, Purpose::ReduceRisk)
            .await;
        for ((order, coid), answer) in orders.iter().zip(&ids).zip(answers) {
            match answer {
                Ok(answer) => {
                    apply_resolution(ctx, coid, answer).await?;
                }
                Err(e) => {
                    tracing::warn!(client_order_id = %coid, error = %e, "recovery: resolve failed; retrying");
                    resolve_until_answered(ctx, order, shutdown).await?;
                }
            }
            count += 1;
        }
    }
    if count > 0 {
        tracing::info!(
            orders = count,
            "recovery: non-terminal orders resolved by client order id"
        );
    }
    Ok(count)
}

/// Orders of still-active intents that ended (filled, cancelled, expired) with fewer
/// fills in the ledger than their quantity: a crash between the exchange's answer and
/// the stream's fills leaves exactly these. Their trades are backfilled by resolution.
async fn short_of_fills(ctx: &Ctx) -> anyhow::Result<Vec<OrderRow>> {
    let mut out = Vec::new();
    for intent in ctx.ledger.active_intents(&ctx.venue).await? {
        let orders = ctx.ledger.orders_of_intent(intent.id).await?;
        out.extend(orders.into_iter().filter(|o| {
            matches!(
                o.status,
                OrderState::Filled | OrderState::Canceled | OrderState::Expired
            ) && o.filled_quantity < o.quantity
        }));
    }
    Ok(out)
}

async fn resolve_until_answered(
    ctx: &Ctx,
    order: &OrderRow,
    shutdown: &Shutdown,
) -> anyhow::Result<()> {
    let coid = ClientOrderId::new(&order.client_order_id)?;
    let mut delay = Duration::from_millis(100);
    loop {
        match resolve(ctx, &order.symbol, &coid).await? {
            Ok(_) => return Ok(()),
            Err(e) if shutdown.is_requested() => {
                anyhow::bail!("shutdown while resolving {coid}: {e}")
            }
            // A refused key will not start working by asking again here: the caller
            // (start-up, or key-loss recovery) decides what to do.
            Err(e) if e.class == crate::exchange::ErrorClass::Auth => {
                anyhow::bail!("resolving {coid}: the exchange refuses the API key: {e}")
            }
            Err(e) => {
                tracing::warn!(client_order_id = %coid, error = %e, "recovery: resolve failed; retrying");
                tokio::time::sleep(e.retry_after.unwrap_or(delay).max(delay)).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Store the exchange's positions as a REST read shows them now (a complete snapshot:
/// a stored leg it does not list is flat). Used after fills learned over REST, when no
/// ACCOUNT_UPDATE can be relied on; a failed read is logged and left to the next one.
pub(crate) async fn refresh_exchange_positions(ctx: &Ctx) {
    // On the exchange's clock, as the stream's event times are (offset = local - server).
    let offset = ctx.exchange.clock_offset_ms().await.unwrap_or(0);
    let asked_at = chrono::Utc::now() - chrono::Duration::milliseconds(offset);
    let positions = match ctx.exchange.positions(Purpose::ReduceRisk).await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "reading positions after REST-resolved fills failed");
            return;
        }
    };
    match ctx
        .ledger
        .record_exchange_snapshot(&ctx.venue, &positions, asked_at)
        .await
    {
        Ok(()) => tracing::debug!(
            positions = positions.len(),
            "exchange positions refreshed over REST"
        ),
        Err(e) => tracing::warn!(error = %e, "storing positions read over REST failed"),
    }
}

/// The leg's absolute size as the exchange reports it now (None if it cannot be read).
pub(crate) async fn leg_size_on_exchange(ctx: &Ctx, leg: &Leg) -> Option<Qty> {
    let positions = match ctx.exchange.positions(Purpose::ReduceRisk).await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "re-reading positions failed");
            return None;
        }
    };
    let side = PositionSide::for_mode(leg.mode, leg.direction);
    let amount = positions
        .iter()
        .filter(|p| p.symbol == leg.symbol && p.position_side == side)
        .map(|p| p.amount.abs())
        .sum();
    let size = Qty::new("position", amount).ok();
    tracing::info!(symbol = %leg.symbol, size = ?size, "re-read the leg's size from the exchange");
    size
}

/// Cancel sluice's own resting reduce-only orders on `symbol` (they hold the position's
/// reduce-only allowance, -2022). Foreign orders are never touched.
pub(crate) async fn cancel_conflicting_reduce_only(ctx: &Ctx, symbol: &Symbol) {
    cancel_own_orders(ctx, Some(symbol), true).await;
}

/// Up to this many symbols, one `openOrders` read per symbol (IP weight 1 each) is
/// cheaper than one read without a symbol (40; docs/binance-fapi.md §2.2).
const SCOPED_READS_UP_TO: usize = 40;

/// Cancel sluice's own open orders (all, or only reduce-only ones) in scope.
pub(crate) async fn cancel_own_orders(ctx: &Ctx, symbol: Option<&Symbol>, reduce_only: bool) {
    let open = match own_open_orders(ctx, symbol).await {
        Ok(o) => o,
        Err(e) => {
            tracing::warn!(error = %e, "reading open orders failed");
            return;
        }
    };
    for o in open
        .iter()
        .filter(|o| is_sluice(&o.client_order_id) && (!reduce_only || o.reduce_only))
    {
        let Ok(coid) = ClientOrderId::new(&o.client_order_id) else {
            continue;
        };
        match ctx.exchange.cancel_order(&o.symbol, &coid).await {
            Ok(r) => {
                tracing::info!(client_order_id = %coid, "cancelled sluice's resting order");
                if let Err(e) = super::report::record_report(ctx, &r).await {
                    tracing::warn!(error = %e, "recording a cancel failed");
                }
            }
            Err(e) => tracing::warn!(client_order_id = %coid, error = %e, "cancel failed"),
        }
    }
}

/// The venue's open orders where sluice's own may rest. Without a symbol, only the
/// symbols of the LIMIT orders the ledger holds non-terminal are read (weight 1 each),
/// since every order sluice sends is recorded before it is sent and stays non-terminal
/// until the venue says it ended; one unscoped read when there are more than
/// [`SCOPED_READS_UP_TO`] such symbols or the ledger cannot be read. A sluice-named order
/// the ledger does not hold (placed by another ledger) is found by `sluice reconcile`,
/// not here.
async fn own_open_orders(
    ctx: &Ctx,
    symbol: Option<&Symbol>,
) -> Result<Vec<OrderReport>, ExchangeError> {
    if symbol.is_some() {
        return ctx.exchange.open_orders(symbol, Purpose::ReduceRisk).await;
    }
    let symbols = match ctx.ledger.resting_symbols(&ctx.venue).await {
        Ok(symbols) => symbols,
        Err(e) => {
            tracing::warn!(error = %e, "reading the ledger's orders failed; reading every symbol's open orders");
            return ctx.exchange.open_orders(None, Purpose::ReduceRisk).await;
        }
    };
    if symbols.len() > SCOPED_READS_UP_TO {
        return ctx.exchange.open_orders(None, Purpose::ReduceRisk).await;
    }
    let mut open = Vec::new();
    for s in &symbols {
        open.extend(
            ctx.exchange
                .open_orders(Some(s), Purpose::ReduceRisk)
                .await?,
        );
    }
    Ok(open)
}
