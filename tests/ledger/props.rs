//! Property test of the ledger against a real Postgres: random sequences of opens
//! (whole or in two chunks), partial/full/over closes and reduces, duplicate fills
//! and external fills, in one-way and hedge mode. After EVERY transaction:
//! Σ fills (+ adopted) = position quantity; every position was born of an open fill;
//! no position ever holds a fill of the wrong side (no flip); the ledger's open
//! positions agree with the exchange's view, computed here by a small reference model
//! and as stored in `exchange_positions`; the budget is never negative when the
//! allocation covers every open.
//!
//! One database for the whole property (created and dropped here); tables are
//! truncated between cases. 48 cases × up to 25 steps.

use std::collections::HashMap;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sluice::domain::{Direction, Fill, IntentKind, IntentSpec, PositionMode, PositionSide, Side};
use sluice::exchange::ExchangePosition;
use sluice::ledger::{AnomalyKind, FillOutcome, Ledger, LedgerError, NewIntent};
use sluice_testkit::ledger::*;

const CASES: u32 = 48;
const MAX_STEPS: usize = 25;
const SYMBOL: &str = "SOLUSDT";
const FOREIGN: &str = "DOGEUSDT";
/// Each open is at most 1.00 × 200: 25 opens can never need more.
const ALLOCATION: Decimal = dec!(5000);

#[derive(Clone, Debug)]
enum Op {
    Open {
        long: bool,
        cents: u32,
        price: u32,
        split: bool,
    },
    Close {
        long: bool,
        percent: u32,
        price: u32,
        reduce: bool,
    },
    Duplicate,
    External {
        buy: bool,
        cents: u32,
        price: u32,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<bool>(), 1u32..=100, 100u32..=200, any::<bool>())
            .prop_map(|(long, cents, price, split)| Op::Open { long, cents, price, split }),
        4 => (any::<bool>(), prop::sample::select(vec![25u32, 50, 100, 150]), 100u32..=200, any::<bool>())
            .prop_map(|(long, percent, price, reduce)| Op::Close { long, percent, price, reduce }),
        1 => Just(Op::Duplicate),
        1 => (any::<bool>(), 1u32..=100, 100u32..=200)
            .prop_map(|(buy, cents, price)| Op::External { buy, cents, price }),
    ]
}

/// The exchange's view: signed amount per leg of SYMBOL, and the foreign symbol's.
struct Model {
    mode: PositionMode,
    legs: HashMap<PositionSide, Decimal>,
    foreign: Decimal,
    next_id: i64,
    last: Option<(Fill, Vec<ExchangePosition>)>,
}

impl Model {
    fn next(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }
    fn amount(&self, leg: PositionSide) -> Decimal {
        self.legs.get(&leg).copied().unwrap_or_default()
    }
    fn report(&self, leg: PositionSide, at: i64) -> Vec<ExchangePosition> {
        vec![reported(SYMBOL, leg, self.amount(leg), dec!(0), t(at))]
    }
}

fn signed(direction: Direction, q: Decimal) -> Decimal {
    if direction == Direction::Long {
        q
    } else {
        -q
    }
}

fn fail(msg: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(msg.to_string())
}

async fn step_open(
    ledger: &Ledger,
    m: &mut Model,
    d: Direction,
    q: Decimal,
    p: Decimal,
    split: bool,
) -> Result<(), TestCaseError> {
    let leg = PositionSide::for_mode(m.mode, d);
    let key = format!("open-{}", m.next());
    let result = ledger
        .create_intent(
            &open_intent(&key, SYMBOL, d, m.mode, q * p),
            usdt(ALLOCATION),
        )
        .await;
    let opposite_open =
        m.amount(leg) != Decimal::ZERO && (m.amount(leg) > Decimal::ZERO) != (d == Direction::Long);
    let intent = match result {
        Err(LedgerError::OppositePositionOpen { .. }) if opposite_open => return Ok(()),
        Err(e) => return Err(fail(format!("open refused: {e}"))),
        Ok(_) if opposite_open => {
            return Err(fail(
                "an open against an open opposite one-way position was accepted",
            ))
        }
        Ok(c) => c.intent,
    };
    let coid = format!("o-{key}");
    ledger
        .record_order(&market_order(&intent, &coid, d.open_side(), leg, q))
        .await
        .map_err(fail)?;
    let half = (q / dec!(2)).round_dp(2);
    let chunks = if split && half > Decimal::ZERO {
        vec![half, q - half]
    } else {
        vec![q]
    };
    for chunk in chunks {
        let id = m.next();
        *m.legs.entry(leg).or_default() += signed(d, chunk);
        let f = fill(
            SYMBOL,
            id,
            1_000 + m.next_id,
            Some(&coid),
            d.open_side(),
            leg,
            chunk,
            p,
        );
        let snapshot = m.report(leg, id);
        let outcome = ledger
            .apply_fill(VENUE, &f, &snapshot)
            .await
            .map_err(fail)?;
        prop_assert!(
            matches!(outcome, FillOutcome::Applied { anomaly: None, .. }),
            "{outcome:?}"
        );
        m.last = Some((f, snapshot));
    }
    Ok(())
}

async fn step_close(
    ledger: &Ledger,
    m: &mut Model,
    long: bool,
    percent: u32,
    p: Decimal,
    reduce: bool,
) -> Result<(), TestCaseError> {
    let leg = match m.mode {
        PositionMode::OneWay => PositionSide::Both,
        PositionMode::Hedge if long => PositionSide::Long,
        PositionMode::Hedge => PositionSide::Short,
    };
    let open = ledger.open_positions().await.map_err(fail)?;
    let Some(position) = open
        .into_iter()
        .find(|x| x.position_side == leg && x.symbol.as_str() == SYMBOL)
    else {
        return Ok(());
    };
    let have = position.quantity.get();
    let q = (have * Decimal::from(percent) / dec!(100))
        .round_dp(2)
        .max(dec!(0.01));
    let key = format!("close-{}", m.next());
    let spec = if reduce {
        IntentSpec::Reduce {
            position: position.id,
            quantity: qty(q),
        }
    } else {
        IntentSpec::Close {
            position: position.id,
            quantity: Some(qty(q)),
        }
    };
    let new = NewIntent {
        spec,
        ..close_intent(&key, IntentKind::Close, position.id, m.mode)
    };
    let intent = ledger
        .create_intent(&new, usdt(ALLOCATION))
        .await
        .map_err(fail)?
        .intent;
    let coid = format!("c-{key}");
    let side = position.direction.close_side();
    ledger
        .record_order(&market_order(&intent, &coid, side, leg, q))
        .await
        .map_err(fail)?;
    // Reduce-only on the exchange: it never reduces past zero either.
    let applied = q.min(have);
    *m.legs.entry(leg).or_default() -= signed(position.direction, applied);
    let id = m.next();
    let f = fill(SYMBOL, id, 1_000 + id, Some(&coid), side, leg, q, p);
    let snapshot = m.report(leg, id);
    let outcome = ledger
        .apply_fill(VENUE, &f, &snapshot)
        .await
        .map_err(fail)?;
    let FillOutcome::Applied {
        applied: got,
        anomaly,
        ..
    } = outcome
    else {
        return Err(fail(format!("{outcome:?}")));
    };
    prop_assert_eq!(got.get(), applied);
    prop_assert_eq!(anomaly.is_some(), q > have);
    prop_assert!(anomaly.is_none() || anomaly == Some(AnomalyKind::OverCloseCapped));
    m.last = Some((f, snapshot));
    Ok(())
}

async fn step(ledger: &Ledger, m: &mut Model, op: &Op) -> Result<(), TestCaseError> {
    let dir = |long: bool| {
        if long {
            Direction::Long
        } else {
            Direction::Short
        }
    };
    match *op {
        Op::Open {
            long,
            cents,
            price,
            split,
        } => {
            step_open(
                ledger,
                m,
                dir(long),
                Decimal::new(cents.into(), 2),
                Decimal::from(price),
                split,
            )
            .await
        }
        Op::Close {
            long,
            percent,
            price,
            reduce,
        } => step_close(ledger, m, long, percent, Decimal::from(price), reduce).await,
        Op::Duplicate => {
            let Some((f, snapshot)) = m.last.clone() else {
                return Ok(());
            };
            let before = ledger.all_positions().await.map_err(fail)?;
            let outcome = ledger
                .apply_fill(VENUE, &f, &snapshot)
                .await
                .map_err(fail)?;
            prop_assert_eq!(outcome, FillOutcome::Duplicate);
            prop_assert_eq!(ledger.all_positions().await.map_err(fail)?, before);
            Ok(())
        }
        Op::External { buy, cents, price } => {
            let id = m.next();
            let q = Decimal::new(cents.into(), 2);
            let side = if buy { Side::Buy } else { Side::Sell };
            m.foreign += if buy { q } else { -q };
            let f = fill(
                FOREIGN,
                id,
                1_000 + id,
                Some(&format!("web_{id}")),
                side,
                PositionSide::Both,
                q,
                Decimal::from(price),
            );
            let snapshot = vec![reported(
                FOREIGN,
                PositionSide::Both,
                m.foreign,
                dec!(0),
                t(id),
            )];
            let outcome = ledger
                .apply_fill(VENUE, &f, &snapshot)
                .await
                .map_err(fail)?;
            prop_assert!(
                matches!(outcome, FillOutcome::External { .. }),
                "{outcome:?}"
            );
            Ok(())
        }
    }
}

async fn check_invariants(ledger: &Ledger, m: &Model) -> Result<(), TestCaseError> {
    for audit in ledger.position_audits().await.map_err(fail)? {
        let p = &audit.position;
        prop_assert_eq!(
            audit.expected_quantity(),
            p.quantity.get(),
            "Σ fills ≠ quantity of #{}",
            p.id
        );
        prop_assert!(
            audit.open_fill_count >= 1,
            "position #{} was not born of an open fill",
            p.id
        );
        prop_assert!(
            p.symbol.as_str() != FOREIGN,
            "an external fill created position #{}",
            p.id
        );
    }
    // No flip: open fills carry the position's open side, every other fill its close side.
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT f.side, o.intent_kind, p.direction FROM fills f
         JOIN orders o ON o.id = f.order_id JOIN positions p ON p.id = f.position_id
         WHERE f.applied_quantity > 0",
    )
    .fetch_all(ledger.pool())
    .await
    .map_err(fail)?;
    for (side, kind, direction) in rows {
        let d = Direction::parse(&direction).map_err(fail)?;
        let want = if kind == "open" {
            d.open_side()
        } else {
            d.close_side()
        };
        prop_assert_eq!(
            side.as_str(),
            want.as_wire(),
            "{} fill on a {} position",
            kind,
            direction
        );
    }
    let open = ledger.open_positions().await.map_err(fail)?;
    let stored = ledger.exchange_positions().await.map_err(fail)?;
    for leg in [PositionSide::Both, PositionSide::Long, PositionSide::Short] {
        let ours: Decimal = open
            .iter()
            .filter(|p| p.position_side == leg && p.symbol.as_str() == SYMBOL)
            .map(|p| signed(p.direction, p.quantity.get()))
            .sum();
        prop_assert_eq!(
            ours,
            m.amount(leg),
            "ledger vs reference exchange on {:?}",
            leg
        );
        if let Some(row) = stored
            .iter()
            .find(|r| r.position_side == leg && r.symbol.as_str() == SYMBOL)
        {
            prop_assert_eq!(
                ours,
                row.amount,
                "ledger vs exchange_positions on {:?}",
                leg
            );
        }
    }
    let budget = ledger.budget(usdt(ALLOCATION)).await.map_err(fail)?;
    prop_assert!(
        budget.available.get() >= Decimal::ZERO,
        "negative budget {:?}",
        budget
    );
    Ok(())
}

async fn run_case(ledger: &Ledger, mode: PositionMode, ops: &[Op]) -> Result<(), TestCaseError> {
    sqlx::query(
        "TRUNCATE intents, intent_events, orders, fills, positions, exchange_positions,
             ledger_adjustments, ledger_anomalies RESTART IDENTITY CASCADE",
    )
    .execute(ledger.pool())
    .await
    .map_err(fail)?;
    let mut m = Model {
        mode,
        legs: HashMap::new(),
        foreign: Decimal::ZERO,
        next_id: 0,
        last: None,
    };
    for op in ops {
        step(ledger, &mut m, op).await?;
        check_invariants(ledger, &m).await?;
    }
    Ok(())
}

#[test]
fn random_fill_sequences_keep_the_ledger_consistent_with_the_exchange_in_both_modes() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let db = rt.block_on(sluice_testkit::db::temp_database());
    let ledger = db.ledger.clone();
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        max_shrink_iters: 256,
        ..Config::default()
    });
    let strategy = (
        prop::sample::select(vec![PositionMode::OneWay, PositionMode::Hedge]),
        prop::collection::vec(op(), 1..=MAX_STEPS),
    );
    let result = runner.run(&strategy, |(mode, ops)| {
        rt.block_on(run_case(&ledger, mode, &ops))
    });
    drop(ledger);
    rt.block_on(db.remove());
    if let Err(e) = result {
        panic!("{e}");
    }
}
