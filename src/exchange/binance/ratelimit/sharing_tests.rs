//! Tests of several accounts on one IP: orders are counted per account, weight, a weight
//! 429 and a ban per IP (docs/binance-fapi.md §3).

use std::sync::Arc;
use std::time::Duration;

use rust_decimal_macros::dec;
use tokio::time::Instant;

use super::limiter::ServerTime;
use super::*;

fn small() -> Budget {
    Budget {
        weight_1m: 10,
        orders_10s: 3,
        orders_1m: 100,
    }
}

/// Server time in the middle of a 10 s window and of a minute, following tokio's clock.
#[derive(Debug)]
struct PausedTime(Instant);

impl ServerTime for PausedTime {
    fn server_now_ms(&self) -> i64 {
        1_800_000_025_000 + self.0.elapsed().as_millis() as i64
    }
}

/// Two accounts' limiters on one IP.
fn two_accounts() -> (RateLimiter, RateLimiter) {
    let time: Arc<dyn ServerTime> = Arc::new(PausedTime(Instant::now()));
    let ip = IpShare::keeping(small(), dec!(0));
    let a = RateLimiter::sharing(ip.clone(), small(), dec!(0), time.clone());
    let b = RateLimiter::sharing(ip, small(), dec!(0), time);
    (a, b)
}

/// Whether `cost` is granted to `l` now (without waiting on the paused clock).
async fn granted_now(l: &RateLimiter, cost: Cost) -> bool {
    let start = Instant::now();
    let permit = l.acquire(cost).await;
    let at_once = Instant::now() == start;
    if let Ok(p) = permit {
        p.complete(Observed::default());
    }
    at_once
}

#[tokio::test(start_paused = true)]
async fn one_accounts_orders_do_not_use_another_accounts_order_budget() {
    let (a, b) = two_accounts();
    for _ in 0..3 {
        assert!(granted_now(&a, Cost::order(true)).await);
    }

    assert!(granted_now(&b, Cost::order(true)).await);
    let now = a.server_now_ms();
    assert_eq!(a.used(now).orders_10s, Some(3));
    assert_eq!(b.used(now).orders_10s, Some(1));
}

#[tokio::test(start_paused = true)]
async fn the_weight_of_one_ip_is_shared_by_every_account_on_it() {
    let (a, b) = two_accounts();
    assert!(granted_now(&a, Cost::weight(8)).await);

    let now = b.server_now_ms();
    assert_eq!(b.used(now).weight_1m, Some(8));
    assert!(granted_now(&b, Cost::weight(2)).await);
    // The minute is full for both: the next weighted request of either waits.
    assert!(!granted_now(&b, Cost::weight(1)).await);
    assert!(
        granted_now(&a, Cost::order(true)).await,
        "orders weigh nothing"
    );
}

#[tokio::test(start_paused = true)]
async fn an_order_rate_429_holds_only_its_account_and_a_weight_429_holds_all() {
    let (a, b) = two_accounts();
    let later = Instant::now() + Duration::from_secs(2);

    a.back_off_until(Some(-1015), later);
    assert!(granted_now(&b, Cost::weight(1)).await);
    assert!(!granted_now(&a, Cost::weight(1)).await);

    b.back_off_until(Some(-1003), Instant::now() + Duration::from_secs(2));
    assert!(!granted_now(&a, Cost::order(true)).await);
}

#[tokio::test(start_paused = true)]
async fn a_ban_of_the_ip_fails_every_account_on_it() {
    let (a, b) = two_accounts();
    let end = Instant::now() + Duration::from_secs(120);

    a.ban_until(end);

    assert!(matches!(b.acquire(Cost::order(true)).await, Err(Wait::Banned(u)) if u == end));
    assert!(matches!(a.acquire(Cost::weight(1)).await, Err(Wait::Banned(u)) if u == end));
}

#[tokio::test(start_paused = true)]
async fn a_request_the_ip_cannot_take_leaves_nothing_booked_on_its_account() {
    let (a, b) = two_accounts();
    let end = Instant::now() + Duration::from_secs(120);
    b.ban_until(end);

    let weighted_order = Cost {
        weight: 1,
        orders: 1,
        orders_1m: 1,
        reduces_risk: true,
    };

    let refused = a.acquire(weighted_order).await;

    assert!(refused.is_err());
    let now = a.server_now_ms();
    assert_eq!(a.used(now).orders_10s, Some(0));
}
