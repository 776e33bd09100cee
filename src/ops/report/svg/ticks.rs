//! Axis ticks: round times on the shared time axis, round counts on the lanes.
//!
//! Invariants: time ticks sit on multiples of a round step (1/2/5/10/15/30 s,
//! 1/2/5/10/15/30 min, 1/2/3/6/12 h, 1/2/7 d) of UTC time; the step is the smallest one
//! whose labels, each centred on its tick, leave at least [`LABEL_GAP`] px between
//! neighbours (measured with the conservative [`super::text::width`]), so labels never
//! overlap. A count scale ends on 1, 2 or 5 × 10ⁿ at or above the busiest bar.

use chrono::{DateTime, DurationRound, TimeDelta, Timelike, Utc};

use super::text::width;

/// Tick steps, in seconds.
const STEPS: [i64; 20] = [
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400,
    172_800, 604_800,
];
/// Least free space between two neighbouring tick labels, in px.
pub(super) const LABEL_GAP: i64 = 12;
/// Tick label size, px.
pub(super) const TICK_SIZE: i64 = 12;

/// One time tick: where, and its label and the label's width.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Tick {
    pub at: DateTime<Utc>,
    /// Offset from the plot's left edge, px.
    pub(crate) dx: i64,
    pub label: String,
    pub width: i64,
}

/// `21:00:05` below a minute, `21:05` below a day, `12 Oct` for days; midnight is
/// always shown as the date, so a day change is visible on the axis.
fn label(t: DateTime<Utc>, step: i64) -> String {
    let midnight = t.num_seconds_from_midnight() == 0;
    if step >= 86_400 || midnight {
        t.format("%d %b").to_string()
    } else if step < 60 {
        t.format("%H:%M:%S").to_string()
    } else {
        t.format("%H:%M").to_string()
    }
}

/// Offset of `t` from `from` on a plot `plot_w` px wide spanning `[from, until)`.
pub(super) fn offset(
    t: DateTime<Utc>,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    plot_w: i64,
) -> i64 {
    let span = (until - from).num_milliseconds().max(1);
    let at = (t - from).num_milliseconds().clamp(0, span);
    at * plot_w / span
}

fn ticks_at(step: i64, from: DateTime<Utc>, until: DateTime<Utc>, plot_w: i64) -> Vec<Tick> {
    let delta = TimeDelta::seconds(step);
    let mut t = from.duration_trunc(delta).unwrap_or(from);
    if t < from {
        t += delta;
    }
    let mut out = Vec::new();
    while t <= until {
        let text = label(t, step);
        out.push(Tick {
            at: t,
            dx: offset(t, from, until, plot_w),
            width: width(&text, TICK_SIZE),
            label: text,
        });
        t += delta;
    }
    out
}

/// True when no two neighbouring labels come closer than [`LABEL_GAP`].
pub(super) fn spaced(ticks: &[Tick]) -> bool {
    ticks.windows(2).all(|w| {
        let right_of_first = w[0].dx + (w[0].width + 1) / 2;
        let left_of_second = w[1].dx - (w[1].width + 1) / 2;
        left_of_second - right_of_first >= LABEL_GAP
    })
}

/// Round-time ticks for `[from, until]` on a plot `plot_w` px wide: the finest step
/// whose labels do not crowd, with at least two ticks when any step gives two.
pub(super) fn time_ticks(from: DateTime<Utc>, until: DateTime<Utc>, plot_w: i64) -> Vec<Tick> {
    let mut fallback: Vec<Tick> = Vec::new();
    for step in STEPS {
        let ticks = ticks_at(step, from, until, plot_w);
        if !spaced(&ticks) {
            continue;
        }
        if ticks.len() >= 2 {
            return ticks;
        }
        if fallback.is_empty() {
            fallback = ticks;
        }
    }
    fallback
}

/// The top of a count scale: the smallest 1, 2 or 5 × 10ⁿ at or above `max` (1 for 0).
pub(super) fn nice_max(max: u64) -> u64 {
    let mut scale = 1u64;
    loop {
        for m in [1, 2, 5] {
            if m * scale >= max {
                return m * scale;
            }
        }
        scale = scale.saturating_mul(10);
    }
}

/// Count ticks for a scale topped at `top`: 0, the half when whole, and the top.
pub(super) fn count_ticks(top: u64) -> Vec<u64> {
    if top >= 2 && top.is_multiple_of(2) {
        vec![0, top / 2, top]
    } else {
        vec![0, top]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 10, 11, 21, 0, 0).unwrap() + TimeDelta::seconds(secs)
    }

    #[test]
    fn ticks_fall_on_round_times_and_their_labels_keep_apart() {
        for (span, plot_w) in [(20, 480), (6360, 954), (86_400, 960), (7 * 86_400, 600)] {
            let ticks = time_ticks(at(0), at(span), plot_w);
            assert!(ticks.len() >= 2, "{span}: {ticks:?}");
            assert!(spaced(&ticks), "{span}: {ticks:?}");
            let step = (ticks[1].at - ticks[0].at).num_seconds();
            assert!(STEPS.contains(&step) && ticks[0].at.timestamp() % step == 0);
        }
    }

    #[test]
    fn a_day_change_is_labelled_with_the_date() {
        let ticks = time_ticks(at(0), at(86_400), 960);
        assert!(ticks.iter().any(|t| t.label == "12 Oct"), "{ticks:?}");
    }

    #[test]
    fn count_scales_end_on_round_numbers() {
        let tops: Vec<u64> = [0, 1, 3, 7, 13, 100, 101].map(nice_max).to_vec();
        assert_eq!(tops, vec![1, 1, 5, 10, 20, 100, 200]);
        assert_eq!(count_ticks(10), vec![0, 5, 10]);
        assert_eq!(count_ticks(5), vec![0, 5]);
    }
}
