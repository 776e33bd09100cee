//! One queue for all work that talks to the exchange: risk-reducing work always goes first.
//!
//! Seed 003: reduce-only closes must be the last line of defence, never stuck behind opens.
//! Invariants:
//! - an item is never handed out before its `not_before` (backoff, Retry-After, bans);
//! - a risk-increasing item is never handed out while ANY risk-reducing item is queued,
//!   ready or backing off: no new exposure while sluice is still trying to shed some;
//! - within a class, ready items leave in the order they were pushed (FIFO): once its
//!   backoff is over, an item goes ahead of ready items that were pushed after it.
//!
//! Pure: time is a `std::time::Instant` passed in; the executor sleeps until `next_wake`.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::domain::IntentKind;

/// Which lane an item goes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum RiskClass {
    /// Close, reduce, flatten, and cancels that make room for them.
    Reducing,
    /// Opens.
    Increasing,
}

impl From<IntentKind> for RiskClass {
    fn from(kind: IntentKind) -> RiskClass {
        if kind.reduces_risk() {
            RiskClass::Reducing
        } else {
            RiskClass::Increasing
        }
    }
}

struct Lane<T> {
    /// Items backing off, by (not_before, push order).
    waiting: BTreeMap<(Instant, u64), T>,
    /// Items whose time has come, by push order.
    ready: BTreeMap<u64, T>,
}

impl<T> Lane<T> {
    fn new() -> Self {
        Self {
            waiting: BTreeMap::new(),
            ready: BTreeMap::new(),
        }
    }
    fn promote(&mut self, now: Instant) {
        while let Some(entry) = self.waiting.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let ((_, seq), item) = entry.remove_entry();
            self.ready.insert(seq, item);
        }
    }
    fn len(&self) -> usize {
        self.waiting.len() + self.ready.len()
    }
    fn earliest(&self, now: Instant) -> Option<Instant> {
        if !self.ready.is_empty() {
            return Some(now);
        }
        self.waiting.keys().next().map(|(t, _)| *t)
    }
    fn retain(&mut self, keep: &mut impl FnMut(&T) -> bool) -> Vec<T> {
        let mut removed = Vec::new();
        let waiting = std::mem::take(&mut self.waiting);
        for (k, v) in waiting {
            if keep(&v) {
                self.waiting.insert(k, v);
            } else {
                removed.push(v);
            }
        }
        let ready = std::mem::take(&mut self.ready);
        for (k, v) in ready {
            if keep(&v) {
                self.ready.insert(k, v);
            } else {
                removed.push(v);
            }
        }
        removed
    }
}

/// The priority queue of ready work. `T` is whatever the executor needs to act.
pub(crate) struct Scheduler<T> {
    next_seq: u64,
    reducing: Lane<T>,
    increasing: Lane<T>,
}

impl<T> Default for Scheduler<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Scheduler<T> {
    pub(crate) fn new() -> Self {
        Self {
            next_seq: 0,
            reducing: Lane::new(),
            increasing: Lane::new(),
        }
    }

    fn lane(&mut self, class: RiskClass) -> &mut Lane<T> {
        match class {
            RiskClass::Reducing => &mut self.reducing,
            RiskClass::Increasing => &mut self.increasing,
        }
    }

    /// Queue `item`; it may not leave before `not_before`.
    pub(crate) fn push(&mut self, item: T, class: RiskClass, not_before: Instant) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.lane(class).waiting.insert((not_before, seq), item);
    }

    /// The next item to act on at `now`, if any may go.
    pub(crate) fn pop_ready(&mut self, now: Instant) -> Option<T> {
        self.reducing.promote(now);
        if let Some((_, item)) = self.reducing.ready.pop_first() {
            return Some(item);
        }
        if self.reducing.len() > 0 {
            return None;
        }
        self.increasing.promote(now);
        self.increasing.ready.pop_first().map(|(_, item)| item)
    }

    /// When `pop_ready` may next return something (`now` if it already would).
    pub(crate) fn next_wake(&self, now: Instant) -> Option<Instant> {
        if self.reducing.len() > 0 {
            return self.reducing.earliest(now).map(|t| t.max(now));
        }
        self.increasing.earliest(now).map(|t| t.max(now))
    }

    /// Queued items per class: (reducing, increasing).
    #[cfg(test)]
    pub(crate) fn pending(&self) -> (usize, usize) {
        (self.reducing.len(), self.increasing.len())
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.reducing.len() + self.increasing.len() == 0
    }

    /// Take out every item for which `remove` is true (e.g. its intent was cancelled).
    pub(crate) fn remove_where(&mut self, mut remove: impl FnMut(&T) -> bool) -> Vec<T> {
        let mut keep = |t: &T| !remove(t);
        let mut removed = self.reducing.retain(&mut keep);
        removed.extend(self.increasing.retain(&mut keep));
        removed
    }
}

#[cfg(test)]
#[path = "scheduler_tests.rs"]
mod tests;
