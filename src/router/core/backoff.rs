//! Jittered exponential backoff: how long to wait before sending again.
//!
//! Invariants:
//! - every delay is within `[base, max]` (never a tight loop, never an unbounded wait of
//!   our own making);
//! - the exchange's own `not_before` (Retry-After, the end of a 418 ban) always wins: the
//!   next send is at the later of the two, even past `max` — ignoring a ban is how an IP ban
//!   gets extended to days;
//! - the RNG is injected, so a seeded RNG gives the same delays every run.
//!
//! Two jitter modes (AWS Architecture Blog, "Exponential Backoff and Jitter"):
//! - `Full`: uniform in `[base, min(max, base · 2^attempt)]`;
//! - `Decorrelated`: uniform in `[base, min(max, 3 · previous)]`.

use std::time::{Duration, Instant};

use rand::Rng;

use crate::domain::DomainError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Jitter {
    #[cfg(test)]
    Full,
    Decorrelated,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackoffConfig {
    pub base: Duration,
    pub max: Duration,
    pub(crate) jitter: Jitter,
}

/// Our own delays never exceed a day (the exchange's `not_before` may).
pub(crate) const MAX_DELAY: Duration = Duration::from_secs(24 * 3600);

impl BackoffConfig {
    /// A zero base would allow a tight retry loop: refuse it, naming the field.
    pub fn check(&self) -> Result<(), DomainError> {
        if self.base.is_zero() {
            return Err(DomainError::new("backoff.base", "must be longer than zero"));
        }
        if self.max > MAX_DELAY {
            return Err(DomainError::new(
                "backoff.max",
                format!("{:?} is longer than {MAX_DELAY:?}", self.max),
            ));
        }
        if self.max < self.base {
            return Err(DomainError::new(
                "backoff.max",
                format!("{:?} is below backoff.base {:?}", self.max, self.base),
            ));
        }
        Ok(())
    }
}

/// Backoff state for one retried piece of work (one chunk, one reconnect loop).
#[derive(Clone, Debug)]
pub(crate) struct Backoff<R> {
    cfg: BackoffConfig,
    rng: R,
    attempt: u32,
    previous: Duration,
}

impl<R: Rng> Backoff<R> {
    /// A `max` below `base` is raised to `base` (the floor is the stronger promise), and
    /// both are held to at most [`MAX_DELAY`]; [`BackoffConfig::check`] reports such settings.
    pub(crate) fn new(cfg: BackoffConfig, rng: R) -> Self {
        let base = cfg.base.min(MAX_DELAY);
        let cfg = BackoffConfig {
            base,
            max: cfg.max.clamp(base, MAX_DELAY),
            ..cfg
        };
        Self {
            cfg,
            rng,
            attempt: 0,
            previous: cfg.base,
        }
    }

    /// The delay before the next attempt; each call counts one more failure.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let ceiling = match self.cfg.jitter {
            #[cfg(test)]
            Jitter::Full => self.exponential_ceiling(),
            Jitter::Decorrelated => self.previous.saturating_mul(3),
        }
        .clamp(self.cfg.base, self.cfg.max);
        let delay = self.uniform(self.cfg.base, ceiling);
        self.attempt = self.attempt.saturating_add(1);
        self.previous = delay;
        delay
    }

    /// When to send next: `now + next_delay()`, or the exchange's `not_before` if later.
    pub(crate) fn next_at(&mut self, now: Instant, not_before: Option<Instant>) -> Instant {
        let ours = now + self.next_delay();
        not_before.map_or(ours, |theirs| ours.max(theirs))
    }

    /// Same as [`Backoff::next_at`] with the exchange's wait as a duration (`retry_after`).
    /// An absurd wait is held to a week (Binance bans last at most three days).
    pub(crate) fn next_at_after(&mut self, now: Instant, retry_after: Option<Duration>) -> Instant {
        let week = Duration::from_secs(7 * 24 * 3600);
        self.next_at(now, retry_after.map(|d| now + d.min(week)))
    }

    /// Failures counted so far.
    pub(crate) fn attempts(&self) -> u32 {
        self.attempt
    }

    /// Forget the failures (after a success).
    pub(crate) fn reset(&mut self) {
        self.attempt = 0;
        self.previous = self.cfg.base;
    }

    #[cfg(test)]
    fn exponential_ceiling(&self) -> Duration {
        // 2^attempt saturates long before it matters: max caps it anyway.
        let factor = 1u32.checked_shl(self.attempt.min(31)).unwrap_or(u32::MAX);
        self.cfg.base.saturating_mul(factor)
    }

    fn uniform(&mut self, low: Duration, high: Duration) -> Duration {
        if high <= low {
            return low;
        }
        let lo = duration_nanos(low);
        let hi = duration_nanos(high);
        Duration::from_nanos(self.rng.gen_range(lo..=hi))
    }
}

fn duration_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn cfg(jitter: Jitter) -> BackoffConfig {
        BackoffConfig {
            base: Duration::from_millis(200),
            max: Duration::from_secs(30),
            jitter,
        }
    }

    fn seeded(jitter: Jitter, seed: u64) -> Backoff<ChaCha8Rng> {
        Backoff::new(cfg(jitter), ChaCha8Rng::seed_from_u64(seed))
    }

    #[test]
    fn the_same_seed_gives_the_same_delays() {
        let a: Vec<_> = (0..10)
            .scan(seeded(Jitter::Full, 7), |b, _| Some(b.next_delay()))
            .collect();
        let b: Vec<_> = (0..10)
            .scan(seeded(Jitter::Full, 7), |b, _| Some(b.next_delay()))
            .collect();
        assert_eq!(a, b);
    }

    #[test]
    fn full_jitter_grows_its_ceiling_exponentially() {
        let mut b = seeded(Jitter::Full, 1);
        // First delay: ceiling base·2^0 = base, so exactly base.
        assert_eq!(b.next_delay(), Duration::from_millis(200));
        let second = b.next_delay();
        assert!(second >= Duration::from_millis(200) && second <= Duration::from_millis(400));
    }

    #[test]
    fn an_exchange_ban_beyond_max_is_respected() {
        let mut b = seeded(Jitter::Decorrelated, 3);
        let now = Instant::now();
        let ban_ends = now + Duration::from_secs(120);
        assert_eq!(b.next_at(now, Some(ban_ends)), ban_ends);
        let retry = b.next_at_after(now, Some(Duration::from_secs(90)));
        assert_eq!(retry, now + Duration::from_secs(90));
    }

    #[test]
    fn a_zero_base_is_refused_because_it_allows_a_tight_loop() {
        let zero = BackoffConfig {
            base: Duration::ZERO,
            ..cfg(Jitter::Full)
        };
        assert_eq!(zero.check().unwrap_err().field, "backoff.base");
        assert!(cfg(Jitter::Full).check().is_ok());
    }

    #[test]
    fn reset_starts_again_from_base() {
        let mut b = seeded(Jitter::Full, 9);
        for _ in 0..20 {
            b.next_delay();
        }
        b.reset();
        assert_eq!(b.attempts(), 0);
        assert_eq!(b.next_delay(), Duration::from_millis(200));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn every_delay_is_between_base_and_max(
            seed in any::<u64>(), n in 1usize..100, decorrelated in any::<bool>()
        ) {
            let jitter = if decorrelated { Jitter::Decorrelated } else { Jitter::Full };
            let mut b = seeded(jitter, seed);
            for _ in 0..n {
                let d = b.next_delay();
                prop_assert!(d >= Duration::from_millis(200));
                prop_assert!(d <= Duration::from_secs(30));
            }
        }

        #[test]
        fn the_next_send_is_never_before_the_exchange_allows(
            seed in any::<u64>(), wait_ms in 0u64..600_000
        ) {
            let mut b = seeded(Jitter::Full, seed);
            let now = Instant::now();
            let theirs = now + Duration::from_millis(wait_ms);
            let at = b.next_at(now, Some(theirs));
            prop_assert!(at >= theirs);
            prop_assert!(at >= now + Duration::from_millis(200));
        }
    }
}
