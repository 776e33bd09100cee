//! What `doctor` compares an intent's final state with: the quantity its orders filled.

use rust_decimal::Decimal;

use super::decode::Decoder;
use super::error::LedgerError;
use super::ids::IntentId;
use super::Ledger;
use crate::domain::{IntentKind, IntentState, Qty};

/// A terminal (`done`/`failed`) intent and the sum of its orders' fills.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct IntentFillAudit {
    pub id: IntentId,
    pub kind: IntentKind,
    pub state: IntentState,
    /// The requested quantity (None: a notional open, a close of everything, a flatten).
    pub quantity: Option<Qty>,
    /// True when the intent asked for a non-zero size (a quantity or a notional).
    pub(crate) sized: bool,
    pub shortfall: Option<Qty>,
    pub filled: Decimal,
}

impl Ledger {
    /// Every `done` or `failed` intent with Σ filled quantity of its orders.
    pub(crate) async fn intent_fill_audits(&self) -> Result<Vec<IntentFillAudit>, LedgerError> {
        let rows = sqlx::query(
            "SELECT i.id, i.kind, i.state, i.quantity, i.notional_usdt, i.shortfall,
                    COALESCE(SUM(o.filled_quantity), 0) AS filled
             FROM intents i LEFT JOIN orders o ON o.intent_id = i.id
             WHERE i.state IN ('done', 'failed') AND i.account_id = sluice_account()
             GROUP BY i.id ORDER BY i.id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let d = Decoder::new(row, "intents");
                let notional: Option<Decimal> = d.get("notional_usdt")?;
                let quantity = d.qty_opt("quantity")?;
                Ok(IntentFillAudit {
                    id: IntentId(d.get("id")?),
                    kind: d.intent_kind("kind")?,
                    state: d.intent_state("state")?,
                    sized: quantity.is_some() || notional.is_some(),
                    quantity,
                    shortfall: d.qty_opt("shortfall")?,
                    filled: d.get("filled")?,
                })
            })
            .collect()
    }
}
