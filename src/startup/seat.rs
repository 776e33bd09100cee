//! One account's place among the accounts a daemon serves (`daemon.accounts`): the cap
//! on how many it leads at once, and the order of the first tries.
//!
//! Invariants: a lock is tried only with a free place under the cap, and the place is
//! held exactly as long as the lock (a standby account holds none, so a daemon waiting
//! on the accounts another daemon leads still takes a free one); at start the accounts
//! try their locks one after the other in the listed order, so with a cap the first
//! listed accounts are preferred, never a race.

use std::sync::Arc;

use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

use crate::shutdown::Shutdown;

/// One account's seat; [`Seat::alone`] for a daemon of one account (no cap, no order).
#[derive(Default)]
pub(crate) struct Seat {
    cap: Option<(Arc<Semaphore>, usize)>,
    /// Fires when the previous account's first try is over.
    after: Option<oneshot::Receiver<()>>,
    /// Fired after this account's first try.
    tried: Option<oneshot::Sender<()>>,
}

impl Seat {
    /// No cap and nobody to wait for: the single-account daemon.
    pub(crate) fn alone() -> Seat {
        Seat::default()
    }

    /// `count` seats sharing a cap of `cap` leads, first tries in order.
    pub(crate) fn chain(count: usize, cap: usize) -> Vec<Seat> {
        let places = Arc::new(Semaphore::new(cap));
        let mut seats: Vec<Seat> = Vec::with_capacity(count);
        let mut previous = None;
        for _ in 0..count {
            let (tried, next) = oneshot::channel();
            seats.push(Seat {
                cap: Some((places.clone(), cap)),
                after: previous.take(),
                tried: Some(tried),
            });
            previous = Some(next);
        }
        seats
    }

    /// Wait for the previous account's first try (or shutdown: false).
    pub(crate) async fn my_turn(&mut self, shutdown: &mut Shutdown) -> bool {
        let Some(after) = self.after.take() else {
            return true;
        };
        tokio::select! {
            _ = shutdown.recv() => false,
            _ = after => true,
        }
    }

    /// A place under the cap, if one is free (always, without a cap). Err: the reason.
    pub(crate) fn place(&self) -> Result<Option<OwnedSemaphorePermit>, String> {
        match &self.cap {
            None => Ok(None),
            Some((places, cap)) => places.clone().try_acquire_owned().map(Some).map_err(|_| {
                format!("this daemon already leads its cap of {cap} accounts (daemon.max_accounts)")
            }),
        }
    }

    /// The first try is over: let the next account try.
    pub(crate) fn tried(&mut self) {
        if let Some(t) = self.tried.take() {
            let _ = t.send(());
        }
    }
}
