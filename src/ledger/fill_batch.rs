//! One transaction for a batch of fills, in a fixed number of round trips whatever its
//! size: lock every order the batch names (one statement, in id order), insert every
//! fill row (one multi-row `INSERT … ON CONFLICT DO NOTHING`: the unique (account, venue,
//! symbol, trade id) decides what is new), lock the legs open fills may grow and the positions
//! close fills name (one or two statements), apply the rules in memory
//! ([`super::fill_plan`]), then write every position, order, fill completion, intent
//! link and anomaly in ONE statement (`fill_write.rs`). A position is created (one
//! INSERT) only when an open fill finds its leg empty. Two more statements only when a
//! fill finds no order (its exchange order's lock, then the orders read again: an answer
//! naming it may be committing), and when a fill names an order's exchange id for the
//! first time (that order's fills stored external are then applied too: `reattribute.rs`).
//!
//! Locks are taken class by class, each class in a fixed order (orders by id, legs by
//! name, positions by id), the same order as one fill at a time takes them: two batches
//! cannot wait on each other in a circle. The exchange-order locks (the strays' and those
//! of the orders whose exchange id the batch may store first) come after the orders and
//! before the positions, all in one statement (the global order: `reattribute.rs`). The
//! one exception: an order found after waiting for
//! its exchange-order lock (an answer committed meanwhile) is locked after the batch's
//! other orders; a batch holding it and waiting for one of those would close a circle,
//! which Postgres breaks by failing one of the two, and a failed batch is applied again
//! one fill at a time (`fills.rs`).

use std::collections::{HashMap, HashSet};

use sqlx::PgConnection;

use super::error::LedgerError;
use super::fill_outcome::FillOutcome;
use super::fill_plan::Plan;
use super::fill_write::write_plan;
use super::ids::{FillId, PositionId};
use super::model::{FillSource, OrderRow, PositionRow};
use super::position_math::PositionFigures;
use super::positions::{insert_position, write_figures};
use super::reattribute::{
    lock_exchange_orders, lock_stranded, orders_by_exchange_id, reattribute_held,
};
use crate::domain::{Fill, PositionSide, Symbol};

/// Apply `fills` (already checked) inside `conn`'s transaction, one outcome each, in
/// their order. A fill repeated inside the batch is a `Duplicate` after its first arrival.
pub(crate) async fn apply_in(
    conn: &mut PgConnection,
    venue: &str,
    fills: &[&Fill],
    source: Option<FillSource>,
) -> Result<Vec<FillOutcome>, LedgerError> {
    let mut seen = HashSet::new();
    let first: Vec<bool> = fills
        .iter()
        .map(|f| seen.insert((f.symbol.clone(), f.trade_id)))
        .collect();
    let mut plan = Plan::new(lock_orders(conn, venue, fills).await?);
    let mut orders: Vec<Option<usize>> = fills.iter().map(|f| plan.match_order(f)).collect();
    // A fill no order explains may belong to an order whose exchange id is being stored
    // right now: wait for that (`reattribute.rs`), then look again.
    let strays: Vec<(Symbol, i64)> = (0..fills.len())
        .filter(|&i| first[i] && orders[i].is_none())
        .map(|i| (fills[i].symbol.clone(), fills[i].order_id))
        .collect();
    // Every exchange-order lock the batch takes, in one statement and before any position
    // lock (the lock order, `reattribute.rs`): the strays', and those of the orders whose
    // exchange id it may store first (their fills stored external are re-attributed at
    // the end, under these locks).
    let mut keys = strays.clone();
    let to_learn = plan.exchange_ids_to_learn();
    keys.extend(to_learn.iter().cloned());
    lock_exchange_orders(conn, venue, &keys).await?;
    // Their fills stored external too, before the positions (step 4 of the lock order).
    lock_stranded(conn, venue, &to_learn).await?;
    if !strays.is_empty() {
        let late = orders_by_exchange_id(conn, venue, &strays).await?;
        if !late.is_empty() {
            plan.add_orders(late);
            orders = fills.iter().map(|f| plan.match_order(f)).collect();
        }
    }
    let fresh: Vec<usize> = (0..fills.len()).filter(|&i| first[i]).collect();
    let ids = insert_fills(conn, venue, fills, &fresh, &orders, &plan, source).await?;
    let touched: Vec<usize> = fresh
        .iter()
        .filter(|&&i| ids.contains_key(&(fills[i].symbol.clone(), fills[i].trade_id)))
        .filter_map(|&i| orders[i])
        .collect();
    let ids: Vec<Option<FillId>> = fills
        .iter()
        .enumerate()
        .map(|(i, f)| {
            first[i]
                .then(|| ids.get(&(f.symbol.clone(), f.trade_id)).copied())
                .flatten()
        })
        .collect();
    let outcomes = apply_planned(conn, venue, &mut plan, fills, &orders, &ids, &touched).await?;
    // Their exchange-order locks were taken above, before the positions'.
    reattribute_held(conn, venue, &plan.learned_exchange_ids()).await?;
    Ok(outcomes)
}

/// The second half of a batch, shared with re-attribution (`reattribute.rs`): lock the
/// positions the `touched` orders may move, apply each fill that has an id in `ids` (a
/// fill without one is a duplicate) to the plan in order, and write the plan.
pub(crate) async fn apply_planned(
    conn: &mut PgConnection,
    venue: &str,
    plan: &mut Plan,
    fills: &[&Fill],
    orders: &[Option<usize>],
    ids: &[Option<FillId>],
    touched: &[usize],
) -> Result<Vec<FillOutcome>, LedgerError> {
    let (legs, position_ids) = plan.to_lock(touched);
    let locked = lock_positions(conn, venue, &legs, &position_ids).await?;
    for p in &locked {
        plan.add_position(p);
    }
    if !plan.accounted.is_empty() {
        let ids: Vec<_> = locked.iter().map(|p| p.id).collect();
        plan.accounted_held = super::reattribute::accounted_held(conn, &ids).await?;
    }
    let mut outcomes = Vec::with_capacity(fills.len());
    for (i, fill) in fills.iter().enumerate() {
        let Some(fill_id) = ids[i] else {
            outcomes.push(FillOutcome::Duplicate);
            continue;
        };
        let outcome = match plan.apply(fill, orders[i], fill_id) {
            Ok(o) => o,
            Err(need) => {
                let order = orders[i].ok_or_else(|| {
                    LedgerError::invalid("fill", "an open fill without its order")
                })?;
                let p = create_position(conn, venue, plan, &need, fill).await?;
                plan.apply_born(fill, order, fill_id, &p)
            }
        };
        outcomes.push(outcome);
    }
    write_plan(conn, plan).await?;
    Ok(outcomes)
}

/// Every order a fill of the batch may belong to (by clientOrderId, or by symbol and
/// exchange order id: a superset, matched exactly in memory), locked in id order.
pub(crate) async fn lock_orders(
    conn: &mut PgConnection,
    venue: &str,
    fills: &[&Fill],
) -> Result<Vec<OrderRow>, LedgerError> {
    let coids: Vec<&str> = fills
        .iter()
        .filter_map(|f| f.client_order_id.as_ref().map(|c| c.as_str()))
        .collect();
    let symbols: Vec<&str> = fills.iter().map(|f| f.symbol.as_str()).collect();
    let exchange_ids: Vec<i64> = fills.iter().map(|f| f.order_id).collect();
    sqlx::query(
        "SELECT * FROM orders WHERE venue = $1 AND account_id = sluice_account()
           AND (client_order_id = ANY($2) OR (symbol = ANY($3) AND exchange_order_id = ANY($4)))
         ORDER BY id FOR NO KEY UPDATE",
    )
    .bind(venue)
    .bind(&coids)
    .bind(&symbols)
    .bind(&exchange_ids)
    .fetch_all(conn)
    .await?
    .iter()
    .map(OrderRow::decode)
    .collect()
}

/// Insert the fill rows `fresh` (indexes into `fills`) in one statement; returns the id
/// of each row that is new. A trade already stored gets no id: a duplicate.
async fn insert_fills(
    conn: &mut PgConnection,
    venue: &str,
    fills: &[&Fill],
    fresh: &[usize],
    orders: &[Option<usize>],
    plan: &Plan,
    source: Option<FillSource>,
) -> Result<HashMap<(Symbol, i64), FillId>, LedgerError> {
    let pick = |i: &usize| (fills[*i], orders[*i].map(|k| plan.order_id(k)));
    let rows: Vec<_> = fresh.iter().map(pick).collect();
    let rows: Vec<(i64, String, i64)> = sqlx::query_as(
        "INSERT INTO fills (venue, symbol, trade_id, order_id, client_order_id, exchange_order_id,
             side, position_side, price, quantity, commission, commission_asset, realized_pnl,
             maker, traded_at, external, source)
         SELECT $1, u.symbol, u.trade_id, u.order_id, u.coid, u.exchange_order_id, u.side,
             u.leg, u.price, u.quantity, u.commission, u.asset, u.pnl, u.maker, u.traded_at,
             u.order_id IS NULL, $16
         FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::bigint[],
             $7::text[], $8::text[], $9::numeric[], $10::numeric[], $11::numeric[],
             $12::text[], $13::numeric[], $14::bool[], $15::timestamptz[])
           AS u(symbol, trade_id, order_id, coid, exchange_order_id, side, leg, price,
             quantity, commission, asset, pnl, maker, traded_at)
         ON CONFLICT (account_id, venue, symbol, trade_id) DO NOTHING
         RETURNING id, symbol, trade_id",
    )
    .bind(venue)
    .bind(
        rows.iter()
            .map(|(f, _)| f.symbol.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|(f, _)| f.trade_id).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|(_, o)| o.map(|o| o.get()))
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|(f, _)| f.client_order_id.as_ref().map(|c| c.as_str()))
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|(f, _)| f.order_id).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|(f, _)| f.side.as_wire())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|(f, _)| f.position_side.as_wire())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|(f, _)| f.price.get()).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|(f, _)| f.quantity.get())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|(f, _)| f.commission).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|(f, _)| f.commission_asset.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|(f, _)| f.realized_pnl).collect::<Vec<_>>())
    .bind(rows.iter().map(|(f, _)| f.maker).collect::<Vec<_>>())
    .bind(rows.iter().map(|(f, _)| f.time).collect::<Vec<_>>())
    .bind(source.map(FillSource::as_str))
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(id, symbol, trade_id)| Ok(((Symbol::new(&symbol)?, trade_id), FillId(id))))
        .collect()
}

/// Serialise position creation on each leg open fills may grow (advisory locks, in name
/// order), then lock the open positions on those legs and the positions close fills
/// name, in id order.
async fn lock_positions(
    conn: &mut PgConnection,
    venue: &str,
    legs: &[(Symbol, PositionSide)],
    ids: &[PositionId],
) -> Result<Vec<PositionRow>, LedgerError> {
    if legs.is_empty() && ids.is_empty() {
        return Ok(Vec::new());
    }
    if !legs.is_empty() {
        let keys: Vec<String> = legs
            .iter()
            .map(|(s, leg)| format!("sluice/leg/{venue}/{s}/{}", leg.as_wire()))
            .collect();
        sqlx::query(
            "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k",
        )
        .bind(&keys)
        .execute(&mut *conn)
        .await?;
    }
    let symbols: Vec<&str> = legs.iter().map(|(s, _)| s.as_str()).collect();
    let sides: Vec<&str> = legs.iter().map(|(_, l)| l.as_wire()).collect();
    sqlx::query(
        "SELECT * FROM positions WHERE id = ANY($1)
            OR (venue = $2 AND status = 'open' AND account_id = sluice_account()
                AND (symbol, position_side) IN (SELECT * FROM unnest($3::text[], $4::text[])))
         ORDER BY id FOR NO KEY UPDATE",
    )
    .bind(ids.iter().map(|p| p.get()).collect::<Vec<_>>())
    .bind(venue)
    .bind(&symbols)
    .bind(&sides)
    .fetch_all(conn)
    .await?
    .iter()
    .map(PositionRow::decode)
    .collect()
}

/// Create the position an open fill starts on an empty leg, from the fill's quantity
/// and price. A position the batch closed on that leg is written first (at most one
/// open position per leg).
async fn create_position(
    conn: &mut PgConnection,
    venue: &str,
    plan: &Plan,
    need: &super::fill_plan::NeedPosition,
    fill: &Fill,
) -> Result<PositionRow, LedgerError> {
    for p in plan.closed_on_leg(&need.symbol, need.leg) {
        write_figures(conn, p.id, &p.figures).await?;
    }
    let figures = PositionFigures::new(fill.quantity.get(), fill.price.get());
    insert_position(
        conn,
        venue,
        &need.symbol,
        need.direction,
        need.leg,
        &figures,
        "sluice",
    )
    .await
}
