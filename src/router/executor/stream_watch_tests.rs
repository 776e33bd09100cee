use super::*;
use crate::domain::{OrderStatus, OrderType, PositionSide, Qty, Side, Symbol};
use crate::exchange::OrderReport;

const GRACE: Duration = Duration::from_secs(5);

fn report(coid: &str) -> AccountEvent {
    AccountEvent::Order(OrderReport {
        symbol: Symbol::new("SOLUSDT").unwrap(),
        order_id: 1,
        client_order_id: coid.into(),
        side: Side::Buy,
        position_side: PositionSide::Both,
        order_type: OrderType::Market,
        status: OrderStatus::Filled,
        reduce_only: true,
        orig_qty: Qty::parse("q", "1").unwrap(),
        executed_qty: Qty::parse("q", "1").unwrap(),
        avg_price: Default::default(),
        price: Default::default(),
        update_time: Utc::now(),
        expire_reason: None,
    })
}

fn disconnected() -> AccountEvent {
    AccountEvent::Disconnected {
        reason: "test".into(),
    }
}

/// A detector whose stream is connected (its first resync done).
fn connected() -> Detector {
    let mut d = Detector::new(GRACE, 1);
    let mut ended = false;
    assert!(!d.observe(&AccountEvent::Resynced, Instant::now(), &mut ended));
    d
}

#[test]
fn an_order_the_stream_reported_before_rest_answered_is_not_awaited() {
    let mut d = connected();
    let t0 = Instant::now();
    let mut ended = false;
    assert!(
        d.observe(&report("a"), t0, &mut ended),
        "after Resynced: live"
    );
    d.executed("a", t0);
    assert_eq!(d.check(t0 + GRACE * 2), Verdict::Fine);
}

#[test]
fn an_executed_order_unreported_after_the_grace_starts_one_episode() {
    let mut d = connected();
    let t0 = Instant::now();
    d.executed("a", t0);
    assert_eq!(d.check(t0 + GRACE / 2), Verdict::Fine, "within the grace");
    let Verdict::Started(reason) = d.check(t0 + GRACE) else {
        panic!("silence not detected");
    };
    assert!(
        reason.contains("silent") && reason.contains('a'),
        "{reason}"
    );
    assert!(d.episode.is_some());
    // The same evidence is not counted twice.
    assert_eq!(d.check(t0 + GRACE * 3), Verdict::Fine);
}

#[test]
fn re_opens_during_an_episode_are_spaced_by_the_backoff() {
    let mut d = connected();
    let t0 = Instant::now();
    let t1 = t0 + GRACE;
    d.executed("a", t0);
    assert!(matches!(d.check(t1), Verdict::Started(_)));
    // More overdue evidence at once: the first re-open delay (at least 1 s) holds it back.
    d.executed("b", t0);
    assert_eq!(d.check(t1), Verdict::Fine);
    // After the longest first delay (3 s with decorrelated jitter), it re-opens again.
    d.executed("c", t0);
    assert_eq!(d.check(t1 + Duration::from_secs(3)), Verdict::Reopen);
    d.executed("d", t0);
    assert_eq!(d.check(t1 + Duration::from_secs(3)), Verdict::Fine);
}

#[test]
fn the_first_live_event_ends_the_episode_but_resync_events_do_not() {
    let mut d = connected();
    let t0 = Instant::now();
    d.executed("a", t0);
    assert!(matches!(d.check(t0 + GRACE), Verdict::Started(_)));
    let mut ended = false;
    // A re-open: the resync's events are REST, not the stream speaking.
    assert!(!d.observe(&disconnected(), t0, &mut ended));
    assert!(!d.observe(&report("a"), t0, &mut ended));
    assert!(!ended && d.episode.is_some());
    assert!(!d.observe(&AccountEvent::Resynced, t0, &mut ended));
    assert!(d.observe(&report("b"), t0, &mut ended));
    assert!(ended, "a live event ends the episode");
    assert!(d.episode.is_none());
}

#[test]
fn orders_executing_while_disconnected_are_left_to_the_resync() {
    let mut d = connected();
    let t0 = Instant::now();
    d.executed("a", t0);
    let mut ended = false;
    d.observe(&disconnected(), t0, &mut ended);
    d.executed("b", t0);
    assert_eq!(d.check(t0 + GRACE * 2), Verdict::Fine);
    assert!(d.expected.is_empty());
}
