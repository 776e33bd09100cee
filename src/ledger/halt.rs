//! The kill switch: the persistent halt flag (`control_flags`, key `halt`) and the
//! flatten intents that latch it.
//!
//! Invariants:
//! - the halt flag survives restarts (it is a row, not memory); halting an already
//!   halted ledger keeps who set it first and when;
//! - halting and flattening take the same advisory lock as open intents and cancel the
//!   `accepted` opens in their own transaction (one `intent_events` row each), so an
//!   open stored before the halt never starts; an open stored after it is caught by the
//!   caller's re-check (`cancel_if_accepted`);
//! - a flatten sets the halt and stores its intent in ONE transaction; the halt stays
//!   latched while a flatten intent is `accepted` or `working` (resume is refused).
//!
//! # What the executor must do with this
//! - read [`Ledger::halt_state`] before sending every risk-increasing chunk, and stop
//!   (leaving the rest unsent, the intent `cancelled` with the halt as cause) when set;
//! - take `flatten` intents first: cancel sluice's open orders (of the symbol, or all),
//!   then close every open position (of the symbol, or all) with reduce-only orders;
//! - move the flatten intent to `done` only once the exchange reports the positions
//!   flat; until then the halt cannot be cleared.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, Row};

use super::budget::lock_opens;
use super::error::LedgerError;
use super::ids::IntentId;
use super::intent_checks::NewIntent;
use super::intents::IntentCreated;
use super::Ledger;
use crate::domain::{IntentKind, IntentState};

use super::control::HALT_KEY;

/// The SQL condition "this account is halted", for a statement that must not write while
/// it is (the risk-increasing order insert, `orders.rs`); `$key` is the placeholder
/// bound to [`HALT_KEY`]. A missing flag or `halted: false` is clear, as [`read_halt`]
/// reads it.
macro_rules! halted_sql {
    ($key:literal) => {
        concat!(
            "EXISTS (SELECT 1 FROM control_flags WHERE key = ",
            $key,
            " AND account_id = sluice_account() \
             AND value -> 'halted' IS DISTINCT FROM 'false'::jsonb)"
        )
    };
}
pub(super) use halted_sql;

/// The halt flag as stored. `since` and `actor` say who halted and when (or, after a
/// resume, who resumed and when).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HaltState {
    pub halted: bool,
    pub reason: String,
    pub actor: String,
    pub since: Option<DateTime<Utc>>,
    /// Flatten intents stored while this halt was set (the executor's latch).
    pub flatten_intents: Vec<IntentId>,
}

impl HaltState {
    fn never_set() -> Self {
        HaltState {
            halted: false,
            reason: String::new(),
            actor: String::new(),
            since: None,
            flatten_intents: Vec::new(),
        }
    }

    /// The sentence an operator reads when an open is refused.
    pub fn refusal(&self) -> String {
        let since = self.since.map(|t| t.to_rfc3339()).unwrap_or_default();
        format!(
            "trading is halted (set by {} at {since}: {}); opens are refused until `sluice resume`",
            self.actor, self.reason
        )
    }
}

/// The stored JSON of the flag (actor and time live in their own columns).
#[derive(Serialize, Deserialize)]
struct HaltValue {
    halted: bool,
    reason: String,
    #[serde(default)]
    flatten_intents: Vec<i64>,
}

/// What a halt did: the flag now, and the accepted opens it cancelled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HaltOutcome {
    pub halt: HaltState,
    pub cancelled_opens: Vec<IntentId>,
}

/// What a resume did, or why it did not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResumeOutcome {
    Resumed {
        halt: HaltState,
        cancelled_flattens: Vec<IntentId>,
    },
    /// Flatten intents are still to be confirmed flat: the halt stays latched.
    FlattenPending { intents: Vec<IntentId> },
}

impl Ledger {
    pub async fn halt_state(&self) -> Result<HaltState, LedgerError> {
        let mut conn = self.pool.acquire().await?;
        read_halt(&mut conn, false).await
    }

    /// Set the halt (kept as is when already set) and cancel the opens not yet started.
    pub async fn halt(&self, actor: &str, reason: &str) -> Result<HaltOutcome, LedgerError> {
        check_actor(actor)?;
        let mut tx = self.pool.begin().await?;
        lock_opens(&mut tx).await?;
        let halt = set_halt(&mut tx, actor, reason, None).await?;
        let cancelled_opens = cancel_accepted(&mut tx, "open", &halt.refusal()).await?;
        tx.commit().await?;
        Ok(HaltOutcome {
            halt,
            cancelled_opens,
        })
    }

    /// Clear the halt unless a flatten is still latched. `force` cancels flattens that
    /// never started (`accepted`); a `working` flatten always keeps the latch.
    pub async fn resume(&self, actor: &str, force: bool) -> Result<ResumeOutcome, LedgerError> {
        check_actor(actor)?;
        let mut tx = self.pool.begin().await?;
        lock_opens(&mut tx).await?;
        read_halt(&mut tx, true).await?;
        let pending = pending_flattens(&mut tx).await?;
        let working = pending.iter().any(|(_, s)| *s == IntentState::Working);
        if !pending.is_empty() && (!force || working) {
            return Ok(ResumeOutcome::FlattenPending {
                intents: pending.into_iter().map(|(id, _)| id).collect(),
            });
        }
        let cause = format!("resumed with --force by {actor}");
        let cancelled_flattens = cancel_accepted(&mut tx, "flatten", &cause).await?;
        let value = HaltValue {
            halted: false,
            reason: String::new(),
            flatten_intents: Vec::new(),
        };
        let halt = write_halt(&mut tx, &value, actor).await?;
        tx.commit().await?;
        Ok(ResumeOutcome::Resumed {
            halt,
            cancelled_flattens,
        })
    }

    /// Store a flatten intent and set the halt naming it, in one transaction. A replayed
    /// idempotency key returns the first intent and changes nothing.
    pub async fn flatten(
        &self,
        new: &NewIntent,
        actor: &str,
    ) -> Result<(IntentCreated, HaltOutcome), LedgerError> {
        check_actor(actor)?;
        if new.spec.kind() != IntentKind::Flatten {
            return Err(LedgerError::invalid(
                "kind",
                "a flatten stores kind flatten",
            ));
        }
        let mut tx = self.pool.begin().await?;
        lock_opens(&mut tx).await?;
        let created =
            super::intent_control::insert_or_replay(&mut tx, new, IntentState::Accepted, None)
                .await?;
        if created.replayed {
            // A retried request: the first one already halted. If an operator has
            // resumed since, a retry must not halt again.
            let halt = read_halt(&mut tx, false).await?;
            tx.commit().await?;
            let outcome = HaltOutcome {
                halt,
                cancelled_opens: Vec::new(),
            };
            return Ok((created, outcome));
        }
        let halt = set_halt(&mut tx, actor, &new.reason, Some(created.intent.id)).await?;
        let cancelled_opens = cancel_accepted(&mut tx, "open", &halt.refusal()).await?;
        tx.commit().await?;
        let outcome = HaltOutcome {
            halt,
            cancelled_opens,
        };
        Ok((created, outcome))
    }
}

fn check_actor(actor: &str) -> Result<(), LedgerError> {
    if actor.trim().is_empty() {
        return Err(LedgerError::invalid("actor", "is empty"));
    }
    Ok(())
}

async fn read_halt(conn: &mut PgConnection, lock: bool) -> Result<HaltState, LedgerError> {
    let sql = if lock {
        "SELECT value, actor, updated_at FROM control_flags WHERE key = $1 \
         AND account_id = sluice_account() FOR UPDATE"
    } else {
        "SELECT value, actor, updated_at FROM control_flags WHERE key = $1 \
         AND account_id = sluice_account()"
    };
    let Some(row) = sqlx::query(sql).bind(HALT_KEY).fetch_optional(conn).await? else {
        return Ok(HaltState::never_set());
    };
    let value: serde_json::Value = row.try_get("value")?;
    let value: HaltValue = serde_json::from_value(value).map_err(|e| LedgerError::Corrupt {
        table: "control_flags",
        row_id: 0,
        reason: format!("key {HALT_KEY}: {e}"),
    })?;
    Ok(HaltState {
        halted: value.halted,
        reason: value.reason,
        actor: row.try_get("actor")?,
        since: Some(row.try_get("updated_at")?),
        flatten_intents: value.flatten_intents.into_iter().map(IntentId).collect(),
    })
}

/// Set the halt, keeping the first setter when already halted, and add `flatten`.
async fn set_halt(
    conn: &mut PgConnection,
    actor: &str,
    reason: &str,
    flatten: Option<IntentId>,
) -> Result<HaltState, LedgerError> {
    let current = read_halt(conn, true).await?;
    if current.halted && flatten.is_none() {
        return Ok(current);
    }
    let (reason, actor) = if current.halted {
        (current.reason.clone(), current.actor.as_str())
    } else {
        (reason.to_string(), actor)
    };
    let mut flatten_intents: Vec<i64> = if current.halted {
        current.flatten_intents.iter().map(|i| i.get()).collect()
    } else {
        Vec::new()
    };
    flatten_intents.extend(flatten.map(IntentId::get));
    let value = HaltValue {
        halted: true,
        reason,
        flatten_intents,
    };
    let mut halt = write_halt(conn, &value, actor).await?;
    if current.halted {
        // Adding a flatten to a standing halt does not move when it was set.
        halt.since = current.since;
    }
    Ok(halt)
}

async fn write_halt(
    conn: &mut PgConnection,
    value: &HaltValue,
    actor: &str,
) -> Result<HaltState, LedgerError> {
    let json =
        serde_json::to_value(value).map_err(|e| LedgerError::invalid("halt", e.to_string()))?;
    let at: DateTime<Utc> = sqlx::query_scalar(
        "INSERT INTO control_flags (key, value, actor) VALUES ($1, $2, $3)
         ON CONFLICT (account_id, key) DO UPDATE SET value = EXCLUDED.value, actor = EXCLUDED.actor, updated_at = now()
         RETURNING updated_at",
    )
    .bind(HALT_KEY)
    .bind(json)
    .bind(actor)
    .fetch_one(conn)
    .await?;
    Ok(HaltState {
        halted: value.halted,
        reason: value.reason.clone(),
        actor: actor.to_string(),
        since: Some(at),
        flatten_intents: value
            .flatten_intents
            .iter()
            .copied()
            .map(IntentId)
            .collect(),
    })
}

async fn pending_flattens(
    conn: &mut PgConnection,
) -> Result<Vec<(IntentId, IntentState)>, LedgerError> {
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, state FROM intents WHERE kind = 'flatten' AND state IN ('accepted', 'working') \
         AND account_id = sluice_account() ORDER BY id",
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(id, s)| Ok((IntentId(id), IntentState::parse(&s)?)))
        .collect()
}

async fn cancel_accepted(
    conn: &mut PgConnection,
    kind: &'static str,
    cause: &str,
) -> Result<Vec<IntentId>, LedgerError> {
    let filter = match kind {
        "open" => "kind = 'open' AND account_id = sluice_account()",
        _ => "kind = 'flatten' AND account_id = sluice_account()",
    };
    super::intent_control::cancel_where(conn, filter, None, cause).await
}
