//! Intents: stored before they are acknowledged, once per idempotency key, with the
//! budget and one-way checks for opens done in the same transaction.
//!
//! Opens take a transaction-scoped advisory lock first, so two concurrent opens are
//! checked one after the other against the same budget. An open that passes is stored
//! by one statement that holds the lock only on the server (`accept_open.rs`); a
//! refused open is stored as `failed` with the refusal as its error, and nothing else
//! is written.

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

use super::budget;
use super::decode::Decoder;
use super::error::LedgerError;
use super::fill_rows::FillRow;
use super::ids::IntentId;
use super::intent_checks::{refusal_error, resolve_target, NewIntent, Target};
use super::model::{IntentRow, OrderRow};
use super::Ledger;
use crate::domain::{Direction, IntentKind, IntentState, Qty, Symbol, Usdt};

/// The stored intent; `replayed` is true when the idempotency key was already used
/// and this is the FIRST intent stored under it (whatever its state now).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntentCreated {
    pub intent: IntentRow,
    pub replayed: bool,
    /// True when an open was accepted under the opens lock with the halt clear: a halt
    /// set after it takes the same lock and cancels it while it is still `accepted`, so
    /// the caller need not look at the halt again.
    #[serde(default)]
    pub halt_clear: bool,
}

/// An intent with the orders that carry it out and their fills (API/CLI read model).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntentView {
    pub intent: IntentRow,
    pub orders: Vec<OrderRow>,
    pub fills: Vec<FillRow>,
}

impl Ledger {
    /// Store `new` (see the module doc). A refusal returns `Err` after storing the
    /// refused intent as `failed`; a replayed key returns the first intent.
    #[tracing::instrument(skip(self, new), fields(kind = new.spec.kind().as_str(), key = %new.idempotency_key))]
    pub async fn create_intent(
        &self,
        new: &NewIntent,
        allocation: Usdt,
    ) -> Result<IntentCreated, LedgerError> {
        self.create_intent_protected(new, allocation, None).await
    }

    /// An open stored `accepted` in one statement when nothing stands in the way: it sees
    /// the halt clear, the key unused and the budget enough on the server
    /// (`accept_open.rs`). `None`: something does, and [`Self::create_intent_protected`]
    /// decides and words it (the control API reads the halt flag in between).
    pub(crate) async fn accept_open_at_once(
        &self,
        new: &NewIntent,
        allocation: Usdt,
        protection: Option<&crate::domain::Protection>,
    ) -> Result<Option<IntentCreated>, LedgerError> {
        new.check_storable()?;
        let _writing = self.intent_write();
        let accepted = self.accept_together(new, allocation, protection).await?;
        Ok(accepted.map(|intent| {
            self.hand_off(&intent);
            IntentCreated {
                intent,
                replayed: false,
                halt_clear: true,
            }
        }))
    }

    /// `new` stored `accepted` with the opens queued meanwhile when it passes every check
    /// at once (`accept_batch.rs`); `None`: not an open, or something stands in the way.
    async fn accept_together(
        &self,
        new: &NewIntent,
        allocation: Usdt,
        protection: Option<&crate::domain::Protection>,
    ) -> Result<Option<IntentRow>, LedgerError> {
        let Some(ask) = super::accept_open::open_ask(new, protection)? else {
            return Ok(None);
        };
        Ok(self.accepts.accept(&self.pool, ask, allocation.get()).await)
    }

    /// [`Self::create_intent`], storing what the open asked to be protected by
    /// (`intent_protection`) in the same transaction, so the executor never sees the
    /// open without it.
    pub(crate) async fn create_intent_protected(
        &self,
        new: &NewIntent,
        allocation: Usdt,
        protection: Option<&crate::domain::Protection>,
    ) -> Result<IntentCreated, LedgerError> {
        self.create_intent_with(new, allocation, protection, None)
            .await
    }

    /// [`Self::create_intent_protected`] with the intent's LIMIT terms (`limit_terms`,
    /// written by the same INSERT). A limit intent always takes the full path: the
    /// one-statement accept stores MARKET intents only.
    pub async fn create_intent_with(
        &self,
        new: &NewIntent,
        allocation: Usdt,
        protection: Option<&crate::domain::Protection>,
        limit: Option<&crate::domain::LimitTerms>,
    ) -> Result<IntentCreated, LedgerError> {
        new.check_storable()?;
        let _writing = self.intent_write();
        if limit.is_none() {
            if let Some(intent) = self.accept_together(new, allocation, protection).await? {
                self.hand_off(&intent);
                return Ok(IntentCreated {
                    intent,
                    replayed: false,
                    halt_clear: true,
                });
            }
        }
        let mut tx = self.pool.begin().await?;
        // A replayed key is answered without queueing behind the opens lock; a first use
        // racing this one is caught by the key's unique index at the insert below.
        if let Some(first) = intent_by_key(&mut tx, &new.idempotency_key).await? {
            tx.commit().await?;
            return Ok(IntentCreated {
                intent: first,
                replayed: true,
                halt_clear: false,
            });
        }
        if new.spec.kind() == IntentKind::Open {
            budget::lock_opens(&mut tx).await?;
        }
        let target = resolve_target(&mut tx, new, allocation).await?;
        let (state, error) = match &target.refusal {
            None => (IntentState::Accepted, None),
            Some(r) => (IntentState::Failed, Some(refusal_error(r, IntentId(0)))),
        };
        let terms = limit
            .map(serde_json::to_value)
            .transpose()
            .map_err(|e| LedgerError::invalid("limit_terms", e.to_string()))?;
        let Some(intent) = insert_intent(
            &mut tx,
            new,
            &target,
            (state, error.map(|e| e.to_string())),
            terms,
        )
        .await?
        else {
            // Another transaction stored the same key first: answer with its intent.
            let first = intent_by_key(&mut tx, &new.idempotency_key).await?;
            tx.commit().await?;
            let first = first.ok_or_else(|| LedgerError::not_found("intent by key"))?;
            return Ok(IntentCreated {
                intent: first,
                replayed: true,
                halt_clear: false,
            });
        };
        if let Some(p) = protection.filter(|p| !p.is_empty()) {
            super::protective::insert_protection(&mut tx, intent.id, p).await?;
        }
        tx.commit().await?;
        match target.refusal {
            None => {
                self.hand_off(&intent);
                Ok(IntentCreated {
                    intent,
                    replayed: false,
                    halt_clear: false,
                })
            }
            Some(r) => Err(refusal_error(&r, intent.id)),
        }
    }

    /// Move intent `id` to `to`, writing an `intent_events` row in the same transaction.
    /// Setting the state it already has is a no-op; a terminal state is final.
    pub async fn set_intent_state(
        &self,
        id: IntentId,
        to: IntentState,
        cause: &str,
    ) -> Result<IntentRow, LedgerError> {
        self.transition(id, to, cause, None).await
    }

    /// End intent `id` `done` although the exchange left `shortfall` of it undone
    /// (outcome `done_partial`): something filled, so it must not read as `failed`;
    /// `reason` says why the rest could not be sent and is kept as its `error`.
    pub(crate) async fn finish_intent_short(
        &self,
        id: IntentId,
        shortfall: Qty,
        reason: &str,
    ) -> Result<IntentRow, LedgerError> {
        if shortfall.is_zero() {
            return self.transition(id, IntentState::Done, reason, None).await;
        }
        self.transition(id, IntentState::Done, reason, Some(shortfall))
            .await
    }

    async fn transition(
        &self,
        id: IntentId,
        to: IntentState,
        cause: &str,
        shortfall: Option<Qty>,
    ) -> Result<IntentRow, LedgerError> {
        let mut tx = self.pool.begin().await?;
        let row = lock_intent_row(&mut tx, id).await?;
        let current = IntentRow::decode(&row)?;
        if current.state == to {
            return Ok(current);
        }
        if current.state.is_terminal() || to == IntentState::Accepted {
            return Err(LedgerError::InvalidTransition {
                intent_id: id,
                from: current.state.as_str(),
                to: to.as_str(),
            });
        }
        let error = (to == IntentState::Failed || shortfall.is_some()).then_some(cause);
        let row = sqlx::query(
            "UPDATE intents SET state = $2, error = COALESCE($3, error), shortfall = $4,
                    updated_at = now()
             WHERE id = $1 RETURNING *",
        )
        .bind(id)
        .bind(to.as_str())
        .bind(error)
        .bind(shortfall.map(Qty::get))
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO intent_events (intent_id, from_state, to_state, cause) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(current.state.as_str())
        .bind(to.as_str())
        .bind(cause)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let row = IntentRow::decode(&row)?;
        if let Some(outcome) = row.outcome() {
            let took = (row.updated_at - row.created_at)
                .to_std()
                .unwrap_or_default();
            crate::metrics::record_intent_finished(row.kind(), outcome, took);
        }
        Ok(row)
    }

    pub async fn intent(&self, id: IntentId) -> Result<Option<IntentRow>, LedgerError> {
        sqlx::query("SELECT * FROM intents WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| IntentRow::decode(&r))
            .transpose()
    }

    /// The most recent intents, newest first (at most `limit`, capped at 1000).
    pub async fn recent_intents(&self, limit: i64) -> Result<Vec<IntentRow>, LedgerError> {
        sqlx::query(
            "SELECT * FROM intents WHERE account_id = sluice_account() ORDER BY id DESC LIMIT $1",
        )
        .bind(limit.clamp(0, 1000))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(IntentRow::decode)
        .collect()
    }

    /// The state changes of intent `id`, oldest first: (from, to, cause).
    pub async fn intent_events(
        &self,
        id: IntentId,
    ) -> Result<Vec<(IntentState, IntentState, String)>, LedgerError> {
        let rows = sqlx::query("SELECT * FROM intent_events WHERE intent_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let d = Decoder::new(r, "intent_events");
                Ok((
                    d.intent_state("from_state")?,
                    d.intent_state("to_state")?,
                    d.text("cause")?,
                ))
            })
            .collect()
    }

    /// The intent with its orders and their fills, or None.
    pub async fn intent_view(&self, id: IntentId) -> Result<Option<IntentView>, LedgerError> {
        let Some(intent) = self.intent(id).await? else {
            return Ok(None);
        };
        let orders = self.orders_of_intent(id).await?;
        let fills = self.fills_of_intent(id).await?;
        Ok(Some(IntentView {
            intent,
            orders,
            fills,
        }))
    }
}

/// Intent `id`'s row, locked until the surrounding transaction ends (a missing id is
/// `NotFound` naming it).
pub(super) async fn lock_intent_row(
    conn: &mut PgConnection,
    id: IntentId,
) -> Result<sqlx::postgres::PgRow, LedgerError> {
    sqlx::query("SELECT * FROM intents WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| LedgerError::not_found(format!("intent #{id}")))
}

pub(super) async fn intent_by_key(
    conn: &mut PgConnection,
    key: &str,
) -> Result<Option<IntentRow>, LedgerError> {
    sqlx::query("SELECT * FROM intents WHERE idempotency_key = $1")
        .bind(key)
        .fetch_optional(conn)
        .await?
        .map(|r| IntentRow::decode(&r))
        .transpose()
}

/// The one INSERT of an intent row; `None` when the idempotency key already exists.
pub(super) async fn insert_intent(
    conn: &mut PgConnection,
    new: &NewIntent,
    target: &Target,
    (state, error): (IntentState, Option<String>),
    limit_terms: Option<serde_json::Value>,
) -> Result<Option<IntentRow>, LedgerError> {
    sqlx::query(
        "INSERT INTO intents (kind, venue, symbol, direction, position_mode, quantity,
             notional_usdt, position_id, idempotency_key, reason, state, error, limit_terms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (idempotency_key) DO NOTHING RETURNING *",
    )
    .bind(new.spec.kind().as_str())
    .bind(&new.venue)
    .bind(target.symbol.as_ref().map(Symbol::as_str))
    .bind(target.direction.map(Direction::as_str))
    .bind(new.position_mode.as_str())
    .bind(new.spec.quantity().map(Qty::get))
    .bind(target.notional)
    .bind(target.position_id)
    .bind(&new.idempotency_key)
    .bind(&new.reason)
    .bind(state.as_str())
    .bind(error)
    .bind(limit_terms)
    .fetch_optional(conn)
    .await?
    .map(|r| IntentRow::decode(&r))
    .transpose()
}
