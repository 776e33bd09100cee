//! Which transport carries an order call: the WS API while its socket is up (when
//! `order_transport = "ws"`), else REST. Both speak the same [`Request`], so the choice
//! changes nothing above it: the same classification, limiter, audit row and parsing.
//!
//! Invariants: a call goes over REST only when the WS API wrote nothing (socket down), so
//! no request is ever sent twice; a -1021/-5028 answer re-measures the clock and is
//! retried once, as REST's own `call` does; resolving an unknown outcome stays on REST
//! (`resolve.rs`), whatever the transport.

use bytes::Bytes;
use futures_util::future::join_all;
use serde::de::DeserializeOwned;

use super::rest::{wire, Request, RestClient};
use super::{parse, BinanceFutures};
use crate::domain::{FilterChecked, OrderRequest};
use crate::exchange::{ErrorClass, ExchangeError, OrderReport};

impl BinanceFutures {
    /// Send an order call over the WS API when it is up, else over REST; decode the answer.
    pub(super) async fn order_call<T: DeserializeOwned>(
        &self,
        req: &Request,
    ) -> Result<T, ExchangeError> {
        let mut body = self.order_send(req).await;
        if matches!(&body, Err(e) if e.class == ErrorClass::ResyncClock) {
            self.rest.sync_clock().await?;
            body = self.order_send(req).await;
        }
        RestClient::decode(req, &body?)
    }

    async fn order_send(&self, req: &Request) -> Result<Bytes, ExchangeError> {
        if let Some(ws) = &self.ws {
            if let Some(answer) = ws.send(req).await {
                return answer;
            }
        }
        self.rest.send(req).await
    }

    /// True when orders go over the WS API now (configured, and its socket is up).
    pub fn orders_over_ws(&self) -> bool {
        self.ws.as_ref().is_some_and(|ws| ws.is_up())
    }

    /// Several orders as one `order.place` frame each, all in flight at once (the WS API
    /// has no batch method): each order's own result, never a whole-request failure.
    pub(super) async fn place_each_over_ws(
        &self,
        orders: &[FilterChecked<OrderRequest>],
    ) -> Vec<Result<OrderReport, ExchangeError>> {
        join_all(orders.iter().map(|o| self.place_one(o))).await
    }

    /// One order on the configured transport, tracked for the user stream.
    pub(super) async fn place_one(
        &self,
        order: &FilterChecked<OrderRequest>,
    ) -> Result<OrderReport, ExchangeError> {
        let o = order.inner();
        self.tracker.order_sent(&o.symbol, &o.client_order_id);
        let req = self.rest.new_order_request(order);
        match self.order_call::<wire::Order>(&req).await {
            Ok(w) => parse::order_report(&w).map_err(|mut e| {
                // It was accepted; only our reading failed. Resolve, never re-send.
                e.class = ErrorClass::OutcomeUnknown;
                e
            }),
            Err(e) => {
                if !e.is_outcome_unknown() {
                    self.tracker.order_abandoned(&o.symbol, &o.client_order_id);
                }
                Err(e)
            }
        }
    }
}
