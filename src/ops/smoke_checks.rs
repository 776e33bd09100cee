//! `sluice smoke`'s evidence and end checks: the orders and fills of its intents, the
//! symbol's position on both sides, and the verdicts (flat after, reconcile finds no
//! difference, doctor clean). Read-only: nothing here writes or sends.

use crate::domain::{Direction, Symbol};
use crate::exchange::Exchange;
use crate::ledger::{IntentId, Ledger};
use crate::settings::Settings;
use crate::startup::VENUE;

use super::smoke_report::{FillLine, OrderLine, PositionSnapshot, SmokeReport};

/// Orders and fills of the smoke's intents, from the ledger.
pub(super) async fn evidence(
    ledger: &Ledger,
    intents: &[(&'static str, IntentId)],
    report: &mut SmokeReport,
) -> anyhow::Result<()> {
    for (label, id) in intents {
        let Some(view) = ledger.intent_view(*id).await? else {
            continue;
        };
        report.orders.extend(view.orders.iter().map(|o| OrderLine {
            intent: label,
            client_order_id: o.client_order_id.clone(),
            side: o.side.as_wire().to_string(),
            quantity: o.quantity.get(),
            status: format!("{:?}", o.status).to_lowercase(),
            filled: o.filled_quantity.get(),
            avg_price: o.avg_price.map(|p| p.get()),
            error: o.last_error_msg.clone(),
        }));
        report.fills.extend(view.fills.iter().map(|f| FillLine {
            trade_id: f.trade_id,
            client_order_id: f.client_order_id.clone(),
            side: f.side.as_wire().to_string(),
            price: f.price,
            quantity: f.quantity.get(),
        }));
    }
    Ok(())
}

/// Flat after, ledger == exchange (reconcile, dry run), doctor clean.
pub(super) async fn verify(
    ledger: &Ledger,
    ex: &dyn Exchange,
    settings: &Settings,
    symbol: &Symbol,
    report: &mut SmokeReport,
) -> anyhow::Result<()> {
    let after = snapshot(ledger, ex, symbol).await?;
    let flat = after.exchange.is_zero() && after.ledger.is_zero();
    let detail = format!(
        "{symbol}: exchange {} ledger {}",
        after.exchange, after.ledger
    );
    report.after = Some(after);
    report.step("flat_after", flat, detail);
    let is_sluice = |id: &str| crate::router::SluiceOrderId::parse(id).is_ok();
    let rec = super::reconcile::run(ledger, ex, Default::default(), &is_sluice).await?;
    let diffs: Vec<String> = rec
        .remaining
        .iter()
        .take(3)
        .map(|d| format!("{d:?}"))
        .collect();
    let detail = match rec.remaining.len() {
        0 => "reconcile: no difference".to_string(),
        n => format!("reconcile: {n} difference(s): {}", diffs.join("; ")),
    };
    report.step("ledger_exchange", rec.remaining.is_empty(), detail);
    let doc = super::doctor::run(
        ledger,
        super::doctor::DoctorOptions {
            confirm: false,
            allocation: settings.budget.allocation_usdt,
        },
    )
    .await?;
    let detail = match doc.findings.len() {
        0 => "doctor: clean".to_string(),
        n => format!(
            "doctor: {n} finding(s): {}",
            doc.findings
                .iter()
                .map(|f| f.detail.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        ),
    };
    report.step("doctor", doc.is_clean(), detail);
    Ok(())
}

/// The symbol's signed position on the exchange and in the ledger.
pub(super) async fn snapshot(
    ledger: &Ledger,
    ex: &dyn Exchange,
    symbol: &Symbol,
) -> anyhow::Result<PositionSnapshot> {
    let exchange = ex
        .positions(crate::exchange::Purpose::Routine)
        .await?
        .iter()
        .filter(|p| &p.symbol == symbol)
        .map(|p| p.amount)
        .sum();
    let ledger = ledger
        .open_positions()
        .await?
        .iter()
        .filter(|p| p.venue == VENUE && &p.symbol == symbol)
        .map(|p| match p.direction {
            Direction::Long => p.quantity.get(),
            Direction::Short => -p.quantity.get(),
        })
        .sum();
    Ok(PositionSnapshot { exchange, ledger })
}
