//! Positions: reads, the writes fills make through [`PositionFigures`], adoption of a
//! position found on the exchange, and the per-position fill totals doctor audits.
//!
//! Only `fills.rs` (open fills) and `adopt_position` create positions; the partial
//! unique index guarantees at most one open position per venue, symbol and leg.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

use super::error::LedgerError;
use super::ids::PositionId;
use super::model::PositionRow;
use super::position_math::PositionFigures;
use super::trail::write_adjustment;
use super::Ledger;
use crate::domain::{Direction, PositionSide, Price, Qty, Symbol};

/// A position found on the exchange that sluice takes over at start.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdoptPosition {
    pub venue: String,
    pub symbol: Symbol,
    pub direction: Direction,
    pub position_side: PositionSide,
    pub quantity: Qty,
    pub entry_price: Price,
    pub actor: String,
    pub reason: String,
}

/// A position with the fills that built it, for `doctor`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionAudit {
    pub position: PositionRow,
    /// Σ applied quantity of fills whose order belongs to an OPEN intent. A fill the
    /// adoption of this very position accounted for (`accounted_by`, `reattribute.rs`) is
    /// not counted: the adopted quantity holds it already. One a later correction of the
    /// quantity accounted for is counted: it explains that correction.
    pub(crate) open_fills_quantity: Decimal,
    /// Σ applied quantity of fills whose order belongs to any other intent.
    pub(crate) close_fills_quantity: Decimal,
    pub open_fill_count: i64,
    pub(crate) close_fill_count: i64,
}

impl PositionAudit {
    /// What the quantity must be if every change came from a fill or adoption.
    pub fn expected_quantity(&self) -> Decimal {
        self.position.initial_quantity.get() + self.open_fills_quantity - self.close_fills_quantity
    }
}

impl Ledger {
    pub async fn position(&self, id: PositionId) -> Result<Option<PositionRow>, LedgerError> {
        let mut conn = self.pool.acquire().await?;
        position_in(&mut conn, id).await
    }

    pub async fn open_positions(&self) -> Result<Vec<PositionRow>, LedgerError> {
        sqlx::query(
            "SELECT * FROM positions WHERE status = 'open' AND account_id = sluice_account() ORDER BY id",
        )
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(PositionRow::decode)
            .collect()
    }

    /// The positions of the account with id `account`, open ones only unless `all`.
    pub async fn positions_of(
        &self,
        account: i64,
        all: bool,
    ) -> Result<Vec<PositionRow>, LedgerError> {
        sqlx::query(
            "SELECT * FROM positions WHERE account_id = $1 AND ($2 OR status = 'open') ORDER BY id",
        )
        .bind(account)
        .bind(all)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(PositionRow::decode)
        .collect()
    }

    /// Every position, open and closed, oldest first.
    pub async fn all_positions(&self) -> Result<Vec<PositionRow>, LedgerError> {
        sqlx::query("SELECT * FROM positions WHERE account_id = sluice_account() ORDER BY id")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(PositionRow::decode)
            .collect()
    }

    /// Take over a position the exchange holds and the ledger does not: origin
    /// `adopted`, plus one `ledger_adjustments` row, in one transaction.
    pub async fn adopt_position(&self, a: &AdoptPosition) -> Result<PositionRow, LedgerError> {
        self.adopt_position_read_at(a, None).await
    }

    /// [`Self::adopt_position`] of the exchange's position as read at `read_at`: the
    /// leg's external fills traded until then are in it, and are marked accounted for by
    /// the adoption's adjustment row (`reattribute.rs`), in the same transaction.
    pub async fn adopt_position_read_at(
        &self,
        a: &AdoptPosition,
        read_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<PositionRow, LedgerError> {
        if a.quantity.is_zero() {
            return Err(LedgerError::invalid(
                "quantity",
                "cannot adopt a flat position",
            ));
        }
        check_leg(a.direction, a.position_side)?;
        let mut tx = self.pool.begin().await?;
        // The external fills this adoption accounts for are locked before the position is
        // inserted (it takes the leg's one open slot): the lock order of `reattribute.rs`.
        let accountable = match read_at {
            Some(until) => {
                let leg = (a.venue.as_str(), &a.symbol, a.position_side);
                super::reattribute::lock_accountable(&mut tx, leg, until).await?
            }
            None => Vec::new(),
        };
        let figures = PositionFigures::new(a.quantity.get(), a.entry_price.get());
        let row = insert_position(
            &mut tx,
            &a.venue,
            &a.symbol,
            a.direction,
            a.position_side,
            &figures,
            "adopted",
        )
        .await
        .map_err(|e| already_open(e, &a.symbol))?;
        let after = row_json(&mut tx, row.id).await?;
        let adjustment = write_adjustment(
            &mut tx,
            &a.actor,
            &a.reason,
            "positions",
            row.id.get(),
            None,
            Some(after),
        )
        .await?;
        super::reattribute::mark_accounted(&mut tx, adjustment, &accountable, &a.symbol).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Every position with the totals of the fills applied to it.
    pub async fn position_audits(&self) -> Result<Vec<PositionAudit>, LedgerError> {
        let rows = sqlx::query(
            "SELECT p.*,
                COALESCE(SUM(f.applied_quantity) FILTER (WHERE o.intent_kind = 'open'), 0) AS open_q,
                COALESCE(SUM(f.applied_quantity) FILTER (WHERE o.intent_kind <> 'open'), 0) AS close_q,
                COUNT(f.id) FILTER (WHERE o.intent_kind = 'open') AS open_n,
                COUNT(f.id) FILTER (WHERE o.intent_kind <> 'open') AS close_n
             FROM positions p
             LEFT JOIN fills f ON f.position_id = p.id AND NOT f.external
                 AND NOT EXISTS (SELECT 1 FROM ledger_adjustments a
                                 WHERE a.id = f.accounted_by AND a.table_name = 'positions'
                                   AND a.row_id = p.id AND a.before IS NULL)
             LEFT JOIN orders o ON o.id = f.order_id
             WHERE p.account_id = sluice_account()
             GROUP BY p.id ORDER BY p.id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                use sqlx::Row;
                Ok(PositionAudit {
                    position: PositionRow::decode(r)?,
                    open_fills_quantity: r.try_get("open_q")?,
                    close_fills_quantity: r.try_get("close_q")?,
                    open_fill_count: r.try_get("open_n")?,
                    close_fill_count: r.try_get("close_n")?,
                })
            })
            .collect()
    }
}

/// Hedge legs point one way: a LONG leg holds a long position.
pub(crate) fn check_leg(direction: Direction, leg: PositionSide) -> Result<(), LedgerError> {
    match (leg, direction) {
        (PositionSide::Both, _)
        | (PositionSide::Long, Direction::Long)
        | (PositionSide::Short, Direction::Short) => Ok(()),
        _ => Err(LedgerError::invalid(
            "position_side",
            format!(
                "a {} leg cannot hold a {direction:?} position",
                leg.as_wire()
            ),
        )),
    }
}

fn already_open(e: LedgerError, symbol: &Symbol) -> LedgerError {
    match &e {
        LedgerError::Database(sqlx::Error::Database(db)) if db.is_unique_violation() => {
            LedgerError::invalid(
                "symbol",
                format!("a position on {symbol} is already open on that leg"),
            )
        }
        _ => e,
    }
}

pub(crate) async fn position_in(
    conn: &mut PgConnection,
    id: PositionId,
) -> Result<Option<PositionRow>, LedgerError> {
    sqlx::query("SELECT * FROM positions WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?
        .map(|r| PositionRow::decode(&r))
        .transpose()
}

/// Lock position `id` for the rest of the transaction.
pub(crate) async fn lock_position(
    conn: &mut PgConnection,
    id: PositionId,
) -> Result<Option<PositionRow>, LedgerError> {
    sqlx::query("SELECT * FROM positions WHERE id = $1 FOR NO KEY UPDATE")
        .bind(id)
        .fetch_optional(conn)
        .await?
        .map(|r| PositionRow::decode(&r))
        .transpose()
}

/// The open position on a leg, locked for the rest of the transaction.
pub(crate) async fn open_position_on_leg(
    conn: &mut PgConnection,
    venue: &str,
    symbol: &Symbol,
    leg: PositionSide,
) -> Result<Option<PositionRow>, LedgerError> {
    sqlx::query(
        "SELECT * FROM positions WHERE venue = $1 AND symbol = $2 AND position_side = $3
           AND status = 'open' AND account_id = sluice_account() FOR NO KEY UPDATE",
    )
    .bind(venue)
    .bind(symbol.as_str())
    .bind(leg.as_wire())
    .fetch_optional(conn)
    .await?
    .map(|r| PositionRow::decode(&r))
    .transpose()
}

pub(crate) async fn insert_position(
    conn: &mut PgConnection,
    venue: &str,
    symbol: &Symbol,
    direction: Direction,
    leg: PositionSide,
    f: &PositionFigures,
    origin: &str,
) -> Result<PositionRow, LedgerError> {
    let initial = if origin == "adopted" {
        f.quantity
    } else {
        Decimal::ZERO
    };
    let row = sqlx::query(
        "INSERT INTO positions (venue, symbol, direction, position_side, status, quantity,
             entry_price, initial_quantity, opened_quantity, origin)
         VALUES ($1, $2, $3, $4, 'open', $5, $6, $7, $8, $9) RETURNING *",
    )
    .bind(venue)
    .bind(symbol.as_str())
    .bind(direction.as_str())
    .bind(leg.as_wire())
    .bind(f.quantity)
    .bind(f.entry_price)
    .bind(initial)
    .bind(f.opened_quantity)
    .bind(origin)
    .fetch_one(conn)
    .await?;
    PositionRow::decode(&row)
}

/// Write new figures; a flat position becomes `closed` at the same time.
pub(crate) async fn write_figures(
    conn: &mut PgConnection,
    id: PositionId,
    f: &PositionFigures,
) -> Result<PositionRow, LedgerError> {
    let row = sqlx::query(
        "UPDATE positions SET quantity = $2, entry_price = $3, opened_quantity = $4,
             closed_quantity = $5, exit_price = $6, realized_pnl = $7,
             status = CASE WHEN $2 = 0 THEN 'closed' ELSE 'open' END,
             closed_at = CASE WHEN $2 = 0 THEN now() ELSE NULL END,
             updated_at = now()
         WHERE id = $1 RETURNING *",
    )
    .bind(id)
    .bind(f.quantity)
    .bind(f.entry_price)
    .bind(f.opened_quantity)
    .bind(f.closed_quantity)
    .bind(f.exit_price)
    .bind(f.realized_pnl)
    .fetch_one(conn)
    .await?;
    PositionRow::decode(&row)
}

pub(crate) fn figures_of(p: &PositionRow) -> PositionFigures {
    PositionFigures {
        quantity: p.quantity.get(),
        entry_price: p.entry_price,
        opened_quantity: p.opened_quantity.get(),
        closed_quantity: p.closed_quantity.get(),
        exit_price: p.exit_price,
        realized_pnl: p.realized_pnl,
    }
}

/// The row as JSON, for the before/after of an adjustment.
pub(crate) async fn row_json(
    conn: &mut PgConnection,
    id: PositionId,
) -> Result<serde_json::Value, LedgerError> {
    let (v,): (serde_json::Value,) =
        sqlx::query_as("SELECT to_jsonb(p) FROM positions p WHERE id = $1")
            .bind(id)
            .fetch_one(conn)
            .await?;
    Ok(v)
}
