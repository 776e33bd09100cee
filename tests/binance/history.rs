//! Trade history inside userTrades' 3-month retention (docs/binance-fapi.md §0): the
//! adapter's retained-window walk stays within what the simulator accepts (no start older
//! than 3 months, no span over 7 days — both refused there) and finds every trade.

use std::collections::BTreeSet;

use sluice::domain::{Side, Symbol};
use sluice::exchange::binance::retained_trades;
use sluice::exchange::Exchange;
use sluice_testkit::adapter::*;

const SHORT_SOL: &str =
    "positions = [ { symbol = \"SOLUSDT\", side = \"SHORT\", quantity = \"500\", entry_price = \"180\" } ]";

#[tokio::test]
async fn the_retained_walk_finds_every_trade_without_a_refused_request() {
    let l = start(scenario("", SHORT_SOL)).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let close = l
            .market("SOLUSDT", Side::Buy, "4", true, &format!("hist-{i}"))
            .await;
        ids.push(l.ex.place_order(&close).await.unwrap().order_id);
    }
    let sol = Symbol::new("SOLUSDT").unwrap();
    let truth: BTreeSet<i64> =
        l.ex.user_trades(&sol, None)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.trade_id)
            .collect();
    assert!(truth.len() >= ids.len(), "{truth:?}");
    let now = l.ex.rest().clock.server_now_ms();
    let all = retained_trades(l.ex.rest(), &sol, None, now).await.unwrap();
    let walked: BTreeSet<i64> = all.iter().map(|t| t.id).collect();
    assert_eq!(walked, truth);
    let second = *truth.iter().nth(1).unwrap();
    let from = retained_trades(l.ex.rest(), &sol, Some(second), now)
        .await
        .unwrap();
    assert!(from.iter().all(|t| t.id >= second) && from.len() == truth.len() - 1);
    let state = l.state().await;
    let codes = &state["stats"]["responsesByCode"];
    assert!(
        codes.get("-1130").is_none() && codes.get("-1127").is_none(),
        "{codes}"
    );
    l.sim.shutdown().await;
}
