//! A fill stored external only because its order's exchange id was not known yet (a
//! trade read over REST carries no client order id: the user stream's resync) is given
//! to its order when the exchange id is stored, by each path that stores it: the order's
//! answer (`update_order_status`), the stream's batched order reports
//! (`record_order_reports`) and a later fill that names the order (the fill batch). The
//! ledger ends exactly where it would have, had the fill arrived after the exchange id:
//! each race is played on account `main` and the same facts in the other order on
//! account `b` of the same database, and the two ledgers are compared row by row.

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sluice::domain::{Direction, OrderState, PositionMode, PositionSide, Side};
use sluice::ledger::{AnomalyKind, FillOutcome, IntentRow, Ledger, OrderUpdate, ReportedOrder};
use sluice::ops::doctor::{run as doctor, DoctorOptions, FindingClass};
use sluice_testkit::ledger::*;
use sqlx::PgPool;

use crate::support::second_account;

const SOL: &str = "SOLUSDT";

/// How the order's exchange id reaches the ledger.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Learn {
    /// The order's answer (REST, WS API or the settle read).
    Answer,
    /// The user stream's `ORDER_TRADE_UPDATE`s, batched.
    Report,
    /// A later fill of the order that carries its client order id (trade 12: 0.5 at 161).
    Fill,
}

const ALL: [Learn; 3] = [Learn::Answer, Learn::Report, Learn::Fill];

/// What the order is: a close of a LONG of 2 at 150, or an open of a LONG.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Close,
    Open,
}

/// The intent and the client order id of an order of 2 SOLUSDT (BUY for an open, SELL
/// for a close), recorded and not answered yet: no exchange id. `tag` keeps the keys
/// and client order ids of the two accounts apart (they are unique in the database).
async fn unanswered_order(ledger: &Ledger, kind: Kind, tag: &str) -> (IntentRow, String) {
    let coid = format!("{tag}-order");
    let (intent, side) = match kind {
        Kind::Close => (long_and_its_close_tagged(ledger, tag).await, Side::Sell),
        Kind::Open => {
            let intent = ledger
                .create_intent(
                    &open_intent(
                        &format!("{tag}-open"),
                        SOL,
                        Direction::Long,
                        PositionMode::OneWay,
                        dec!(300),
                    ),
                    usdt(dec!(1000000)),
                )
                .await
                .expect("open accepted")
                .intent;
            (intent, Side::Buy)
        }
    };
    ledger
        .record_order(&market_order(
            &intent,
            &coid,
            side,
            PositionSide::Both,
            dec!(2),
        ))
        .await
        .expect("order recorded");
    (intent, coid)
}

/// A LONG of 2 SOLUSDT at 150 (trade 1, exchange order 10 on `main`, 20 on `b`: exchange
/// ids are unique in the database) and an accepted close of all of it.
async fn long_and_its_close_tagged(ledger: &Ledger, tag: &str) -> IntentRow {
    let open = ledger
        .create_intent(
            &open_intent(
                &format!("{tag}-long"),
                SOL,
                Direction::Long,
                PositionMode::OneWay,
                dec!(300),
            ),
            usdt(dec!(1000000)),
        )
        .await
        .expect("open accepted")
        .intent;
    let coid = format!("{tag}-long-order");
    ledger
        .record_order(&market_order(
            &open,
            &coid,
            Side::Buy,
            PositionSide::Both,
            dec!(2),
        ))
        .await
        .expect("order recorded");
    let x = if tag == "main" { 10 } else { 20 };
    let bought = fill(
        SOL,
        1,
        x,
        Some(&coid),
        Side::Buy,
        PositionSide::Both,
        dec!(2),
        dec!(150),
    );
    ledger
        .apply_fill(VENUE, &bought, &[])
        .await
        .expect("bought");
    let long = ledger.open_positions().await.expect("positions").remove(0);
    ledger
        .create_intent(
            &close_intent(
                &format!("{tag}-close"),
                sluice::domain::IntentKind::Close,
                long.id,
                PositionMode::OneWay,
            ),
            usdt(Decimal::ZERO),
        )
        .await
        .expect("close accepted")
        .intent
}

fn side_of(kind: Kind) -> Side {
    match kind {
        Kind::Close => Side::Sell,
        Kind::Open => Side::Buy,
    }
}

/// Trade 11 of exchange order `x` as `userTrades` gives it: no client order id.
fn stray(kind: Kind, x: i64) -> sluice::domain::Fill {
    fill(
        SOL,
        11,
        x,
        None,
        side_of(kind),
        PositionSide::Both,
        dec!(1.5),
        dec!(160),
    )
}

/// Store the order's exchange id `x` the `how` way.
async fn learn(ledger: &Ledger, how: Learn, kind: Kind, coid: &str, x: i64) {
    match how {
        Learn::Answer => {
            let update = OrderUpdate {
                status: OrderState::New,
                exchange_order_id: Some(x),
                error_code: None,
                error_msg: None,
            };
            ledger
                .update_order_status(coid, &update)
                .await
                .expect("answer stored");
        }
        Learn::Report => {
            let report = ReportedOrder {
                client_order_id: coid.into(),
                status: OrderState::New,
                exchange_order_id: x,
                expire_reason: None,
            };
            ledger
                .record_order_reports(&[report])
                .await
                .expect("report stored");
        }
        Learn::Fill => {
            let own = fill(
                SOL,
                12,
                x,
                Some(coid),
                side_of(kind),
                PositionSide::Both,
                dec!(0.5),
                dec!(161),
            );
            let outcome = ledger.apply_fill(VENUE, &own, &[]).await.expect("fill");
            assert!(
                matches!(outcome, FillOutcome::Applied { .. }),
                "{outcome:?}"
            );
        }
    }
}

/// Everything the fills moved, without ids (the two accounts number their rows apart):
/// orders, positions, fills, intents, the anomalies still open, the kept and re-summed
/// reserved budget, and the total applied per order against the sum of its fills.
async fn state(ledger: &Ledger) -> Vec<String> {
    let pool = ledger.pool();
    let mut out = Vec::new();
    for sql in [
        "SELECT format('order %s %s %s %s %s', intent_kind, status, filled_quantity,
                avg_price, position_id IS NOT NULL)
           FROM orders WHERE account_id = sluice_account() ORDER BY id",
        "SELECT format('position %s %s %s %s %s %s %s %s', direction, status, quantity,
                entry_price, opened_quantity, closed_quantity, exit_price, realized_pnl)
           FROM positions WHERE account_id = sluice_account() ORDER BY id",
        "SELECT format('fill %s %s %s %s %s', trade_id, external, order_id IS NOT NULL,
                position_id IS NOT NULL, applied_quantity)
           FROM fills WHERE account_id = sluice_account() ORDER BY trade_id",
        "SELECT format('intent %s %s %s', kind, state, position_id IS NOT NULL)
           FROM intents WHERE account_id = sluice_account() ORDER BY id",
        "SELECT format('anomaly %s %s', kind, detail - 'trade_id' - 'exchange_order_id')
           FROM ledger_anomalies WHERE account_id = sluice_account() AND resolved_at IS NULL
          ORDER BY id",
        "SELECT format('reserved %s %s', sluice_reserved_kept(sluice_account()),
                trim_scale(sluice_reserved_summed(sluice_account())))",
        "SELECT format('order %s filled %s, its fills %s', o.intent_kind, o.filled_quantity,
                COALESCE((SELECT sum(f.quantity) FROM fills f WHERE f.order_id = o.id), 0))
           FROM orders o WHERE account_id = sluice_account() ORDER BY id",
    ] {
        let rows: Vec<String> = sqlx::query_scalar(sql)
            .fetch_all(pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        out.extend(rows);
    }
    out
}

/// The `fill` events of trade `trade`: (external, order id, applied quantity).
async fn fill_events(
    ledger: &Ledger,
    trade: i64,
) -> Vec<(serde_json::Value, Option<i64>, serde_json::Value)> {
    ledger
        .events_after(0, 1000)
        .await
        .unwrap()
        .events
        .into_iter()
        .filter(|e| e.kind == "fill" && e.payload["trade_id"] == trade)
        .map(|e| {
            (
                e.payload["external"].clone(),
                e.payload["order_id"].as_i64(),
                e.payload["applied_quantity"].clone(),
            )
        })
        .collect()
}

async fn clean_doctor(ledger: &Ledger) -> Vec<String> {
    let opts = DoctorOptions {
        confirm: false,
        allocation: dec!(1000000),
    };
    doctor(ledger, opts)
        .await
        .expect("doctor runs")
        .findings
        .iter()
        .map(|f| format!("{} {}", f.class.as_str(), f.detail))
        .collect()
}

/// The race on `main` (the fill, then the exchange id) and the same facts in the other
/// order on `b`: the two ledgers agree; `main` kept its anomaly, resolved to the order,
/// and announced the fill again as its order's; doctor is clean.
async fn race_then_compare(pool: PgPool, kind: Kind, how: Learn) {
    let main = Ledger::from_pool(pool);
    let b = second_account(&main).await;
    let (x_main, x_b) = (7001, 7002);

    let (_, coid) = unanswered_order(&main, kind, "main").await;
    let outcome = main
        .apply_fill(VENUE, &stray(kind, x_main), &[])
        .await
        .expect("stray applied");
    assert!(
        matches!(outcome, FillOutcome::External { .. }),
        "{outcome:?}"
    );
    let stranded = state(&main).await;
    assert!(
        stranded.contains(&"fill 11 t f f 0".to_string()),
        "{stranded:?}"
    );
    learn(&main, how, kind, &coid, x_main).await;

    let (_, coid_b) = unanswered_order(&b, kind, "b").await;
    learn(&b, how, kind, &coid_b, x_b).await;
    let outcome = b
        .apply_fill(VENUE, &stray(kind, x_b), &[])
        .await
        .expect("fill applied");
    assert!(
        matches!(outcome, FillOutcome::Applied { .. }),
        "{outcome:?}"
    );

    let (raced, straight) = (state(&main).await, state(&b).await);
    assert_eq!(raced, straight, "{kind:?} learned by {how:?}");
    assert!(
        raced.contains(&"fill 11 f t t 1.5".to_string()),
        "{raced:?}"
    );

    let order = main
        .order_by_client_id(&coid)
        .await
        .unwrap()
        .expect("order");
    let anomalies = main.anomalies().await.unwrap();
    let external: Vec<_> = anomalies
        .iter()
        .filter(|a| a.kind == AnomalyKind::ExternalFill)
        .collect();
    assert_eq!(external.len(), 1, "the evidence stays: {anomalies:?}");
    assert!(external[0].resolved_at.is_some());
    assert_eq!(external[0].resolved_order_id, Some(order.id));

    assert_eq!(
        fill_events(&main, 11).await,
        vec![
            (serde_json::json!(true), None, serde_json::json!("0")),
            (
                serde_json::json!(false),
                Some(order.id.get()),
                serde_json::json!("1.5")
            ),
        ]
    );
    assert_eq!(clean_doctor(&main).await, Vec::<String>::new());
}

#[sqlx::test(migrations = "./migrations")]
async fn a_close_fill_stored_external_is_applied_when_the_answer_names_its_order(pool: PgPool) {
    race_then_compare(pool, Kind::Close, Learn::Answer).await;
}

#[sqlx::test(migrations = "./migrations")]
async fn a_close_fill_stored_external_is_applied_when_a_stream_report_names_its_order(
    pool: PgPool,
) {
    race_then_compare(pool, Kind::Close, Learn::Report).await;
}

#[sqlx::test(migrations = "./migrations")]
async fn a_close_fill_stored_external_is_applied_when_a_later_fill_names_its_order(pool: PgPool) {
    race_then_compare(pool, Kind::Close, Learn::Fill).await;
}

#[sqlx::test(migrations = "./migrations")]
async fn an_open_fill_stored_external_opens_the_position_when_the_answer_names_its_order(
    pool: PgPool,
) {
    race_then_compare(pool, Kind::Open, Learn::Answer).await;
}

#[sqlx::test(migrations = "./migrations")]
async fn an_open_fill_stored_external_opens_the_position_when_a_stream_report_names_its_order(
    pool: PgPool,
) {
    race_then_compare(pool, Kind::Open, Learn::Report).await;
}

#[sqlx::test(migrations = "./migrations")]
async fn an_open_fill_stored_external_opens_the_position_when_a_later_fill_names_its_order(
    pool: PgPool,
) {
    race_then_compare(pool, Kind::Open, Learn::Fill).await;
}

/// The stray and the fill that names its order in ONE batch (the resync's trades, the
/// stray first): the batch learns the exchange id from the second and gives it the first.
#[sqlx::test(migrations = "./migrations")]
async fn a_batch_whose_later_fill_names_the_order_gives_it_the_earlier_stray(pool: PgPool) {
    let main = Ledger::from_pool(pool);
    let b = second_account(&main).await;
    let (_, coid) = unanswered_order(&main, Kind::Close, "main").await;
    let own = |coid: &str, x| {
        fill(
            SOL,
            12,
            x,
            Some(coid),
            Side::Sell,
            PositionSide::Both,
            dec!(0.5),
            dec!(161),
        )
    };

    let outcomes = main
        .apply_fills(
            VENUE,
            &[stray(Kind::Close, 7001), own(&coid, 7001)],
            &[],
            None,
        )
        .await
        .expect("batch");
    assert!(outcomes.iter().all(|o| o.is_ok()), "{outcomes:?}");

    let (_, coid_b) = unanswered_order(&b, Kind::Close, "b").await;
    b.apply_fill(VENUE, &own(&coid_b, 7002), &[]).await.unwrap();
    b.apply_fill(VENUE, &stray(Kind::Close, 7002), &[])
        .await
        .unwrap();
    assert_eq!(state(&main).await, state(&b).await);
    assert_eq!(clean_doctor(&main).await, Vec::<String>::new());
    let order = main.order_by_client_id(&coid).await.unwrap().unwrap();
    assert_eq!(
        fill_events(&main, 11).await,
        vec![(
            serde_json::json!(false),
            Some(order.id.get()),
            serde_json::json!("1.5")
        )],
        "stored and given to its order in one transaction: one event"
    );
}

/// A fill of an exchange order no sluice order ever gets stays external, flagged, and
/// doctor names it; an order learning another exchange id does not take it.
#[sqlx::test(migrations = "./migrations")]
async fn a_genuinely_external_fill_stays_external_and_doctor_reports_it(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let (_, coid) = unanswered_order(&ledger, Kind::Close, "main").await;
    ledger
        .apply_fill(VENUE, &stray(Kind::Close, 555), &[])
        .await
        .unwrap();

    for how in ALL {
        learn(&ledger, how, Kind::Close, &coid, 7001).await;
    }

    let fills = ledger.all_fills().await.unwrap();
    let stranger = fills.iter().find(|f| f.trade_id == 11).expect("trade 11");
    assert!(stranger.external && stranger.order_id.is_none());
    let anomalies = ledger.anomalies().await.unwrap();
    assert!(anomalies
        .iter()
        .any(|a| a.kind == AnomalyKind::ExternalFill && a.resolved_at.is_none()));
    let order = ledger.order_by_client_id(&coid).await.unwrap().unwrap();
    assert_eq!(order.filled_quantity.get(), dec!(0.5), "only its own fill");
    assert_eq!(
        clean_doctor(&ledger).await,
        vec![format!(
            "external_fill fill #{} (trade 11 of exchange order 555 on SOLUSDT: SELL 1.5 at 160) \
             is explained by no sluice order",
            stranger.id
        )]
    );
    let report = doctor(
        &ledger,
        DoctorOptions {
            confirm: false,
            allocation: dec!(1000000),
        },
    )
    .await
    .unwrap();
    assert!(report
        .findings
        .iter()
        .any(|f| f.class == FindingClass::ExternalFill));
}

/// After re-attribution the same trade again (as the stream has it, with its client order
/// id, or as REST has it, without) is a duplicate: nothing is applied twice.
#[sqlx::test(migrations = "./migrations")]
async fn the_same_trade_again_after_re_attribution_changes_nothing(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    for kind in [Kind::Close, Kind::Open] {
        let tag = format!("{kind:?}");
        let (_, coid) = unanswered_order(&ledger, kind, &tag).await;
        let x = if kind == Kind::Close { 7001 } else { 7003 };
        let trade = |coid: Option<&str>| {
            let mut f = stray(kind, x);
            f.trade_id = if kind == Kind::Close { 11 } else { 21 };
            f.client_order_id = coid.map(|c| sluice::domain::ClientOrderId::new(c).expect("coid"));
            f
        };
        ledger.apply_fill(VENUE, &trade(None), &[]).await.unwrap();
        learn(&ledger, Learn::Answer, kind, &coid, x).await;
        let before = state(&ledger).await;

        for again in [trade(None), trade(Some(&coid))] {
            let outcome = ledger.apply_fill(VENUE, &again, &[]).await.unwrap();
            assert_eq!(outcome, FillOutcome::Duplicate);
        }
        let outcomes = ledger
            .apply_fills(VENUE, &[trade(None), trade(Some(&coid))], &[], None)
            .await
            .unwrap();
        assert!(outcomes
            .iter()
            .all(|o| matches!(o, Ok(FillOutcome::Duplicate))));
        // The answer again (and a report) finds nothing external left to give.
        learn(&ledger, Learn::Answer, kind, &coid, x).await;
        learn(&ledger, Learn::Report, kind, &coid, x).await;
        assert_eq!(state(&ledger).await, before, "{kind:?}");
        let order = ledger.order_by_client_id(&coid).await.unwrap().unwrap();
        assert_eq!(order.filled_quantity.get(), dec!(1.5), "{kind:?}");
    }
}

/// Wait until some session waits for a lock of `locktype`.
async fn until_waiting(pool: &PgPool, what: &str, locktype: &'static str) {
    sluice_testkit::poll::until(what, std::time::Duration::from_secs(20), || async {
        let waiting: i64 =
            sqlx::query_scalar("SELECT count(*) FROM pg_locks WHERE locktype = $1 AND NOT granted")
                .bind(locktype)
                .fetch_one(pool)
                .await
                .expect("pg_locks");
        waiting >= 1
    })
    .await;
}

/// A close of 2 with no exchange id yet, then `fills` of exchange order 7001 (no client
/// order id) and the answer, in flight together: the ledger ends with every fill applied
/// to the order and nothing external.
async fn assert_all_attributed(ledger: &Ledger, coid: &str) {
    let order = ledger.order_by_client_id(coid).await.unwrap().unwrap();
    assert_eq!(
        (order.filled_quantity.get(), order.status),
        (dec!(2), OrderState::Filled)
    );
    let fills = ledger.all_fills().await.unwrap();
    assert!(
        fills.iter().all(|f| !f.external && f.order_id.is_some()),
        "{fills:?}"
    );
    assert!(ledger.open_positions().await.unwrap().is_empty());
    assert_eq!(clean_doctor(ledger).await, Vec::<String>::new());
}

/// The fill's batch finds no order, and the answer is stored while the batch is still
/// open: the answer waits for the batch (the exchange order's lock) and then finds its
/// fill stored external. Without that lock the answer would commit first seeing no fill,
/// and the fill would stay external.
#[sqlx::test(migrations = "./migrations")]
async fn an_answer_stored_while_the_fills_batch_is_open_finds_the_fill_once_it_commits(
    pool: PgPool,
) {
    let ledger = Ledger::from_pool(pool.clone());
    let (_, coid) = unanswered_order(&ledger, Kind::Close, "main").await;
    let mut blocker = pool.begin().await.unwrap();
    // The same trade, not committed: the batch's insert waits for it.
    sqlx::query(
        "INSERT INTO fills (venue, symbol, trade_id, exchange_order_id, side, position_side,
             price, quantity, commission, commission_asset, realized_pnl, maker, traded_at,
             external)
         VALUES ($1, 'SOLUSDT', 11, 7001, 'SELL', 'BOTH', 160, 2, 0, 'USDT', 0, false, now(), true)",
    )
    .bind(VENUE)
    .execute(&mut *blocker)
    .await
    .unwrap();
    let batch = {
        let ledger = ledger.clone();
        let mut f = stray(Kind::Close, 7001);
        f.quantity = qty(dec!(2));
        tokio::spawn(async move { ledger.apply_fill(VENUE, &f, &[]).await })
    };
    until_waiting(&pool, "the batch waiting at its insert", "transactionid").await;
    let answer = {
        let (ledger, coid) = (ledger.clone(), coid.clone());
        tokio::spawn(async move { learn(&ledger, Learn::Answer, Kind::Close, &coid, 7001).await })
    };
    until_waiting(
        &pool,
        "the answer waiting for the exchange order",
        "advisory",
    )
    .await;

    blocker.rollback().await.unwrap();

    let outcome = batch.await.unwrap().unwrap();
    assert!(
        matches!(outcome, FillOutcome::External { .. }),
        "{outcome:?}"
    );
    answer.await.unwrap();
    assert_all_attributed(&ledger, &coid).await;
}

/// The answer is stored and still open when a fill's batch finds no order: the batch
/// waits for the answer (the exchange order's lock), then reads the orders again and
/// applies its fill to the order the answer named.
#[sqlx::test(migrations = "./migrations")]
async fn a_fills_batch_that_finds_no_order_while_an_answer_is_open_waits_and_finds_it(
    pool: PgPool,
) {
    let ledger = Ledger::from_pool(pool.clone());
    let (_, coid) = unanswered_order(&ledger, Kind::Close, "main").await;
    // An earlier stray of the order, stored external; held so the answer stops at it.
    let early = fill(
        SOL,
        10,
        7001,
        None,
        Side::Sell,
        PositionSide::Both,
        dec!(0.5),
        dec!(159),
    );
    ledger.apply_fill(VENUE, &early, &[]).await.unwrap();
    let mut blocker = pool.begin().await.unwrap();
    sqlx::query("SELECT id FROM fills WHERE trade_id = 10 FOR UPDATE")
        .execute(&mut *blocker)
        .await
        .unwrap();
    let answer = {
        let (ledger, coid) = (ledger.clone(), coid.clone());
        tokio::spawn(async move { learn(&ledger, Learn::Answer, Kind::Close, &coid, 7001).await })
    };
    until_waiting(&pool, "the answer waiting at the stray", "transactionid").await;
    let batch = {
        let ledger = ledger.clone();
        tokio::spawn(async move {
            ledger
                .apply_fill(VENUE, &stray(Kind::Close, 7001), &[])
                .await
        })
    };
    until_waiting(
        &pool,
        "the batch waiting for the exchange order",
        "advisory",
    )
    .await;

    blocker.commit().await.unwrap();

    answer.await.unwrap();
    let outcome = batch.await.unwrap().unwrap();
    assert!(
        matches!(outcome, FillOutcome::Applied { .. }),
        "{outcome:?}"
    );
    assert_all_attributed(&ledger, &coid).await;
}

/// Reconcile's repair of the leg to the exchange's position, read at `read_at`, with the
/// stray (trade 11, 1.5) stored external: the exchange's position holds it. Close: the
/// LONG of 2 is resized to 0.5; open: the exchange's LONG of 1.5 at 160 is adopted.
async fn reconcile_to_exchange(
    ledger: &Ledger,
    kind: Kind,
    read_at: chrono::DateTime<chrono::Utc>,
) -> Vec<sluice::reconcile::Repair> {
    let sol = sluice::domain::Symbol::new(SOL).unwrap();
    let d = match kind {
        Kind::Close => {
            let long = ledger.open_positions().await.unwrap().remove(0);
            sluice::reconcile::Discrepancy::SizeMismatch {
                symbol: sol,
                position_side: PositionSide::Both,
                position_id: long.id,
                ledger: dec!(2),
                exchange: dec!(0.5),
                exchange_entry_price: dec!(150),
            }
        }
        Kind::Open => sluice::reconcile::Discrepancy::PositionUnknownToLedger {
            symbol: sol,
            position_side: PositionSide::Both,
            amount: dec!(1.5),
            entry_price: dec!(160),
            sluice_tagged: true,
        },
    };
    let repairs = sluice::reconcile::apply(ledger, VENUE, "reconcile", &[d], read_at).await;
    assert!(
        repairs
            .iter()
            .all(|r| !matches!(r.outcome, sluice::reconcile::RepairOutcome::Failed { .. })),
        "{repairs:?}"
    );
    repairs
}

/// `fills.accounted_by` of trade `trade`.
async fn accounted_by(ledger: &Ledger, trade: i64) -> Option<i64> {
    sqlx::query_scalar(
        "SELECT accounted_by FROM fills WHERE trade_id = $1 AND account_id = sluice_account()",
    )
    .bind(trade)
    .fetch_one(ledger.pool())
    .await
    .unwrap()
}

/// The stray is stored external, reconcile sets the leg to the exchange's position (which
/// holds the stray's trade), then the order's exchange id is learned: the stray is its
/// order's fill (filled quantity, status, intent, budget) and the position stays where
/// the exchange has it, not moved a second time.
async fn reconciled_then_learned(pool: PgPool, kind: Kind, how: Learn) {
    let ledger = Ledger::from_pool(pool);
    let x = 7001;
    let (intent, coid) = unanswered_order(&ledger, kind, "main").await;
    let outcome = ledger
        .apply_fill(VENUE, &stray(kind, x), &[])
        .await
        .expect("stray applied");
    assert!(
        matches!(outcome, FillOutcome::External { .. }),
        "{outcome:?}"
    );
    reconcile_to_exchange(&ledger, kind, chrono::Utc::now()).await;
    assert!(
        accounted_by(&ledger, 11).await.is_some(),
        "the correction accounted for the stray"
    );
    let position = ledger.open_positions().await.unwrap().remove(0);
    let corrected = position.quantity.get();
    let exchange = match kind {
        Kind::Close => dec!(0.5),
        Kind::Open => dec!(1.5),
    };
    assert_eq!(corrected, exchange);
    let doctor_before = clean_doctor(&ledger).await;

    learn(&ledger, how, kind, &coid, x).await;

    // The exchange after the learning: trade 12 (0.5, own fill) when the order was
    // learned from it, applied normally: it happened after the read.
    let own = match (how, kind) {
        (Learn::Fill, Kind::Close) => dec!(-0.5),
        (Learn::Fill, Kind::Open) => dec!(0.5),
        _ => Decimal::ZERO,
    };
    let now = ledger
        .position(position.id)
        .await
        .unwrap()
        .expect("position");
    assert_eq!(
        now.quantity.get(),
        exchange + own,
        "{kind:?} by {how:?}: the position equals the exchange's, not doubled"
    );
    let order = ledger.order_by_client_id(&coid).await.unwrap().unwrap();
    let own_q = own.abs();
    assert_eq!(order.filled_quantity.get(), dec!(1.5) + own_q, "{order:?}");
    assert_eq!(order.exchange_order_id, Some(x));
    let fills = ledger.all_fills().await.unwrap();
    let f11 = fills.iter().find(|f| f.trade_id == 11).expect("trade 11");
    assert!(!f11.external && f11.order_id == Some(order.id), "{f11:?}");
    assert_eq!(f11.position_id, Some(position.id));
    assert_eq!(f11.applied_quantity.get(), dec!(1.5));
    let external: Vec<_> = ledger
        .anomalies()
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.kind == AnomalyKind::ExternalFill)
        .collect();
    assert_eq!(external.len(), 1);
    assert_eq!(external[0].resolved_order_id, Some(order.id));
    if kind == Kind::Open {
        // The intent is the adopted position's: its close acts on it.
        let intent = ledger.intent(intent.id).await.unwrap().expect("intent");
        assert_eq!(intent.position_id, Some(position.id));
        assert_eq!(order.position_id, Some(position.id));
    }
    // Budget: the trade's value counts once (in `used`, through the position); the
    // intent's reservation dropped by it as for any fill; kept == re-summed.
    let (kept, summed): (Decimal, Decimal) = sqlx::query_as(
        "SELECT sluice_reserved_kept(sluice_account()), sluice_reserved_summed(sluice_account())",
    )
    .fetch_one(ledger.pool())
    .await
    .unwrap();
    assert_eq!(kept, summed);
    if kind == Kind::Open && how != Learn::Fill {
        assert_eq!(summed, dec!(60), "300 - 1.5 x 160");
    }
    // Its event as its order's; no position event after the correction's.
    let events = fill_events(&ledger, 11).await;
    assert_eq!(
        events.last().cloned(),
        Some((
            serde_json::json!(false),
            Some(order.id.get()),
            serde_json::json!("1.5")
        ))
    );
    // Doctor: before, the stray was external (and a resize left the fills short of the
    // quantity); now the fills (with the adopted quantity) explain the position.
    assert!(
        doctor_before.iter().any(|f| f.starts_with("external_fill")),
        "{doctor_before:?}"
    );
    assert_eq!(clean_doctor(&ledger).await, Vec::<String>::new());
}

#[sqlx::test(migrations = "./migrations")]
async fn a_close_fill_reconcile_accounted_for_does_not_reduce_again_when_the_answer_names_its_order(
    pool: PgPool,
) {
    reconciled_then_learned(pool, Kind::Close, Learn::Answer).await;
}

#[sqlx::test(migrations = "./migrations")]
async fn a_close_fill_reconcile_accounted_for_does_not_reduce_again_when_a_report_names_its_order(
    pool: PgPool,
) {
    reconciled_then_learned(pool, Kind::Close, Learn::Report).await;
}

#[sqlx::test(migrations = "./migrations")]
async fn a_close_fill_reconcile_accounted_for_does_not_reduce_again_when_a_later_fill_names_its_order(
    pool: PgPool,
) {
    reconciled_then_learned(pool, Kind::Close, Learn::Fill).await;
}

#[sqlx::test(migrations = "./migrations")]
async fn an_open_fill_reconcile_adopted_does_not_grow_the_position_again_when_the_answer_names_its_order(
    pool: PgPool,
) {
    reconciled_then_learned(pool, Kind::Open, Learn::Answer).await;
}

#[sqlx::test(migrations = "./migrations")]
async fn an_open_fill_reconcile_adopted_does_not_grow_the_position_again_when_a_later_fill_names_its_order(
    pool: PgPool,
) {
    reconciled_then_learned(pool, Kind::Open, Learn::Fill).await;
}

/// A stray traded after the exchange's position was read is not in it: the correction
/// does not account for it, and its re-attribution applies it as usual.
#[sqlx::test(migrations = "./migrations")]
async fn a_fill_traded_after_reconciles_read_is_not_accounted_for_and_applies(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let (_, coid) = unanswered_order(&ledger, Kind::Close, "main").await;
    ledger
        .apply_fill(VENUE, &stray(Kind::Close, 7001), &[])
        .await
        .unwrap();
    // Trade 11 is at t(11): read at t(10), the exchange's 0.5 does not hold it (say
    // another trade made it so).
    reconcile_to_exchange(&ledger, Kind::Close, t(10)).await;
    assert_eq!(accounted_by(&ledger, 11).await, None);
    learn(&ledger, Learn::Answer, Kind::Close, &coid, 7001).await;
    let positions = ledger.open_positions().await.unwrap();
    assert!(positions.is_empty(), "0.5 - 1.5 capped: {positions:?}");
}

/// Without a reconcile in between the stray is applied once, as before (the races
/// above); a correction that changes nothing (the ledger already agrees) marks nothing.
#[sqlx::test(migrations = "./migrations")]
async fn a_correction_that_changes_nothing_accounts_for_no_fill(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let (_, coid) = unanswered_order(&ledger, Kind::Close, "main").await;
    ledger
        .apply_fill(VENUE, &stray(Kind::Close, 7001), &[])
        .await
        .unwrap();
    let long = ledger.open_positions().await.unwrap().remove(0);
    let d = sluice::reconcile::Discrepancy::SizeMismatch {
        symbol: sluice::domain::Symbol::new(SOL).unwrap(),
        position_side: PositionSide::Both,
        position_id: long.id,
        ledger: dec!(2),
        exchange: dec!(2),
        exchange_entry_price: dec!(150),
    };
    let repairs =
        sluice::reconcile::apply(&ledger, VENUE, "reconcile", &[d], chrono::Utc::now()).await;
    assert_eq!(
        repairs[0].outcome,
        sluice::reconcile::RepairOutcome::AlreadyConsistent
    );
    assert_eq!(accounted_by(&ledger, 11).await, None);
    learn(&ledger, Learn::Answer, Kind::Close, &coid, 7001).await;
    let now = ledger.position(long.id).await.unwrap().unwrap();
    assert_eq!(now.quantity.get(), dec!(0.5));
}

/// Can another transaction lock position `id` right now? False when a writer holds its
/// row lock.
async fn position_is_free(pool: &PgPool, id: sluice::ledger::PositionId) -> bool {
    let mut tx = pool.begin().await.unwrap();
    let probe = sqlx::query("SELECT 1 FROM positions WHERE id = $1 FOR UPDATE NOWAIT")
        .bind(id.get())
        .execute(&mut *tx)
        .await;
    tx.rollback().await.unwrap();
    match probe {
        Ok(_) => true,
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("55P03") => false,
        Err(e) => panic!("probe: {e}"),
    }
}

/// The lock order (`reattribute.rs`): two fill batches meet on one exchange order and one
/// position. Batch B holds the exchange order 7001's key (its stray names no order) and
/// is stopped before its positions (its other trade is being inserted by a blocker).
/// Batch A's fill names order `c1` with exchange id 7001 for the first time. A must wait
/// for the key WITHOUT holding the position: before, it locked the position first and
/// waited for the key while B, released, waited for the position, a circle Postgres broke
/// by failing one of them. Then both finish and every fill is applied once.
#[sqlx::test(migrations = "./migrations")]
async fn a_batch_learning_an_exchange_id_takes_its_key_before_the_position(pool: PgPool) {
    let ledger = Ledger::from_pool(pool.clone());
    let close = long_and_its_close_tagged(&ledger, "main").await;
    let long = ledger.open_positions().await.unwrap().remove(0);
    let mut o1 = market_order(&close, "c1", Side::Sell, PositionSide::Both, dec!(1));
    o1.chunk_index = 0;
    let mut o2 = market_order(&close, "c2", Side::Sell, PositionSide::Both, dec!(0.5));
    o2.chunk_index = 1;
    ledger.record_order(&o1).await.unwrap();
    ledger.record_order(&o2).await.unwrap();
    learn(&ledger, Learn::Answer, Kind::Close, "c2", 8002).await;
    let sell = |trade, x, coid: Option<&str>, q| {
        fill(
            SOL,
            trade,
            x,
            coid,
            Side::Sell,
            PositionSide::Both,
            q,
            dec!(160),
        )
    };

    let mut blocker = pool.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO fills (venue, symbol, trade_id, exchange_order_id, side, position_side,
             price, quantity, commission, commission_asset, realized_pnl, maker, traded_at,
             external)
         VALUES ($1, 'SOLUSDT', 22, 8002, 'SELL', 'BOTH', 160, 0.5, 0, 'USDT', 0, false, now(), true)",
    )
    .bind(VENUE)
    .execute(&mut *blocker)
    .await
    .unwrap();
    let b = {
        let ledger = ledger.clone();
        let batch = [
            sell(21, 7001, None, dec!(0.5)),
            sell(22, 8002, Some("c2"), dec!(0.5)),
        ];
        tokio::spawn(async move { ledger.apply_fills(VENUE, &batch, &[], None).await })
    };
    until_waiting(
        &pool,
        "batch B at its insert, holding 7001's key",
        "transactionid",
    )
    .await;
    let a = {
        let ledger = ledger.clone();
        let own = sell(23, 7001, Some("c1"), dec!(0.5));
        tokio::spawn(async move { ledger.apply_fill(VENUE, &own, &[]).await })
    };
    until_waiting(&pool, "batch A waiting for 7001's key", "advisory").await;

    assert!(
        position_is_free(&pool, long.id).await,
        "batch A waits for the exchange order's key holding the position's lock"
    );

    blocker.rollback().await.unwrap();
    let b = b.await.unwrap().expect("batch B");
    assert!(b.iter().all(|o| o.is_ok()), "{b:?}");
    let a = a.await.unwrap().expect("batch A: no deadlock");
    assert!(matches!(a, FillOutcome::Applied { .. }), "{a:?}");
    let c1 = ledger.order_by_client_id("c1").await.unwrap().unwrap();
    assert_eq!(
        (c1.filled_quantity.get(), c1.status),
        (dec!(1), OrderState::Filled),
        "its own fill and the stray"
    );
    let now = ledger.position(long.id).await.unwrap().unwrap();
    assert_eq!(now.quantity.get(), dec!(0.5), "2 - 0.5 - 0.5 - 0.5");
    assert!(ledger
        .all_fills()
        .await
        .unwrap()
        .iter()
        .all(|f| !f.external));
    assert_eq!(clean_doctor(&ledger).await, Vec::<String>::new());
}

/// Could another transaction insert an open position on the SOLUSDT BOTH leg right now?
/// False when an uncommitted insert holds the leg's one open slot (the probe waits for
/// it, and gives up at its lock timeout). Nothing is kept.
async fn leg_is_free(pool: &PgPool) -> bool {
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SET LOCAL lock_timeout = '200ms'")
        .execute(&mut *tx)
        .await
        .unwrap();
    let probe = sqlx::query(
        "INSERT INTO positions (venue, symbol, direction, position_side, status, quantity,
             entry_price, initial_quantity, opened_quantity, origin)
         VALUES ($1, 'SOLUSDT', 'long', 'BOTH', 'open', 1, 1, 1, 0, 'adopted')",
    )
    .bind(VENUE)
    .execute(&mut *tx)
    .await;
    tx.rollback().await.unwrap();
    match probe {
        // Free, or open already (then the position is committed and the lock is gone).
        Ok(_) => true,
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("23505") => true,
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("55P03") => false,
        Err(e) => panic!("probe: {e}"),
    }
}

/// The lock order (`reattribute.rs`): a correction from the exchange's position (close:
/// reconcile's resize; open: its adoption) meets a re-attribution of the stray it
/// accounts for. The test holds the stray's row lock, as a re-attribution does between
/// locking its fills and locking (or creating) the leg's position. The correction must
/// wait for the fill WITHOUT holding the position (or, adopting, the leg's open slot):
/// before, it held the position and then waited for the fill, while the re-attribution,
/// released, would wait for the position: a circle Postgres broke by failing one, and
/// when that was the re-attribution the fill was then marked and never given to its
/// order. Then the correction marks the fill, and learning the order links it.
async fn correction_waits_for_the_fills_first(pool: PgPool, kind: Kind) {
    let ledger = Ledger::from_pool(pool.clone());
    let (_, coid) = unanswered_order(&ledger, kind, "main").await;
    ledger
        .apply_fill(VENUE, &stray(kind, 7001), &[])
        .await
        .unwrap();
    let long = ledger.open_positions().await.unwrap().first().map(|p| p.id);

    let mut holder = pool.begin().await.unwrap();
    sqlx::query(
        "SELECT id FROM fills WHERE trade_id = 11 AND external AND account_id = sluice_account()
         FOR NO KEY UPDATE",
    )
    .fetch_one(&mut *holder)
    .await
    .unwrap();
    let correction = {
        let ledger = ledger.clone();
        tokio::spawn(async move { reconcile_to_exchange(&ledger, kind, chrono::Utc::now()).await })
    };
    until_waiting(
        &pool,
        "the correction waiting for the stray's row",
        "transactionid",
    )
    .await;
    match (kind, long) {
        (Kind::Close, Some(long)) => assert!(
            position_is_free(&pool, long).await,
            "the correction waits for the fill holding the position's lock"
        ),
        _ => assert!(
            leg_is_free(&pool).await,
            "the adoption waits for the fill holding the leg's open slot"
        ),
    }
    holder.rollback().await.unwrap();
    correction.await.unwrap();
    assert!(accounted_by(&ledger, 11).await.is_some());
    let position = ledger.open_positions().await.unwrap().remove(0);
    learn(&ledger, Learn::Answer, kind, &coid, 7001).await;
    let order = ledger.order_by_client_id(&coid).await.unwrap().unwrap();
    assert_eq!(order.filled_quantity.get(), dec!(1.5));
    let now = ledger.position(position.id).await.unwrap().unwrap();
    assert_eq!(now.quantity, position.quantity, "not moved a second time");
    assert_eq!(clean_doctor(&ledger).await, Vec::<String>::new());
}

#[sqlx::test(migrations = "./migrations")]
async fn a_resize_locks_the_fills_it_accounts_for_before_the_position(pool: PgPool) {
    correction_waits_for_the_fills_first(pool, Kind::Close).await;
}

#[sqlx::test(migrations = "./migrations")]
async fn an_adoption_locks_the_fills_it_accounts_for_before_inserting_the_position(pool: PgPool) {
    correction_waits_for_the_fills_first(pool, Kind::Open).await;
}

/// The ledger is LONG P1; an open order's fill (the stray, trade 11) is stored external;
/// reconcile finds the exchange flat, closes P1 and marks the stray; sluice then opens
/// P2 on the same leg; then the order's exchange id arrives. The stray is the order's
/// (filled quantity), but P2 does not hold it (it was opened after the correction, from
/// its own fill): neither the fill, the order nor the intent names P2, the fill applies
/// nothing, and P2's fills still explain it. Before, the stray was linked to whatever
/// position was open on the leg: P2, with applied 1.5, and doctor saw P2 short of fills.
#[sqlx::test(migrations = "./migrations")]
async fn a_marked_open_fill_is_not_linked_to_a_position_opened_after_its_correction(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    long_and_its_close_tagged(&ledger, "p1").await;
    let p1 = ledger.open_positions().await.unwrap().remove(0);
    let (intent, coid) = unanswered_order(&ledger, Kind::Open, "main").await;
    let outcome = ledger
        .apply_fill(VENUE, &stray(Kind::Open, 7001), &[])
        .await
        .unwrap();
    assert!(
        matches!(outcome, FillOutcome::External { .. }),
        "{outcome:?}"
    );
    let d = sluice::reconcile::Discrepancy::PositionMissingOnExchange {
        position: sluice::reconcile::LedgerPosition {
            position_id: p1.id,
            symbol: sluice::domain::Symbol::new(SOL).unwrap(),
            position_side: PositionSide::Both,
            direction: Direction::Long,
            quantity: p1.quantity,
        },
    };
    let repairs =
        sluice::reconcile::apply(&ledger, VENUE, "reconcile", &[d], chrono::Utc::now()).await;
    assert!(
        matches!(
            repairs[0].outcome,
            sluice::reconcile::RepairOutcome::Adjusted { .. }
        ),
        "{repairs:?}"
    );
    assert!(accounted_by(&ledger, 11).await.is_some());
    assert!(ledger.open_positions().await.unwrap().is_empty());

    // P2: a new open on the leg, from its own fill (trade 30 of exchange order 9001).
    let open2 = ledger
        .create_intent(
            &open_intent(
                "p2-open",
                SOL,
                Direction::Long,
                PositionMode::OneWay,
                dec!(300),
            ),
            usdt(dec!(1000000)),
        )
        .await
        .expect("open accepted")
        .intent;
    ledger
        .record_order(&market_order(
            &open2,
            "p2-order",
            Side::Buy,
            PositionSide::Both,
            dec!(1),
        ))
        .await
        .unwrap();
    let own = fill(
        SOL,
        30,
        9001,
        Some("p2-order"),
        Side::Buy,
        PositionSide::Both,
        dec!(1),
        dec!(170),
    );
    ledger.apply_fill(VENUE, &own, &[]).await.unwrap();
    let p2 = ledger.open_positions().await.unwrap().remove(0);
    assert_ne!(p2.id, p1.id);
    let order_before = ledger.order_by_client_id(&coid).await.unwrap().unwrap();
    let intent_before = ledger.intent(intent.id).await.unwrap().unwrap();

    learn(&ledger, Learn::Answer, Kind::Open, &coid, 7001).await;

    let order = ledger.order_by_client_id(&coid).await.unwrap().unwrap();
    assert_eq!(order.filled_quantity.get(), dec!(1.5));
    assert_eq!(order.position_id, order_before.position_id, "{order:?}");
    assert_ne!(order.position_id, Some(p2.id));
    let intent = ledger.intent(intent.id).await.unwrap().unwrap();
    assert_eq!(intent.position_id, intent_before.position_id, "{intent:?}");
    assert_ne!(intent.position_id, Some(p2.id));
    let fills = ledger.all_fills().await.unwrap();
    let f11 = fills.iter().find(|f| f.trade_id == 11).expect("trade 11");
    assert!(!f11.external && f11.order_id == Some(order.id), "{f11:?}");
    assert_eq!(f11.position_id, None);
    assert_eq!(f11.applied_quantity.get(), Decimal::ZERO);
    let now = ledger.position(p2.id).await.unwrap().unwrap();
    assert_eq!(now.quantity.get(), dec!(1));
    let audit = ledger
        .position_audits()
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.position.id == p2.id)
        .unwrap();
    assert_eq!(
        (audit.expected_quantity(), audit.open_fill_count),
        (dec!(1), 1),
        "P2's fills: its own"
    );
}

/// A marked close fill larger than what its position held (a close of 2.5 on the LONG of
/// 2, which reconcile closed when it found the exchange flat) applies what the position
/// held, as a close is capped, and records the excess.
#[sqlx::test(migrations = "./migrations")]
async fn a_marked_close_fill_applies_at_most_what_its_position_held(pool: PgPool) {
    let ledger = Ledger::from_pool(pool);
    let (_, coid) = unanswered_order(&ledger, Kind::Close, "main").await;
    let long = ledger.open_positions().await.unwrap().remove(0);
    let big = fill(
        SOL,
        11,
        7001,
        None,
        Side::Sell,
        PositionSide::Both,
        dec!(2.5),
        dec!(160),
    );
    ledger.apply_fill(VENUE, &big, &[]).await.unwrap();
    let d = sluice::reconcile::Discrepancy::PositionMissingOnExchange {
        position: sluice::reconcile::LedgerPosition {
            position_id: long.id,
            symbol: sluice::domain::Symbol::new(SOL).unwrap(),
            position_side: PositionSide::Both,
            direction: Direction::Long,
            quantity: long.quantity,
        },
    };
    sluice::reconcile::apply(&ledger, VENUE, "reconcile", &[d], chrono::Utc::now()).await;
    assert!(accounted_by(&ledger, 11).await.is_some());

    learn(&ledger, Learn::Answer, Kind::Close, &coid, 7001).await;

    let fills = ledger.all_fills().await.unwrap();
    let f11 = fills.iter().find(|f| f.trade_id == 11).expect("trade 11");
    assert_eq!(f11.position_id, Some(long.id));
    assert_eq!(
        f11.applied_quantity.get(),
        dec!(2),
        "capped at the LONG's 2"
    );
    let capped = ledger
        .anomalies()
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.kind == AnomalyKind::OverCloseCapped)
        .count();
    assert_eq!(capped, 1);
}
