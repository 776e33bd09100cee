//! The second line of defence for a fill stored `external` only because it arrived
//! before its order's exchange id was known: a trade read without a client order id
//! (REST `userTrades`) names its order by exchange order id alone, and an order sluice
//! sent does not have one in the ledger until its answer (or a fill that carries its
//! client order id) is applied. Such a fill is stored external, moves nothing and gets an
//! `external_fill` anomaly (`fill_plan/rules.rs`).
//!
//! Every statement that stores an order's exchange id for the first time
//! (`Ledger::update_order_status`, `Ledger::record_order_reports`, the fill batch's
//! writer, `Ledger::link_protective_order`) calls [`reattribute_in`] in the SAME
//! transaction: each external fill of that venue, symbol and exchange order id is given
//! to the order and applied by the fill batch's own plan (`fill_plan.rs`, written by
//! `fill_write.rs`), exactly as if it had arrived now with the order known: the order's
//! filled quantity, average price and status, the position (open fills grow or create it,
//! close fills reduce it, capped), the intent's position link, the budget (the `fills`
//! triggers see the fill's order), and the `fill`, `order` and `position` events. The
//! anomaly row stays, marked resolved (`resolved_at`, `resolved_order_id`). A fill is only
//! taken while it is still external (locked, `external` then cleared), so none is applied
//! twice, and its trade id still makes a later arrival of the same trade a duplicate.
//!
//! A fill and an answer in flight at once could each miss the other (the fill's batch
//! does not see the uncommitted exchange id, the answer does not see the uncommitted
//! fill). Both sides therefore take a transaction lock on the exchange order's key
//! ([`lock_exchange_orders`]) and read again in a new statement: the writer of an exchange
//! id after storing it (holding the order's row), the fill batch for the fills it found
//! no order for, before storing them. Whichever comes second sees what the first committed.
//!
//! ## Lock order
//!
//! Every path that stores an exchange id or fills takes its locks in this one order,
//! skipping the classes it does not need, so none waits in a circle with another:
//! 1. the protective row (`Ledger::link_protective_order` only);
//! 2. order rows, in id order (the fill batch's `lock_orders`; the `FOR NO KEY UPDATE` of
//!    `update_order_status` and `record_order_reports`);
//! 3. exchange-order keys ([`lock_exchange_orders`]), in key order, in one statement per
//!    venue: the fill batch takes its strays' and those of every order whose exchange id
//!    it may store first (`Plan::exchange_ids_to_learn`) before inserting its fills; the
//!    order writers take the ids they learned (every venue's before re-attributing any);
//!    the link takes its order's before the position's row. [`reattribute_held`] then
//!    works under locks its caller already holds;
//! 4. the fills stored external, in id order (the re-attribution's `FOR NO KEY UPDATE`;
//!    a correction's [`lock_accountable`], before it locks or inserts the position it
//!    corrects, `Ledger::correct_position` and `Ledger::adopt_position_read_at`, and
//!    marks those fills after; the fill batch's and the link's [`lock_stranded`], for the
//!    orders whose exchange id they may store, before their positions);
//! 5. leg keys by name, then position rows in id order (`fill_batch::lock_positions`,
//!    the link's `lock_position`);
//! 6. budget reservation rows, by the writing statement's triggers (`budget.rs`).
//!
//! Two exceptions, both about order rows and as rare as their cause: an order found
//! only after waiting for its exchange-order key (an answer committed meanwhile) is locked
//! after the batch's other orders (`fill_batch.rs`); and the re-attribution's
//! `lock_orders` matches by symbol and exchange id as a superset, so an order of another
//! symbol that happens to carry the same exchange id number is locked with them (after
//! the batch's positions, when the batch is the caller). Should either close a circle,
//! Postgres fails one transaction with a deadlock error, which rolls it back whole; a
//! batch is then applied again one fill at a time (`fills.rs`).
//!
//! ## A fill a correction already accounted for
//!
//! A correction that sets a leg to the exchange's own position (reconcile's resize, its
//! close of a leg the exchange does not hold and its adoption, `src/reconcile/apply.rs`;
//! the executor's adoption at start, `src/router/executor/adoption.rs`) brings into the
//! ledger every trade the exchange had executed when its position was read, external
//! fills included. Re-attributing such a fill the usual way would apply it a second
//! time. So the correction's transaction marks them ([`lock_accountable`] then
//! [`mark_accounted`]): every fill of
//! that venue, symbol and position side still `external` and not marked yet whose trade
//! time is at or before the moment the exchange's position was read (`traded_at <=
//! read_at`), is given the correction's `ledger_adjustments` id in `fills.accounted_by`.
//! Why that set: every such trade was executed before the exchange answered, so the
//! exchange's position holds it, and so does the corrected ledger position; a trade after
//! the read is not in it and is not marked. Both times are on the exchange's clock: the
//! trade time is the exchange's own, and the read time is sluice's clock when the answer
//! arrived, moved onto the exchange's by the adapter's measured offset
//! (`exchange::on_exchange_clock`, in reconcile's `read_exchange` and the executor's
//! adoption). The approximation left is that offset's own error (a few milliseconds: half
//! the round trip of its measure at most, plus any drift since) and the answer's travel
//! back: a trade within that of the read may be classed wrongly, which the next reconcile
//! shows as a size difference. The other gap: a trade the exchange's position held but
//! whose fill the ledger stores only after the correction commits (reconcile backfills the
//! trades it fetched before correcting, so only one arriving between its reads and its
//! correction) is not marked, and its later re-attribution moves the position as usual;
//! the next reconcile shows that as a size difference too. A marked fill never
//! re-attributed (a genuine manual trade) keeps its mark and nothing else changes.
//!
//! Re-attributing a marked fill links it and does NOT move the position
//! (`fill_plan/rules.rs`, `accounted`):
//! - its order: filled quantity, average price and status as for any fill (the order did
//!   execute it), the exchange id;
//! - an open order's fill: the position the marking correction wrote (its
//!   `ledger_adjustments` row: table `positions`, row id), while it is still the open
//!   position of the order's direction on the order's leg, becomes the order's and the
//!   intent's position, so the intent's close acts on it; the fill row names it with
//!   `applied_quantity` = the fill's quantity (the position holds it). Otherwise (that
//!   position closed since, and another opened on the leg after the correction does not
//!   hold the fill): neither is set, applied 0;
//! - a close order's fill: names the order's position, applied = its quantity (the
//!   correction took it out) capped as a close is, at what the position held for closes
//!   (opened minus closed quantity, with what marked fills re-attributed before changed:
//!   [`accounted_held`]; the excess an `over_close_capped` anomaly), 0 when the order
//!   names none; the position is not written;
//! - budget: `used` counts the position as corrected (the trade once); the intent's
//!   `reserved` term drops by the fill's value through the usual `fills` trigger (applied
//!   × price), exactly as if the fill had been applied on arrival, so the trade is neither
//!   counted twice nor reserved again;
//! - events: the fill's event (the `fills_event_attributed` trigger) and its order's; no
//!   position event, since the position is not written (its change was announced when
//!   the correction wrote it);
//! - doctor's position audit (`Ledger::position_audits`: adopted quantity + Σ applied
//!   fills): a fill the adoption of its very position accounted for is left out (the
//!   adopted quantity holds it); one a correction of the quantity accounted for counts
//!   (it is what that correction caught up with), so after the re-attribution the fills
//!   explain the corrected quantity. Reconcile's flip (close ours, adopt theirs) marks
//!   with the adoption.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::{PgConnection, Row};

use super::error::LedgerError;
use super::fill_batch::{apply_planned, lock_orders};
use super::fill_outcome::FillOutcome;
use super::fill_plan::{Marked, Plan};
use super::fill_rows::FillRow;
use super::ids::{AdjustmentId, FillId, PositionId};
use super::model::AnomalyKind;
use crate::domain::{Fill, PositionSide, Symbol};

/// Serialise, per exchange order (`venue`, symbol, exchange order id, in this account),
/// the storing of its exchange id and the storing of its fills as external. Transaction
/// locks taken in key order; released at commit.
pub(crate) async fn lock_exchange_orders(
    conn: &mut PgConnection,
    venue: &str,
    keys: &[(Symbol, i64)],
) -> Result<(), LedgerError> {
    let keys: BTreeSet<String> = keys
        .iter()
        .map(|(s, x)| format!("sluice/exchange-order/{venue}/{s}/{x}"))
        .collect();
    if keys.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "SELECT pg_advisory_xact_lock(hashtextextended(sluice_account() || '/' || k, 0))
         FROM unnest($1::text[]) AS k",
    )
    .bind(keys.into_iter().collect::<Vec<_>>())
    .execute(conn)
    .await?;
    Ok(())
}

/// The leg of a correction: venue, symbol, position side.
pub(crate) type Leg<'a> = (&'a str, &'a Symbol, PositionSide);

/// Lock the external fills of `leg` traded until `read_at` and not marked yet, in id
/// order (step 4 of the lock order), and return their ids: what a correction that sets
/// the leg to the exchange's position as read at `read_at` marks with [`mark_accounted`]
/// once it has written the position (see the module doc). Taken BEFORE the correction
/// locks or inserts the position (step 5), as a re-attribution locks them before its
/// positions: otherwise the two could wait for each other in a circle.
pub(crate) async fn lock_accountable(
    conn: &mut PgConnection,
    (venue, symbol, position_side): Leg<'_>,
    read_at: DateTime<Utc>,
) -> Result<Vec<FillId>, LedgerError> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM fills
         WHERE external AND accounted_by IS NULL AND account_id = sluice_account()
           AND venue = $1 AND symbol = $2 AND position_side = $3 AND traded_at <= $4
         ORDER BY id FOR NO KEY UPDATE",
    )
    .bind(venue)
    .bind(symbol.as_str())
    .bind(position_side.as_wire())
    .bind(read_at)
    .fetch_all(conn)
    .await?;
    Ok(ids.into_iter().map(FillId).collect())
}

/// Mark `fills` (locked by [`lock_accountable`] in this transaction) as accounted for by
/// `adjustment`, the correction's row. Returns how many were marked.
pub(crate) async fn mark_accounted(
    conn: &mut PgConnection,
    adjustment: AdjustmentId,
    fills: &[FillId],
    symbol: &Symbol,
) -> Result<u64, LedgerError> {
    if fills.is_empty() {
        return Ok(0);
    }
    let done = sqlx::query(
        "UPDATE fills SET accounted_by = $1
         WHERE id = ANY($2) AND external AND accounted_by IS NULL",
    )
    .bind(adjustment.get())
    .bind(fills.iter().map(|f| f.get()).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    if done.rows_affected() > 0 {
        tracing::warn!(adjustment = adjustment.get(), fills = done.rows_affected(), %symbol,
            "external fills accounted for by a correction from the exchange's position: a later re-attribution will not move the position");
    }
    Ok(done.rows_affected())
}

/// Lock (step 4 of the lock order) the fills stored external for these exchange orders,
/// in id order, for a caller that takes position locks before it re-attributes them
/// ([`reattribute_held`] locks them again, already held): the fill batch and the
/// protective link. A correction locks the fills it marks before its position, so a
/// caller holding a position while waiting for those fills would close a circle.
pub(crate) async fn lock_stranded(
    conn: &mut PgConnection,
    venue: &str,
    keys: &[(Symbol, i64)],
) -> Result<(), LedgerError> {
    if keys.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "SELECT id FROM fills WHERE external AND venue = $1 AND account_id = sluice_account()
           AND (symbol, exchange_order_id) IN (SELECT * FROM unnest($2::text[], $3::bigint[]))
         ORDER BY id FOR NO KEY UPDATE",
    )
    .bind(venue)
    .bind(keys.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>())
    .bind(keys.iter().map(|(_, x)| *x).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    Ok(())
}

/// The orders with these exchange ids as committed now (or written by this
/// transaction), locked in id order.
pub(crate) async fn orders_by_exchange_id(
    conn: &mut PgConnection,
    venue: &str,
    keys: &[(Symbol, i64)],
) -> Result<Vec<super::model::OrderRow>, LedgerError> {
    sqlx::query(
        "SELECT * FROM orders WHERE venue = $1 AND account_id = sluice_account()
           AND (symbol, exchange_order_id) IN (SELECT * FROM unnest($2::text[], $3::bigint[]))
         ORDER BY id FOR NO KEY UPDATE",
    )
    .bind(venue)
    .bind(keys.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>())
    .bind(keys.iter().map(|(_, x)| *x).collect::<Vec<_>>())
    .fetch_all(conn)
    .await?
    .iter()
    .map(super::model::OrderRow::decode)
    .collect()
}

/// `learned`: the (symbol, exchange order id) of orders on `venue` whose exchange id the
/// caller has just stored, inside `conn`'s transaction. Gives every fill stored external
/// for one of them to its order and applies it (see the module doc). Returns the
/// outcome of each fill re-attributed; empty when there was none (the usual case: one
/// lock and one index read).
pub(crate) async fn reattribute_in(
    conn: &mut PgConnection,
    venue: &str,
    learned: &[(Symbol, i64)],
) -> Result<Vec<FillOutcome>, LedgerError> {
    if learned.is_empty() {
        return Ok(Vec::new());
    }
    lock_exchange_orders(conn, venue, learned).await?;
    reattribute_held(conn, venue, learned).await
}

/// [`reattribute_in`] when the caller already holds the exchange-order locks of
/// `learned` (taken before its position locks: the lock order in the module doc).
pub(crate) async fn reattribute_held(
    conn: &mut PgConnection,
    venue: &str,
    learned: &[(Symbol, i64)],
) -> Result<Vec<FillOutcome>, LedgerError> {
    if learned.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(
        "SELECT * FROM fills WHERE external AND venue = $1 AND account_id = sluice_account()
           AND (symbol, exchange_order_id) IN (SELECT * FROM unnest($2::text[], $3::bigint[]))
         ORDER BY id FOR NO KEY UPDATE",
    )
    .bind(venue)
    .bind(learned.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>())
    .bind(learned.iter().map(|(_, x)| *x).collect::<Vec<_>>())
    .fetch_all(&mut *conn)
    .await?;
    let stranded: Vec<FillRow> = rows.iter().map(FillRow::decode).collect::<Result<_, _>>()?;
    let mut marked = Vec::new();
    for (r, f) in rows.iter().zip(&stranded) {
        if r.try_get::<Option<i64>, _>("accounted_by")?.is_some() {
            marked.push(f.id.get());
        }
    }
    if stranded.is_empty() {
        return Ok(Vec::new());
    }
    let accounted = marking_corrections(conn, &marked).await?;
    // Applying them is a savepoint of its own: a stray that cannot be applied (a plan or
    // write error) must not fail the write of the exchange id it rides on (an order's
    // answer, a stream drain's reports, a stop's link), on every retry. It stays external,
    // where `sluice doctor` names it.
    sqlx::query("SAVEPOINT sluice_reattribute")
        .execute(&mut *conn)
        .await?;
    match apply_stranded(conn, venue, &stranded, accounted).await {
        Ok(outcomes) => {
            sqlx::query("RELEASE SAVEPOINT sluice_reattribute")
                .execute(&mut *conn)
                .await?;
            Ok(outcomes)
        }
        Err(e) => {
            sqlx::query("ROLLBACK TO SAVEPOINT sluice_reattribute")
                .execute(&mut *conn)
                .await?;
            tracing::error!(error = %e, fills = stranded.len(),
                "fills stored as external could not be re-attributed to their order; they stay external (sluice doctor lists them)");
            Ok(Vec::new())
        }
    }
}

/// For each marked fill (locked), what its marking correction wrote (see
/// [`Marked`]). A statement of its own, after the lock: a correction committed while
/// the lock waited is seen.
async fn marking_corrections(
    conn: &mut PgConnection,
    marked: &[i64],
) -> Result<HashMap<FillId, Marked>, LedgerError> {
    if marked.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, Option<i64>, bool)> = sqlx::query_as(
        "SELECT f.id, a.row_id, COALESCE(a.before IS NULL, false)
         FROM fills f LEFT JOIN ledger_adjustments a
             ON a.id = f.accounted_by AND a.table_name = 'positions'
         WHERE f.id = ANY($1)",
    )
    .bind(marked)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(f, position, adoption)| {
            let m = Marked {
                position: position.map(PositionId),
                adoption,
            };
            (FillId(f), m)
        })
        .collect())
}

/// What a marked fill's correction changed beyond the positions' figures, per position
/// (locked by the caller): Σ applied of the fills marked for it and re-attributed
/// already, open fills (but those its own adoption accounted for: its adopted quantity,
/// in `opened_quantity`, holds them) counted up, close fills down. With the figures'
/// opened minus closed quantity, what the position held for a marked close fill to take
/// (`fill_plan/rules.rs`, `accounted`).
pub(crate) async fn accounted_held(
    conn: &mut PgConnection,
    positions: &[PositionId],
) -> Result<HashMap<PositionId, Decimal>, LedgerError> {
    if positions.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, Decimal)> = sqlx::query_as(
        "SELECT f.position_id,
             SUM(CASE WHEN o.intent_kind = 'open' THEN f.applied_quantity
                      ELSE -f.applied_quantity END)
         FROM fills f JOIN orders o ON o.id = f.order_id
         WHERE f.position_id = ANY($1) AND f.accounted_by IS NOT NULL AND NOT f.external
           AND NOT (o.intent_kind = 'open' AND EXISTS (
               SELECT 1 FROM ledger_adjustments a
               WHERE a.id = f.accounted_by AND a.table_name = 'positions'
                 AND a.row_id = f.position_id AND a.before IS NULL))
         GROUP BY f.position_id",
    )
    .bind(positions.iter().map(|p| p.get()).collect::<Vec<_>>())
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(p, q)| (PositionId(p), q)).collect())
}

/// Give `stranded` (external fills of orders whose exchange id was just stored, locked)
/// to their orders and apply them.
async fn apply_stranded(
    conn: &mut PgConnection,
    venue: &str,
    stranded: &[FillRow],
    accounted: HashMap<FillId, Marked>,
) -> Result<Vec<FillOutcome>, LedgerError> {
    let fills: Vec<Fill> = stranded.iter().map(as_fill).collect::<Result<_, _>>()?;
    let refs: Vec<&Fill> = fills.iter().collect();
    let mut plan = Plan::new(lock_orders(conn, venue, &refs).await?);
    plan.accounted = accounted;
    let orders: Vec<Option<usize>> = refs.iter().map(|f| plan.match_order(f)).collect();
    // Only the fills an order now explains leave `external`; any other stays as it is
    // (no id: the plan passes over it).
    let ids: Vec<Option<FillId>> = stranded
        .iter()
        .zip(&orders)
        .map(|(f, o)| o.map(|_| f.id))
        .collect();
    let touched: Vec<usize> = orders.iter().flatten().copied().collect();
    let attributed: Vec<(i64, i64)> = stranded
        .iter()
        .zip(&orders)
        .filter_map(|(f, o)| o.map(|k| (f.id.get(), plan.order_id(k).get())))
        .collect();
    if attributed.is_empty() {
        return Ok(Vec::new());
    }
    attribute(conn, &attributed).await?;
    let outcomes = apply_planned(conn, venue, &mut plan, &refs, &orders, &ids, &touched).await?;
    for (f, o) in stranded.iter().zip(&outcomes) {
        if let FillOutcome::Applied { order_id, .. } = o {
            tracing::warn!(fill_id = f.id.get(), trade_id = f.trade_id, symbol = %f.symbol,
                order_id = order_id.get(), "a fill stored as external is its order's: re-attributed and applied");
        }
    }
    Ok(outcomes
        .into_iter()
        .filter(|o| *o != FillOutcome::Duplicate)
        .collect())
}

/// Give each fill its order (`(fill id, order id)`), no longer external, and mark its
/// `external_fill` anomaly resolved; one statement. The plan then completes the rows.
async fn attribute(conn: &mut PgConnection, attributed: &[(i64, i64)]) -> Result<(), LedgerError> {
    sqlx::query(
        "WITH v AS (SELECT * FROM unnest($1::bigint[], $2::bigint[]) AS v(fill_id, order_id)),
         resolved AS (
             UPDATE ledger_anomalies a SET resolved_at = now(), resolved_order_id = v.order_id
             FROM v WHERE a.fill_id = v.fill_id AND a.kind = $3 AND a.resolved_at IS NULL)
         UPDATE fills f SET order_id = v.order_id, external = false
         FROM v WHERE f.id = v.fill_id AND f.external",
    )
    .bind(attributed.iter().map(|(f, _)| *f).collect::<Vec<_>>())
    .bind(attributed.iter().map(|(_, o)| *o).collect::<Vec<_>>())
    .bind(AnomalyKind::ExternalFill.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

/// A stored fill as it arrived, matched by its exchange order id alone (the id that was
/// just stored; a client order id it may carry named no order when it arrived).
fn as_fill(f: &FillRow) -> Result<Fill, LedgerError> {
    Ok(Fill {
        symbol: f.symbol.clone(),
        trade_id: f.trade_id,
        order_id: f.exchange_order_id,
        client_order_id: None,
        side: f.side,
        position_side: f.position_side,
        price: crate::domain::Price::new("price", f.price)?,
        quantity: f.quantity,
        commission: f.commission,
        commission_asset: f.commission_asset.clone(),
        realized_pnl: f.realized_pnl,
        maker: f.maker,
        time: f.traded_at,
    })
}
