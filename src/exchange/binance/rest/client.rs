//! The raw signed REST client: one place that limits, signs, sends, audits and classifies.
//!
//! Invariants:
//! - Every request passes the rate limiter before it is sent; none is sent during a ban.
//! - The query text is built once, signed, and sent as is (all parameters in the query
//!   string, empty body, like the official SDK) so the signature covers the sent bytes.
//! - Every attempt, failed or not, becomes one [`AttemptRecord`] (params without the
//!   signature; the key travels as a header and is never recorded).
//! - A -1021/-5028 answer re-measures the clock and is retried exactly once.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, TimeZone, Utc};
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use super::super::audit::AuditBuffer;
use super::super::classify::{classify, classify_transport, RequestKind};
use super::super::clock::{local_ms, offset_from_round_trip, Clock};
use super::super::config::BinanceConfig;
use super::super::ratelimit::{Cost, Observed, Permit, RateLimiter, Wait};
use super::super::sign::{plain_query, signed_query, Signer};
use super::wire;
use crate::exchange::audit::AttemptRecord;
use crate::exchange::{ErrorClass, ExchangeError};

/// Which credentials a request carries (docs/binance-fapi.md §1.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    Public,
    /// `X-MBX-APIKEY` only (listenKey endpoints).
    ApiKey,
    /// API key + `timestamp` + `recvWindow` + `signature`.
    Signed,
}

/// One REST call, described before it is sent.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: Method,
    pub path: &'static str,
    pub params: Vec<(&'static str, String)>,
    pub security: Security,
    pub cost: Cost,
    pub kind: RequestKind,
}

impl Request {
    pub fn new(method: Method, path: &'static str, security: Security, weight: u32) -> Self {
        Self {
            method,
            path,
            params: Vec::new(),
            security,
            cost: Cost::weight(weight),
            kind: RequestKind::Query,
        }
    }
    pub fn param(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.params.push((key, value.into()));
        self
    }
    fn is_order(&self) -> bool {
        self.kind != RequestKind::Query
    }
    fn find(&self, key: &str) -> Option<String> {
        self.params
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
    }
}

/// Rate-limit headers of one response.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateHeaders {
    pub used_weight_1m: Option<u32>,
    pub order_count_10s: Option<u32>,
    pub order_count_1m: Option<u32>,
    pub retry_after: Option<Duration>,
}

impl RateHeaders {
    pub fn from_headers(h: &HeaderMap) -> Self {
        let num = |name: &str| -> Option<u32> { h.get(name)?.to_str().ok()?.trim().parse().ok() };
        Self {
            used_weight_1m: num("x-mbx-used-weight-1m"),
            order_count_10s: num("x-mbx-order-count-10s"),
            order_count_1m: num("x-mbx-order-count-1m"),
            retry_after: num("retry-after").map(|s| Duration::from_secs(u64::from(s))),
        }
    }
}

/// What came back from one attempt, before deserialisation.
struct Outcome {
    status: Option<u16>,
    headers: RateHeaders,
    date: Option<DateTime<Utc>>,
    result: Result<Bytes, ExchangeError>,
}

/// One API key and the signer of its secret.
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
    pub limiter: RateLimiter,
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
                signer: Signer::new(cfg.api_secret.clone()),
            })),
            recv_window_ms: cfg.recv_window_ms,
            venue: cfg.venue_name.clone(),
            stp: cfg.self_trade_prevention,
            clock: clock.clone(),
            limiter: RateLimiter::new(Default::default(), cfg.risk_reserve_share, clock),
            audit,
        })
    }

    /// Use a new key pair from the next request on (a rotated key after key loss).
    pub fn set_credentials(&self, api_key: String, api_secret: secrecy::SecretString) {
        let fresh = Arc::new(Credentials {
            api_key,
            signer: Signer::new(api_secret),
        });
        // A poisoned lock only means a panic elsewhere mid-swap of an Arc: the value is whole.
        *self.creds.write().unwrap_or_else(|e| e.into_inner()) = fresh;
    }

    /// The API key in use now.
    pub fn api_key(&self) -> String {
        self.credentials().api_key.clone()
    }

    fn credentials(&self) -> Arc<Credentials> {
        self.creds.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Send `req` and deserialize the answer; on -1021/-5028 re-measure the clock and
    /// retry once (with a fresh timestamp and signature).
    pub async fn call<T: DeserializeOwned>(&self, req: &Request) -> Result<T, ExchangeError> {
        let mut body = self.send(req).await;
        if matches!(&body, Err(e) if e.class == ErrorClass::ResyncClock) {
            self.sync_clock().await?;
            body = self.send(req).await;
        }
        let body = body?;
        serde_json::from_slice(&body).map_err(|e| {
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

    /// Measure the offset to server time (round-trip compensated) and store it.
    pub async fn sync_clock(&self) -> Result<i64, ExchangeError> {
        let req = Request::new(Method::GET, "/fapi/v1/time", Security::Public, 1);
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
        let permit = self
            .limiter
            .acquire(req.cost)
            .await
            .map_err(|w| self.wait_error(w))?;
        let creds = self.credentials();
        let (recorded, query) = self.build_query(req, &creds.signer);
        let url = if query.is_empty() {
            format!("{}{}", self.base, req.path)
        } else {
            format!("{}{}?{}", self.base, req.path, query)
        };
        let sent_at = Utc::now();
        let started = Instant::now();
        let outcome = self.exchange(req, url, &creds.api_key).await;
        let latency = started.elapsed();
        self.after_response(req, &outcome, permit);
        self.record(req, recorded, sent_at, latency, &outcome);
        outcome.result
    }

    /// `(params as recorded, text as sent)`.
    fn build_query(&self, req: &Request, signer: &Signer) -> (String, String) {
        match req.security {
            Security::Signed => signed_query(
                signer,
                &req.params,
                self.clock.server_now_ms(),
                self.recv_window_ms,
            ),
            _ => {
                let q = plain_query(&req.params);
                (q.clone(), q)
            }
        }
    }

    async fn exchange(&self, req: &Request, url: String, api_key: &str) -> Outcome {
        let mut builder = self.http.request(req.method.clone(), url);
        if req.security != Security::Public {
            builder = builder.header("X-MBX-APIKEY", api_key);
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
            Err(self.error_from(req, status, &body, headers.retry_after))
        };
        Outcome {
            status: Some(status),
            headers,
            date,
            result,
        }
    }

    fn error_from(
        &self,
        req: &Request,
        status: u16,
        body: &[u8],
        retry_after: Option<Duration>,
    ) -> ExchangeError {
        let (code, msg) = match serde_json::from_slice::<wire::ErrorBody>(body) {
            Ok(b) => (Some(b.code), b.msg),
            Err(_) => (
                None,
                String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned(),
            ),
        };
        let class = classify(status, code, &msg, req.kind);
        let mut err = ExchangeError::new(class, Some(status), code, msg);
        err.retry_after = match class {
            ErrorClass::Banned => {
                banned_until_ms(&err.msg).map(|until| ms_until(until, self.clock.server_now_ms()))
            }
            // Without Retry-After, wait for the venue's next minute window.
            ErrorClass::Backoff if status == 429 => Some(
                retry_after.unwrap_or_else(|| ms_until_next_minute(self.clock.server_now_ms())),
            ),
            _ => retry_after,
        };
        err
    }

    /// Feed headers and 429/418 back into the shared limiter.
    fn after_response(&self, req: &Request, out: &Outcome, permit: Permit<'_>) {
        let h = out.headers;
        permit.complete(Observed {
            weight_1m: h.used_weight_1m,
            orders_10s: h.order_count_10s,
            orders_1m: h.order_count_1m,
        });
        let now = Instant::now();
        crate::metrics::observe_rate_limits(h.used_weight_1m, h.order_count_10s, h.order_count_1m);
        self.limiter.with(|a| {
            if let Err(e) = &out.result {
                match (e.class, e.retry_after) {
                    (ErrorClass::Banned, Some(d)) => a.ban_until(now + d),
                    (ErrorClass::Banned, None) => a.ban_until(now + Duration::from_secs(120)),
                    (ErrorClass::Backoff, Some(d)) => a.back_off_until(now + d),
                    _ => {}
                }
            }
        });
        if let Err(e) = &out.result {
            tracing::warn!(path = req.path, class = e.class.as_str(), code = ?e.code, msg = %e.msg, "exchange error");
        }
    }

    fn record(
        &self,
        req: &Request,
        params: String,
        sent_at: DateTime<Utc>,
        latency: Duration,
        out: &Outcome,
    ) {
        let err = out.result.as_ref().err();
        let exchange_time = out
            .result
            .as_ref()
            .ok()
            .filter(|_| req.is_order())
            .and_then(|b| update_time(b))
            .or(out.date);
        let record = AttemptRecord {
            venue: self.venue.clone(),
            sent_at,
            exchange_time,
            method: req.method.to_string(),
            endpoint: req.path.to_string(),
            params,
            is_order: req.is_order(),
            symbol: req.find("symbol"),
            client_order_id: req
                .find("newClientOrderId")
                .or_else(|| req.find("origClientOrderId")),
            http_status: out.status,
            error_code: err.and_then(|e| e.code),
            error_msg: err.map(|e| e.msg.clone()),
            error_class: err.map(|e| e.class.as_str().to_string()),
            latency_ms: i64::try_from(latency.as_millis()).unwrap_or(i64::MAX),
            used_weight_1m: out.headers.used_weight_1m.map(i64::from),
            order_count_10s: out.headers.order_count_10s.map(i64::from),
            order_count_1m: out.headers.order_count_1m.map(i64::from),
        };
        crate::metrics::record_attempt(&record);
        self.audit.push(record);
    }

    fn wait_error(&self, w: Wait) -> ExchangeError {
        match w {
            Wait::Banned(until) => {
                let mut e = ExchangeError::new(
                    ErrorClass::Banned,
                    None,
                    None,
                    "IP banned by the venue; not sending",
                );
                e.retry_after = Some(until.saturating_duration_since(Instant::now()));
                e
            }
            _ => ExchangeError::new(
                ErrorClass::Fatal,
                None,
                None,
                "request costs more than the rate-limit budget allows",
            ),
        }
    }
}

fn transport_outcome(req: &Request, e: &reqwest::Error, sent: bool) -> Outcome {
    let class = classify_transport(sent, req.kind);
    let what = if e.is_timeout() {
        "timeout"
    } else if sent {
        "connection lost after send"
    } else {
        "connect failed"
    };
    Outcome {
        status: None,
        headers: RateHeaders::default(),
        date: None,
        result: Err(ExchangeError::new(
            class,
            None,
            None,
            format!("{what}: {e}"),
        )),
    }
}

/// `updateTime` of an order reply, the venue's own time for the attempt.
fn update_time(body: &[u8]) -> Option<DateTime<Utc>> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct T {
        update_time: i64,
    }
    let t: T = serde_json::from_slice(body).ok()?;
    Utc.timestamp_millis_opt(t.update_time).single()
}

/// The epoch ms in "IP banned until 1790931239698" (with or without "IP(a.b.c.d)").
pub fn banned_until_ms(msg: &str) -> Option<i64> {
    let rest = &msg[msg.find("banned until")? + "banned until".len()..];
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

fn ms_until(until_ms: i64, now_ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(until_ms - now_ms).unwrap_or(0))
}

fn ms_until_next_minute(now_ms: i64) -> Duration {
    ms_until(now_ms - now_ms.rem_euclid(60_000) + 60_000, now_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ban_epoch_is_read_from_both_message_forms() {
        let a = "Way too many requests; IP banned until 1790931239698. Please use the websocket for live updates to avoid bans.";
        let b = "Way too many requests; IP(1.2.3.4) banned until 1790931239698. Please use the websocket";
        assert_eq!(banned_until_ms(a), Some(1790931239698));
        assert_eq!(banned_until_ms(b), Some(1790931239698));
        assert_eq!(banned_until_ms("Too many requests"), None);
    }

    #[test]
    fn a_429_without_retry_after_waits_for_the_next_minute_boundary() {
        assert_eq!(
            ms_until_next_minute(120_000 + 15_000),
            Duration::from_millis(45_000)
        );
        assert_eq!(ms_until(10, 20), Duration::ZERO);
    }

    #[test]
    fn rate_headers_are_read_case_insensitively() {
        let mut h = HeaderMap::new();
        h.insert("X-MBX-USED-WEIGHT-1M", "17".parse().unwrap());
        h.insert("x-mbx-order-count-10s", "3".parse().unwrap());
        h.insert("Retry-After", "2".parse().unwrap());
        let r = RateHeaders::from_headers(&h);
        assert_eq!(r.used_weight_1m, Some(17));
        assert_eq!(r.order_count_10s, Some(3));
        assert_eq!(r.order_count_1m, None);
        assert_eq!(r.retry_after, Some(Duration::from_secs(2)));
    }
}
