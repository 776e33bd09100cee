//! The one statement that ends a batch of fills: every position's figures, every fill
//! row's completion, every open intent's position, every anomaly and every order's
//! totals, written from arrays (`unnest`) by data-modifying CTEs. Each row is touched at
//! most once (the plan holds the batch's final state).
//!
//! The statement holds only the parts the batch needs (a close fill writes no anomaly
//! and links no intent): at most sixteen texts, each prepared once per connection and
//! reused (sqlx caches statements by text), and a batch of one plans and runs no empty
//! part.

use rust_decimal::Decimal;
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::{PgConnection, Postgres};

use super::error::LedgerError;
use super::fill_plan::{OrderMem, Plan, PosMem};
use super::position_math::PositionFigures;

const POSITIONS: &str = "pos AS (
    UPDATE positions p SET quantity = v.quantity, entry_price = v.entry,
        opened_quantity = v.opened, closed_quantity = v.closed, exit_price = v.exit,
        realized_pnl = v.pnl,
        status = CASE WHEN v.quantity = 0 THEN 'closed' ELSE 'open' END,
        closed_at = CASE WHEN v.quantity = 0 THEN now() ELSE NULL END,
        updated_at = now()
    FROM unnest($?::bigint[], $?::numeric[], $?::numeric[], $?::numeric[], $?::numeric[],
                $?::numeric[], $?::numeric[]) AS v(id, quantity, entry, opened, closed, exit, pnl)
    WHERE p.id = v.id)";

const FILLS: &str = "fil AS (
    UPDATE fills f SET position_id = v.position_id, applied_quantity = v.applied
    FROM unnest($?::bigint[], $?::bigint[], $?::numeric[]) AS v(id, position_id, applied)
    WHERE f.id = v.id)";

const LINKS: &str = "lnk AS (
    UPDATE intents i SET position_id = v.position_id, updated_at = now()
    FROM unnest($?::bigint[], $?::bigint[]) AS v(id, position_id)
    WHERE i.id = v.id AND i.position_id IS DISTINCT FROM v.position_id)";

const ANOMALIES: &str = "anomaly AS (
    INSERT INTO ledger_anomalies (kind, detail, fill_id, order_id, position_id)
    SELECT v.kind, v.detail::jsonb, v.fill_id, v.order_id, v.position_id
    FROM unnest($?::text[], $?::text[], $?::bigint[], $?::bigint[], $?::bigint[])
        AS v(kind, detail, fill_id, order_id, position_id))";

const ORDERS: &str = "UPDATE orders o SET filled_quantity = v.filled, avg_price = v.avg,
    status = v.status, exchange_order_id = COALESCE(o.exchange_order_id, v.exchange_order_id),
    position_id = v.position_id, updated_at = now()
FROM unnest($?::bigint[], $?::numeric[], $?::numeric[], $?::text[], $?::bigint[],
            $?::bigint[]) AS v(id, filled, avg, status, exchange_order_id, position_id)
WHERE o.id = v.id";

/// Which parts a batch writes.
struct Parts {
    positions: bool,
    fills: bool,
    links: bool,
    anomalies: bool,
}

impl Parts {
    /// The statement: the CTEs needed, then the orders' UPDATE; `$?` numbered in order.
    fn sql(&self) -> String {
        let ctes: Vec<&str> = [
            (self.positions, POSITIONS),
            (self.fills, FILLS),
            (self.links, LINKS),
            (self.anomalies, ANOMALIES),
        ]
        .into_iter()
        .filter_map(|(on, part)| on.then_some(part))
        .collect();
        let text = if ctes.is_empty() {
            ORDERS.to_string()
        } else {
            format!("WITH {}\n{ORDERS}", ctes.join(",\n"))
        };
        let mut out = String::with_capacity(text.len() + 32);
        let mut pieces = text.split("$?");
        out.push_str(pieces.next().unwrap_or_default());
        for (n, piece) in pieces.enumerate() {
            out.push_str(&format!("${}", n + 1));
            out.push_str(piece);
        }
        out
    }
}

type Q<'q> = Query<'q, Postgres, PgArguments>;

/// Write what `plan` changed, in one round trip.
pub(crate) async fn write_plan(conn: &mut PgConnection, plan: &Plan) -> Result<(), LedgerError> {
    let positions: Vec<&PosMem> = plan.positions.iter().filter(|p| p.touched).collect();
    let orders: Vec<&OrderMem> = plan.orders.iter().filter(|o| o.touched).collect();
    let parts = Parts {
        positions: !positions.is_empty(),
        fills: !plan.completions.is_empty(),
        links: !plan.intent_links.is_empty(),
        anomalies: !plan.anomalies.is_empty(),
    };
    if orders.is_empty() && !parts.positions && !parts.fills && !parts.anomalies {
        return Ok(());
    }
    let sql = parts.sql();
    let mut q = sqlx::query(&sql);
    if parts.positions {
        q = bind_positions(q, &positions);
    }
    if parts.fills {
        let c = &plan.completions;
        q = q
            .bind(c.iter().map(|x| x.fill_id.get()).collect::<Vec<_>>())
            .bind(
                c.iter()
                    .map(|x| x.position_id.map(|p| p.get()))
                    .collect::<Vec<_>>(),
            )
            .bind(c.iter().map(|x| x.applied).collect::<Vec<_>>());
    }
    if parts.links {
        let l = &plan.intent_links;
        q = q
            .bind(l.iter().map(|(i, _)| i.get()).collect::<Vec<_>>())
            .bind(l.iter().map(|(_, p)| p.get()).collect::<Vec<_>>());
    }
    if parts.anomalies {
        let a = &plan.anomalies;
        q = q
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
            );
    }
    bind_orders(q, &orders).execute(conn).await?;
    Ok(())
}

fn bind_positions<'q>(q: Q<'q>, positions: &[&PosMem]) -> Q<'q> {
    let f = |get: fn(&PositionFigures) -> Decimal| {
        positions
            .iter()
            .map(|p| get(&p.figures))
            .collect::<Vec<_>>()
    };
    q.bind(positions.iter().map(|p| p.id.get()).collect::<Vec<_>>())
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
}

fn bind_orders<'q>(q: Q<'q>, orders: &[&OrderMem]) -> Q<'q> {
    q.bind(orders.iter().map(|o| o.row.id.get()).collect::<Vec<_>>())
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_close_fills_statement_numbers_only_the_parts_it_holds() {
        let sql = Parts {
            positions: true,
            fills: true,
            links: false,
            anomalies: false,
        }
        .sql();
        assert!(sql.starts_with("WITH pos AS"));
        assert!(!sql.contains("intents") && !sql.contains("ledger_anomalies"));
        assert!(sql.contains("$16::bigint[]") && !sql.contains("$17") && !sql.contains("$?"));
    }
}
