//! Sending off the loop, and applying what comes back.
//!
//! [`dispatch`] turns chunks already recorded in `orders` into requests the loop polls in
//! its `select!` (a `FuturesUnordered`): each future holds only the exchange handle and
//! the filter-checked orders, never the job table or the ledger. Five chunks of one intent
//! ready at once go as one `batchOrders` request (one round trip; `executor.batch_orders`);
//! what does not fill a batch goes as lone `place_order`s side by side, since a batch
//! costs five on the 10 s order counter however few it carries.
//!
//! [`apply`] runs on the loop with `&mut Ctx` when an answer arrives, one order at a time
//! exactly as a lone send would: an accepted order is recorded (status, exchange id, the
//! stream tracker, the breaker, the learned cap probe) and waits for its fills; a refused
//! or unknown one goes through [`super::failure`]. A batch element is judged on its own
//! (one -4005 shrinks that chunk only); a failure of the whole request applies to every
//! order in it. If applying one order fails (the ledger is away), that order is marked
//! unknown, so it is resolved by client order id instead of being forgotten.

use futures_util::future::BoxFuture;

use super::context::Ctx;
use super::failure::on_error;
use super::job::Job;
use super::learned_caps::market_size_accepted;
use super::record::Recorded;
use super::report::record_reports;
use crate::domain::{ClientOrderId, FilterChecked, OrderRequest, OrderType};
use crate::exchange::{ExchangeError, OrderReport};
use crate::ledger::IntentId;
use crate::router::core::breaker::Outcome;
use crate::router::core::inflight::Stage;
use crate::router::core::rejections::OrderShape;

/// Most orders in one `batchOrders` request (docs/binance-fapi.md §2.2).
const MAX_BATCH: usize = 5;

/// One request on its way: how many orders it carries, and its answer to come.
pub(crate) struct Pending {
    pub orders: usize,
    pub answer: BoxFuture<'static, Answer>,
}

/// What came back for one request.
pub(crate) struct Answer {
    pub intent: IntentId,
    pub sent: Vec<Sent>,
    /// One result per order, in the order sent; `Err` when the request as a whole failed.
    pub result: Result<Vec<Result<OrderReport, ExchangeError>>, ExchangeError>,
}

/// What the loop needs to know of an order it sent.
pub(crate) struct Sent {
    pub coid: ClientOrderId,
    pub shape: OrderShape,
    pub market: bool,
}

/// Hand recorded chunks of `intent` to the exchange, off the loop.
pub(crate) fn dispatch(ctx: &Ctx, intent: IntentId, recorded: Vec<Recorded>) -> Vec<Pending> {
    let batch = if ctx.cfg.batch_orders { MAX_BATCH } else { 1 };
    groups(recorded.into_iter().map(|r| r.order).collect(), batch)
        .into_iter()
        .map(|orders| request(ctx, intent, orders))
        .collect()
}

/// Full batches of `batch` orders, the rest one order per request. A `batchOrders`
/// request costs 5 on the venue's 10 s order counter whatever it carries
/// (docs/binance-fapi.md §3), so a batch of two to four would spend budget for orders
/// never sent (a flatten paced by that counter then takes longer); the lone requests go
/// out side by side, so they cost no extra round trip.
fn groups<T>(orders: Vec<T>, batch: usize) -> Vec<Vec<T>> {
    let full = if batch >= 2 {
        orders.len() / batch * batch
    } else {
        0
    };
    let mut out = Vec::with_capacity(full / batch.max(1) + orders.len() - full);
    let mut rest = orders.into_iter();
    for _ in 0..full / batch.max(1) {
        out.push(rest.by_ref().take(batch).collect());
    }
    out.extend(rest.map(|o| vec![o]));
    out
}

fn request(ctx: &Ctx, intent: IntentId, orders: Vec<FilterChecked<OrderRequest>>) -> Pending {
    let sent: Vec<Sent> = orders
        .iter()
        .map(|o| Sent {
            coid: o.inner().client_order_id.clone(),
            shape: OrderShape::of(o.inner()),
            market: o.inner().order_type == OrderType::Market,
        })
        .collect();
    let exchange = ctx.exchange.clone();
    let n = orders.len();
    // Started on the runtime at once, not when the loop next polls its sends: the loop may
    // have ledger work first (other jobs' steps, an intake woken meanwhile), and the order
    // row is already durable (write-before-send).
    let task = tokio::spawn(async move {
        match orders.as_slice() {
            [one] => Ok(vec![exchange.place_order(one).await]),
            many => exchange.place_orders(many).await,
        }
    });
    let answer = Box::pin(async move {
        let result = task.await.unwrap_or_else(|e| {
            // The request's task panicked or was cancelled: whether it reached the venue
            // is unknown, so each order is resolved by its client order id.
            Err(ExchangeError::new(
                crate::exchange::ErrorClass::OutcomeUnknown,
                None,
                None,
                format!("the request's task ended without an answer: {e}"),
            ))
        });
        Answer {
            intent,
            sent,
            result,
        }
    });
    Pending { orders: n, answer }
}

/// Apply an answer to its job, order by order.
pub(crate) async fn apply(ctx: &mut Ctx, job: &mut Job, answer: Answer) {
    let results = match answer.result {
        Ok(r) if r.len() == answer.sent.len() => r,
        Ok(r) => {
            let msg = format!("{} answers for {} orders", r.len(), answer.sent.len());
            unknown_for_all(&answer.sent, &msg)
        }
        Err(e) => answer.sent.iter().map(|_| Err(e.clone())).collect(),
    };
    // The reports of every accepted order of the answer, stored in one statement.
    let reports: Vec<&OrderReport> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    let stored = record_reports(ctx, &reports)
        .await
        .map_err(|e| e.to_string());
    for (sent, result) in answer.sent.into_iter().zip(results) {
        let applied = match (result, &stored) {
            (Ok(report), Ok(())) => accepted(ctx, job, &sent, report).await,
            (Ok(_), Err(e)) => Err(anyhow::anyhow!("storing the order report failed: {e}")),
            (Err(e), _) => on_error(ctx, job, &sent.coid, sent.shape.clone(), e).await,
        };
        if let Err(e) = applied {
            tracing::error!(intent_id = %job.intent.id, client_order_id = %sent.coid, error = %e,
                "applying the exchange's answer failed; the order will be resolved by client order id");
            if let Some(f) = job.flights.get_mut(sent.coid.as_str()) {
                f.stage = Stage::Unknown;
            }
        }
    }
}

fn unknown_for_all(sent: &[Sent], msg: &str) -> Vec<Result<OrderReport, ExchangeError>> {
    let e = ExchangeError::new(
        crate::exchange::ErrorClass::OutcomeUnknown,
        Some(200),
        None,
        msg.to_string(),
    );
    sent.iter().map(|_| Err(e.clone())).collect()
}

/// The exchange took the order (its report already stored by [`apply`]): it now waits
/// for its fills.
async fn accepted(
    ctx: &mut Ctx,
    job: &mut Job,
    sent: &Sent,
    report: OrderReport,
) -> anyhow::Result<()> {
    ctx.breaker_record(Outcome::Success);
    job.rejections.clear();
    if !report.executed_qty.is_zero() {
        // REST says it executed: the user stream owes its fills (silence check).
        ctx.stream.executed(sent.coid.as_str());
    }
    let Some(f) = job.flights.get_mut(sent.coid.as_str()) else {
        return Ok(());
    };
    f.stage = Stage::Accepted;
    f.data.report = Some(report);
    f.data.since = std::time::Instant::now();
    let chunk = f.data.chunk.clone();
    if sent.market {
        market_size_accepted(ctx, &chunk).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::groups;

    #[test]
    fn only_full_batches_go_together_and_the_rest_go_one_by_one() {
        let sizes = |n: usize, batch: usize| -> Vec<usize> {
            groups((0..n).collect::<Vec<_>>(), batch)
                .iter()
                .map(Vec::len)
                .collect()
        };
        assert_eq!(sizes(8, 5), [5, 1, 1, 1]);
        assert_eq!(sizes(10, 5), [5, 5]);
        assert_eq!(sizes(4, 5), [1, 1, 1, 1]);
        assert_eq!(sizes(3, 1), [1, 1, 1]);
        assert!(sizes(0, 5).is_empty());
    }

    #[test]
    fn grouping_keeps_every_order_once_in_the_order_given() {
        let flat: Vec<usize> = groups((0..13).collect(), 5).concat();
        assert_eq!(flat, (0..13).collect::<Vec<_>>());
    }
}
