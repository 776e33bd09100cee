//! What wakes the executor's intake, and how many opens it takes up.
//!
//! The ledger notifies every stored intent with its id and kind, and every cancel asked
//! of a working intent (`ledger::wakeup`). A risk-reducing intent, a cancel, a notice that
//! cannot be read, or a poke makes the loop read the ledger at once. An open makes it read only if the loop does not hold it already (the
//! control API's in-process hand-off usually took it up first) and if the loop holds fewer
//! than `executor.max_opens_held` opens: opens beyond that wait in the ledger, `accepted`,
//! oldest first, and are taken up as held ones end. Work the venue's order rate will not
//! let out for seconds is not read, planned and re-queued on every wake-up meanwhile (500
//! opens posted at once were taken up ~one statement per open, most of Postgres's CPU
//! while the opens were being posted), and a close is never queued behind it.
//!
//! Invariants:
//! - a risk-reducing intent is never deferred;
//! - a deferred open is not lost: the loop remembers that opens wait
//!   (`Loop::opens_waiting`) and reads them as room appears; the periodic intake also
//!   reads them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::domain::IntentKind;
use crate::ledger::IntentNotice;
use crate::shutdown::Shutdown;

/// The wake-ups waiting for the loop's next look.
#[derive(Default)]
pub(crate) struct IntakeSignal {
    notify: Notify,
    /// A risk-reducing intent, an unreadable notice, a poke or a broken listener: read now.
    read_now: AtomicBool,
    /// Opens notified since the loop last looked, by id.
    opens: Mutex<Vec<i64>>,
}

/// What the loop found when it looked.
pub(super) struct Woken {
    pub(super) read_now: bool,
    pub(super) opens: Vec<i64>,
}

impl IntakeSignal {
    /// Read the ledger at the loop's next turn, whatever it holds.
    pub(crate) fn poke(&self) {
        self.read_now.store(true, Ordering::Release);
        self.notify.notify_one();
    }

    fn notice(&self, notice: IntentNotice) {
        match (notice.id, notice.kind) {
            (Some(id), Some(IntentKind::Open)) => {
                self.opens
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(id);
                self.notify.notify_one();
            }
            _ => self.poke(),
        }
    }

    pub(super) async fn notified(&self) {
        self.notify.notified().await;
    }

    /// What was notified since the last look (cleared).
    pub(super) fn take(&self) -> Woken {
        let opens = std::mem::take(
            &mut *self
                .opens
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        Woken {
            read_now: self.read_now.swap(false, Ordering::AcqRel),
            opens,
        }
    }
}

/// Turn the ledger's intent notifications into intake wake-ups until `shutdown`. A broken
/// listening connection is re-opened with a growing pause (the periodic intake covers the
/// gap), so Postgres being away never ends the executor.
pub(super) async fn intent_wakeups(
    ledger: crate::ledger::Ledger,
    intake: Arc<IntakeSignal>,
    mut shutdown: Shutdown,
) {
    let mut pause = std::time::Duration::from_millis(100);
    while !shutdown.is_requested() {
        let mut wakeups = match ledger.intent_wakeups().await {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for new intents; polling until it works");
                tokio::select! {
                    _ = shutdown.recv() => return,
                    _ = tokio::time::sleep(pause) => {}
                }
                pause = (pause * 2).min(std::time::Duration::from_secs(10));
                continue;
            }
        };
        pause = std::time::Duration::from_millis(100);
        loop {
            tokio::select! {
                _ = shutdown.recv() => return,
                got = wakeups.next_intent() => match got {
                    Ok(notice) => intake.notice(notice),
                    Err(e) => {
                        tracing::warn!(error = %e, "intent listener broke; re-listening");
                        // Anything stored while it was down is found by the next intake.
                        intake.poke();
                        break;
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_readable_open_waits_for_room_everything_else_reads_now() {
        let s = IntakeSignal::default();
        s.notice(IntentNotice::parse("5 open"));
        s.notice(IntentNotice::parse("6 open"));
        let w = s.take();
        assert!(!w.read_now);
        assert_eq!(w.opens, vec![5, 6]);
        for payload in [
            "7 close",
            "8 reduce",
            "9 flatten",
            "5 cancel",
            "10",
            "junk",
            "11 open x",
        ] {
            s.notice(IntentNotice::parse(payload));
            let w = s.take();
            assert!(w.read_now, "{payload:?} must read the ledger now");
            assert!(w.opens.is_empty(), "{payload:?}");
        }
        s.poke();
        assert!(s.take().read_now);
        // Taking clears.
        let w = s.take();
        assert!(!w.read_now && w.opens.is_empty());
    }
}
