//! `seed_demo_ledger`: a small, realistic history written through the ledger's normal
//! API, so `sluice migrate && sluice doctor` has something true to look at.
//!
//! The history: a LONG SOLUSDT opened and then closed by a reduce-only MARKET SELL
//! (which must NOT create a SHORT: seed 002), and a LONG ETHUSDT opened in two chunks
//! that is still running. Running it twice writes nothing the second time.

use anyhow::Context;
use chrono::{Duration, Utc};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use crate::domain::{
    ClientOrderId, Direction, Fill, IntentKind, IntentSpec, IntentState, OpenSize, OrderRequest,
    OrderType, PositionMode, PositionSide, Price, Qty, Side, Symbol, Usdt,
};
use crate::exchange::ExchangePosition;
use crate::ledger::{IntentRow, Ledger, NewIntent, NewOrder, PositionId};

pub(crate) const DEMO_VENUE: &str = "binance-usdm";
/// The allocation the demo history fits in.
pub const DEMO_ALLOCATION: Decimal = dec!(1000);

/// What the demo wrote; `already_seeded` when an earlier run had written it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoSummary {
    /// True when an earlier run had written the demo history (nothing was written now).
    pub already_seeded: bool,
    pub(crate) closed_position: Option<PositionId>,
    /// The demo position left open.
    pub running_position: Option<PositionId>,
}

/// One fill the demo feeds the ledger: (symbol, trade id, order id, side, qty, price).
struct DemoFill<'a>(&'a str, i64, i64, Side, Decimal, Decimal);

/// Write the demo history (one closed and one open position, with their fills) into
/// `ledger`, once: a second run writes nothing and says so.
pub async fn seed_demo_ledger(ledger: &Ledger) -> anyhow::Result<DemoSummary> {
    let sol = open(ledger, "demo-open-sol", "SOLUSDT", dec!(10)).await?;
    if sol.1 {
        return Ok(DemoSummary {
            already_seeded: true,
            closed_position: None,
            running_position: None,
        });
    }
    let sol = sol.0;
    let coid = order(
        ledger,
        &sol,
        None,
        "demo-sol-open-0",
        Side::Buy,
        dec!(0.07),
        0,
    )
    .await?;
    let long = fill(
        ledger,
        &coid,
        DemoFill("SOLUSDT", 9001, 5001, Side::Buy, dec!(0.07), dec!(142.50)),
        (dec!(0.07), dec!(142.50)),
    )
    .await?;
    done(ledger, &sol).await?;

    let close = intent(
        ledger,
        base(
            "demo-close-sol",
            IntentSpec::Close {
                position: long,
                quantity: None,
            },
        ),
    )
    .await?
    .0;
    let coid = order(
        ledger,
        &close,
        Some(long),
        "demo-sol-close-0",
        Side::Sell,
        dec!(0.07),
        0,
    )
    .await?;
    fill(
        ledger,
        &coid,
        DemoFill("SOLUSDT", 9002, 5002, Side::Sell, dec!(0.07), dec!(143.10)),
        (dec!(0), dec!(0)),
    )
    .await?;
    done(ledger, &close).await?;

    let eth = open(ledger, "demo-open-eth", "ETHUSDT", dec!(61)).await?.0;
    let first = order(
        ledger,
        &eth,
        None,
        "demo-eth-open-0",
        Side::Buy,
        dec!(0.01),
        0,
    )
    .await?;
    let running = fill(
        ledger,
        &first,
        DemoFill("ETHUSDT", 9003, 5003, Side::Buy, dec!(0.01), dec!(3050)),
        (dec!(0.01), dec!(3050)),
    )
    .await?;
    let second = order(
        ledger,
        &eth,
        None,
        "demo-eth-open-1",
        Side::Buy,
        dec!(0.01),
        1,
    )
    .await?;
    fill(
        ledger,
        &second,
        DemoFill("ETHUSDT", 9004, 5004, Side::Buy, dec!(0.01), dec!(3052)),
        (dec!(0.02), dec!(3051)),
    )
    .await?;
    done(ledger, &eth).await?;
    Ok(DemoSummary {
        already_seeded: false,
        closed_position: Some(long),
        running_position: Some(running),
    })
}

fn base(key: &str, spec: IntentSpec) -> NewIntent {
    NewIntent {
        spec,
        venue: DEMO_VENUE.into(),
        position_mode: PositionMode::OneWay,
        reference_price: None,
        idempotency_key: key.into(),
        reason: "demo history".into(),
    }
}

async fn intent(ledger: &Ledger, new: NewIntent) -> anyhow::Result<(IntentRow, bool)> {
    let created = ledger
        .create_intent(&new, Usdt::new(DEMO_ALLOCATION))
        .await
        .with_context(|| format!("failed to store demo intent {}", new.idempotency_key))?;
    Ok((created.intent, created.replayed))
}

async fn open(
    ledger: &Ledger,
    key: &str,
    symbol: &str,
    notional: Decimal,
) -> anyhow::Result<(IntentRow, bool)> {
    let spec = IntentSpec::Open {
        symbol: Symbol::new(symbol)?,
        direction: Direction::Long,
        size: OpenSize::Notional(Usdt::new(notional)),
    };
    intent(ledger, base(key, spec)).await
}

async fn done(ledger: &Ledger, intent: &IntentRow) -> anyhow::Result<()> {
    ledger
        .set_intent_state(intent.id, IntentState::Working, "demo: orders planned")
        .await?;
    ledger
        .set_intent_state(intent.id, IntentState::Done, "demo: filled")
        .await?;
    Ok(())
}

async fn order(
    ledger: &Ledger,
    intent: &IntentRow,
    position_id: Option<PositionId>,
    coid: &str,
    side: Side,
    quantity: Decimal,
    chunk_index: i32,
) -> anyhow::Result<ClientOrderId> {
    let client_order_id = ClientOrderId::new(coid)?;
    let symbol = intent
        .symbol
        .clone()
        .context("demo intent without a symbol")?;
    let request = OrderRequest {
        symbol,
        side,
        position_side: PositionSide::Both,
        order_type: OrderType::Market,
        quantity: Qty::new("quantity", quantity)?,
        price: None,
        time_in_force: None,
        reduce_only: intent.kind() != IntentKind::Open,
        client_order_id: client_order_id.clone(),
        price_match: None,
        good_till_date: None,
    };
    let new = NewOrder {
        intent_id: intent.id,
        position_id,
        request,
        chunk_index,
        attempt: 0,
    };
    ledger
        .record_order(&new)
        .await
        .with_context(|| format!("failed to record demo order {coid}"))?;
    Ok(client_order_id)
}

/// Apply one fill with the exchange's one-way position after it: (amount, entry price).
async fn fill(
    ledger: &Ledger,
    coid: &ClientOrderId,
    f: DemoFill<'_>,
    (amount_after, entry_after): (Decimal, Decimal),
) -> anyhow::Result<PositionId> {
    let DemoFill(symbol, trade_id, order_id, side, quantity, price) = f;
    let symbol = Symbol::new(symbol)?;
    let time = Utc::now() - Duration::minutes(10) + Duration::seconds(trade_id - 9000);
    let fill = Fill {
        symbol: symbol.clone(),
        trade_id,
        order_id,
        client_order_id: Some(coid.clone()),
        side,
        position_side: PositionSide::Both,
        price: Price::new("price", price)?,
        quantity: Qty::new("quantity", quantity)?,
        commission: (quantity * price * dec!(0.0005)).round_dp(8),
        commission_asset: "USDT".into(),
        realized_pnl: Decimal::ZERO,
        maker: false,
        time,
    };
    let reported = ExchangePosition {
        symbol,
        position_side: PositionSide::Both,
        amount: amount_after,
        entry_price: entry_after,
        mark_price: None,
        unrealized_pnl: Decimal::ZERO,
        update_time: time,
    };
    let outcome = ledger
        .apply_fill(DEMO_VENUE, &fill, &[reported])
        .await
        .context("failed to apply a demo fill")?;
    match outcome {
        crate::ledger::FillOutcome::Applied {
            position_id: Some(id),
            ..
        } => Ok(id),
        other => anyhow::bail!("demo fill {trade_id} was not applied: {other:?}"),
    }
}
