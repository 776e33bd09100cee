//! The one statement that ends a batch of fills: every position's figures, every fill
//! row's completion, every order's totals, every open intent's position and every
//! anomaly, written from arrays (`unnest`) by data-modifying CTEs. Its text never
//! changes, so the connection's prepared statement is reused; an empty array writes
//! nothing. Each row is touched at most once (the plan holds the batch's final state).

use rust_decimal::Decimal;
use sqlx::PgConnection;

use super::error::LedgerError;
use super::fill_plan::Plan;

const WRITE: &str = "
WITH pos AS (
    UPDATE positions p SET quantity = v.quantity, entry_price = v.entry,
        opened_quantity = v.opened, closed_quantity = v.closed, exit_price = v.exit,
        realized_pnl = v.pnl,
        status = CASE WHEN v.quantity = 0 THEN 'closed' ELSE 'open' END,
        closed_at = CASE WHEN v.quantity = 0 THEN now() ELSE NULL END,
        updated_at = now()
    FROM unnest($1::bigint[], $2::numeric[], $3::numeric[], $4::numeric[], $5::numeric[],
                $6::numeric[], $7::numeric[]) AS v(id, quantity, entry, opened, closed, exit, pnl)
    WHERE p.id = v.id
), fil AS (
    UPDATE fills f SET position_id = v.position_id, applied_quantity = v.applied
    FROM unnest($8::bigint[], $9::bigint[], $10::numeric[]) AS v(id, position_id, applied)
    WHERE f.id = v.id
), lnk AS (
    UPDATE intents i SET position_id = v.position_id, updated_at = now()
    FROM unnest($11::bigint[], $12::bigint[]) AS v(id, position_id)
    WHERE i.id = v.id AND i.position_id IS DISTINCT FROM v.position_id
), anomaly AS (
    INSERT INTO ledger_anomalies (kind, detail, fill_id, order_id, position_id)
    SELECT v.kind, v.detail::jsonb, v.fill_id, v.order_id, v.position_id
    FROM unnest($13::text[], $14::text[], $15::bigint[], $16::bigint[], $17::bigint[])
        AS v(kind, detail, fill_id, order_id, position_id)
)
UPDATE orders o SET filled_quantity = v.filled, avg_price = v.avg, status = v.status,
    exchange_order_id = COALESCE(o.exchange_order_id, v.exchange_order_id),
    position_id = v.position_id, updated_at = now()
FROM unnest($18::bigint[], $19::numeric[], $20::numeric[], $21::text[], $22::bigint[],
            $23::bigint[]) AS v(id, filled, avg, status, exchange_order_id, position_id)
WHERE o.id = v.id";

/// Write what `plan` changed, in one round trip.
pub(crate) async fn write_plan(conn: &mut PgConnection, plan: &Plan) -> Result<(), LedgerError> {
    let positions: Vec<_> = plan.positions.iter().filter(|p| p.touched).collect();
    let orders: Vec<_> = plan.orders.iter().filter(|o| o.touched).collect();
    if positions.is_empty()
        && orders.is_empty()
        && plan.completions.is_empty()
        && plan.anomalies.is_empty()
    {
        return Ok(());
    }
    let f = |get: fn(&super::position_math::PositionFigures) -> Decimal| {
        positions
            .iter()
            .map(|p| get(&p.figures))
            .collect::<Vec<_>>()
    };
    let c = &plan.completions;
    let a = &plan.anomalies;
    sqlx::query(WRITE)
        .bind(positions.iter().map(|p| p.id.get()).collect::<Vec<_>>())
        .bind(f(|x| x.quantity))
        .bind(f(|x| x.entry_price))
        .bind(f(|x| x.opened_quantity))
        .bind(f(|x| x.closed_quantity))
        .bind(
            positions
                .iter()
                .map(|p| p.figures.exit_price)
                .collect::<Vec<_>>(),
        )
        .bind(f(|x| x.realized_pnl))
        .bind(c.iter().map(|x| x.fill_id.get()).collect::<Vec<_>>())
        .bind(
            c.iter()
                .map(|x| x.position_id.map(|p| p.get()))
                .collect::<Vec<_>>(),
        )
        .bind(c.iter().map(|x| x.applied).collect::<Vec<_>>())
        .bind(
            plan.intent_links
                .iter()
                .map(|(i, _)| i.get())
                .collect::<Vec<_>>(),
        )
        .bind(
            plan.intent_links
                .iter()
                .map(|(_, p)| p.get())
                .collect::<Vec<_>>(),
        )
        .bind(a.iter().map(|x| x.kind.as_str()).collect::<Vec<_>>())
        .bind(a.iter().map(|x| x.detail.to_string()).collect::<Vec<_>>())
        .bind(
            a.iter()
                .map(|x| x.refs.fill.map(|v| v.get()))
                .collect::<Vec<_>>(),
        )
        .bind(
            a.iter()
                .map(|x| x.refs.order.map(|v| v.get()))
                .collect::<Vec<_>>(),
        )
        .bind(
            a.iter()
                .map(|x| x.refs.position.map(|v| v.get()))
                .collect::<Vec<_>>(),
        )
        .bind(orders.iter().map(|o| o.row.id.get()).collect::<Vec<_>>())
        .bind(orders.iter().map(|o| o.filled).collect::<Vec<_>>())
        .bind(orders.iter().map(|o| o.avg).collect::<Vec<_>>())
        .bind(orders.iter().map(|o| o.status.as_str()).collect::<Vec<_>>())
        .bind(
            orders
                .iter()
                .map(|o| o.exchange_order_id)
                .collect::<Vec<_>>(),
        )
        .bind(
            orders
                .iter()
                .map(|o| o.position_id.map(|p| p.get()))
                .collect::<Vec<_>>(),
        )
        .execute(conn)
        .await?;
    Ok(())
}
