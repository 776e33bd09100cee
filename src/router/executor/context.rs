//! What the executor loop owns: the ledger and exchange handles, the symbol rules, the
//! learned caps and the circuit breaker. One task owns it (no locks): every order is
//! admitted, built and recorded by that task, and every answer is applied by it; only the
//! HTTP request itself runs off the task (`dispatch`), holding the exchange handle and the
//! checked order, never this. Reduce-only chunks out together never sum above the
//! position less what is already reserved (`core::inflight`), and they are MARKET or IOC,
//! so none rests to hold another's reduce-only allowance (-2022).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use super::breaker_journal::BreakerJournal;
use super::config::ExecutorConfig;
use crate::domain::{IntentKind, Price, Symbol, SymbolRules};
use crate::exchange::{Exchange, ExchangeError};
use crate::ledger::Ledger;
use crate::router::core::breaker::{Breaker, Outcome, Refusal};
use crate::router::core::caps::{CapBook, LearnedCap};

/// How long a mark price is reused before it is read again for an open (it sizes the
/// order against MIN_NOTIONAL and the budget).
const MARK_FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(2);
/// For reduce-only MARKET chunks the mark only feeds filter checks they are exempt from or
/// that do not depend on it, so a staler one is fine and saves request weight (a
/// 50-symbol flatten would otherwise spend a third of the weight budget on marks).
const MARK_FRESH_FOR_REDUCING: std::time::Duration = std::time::Duration::from_secs(60);

/// How old a cached mark price [`Ctx::mark`] may hand back. It chooses freshness only,
/// never what the read is booked as: every mark read from the loop may use the reserve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MarkFreshness {
    /// At most [`MARK_FRESH_FOR`]: the mark sizes an open or prices an order (the LIMIT
    /// IOC fallback's band edge).
    Recent,
    /// Up to [`MARK_FRESH_FOR_REDUCING`]: the chunks of a risk-reducing intent (that
    /// constant says why a staler mark serves them).
    WithinAMinute,
}

impl MarkFreshness {
    /// The freshness the chunks of an intent of `kind` ask for.
    pub(crate) fn for_chunks_of(kind: IntentKind) -> Self {
        if kind.reduces_risk() {
            MarkFreshness::WithinAMinute
        } else {
            MarkFreshness::Recent
        }
    }
}

pub(crate) struct Ctx {
    pub ledger: Ledger,
    pub exchange: Arc<dyn Exchange>,
    pub venue: String,
    pub cfg: ExecutorConfig,
    pub rules: HashMap<Symbol, SymbolRules>,
    pub caps: CapBook,
    pub breaker: Breaker,
    /// Key-loss safe mode: while active, nothing is sent.
    pub(crate) key_loss: super::keyloss::KeyLoss,
    /// Is the user stream delivering? Told what REST shows executing.
    pub stream: std::sync::Arc<super::stream_watch::StreamWatch>,
    /// Where the breaker's phase changes go (metrics, log, ledger), off the send path.
    breaker_journal: BreakerJournal,
    marks: HashMap<Symbol, (Price, Instant)>,
    /// The start-up gate's hold generation last applied, and a configuration hold's reason.
    hold_seen: u64,
    config_hold: Option<String>,
    /// The last send failed because the venue did not answer properly (5xx or no HTTP
    /// answer, certainly not executed, no Retry-After): `outage` may cut its backoff short.
    pub(crate) outage_hit: bool,
}

impl Ctx {
    /// Load the symbol rules from the exchange and the learned caps from the ledger.
    pub(super) async fn load(
        ledger: Ledger,
        exchange: Arc<dyn Exchange>,
        venue: String,
        cfg: ExecutorConfig,
        status: tokio::sync::watch::Sender<super::keyloss::ExecutorStatus>,
        stream: std::sync::Arc<super::stream_watch::StreamWatch>,
    ) -> anyhow::Result<Ctx> {
        let mut caps = CapBook::new(cfg.retry_published_cap_after_ms);
        let saved = ledger
            .symbol_caps(&venue)
            .await
            .context("failed to load learned caps")?;
        caps.restore(saved.into_iter().map(|c| {
            let learned_at_ms = c.learned_at.timestamp_millis();
            LearnedCap {
                retry_after_ms: c.retry_after.map_or(
                    learned_at_ms.saturating_add(cfg.retry_published_cap_after_ms),
                    |t| t.timestamp_millis(),
                ),
                symbol: c.symbol,
                learned_market_max_qty: c.learned_market_max_qty,
                learned_at_ms,
                reason: c.reason,
            }
        }));
        for cap in caps.entries() {
            tracing::info!(symbol = %cap.symbol, learned_cap = %cap.learned_market_max_qty, reason = %cap.reason, "learned cap restored");
        }
        let mut ctx = Ctx {
            breaker: Breaker::new(cfg.breaker.clone()).context("executor breaker config")?,
            key_loss: super::keyloss::KeyLoss::new(status, cfg.reauth_backoff, cfg.rng_seed),
            breaker_journal: BreakerJournal::spawn(
                ledger.clone(),
                venue.clone(),
                cfg.account.clone(),
            ),
            stream,
            ledger,
            exchange,
            venue,
            cfg,
            rules: HashMap::new(),
            caps,
            marks: HashMap::new(),
            hold_seen: 0,
            config_hold: None,
            outage_hit: false,
        };
        ctx.sync_hold();
        // At start: routine, as every start-up read is.
        ctx.reload_rules(crate::exchange::Purpose::Routine)
            .await
            .context("failed to load symbol rules")?;
        Ok(ctx)
    }

    /// Re-read every symbol's rules, for `purpose`.
    pub(super) async fn reload_rules(
        &mut self,
        purpose: crate::exchange::Purpose,
    ) -> Result<(), ExchangeError> {
        let rules = self.exchange.symbol_rules(purpose).await?;
        self.rules = rules.into_iter().map(|r| (r.symbol.clone(), r)).collect();
        Ok(())
    }

    pub(super) async fn mark(
        &mut self,
        symbol: &Symbol,
        freshness: MarkFreshness,
    ) -> Result<Price, ExchangeError> {
        let fresh_for = match freshness {
            MarkFreshness::Recent => MARK_FRESH_FOR,
            MarkFreshness::WithinAMinute => MARK_FRESH_FOR_REDUCING,
        };
        if let Some((p, at)) = self.marks.get(symbol) {
            if at.elapsed() < fresh_for {
                return Ok(*p);
            }
        }
        // Every mark read here may use the weight kept for risk-reducing requests, an
        // open's too: it is awaited inside the executor's one loop, so a routine read held
        // for the next minute would hold every close queued behind it (and the LIMIT IOC
        // fallback, which prices a close, asks for a recent mark). `freshness` chooses only
        // how old a cached mark may be.
        let purpose = crate::exchange::Purpose::ReduceRisk;
        let m = self.exchange.mark_price(symbol, purpose).await?;
        self.marks
            .insert(symbol.clone(), (m.mark_price, Instant::now()));
        Ok(m.mark_price)
    }

    /// May an order of `class` go now? Publishes any phase change the check caused.
    pub(super) fn admit(
        &mut self,
        class: crate::router::core::scheduler::RiskClass,
    ) -> Result<(), Refusal> {
        self.sync_hold();
        if class != crate::router::core::scheduler::RiskClass::Reducing {
            if let Some(reason) = &self.config_hold {
                return Err(Refusal {
                    reason: reason.clone(),
                });
            }
        }
        let admitted = self.breaker.admit(class, Instant::now());
        self.breaker_journal.publish(&mut self.breaker);
        admitted
    }

    /// Count one order outcome in the breaker and publish any phase change.
    pub(super) fn breaker_record(&mut self, outcome: Outcome) {
        self.breaker.record(outcome, Instant::now());
        self.breaker_journal.publish(&mut self.breaker);
    }

    /// Apply a change of the start-up gate's hold: distress forces the breaker open,
    /// configuration refuses opens by reason, none releases both.
    fn sync_hold(&mut self) {
        let Some(hold) = self.cfg.opens_hold.clone() else {
            return;
        };
        let generation = hold.generation();
        if generation == self.hold_seen {
            return;
        }
        self.hold_seen = generation;
        let now = Instant::now();
        let held = hold.current();
        match &held {
            Some(h) if h.distress => {
                self.config_hold = None;
                self.breaker.force_open(h.reason.clone(), h.evidence, now);
            }
            Some(h) => {
                self.config_hold = Some(h.reason.clone());
                self.breaker.release(now);
            }
            None => {
                self.config_hold = None;
                self.breaker.release(now);
            }
        }
        tracing::warn!(held = ?held.as_ref().map(|h| &h.reason), "start-up gate hold on opens changed");
        self.breaker_journal.publish(&mut self.breaker);
    }

    pub(super) fn now_ms() -> i64 {
        Utc::now().timestamp_millis()
    }

    pub(super) fn time_of_ms(ms: i64) -> Option<DateTime<Utc>> {
        DateTime::<Utc>::from_timestamp_millis(ms)
    }
}
