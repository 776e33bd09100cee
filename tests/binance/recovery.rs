//! Resolving several orders of one symbol at once (crash recovery): each answer is what
//! resolving it alone would say, the fills of all of them come from one userTrades read
//! (IP weight 5) instead of one per order, and the ids GET order does not know share one
//! openOrders read.

use rust_decimal::Decimal;
use serde_json::Value;
use sluice::domain::{ClientOrderId, Side, Symbol};
use sluice::exchange::Purpose;
use sluice::exchange::{Exchange, OrderResolution};
use sluice_testkit::adapter::*;

fn count(state: &Value, endpoint: &str) -> i64 {
    state["stats"]["requestsByEndpoint"][endpoint]
        .as_i64()
        .unwrap_or(0)
}

#[tokio::test]
async fn orders_of_one_symbol_are_resolved_with_their_fills_from_one_trades_read() {
    // Arrange: three MARKET orders that filled, and one id the venue never saw.
    let l = start(scenario("", "")).await;
    let sol = Symbol::new("SOLUSDT").expect("symbol");
    let since = chrono::Utc::now();
    let mut ids = Vec::new();
    for i in 1..=3 {
        let id = format!("many-{i}");
        let order = l.market("SOLUSDT", Side::Buy, "1", false, &id).await;
        l.ex.place_order(&order).await.expect("fills");
        ids.push(ClientOrderId::new(&id).expect("id"));
    }
    ids.push(ClientOrderId::new("many-never-sent").expect("id"));
    let before = l.state().await;

    // Act.
    let answers =
        l.ex.resolve_orders(&sol, &ids, since, Purpose::ReduceRisk)
            .await;

    // Assert: every filled order is known with all of its fills, named by its id; the
    // unknown one is NotFound; one userTrades read served them all.
    assert_eq!(answers.len(), 4);
    for (id, answer) in ids.iter().zip(&answers).take(3) {
        match answer {
            Ok(OrderResolution::Known { order, trades }) => {
                assert_eq!(order.client_order_id, id.as_str());
                let filled: Decimal = trades.iter().map(|t| t.quantity.get()).sum();
                assert_eq!(filled, order.executed_qty.get(), "{id}: {trades:?}");
                assert_eq!(filled, Decimal::ONE, "{id}");
                assert!(trades
                    .iter()
                    .all(|t| t.client_order_id.as_ref() == Some(id)));
            }
            other => panic!("{id}: {other:?}"),
        }
    }
    assert!(
        matches!(answers[3], Ok(OrderResolution::NotFound)),
        "{:?}",
        answers[3]
    );
    let after = l.state().await;
    let trade_reads =
        count(&after, "GET /fapi/v1/userTrades") - count(&before, "GET /fapi/v1/userTrades");
    assert_eq!(trade_reads, 1, "one read for the fills of three orders");
    let open_reads =
        count(&after, "GET /fapi/v1/openOrders") - count(&before, "GET /fapi/v1/openOrders");
    assert_eq!(
        open_reads, 1,
        "one openOrders read for the ids GET order did not know"
    );
    l.sim.shutdown().await;
}
