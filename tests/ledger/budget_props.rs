//! Property test of the kept reserved budget against a real Postgres: random sequences of
//! open accepts (some refused for the budget), partial and full fills (some beyond the
//! open's notional), duplicate fills, fills arriving after their open ended, and every
//! way an open ends (done, failed, cancelled, cancelled by a halt), on two accounts of one
//! ledger. After EVERY step, per account: the kept reserved sum equals the one re-summed
//! from the live opens and their fills, and both equal a small reference model's; the
//! other account's steps never move it.
//!
//! One database for the whole property; tables are truncated between cases (the
//! truncate rebuilds the kept rows). 32 cases × up to 30 steps.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sluice::domain::{Direction, IntentState, PositionMode, PositionSide, Side};
use sluice::ledger::{IntentId, Ledger, LedgerError};
use sluice_testkit::ledger::*;

use crate::support::second_account;

const CASES: u32 = 32;
const MAX_STEPS: usize = 30;
const ALLOCATION: Decimal = dec!(2000);

#[derive(Clone, Copy, Debug)]
enum End {
    Done,
    Failed,
    Cancelled,
}

#[derive(Clone, Debug)]
enum Op {
    Open {
        b: bool,
        notional: u32,
    },
    Fill {
        b: bool,
        pick: usize,
        cents: u32,
        price: u32,
    },
    Duplicate {
        b: bool,
    },
    End {
        b: bool,
        pick: usize,
        how: End,
    },
    Halt {
        b: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let how = prop_oneof![Just(End::Done), Just(End::Failed), Just(End::Cancelled)];
    prop_oneof![
        4 => (any::<bool>(), 10u32..=700).prop_map(|(b, notional)| Op::Open { b, notional }),
        5 => (any::<bool>(), any::<usize>(), 1u32..=300, 50u32..=200)
            .prop_map(|(b, pick, cents, price)| Op::Fill { b, pick, cents, price }),
        1 => any::<bool>().prop_map(|b| Op::Duplicate { b }),
        3 => (any::<bool>(), any::<usize>(), how).prop_map(|(b, pick, how)| Op::End { b, pick, how }),
        1 => any::<bool>().prop_map(|b| Op::Halt { b }),
    ]
}

/// One open as the model sees it.
struct Open {
    id: IntentId,
    coid: String,
    exchange_id: i64,
    notional: Decimal,
    filled_value: Decimal,
    live: bool,
}

/// One account: its ledger (sessions naming the account) and its opens.
struct Account {
    ledger: Ledger,
    opens: Vec<Open>,
    last_fill: Option<sluice::domain::Fill>,
}

impl Account {
    fn reserved(&self) -> Decimal {
        self.opens
            .iter()
            .filter(|o| o.live)
            .map(|o| (o.notional - o.filled_value).max(Decimal::ZERO))
            .sum()
    }
}

struct Model {
    accounts: [Account; 2],
    next: i64,
}

fn fail(msg: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(msg.to_string())
}

async fn open(m: &mut Model, b: bool, notional: u32) -> Result<(), TestCaseError> {
    m.next += 1;
    let n = m.next;
    let a = &mut m.accounts[usize::from(b)];
    let key = format!("open-{n}");
    let notional = Decimal::from(notional);
    let intent = open_intent(
        &key,
        "SOLUSDT",
        Direction::Long,
        PositionMode::OneWay,
        notional,
    );
    let created = match a.ledger.create_intent(&intent, usdt(ALLOCATION)).await {
        Ok(c) => c.intent,
        Err(LedgerError::NotEnoughBudget { .. }) => return Ok(()),
        Err(e) => return Err(fail(e)),
    };
    let coid = format!("o-{n}");
    let order = market_order(&created, &coid, Side::Buy, PositionSide::Both, dec!(1000));
    a.ledger.record_order(&order).await.map_err(fail)?;
    a.opens.push(Open {
        id: created.id,
        coid,
        exchange_id: n,
        notional,
        filled_value: Decimal::ZERO,
        live: true,
    });
    Ok(())
}

async fn fill_one(
    m: &mut Model,
    b: bool,
    pick: usize,
    q: Decimal,
    p: Decimal,
) -> Result<(), TestCaseError> {
    m.next += 1;
    let trade = m.next;
    let a = &mut m.accounts[usize::from(b)];
    if a.opens.is_empty() {
        return Ok(());
    }
    let k = pick % a.opens.len();
    let o = &mut a.opens[k];
    let f = fill(
        "SOLUSDT",
        trade,
        o.exchange_id,
        Some(&o.coid),
        Side::Buy,
        PositionSide::Both,
        q,
        p,
    );
    a.ledger.apply_fill(VENUE, &f, &[]).await.map_err(fail)?;
    o.filled_value += q * p;
    a.last_fill = Some(f);
    Ok(())
}

async fn end(a: &mut Account, pick: usize, how: End) -> Result<(), TestCaseError> {
    let live: Vec<usize> = (0..a.opens.len()).filter(|&i| a.opens[i].live).collect();
    if live.is_empty() {
        return Ok(());
    }
    let o = &mut a.opens[live[pick % live.len()]];
    let l = &a.ledger;
    match how {
        End::Cancelled => {
            // Accepted: cancelled at once; working: only a request, the open stays live.
            let now = l
                .intent(o.id)
                .await
                .map_err(fail)?
                .ok_or_else(|| fail("gone"))?;
            l.cancel_intent(o.id, "prop").await.map_err(fail)?;
            o.live = now.state != IntentState::Accepted;
        }
        End::Done | End::Failed => {
            l.set_intent_state(o.id, IntentState::Working, "prop")
                .await
                .map_err(fail)?;
            let to = if matches!(how, End::Done) {
                IntentState::Done
            } else {
                IntentState::Failed
            };
            l.set_intent_state(o.id, to, "prop").await.map_err(fail)?;
            o.live = false;
        }
    }
    Ok(())
}

async fn step(m: &mut Model, op: &Op) -> Result<(), TestCaseError> {
    match *op {
        Op::Open { b, notional } => open(m, b, notional).await,
        Op::Fill {
            b,
            pick,
            cents,
            price,
        } => {
            fill_one(
                m,
                b,
                pick,
                Decimal::new(i64::from(cents), 2),
                Decimal::from(price),
            )
            .await
        }
        Op::Duplicate { b } => {
            let a = &m.accounts[usize::from(b)];
            if let Some(f) = &a.last_fill {
                a.ledger.apply_fill(VENUE, f, &[]).await.map_err(fail)?;
            }
            Ok(())
        }
        Op::End { b, pick, how } => end(&mut m.accounts[usize::from(b)], pick, how).await,
        Op::Halt { b } => {
            let a = &mut m.accounts[usize::from(b)];
            let halted = a
                .ledger
                .halt("prop", "halt in a property")
                .await
                .map_err(fail)?;
            for id in halted.cancelled_opens {
                if let Some(o) = a.opens.iter_mut().find(|o| o.id == id) {
                    o.live = false;
                }
            }
            a.ledger.resume("prop", false).await.map_err(fail)?;
            Ok(())
        }
    }
}

async fn check(m: &Model) -> Result<(), TestCaseError> {
    for (n, a) in m.accounts.iter().enumerate() {
        let kept = a.ledger.reserved_check().await.map_err(fail)?;
        prop_assert!(kept.agrees(), "account {n}: {kept:?}");
        prop_assert_eq!(kept.kept, a.reserved(), "account {}: kept vs model", n);
        let budget = a.ledger.budget(usdt(ALLOCATION)).await.map_err(fail)?;
        prop_assert_eq!(budget.reserved.get(), a.reserved(), "account {}: budget", n);
    }
    Ok(())
}

async fn run_case(main: &Ledger, b: &Ledger, ops: &[Op]) -> Result<(), TestCaseError> {
    sqlx::query(
        "TRUNCATE intents, intent_events, orders, fills, positions, exchange_positions,
             ledger_adjustments, ledger_anomalies RESTART IDENTITY CASCADE",
    )
    .execute(main.pool())
    .await
    .map_err(fail)?;
    let account = |ledger: &Ledger| Account {
        ledger: ledger.clone(),
        opens: Vec::new(),
        last_fill: None,
    };
    let mut m = Model {
        accounts: [account(main), account(b)],
        next: 0,
    };
    check(&m).await?;
    for op in ops {
        step(&mut m, op)
            .await
            .map_err(|e| fail(format!("{op:?}: {e}")))?;
        check(&m)
            .await
            .map_err(|e| fail(format!("after {op:?}: {e}")))?;
    }
    Ok(())
}

#[test]
fn random_accepts_fills_and_ends_keep_the_kept_reserved_sum_equal_to_the_resum_per_account() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let db = rt.block_on(sluice_testkit::db::temp_database());
    let main = db.ledger.clone();
    let b = rt.block_on(second_account(&main));
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        max_shrink_iters: 256,
        ..Config::default()
    });
    let strategy = prop::collection::vec(op(), 1..=MAX_STEPS);
    let result = runner.run(&strategy, |ops| rt.block_on(run_case(&main, &b, &ops)));
    rt.block_on(b.pool().close());
    drop(main);
    rt.block_on(db.remove());
    if let Err(e) = result {
        panic!("{e}");
    }
}
