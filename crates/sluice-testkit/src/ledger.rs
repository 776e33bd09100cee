//! Builders shared by the ledger and doctor tests: intents, orders, fills and
//! exchange positions as the router and the adapter would hand them to the ledger.

use chrono::{DateTime, Duration, TimeZone, Utc};
use rust_decimal::Decimal;
use sluice::domain::{
    ClientOrderId, Direction, Fill, IntentKind, IntentSpec, OpenSize, OrderRequest, OrderType,
    PositionMode, PositionSide, Price, Qty, Side, Symbol, Usdt,
};
use sluice::exchange::ExchangePosition;
use sluice::ledger::{IntentId, IntentRow, Ledger, NewIntent, NewOrder, OrderRow, PositionId};

/// The venue the daemon records its rows under.
pub use sluice::startup::VENUE;

pub fn sym(s: &str) -> Symbol {
    Symbol::new(s).expect("test symbol")
}
pub fn qty(d: Decimal) -> Qty {
    Qty::new("quantity", d).expect("test quantity")
}
pub fn price(d: Decimal) -> Price {
    Price::new("price", d).expect("test price")
}
pub fn usdt(d: Decimal) -> Usdt {
    Usdt::new(d)
}
pub fn t(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_760_000_000, 0).single().expect("time") + Duration::seconds(seconds)
}

pub fn open_intent(
    key: &str,
    symbol: &str,
    direction: Direction,
    mode: PositionMode,
    notional: Decimal,
) -> NewIntent {
    NewIntent {
        spec: IntentSpec::Open {
            symbol: sym(symbol),
            direction,
            size: OpenSize::Notional(usdt(notional)),
        },
        venue: VENUE.into(),
        position_mode: mode,
        reference_price: None,
        idempotency_key: key.into(),
        reason: "test".into(),
    }
}

pub fn close_intent(
    key: &str,
    kind: IntentKind,
    position: PositionId,
    mode: PositionMode,
) -> NewIntent {
    let spec = match kind {
        IntentKind::Close => IntentSpec::Close {
            position,
            quantity: None,
        },
        IntentKind::Flatten => IntentSpec::Flatten { symbol: None },
        other => panic!("close_intent builds a close or a flatten, not {other:?}"),
    };
    NewIntent {
        spec,
        venue: VENUE.into(),
        position_mode: mode,
        reference_price: None,
        idempotency_key: key.into(),
        reason: "test".into(),
    }
}

pub fn market_order(
    intent: &IntentRow,
    coid: &str,
    side: Side,
    leg: PositionSide,
    q: Decimal,
) -> NewOrder {
    NewOrder {
        intent_id: intent.id,
        position_id: None,
        request: OrderRequest {
            symbol: intent.symbol.clone().expect("intent symbol"),
            side,
            position_side: leg,
            order_type: OrderType::Market,
            quantity: qty(q),
            price: None,
            time_in_force: None,
            reduce_only: intent.kind() != IntentKind::Open && leg == PositionSide::Both,
            client_order_id: ClientOrderId::new(coid).expect("test coid"),
            price_match: None,
            good_till_date: None,
        },
        chunk_index: 0,
        attempt: 0,
    }
}

#[allow(clippy::too_many_arguments)]
pub fn fill(
    symbol: &str,
    trade_id: i64,
    order_id: i64,
    coid: Option<&str>,
    side: Side,
    leg: PositionSide,
    q: Decimal,
    p: Decimal,
) -> Fill {
    Fill {
        symbol: sym(symbol),
        trade_id,
        order_id,
        client_order_id: coid.map(|c| ClientOrderId::new(c).expect("test coid")),
        side,
        position_side: leg,
        price: price(p),
        quantity: qty(q),
        commission: Decimal::new(1, 2),
        commission_asset: "USDT".into(),
        realized_pnl: Decimal::ZERO,
        maker: false,
        time: t(trade_id),
    }
}

pub fn reported(
    symbol: &str,
    leg: PositionSide,
    amount: Decimal,
    entry: Decimal,
    at: DateTime<Utc>,
) -> ExchangePosition {
    ExchangePosition {
        symbol: sym(symbol),
        position_side: leg,
        amount,
        entry_price: entry,
        mark_price: None,
        unrealized_pnl: Decimal::ZERO,
        update_time: at,
    }
}

/// Row counts of the ledger tables, to prove what a call did (not) write.
pub async fn count(ledger: &Ledger, table: &str) -> i64 {
    crate::db::count(ledger.pool(), table).await
}

/// Open `q` at `p` through the normal path: intent, order, fill. Returns the intent and order.
#[allow(clippy::too_many_arguments)]
pub async fn open_filled(
    ledger: &Ledger,
    key: &str,
    symbol: &str,
    direction: Direction,
    mode: PositionMode,
    q: Decimal,
    p: Decimal,
    trade_id: i64,
) -> (IntentRow, OrderRow) {
    let intent = ledger
        .create_intent(
            &open_intent(key, symbol, direction, mode, q * p),
            usdt(Decimal::from(1_000_000)),
        )
        .await
        .expect("open accepted")
        .intent;
    let leg = PositionSide::for_mode(mode, direction);
    let coid = format!("o-{key}");
    let order = ledger
        .record_order(&market_order(&intent, &coid, direction.open_side(), leg, q))
        .await
        .expect("order recorded");
    ledger
        .apply_fill(
            VENUE,
            &fill(
                symbol,
                trade_id,
                trade_id * 10,
                Some(&coid),
                direction.open_side(),
                leg,
                q,
                p,
            ),
            &[],
        )
        .await
        .expect("fill applied");
    (intent, order)
}

/// A LONG of 2 SOLUSDT at 150 (one-way, opened with key "l", trade 1) and an accepted
/// close of all of it (key "c").
pub async fn long_and_its_close(ledger: &Ledger) -> IntentRow {
    open_filled(
        ledger,
        "l",
        "SOLUSDT",
        Direction::Long,
        PositionMode::OneWay,
        Decimal::from(2),
        Decimal::from(150),
        1,
    )
    .await;
    let long = ledger.open_positions().await.expect("positions").remove(0);
    ledger
        .create_intent(
            &close_intent("c", IntentKind::Close, long.id, PositionMode::OneWay),
            usdt(Decimal::ZERO),
        )
        .await
        .expect("close accepted")
        .intent
}

pub fn intent_id(i: &IntentRow) -> IntentId {
    i.id
}
