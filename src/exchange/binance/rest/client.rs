//! The raw signed REST client: one place that limits, signs, sends, audits and classifies
//! (what a call is: [`super::request`]; what an answer means: `outcome.rs`).
//!
//! Invariants:
//! - Every request passes the rate limiter before it is sent; none is sent during a ban.
//! - The parameter text is built once, signed, and sent as is, so the signature covers
//!   the sent bytes: in the query string of a `GET`, and as the
//!   `application/x-www-form-urlencoded` body of a `POST`/`PUT`/`DELETE` with an empty
//!   query (docs/binance-fapi.md §1.3: the signed text is the query followed by the body).
//!   The URL then is the base and the path alone, which the HTTP stack parses far more
//!   cheaply than a signed query (it parses the URL more than once per request).
//! - Every attempt, failed or not, becomes one
//!   [`AttemptRecord`](crate::exchange::audit::AttemptRecord) (params without the
//!   signature; the key travels as a header and is never recorded).
//! - A -1021/-5028 answer re-measures the clock and is retried exactly once.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use super::super::audit::AuditBuffer;
use super::super::clock::{local_ms, offset_from_round_trip, Clock};
use super::super::config::BinanceConfig;
use super::super::ratelimit::{Observed, Permit, RateLimiter, Reserve, WEIGHT_RESERVE_SHARE};
use super::super::sign::{plain_query, signed_query, SignError, Signer};
use super::outcome::{attempt_record, error_from, transport_outcome, wait_error, Outcome};
use super::request::{RateHeaders, Request, Security};
use super::wire;
use crate::exchange::{ErrorClass, ExchangeError, Purpose};

/// The content type of a request whose parameters travel in the body.
const FORM: &str = "application/x-www-form-urlencoded";

/// One API key and the signer of its secret or private key.
struct Credentials {
    api_key: String,
    signer: Signer,
}

pub struct RestClient {
    http: reqwest::Client,
    base: String,
    /// Swapped whole when the key is rotated (key-loss recovery): one attempt signs and
    /// sends with one snapshot, never a key from one pair and a signature from another.
    creds: std::sync::RwLock<Arc<Credentials>>,
    recv_window_ms: u64,
    venue: String,
    /// `selfTradePreventionMode` of every order this client places.
    pub(crate) stp: crate::domain::SelfTradePrevention,
    pub clock: Arc<Clock>,
    pub(crate) limiter: RateLimiter,
    audit: AuditBuffer,
}

impl std::fmt::Debug for RestClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestClient")
            .field("base", &self.base)
            .field("venue", &self.venue)
            .finish_non_exhaustive()
    }
}

impl RestClient {
    pub fn new(cfg: &BinanceConfig, audit: AuditBuffer) -> Result<Self, ExchangeError> {
        let http = reqwest::Client::builder()
            .timeout(cfg.request_timeout)
            .pool_max_idle_per_host(16)
            .build()
            .map_err(|e| {
                ExchangeError::new(ErrorClass::Fatal, None, None, format!("http client: {e}"))
            })?;
        let clock = Arc::new(Clock::default());
        Ok(Self {
            http,
            base: cfg.rest_url.as_str().trim_end_matches('/').to_string(),
            creds: std::sync::RwLock::new(Arc::new(Credentials {
                api_key: cfg.api_key.clone(),
                signer: cfg.signer.clone(),
            })),
            recv_window_ms: cfg.recv_window_ms,
            venue: cfg.venue_name.clone(),
            stp: cfg.self_trade_prevention,
            clock: clock.clone(),
            limiter: match &cfg.shared_ip {
                Some(ip) => RateLimiter::sharing(
                    ip.0.clone(),
                    Default::default(),
                    cfg.risk_reserve_share,
                    clock,
                ),
                None => RateLimiter::new(
                    Default::default(),
                    Reserve {
                        orders: cfg.risk_reserve_share,
                        weight: WEIGHT_RESERVE_SHARE,
                    },
                    clock,
                ),
            },
            audit,
        })
    }

    /// Use a new key pair from the next request on (a rotated key after key loss).
    pub(crate) fn set_credentials(&self, api_key: String, signer: Signer) {
        let fresh = Arc::new(Credentials { api_key, signer });
        // A poisoned lock only means a panic elsewhere mid-swap of an Arc: the value is whole.
        *self.creds.write().unwrap_or_else(|e| e.into_inner()) = fresh;
    }

    /// The API key in use now.
    pub fn api_key(&self) -> String {
        self.credentials().api_key.clone()
    }

    /// The API key and signer in use now, as one snapshot (the WS API signs with them).
    pub(crate) fn signing_pair(&self) -> (String, Signer) {
        let c = self.credentials();
        (c.api_key.clone(), c.signer.clone())
    }

    /// `recvWindow` of signed requests, in milliseconds.
    pub fn recv_window_ms(&self) -> u64 {
        self.recv_window_ms
    }

    fn credentials(&self) -> Arc<Credentials> {
        self.creds.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Send `req` and deserialize the answer; on -1021/-5028 re-measure the clock (for
    /// the request's purpose: a close's retry must not wait behind routine reads) and
    /// retry once (with a fresh timestamp and signature).
    pub async fn call<T: DeserializeOwned>(&self, req: &Request) -> Result<T, ExchangeError> {
        let mut body = self.send(req).await;
        if matches!(&body, Err(e) if e.class == ErrorClass::ResyncClock) {
            self.sync_clock(req.purpose()).await?;
            body = self.send(req).await;
        }
        Self::decode(req, &body?)
    }

    /// Deserialize the answer to `req`; a 2xx answer that does not parse is
    /// `OutcomeUnknown` for an order (it may have executed), `Fatal` otherwise.
    pub(crate) fn decode<T: DeserializeOwned>(
        req: &Request,
        body: &[u8],
    ) -> Result<T, ExchangeError> {
        serde_json::from_slice(body).map_err(|e| {
            // A 200 we cannot read: for an order it may have executed.
            let class = if req.is_order() {
                ErrorClass::OutcomeUnknown
            } else {
                ErrorClass::Fatal
            };
            ExchangeError::new(
                class,
                Some(200),
                None,
                format!("{} {}: response did not parse: {e}", req.method, req.path),
            )
        })
    }

    /// Measure the offset to server time (round-trip compensated) and store it: routine
    /// at connect and periodically, for a request's purpose when its timestamp was
    /// refused.
    pub(crate) async fn sync_clock(&self, purpose: Purpose) -> Result<i64, ExchangeError> {
        let req = Request::new(Method::GET, "/fapi/v1/time", Security::Public, 1, purpose);
        let t0 = local_ms();
        let body = self.send(&req).await?;
        let t1 = local_ms();
        let time: wire::ServerTime = serde_json::from_slice(&body).map_err(|e| {
            ExchangeError::new(
                ErrorClass::Fatal,
                Some(200),
                None,
                format!("/fapi/v1/time: {e}"),
            )
        })?;
        let offset = offset_from_round_trip(t0, time.server_time, t1);
        self.clock.set_offset_ms(offset);
        tracing::debug!(
            offset_ms = offset,
            rtt_ms = t1 - t0,
            "clock offset measured"
        );
        Ok(offset)
    }

    /// One attempt: limiter, sign, send, record, classify.
    pub async fn send(&self, req: &Request) -> Result<Bytes, ExchangeError> {
        let permit = self.limiter.acquire(req.cost).await.map_err(wait_error)?;
        let creds = self.credentials();
        let (recorded, query) = self.build_query(req, &creds.signer).map_err(|e| {
            ExchangeError::new(ErrorClass::Fatal, None, None, format!("{}: {e}", req.path))
        })?;
        let (url, body) = if query.is_empty() {
            (format!("{}{}", self.base, req.path), None)
        } else if req.method == Method::GET {
            (format!("{}{}?{}", self.base, req.path, query), None)
        } else {
            (format!("{}{}", self.base, req.path), Some(query))
        };
        let sent_at = Utc::now();
        let started = Instant::now();
        let outcome = self.exchange(req, url, body, &creds.api_key).await;
        let latency = started.elapsed();
        self.after_response(req, &outcome, permit);
        let record = attempt_record(&self.venue, req, recorded, sent_at, latency, &outcome);
        let records = if req.path == super::batch_audit::BATCH_PATH {
            super::batch_audit::per_element(record, req, &outcome)
        } else {
            vec![record]
        };
        for record in records {
            crate::metrics::record_attempt(&record);
            self.audit.push(record);
        }
        outcome.result
    }

    /// `(params as recorded, text as sent: query or body)`; fails only when an RSA key cannot sign
    /// (nothing was sent).
    fn build_query(&self, req: &Request, signer: &Signer) -> Result<(String, String), SignError> {
        match req.security {
            Security::Signed => signed_query(
                signer,
                &req.params,
                self.clock.server_now_ms(),
                self.recv_window_ms,
            ),
            _ => {
                let q = plain_query(&req.params);
                Ok((q.clone(), q))
            }
        }
    }

    async fn exchange(
        &self,
        req: &Request,
        url: String,
        body: Option<String>,
        api_key: &str,
    ) -> Outcome {
        let mut builder = self.http.request(req.method.clone(), url);
        if req.security != Security::Public {
            builder = builder.header("X-MBX-APIKEY", api_key);
        }
        if let Some(body) = body {
            builder = builder
                .header(reqwest::header::CONTENT_TYPE, FORM)
                .body(body);
        }
        let resp = match builder.send().await {
            Ok(r) => r,
            Err(e) => return transport_outcome(req, &e, !e.is_connect()),
        };
        let status = resp.status().as_u16();
        let headers = RateHeaders::from_headers(resp.headers());
        let date = resp
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|d| d.to_str().ok())
            .and_then(|d| DateTime::parse_from_rfc2822(d).ok())
            .map(|d| d.with_timezone(&Utc));
        let body = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => return transport_outcome(req, &e, true),
        };
        let result = if (200..300).contains(&status) {
            Ok(body)
        } else {
            Err(error_from(
                &self.clock,
                req,
                status,
                &body,
                headers.retry_after,
            ))
        };
        Outcome {
            status: Some(status),
            headers,
            date,
            result,
        }
    }

    /// Feed headers and 429/418 back into the shared limiter.
    pub(crate) fn after_response(&self, req: &Request, out: &Outcome, permit: Permit<'_>) {
        let h = out.headers;
        permit.complete(Observed {
            weight_1m: h.used_weight_1m,
            orders_10s: h.order_count_10s,
            orders_1m: h.order_count_1m,
        });
        let now = Instant::now();
        crate::metrics::observe_rate_limits(h.used_weight_1m, h.order_count_10s, h.order_count_1m);
        if let Err(e) = &out.result {
            let l = &self.limiter;
            match (e.class, e.retry_after) {
                (ErrorClass::Banned, Some(d)) => l.ban_until(now + d),
                (ErrorClass::Banned, None) => l.ban_until(now + Duration::from_secs(120)),
                (ErrorClass::Backoff, Some(d)) => l.back_off_until(e.code, now + d),
                _ => {}
            }
        }
        if let Err(e) = &out.result {
            tracing::warn!(path = req.path, class = e.class.as_str(), code = ?e.code, msg = %e.msg, "exchange error");
        }
    }
}
