//! Where the API gets a mark price to value an open given by quantity (the budget is
//! in USDT) and to check a LIMIT price's band, and the symbol rules to refuse a size or
//! price the exchange cannot carry out. A narrow trait so startup can plug in the
//! exchange and tests a fixed price.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::domain::{Price, Symbol, SymbolRules};
use crate::exchange::{Exchange, Purpose};

/// How long exchangeInfo is reused for size checks (it is large and changes rarely; the
/// executor re-reads it itself on a filter rejection).
const RULES_TTL: Duration = Duration::from_secs(60);

/// Where the API gets a mark price (and symbol rules) to value an open given by quantity.
#[async_trait]
pub trait MarkPrices: Send + Sync {
    /// The current mark price of `symbol`, or why there is none, read for `purpose` when
    /// it must be fetched: a LIMIT close's or reduce's price band reduces risk, an open's
    /// (its price band, its budget check) does not.
    async fn mark_price(&self, symbol: &Symbol, purpose: Purpose) -> Result<Price, String>;
    /// The exchange's rules for `symbol`, when known, read for `purpose` when they must
    /// be fetched: a close's or reduce's size check reduces risk, an open's does not. None
    /// skips the API's size checks (the executor still refuses an unsendable size, naming
    /// the reason).
    async fn symbol_rules(&self, _symbol: &Symbol, _purpose: Purpose) -> Option<SymbolRules> {
        None
    }
}

type CachedRules = Option<(Instant, Arc<Vec<SymbolRules>>)>;

/// Mark prices and symbol rules from the connected exchange.
pub struct ExchangeMarkPrices {
    exchange: Arc<dyn Exchange>,
    rules: Mutex<CachedRules>,
}

impl ExchangeMarkPrices {
    /// Read marks from `exchange`; its symbol rules are cached for a minute.
    pub fn new(exchange: Arc<dyn Exchange>) -> Self {
        ExchangeMarkPrices {
            exchange,
            rules: Mutex::new(None),
        }
    }

    fn cached(&self) -> Option<Arc<Vec<SymbolRules>>> {
        let guard = self.rules.lock().ok()?;
        guard
            .as_ref()
            .filter(|(at, _)| at.elapsed() < RULES_TTL)
            .map(|(_, r)| r.clone())
    }
}

#[async_trait]
impl MarkPrices for ExchangeMarkPrices {
    async fn mark_price(&self, symbol: &Symbol, purpose: Purpose) -> Result<Price, String> {
        // A close's read may use the IP weight kept for risk-reducing requests, so a spent
        // routine share does not hold the close until the minute ends.
        self.exchange
            .mark_price(symbol, purpose)
            .await
            .map(|m| m.mark_price)
            .map_err(|e| e.to_string())
    }

    async fn symbol_rules(&self, symbol: &Symbol, purpose: Purpose) -> Option<SymbolRules> {
        // One cache for every caller: a close's read (which may use the IP weight kept for
        // risk-reducing requests, so a spent routine share does not hold the close until
        // the minute ends) fills it for opens too, and the other way round.
        let all = match self.cached() {
            Some(all) => all,
            None => match self.exchange.symbol_rules(purpose).await {
                Ok(fresh) => {
                    let fresh = Arc::new(fresh);
                    if let Ok(mut guard) = self.rules.lock() {
                        *guard = Some((Instant::now(), fresh.clone()));
                    }
                    fresh
                }
                Err(e) => {
                    tracing::warn!(error = %e, "size check skipped: exchangeInfo unreadable");
                    return None;
                }
            },
        };
        all.iter().find(|r| &r.symbol == symbol).cloned()
    }
}
