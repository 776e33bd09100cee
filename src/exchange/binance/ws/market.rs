//! Mark prices: `<symbol>@markPrice@1s` streams feeding a cache, with REST
//! `premiumIndex` when the stream is stale or not yet running.
//!
//! Invariants: a cached mark older than `STALE_AFTER` is never returned; the first
//! request for a symbol starts its stream; stream tasks hold only a `Weak` reference
//! and end when the adapter is dropped.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::events::{Combined, MarkPriceUpdate};
use crate::domain::{Price, Symbol};
use crate::exchange::binance::parse::time_ms;
use crate::exchange::MarkPrice;

/// A mark older than this is stale (the stream publishes every second).
pub(crate) const STALE_AFTER: Duration = Duration::from_secs(5);

#[derive(Debug, Default)]
pub(crate) struct MarkCache {
    marks: Mutex<HashMap<Symbol, (MarkPrice, Instant)>>,
    streaming: Mutex<HashSet<Symbol>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl MarkCache {
    /// The cached mark if it is fresh.
    pub(crate) fn fresh(&self, symbol: &Symbol) -> Option<MarkPrice> {
        let marks = lock(&self.marks);
        let (mark, at) = marks.get(symbol)?;
        (at.elapsed() < STALE_AFTER).then(|| mark.clone())
    }

    pub(crate) fn store(&self, mark: MarkPrice) {
        lock(&self.marks).insert(mark.symbol.clone(), (mark, Instant::now()));
    }

    /// True if the caller should start the stream for `symbol` (first time only).
    fn claim_stream(&self, symbol: &Symbol) -> bool {
        lock(&self.streaming).insert(symbol.clone())
    }
}

/// Start the mark stream for `symbol` unless one is running.
pub(crate) fn ensure_stream(cache: &Arc<MarkCache>, url: String, symbol: &Symbol) {
    if cache.claim_stream(symbol) {
        tokio::spawn(run_mark_stream(Arc::downgrade(cache), url, symbol.clone()));
    }
}

async fn run_mark_stream(cache: Weak<MarkCache>, url: String, symbol: Symbol) {
    let mut backoff = Duration::from_millis(250);
    loop {
        match super::connect(url.as_str()).await {
            Ok(mut ws) => {
                backoff = Duration::from_millis(250);
                while let Some(msg) = ws.next().await {
                    let Some(cache) = cache.upgrade() else { return };
                    match msg {
                        Ok(Message::Text(t)) => {
                            if let Some(mark) = decode(t.as_str()) {
                                cache.store(mark);
                            }
                        }
                        Ok(Message::Close(_)) | Err(_) => break,
                        Ok(_) => {}
                    }
                }
            }
            Err(e) => tracing::debug!(%symbol, error = %e, "mark stream connect failed"),
        }
        if cache.upgrade().is_none() {
            return;
        }
        crate::metrics::record_stream_reconnect("market");
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
}

/// Decode a raw or combined mark-price frame.
pub(crate) fn decode(text: &str) -> Option<MarkPrice> {
    let u: MarkPriceUpdate = serde_json::from_str(text)
        .or_else(|_| serde_json::from_str::<Combined<MarkPriceUpdate>>(text).map(|c| c.data))
        .ok()?;
    Some(MarkPrice {
        symbol: Symbol::new(&u.symbol).ok()?,
        mark_price: Price::new("p", u.mark_price).ok()?,
        time: time_ms("E", u.event_time).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn raw_and_combined_mark_frames_decode_to_the_same_mark() {
        let raw = r#"{"e":"markPriceUpdate","E":1562305380000,"s":"SOLUSDT","p":"187.51200000","i":"187.5","P":"187.6","r":"0.0001","T":1562306400000}"#;
        let combined = format!(r#"{{"stream":"solusdt@markPrice@1s","data":{raw}}}"#);
        let a = decode(raw).unwrap();
        let b = decode(&combined).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.mark_price.get(), dec!(187.512));
    }

    #[test]
    fn a_cached_mark_is_served_only_while_fresh() {
        let cache = MarkCache::default();
        let sol = Symbol::new("SOLUSDT").unwrap();
        assert!(cache.fresh(&sol).is_none());
        cache.store(MarkPrice {
            symbol: sol.clone(),
            mark_price: Price::new("p", dec!(1)).unwrap(),
            time: chrono::Utc::now(),
        });
        assert!(cache.fresh(&sol).is_some());
    }
}
