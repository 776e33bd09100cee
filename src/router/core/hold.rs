//! What the daemon's start-up gate holds against opens, shared between the gate's
//! background re-check (which sets and clears it) and the executor (which applies it).
//!
//! Invariants: a hold only ever refuses opens; risk-reducing orders (close, reduce,
//! flatten, resumed close intents) are never refused by it. A distress hold is applied as
//! a forced-open circuit breaker (so the `breaker_transitions` row records it); a
//! configuration hold refuses opens with its reason without touching the breaker.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::breaker::WindowStats;

/// One reason opens are held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    /// What a refused open is told.
    pub reason: String,
    /// Venue distress (breaker forced open) rather than configuration.
    pub distress: bool,
    /// For a distress hold: the failed probes, as the breaker's evidence.
    pub(crate) evidence: WindowStats,
}

/// The current hold and a generation counter the executor polls cheaply.
#[derive(Debug, Default)]
pub struct OpensHold {
    held: Mutex<Option<Held>>,
    generation: AtomicU64,
}

impl OpensHold {
    pub(crate) fn new(held: Option<Held>) -> OpensHold {
        OpensHold {
            held: Mutex::new(held),
            generation: AtomicU64::new(1),
        }
    }

    /// Replace the hold (None: opens may go).
    pub(crate) fn set(&self, held: Option<Held>) {
        let mut guard = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if *guard != held {
            *guard = held;
            self.generation.fetch_add(1, Ordering::SeqCst);
        }
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    pub(crate) fn current(&self) -> Option<Held> {
        self.held.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generation_moves_only_when_the_hold_changes() {
        let hold = OpensHold::new(None);
        let g0 = hold.generation();
        hold.set(None);
        assert_eq!(hold.generation(), g0);
        let held = Held {
            reason: "r".into(),
            distress: true,
            evidence: WindowStats::default(),
        };
        hold.set(Some(held.clone()));
        assert!(hold.generation() > g0);
        assert_eq!(hold.current(), Some(held));
    }
}
