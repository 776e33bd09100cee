//! Property: a random sequence of fills applied in random batches (`apply_fills`) leaves
//! the ledger exactly where the same fills applied one transaction each (`apply_fill`)
//! leave it: the same outcome per fill, positions (figures, status, and the position a
//! reopen creates), orders (filled quantity, average price, status, position, exchange
//! id), fill rows (order, external, position, applied quantity) and anomalies.
//!
//! Two databases, the same setup in each: a LONG SOLUSDT (one-way) and a SHORT ETHUSDT
//! (hedge) each opened by a first fill, more open orders on both, close orders of
//! several sizes. The fills: partial and over-closes, further opens (after a close in
//! the same batch they open a new position), fills on the wrong side, external fills and
//! repeats of earlier trades. 24 cases × up to 30 fills.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sluice::domain::{Direction, Fill, IntentKind, PositionMode, PositionSide, Side};
use sluice::ledger::{FillOutcome, Ledger, OrderRow};
use sluice_testkit::ledger::*;

const CASES: u32 = 24;

/// One fill of the sequence: which order (index into the setup's orders; past the end:
/// an external fill), how much, at what price, on the wrong side, or a repeat of the
/// fill `back` places earlier.
#[derive(Clone, Debug)]
enum Step {
    Fill {
        order: usize,
        cents: u32,
        price: u32,
        wrong_side: bool,
    },
    Repeat {
        back: usize,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => (0usize..8, 1u32..=80, 90u32..=110, prop::bool::weighted(0.1))
            .prop_map(|(order, cents, price, wrong_side)| Step::Fill { order, cents, price, wrong_side }),
        1 => (1usize..5).prop_map(|back| Step::Repeat { back }),
    ]
}

/// The orders fills go to: opens and closes on both legs (7), then "external".
async fn setup(ledger: &Ledger) -> Vec<OrderRow> {
    let (sol_open, _) = open_filled(
        ledger,
        "sol",
        "SOLUSDT",
        Direction::Long,
        PositionMode::OneWay,
        dec!(1),
        dec!(100),
        1,
    )
    .await;
    let (eth_open, _) = open_filled(
        ledger,
        "eth",
        "ETHUSDT",
        Direction::Short,
        PositionMode::Hedge,
        dec!(1),
        dec!(100),
        2,
    )
    .await;
    let positions = ledger.open_positions().await.expect("positions");
    let mut orders = Vec::new();
    for (open, key, mode) in [
        (&sol_open, "sol", PositionMode::OneWay),
        (&eth_open, "eth", PositionMode::Hedge),
    ] {
        let p = positions
            .iter()
            .find(|p| Some(&p.symbol) == open.symbol.as_ref())
            .expect("opened");
        let close = ledger
            .create_intent(
                &close_intent(&format!("close-{key}"), IntentKind::Close, p.id, mode),
                usdt(dec!(0)),
            )
            .await
            .expect("close accepted")
            .intent;
        let side = p.direction.close_side();
        for (i, q) in [dec!(0.5), dec!(1.5)].into_iter().enumerate() {
            let o = market_order(&close, &format!("c-{key}-{i}"), side, p.position_side, q);
            orders.push(ledger.record_order(&o).await.expect("close order"));
        }
        let more = market_order(
            open,
            &format!("o-{key}-more"),
            p.direction.open_side(),
            p.position_side,
            dec!(2),
        );
        orders.push(ledger.record_order(&more).await.expect("open order"));
    }
    orders
}

fn fills_of(steps: &[Step], orders: &[OrderRow]) -> Vec<Fill> {
    let mut out: Vec<Fill> = Vec::new();
    for (n, s) in steps.iter().enumerate() {
        let f = match s {
            Step::Repeat { back } if *back <= out.len() => out[out.len() - back].clone(),
            Step::Repeat { .. } => continue,
            Step::Fill {
                order,
                cents,
                price,
                wrong_side,
            } => {
                let q = Decimal::new(i64::from(*cents), 2);
                let p = Decimal::from(*price);
                let trade = 100 + n as i64;
                match orders.get(*order) {
                    Some(o) => {
                        let side = match (*wrong_side, o.side) {
                            (false, s) => s,
                            (true, Side::Buy) => Side::Sell,
                            (true, Side::Sell) => Side::Buy,
                        };
                        fill(
                            o.symbol.as_str(),
                            trade,
                            500 + o.id.get(),
                            Some(&o.client_order_id),
                            side,
                            o.position_side,
                            q,
                            p,
                        )
                    }
                    None => fill(
                        "SOLUSDT",
                        trade,
                        7,
                        Some("by-hand"),
                        Side::Buy,
                        PositionSide::Both,
                        q,
                        p,
                    ),
                }
            }
        };
        out.push(f);
    }
    out
}

/// Outcomes with fill ids replaced by trade ids (a duplicate's INSERT may use up an id).
async fn comparable(ledger: &Ledger, outcomes: Vec<FillOutcome>) -> Vec<String> {
    let fills = ledger.all_fills().await.expect("fills");
    let trade = |id| fills.iter().find(|f| f.id == id).map(|f| f.trade_id);
    outcomes
        .into_iter()
        .map(|o| match o {
            FillOutcome::Duplicate => "duplicate".to_string(),
            FillOutcome::External { fill_id } => format!("external {:?}", trade(fill_id)),
            FillOutcome::Applied {
                fill_id,
                order_id,
                position_id,
                applied,
                effect,
                anomaly,
            } => {
                format!(
                    "{:?} {order_id} {position_id:?} {} {effect:?} {anomaly:?}",
                    trade(fill_id),
                    applied.get().normalize()
                )
            }
        })
        .collect()
}

/// Everything the fills changed, ids of fills replaced by trade ids, as text.
async fn state(ledger: &Ledger) -> Vec<String> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT format('position %s %s %s %s %s %s %s %s', id, status, trim_scale(quantity),
                    trim_scale(entry_price), trim_scale(opened_quantity), trim_scale(closed_quantity),
                    trim_scale(exit_price), trim_scale(realized_pnl)) FROM positions
         UNION ALL
         SELECT format('order %s %s %s %s %s %s', id, trim_scale(filled_quantity), trim_scale(avg_price),
                    status, position_id, exchange_order_id) FROM orders
         UNION ALL
         SELECT format('fill %s %s %s %s %s %s', symbol, trade_id, order_id, external,
                    position_id, trim_scale(applied_quantity)) FROM fills
         UNION ALL
         SELECT format('intent %s %s', id, position_id) FROM intents
         UNION ALL
         SELECT format('anomaly %s %s %s %s %s', a.kind, f.symbol, f.trade_id, a.order_id,
                    a.position_id) || ' ' || a.detail::text
           FROM ledger_anomalies a LEFT JOIN fills f ON f.id = a.fill_id
         ORDER BY 1",
    )
    .fetch_all(ledger.pool())
    .await
    .expect("state");
    rows.into_iter().map(|(s,)| s).collect()
}

async fn run_case(
    one: &Ledger,
    many: &Ledger,
    steps: &[Step],
    cuts: &[usize],
) -> Result<(), TestCaseError> {
    for l in [one, many] {
        sqlx::query(
            "TRUNCATE intents, intent_events, orders, fills, positions, exchange_positions,
                 ledger_adjustments, ledger_anomalies RESTART IDENTITY CASCADE",
        )
        .execute(l.pool())
        .await
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    }
    let orders = setup(one).await;
    prop_assert_eq!(
        &setup(many).await.iter().map(|o| o.id).collect::<Vec<_>>(),
        &orders.iter().map(|o| o.id).collect::<Vec<_>>()
    );
    let fills = fills_of(steps, &orders);
    let mut singly = Vec::new();
    for f in &fills {
        singly.push(
            one.apply_fill(VENUE, f, &[])
                .await
                .map_err(|e| TestCaseError::fail(e.to_string()))?,
        );
    }
    let mut batched = Vec::new();
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (fills.len() + 1)).collect();
    cuts.extend([0, fills.len()]);
    cuts.sort_unstable();
    cuts.dedup();
    for w in cuts.windows(2) {
        for o in many
            .apply_fills(VENUE, &fills[w[0]..w[1]], &[], None)
            .await
            .map_err(|e| TestCaseError::fail(e.to_string()))?
        {
            batched.push(o.map_err(|e| TestCaseError::fail(e.to_string()))?);
        }
    }
    prop_assert_eq!(
        comparable(one, singly).await,
        comparable(many, batched).await
    );
    prop_assert_eq!(state(one).await, state(many).await);
    Ok(())
}

#[test]
fn fills_applied_in_random_batches_end_exactly_where_one_by_one_ends() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (a, b) = rt.block_on(async {
        (
            sluice_testkit::db::temp_database().await,
            sluice_testkit::db::temp_database().await,
        )
    });
    let (one, many) = (a.ledger.clone(), b.ledger.clone());
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        max_shrink_iters: 128,
        ..Config::default()
    });
    let strategy = (
        prop::collection::vec(step(), 1..=30),
        prop::collection::vec(0usize..64, 0..4),
    );
    let result = runner.run(&strategy, |(steps, cuts)| {
        rt.block_on(run_case(&one, &many, &steps, &cuts))
    });
    drop((one, many));
    rt.block_on(async {
        a.remove().await;
        b.remove().await;
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
