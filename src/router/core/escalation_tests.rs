//! Every row of the decision table, plus properties that must hold for any input.

use proptest::prelude::*;

use super::*;

const POLICY: EscalationPolicy = EscalationPolicy {
    max_open_attempts: 3,
    max_clock_resyncs: 2,
    max_rule_reloads: 1,
    limit_ioc_fallback: false,
    fallback_after: 5,
};

const FALLBACK: EscalationPolicy = EscalationPolicy {
    limit_ioc_fallback: true,
    ..POLICY
};

const R: RiskClass = RiskClass::Reducing;
const I: RiskClass = RiskClass::Increasing;
const MKT: OrderType = OrderType::Market;
const LMT: OrderType = OrderType::Limit;

/// What a row expects: an exact action, or a variant whose reason contains a phrase.
enum Want {
    Is(Action),
    RefuseOpen(&'static str),
    Fail(&'static str),
    Halt(&'static str),
    KeyLoss(&'static str),
}

struct Row {
    class: ErrorClass,
    http: Option<u16>,
    code: Option<i64>,
    risk: RiskClass,
    order_type: OrderType,
    failures: u32,
    policy: EscalationPolicy,
    want: Want,
}

fn row(class: ErrorClass, http: u16, code: i64, risk: RiskClass, failures: u32, want: Want) -> Row {
    Row {
        class,
        http: Some(http),
        code: (code != 0).then_some(code),
        risk,
        order_type: MKT,
        failures,
        policy: POLICY,
        want,
    }
}

fn resend() -> Want {
    Want::Is(Action::Resend { why: "" })
}

fn reread(cancel: bool) -> Want {
    Want::Is(Action::RereadPositionAndReplan {
        cancel_conflicting_reduce_only: cancel,
    })
}

fn check(r: &Row) {
    let err = ExchangeError::new(r.class, r.http, r.code, "msg from exchange");
    let order = FailedOrder {
        class: r.risk,
        order_type: r.order_type,
        failures: r.failures,
    };
    let got = next_action(&order, &err, &r.policy);
    let ctx = format!(
        "{:?} {:?} {:?} x{} -> {got:?}",
        r.class, r.code, r.risk, r.failures
    );
    match (&r.want, &got) {
        (Want::Is(Action::Resend { .. }), Action::Resend { why }) => assert!(!why.is_empty()),
        (Want::Is(want), got) => assert_eq!(want, got, "{ctx}"),
        (Want::RefuseOpen(p), Action::RefuseOpen(s))
        | (Want::Fail(p), Action::Fail(s))
        | (Want::Halt(p), Action::Halt(s))
        | (Want::KeyLoss(p), Action::KeyLoss(s)) => {
            assert!(s.contains(p), "{ctx}: `{s}` lacks `{p}`");
            assert!(s.contains("msg from exchange"), "{ctx}: evidence kept");
        }
        _ => panic!("unexpected action: {ctx}"),
    }
}

#[test]
fn every_row_of_the_decision_table() {
    use ErrorClass::*;
    let rows = vec![
        row(Auth, 401, -2015, R, 1, Want::KeyLoss("authentication")),
        row(Auth, 401, -2015, I, 1, Want::KeyLoss("authentication")),
        row(Fatal, 400, -1121, R, 1, Want::Fail("invalid")),
        row(
            OutcomeUnknown,
            503,
            0,
            R,
            1,
            Want::Is(Action::ResolveByClientId),
        ),
        row(
            OutcomeUnknown,
            408,
            0,
            I,
            1,
            Want::Is(Action::ResolveByClientId),
        ),
        row(Noop, 400, -4046, R, 1, Want::Is(Action::AlreadyDone)),
        row(
            ShrinkChunk,
            400,
            -4005,
            R,
            1,
            Want::Is(Action::ShrinkAndReplan),
        ),
        row(
            ShrinkChunk,
            400,
            -4005,
            I,
            4,
            Want::Is(Action::ShrinkAndReplan),
        ),
        row(
            ResyncClock,
            400,
            -1021,
            R,
            2,
            Want::Is(Action::ResyncClockAndResend),
        ),
        row(ResyncClock, 400, -1021, I, 3, Want::Halt("clock")),
        row(Banned, 418, -1003, R, 1, resend()),
        row(Banned, 418, -1003, I, 1, Want::RefuseOpen("banned")),
        row(Retry, 503, -1001, R, 40, resend()),
        row(Backoff, 503, -1008, R, 1, resend()),
        row(Retry, 503, -1001, I, 2, resend()),
        row(
            Backoff,
            503,
            -1008,
            I,
            3,
            Want::RefuseOpen("given up after 3"),
        ),
        row(ReduceOnlyRestricted, 400, -4087, R, 1, reread(false)),
        row(
            ReduceOnlyRestricted,
            400,
            -4400,
            I,
            1,
            Want::RefuseOpen("only reduce"),
        ),
        row(Replan, 400, -2022, R, 1, reread(true)),
        row(Replan, 400, -4118, R, 7, reread(true)),
        row(Replan, 400, -2010, R, 1, reread(true)),
        row(Replan, 400, -2025, R, 1, reread(true)),
        row(Replan, 400, -2019, R, 1, reread(true)),
        row(Replan, 400, -2024, R, 1, reread(false)),
        row(
            Replan,
            400,
            -2022,
            I,
            1,
            Want::Fail("re-planning cannot fix"),
        ),
        row(Replan, 400, -2019, I, 1, Want::Fail("margin")),
        row(
            Replan,
            400,
            -4061,
            R,
            1,
            Want::Is(Action::RereadPositionModeAndReplan),
        ),
        row(
            Replan,
            400,
            -1106,
            I,
            2,
            Want::Is(Action::RereadPositionModeAndReplan),
        ),
        row(
            Replan,
            400,
            -4061,
            R,
            3,
            Want::Fail("re-planning cannot fix"),
        ),
        row(Replan, 400, -4131, R, 1, resend()),
        row(Replan, 400, -4131, I, 1, Want::RefuseOpen("too thin")),
        row(
            Replan,
            400,
            -4164,
            I,
            1,
            Want::Is(Action::ReloadRulesAndReplan),
        ),
        row(
            Replan,
            400,
            -4023,
            R,
            1,
            Want::Is(Action::ReloadRulesAndReplan),
        ),
        row(
            Replan,
            400,
            -4014,
            R,
            2,
            Want::Fail("re-planning cannot fix"),
        ),
        row(
            Replan,
            400,
            -1102,
            R,
            1,
            Want::Fail("re-planning cannot fix"),
        ),
    ];
    for r in &rows {
        check(r);
    }
}

#[test]
fn market_closes_that_keep_failing_fall_back_to_limit_ioc_when_configured() {
    let with = |code, failures, order_type, policy, want| Row {
        class: if code == -4131 {
            ErrorClass::Replan
        } else {
            ErrorClass::Backoff
        },
        http: Some(503),
        code: Some(code),
        risk: R,
        order_type,
        failures,
        policy,
        want,
    };
    check(&with(-1008, 4, MKT, FALLBACK, resend()));
    check(&with(
        -1008,
        5,
        MKT,
        FALLBACK,
        Want::Is(Action::FallbackLimitIoc),
    ));
    check(&with(-1008, 9, MKT, POLICY, resend()));
    check(&with(-1008, 9, LMT, FALLBACK, resend()));
    check(&with(
        -4131,
        1,
        MKT,
        FALLBACK,
        Want::Is(Action::FallbackLimitIoc),
    ));
}

#[test]
fn a_close_refused_with_minus_2010_again_and_again_falls_back_when_configured() {
    let row = |failures, order_type, policy, want| Row {
        class: ErrorClass::Replan,
        http: Some(400),
        code: Some(-2010),
        risk: R,
        order_type,
        failures,
        policy,
        want,
    };
    let reread = || {
        Want::Is(Action::RereadPositionAndReplan {
            cancel_conflicting_reduce_only: true,
        })
    };
    check(&row(4, MKT, FALLBACK, reread()));
    check(&row(5, MKT, FALLBACK, Want::Is(Action::FallbackLimitIoc)));
    check(&row(9, MKT, POLICY, reread()));
    check(&row(9, LMT, FALLBACK, reread()));
}

#[test]
fn a_band_edge_limit_close_that_missed_a_moving_band_is_re_priced_not_failed() {
    let row = |code, risk, order_type, failures| Row {
        class: ErrorClass::Replan,
        http: Some(400),
        code: Some(code),
        risk,
        order_type,
        failures,
        policy: FALLBACK,
        want: Want::Is(Action::Resend {
            why: "the PERCENT_PRICE band moved: re-price the LIMIT at a fresh mark",
        }),
    };
    check(&row(-4016, R, LMT, 1));
    check(&row(-4024, R, LMT, 7));
    // A MARKET or an open with the same codes still reloads the rules first.
    let reload = Row {
        want: Want::Is(Action::ReloadRulesAndReplan),
        ..row(-4016, R, MKT, 1)
    };
    check(&reload);
}

#[test]
fn a_minus_1008_on_a_close_is_recorded_as_evidence() {
    let err = ExchangeError::new(
        ErrorClass::Backoff,
        Some(503),
        Some(-1008),
        "Server is busy",
    );
    let order = FailedOrder {
        class: R,
        order_type: MKT,
        failures: 1,
    };
    let Action::Resend { why } = next_action(&order, &err, &POLICY) else {
        panic!("a close must keep going");
    };
    assert!(why.contains("evidence"));
}

fn classes() -> impl Strategy<Value = ErrorClass> {
    use ErrorClass::*;
    prop::sample::select(vec![
        Retry,
        Backoff,
        Banned,
        ResyncClock,
        Replan,
        ShrinkChunk,
        OutcomeUnknown,
        ReduceOnlyRestricted,
        Noop,
        Auth,
        Fatal,
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn unknown_outcomes_are_resolved_and_closes_are_never_refused_as_opens(
        class in classes(),
        code in prop::option::of(-5100i64..0),
        reducing in any::<bool>(),
        failures in 1u32..50,
        fallback in any::<bool>(),
    ) {
        let err = ExchangeError::new(class, Some(400), code, "m");
        let risk = if reducing { R } else { I };
        let order = FailedOrder { class: risk, order_type: MKT, failures };
        let policy = EscalationPolicy { limit_ioc_fallback: fallback, ..POLICY };
        let action = next_action(&order, &err, &policy);
        if class == ErrorClass::OutcomeUnknown {
            prop_assert_eq!(&action, &Action::ResolveByClientId);
        }
        if reducing {
            prop_assert!(!matches!(action, Action::RefuseOpen(_)));
        } else {
            prop_assert!(!matches!(action, Action::FallbackLimitIoc));
        }
    }
}
