//! Closed → Open → HalfOpen → Closed, with seed 003's error mix.

use proptest::prelude::*;

use super::*;

fn cfg() -> BreakerConfig {
    BreakerConfig {
        window: Duration::from_secs(60),
        threshold_pct: 50,
        min_samples: 10,
        cool_down: Duration::from_secs(30),
    }
}

fn at(t0: Instant, secs: u64) -> Instant {
    t0 + Duration::from_secs(secs)
}

/// Seed 003's minute: -1008s and 503s among a few successes.
fn seed_003_minute(b: &mut Breaker, t0: Instant) {
    let mix = [
        Outcome::Throttled,
        Outcome::ServerError,
        Outcome::Success,
        Outcome::Throttled,
        Outcome::Unknown,
        Outcome::Throttled,
        Outcome::Rejected,
        Outcome::ServerError,
        Outcome::Throttled,
        Outcome::Success,
    ];
    for (i, o) in mix.into_iter().enumerate() {
        b.record(o, at(t0, i as u64));
    }
}

#[test]
fn errors_from_the_exchange_are_counted_by_what_they_say_about_it() {
    let e = |class, status, code| ExchangeError::new(class, status, code, "x");
    let throttled = e(ErrorClass::Backoff, Some(503), Some(-1008));
    assert_eq!(Outcome::of_error(&throttled), Outcome::Throttled);
    let unknown = e(ErrorClass::OutcomeUnknown, Some(503), None);
    assert_eq!(Outcome::of_error(&unknown), Outcome::Unknown);
    let unavailable = e(ErrorClass::Retry, Some(503), None);
    assert_eq!(Outcome::of_error(&unavailable), Outcome::ServerError);
    let unreachable = e(ErrorClass::Retry, None, None);
    assert_eq!(Outcome::of_error(&unreachable), Outcome::ServerError);
    let reject = e(ErrorClass::Replan, Some(400), Some(-2022));
    assert_eq!(Outcome::of_error(&reject), Outcome::Rejected);
    let rate = e(ErrorClass::Backoff, Some(429), Some(-1003));
    assert_eq!(Outcome::of_error(&rate), Outcome::Rejected);
}

#[test]
fn in_distress_opens_are_refused_with_the_numbers_and_closes_go_on() {
    let t0 = Instant::now();
    let mut b = Breaker::new(cfg()).unwrap();
    seed_003_minute(&mut b, t0);
    let now = at(t0, 10);
    assert!(matches!(b.state(now), BreakerState::Open { .. }));
    let refusal = b.admit(RiskClass::Increasing, now).unwrap_err();
    assert!(
        refusal.reason.starts_with(
            "exchange in distress: 7 of the last 10 outcomes in 60s failed \
             (5xx/no response=2, -1008=4, unknown=1; threshold 50%)"
        ),
        "{}",
        refusal.reason
    );
    assert!(b.admit(RiskClass::Reducing, now).is_ok());
}

#[test]
fn settings_that_would_disable_the_breaker_are_refused_by_name() {
    assert!(cfg().check().is_ok());
    let bad = BreakerConfig {
        threshold_pct: 0,
        ..cfg()
    };
    assert_eq!(bad.check().unwrap_err().field, "breaker.threshold_pct");
    let bad = BreakerConfig {
        cool_down: Duration::ZERO,
        ..cfg()
    };
    assert_eq!(bad.check().unwrap_err().field, "breaker.cool_down");
}

#[test]
fn too_few_samples_never_open_the_breaker() {
    let t0 = Instant::now();
    let mut b = Breaker::new(cfg()).unwrap();
    for i in 0..9 {
        b.record(Outcome::Throttled, at(t0, i));
    }
    assert_eq!(b.state(at(t0, 9)), BreakerState::Closed);
    assert!(b.admit(RiskClass::Increasing, at(t0, 9)).is_ok());
}

#[test]
fn after_the_cool_down_a_single_trial_open_decides() {
    let t0 = Instant::now();
    let mut b = Breaker::new(cfg()).unwrap();
    seed_003_minute(&mut b, t0);
    // 100 s later the window has emptied: half-open, one trial at a time.
    let later = at(t0, 100);
    assert!(b.admit(RiskClass::Increasing, later).is_ok());
    assert!(b.admit(RiskClass::Increasing, later).is_err());
    b.record(Outcome::Success, later);
    assert_eq!(b.state(later), BreakerState::Closed);
    assert!(b.admit(RiskClass::Increasing, later).is_ok());
}

#[test]
fn distress_during_the_trial_opens_the_breaker_again() {
    let t0 = Instant::now();
    let mut b = Breaker::new(cfg()).unwrap();
    seed_003_minute(&mut b, t0);
    let later = at(t0, 100);
    assert!(b.admit(RiskClass::Increasing, later).is_ok());
    b.record(Outcome::Throttled, later);
    assert!(matches!(b.state(later), BreakerState::Open { .. }));
}

#[test]
fn closes_still_failing_keep_the_breaker_open_past_the_cool_down() {
    let t0 = Instant::now();
    let mut b = Breaker::new(cfg()).unwrap();
    seed_003_minute(&mut b, t0);
    for i in 10..45 {
        b.record(Outcome::Throttled, at(t0, i));
    }
    assert!(matches!(b.state(at(t0, 45)), BreakerState::Open { .. }));
}

#[test]
fn a_trial_that_never_reports_is_given_up_after_the_cool_down() {
    let t0 = Instant::now();
    let mut b = Breaker::new(cfg()).unwrap();
    seed_003_minute(&mut b, t0);
    assert!(b.admit(RiskClass::Increasing, at(t0, 100)).is_ok());
    assert!(b.admit(RiskClass::Increasing, at(t0, 129)).is_err());
    assert!(b.admit(RiskClass::Increasing, at(t0, 130)).is_ok());
}

fn outcomes() -> impl Strategy<Value = Outcome> {
    prop::sample::select(vec![
        Outcome::Success,
        Outcome::ServerError,
        Outcome::Throttled,
        Outcome::Unknown,
        Outcome::Rejected,
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn risk_reducing_orders_are_admitted_in_every_state(
        events in prop::collection::vec((outcomes(), 0u64..20), 0..80)
    ) {
        let t0 = Instant::now();
        let mut b = Breaker::new(cfg()).unwrap();
        let mut now = t0;
        for (o, gap) in events {
            now += Duration::from_secs(gap);
            b.record(o, now);
            prop_assert!(b.admit(RiskClass::Reducing, now).is_ok());
            if let Err(r) = b.admit(RiskClass::Increasing, now) {
                prop_assert!(r.reason.contains("distress"));
                prop_assert!(b.state(now) != BreakerState::Closed);
            }
        }
    }
}

#[test]
fn every_phase_change_is_queued_once_with_the_window_that_caused_it() {
    let t0 = Instant::now();
    let mut b = Breaker::new(cfg()).unwrap();
    seed_003_minute(&mut b, t0);
    // Cool-down over, the window judged calm (old samples aged out): half-open.
    let later = at(t0, 100);
    assert_eq!(b.state(later).phase(), Phase::HalfOpen);
    b.admit(RiskClass::Increasing, later).unwrap();
    b.record(Outcome::Success, later);

    let t = b.take_transitions();
    let phases: Vec<(Phase, Phase)> = t.iter().map(|t| (t.from, t.to)).collect();
    assert_eq!(
        phases,
        vec![
            (Phase::Closed, Phase::Open),
            (Phase::Open, Phase::HalfOpen),
            (Phase::HalfOpen, Phase::Closed),
        ]
    );
    // The opening carries the counts that tripped it: 10 outcomes, 7 in distress.
    assert_eq!(t[0].stats.total, 10);
    assert_eq!(t[0].stats.distress(), 7);
    assert!(b.take_transitions().is_empty(), "drained once");
}

#[test]
fn a_success_while_closed_keeps_the_window() {
    let t0 = Instant::now();
    let mut b = Breaker::new(cfg()).unwrap();
    b.record(Outcome::Throttled, t0);
    b.record(Outcome::Success, at(t0, 1));
    assert_eq!(b.stats().total, 2);
    assert!(b.take_transitions().is_empty());
}

#[test]
fn a_forced_open_refuses_opens_with_its_reason_until_released() {
    let cfg = BreakerConfig {
        window: Duration::from_secs(60),
        threshold_pct: 30,
        min_samples: 10,
        cool_down: Duration::from_secs(30),
    };
    let mut b = Breaker::new(cfg).unwrap();
    let t0 = Instant::now();
    let evidence = WindowStats {
        total: 2,
        server_errors: 1,
        throttled: 1,
        unknown: 0,
    };
    b.force_open("venue in distress at start".into(), evidence, t0);
    let opened = b.take_transitions();
    assert_eq!(opened.len(), 1);
    assert_eq!((opened[0].from, opened[0].to), (Phase::Closed, Phase::Open));
    assert_eq!(opened[0].stats, evidence);
    // Closes go through; successes do not close a forced breaker, nor does the cool-down.
    assert!(b.admit(RiskClass::Reducing, t0).is_ok());
    for i in 0..20 {
        b.record(Outcome::Success, t0 + Duration::from_secs(i));
    }
    let later = t0 + Duration::from_secs(120);
    let refused = b.admit(RiskClass::Increasing, later).unwrap_err();
    assert_eq!(refused.reason, "venue in distress at start");
    assert_eq!(b.state(later).phase(), Phase::Open);
    b.release(later);
    assert_eq!(b.state(later).phase(), Phase::Closed);
    assert!(b.admit(RiskClass::Increasing, later).is_ok());
    let closed = b.take_transitions();
    assert_eq!(closed.last().map(|t| t.to), Some(Phase::Closed));
}
