//! What `sluice smoke` prints: one line per step (pass/fail and what was seen), then the
//! evidence — the orders and fills of both intents and the positions before and after,
//! as the exchange and the ledger each report them.

use std::fmt;

use rust_decimal::Decimal;
use serde::Serialize;

/// One step of the smoke run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct SmokeStep {
    pub name: &'static str,
    pub passed: bool,
    pub detail: String,
}

/// One order as the ledger recorded it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct OrderLine {
    pub intent: &'static str,
    pub client_order_id: String,
    pub side: String,
    pub quantity: Decimal,
    pub status: String,
    pub filled: Decimal,
    pub avg_price: Option<Decimal>,
    pub error: Option<String>,
}

/// One fill as the ledger applied it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct FillLine {
    pub trade_id: i64,
    pub client_order_id: Option<String>,
    pub side: String,
    pub price: Decimal,
    pub quantity: Decimal,
}

/// The symbol's position at one moment, from both sides.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub(crate) struct PositionSnapshot {
    /// Signed amount the exchange reports (negative = SHORT).
    pub exchange: Decimal,
    /// Signed open quantity in the ledger.
    pub ledger: Decimal,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub(crate) struct SmokeReport {
    pub symbol: Option<String>,
    pub quantity: Option<Decimal>,
    pub steps: Vec<SmokeStep>,
    pub orders: Vec<OrderLine>,
    pub fills: Vec<FillLine>,
    pub before: Option<PositionSnapshot>,
    pub after: Option<PositionSnapshot>,
}

impl SmokeReport {
    pub(crate) fn passed(&self) -> bool {
        !self.steps.is_empty() && self.steps.iter().all(|s| s.passed)
    }
    pub(crate) fn step(
        &mut self,
        name: &'static str,
        passed: bool,
        detail: impl Into<String>,
    ) -> bool {
        self.steps.push(SmokeStep {
            name,
            passed,
            detail: detail.into(),
        });
        passed
    }
}

impl fmt::Display for SmokeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.steps {
            let mark = if s.passed { "pass" } else { "FAIL" };
            writeln!(f, "{mark:<5} {:<16} {}", s.name, s.detail)?;
        }
        if !self.orders.is_empty() {
            writeln!(f, "orders:")?;
        }
        for o in &self.orders {
            let avg = o.avg_price.map(|p| p.to_string()).unwrap_or("-".into());
            write!(
                f,
                "  {:<6} {:<24} {:<4} qty {} status {} filled {} avg {avg}",
                o.intent, o.client_order_id, o.side, o.quantity, o.status, o.filled
            )?;
            if let Some(e) = &o.error {
                write!(f, " error {e}")?;
            }
            writeln!(f)?;
        }
        if !self.fills.is_empty() {
            writeln!(f, "fills:")?;
        }
        for x in &self.fills {
            writeln!(
                f,
                "  trade {} {} {} {} @ {}",
                x.trade_id,
                x.client_order_id.as_deref().unwrap_or("-"),
                x.side,
                x.quantity,
                x.price
            )?;
        }
        for (when, p) in [("before", &self.before), ("after", &self.after)] {
            if let Some(p) = p {
                writeln!(
                    f,
                    "position {when}: exchange {} ledger {}",
                    p.exchange, p.ledger
                )?;
            }
        }
        let symbol = self.symbol.as_deref().unwrap_or("-");
        if self.passed() {
            write!(f, "smoke PASSED on {symbol}")
        } else {
            write!(f, "smoke FAILED on {symbol}")
        }
    }
}
