//! Ledger throughput against the real Postgres: fills applied per second (each fill in its
//! own transaction, as the stream consumer applies them) on one task and on eight tasks
//! (eight symbols, the daemon's pool size), and the whole ledger cost of one order (record
//! it, store the venue's answer, apply its fill, read the intent's filled sum).
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
    IntentRow, Ledger, NewIntent, NewOrder, OrderRow, OrderState, OrderUpdate, PositionId,
};

const VENUE: &str = "binance-usdm";
const FILLS: usize = 2_000;
const TASKS: usize = 8;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let base = std::env::var("DATABASE_URL").map_err(|_| {
        anyhow::anyhow!("DATABASE_URL: run `eval \"$(scripts/postgres.sh)\"` first")
    })?;
    let ledger = fresh_db(&base, "sluice_bench_ledger").await?;
    let (close, orders) = prepare(&ledger, "SOLUSDT", 0, FILLS).await?;
    let started = Instant::now();
    for (i, o) in orders.iter().enumerate() {
        ledger.apply_fill(VENUE, &fill_of(o, i), &[]).await?;
    }
    let one = rate(FILLS, started);
    println!("fills applied, 1 task: {one:.0}/s ({FILLS} fills, one transaction each)");

    let mut prepared = Vec::new();
    for t in 0..TASKS {
        prepared.push(prepare(&ledger, &format!("S{t}USDT"), t + 1, FILLS / TASKS).await?);
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (_, orders) in prepared {
        let l = ledger.clone();
        tasks.push(tokio::spawn(async move {
            for (i, o) in orders.iter().enumerate() {
                l.apply_fill(VENUE, &fill_of(o, i), &[]).await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let many = rate(FILLS, started);
    println!("fills applied, {TASKS} tasks: {many:.0}/s ({FILLS} fills)");

    let started = Instant::now();
    let n = 500;
    for i in 0..n {
        one_order(&ledger, &close, 100_000 + i).await?;
    }
    let per = started.elapsed().as_secs_f64() * 1000.0 / n as f64;
    println!("one order through the ledger (record, answer, fill, filled sum): {per:.3} ms");
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
    let o = ledger
        .record_order(&order(
            close,
            "SOLUSDT",
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
