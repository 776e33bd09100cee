//! Risk-reducing first, FIFO within a class, never before `not_before`.

use std::time::Duration;

use proptest::prelude::*;

use super::*;

fn ms(base: Instant, n: u64) -> Instant {
    base + Duration::from_millis(n)
}

#[test]
fn a_close_pushed_after_opens_goes_first() {
    let t0 = Instant::now();
    let mut s = Scheduler::new();
    s.push("open-1", RiskClass::Increasing, t0);
    s.push("open-2", RiskClass::Increasing, t0);
    s.push("close", RiskClass::from(IntentKind::Close), t0);
    assert_eq!(s.pop_ready(t0), Some("close"));
    assert_eq!(s.pop_ready(t0), Some("open-1"));
    assert_eq!(s.pop_ready(t0), Some("open-2"));
    assert_eq!(s.pop_ready(t0), None);
}

#[test]
fn opens_wait_while_a_close_is_backing_off() {
    let t0 = Instant::now();
    let mut s = Scheduler::new();
    s.push("open", RiskClass::Increasing, t0);
    s.push("close", RiskClass::Reducing, ms(t0, 500));
    assert_eq!(s.pop_ready(t0), None);
    assert_eq!(s.next_wake(t0), Some(ms(t0, 500)));
    assert_eq!(s.pop_ready(ms(t0, 500)), Some("close"));
    assert_eq!(s.pop_ready(ms(t0, 500)), Some("open"));
}

#[test]
fn an_item_never_leaves_before_its_not_before() {
    let t0 = Instant::now();
    let mut s = Scheduler::new();
    s.push("retry", RiskClass::Reducing, ms(t0, 200));
    assert_eq!(s.pop_ready(ms(t0, 199)), None);
    assert_eq!(s.pop_ready(ms(t0, 200)), Some("retry"));
}

#[test]
fn within_a_class_ready_items_leave_in_push_order() {
    let t0 = Instant::now();
    let mut s = Scheduler::new();
    s.push("a", RiskClass::Reducing, ms(t0, 30));
    s.push("b", RiskClass::Reducing, ms(t0, 10));
    s.push("c", RiskClass::Reducing, ms(t0, 20));
    let now = ms(t0, 30);
    assert_eq!(
        [s.pop_ready(now), s.pop_ready(now), s.pop_ready(now)],
        [Some("a"), Some("b"), Some("c")]
    );
}

#[test]
fn cancelled_work_can_be_taken_out_of_either_lane() {
    let t0 = Instant::now();
    let mut s = Scheduler::new();
    s.push((1, "close"), RiskClass::Reducing, ms(t0, 100));
    s.push((2, "open"), RiskClass::Increasing, t0);
    s.push((1, "open"), RiskClass::Increasing, t0);
    let removed = s.remove_where(|(intent, _)| *intent == 1);
    assert_eq!(removed.len(), 2);
    assert_eq!(s.pending(), (0, 1));
    assert_eq!(s.pop_ready(t0), Some((2, "open")));
    assert!(s.is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Against a naive model: push everything, then pop at increasing times.
    #[test]
    fn the_queue_obeys_risk_order_fifo_and_not_before(
        items in prop::collection::vec((any::<bool>(), 0u64..100), 1..40),
        steps in prop::collection::vec(0u64..30, 1..60),
    ) {
        let t0 = Instant::now();
        let mut s = Scheduler::new();
        for (i, (reducing, delay)) in items.iter().enumerate() {
            let class = if *reducing { RiskClass::Reducing } else { RiskClass::Increasing };
            s.push(i, class, ms(t0, *delay));
        }
        let mut left: Vec<usize> = (0..items.len()).collect();
        let mut now = 0;
        for step in steps.iter().chain(std::iter::repeat_n(&10, 20)) {
            now += step;
            while let Some(i) = s.pop_ready(ms(t0, now)) {
                let (reducing, delay) = items[i];
                prop_assert!(delay <= now, "left before its time");
                if !reducing {
                    prop_assert!(left.iter().all(|j| !items[*j].0), "open overtook a close");
                }
                let earlier_ready = left.iter().any(|j| {
                    *j < i && items[*j].0 == reducing && items[*j].1 <= now
                });
                prop_assert!(!earlier_ready, "FIFO broken");
                left.retain(|j| *j != i);
            }
            if let Some(wake) = s.next_wake(ms(t0, now)) {
                prop_assert!(wake >= ms(t0, now));
            }
        }
        prop_assert!(left.is_empty());
        prop_assert!(s.is_empty());
    }
}
