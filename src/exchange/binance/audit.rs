//! The asynchronous, bounded hand-off of [`AttemptRecord`]s from the send path to storage.
//!
//! Invariants:
//! - `push` never awaits and never blocks on storage: the send path is not slowed.
//! - The buffer holds at most `capacity` records, except that order rows (placements,
//!   cancels) are NEVER dropped: when the buffer is full of them it grows past the bound.
//!   Blocking instead would stall order sending on a slow database, which is exactly
//!   when closes matter most; the growth is bounded by the venue's order rate limit.
//! - When full, the OLDEST non-order row is dropped and counted.
//! - A failed batch write goes back to the front of the queue and is retried.
//! - The writer lingers [`LINGER`] after the first record of a batch arrives, so a burst of
//!   orders costs one INSERT, not one each (the records are in memory either way).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{watch, Notify};

use crate::exchange::audit::AttemptRecord;

/// Where batches of attempts are stored (the ledger implements it with a batch insert).
#[async_trait]
pub trait AttemptSink: Send + Sync {
    async fn write(&self, batch: &[AttemptRecord]) -> anyhow::Result<()>;
}

#[derive(Debug)]
struct Inner {
    queue: Mutex<VecDeque<AttemptRecord>>,
    ready: Notify,
    capacity: usize,
    dropped: AtomicU64,
}

/// Cheap to clone; every clone feeds the same queue.
#[derive(Clone, Debug)]
pub struct AuditBuffer {
    inner: Arc<Inner>,
}

impl AuditBuffer {
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                queue: Mutex::new(VecDeque::with_capacity(capacity.min(4096))),
                ready: Notify::new(),
                capacity: capacity.max(1),
                dropped: AtomicU64::new(0),
            }),
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, VecDeque<AttemptRecord>> {
        // A poisoned lock means a panic elsewhere mid-push; the queue itself is intact.
        match self.inner.queue.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Queue a record without waiting.
    pub fn push(&self, record: AttemptRecord) {
        {
            let mut q = self.queue();
            if q.len() >= self.inner.capacity {
                match q.iter().position(|r| !r.is_order) {
                    Some(i) => {
                        q.remove(i);
                        self.inner.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                    None if !record.is_order => {
                        // Full of order rows: the newcomer is the only droppable one.
                        self.inner.dropped.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    None => {}
                }
            }
            q.push_back(record);
        }
        self.inner.ready.notify_one();
    }

    /// Non-order records dropped so far because the buffer was full.
    pub fn dropped(&self) -> u64 {
        self.inner.dropped.load(Ordering::Relaxed)
    }

    pub fn len(&self) -> usize {
        self.queue().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Take up to `max` records, oldest first.
    pub fn drain(&self, max: usize) -> Vec<AttemptRecord> {
        let mut q = self.queue();
        let n = q.len().min(max);
        q.drain(..n).collect()
    }

    /// Put a batch that failed to store back at the front, in order.
    fn requeue(&self, batch: Vec<AttemptRecord>) {
        let mut q = self.queue();
        for r in batch.into_iter().rev() {
            q.push_front(r);
        }
    }

    async fn wait_ready(&self) {
        self.inner.ready.notified().await;
    }
}

/// Largest batch handed to the sink at once.
const BATCH: usize = 500;

/// How long the writer waits after a record arrives for more to join its batch.
const LINGER: Duration = Duration::from_millis(20);

/// Move records from the buffer to the sink in batches until `shutdown` turns true,
/// then flush what is left (one final attempt).
pub async fn run_audit_writer(
    buffer: AuditBuffer,
    sink: Arc<dyn AttemptSink>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        if *shutdown.borrow() {
            break;
        }
        let batch = buffer.drain(BATCH);
        if batch.is_empty() {
            tokio::select! {
                _ = buffer.wait_ready() => {
                    tokio::select! {
                        _ = tokio::time::sleep(LINGER) => {}
                        _ = shutdown.changed() => {}
                    }
                }
                _ = shutdown.changed() => {}
            }
            continue;
        }
        if let Err(e) = sink.write(&batch).await {
            tracing::warn!(error = %e, rows = batch.len(), "audit write failed; will retry");
            buffer.requeue(batch);
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = shutdown.changed() => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(5));
        } else {
            backoff = Duration::from_millis(100);
        }
    }
    while !buffer.is_empty() {
        let batch = buffer.drain(BATCH);
        if let Err(e) = sink.write(&batch).await {
            tracing::error!(error = %e, left = buffer.len(), "audit flush at shutdown failed");
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use tokio::sync::mpsc;

    fn rec(id: &str, is_order: bool) -> AttemptRecord {
        AttemptRecord {
            venue: "binance-usdm".into(),
            sent_at: Utc::now(),
            exchange_time: None,
            method: "GET".into(),
            endpoint: id.into(),
            params: String::new(),
            is_order,
            symbol: None,
            client_order_id: None,
            http_status: Some(200),
            error_code: None,
            error_msg: None,
            error_class: None,
            latency_ms: 1,
            used_weight_1m: None,
            order_count_10s: None,
            order_count_1m: None,
        }
    }

    #[test]
    fn a_full_buffer_drops_the_oldest_non_order_row_and_counts_it() {
        let b = AuditBuffer::new(3);
        b.push(rec("q1", false));
        b.push(rec("o1", true));
        b.push(rec("q2", false));
        b.push(rec("q3", false));
        let left: Vec<_> = b.drain(10).into_iter().map(|r| r.endpoint).collect();
        assert_eq!(left, ["o1", "q2", "q3"]);
        assert_eq!(b.dropped(), 1);
    }

    #[test]
    fn order_rows_are_never_dropped_even_past_the_bound() {
        let b = AuditBuffer::new(2);
        for i in 0..5 {
            b.push(rec(&format!("o{i}"), true));
        }
        b.push(rec("q", false));
        assert_eq!(b.len(), 5);
        assert_eq!(b.dropped(), 1);
        assert!(b.drain(10).iter().all(|r| r.is_order));
    }

    struct ChannelSink {
        tx: mpsc::UnboundedSender<Vec<AttemptRecord>>,
        fail_first: Mutex<bool>,
    }

    #[async_trait]
    impl AttemptSink for ChannelSink {
        async fn write(&self, batch: &[AttemptRecord]) -> anyhow::Result<()> {
            let fail = std::mem::replace(&mut *self.fail_first.lock().unwrap(), false);
            if fail {
                anyhow::bail!("database unavailable");
            }
            self.tx
                .send(batch.to_vec())
                .map_err(|_| anyhow::anyhow!("closed"))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_writer_retries_a_failed_batch_and_loses_nothing() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let sink = Arc::new(ChannelSink {
            tx,
            fail_first: Mutex::new(true),
        });
        let buffer = AuditBuffer::new(100);
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(run_audit_writer(buffer.clone(), sink, stop_rx));
        buffer.push(rec("a", true));
        buffer.push(rec("b", false));
        let batch = rx.recv().await.unwrap();
        let names: Vec<_> = batch.into_iter().map(|r| r.endpoint).collect();
        assert_eq!(names, ["a", "b"]);
        buffer.push(rec("c", true));
        stop_tx.send(true).unwrap();
        task.await.unwrap();
        let mut rest = Vec::new();
        while let Ok(b) = rx.try_recv() {
            rest.extend(b.into_iter().map(|r| r.endpoint));
        }
        assert_eq!(rest, ["c"]);
    }
}
