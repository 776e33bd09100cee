//! Tests of the weight reserve: requests that are not risk-reducing stop short of the
//! IP's weight limit by [`WEIGHT_RESERVE_SHARE`]; risk-reducing ones may use all of it.

use super::*;

/// Mid-minute server time, far from a boundary.
const MID: i64 = 1_800_000_025_000;

fn ip_with_reserve() -> Accounts {
    Accounts::new(Budget::default(), Reserve::weight(WEIGHT_RESERVE_SHARE))
}

fn risk_reducing(weight: u32) -> Cost {
    Cost {
        reduces_risk: true,
        ..Cost::weight(weight)
    }
}

fn spend(a: &mut Accounts, server_ms: i64, cost: Cost) -> Result<Ticket, Wait> {
    let t = a.try_take(Instant::now(), server_ms, cost)?;
    a.complete(t, server_ms + 5, Observed::default());
    Ok(t)
}

#[test]
fn start_up_reads_stop_at_ninety_percent_of_the_minute_and_a_close_uses_the_rest() {
    let mut a = ip_with_reserve();
    // Start-up reads fill what they may: 2,160 of 2,400.
    assert!(spend(&mut a, MID, Cost::weight(2160)).is_ok());
    assert!(matches!(
        spend(&mut a, MID + 10, Cost::weight(1)),
        Err(Wait::Until(_))
    ));
    // A close's batches and its GET order / userTrades still go now.
    for i in 0..48 {
        assert!(
            spend(&mut a, MID + 20 + i, risk_reducing(5)).is_ok(),
            "risk-reducing request {i}"
        );
    }
    assert_eq!(a.used(MID + 100).weight_1m, Some(2400));
    // The venue's limit holds for them too.
    assert!(matches!(
        spend(&mut a, MID + 110, risk_reducing(1)),
        Err(Wait::Until(_))
    ));
}

#[test]
fn without_a_reserve_every_request_may_use_the_whole_minute() {
    let mut a = Accounts::new(Budget::default(), Reserve::NONE);
    assert!(spend(&mut a, MID, Cost::weight(2400)).is_ok());
    assert_eq!(a.used(MID + 10).weight_1m, Some(2400));
}

#[test]
fn the_reserve_applies_to_weight_only_and_leaves_the_order_counters_to_their_own_share() {
    let mut a = ip_with_reserve();
    // An open (not risk-reducing) still has every order of the counter with no order reserve.
    for i in 0..300 {
        assert!(
            spend(&mut a, MID + i, Cost::order(false)).is_ok(),
            "order {i}"
        );
    }
}
