//! Ledger throughput against the real Postgres: fills applied per second, one fill per
//! transaction (`apply_fill`, as a REST resolution applies them) and 16 or 256 per
//! transaction (`apply_fills`, as the stream consumer applies what it drained), each on one
//! task and on eight tasks (eight symbols, the daemon's pool size); and the whole ledger
//! cost of one order (record it, store the venue's answer, apply its fill, read the
//! intent's filled sum).
//! Not a timed test: it measures and prints.
//!
//! Run: `eval "$(scripts/postgres.sh)"; cargo bench --bench ledger_hot`
//! (`--profile dev` reuses the dev build). Uses a database of its own, `sluice_bench_ledger`.

use std::time::Instant;

use chrono::Utc;
use rust_decimal::Decimal;
use sluice::domain::{
    ClientOrderId, Direction, Fill, IntentKind, IntentSpec, OpenSize, OrderRequest, OrderType,
    PositionMode, PositionSide, Price, Qty, Side, Symbol, Usdt,
};
use sluice::ledger::{
    FillOutcome, IntentRow, Ledger, NewIntent, NewOrder, OrderRow, OrderState, OrderUpdate,
    PositionId,
};

const VENUE: &str = "binance-usdm";
const FILLS: usize = 2_048;
const TASKS: usize = 8;
/// Fills per `apply_fills` call: 1 is the single-fill path (`apply_fill`), as a REST
/// resolution applies them; 16 and 256 are what the stream consumer drains at once.
const BATCHES: [usize; 3] = [1, 16, 256];

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let base = std::env::var("DATABASE_URL").map_err(|_| {
        anyhow::anyhow!("DATABASE_URL: run `eval \"$(scripts/postgres.sh)\"` first")
    })?;
    let ledger = fresh_db(&base, "sluice_bench_ledger").await?;
    let mut close = None;
    for (case, batch) in BATCHES.into_iter().enumerate() {
        for tasks in [1, TASKS] {
            let mut prepared = Vec::new();
            for t in 0..tasks {
                let k = case * 100 + tasks * 10 + t;
                prepared.push(prepare(&ledger, &format!("S{k}USDT"), k, FILLS / tasks).await?);
            }
            close.get_or_insert_with(|| prepared[0].0.clone());
            let started = Instant::now();
            let mut running = Vec::new();
            for (_, orders) in prepared {
                let l = ledger.clone();
                running.push(tokio::spawn(async move { apply(&l, &orders, batch).await }));
            }
            for t in running {
                t.await??;
            }
            let r = rate(FILLS, started);
            println!("fills applied, batch {batch}, {tasks} task(s): {r:.0}/s ({FILLS} fills)");
        }
    }

    let close = close.ok_or_else(|| anyhow::anyhow!("no close intent prepared"))?;
    let started = Instant::now();
    let n = 500;
    for i in 0..n {
        one_order(&ledger, &close, 100_000 + i).await?;
    }
    let per = started.elapsed().as_secs_f64() * 1000.0 / n as f64;
    println!("one order through the ledger (record, answer, fill, filled sum): {per:.3} ms");
    Ok(())
}

/// Apply one fill per order, `batch` fills per ledger call, checking every outcome.
async fn apply(ledger: &Ledger, orders: &[OrderRow], batch: usize) -> anyhow::Result<()> {
    for (n, chunk) in orders.chunks(batch).enumerate() {
        if batch == 1 {
            let outcome = ledger
                .apply_fill(VENUE, &fill_of(&chunk[0], n), &[])
                .await?;
            anyhow::ensure!(
                matches!(outcome, FillOutcome::Applied { .. }),
                "{outcome:?}"
            );
            continue;
        }
        let fills: Vec<Fill> = chunk.iter().map(|o| fill_of(o, n)).collect();
        for outcome in ledger.apply_fills(VENUE, &fills, &[], None).await? {
            let outcome = outcome?;
            anyhow::ensure!(
                matches!(outcome, FillOutcome::Applied { .. }),
                "{outcome:?}"
            );
        }
    }
    Ok(())
}

fn rate(n: usize, since: Instant) -> f64 {
    n as f64 / since.elapsed().as_secs_f64()
}

async fn fresh_db(base: &str, name: &str) -> anyhow::Result<Ledger> {
    let admin = Ledger::connect(base).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(admin.pool())
        .await?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(admin.pool())
        .await?;
    let (prefix, _) = base
        .rsplit_once('/')
        .ok_or_else(|| anyhow::anyhow!("DATABASE_URL has no database"))?;
    let ledger = Ledger::connect(&format!("{prefix}/{name}")).await?;
    ledger.migrate().await?;
    Ok(ledger)
}

fn intent(kind: IntentKind, symbol: &str, key: String, position: Option<PositionId>) -> NewIntent {
    let spec = match (kind, position) {
        (IntentKind::Open, _) => IntentSpec::Open {
            symbol: Symbol::new(symbol).expect("symbol"),
            direction: Direction::Short,
            size: OpenSize::Quantity(qty(Decimal::from(10_000))),
        },
        (_, Some(position)) => IntentSpec::Close {
            position,
            quantity: None,
        },
        (other, None) => panic!("the bench builds opens and closes of a position, not {other:?}"),
    };
    NewIntent {
        spec,
        venue: VENUE.into(),
        position_mode: PositionMode::OneWay,
        reference_price: Some(Price::new("p", Decimal::from(150)).expect("price")),
        idempotency_key: key,
        reason: "bench".into(),
    }
}

fn qty(d: Decimal) -> Qty {
    Qty::new("q", d).expect("qty")
}

fn order(intent: &IntentRow, symbol: &str, side: Side, q: Decimal, coid: String) -> NewOrder {
    NewOrder {
        intent_id: intent.id,
        position_id: intent.position_id,
        request: OrderRequest {
            symbol: Symbol::new(symbol).expect("symbol"),
            side,
            position_side: PositionSide::Both,
            order_type: OrderType::Market,
            quantity: qty(q),
            price: None,
            time_in_force: None,
            reduce_only: intent.kind() != IntentKind::Open,
            client_order_id: ClientOrderId::new(&coid).expect("coid"),
            price_match: None,
            good_till_date: None,
        },
        chunk_index: 0,
        attempt: 0,
    }
}

fn fill_of(o: &OrderRow, n: usize) -> Fill {
    Fill {
        symbol: o.symbol.clone(),
        trade_id: o.id.get() * 10 + n as i64 % 10,
        order_id: o.id.get(),
        client_order_id: Some(ClientOrderId::new(&o.client_order_id).expect("coid")),
        side: o.side,
        position_side: o.position_side,
        price: Price::new("p", Decimal::from(150)).expect("price"),
        quantity: o.quantity,
        commission: Decimal::new(1, 2),
        commission_asset: "USDT".into(),
        realized_pnl: Decimal::ZERO,
        maker: false,
        time: Utc::now(),
    }
}

/// A SHORT of 10,000 on `symbol`, a close intent for it, and `n` recorded close orders
/// of 1 each (answered NEW), ready for their fills.
async fn prepare(
    ledger: &Ledger,
    symbol: &str,
    k: usize,
    n: usize,
) -> anyhow::Result<(IntentRow, Vec<OrderRow>)> {
    let big = Usdt::new(Decimal::from(1_000_000_000));
    let open = ledger
        .create_intent(
            &intent(IntentKind::Open, symbol, format!("open-{k}"), None),
            big,
        )
        .await?
        .intent;
    let o = ledger
        .record_order(&order(
            &open,
            symbol,
            Side::Sell,
            Decimal::from(10_000),
            format!("open-{k}"),
        ))
        .await?;
    ledger.apply_fill(VENUE, &fill_of(&o, 0), &[]).await?;
    let position = ledger.orders_of_intent(open.id).await?[0].position_id;
    let close = ledger
        .create_intent(
            &intent(IntentKind::Close, symbol, format!("close-{k}"), position),
            big,
        )
        .await?
        .intent;
    let mut orders = Vec::with_capacity(n);
    for i in 0..n {
        let coid = format!("c-{k}-{i}");
        orders.push(
            ledger
                .record_order(&order(&close, symbol, Side::Buy, Decimal::ONE, coid))
                .await?,
        );
    }
    Ok((close, orders))
}

/// What the executor and the stream consumer ask of the ledger for one filled order.
async fn one_order(ledger: &Ledger, close: &IntentRow, i: usize) -> anyhow::Result<()> {
    let symbol = close.symbol.as_ref().map_or("SOLUSDT", |s| s.as_str());
    let o = ledger
        .record_order(&order(
            close,
            symbol,
            Side::Buy,
            Decimal::ONE,
            format!("x-{i}"),
        ))
        .await?;
    let answer = OrderUpdate {
        status: OrderState::Filled,
        exchange_order_id: Some(o.id.get()),
        error_code: None,
        error_msg: None,
    };
    ledger
        .update_order_status(&o.client_order_id, &answer)
        .await?;
    ledger.apply_fill(VENUE, &fill_of(&o, i), &[]).await?;
    // What the executor reads to plan the next chunk (Job::filled).
    let filled = ledger.filled_of_intent(close.id).await?;
    anyhow::ensure!(!filled.is_zero(), "the close filled nothing");
    Ok(())
}
