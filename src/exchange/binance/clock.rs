//! The offset between our clock and the exchange's, for request timestamps.
//!
//! Invariant: `offset_ms = local - server`, measured with round-trip compensation
//! (the server stamped its time half-way through the round trip). Requests carry
//! `local_now - offset`. The offset is re-measured at start, periodically, and after
//! every -1021/-5028.

use std::sync::atomic::{AtomicI64, Ordering};

/// Shared, lock-free view of the last measured offset.
#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

/// Local wall-clock milliseconds since the epoch.
pub(crate) fn local_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Offset from one `/time` round trip: sent at `t0`, answered at `t1` (local ms), the
/// server said `server`. The midpoint assumes a symmetric path; its error is at most
/// half the round trip.
pub(crate) fn offset_from_round_trip(t0: i64, server: i64, t1: i64) -> i64 {
    let mid = t0 + (t1 - t0) / 2;
    mid - server
}

impl Clock {
    pub(crate) fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed)
    }

    pub fn set_offset_ms(&self, offset: i64) {
        self.offset_ms.store(offset, Ordering::Relaxed);
    }

    /// The timestamp to put on a request sent now: our best estimate of server time.
    pub fn server_now_ms(&self) -> i64 {
        local_ms() - self.offset_ms()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_ahead_of_us_gives_a_negative_offset_compensated_for_the_round_trip() {
        // Sent at 1000, answered at 1100: the server stamped 2050 at our 1050.
        assert_eq!(offset_from_round_trip(1000, 2050, 1100), -1000);
        assert_eq!(offset_from_round_trip(1000, 550, 1100), 500);
    }

    #[test]
    fn request_timestamps_follow_the_measured_offset() {
        let clock = Clock::default();
        clock.set_offset_ms(5_000);
        let est = clock.server_now_ms();
        let local = local_ms();
        assert!((local - est - 5_000).abs() < 1_000);
    }
}
