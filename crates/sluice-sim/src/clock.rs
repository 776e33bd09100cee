//! The simulator's two clocks. Exchange time (`serverTime`, event `E`/`T`, order times) is
//! the wall clock, so signed requests from real clients pass the `-1021` window. Scenario
//! time is real elapsed time multiplied by `time_scale`; every duration the scenario speaks
//! of (listenKey life, socket cap, pings, ban length, rate-limit windows, fault windows)
//! runs on it, so a test reaches a 60-minute expiry in seconds.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

#[derive(Debug, Clone, Copy)]
pub(crate) struct SimClock {
    start: Instant,
    scale: f64,
}

impl SimClock {
    pub(crate) fn new(time_scale: f64) -> Self {
        SimClock {
            start: Instant::now(),
            scale: time_scale,
        }
    }

    /// Wall-clock epoch milliseconds.
    pub(crate) fn wall_ms(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }

    /// Scenario milliseconds since the simulator started.
    pub(crate) fn scenario_ms(&self) -> i64 {
        (self.start.elapsed().as_secs_f64() * 1000.0 * self.scale) as i64
    }

    pub(crate) fn scenario_secs(&self) -> f64 {
        self.start.elapsed().as_secs_f64() * self.scale
    }

    /// How long, in real time, a scenario duration lasts.
    pub(crate) fn real(&self, scenario: Duration) -> Duration {
        scenario.div_f64(self.scale)
    }

    /// The wall-clock epoch ms at which scenario time `scenario_ms` is reached.
    pub(crate) fn scenario_to_wall_ms(&self, scenario_ms: i64) -> i64 {
        let delta = (scenario_ms - self.scenario_ms()) as f64 / self.scale;
        self.wall_ms() + delta as i64
    }

    pub(crate) fn scale(&self) -> f64 {
        self.scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_durations_shrink_by_the_time_scale() {
        let c = SimClock::new(60.0);
        assert_eq!(c.real(Duration::from_secs(3600)), Duration::from_secs(60));
        assert_eq!(c.scale(), 60.0);
    }
}
