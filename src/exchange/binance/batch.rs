//! Up to five orders in one `POST /fapi/v1/batchOrders` (docs/binance-fapi.md §2.2, §3).
//!
//! The venue answers HTTP 200 with one element per order, in the order sent: the order,
//! or `{code, msg}` for one it refused. Each element is classified on its own by the same
//! table as a single order ([`classify`]), so one -4005 in a batch shrinks that chunk
//! while the others stand. Invariants:
//! - a whole-request failure (429, 418, -4082, a timeout) applies to every order alike:
//!   it is returned once, and an outcome-unknown one leaves every order to be resolved;
//! - an answer whose length or clientOrderIds do not match what was sent cannot be
//!   attributed: every order's outcome is then unknown (resolve by clientOrderId);
//! - an order certainly refused is released from the stream tracker, like a single one.

use super::classify::{classify, RequestKind};
use super::parse;
use super::rest::endpoints::{reduces_risk, MAX_BATCH};
use super::rest::wire::BatchItem;
use super::BinanceFutures;
use crate::domain::{FilterChecked, OrderRequest};
use crate::exchange::{ErrorClass, ExchangeError, OrderReport};

/// Each order's own result, in the order given.
pub(super) type BatchResults = Vec<Result<OrderReport, ExchangeError>>;

impl BinanceFutures {
    /// Place 1..=5 orders in one request. `Err` when the request as a whole failed (the
    /// same for every order); otherwise one result per order.
    pub async fn place_batch(
        &self,
        orders: &[FilterChecked<OrderRequest>],
    ) -> Result<BatchResults, ExchangeError> {
        if orders.is_empty() || orders.len() > MAX_BATCH {
            return Err(ExchangeError::new(
                ErrorClass::Replan,
                None,
                None,
                format!(
                    "orders: a batch holds 1 to {MAX_BATCH} orders, not {}",
                    orders.len()
                ),
            ));
        }
        for o in orders {
            self.tracker
                .order_sent(&o.inner().symbol, &o.inner().client_order_id);
        }
        let items = match self.rest.new_batch_orders(orders).await {
            Ok(items) => items,
            Err(e) => {
                if !e.is_outcome_unknown() {
                    orders.iter().for_each(|o| self.abandon(o.inner()));
                }
                return Err(e);
            }
        };
        if items.len() != orders.len() {
            let msg = format!(
                "batchOrders answered {} elements for {} orders",
                items.len(),
                orders.len()
            );
            return Ok(orders.iter().map(|_| Err(unattributable(&msg))).collect());
        }
        Ok(orders
            .iter()
            .zip(items)
            .map(|(o, item)| self.item_result(o.inner(), item))
            .collect())
    }

    fn item_result(
        &self,
        order: &OrderRequest,
        item: BatchItem,
    ) -> Result<OrderReport, ExchangeError> {
        match item {
            BatchItem::Placed(w) if w.client_order_id != order.client_order_id.as_str() => {
                Err(unattributable(&format!(
                    "batchOrders answered {} where {} was sent",
                    w.client_order_id, order.client_order_id
                )))
            }
            BatchItem::Placed(w) => parse::order_report(&w).map_err(|mut e| {
                // It was accepted; only our reading failed. Resolve, never re-send.
                e.class = ErrorClass::OutcomeUnknown;
                e
            }),
            BatchItem::Refused(body) => {
                let kind = if reduces_risk(order) {
                    RequestKind::PlaceReduce
                } else {
                    RequestKind::PlaceOpen
                };
                // A refused element would have been an HTTP 400 on its own.
                let class = classify(400, Some(body.code), &body.msg, kind);
                let err = ExchangeError::new(class, Some(200), Some(body.code), body.msg);
                if !err.is_outcome_unknown() {
                    self.abandon(order);
                }
                Err(err)
            }
        }
    }

    fn abandon(&self, order: &OrderRequest) {
        self.tracker
            .order_abandoned(&order.symbol, &order.client_order_id);
    }
}

fn unattributable(msg: &str) -> ExchangeError {
    ExchangeError::new(ErrorClass::OutcomeUnknown, Some(200), None, msg.to_string())
}
