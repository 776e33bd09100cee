//! Where the time goes from a stored intent to its first order on the wire, read back
//! from the ledger's own timestamps (one clock: the bench, Postgres and the daemon run on
//! the same machine). Used by `e2e_daemon -- latency` only.
//!
//! Stages of one intent, each from the previous one:
//! - `created`: the intent's `created_at` (`now()` of the writer's transaction);
//! - `committed`: the writer saw its commit acknowledged (the bench's clock);
//! - `taken up`: the executor's take-up statement (`intent_events.at` of accepted →
//!   working, `now()` of that statement);
//! - `order row`: the first order's insert (`orders.created_at`);
//! - `sent`: its first attempt handed to the transport (`order_attempts.sent_at`).

use chrono::{DateTime, Utc};
use sluice::ledger::{IntentId, Ledger};

/// The stage timestamps of one intent (see the module doc).
pub(crate) struct Stages {
    pub created: DateTime<Utc>,
    pub committed: DateTime<Utc>,
    pub taken_up: DateTime<Utc>,
    pub order_row: DateTime<Utc>,
    pub sent: DateTime<Utc>,
}

/// The executor's stages of `id`, read from the ledger; the writer's two are given.
pub(crate) async fn read(
    ledger: &Ledger,
    id: IntentId,
    created: DateTime<Utc>,
    committed: DateTime<Utc>,
    sent: DateTime<Utc>,
) -> anyhow::Result<Stages> {
    let (taken_up, order_row): (DateTime<Utc>, DateTime<Utc>) = sqlx::query_as(
        "SELECT (SELECT at FROM intent_events WHERE intent_id = $1 AND to_state = 'working'
                 ORDER BY id LIMIT 1),
                (SELECT created_at FROM orders WHERE intent_id = $1 ORDER BY id LIMIT 1)",
    )
    .bind(id.get())
    .fetch_one(ledger.pool())
    .await?;
    Ok(Stages {
        created,
        committed,
        taken_up,
        order_row,
        sent,
    })
}

fn ms(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_microseconds().unwrap_or(0) as f64 / 1000.0
}

fn p50(v: Vec<f64>) -> f64 {
    pct(v, 50.0)
}

/// The `p`-th percentile (nearest rank) of `v`.
fn pct(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v.get(rank.clamp(1, v.len().max(1)) - 1)
        .copied()
        .unwrap_or(0.0)
}

/// The whole figure (`samples`: created → sent, ms) and the stages of opens and closes,
/// then the slowest intents stage by stage (where a p99 goes).
pub(crate) fn print_all(how: &str, samples: &[f64], traced: &[Vec<Stages>; 2]) {
    println!(
        "intent accepted -> first order on the wire (50 intents, {how}): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        pct(samples.to_vec(), 50.0),
        pct(samples.to_vec(), 99.0),
        samples.iter().copied().fold(0.0, f64::max)
    );
    print("opens", &traced[0]);
    print("closes", &traced[1]);
    let mut all: Vec<&Stages> = traced.iter().flatten().collect();
    all.sort_by(|a, b| ms(b.created, b.sent).total_cmp(&ms(a.created, a.sent)));
    for s in all.iter().take(3) {
        println!(
            "  slow: {:.2} ms = writer's commit {:.2}; commit -> taken up {:.2}; taken up -> order row {:.2}; order row -> sent {:.2}",
            ms(s.created, s.sent),
            ms(s.created, s.committed),
            ms(s.committed, s.taken_up),
            ms(s.taken_up, s.order_row),
            ms(s.order_row, s.sent),
        );
    }
}

/// One line per kind: the p50 of each stage, from the previous one.
fn print(label: &str, all: &[Stages]) {
    let stage = |f: &dyn Fn(&Stages) -> f64| p50(all.iter().map(f).collect());
    println!(
        "  {label} ({} intents), p50 per stage: writer's commit {:.2} ms; commit -> taken up {:.2} ms; taken up -> order row {:.2} ms; order row -> sent {:.2} ms; commit -> sent {:.2} ms",
        all.len(),
        stage(&|s| ms(s.created, s.committed)),
        stage(&|s| ms(s.committed, s.taken_up)),
        stage(&|s| ms(s.taken_up, s.order_row)),
        stage(&|s| ms(s.order_row, s.sent)),
        stage(&|s| ms(s.committed, s.sent)),
    );
}
