//! Persistent control flags and learned symbol caps survive in the ledger.

use rust_decimal_macros::dec;
use serde_json::json;
use sluice::ledger::{Ledger, NewSymbolCap};
use sluice_testkit::ledger::*;
use sqlx::PgPool;

#[sqlx::test(migrations = "./migrations")]
async fn a_control_flag_keeps_the_last_value_and_who_set_it(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);

    ledger
        .set_control_flag("halt", &json!({"halted": true}), "operator")
        .await
        .unwrap();
    ledger
        .set_control_flag("halt", &json!({"halted": false}), "api")
        .await
        .unwrap();

    let flag = ledger.control_flag("halt").await.unwrap().unwrap();
    assert_eq!(
        (flag.value, flag.actor.as_str()),
        (json!({"halted": false}), "api")
    );
    assert!(ledger.control_flag("other").await.unwrap().is_none());
}

#[sqlx::test(migrations = "./migrations")]
async fn a_learned_market_cap_is_replaced_by_a_newer_lesson(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let symbol = sym("SOLUSDT");

    let cap = |max, published, reason, retry_after| NewSymbolCap {
        symbol: &symbol,
        max_qty: qty(max),
        published_max_qty: published,
        reason,
        retry_after,
    };
    ledger
        .record_symbol_cap(VENUE, &cap(dec!(1000), None, "-4005 at 1200", None))
        .await
        .unwrap();
    let published = Some(qty(dec!(4000)));
    ledger
        .record_symbol_cap(
            VENUE,
            &cap(dec!(500), published, "-4005 at 1000", Some(t(60))),
        )
        .await
        .unwrap();
    let zero = ledger
        .record_symbol_cap(VENUE, &cap(dec!(0), None, "bad", None))
        .await;

    let caps = ledger.symbol_caps(VENUE).await.unwrap();
    assert_eq!(caps.len(), 1);
    assert_eq!(
        (caps[0].learned_market_max_qty.get(), caps[0].retry_after),
        (dec!(500), Some(t(60)))
    );
    assert_eq!(caps[0].published_market_max_qty, published);
    assert!(zero.is_err());
}
