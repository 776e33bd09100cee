//! A triggered stop's order as a CLOSE order of the protected position, so its fills go
//! through the ledger's normal close rules: they only ever reduce that position, capped
//! at zero, and never open one (seed 002). Its fills stored before the link (as external:
//! no order explained them yet) are re-attributed to it in the link's transaction.

use sqlx::PgConnection;

use super::error::LedgerError;
use super::ids::OrderId;
use super::positions::lock_position;
use super::protective::ProtectiveRow;
use super::reattribute::{lock_exchange_orders, lock_stranded, reattribute_held};
use super::Ledger;
use crate::domain::PositionSide;

impl Ledger {
    /// Record the order a trigger produced as a CLOSE order of the protected position
    /// (see the module doc), idempotently; returns its order id.
    pub(crate) async fn link_protective_order(
        &self,
        protective_id: i64,
        exchange_order_id: i64,
        client_order_id: &str,
    ) -> Result<OrderId, LedgerError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query("SELECT * FROM protective_orders WHERE id = $1 FOR UPDATE")
            .bind(protective_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| LedgerError::not_found(format!("protective order #{protective_id}")))?;
        let p = ProtectiveRow::decode(&row)?;
        if let Some(id) = p.order_id {
            return Ok(id);
        }
        // The exchange order's lock before the position's (the lock order,
        // `reattribute.rs`): a fill batch holding it (a stray of this order) may be
        // waiting for the position.
        let key = [(p.symbol.clone(), exchange_order_id)];
        lock_exchange_orders(&mut tx, &p.venue, &key).await?;
        lock_stranded(&mut tx, &p.venue, &key).await?;
        let position = lock_position(&mut tx, p.position_id)
            .await?
            .ok_or_else(|| LedgerError::not_found(format!("position #{}", p.position_id.0)))?;
        let qty = if position.quantity.is_zero() {
            position
                .opened_quantity
                .get()
                .max(position.initial_quantity.get())
        } else {
            position.quantity.get()
        };
        let intent = insert_stop_intent(&mut tx, &p, position.direction.as_str()).await?;
        let order_id: (i64,) = sqlx::query_as(
            "INSERT INTO orders (intent_id, intent_kind, position_id, venue, symbol, side,
                 position_side, order_type, quantity, reduce_only, client_order_id, chunk_index,
                 attempt, status, exchange_order_id)
             VALUES ($1, 'close', $2, $3, $4, $5, $6, 'MARKET', $7, $8, $9, 0, 0, 'new', $10)
             RETURNING id",
        )
        .bind(intent)
        .bind(p.position_id)
        .bind(&p.venue)
        .bind(p.symbol.as_str())
        .bind(p.side.as_wire())
        .bind(p.position_side.as_wire())
        .bind(qty)
        .bind(p.position_side == PositionSide::Both)
        .bind(client_order_id)
        .bind(exchange_order_id)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE protective_orders SET order_id = $2, actual_order_id = $3, updated_at = now() WHERE id = $1")
            .bind(p.id)
            .bind(order_id.0)
            .bind(exchange_order_id)
            .execute(&mut *tx)
            .await?;
        // Fills of the order that came before this link were stored external: theirs now.
        reattribute_held(&mut tx, &p.venue, &key).await?;
        tx.commit().await?;
        Ok(OrderId(order_id.0))
    }
}

/// The `done` close intent that owns a triggered stop's order: sized by nothing (the
/// exchange closed the whole position), so its state claims nothing its fills could
/// contradict.
async fn insert_stop_intent(
    conn: &mut PgConnection,
    p: &ProtectiveRow,
    direction: &str,
) -> Result<i64, LedgerError> {
    let mode = if p.position_side == PositionSide::Both {
        "one-way"
    } else {
        "hedge"
    };
    let reason = format!(
        "{} {} triggered on the exchange at {}",
        p.kind.as_str(),
        p.client_algo_id,
        p.trigger_price.normalize()
    );
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO intents (kind, venue, symbol, direction, position_mode, position_id,
             idempotency_key, reason, state)
         VALUES ('close', $1, $2, $3, $4, $5, $6, $7, 'done')
         ON CONFLICT (idempotency_key) DO UPDATE SET updated_at = intents.updated_at
         RETURNING id",
    )
    .bind(&p.venue)
    .bind(p.symbol.as_str())
    .bind(direction)
    .bind(mode)
    .bind(p.position_id)
    .bind(format!("protective:{}", p.client_algo_id))
    .bind(reason)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO intent_events (intent_id, from_state, to_state, cause)
         SELECT $1, 'accepted', 'done', 'protective order triggered on the exchange'
         WHERE NOT EXISTS (SELECT 1 FROM intent_events WHERE intent_id = $1)",
    )
    .bind(id)
    .execute(conn)
    .await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;
    use sqlx::PgPool;

    use crate::domain::{
        Direction, Fill, PositionSide, Price, ProtectionKind, Qty, Side, Symbol, WorkingType,
    };
    use crate::ledger::protective::ProtectiveRow;
    use crate::ledger::{
        AdoptPosition, FillOutcome, Ledger, NewProtective, PositionRow, PositionStatus,
    };

    const VENUE: &str = "binance-usdm";

    /// A LONG of 2 SOLUSDT at 150 (adopted) with a planned stop (`stop-1`) at 140.
    async fn long_with_a_planned_stop(ledger: &Ledger) -> (PositionRow, ProtectiveRow) {
        let sol = Symbol::new("SOLUSDT").unwrap();
        let long = ledger
            .adopt_position(&AdoptPosition {
                venue: VENUE.into(),
                symbol: sol.clone(),
                direction: Direction::Long,
                position_side: PositionSide::Both,
                quantity: Qty::new("quantity", Decimal::from(2)).unwrap(),
                entry_price: Price::new("price", Decimal::from(150)).unwrap(),
                actor: "test".into(),
                reason: "test".into(),
            })
            .await
            .unwrap();
        let stop = ledger
            .plan_protective(&NewProtective {
                position_id: long.id,
                intent_id: None,
                venue: VENUE.into(),
                symbol: sol,
                position_side: PositionSide::Both,
                side: Side::Sell,
                kind: ProtectionKind::StopLoss,
                generation: 1,
                trigger_price: Decimal::from(140),
                working_type: WorkingType::Mark,
                client_algo_id: "stop-1".into(),
            })
            .await
            .unwrap();
        (long, stop)
    }

    /// A SELL of `quantity` SOLUSDT at 139 by exchange order 9001, read without a client
    /// order id (no order of the ledger has that exchange id yet: stored external).
    fn stray_sell(quantity: Decimal) -> Fill {
        Fill {
            symbol: Symbol::new("SOLUSDT").unwrap(),
            trade_id: 1,
            order_id: 9001,
            client_order_id: None,
            side: Side::Sell,
            position_side: PositionSide::Both,
            price: Price::new("price", Decimal::from(139)).unwrap(),
            quantity: Qty::new("quantity", quantity).unwrap(),
            commission: Decimal::ZERO,
            commission_asset: "USDT".into(),
            realized_pnl: Decimal::ZERO,
            maker: false,
            time: chrono::Utc::now(),
        }
    }

    /// A stop's fill that came before the link (stored external: no order had its exchange
    /// id) is its close fill once the link records the order.
    #[sqlx::test(migrations = "./migrations")]
    async fn a_stops_fill_stored_before_the_link_closes_the_position_at_the_link(pool: PgPool) {
        let ledger = Ledger::from_pool(pool);
        let (long, stop) = long_with_a_planned_stop(&ledger).await;
        let early = stray_sell(Decimal::from(2));
        let outcome = ledger.apply_fill(VENUE, &early, &[]).await.unwrap();
        assert!(matches!(outcome, FillOutcome::External { .. }));

        let order = ledger
            .link_protective_order(stop.id, 9001, "x-trigger")
            .await
            .unwrap();

        let fill = ledger.all_fills().await.unwrap().remove(0);
        assert_eq!((fill.external, fill.order_id), (false, Some(order)));
        let position = ledger.position(long.id).await.unwrap().unwrap();
        assert_eq!(position.status, PositionStatus::Closed);
        assert_eq!(
            ledger
                .external_fills_of_order(VENUE, &fill.symbol, 9001)
                .await
                .unwrap(),
            0
        );
        let anomaly = ledger.anomalies().await.unwrap().remove(0);
        assert_eq!(anomaly.resolved_order_id, Some(order));
    }

    /// The lock order (`reattribute.rs`): the link takes its exchange order's key before
    /// the protected position's row. With the key held elsewhere (a fill batch whose stray
    /// names this order, stopped before its positions), the link waits for it without
    /// holding the position; before, it held the position and waited for the key, a circle
    /// with that batch once the batch reached for the position.
    #[sqlx::test(migrations = "./migrations")]
    async fn the_link_waits_for_the_exchange_orders_key_before_locking_the_position(pool: PgPool) {
        let ledger = Ledger::from_pool(pool.clone());
        let (long, stop) = long_with_a_planned_stop(&ledger).await;
        let stray = stray_sell(Decimal::ONE);
        ledger.apply_fill(VENUE, &stray, &[]).await.unwrap();

        let mut holder = pool.begin().await.unwrap();
        sqlx::query(
            "SELECT pg_advisory_xact_lock(hashtextextended(sluice_account() || '/' || $1, 0))",
        )
        .bind(format!("sluice/exchange-order/{VENUE}/SOLUSDT/9001"))
        .execute(&mut *holder)
        .await
        .unwrap();
        let link = {
            let ledger = ledger.clone();
            tokio::spawn(async move {
                ledger
                    .link_protective_order(stop.id, 9001, "x-trigger")
                    .await
            })
        };
        loop {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
            )
            .fetch_one(&pool)
            .await
            .unwrap();
            if waiting > 0 {
                break;
            }
            tokio::task::yield_now().await;
        }

        let mut probe = pool.begin().await.unwrap();
        let free = sqlx::query("SELECT 1 FROM positions WHERE id = $1 FOR UPDATE NOWAIT")
            .bind(long.id)
            .execute(&mut *probe)
            .await;
        probe.rollback().await.unwrap();
        assert!(
            free.is_ok(),
            "the link waits for the key holding the position: {free:?}"
        );

        holder.rollback().await.unwrap();
        let order = link.await.unwrap().expect("linked");
        let fill = ledger.all_fills().await.unwrap().remove(0);
        assert_eq!((fill.external, fill.order_id), (false, Some(order)));
        let position = ledger.position(long.id).await.unwrap().unwrap();
        assert_eq!(position.quantity.get(), Decimal::ONE);
    }
}
