//! The report's time buckets: how long one bar (and one table row) of the report is,
//! and which stretch of time the picture spans.
//!
//! Invariants: a bucket is a whole number of seconds between 1 s and 7 days, aligned
//! to the Unix epoch (so a 10 s bucket starts at :00, :10, …, a 15 min bucket at :00,
//! :15, …, in UTC). Chosen automatically, it is the smallest round size (1/2/5/10/15/30 s,
//! 1/2/5/10/15/30 min, 1/2/3/6/12 h, 1/2/7 d) that gives at most [`MAX_AUTO_BARS`] bars
//! over the incident's span; consecutive sizes differ by at most 2.5×, so a span longer
//! than 2 minutes gets at least 48 bars. An explicit size (`--bucket 10s`) is refused when
//! it would draw more than [`MAX_BARS`] bars. The span is the stretch from the first to
//! the last order attempt in the window (the incident), not the whole window: a 20 s
//! storm in a 24 h window is drawn second by second.

use std::fmt;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The round sizes an automatic bucket is chosen from, in seconds.
pub(super) const ROUND_SIZES: [i64; 20] = [
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400,
    172_800, 604_800,
];
/// Most bars an automatic bucket gives.
pub(crate) const MAX_AUTO_BARS: i64 = 120;
/// Most bars an explicit `--bucket` may give (wider pictures stop being readable).
pub(crate) const MAX_BARS: i64 = 1000;
const MAX_SECS: i64 = 7 * 86_400;

/// The length of one bucket, in whole seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bucket {
    secs: i64,
}

impl Bucket {
    /// A bucket of `secs` seconds (1 s to 7 days).
    pub fn from_secs(secs: i64) -> Result<Bucket, String> {
        if (1..=MAX_SECS).contains(&secs) {
            Ok(Bucket { secs })
        } else {
            Err(format!(
                "--bucket: {secs} s is outside 1s to 7d (one bar per bucket)"
            ))
        }
    }

    /// Parse `10s`, `1m`, `2h` or `1d` strictly: digits, then one unit letter, nothing
    /// else (no spaces, signs, fractions or other units). The error names `--bucket`.
    pub fn parse(raw: &str) -> Result<Bucket, String> {
        let bad = || {
            format!(
                "--bucket `{raw}`: expected a whole number and a unit s, m, h or d \
                 (e.g. 10s, 5m, 1h), between 1s and 7d"
            )
        };
        let unit_at = raw.len().checked_sub(1).ok_or_else(bad)?;
        let (digits, unit) = raw.split_at(unit_at);
        if digits.is_empty() || digits.len() > 7 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let per = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return Err(bad()),
        };
        let n: i64 = digits.parse().map_err(|_| bad())?;
        Bucket::from_secs(n * per).map_err(|_| bad())
    }

    /// The bucket's length in seconds.
    pub fn secs(self) -> i64 {
        self.secs
    }

    /// The bucket's length as a duration.
    pub fn delta(self) -> TimeDelta {
        TimeDelta::seconds(self.secs)
    }

    /// The start of the bucket `t` falls in (epoch-aligned, UTC).
    pub fn floor(self, t: DateTime<Utc>) -> DateTime<Utc> {
        t.duration_trunc(self.delta()).unwrap_or(t)
    }

    /// How many buckets cover `[first, last]` (both included).
    pub fn bars(self, first: DateTime<Utc>, last: DateTime<Utc>) -> i64 {
        (self.floor(last) - self.floor(first)).num_seconds() / self.secs + 1
    }

    /// The smallest round size giving at most [`MAX_AUTO_BARS`] bars over `[first, last]`.
    pub(crate) fn auto(first: DateTime<Utc>, last: DateTime<Utc>) -> Bucket {
        ROUND_SIZES
            .iter()
            .map(|&secs| Bucket { secs })
            .find(|b| b.bars(first, last) <= MAX_AUTO_BARS)
            .unwrap_or(Bucket { secs: MAX_SECS })
    }

    /// `explicit` when given and not too fine for `[first, last]`, else [`Bucket::auto`].
    pub(crate) fn choose(
        explicit: Option<Bucket>,
        first: DateTime<Utc>,
        last: DateTime<Utc>,
    ) -> Result<Bucket, String> {
        let Some(b) = explicit else {
            return Ok(Bucket::auto(first, last));
        };
        let bars = b.bars(first, last);
        if bars > MAX_BARS {
            let span = (last - first).num_seconds() + 1;
            return Err(format!(
                "--bucket {b} would draw {bars} bars over the {} of attempts \
                 ({first} to {last}); at most {MAX_BARS}: use {} or more, \
                 or leave --bucket out to fit the span",
                Bucket::phrase(span),
                Bucket::at_least((span + MAX_BARS - 2) / (MAX_BARS - 1))
            ));
        }
        Ok(b)
    }

    /// The smallest whole size in a readable unit that is at least `secs` seconds.
    fn at_least(secs: i64) -> Bucket {
        let round_up = |unit: i64| (secs + unit - 1) / unit * unit;
        let secs = match secs {
            s if s <= 60 => s,
            s if s <= 3600 => round_up(60),
            s if s <= 86_400 => round_up(3600),
            _ => round_up(86_400),
        };
        Bucket {
            secs: secs.clamp(1, MAX_SECS),
        }
    }

    /// A human span: `20 s`, `106 min`, `24 h`, `3 d`.
    pub(crate) fn phrase(secs: i64) -> String {
        match secs {
            s if s < 120 => format!("{s} s"),
            s if s < 7200 => format!("{} min", s / 60),
            s if s < 172_800 => format!("{} h", s / 3600),
            s => format!("{} d", s / 86_400),
        }
    }

    /// `1-second`, `15-minute`, `2-hour`: for "per 1-second bucket".
    pub(crate) fn adjective(self) -> String {
        let (n, word) = self.in_words();
        format!("{n}-{word}")
    }

    /// `1 second`, `15 minutes`, `2 hours`.
    pub(crate) fn noun(self) -> String {
        match self.in_words() {
            (1, word) => format!("1 {word}"),
            (n, word) => format!("{n} {word}s"),
        }
    }

    fn in_words(self) -> (i64, &'static str) {
        let (n, unit) = self.largest_unit();
        let word = match unit {
            "s" => "second",
            "m" => "minute",
            "h" => "hour",
            _ => "day",
        };
        (n, word)
    }

    /// The size in its largest exact unit: (90, "s") for 90 s, (2, "m") for 120 s.
    fn largest_unit(self) -> (i64, &'static str) {
        for (per, unit) in [(86_400, "d"), (3600, "h"), (60, "m")] {
            if self.secs % per == 0 {
                return (self.secs / per, unit);
            }
        }
        (self.secs, "s")
    }
}

impl fmt::Display for Bucket {
    /// The form `--bucket` takes: `10s`, `5m`, `1h`, `1d`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (n, unit) = self.largest_unit();
        write!(f, "{n}{unit}")
    }
}

impl Serialize for Bucket {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Bucket {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Bucket::parse(&raw).map_err(serde::de::Error::custom)
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
    fn the_automatic_bucket_follows_the_span() {
        let cases = [
            (19, "1s", 20),
            (6359, "1m", 106),
            (86_399, "15m", 96),
            (181, "2s", 91),
        ];
        for (last, size, bars) in cases {
            let b = Bucket::auto(at(0), at(last));
            assert_eq!(
                (b.to_string(), b.bars(at(0), at(last))),
                (size.into(), bars)
            );
        }
        for last in [150, 900, 5000, 40_000, 300_000] {
            let bars = Bucket::auto(at(0), at(last)).bars(at(0), at(last));
            assert!((30..=MAX_AUTO_BARS).contains(&bars), "{last}: {bars}");
        }
    }

    #[test]
    fn a_bucket_is_parsed_strictly_and_the_error_names_the_flag() {
        assert_eq!(Bucket::parse("10s").map(Bucket::secs), Ok(10));
        assert_eq!(
            Bucket::parse("90m").map(|b| b.to_string()),
            Ok("90m".into())
        );
        assert_eq!(
            Bucket::parse("120s").map(|b| b.to_string()),
            Ok("2m".into())
        );
        for bad in [
            "", "s", "10", "10 s", " 10s", "-5s", "1.5m", "0s", "10ms", "8d", "1w",
        ] {
            let err = Bucket::parse(bad).expect_err(bad);
            assert!(err.starts_with("--bucket"), "{bad}: {err}");
        }
    }

    #[test]
    fn an_explicit_bucket_that_draws_too_many_bars_is_refused_with_a_size_that_fits() {
        let err = Bucket::choose(Bucket::parse("1s").ok(), at(0), at(86_399)).unwrap_err();
        assert!(err.contains("--bucket 1s would draw 86400 bars"), "{err}");
        assert!(err.contains("use 2m or more"), "{err}");
        let ok = Bucket::choose(Bucket::parse("2m").ok(), at(0), at(86_399)).unwrap();
        assert!(ok.bars(at(0), at(86_399)) <= MAX_BARS);
    }

    #[test]
    fn buckets_start_at_round_times() {
        let b = Bucket::parse("15m").unwrap();
        assert_eq!(b.floor(at(29 * 60 + 59)), at(15 * 60));
        assert_eq!(Bucket::parse("10s").unwrap().floor(at(7)), at(0));
    }
}
