//! The WebSocket API order transport (docs/binance-fapi.md §6): `order.place`,
//! `order.cancel` and `order.status` over one socket, with REST the fallback.
//!
//! A call is described by the REST [`Request`] it stands for (same params, cost and
//! kind), so one table classifies both transports' answers
//! ([`classify`](super::classify)), one limiter books both (the answer's `rateLimits`
//! feed it as REST's headers do) and one audit row shape records both: a WS attempt's
//! row has method `WS` and the WS method as its endpoint (`order.place`), with the
//! params it signed (never the key or the signature).
//!
//! Invariants:
//! - [`WsApi::send`] answers None only when nothing was written (the socket is down, or
//!   the call is not a WS API method): the caller may then send it over REST.
//! - A request written and not answered (the socket ended, or no answer within the
//!   request timeout) is `OutcomeUnknown` for an order, exactly like a REST timeout:
//!   the executor resolves it by client order id before anything is re-sent.
//! - The socket has one owner, the connection task (`conn.rs`).

mod conn;
pub(crate) mod frame;
pub(crate) mod probe;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::audit::AuditBuffer;
use super::classify::classify_transport;
use super::rest::outcome::{attempt_record, error_from, wait_error, Outcome};
use super::rest::{RateHeaders, Request, RestClient};
use crate::exchange::ExchangeError;
use conn::{Ctx, Failure, Job, Link, Reply};
use frame::Params;

/// Which transport carries orders (`exchange.order_transport`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderTransport {
    /// `POST/DELETE/GET /fapi/v1/order`, `batchOrders`.
    #[default]
    Rest,
    /// The WebSocket API while its socket is up, REST while it is down.
    Ws,
}

impl OrderTransport {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderTransport::Rest => "rest",
            OrderTransport::Ws => "ws",
        }
    }
}

/// Jobs waiting for the socket; more wait on the channel's capacity.
const QUEUE: usize = 1024;

/// A handle on the WS API connection (its task ends when the handle is dropped).
#[derive(Debug)]
pub struct WsApi {
    jobs: mpsc::Sender<Job>,
    up: watch::Receiver<bool>,
    link: Arc<Link>,
    rest: Arc<RestClient>,
    audit: AuditBuffer,
    venue: String,
    request_timeout: Duration,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("method", &self.method).finish()
    }
}

/// What `session.logon` said on the last connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Logon {
    /// Not attempted: not an Ed25519 key (each request is signed), or not connected yet.
    NotAttempted,
    Accepted,
    Refused(String),
}

impl WsApi {
    /// Start the connection task for `url`; signs with `rest`'s key pair and clock.
    pub fn start(
        url: String,
        rest: Arc<RestClient>,
        audit: AuditBuffer,
        venue: String,
        request_timeout: Duration,
        lifetime: Duration,
    ) -> Self {
        let (jobs, rx) = mpsc::channel(QUEUE);
        let (up_tx, up) = watch::channel(false);
        let link = Arc::new(Link {
            up: up_tx,
            logon: Mutex::new(None),
            sessions: Default::default(),
        });
        let ctx = Ctx {
            url,
            rest: rest.clone(),
            lifetime,
            request_timeout,
            link: link.clone(),
        };
        tokio::spawn(conn::run(ctx, rx));
        Self {
            jobs,
            up,
            link,
            rest,
            audit,
            venue,
            request_timeout,
        }
    }

    /// True while a connection is open and taking requests.
    pub fn is_up(&self) -> bool {
        *self.up.borrow()
    }

    /// Wait until the socket is up, at most `within`; whether it is.
    pub async fn until_up(&self, within: Duration) -> bool {
        let mut up = self.up.clone();
        tokio::time::timeout(within, up.wait_for(|u| *u))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Connections opened so far (a planned or lost one replaced counts again).
    pub fn sessions(&self) -> u64 {
        self.link
            .sessions
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn logon(&self) -> Logon {
        match &*self.link.logon.lock().unwrap_or_else(|e| e.into_inner()) {
            None => Logon::NotAttempted,
            Some(Ok(())) => Logon::Accepted,
            Some(Err(e)) => Logon::Refused(e.clone()),
        }
    }

    /// Send `req` over the socket: limiter, write, answer, record, classify. None when
    /// nothing was written (socket down, or no WS API method for `req`).
    pub async fn send(&self, req: &Request) -> Option<Result<Bytes, ExchangeError>> {
        let method = frame::ws_method(req)?;
        if !self.is_up() {
            return None;
        }
        let permit = match self.rest.limiter.acquire(req.cost).await {
            Ok(p) => p,
            Err(w) => return Some(Err(wait_error(w))),
        };
        let params = Params::new(
            &req.params,
            self.rest.clock.server_now_ms(),
            self.rest.recv_window_ms(),
        );
        let (tx, rx) = oneshot::channel();
        let job = Job {
            method,
            params: params.clone(),
            reply: tx,
        };
        if self.jobs.send(job).await.is_err() {
            return None;
        }
        let started = Instant::now();
        let reply = self.await_reply(rx).await;
        let sent_at = match (&reply.result, reply.sent_at) {
            (Err(Failure::NotSent(why)), _) => {
                tracing::debug!(method, why = %why, "not sent over the WS API; using REST");
                return None;
            }
            (_, Some(at)) => at,
            (_, None) => chrono::Utc::now(),
        };
        let outcome = self.outcome(req, reply.result);
        self.rest.after_response(req, &outcome, permit);
        let mut record = attempt_record(
            &self.venue,
            req,
            params.recorded(),
            sent_at,
            started.elapsed(),
            &outcome,
        );
        record.method = "WS".into();
        record.endpoint = method.into();
        crate::metrics::record_attempt(&record);
        self.audit.push(record);
        Some(outcome.result)
    }

    async fn await_reply(&self, rx: oneshot::Receiver<Reply>) -> Reply {
        let lost = |why: &str| Reply {
            sent_at: None,
            result: Err(Failure::Lost(why.into())),
        };
        match tokio::time::timeout(self.request_timeout, rx).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) => lost("the WS API connection task ended with the request queued"),
            Err(_) => lost("timeout: no WS API answer within the request timeout"),
        }
    }

    /// The answer as REST's client would have seen it.
    fn outcome(&self, req: &Request, result: Result<frame::Answer, Failure>) -> Outcome {
        match result {
            Ok(a) => {
                let body = a.body();
                let result = if (200..300).contains(&a.status) {
                    Ok(Bytes::from(body))
                } else {
                    Err(error_from(&self.rest.clock, req, a.status, &body, None))
                };
                Outcome {
                    status: Some(a.status),
                    headers: a.rate_headers(),
                    date: None,
                    result,
                }
            }
            Err(Failure::Lost(why) | Failure::NotSent(why)) => Outcome {
                status: None,
                headers: RateHeaders::default(),
                date: None,
                result: Err(ExchangeError::new(
                    classify_transport(true, req.kind),
                    None,
                    None,
                    why,
                )),
            },
        }
    }
}
