//! Stored fills as the API, CLI and doctor read them.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::decode::Decoder;
use super::error::LedgerError;
use super::ids::{FillId, IntentId, OrderId, PositionId};
use super::model::FillSource;
use super::Ledger;
use crate::domain::{PositionSide, Qty, Side, Symbol};

/// A stored fill.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FillRow {
    pub id: FillId,
    pub venue: String,
    pub symbol: Symbol,
    pub trade_id: i64,
    pub order_id: Option<OrderId>,
    pub client_order_id: Option<String>,
    pub exchange_order_id: i64,
    pub side: Side,
    pub position_side: PositionSide,
    pub price: Decimal,
    pub quantity: Qty,
    pub commission: Decimal,
    pub commission_asset: String,
    pub realized_pnl: Decimal,
    pub maker: bool,
    pub(crate) traded_at: DateTime<Utc>,
    pub external: bool,
    pub position_id: Option<PositionId>,
    pub applied_quantity: Qty,
    /// How the ledger learned of it (None: stored before sources were recorded).
    pub source: Option<FillSource>,
}

impl FillRow {
    pub(crate) fn decode(row: &sqlx::postgres::PgRow) -> Result<Self, LedgerError> {
        let d = Decoder::new(row, "fills");
        Ok(FillRow {
            id: FillId(d.get("id")?),
            venue: d.text("venue")?,
            symbol: d.symbol("symbol")?,
            trade_id: d.get("trade_id")?,
            order_id: d.get::<Option<i64>>("order_id")?.map(OrderId),
            client_order_id: d.get("client_order_id")?,
            exchange_order_id: d.get("exchange_order_id")?,
            side: d.side("side")?,
            position_side: d.position_side("position_side")?,
            price: d.decimal("price")?,
            quantity: d.qty("quantity")?,
            commission: d.decimal("commission")?,
            commission_asset: d.text("commission_asset")?,
            realized_pnl: d.decimal("realized_pnl")?,
            maker: d.get("maker")?,
            traded_at: d.time("traded_at")?,
            external: d.get("external")?,
            position_id: d.get::<Option<i64>>("position_id")?.map(PositionId),
            applied_quantity: d.qty("applied_quantity")?,
            source: d
                .get::<Option<String>>("source")?
                .as_deref()
                .map(FillSource::parse)
                .transpose()?,
        })
    }
}

impl Ledger {
    pub async fn fills_of_intent(&self, id: IntentId) -> Result<Vec<FillRow>, LedgerError> {
        sqlx::query(
            "SELECT f.* FROM fills f JOIN orders o ON o.id = f.order_id
             WHERE o.intent_id = $1 ORDER BY f.id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(FillRow::decode)
        .collect()
    }

    /// The fills stored external that no order was found for since (a fill re-attributed
    /// to its order is not external any more), oldest first.
    pub async fn external_fills(&self) -> Result<Vec<FillRow>, LedgerError> {
        sqlx::query(
            "SELECT * FROM fills WHERE external AND account_id = sluice_account() ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(FillRow::decode)
        .collect()
    }

    /// Every stored fill, oldest first.
    pub async fn all_fills(&self) -> Result<Vec<FillRow>, LedgerError> {
        sqlx::query("SELECT * FROM fills WHERE account_id = sluice_account() ORDER BY id")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(FillRow::decode)
            .collect()
    }
}
