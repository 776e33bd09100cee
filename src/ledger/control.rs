//! Persistent operator state: control flags (e.g. the halt flag, which must survive
//! a restart) and the per-symbol MARKET quantity caps learned from -4005 (seed 000),
//! so a restart does not rediscover a hidden cap by failing a close again.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::LedgerError;
use super::Ledger;
use crate::domain::{Qty, Symbol};

/// The `control_flags` key of the halt flag (read and written by `halt.rs`; the
/// one-statement writers `accept_open.rs` and `orders.rs` check it in SQL).
pub(super) const HALT_KEY: &str = "halt";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct ControlFlag {
    pub key: String,
    pub value: serde_json::Value,
    pub updated_at: DateTime<Utc>,
    pub actor: String,
}

/// A MARKET quantity cap the exchange enforced without listing it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SymbolCap {
    pub venue: String,
    pub symbol: Symbol,
    pub learned_market_max_qty: Qty,
    pub learned_at: DateTime<Utc>,
    pub reason: String,
    pub retry_after: Option<DateTime<Utc>>,
    /// The published MARKET maxQty the exchange undercut (None for caps stored before
    /// it was recorded).
    pub published_market_max_qty: Option<Qty>,
}

/// What a -4005 taught about `symbol`, as [`Ledger::record_symbol_cap`] stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSymbolCap<'a> {
    pub symbol: &'a Symbol,
    pub max_qty: Qty,
    pub published_max_qty: Option<Qty>,
    pub reason: &'a str,
    pub retry_after: Option<DateTime<Utc>>,
}

type CapTuple = (
    String,
    String,
    rust_decimal::Decimal,
    DateTime<Utc>,
    String,
    Option<DateTime<Utc>>,
    Option<rust_decimal::Decimal>,
);

impl Ledger {
    /// Set flag `key` to `value` (the last writer wins; `actor` says who).
    pub async fn set_control_flag(
        &self,
        key: &str,
        value: &serde_json::Value,
        actor: &str,
    ) -> Result<(), LedgerError> {
        if key.trim().is_empty() || actor.trim().is_empty() {
            return Err(LedgerError::invalid(
                "key",
                "a flag needs a key and an actor",
            ));
        }
        sqlx::query(
            "INSERT INTO control_flags (key, value, actor) VALUES ($1, $2, $3)
             ON CONFLICT (account_id, key) DO UPDATE SET value = EXCLUDED.value, actor = EXCLUDED.actor, updated_at = now()",
        )
        .bind(key)
        .bind(value)
        .bind(actor)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn control_flag(&self, key: &str) -> Result<Option<ControlFlag>, LedgerError> {
        Ok(sqlx::query_as(
            "SELECT key, value, updated_at, actor FROM control_flags \
                 WHERE key = $1 AND account_id = sluice_account()",
        )
        .bind(key)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Remember the cap learned for `symbol`; a newer lesson replaces an older one.
    pub async fn record_symbol_cap(
        &self,
        venue: &str,
        cap: &NewSymbolCap<'_>,
    ) -> Result<(), LedgerError> {
        if cap.max_qty.is_zero() {
            return Err(LedgerError::invalid(
                "learned_market_max_qty",
                "a cap of zero would forbid every order",
            ));
        }
        sqlx::query(
            "INSERT INTO symbol_caps (venue, symbol, learned_market_max_qty, reason, retry_after,
                 published_market_max_qty)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (venue, symbol) DO UPDATE SET learned_market_max_qty = EXCLUDED.learned_market_max_qty,
                 reason = EXCLUDED.reason, retry_after = EXCLUDED.retry_after, learned_at = now(),
                 published_market_max_qty = EXCLUDED.published_market_max_qty",
        )
        .bind(venue)
        .bind(cap.symbol.as_str())
        .bind(cap.max_qty.get())
        .bind(cap.reason)
        .bind(cap.retry_after)
        .bind(cap.published_max_qty.map(|q| q.get()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn symbol_caps(&self, venue: &str) -> Result<Vec<SymbolCap>, LedgerError> {
        let rows: Vec<CapTuple> = sqlx::query_as(
            "SELECT venue, symbol, learned_market_max_qty, learned_at, reason, retry_after,
                    published_market_max_qty
             FROM symbol_caps WHERE venue = $1 ORDER BY symbol",
        )
        .bind(venue)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(
                |(venue, symbol, max, learned_at, reason, retry_after, published)| {
                    Ok(SymbolCap {
                        venue,
                        symbol: Symbol::new(&symbol)?,
                        learned_market_max_qty: Qty::new("learned_market_max_qty", max)?,
                        learned_at,
                        reason,
                        retry_after,
                        published_market_max_qty: published
                            .map(|p| Qty::new("published_market_max_qty", p))
                            .transpose()?,
                    })
                },
            )
            .collect()
    }
}
