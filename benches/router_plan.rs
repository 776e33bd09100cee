//! `plan_chunks` on seed 000 (8486.84 SOL, step 0.01, cap 400 → 22 chunks) and on a plan of
//! exactly 1,000 chunks, plus `to_orders` for seed 000 (ids + filter validation per chunk).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use sluice::domain::{
    Direction, IntentKind, LotFilter, OrderType, PercentPrice, PositionMode, Price, PriceFilter,
    Qty, Symbol, SymbolRules,
};
use sluice::router::{plan_chunks, to_orders, ChunkCap, IntentRef, OrderTemplate};

fn sol() -> SymbolRules {
    let lot = |max: Decimal| LotFilter {
        min_qty: dec!(0.01),
        max_qty: max,
        step_size: dec!(0.01),
    };
    SymbolRules {
        symbol: Symbol::new("SOLUSDT").expect("literal"),
        status: "TRADING".into(),
        base_asset: "SOL".into(),
        quote_asset: "USDT".into(),
        price_precision: 4,
        quantity_precision: 2,
        price_filter: PriceFilter {
            min_price: dec!(0.42),
            max_price: dec!(6857),
            tick_size: dec!(0.001),
        },
        lot_size: lot(dec!(1000000)),
        market_lot_size: lot(dec!(5000)),
        min_notional: dec!(5),
        percent_price: PercentPrice {
            multiplier_up: dec!(1.05),
            multiplier_down: dec!(0.95),
            multiplier_decimal: 4,
        },
        max_num_orders: 200,
    }
}

fn bench(c: &mut Criterion) {
    let rules = sol();
    let mark = Price::new("mark", dec!(187.5)).expect("literal");
    let total = Qty::new("total", dec!(8486.84)).expect("literal");
    let cap = Some(ChunkCap::Qty(Qty::new("cap", dec!(400)).expect("literal")));
    c.bench_function("plan_chunks seed-000 (22 chunks)", |b| {
        b.iter(|| {
            plan_chunks(
                black_box(total),
                &rules,
                OrderType::Market,
                true,
                cap,
                None,
                mark,
            )
        })
    });
    // 1,000 chunks: 4,000 SOL at a cap of 4.
    let big = Qty::new("total", dec!(4000)).expect("literal");
    let small_cap = Some(ChunkCap::Qty(Qty::new("cap", dec!(4)).expect("literal")));
    c.bench_function("plan_chunks 1000 chunks", |b| {
        b.iter(|| {
            plan_chunks(
                black_box(big),
                &rules,
                OrderType::Market,
                true,
                small_cap,
                None,
                mark,
            )
        })
    });
    let plan = plan_chunks(total, &rules, OrderType::Market, true, cap, None, mark)
        .expect("seed-000 plan");
    let template = OrderTemplate {
        kind: IntentKind::Close,
        intent: IntentRef::Uuid(uuid::Uuid::from_u128(0x0123_4567_89ab_cdef)),
        direction: Direction::Short,
        mode: PositionMode::OneWay,
        order_type: OrderType::Market,
        limit: None,
        first_chunk: 0,
        attempt: 0,
    };
    c.bench_function("to_orders seed-000 (22 checked orders)", |b| {
        b.iter(|| to_orders(black_box(&plan), &rules, &template, mark))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
