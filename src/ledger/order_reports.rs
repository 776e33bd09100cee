//! What the exchange's order updates said, stored for many orders in one statement
//! (the user stream's `ORDER_TRADE_UPDATE`s gathered by its consumer).
//!
//! The rules are [`Ledger::update_order_status`]'s: a terminal order never goes back to a
//! live state, a `partially_filled` one never back to `new`, the exchange order id is
//! kept once known, an expire reason is never erased. Several reports of one order fold
//! into one ending in the same state (the first terminal status, else the furthest one;
//! the last reason); a report that would change nothing writes nothing (most `TRADE`
//! updates only repeat what the fill's application already wrote). An exchange id stored
//! for the first time gives the order the fills stored external for it, in the same
//! transaction (`reattribute.rs`).

use std::collections::{BTreeMap, HashMap};

use super::error::LedgerError;
use super::reattribute::{lock_exchange_orders, reattribute_held};
use super::Ledger;
use crate::domain::{ExpireReason, OrderState, Symbol};

/// One order update as the exchange reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportedOrder {
    pub client_order_id: String,
    pub status: OrderState,
    pub exchange_order_id: i64,
    pub expire_reason: Option<ExpireReason>,
}

impl Ledger {
    /// Store order updates, in their arrival order, in one statement. Updates of orders
    /// sluice does not know (placed by hand or by another tool) are ignored. Returns how
    /// many orders changed. The rows are locked in id order first, as `apply_fills`
    /// locks them, so this statement and a batch of fills never deadlock, and the new
    /// values are computed from the rows as locked (a fill committed meanwhile is seen).
    pub async fn record_order_reports(
        &self,
        reports: &[ReportedOrder],
    ) -> Result<u64, LedgerError> {
        let folded = fold(reports);
        if folded.is_empty() {
            return Ok(0);
        }
        let mut tx = self.pool.begin().await?;
        let changed: Vec<(String, String, Option<i64>, bool)> = sqlx::query_as(
            "WITH locked AS MATERIALIZED (
                 SELECT o.id, o.client_order_id, o.status, o.exchange_order_id, o.expire_reason
                 FROM orders o WHERE o.client_order_id = ANY($1)
                 ORDER BY o.id FOR NO KEY UPDATE),
             v AS (
                 SELECT l.id, l.exchange_order_id AS known, CASE
                     WHEN l.status IN ('filled', 'canceled', 'expired', 'rejected') THEN l.status
                     WHEN l.status = 'partially_filled' AND u.status IN ('planned', 'sent', 'new')
                         THEN l.status
                     ELSE u.status END AS status,
                   COALESCE(l.exchange_order_id, u.exchange_order_id) AS exchange_order_id,
                   COALESCE(u.expire_reason, l.expire_reason) AS expire_reason
                 FROM unnest($1::text[], $2::text[], $3::bigint[], $4::smallint[])
                     AS u(client_order_id, status, exchange_order_id, expire_reason)
                 JOIN locked l ON l.client_order_id = u.client_order_id)
             UPDATE orders o SET status = v.status, exchange_order_id = v.exchange_order_id,
                 expire_reason = v.expire_reason, updated_at = now()
             FROM v WHERE o.id = v.id
               AND (o.status, o.exchange_order_id, o.expire_reason)
                   IS DISTINCT FROM (v.status, v.exchange_order_id, v.expire_reason)
             RETURNING o.venue, o.symbol, o.exchange_order_id,
                 v.known IS NULL AND o.exchange_order_id IS NOT NULL",
        )
        .bind(
            folded
                .iter()
                .map(|r| r.client_order_id.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(folded.iter().map(|r| r.status.as_str()).collect::<Vec<_>>())
        .bind(
            folded
                .iter()
                .map(|r| r.exchange_order_id)
                .collect::<Vec<_>>(),
        )
        .bind(
            folded
                .iter()
                .map(|r| r.expire_reason.map(ExpireReason::code))
                .collect::<Vec<_>>(),
        )
        .fetch_all(&mut *tx)
        .await?;
        // Orders whose exchange id this stored for the first time, by venue: their fills
        // stored external are theirs (`reattribute.rs`), in this transaction.
        let mut learned: BTreeMap<&str, Vec<(Symbol, i64)>> = BTreeMap::new();
        for (venue, symbol, x, first) in &changed {
            if let (Some(x), true) = (x, first) {
                learned
                    .entry(venue.as_str())
                    .or_default()
                    .push((Symbol::new(symbol)?, *x));
            }
        }
        // Every venue's exchange-order locks before any re-attribution locks a position
        // (the lock order, `reattribute.rs`).
        for (venue, keys) in &learned {
            lock_exchange_orders(&mut tx, venue, keys).await?;
        }
        for (venue, keys) in &learned {
            reattribute_held(&mut tx, venue, keys).await?;
        }
        tx.commit().await?;
        Ok(changed.len() as u64)
    }
}

/// How far a report takes an order that is not terminal yet.
fn rank(s: OrderState) -> u8 {
    match s {
        OrderState::Planned | OrderState::Sent | OrderState::Unknown => 0,
        OrderState::New => 1,
        OrderState::PartiallyFilled => 2,
        _ => 3,
    }
}

/// One report per order, ending where the reports applied one by one would.
fn fold(reports: &[ReportedOrder]) -> Vec<ReportedOrder> {
    let mut out: Vec<ReportedOrder> = Vec::new();
    let mut at: HashMap<&str, usize> = HashMap::new();
    for r in reports {
        let Some(&i) = at.get(r.client_order_id.as_str()) else {
            at.insert(&r.client_order_id, out.len());
            out.push(r.clone());
            continue;
        };
        let f = &mut out[i];
        let terminal = f.status.is_terminal();
        if !terminal && (r.status.is_terminal() || rank(r.status) >= rank(f.status)) {
            f.status = r.status;
        }
        f.expire_reason = r.expire_reason.or(f.expire_reason);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(coid: &str, status: OrderState) -> ReportedOrder {
        ReportedOrder {
            client_order_id: coid.into(),
            status,
            exchange_order_id: 7,
            expire_reason: None,
        }
    }

    #[test]
    fn reports_of_one_order_fold_into_the_first_terminal_status() {
        let folded = fold(&[
            report("a", OrderState::New),
            report("a", OrderState::PartiallyFilled),
            report("a", OrderState::Filled),
            report("a", OrderState::Canceled),
        ]);
        assert_eq!(folded, vec![report("a", OrderState::Filled)]);
    }

    #[test]
    fn a_late_new_does_not_take_a_partly_filled_order_back() {
        let folded = fold(&[
            report("a", OrderState::PartiallyFilled),
            report("b", OrderState::New),
            report("a", OrderState::New),
        ]);
        assert_eq!(
            folded,
            vec![
                report("a", OrderState::PartiallyFilled),
                report("b", OrderState::New)
            ]
        );
    }
}
