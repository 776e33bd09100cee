//! Start-up retry spacing: decorrelated jitter between a floor and a ceiling, so that
//! several daemons (or a daemon and its supervisor) never retry in lock step.

use std::time::Duration;

/// Decorrelated-jitter delays in `[min, max]`, seeded per process.
#[derive(Clone, Debug)]
pub(super) struct RetryDelay {
    min: Duration,
    max: Duration,
    current: Duration,
    seed: u64,
}

impl RetryDelay {
    pub(super) fn new(min: Duration, max: Duration, salt: u64) -> Self {
        RetryDelay {
            min,
            max: max.max(min),
            current: min,
            seed: salt ^ u64::from(std::process::id()),
        }
    }

    /// The delay to wait now; the next one is drawn from `[min, 3 × this]`, capped.
    pub(super) fn next(&mut self) -> Duration {
        let now = self.current;
        self.seed = self
            .seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let spread = (now.as_millis() as u64).saturating_mul(3).max(1);
        let next = self.min.as_millis() as u64 + (self.seed >> 33) % spread;
        self.current = Duration::from_millis(next).clamp(self.min, self.max);
        now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_delay_stays_between_the_floor_and_the_ceiling() {
        let (min, max) = (Duration::from_millis(500), Duration::from_secs(10));
        let mut d = RetryDelay::new(min, max, 7);
        let delays: Vec<_> = (0..200).map(|_| d.next()).collect();
        assert!(delays.iter().all(|x| *x >= min && *x <= max), "{delays:?}");
        assert!(delays.iter().any(|x| *x > min), "the delays grow");
        assert_eq!(
            RetryDelay::new(min, max, 7).next(),
            min,
            "the first wait is the floor"
        );
    }
}
