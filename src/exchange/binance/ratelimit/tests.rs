//! Tests of the limiter: fixed venue windows, header replacement, the reserve, bans, and
//! properties against a model venue that counts like Binance.

use std::sync::Arc;
use std::time::Duration;

use super::limiter::ServerTime;
use super::*;
use rust_decimal_macros::dec;

fn small() -> Budget {
    Budget {
        weight_1m: 10,
        orders_10s: 10,
        orders_1m: 100,
    }
}

/// A server time in the middle of a 10 s window and of a minute (not near any boundary).
const MID: i64 = 1_800_000_025_000;

fn take(a: &mut Accounts, server_ms: i64, cost: Cost) -> Result<Ticket, Wait> {
    a.try_take(Instant::now(), server_ms, cost)
}

fn orders(n: u32) -> Observed {
    Observed {
        weight_1m: None,
        orders_10s: Some(n),
        orders_1m: Some(n),
    }
}

#[test]
fn a_request_over_the_weight_budget_waits_for_the_venue_minute_boundary_not_a_sliding_minute() {
    let mut a = Accounts::new(small(), Reserve::orders(dec!(0.2)));
    let t = take(&mut a, MID, Cost::weight(6)).unwrap();
    a.complete(t, MID + 5, Observed::default());
    let u = take(&mut a, MID + 1_000, Cost::weight(4)).unwrap();
    a.complete(u, MID + 1_005, Observed::default());
    let now = Instant::now();
    let minute_end = 1_800_000_060_000;
    assert_eq!(
        a.try_take(now, MID + 2_000, Cost::weight(1)),
        Err(Wait::Until(
            now + Duration::from_millis((minute_end + MARGIN_MS - MID - 2_000) as u64)
        ))
    );
    // The venue's minute ended: the full budget is back although 6 was spent 35 s ago.
    assert!(take(&mut a, minute_end + MARGIN_MS, Cost::weight(10)).is_ok());
}

#[test]
fn a_header_equal_to_our_own_count_does_not_double_it() {
    let mut a = Accounts::new(small(), Reserve::NONE);
    for i in 1..=4 {
        let t = take(&mut a, MID + i, Cost::order(true)).unwrap();
        a.complete(t, MID + i + 3, orders(i as u32));
    }
    assert_eq!(a.used(MID + 10).orders_10s, Some(4));
    for _ in 0..6 {
        take(&mut a, MID + 20, Cost::order(true)).unwrap();
    }
    assert!(matches!(
        take(&mut a, MID + 20, Cost::order(true)),
        Err(Wait::Until(_))
    ));
}

#[test]
fn a_higher_header_from_another_client_raises_the_count_for_that_window_only() {
    let mut a = Accounts::new(small(), Reserve::NONE);
    let t = take(&mut a, MID, Cost::order(true)).unwrap();
    a.complete(t, MID + 3, orders(9));
    assert_eq!(a.used(MID + 10).orders_10s, Some(9));
    take(&mut a, MID + 10, Cost::order(true)).unwrap();
    assert!(take(&mut a, MID + 11, Cost::order(true)).is_err());
    // The next 10 s window starts from our own in-flight order only.
    let next = 1_800_000_030_000 + MARGIN_MS;
    assert_eq!(a.used(next).orders_10s, Some(1));
}

#[test]
fn a_lower_header_replaces_a_count_we_booked_in_two_windows() {
    let mut a = Accounts::new(small(), Reserve::NONE);
    // Booked 50 ms before the boundary: it may land in either window, so it counts in both.
    let boundary = 1_800_000_030_000;
    let t = take(&mut a, boundary - 50, Cost::order(true)).unwrap();
    a.complete(t, boundary - 40, Observed::default());
    assert_eq!(a.used(boundary + 300).orders_10s, Some(1));
    // The venue says the next window holds only the order just answered.
    let u = take(&mut a, boundary + 300, Cost::order(true)).unwrap();
    a.complete(u, boundary + 310, orders(1));
    assert_eq!(a.used(boundary + 320).orders_10s, Some(1));
}

#[test]
fn own_requests_in_flight_are_counted_on_top_of_a_header_that_cannot_contain_them() {
    let mut a = Accounts::new(small(), Reserve::NONE);
    let first = take(&mut a, MID, Cost::order(true)).unwrap();
    let in_flight: Vec<_> = (0..3)
        .map(|_| take(&mut a, MID + 1, Cost::order(true)).unwrap())
        .collect();
    // The venue processed only the first one when it answered it.
    a.complete(first, MID + 5, orders(1));
    assert_eq!(a.used(MID + 6).orders_10s, Some(4));
    drop(in_flight);
}

#[test]
fn concurrent_requests_answered_out_of_order_are_not_counted_twice() {
    let mut a = Accounts::new(small(), Reserve::NONE);
    let tickets: Vec<_> = (0..4)
        .map(|_| take(&mut a, MID, Cost::order(true)).unwrap())
        .collect();
    // The venue processed them in order 3, 1, 0, 2; the answers come back in that order.
    for (t, h) in [(3, 1), (1, 2), (0, 3), (2, 4)] {
        a.complete(tickets[t], MID + 10 + h as i64, orders(h));
    }
    assert_eq!(a.used(MID + 20).orders_10s, Some(4));
}

#[test]
fn a_late_old_header_does_not_undo_a_newer_higher_one() {
    let mut a = Accounts::new(small(), Reserve::NONE);
    let old = take(&mut a, MID, Cost::order(true)).unwrap();
    let new = take(&mut a, MID + 1, Cost::order(true)).unwrap();
    a.complete(new, MID + 4, orders(8));
    // Until the older one answers, the newer header may not contain it: 8 + 1.
    assert_eq!(a.used(MID + 4).orders_10s, Some(9));
    a.complete(old, MID + 5, orders(1));
    // Its header (1 < 8) shows it was processed first, so 8 already held it.
    assert_eq!(a.used(MID + 6).orders_10s, Some(8));
}

#[test]
fn a_request_in_flight_across_a_boundary_counts_in_the_new_window_until_answered() {
    let mut a = Accounts::new(small(), Reserve::NONE);
    let boundary = 1_800_000_030_000;
    let t = take(&mut a, boundary - 5_000, Cost::order(true)).unwrap();
    assert_eq!(a.used(boundary + 1_000).orders_10s, Some(1));
    a.complete(t, boundary + 1_000, Observed::default());
    // Answered: it may still have been processed in this window, so it stays counted.
    assert_eq!(a.used(boundary + 2_000).orders_10s, Some(1));
    // A window that starts after its answer does not see it.
    assert_eq!(a.used(boundary + 10_000 + MARGIN_MS).orders_10s, Some(0));
}

#[test]
fn opens_stop_at_the_reserve_and_closes_can_use_it() {
    let mut a = Accounts::new(small(), Reserve::orders(dec!(0.2)));
    for _ in 0..8 {
        assert!(take(&mut a, MID, Cost::order(false)).is_ok());
    }
    assert!(matches!(
        take(&mut a, MID, Cost::order(false)),
        Err(Wait::Until(_))
    ));
    assert!(take(&mut a, MID, Cost::order(true)).is_ok());
    assert!(take(&mut a, MID, Cost::order(true)).is_ok());
    assert!(matches!(
        take(&mut a, MID, Cost::order(true)),
        Err(Wait::Until(_))
    ));
}

#[test]
fn a_ban_fails_fast_until_it_ends_and_a_backoff_makes_everyone_wait() {
    let t0 = Instant::now();
    let mut a = Accounts::new(small(), Reserve::NONE);
    let end = t0 + Duration::from_secs(120);
    a.ban_until(end);
    assert_eq!(a.try_take(t0, MID, Cost::weight(1)), Err(Wait::Banned(end)));
    assert!(a.try_take(end, MID, Cost::weight(1)).is_ok());
    let nb = end + Duration::from_secs(3);
    a.back_off_until(nb);
    assert_eq!(
        a.try_take(end, MID, Cost::order(true)),
        Err(Wait::Until(nb))
    );
}

#[test]
fn a_cost_larger_than_the_budget_is_refused_rather_than_waited_for() {
    let mut a = Accounts::new(small(), Reserve::orders(dec!(1)));
    assert_eq!(take(&mut a, MID, Cost::order(false)), Err(Wait::Never));
    assert_eq!(take(&mut a, MID, Cost::weight(11)), Err(Wait::Never));
}

/// Server time that follows tokio's (paused) clock.
#[derive(Debug)]
struct PausedTime(Instant);

impl ServerTime for PausedTime {
    fn server_now_ms(&self) -> i64 {
        MID + self.0.elapsed().as_millis() as i64
    }
}

#[tokio::test(start_paused = true)]
async fn acquire_waits_on_the_paused_clock_for_the_next_venue_window() {
    let limiter = RateLimiter::new(small(), Reserve::NONE, Arc::new(PausedTime(Instant::now())));
    let start = Instant::now();
    for _ in 0..10 {
        limiter
            .acquire(Cost::order(false))
            .await
            .unwrap()
            .complete(Observed::default());
    }
    limiter.acquire(Cost::order(false)).await.unwrap();
    // MID is 5 s into a 10 s window: the 11th order waits for the next one, not 10 s.
    assert!(Instant::now() >= start + Duration::from_millis(5_000 + MARGIN_MS as u64));
    assert!(Instant::now() < start + Duration::from_secs(10));
}

#[tokio::test(start_paused = true)]
async fn a_dropped_permit_stops_counting_as_in_flight() {
    let limiter = RateLimiter::new(small(), Reserve::NONE, Arc::new(PausedTime(Instant::now())));
    let p = limiter.acquire(Cost::order(true)).await.unwrap();
    drop(p);
    tokio::time::sleep(Duration::from_secs(11)).await;
    let now = limiter.server_now_ms();
    assert_eq!(limiter.used(now).orders_10s, Some(0));
}

#[path = "props.rs"]
mod props;

#[test]
fn budgets_come_from_exchange_info_rate_limits() {
    let info: crate::exchange::binance::rest::wire::ExchangeInfo = serde_json::from_str(
        &crate::exchange::binance::samples::SOL_EXCHANGE_INFO
            .replace("\"limit\":2400", "\"limit\":6000"),
    )
    .unwrap();
    let b = Budget::from_rate_limits(&info.rate_limits);
    assert_eq!(
        b,
        Budget {
            weight_1m: 6000,
            orders_10s: 300,
            orders_1m: 1200
        }
    );
}
