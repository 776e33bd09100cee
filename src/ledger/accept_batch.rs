//! Concurrent opens accepted together: every open asking for the fast path
//! (`accept_open.rs`) is queued to one task per ledger handle, which stores everything
//! queued meanwhile in one statement (`sluice_accept_opens`): one opens lock, one commit
//! for the batch instead of one each, while the next batch gathers. Under 8 concurrent
//! clients the opens no longer wait for each other's commit and lock hand-over one by one.
//!
//! Invariants:
//! - the statement is the only writer here and decides each open exactly as the single
//!   accept did (halt, one-way rule, budget in arrival order, key used once); an open it
//!   does not store gets `None` and takes the full path, which decides alone and words
//!   the refusal;
//! - a failed statement (Postgres away, a bad row) stores nothing and answers every open
//!   of the batch `None`: each takes the full path, so one bad open loses nothing of the
//!   others and every caller gets its own answer;
//! - one batch is in flight per ledger handle; opens of another process still serialise
//!   on the opens lock as before;
//! - a caller that stops waiting leaves its open to the batch: it is stored or not as the
//!   statement decides (as when a caller dropped the single statement in flight).

use std::collections::HashMap;
use std::sync::OnceLock;

use rust_decimal::Decimal;
use sqlx::PgPool;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::sync::oneshot;

use super::accept_open::OpenAsk;
use super::budget::OPEN_BUDGET_LOCK;
use super::control::HALT_KEY;
use super::error::LedgerError;
use super::model::IntentRow;

/// At most this many opens go into one statement.
const MAX_BATCH: usize = 64;

/// The queue of one ledger handle (shared by its clones); its task starts at first use.
#[derive(Default)]
pub(crate) struct AcceptQueue {
    to: OnceLock<UnboundedSender<Ask>>,
}

impl std::fmt::Debug for AcceptQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AcceptQueue")
    }
}

struct Ask {
    open: OpenAsk,
    allocation: Decimal,
    reply: oneshot::Sender<Option<IntentRow>>,
}

impl AcceptQueue {
    /// Store `open` `accepted` with the opens queued meanwhile, if it passes every check;
    /// `None`: it did not (or the batch failed), the full path decides.
    pub(super) async fn accept(
        &self,
        pool: &PgPool,
        open: OpenAsk,
        allocation: Decimal,
    ) -> Option<IntentRow> {
        let to = self.to.get_or_init(|| {
            let (tx, rx) = unbounded_channel();
            tokio::spawn(run(pool.clone(), rx));
            tx
        });
        let (reply, answer) = oneshot::channel();
        let ask = Ask {
            open,
            allocation,
            reply,
        };
        // The task is gone (its runtime ended): the full path stores the open.
        to.send(ask).ok()?;
        answer.await.ok().flatten()
    }
}

/// Take what is queued (same allocation, at most [`MAX_BATCH`]) and store it, until every
/// handle of the ledger is dropped.
async fn run(pool: PgPool, mut rx: UnboundedReceiver<Ask>) {
    let mut next: Option<Ask> = None;
    loop {
        let first = match next.take() {
            Some(a) => a,
            None => match rx.recv().await {
                Some(a) => a,
                None => return,
            },
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(a) if a.allocation == batch[0].allocation => batch.push(a),
                Ok(a) => {
                    next = Some(a);
                    break;
                }
                Err(_) => break,
            }
        }
        store(&pool, batch).await;
    }
}

/// One statement for `batch`; each open is answered with its stored row or `None`.
async fn store(pool: &PgPool, batch: Vec<Ask>) {
    match accept_opens(pool, &batch).await {
        Ok(rows) => {
            let mut stored: HashMap<String, IntentRow> = rows
                .into_iter()
                .map(|r| (r.idempotency_key.clone(), r))
                .collect();
            for ask in batch {
                // A key asked twice in the batch was stored once: the first asker gets
                // the row, the other one finds it as a replay in the full path.
                let _ = ask.reply.send(stored.remove(&ask.open.key));
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, opens = batch.len(), "accepting opens together failed; each takes the full path");
            for ask in batch {
                let _ = ask.reply.send(None);
            }
        }
    }
}

async fn accept_opens(pool: &PgPool, batch: &[Ask]) -> Result<Vec<IntentRow>, LedgerError> {
    let col = |f: fn(&OpenAsk) -> String| batch.iter().map(|a| f(&a.open)).collect::<Vec<_>>();
    let rows = sqlx::query(
        "SELECT * FROM sluice_accept_opens(sluice_account(), $1, $2, $3, $4, $5, $6, $7, $8,
             $9, $10, $11, $12, $13)",
    )
    .bind(OPEN_BUDGET_LOCK)
    .bind(HALT_KEY)
    .bind(batch[0].allocation)
    .bind(col(|o| o.venue.clone()))
    .bind(col(|o| o.symbol.clone()))
    .bind(col(|o| o.direction.to_string()))
    .bind(col(|o| o.leg.to_string()))
    .bind(col(|o| o.mode.to_string()))
    .bind(batch.iter().map(|a| a.open.quantity).collect::<Vec<_>>())
    .bind(batch.iter().map(|a| a.open.notional).collect::<Vec<_>>())
    .bind(col(|o| o.key.clone()))
    .bind(col(|o| o.reason.clone()))
    .bind(
        batch
            .iter()
            .map(|a| a.open.protection.clone())
            .collect::<Vec<_>>(),
    )
    .fetch_all(pool)
    .await?;
    rows.iter().map(IntentRow::decode).collect()
}
