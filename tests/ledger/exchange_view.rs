//! The ledger's copy of the exchange's view: a complete REST snapshot zeroes the legs it
//! does not list (positionRisk v3 leaves flat symbols out), and a fill records whether
//! it came from the user stream or over REST.

use rust_decimal_macros::dec;
use sluice::domain::{Direction, PositionMode, PositionSide, Side};
use sluice::ledger::{FillOutcome, FillSource, Ledger};
use sluice_testkit::ledger::*;
use sqlx::PgPool;

async fn stored(ledger: &Ledger, symbol: &str) -> rust_decimal::Decimal {
    ledger
        .exchange_positions()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.symbol.as_str() == symbol)
        .map(|r| r.amount)
        .expect("a stored row")
}

#[sqlx::test(migrations = "./migrations")]
async fn a_complete_snapshot_zeroes_the_legs_it_no_longer_lists(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let short = reported(
        "SOLUSDT",
        PositionSide::Both,
        dec!(-8486.84),
        dec!(180),
        t(10),
    );
    let long = reported("BTCUSDT", PositionSide::Both, dec!(0.5), dec!(60000), t(10));
    ledger
        .record_exchange_positions(VENUE, &[short, long])
        .await
        .unwrap();

    // The SHORT was closed: a later read lists only BTCUSDT.
    let btc = reported("BTCUSDT", PositionSide::Both, dec!(0.5), dec!(60000), t(10));
    ledger
        .record_exchange_snapshot(VENUE, &[btc], t(20))
        .await
        .unwrap();

    assert_eq!(stored(&ledger, "SOLUSDT").await, dec!(0));
    assert_eq!(stored(&ledger, "BTCUSDT").await, dec!(0.5));
}

#[sqlx::test(migrations = "./migrations")]
async fn a_snapshot_asked_for_before_a_newer_event_does_not_roll_it_back(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let opened = reported("ETHUSDT", PositionSide::Both, dec!(2), dec!(3000), t(30));
    ledger
        .record_exchange_positions(VENUE, &[opened])
        .await
        .unwrap();

    // A read asked for at t=20 (before the open's event) does not list ETHUSDT yet.
    ledger
        .record_exchange_snapshot(VENUE, &[], t(20))
        .await
        .unwrap();

    assert_eq!(stored(&ledger, "ETHUSDT").await, dec!(2));
}

#[sqlx::test(migrations = "./migrations")]
async fn a_fill_keeps_the_source_it_first_arrived_from(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let intent = ledger
        .create_intent(
            &open_intent(
                "open",
                "SOLUSDT",
                Direction::Long,
                PositionMode::OneWay,
                dec!(300),
            ),
            usdt(dec!(1000000)),
        )
        .await
        .unwrap()
        .intent;
    let order = market_order(&intent, "o-src", Side::Buy, PositionSide::Both, dec!(2));
    ledger.record_order(&order).await.unwrap();
    let part = |trade_id| {
        fill(
            "SOLUSDT",
            trade_id,
            10,
            Some("o-src"),
            Side::Buy,
            PositionSide::Both,
            dec!(1),
            dec!(150),
        )
    };

    ledger.apply_fill(VENUE, &part(1), &[]).await.unwrap();
    let first = ledger
        .apply_fill_from(VENUE, &part(2), &[], Some(FillSource::Rest))
        .await
        .unwrap();
    let again = ledger
        .apply_fill_from(VENUE, &part(2), &[], Some(FillSource::Stream))
        .await
        .unwrap();

    assert!(matches!(first, FillOutcome::Applied { .. }), "{first:?}");
    assert_eq!(again, FillOutcome::Duplicate);
    let sources: Vec<_> = ledger
        .fills_of_intent(intent.id)
        .await
        .unwrap()
        .into_iter()
        .map(|f| (f.trade_id, f.source))
        .collect();
    // `apply_fill` does not say where a fill came from; the REST arrival is kept.
    assert_eq!(sources, vec![(1, None), (2, Some(FillSource::Rest))]);
}
