//! Tests of the background-read gate: unscoped reads nothing waits on may fill only
//! [`BACKGROUND_SHARE`] of the IP's weight per minute, and never book anything.

use std::time::Duration;

use super::*;

fn ip(weight_1m: u32) -> Accounts {
    Accounts::new(
        Budget {
            weight_1m,
            orders_10s: 300,
            orders_1m: 1200,
        },
        Reserve::NONE,
    )
}

/// Mid-minute server time, far from a boundary.
const MID: i64 = 1_800_000_025_000;

fn spend(a: &mut Accounts, server_ms: i64, weight: u32) {
    let t = a
        .try_take(Instant::now(), server_ms, Cost::weight(weight))
        .expect("fits");
    a.complete(t, server_ms + 5, Observed::default());
}

#[test]
fn a_background_read_fits_while_the_minute_stays_within_half_the_weight_limit() {
    let mut a = ip(2400);
    spend(&mut a, MID, 1160);
    assert!(
        a.background_fits(Instant::now(), MID + 10, 40),
        "1160 + 40 = half"
    );
    spend(&mut a, MID + 20, 1);
    assert!(
        !a.background_fits(Instant::now(), MID + 30, 40),
        "1201 + 40 is over half"
    );
    // The rest of the minute is still there for every other request.
    assert!(a
        .try_take(Instant::now(), MID + 40, Cost::weight(1000))
        .is_ok());
}

#[test]
fn asking_whether_a_background_read_fits_books_nothing() {
    let mut a = ip(2400);
    spend(&mut a, MID, 100);
    for _ in 0..100 {
        assert!(a.background_fits(Instant::now(), MID + 10, 40));
    }
    assert_eq!(a.used(MID + 20).weight_1m, Some(100));
}

#[test]
fn a_background_read_waits_for_the_next_venue_minute_not_a_sliding_one() {
    let mut a = ip(2400);
    spend(&mut a, MID, 1190);
    assert!(!a.background_fits(Instant::now(), MID + 10, 40));
    let next_minute = 1_800_000_060_000 + MARGIN_MS;
    assert!(a.background_fits(Instant::now(), next_minute, 40));
}

#[test]
fn a_header_showing_another_clients_weight_closes_the_gate() {
    let mut a = ip(2400);
    let t = a
        .try_take(Instant::now(), MID, Cost::weight(1))
        .expect("fits");
    a.complete(
        t,
        MID + 5,
        Observed {
            weight_1m: Some(1500),
            ..Observed::default()
        },
    );
    assert!(!a.background_fits(Instant::now(), MID + 10, 1));
}

#[test]
fn no_background_read_goes_during_a_back_off_or_a_ban() {
    let mut a = ip(2400);
    let now = Instant::now();
    a.back_off_until(now + Duration::from_secs(5));
    assert!(!a.background_fits(now, MID, 1));
    let mut b = ip(2400);
    b.ban_until(now + Duration::from_secs(60));
    assert!(!b.background_fits(now, MID, 1));
}
