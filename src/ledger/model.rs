//! The ledger's own vocabulary: position status and origin, anomalies, fill sources,
//! and the rows it hands back. Rows are decoded through [`super::decode::Decoder`].
//! Order and intent states, ids and the intent's shape are `domain` vocabulary.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgRow;

use super::decode::Decoder;
use super::error::LedgerError;
use crate::domain::{
    Direction, DomainError, ExpireReason, IntentId, IntentKind, IntentSpec, IntentState, OrderId,
    OrderType, PositionId, PositionMode, PositionSide, Price, Qty, Side, Symbol, Usdt,
};

pub use crate::domain::OrderState;

macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident, $field:literal { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[derive(utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn parse(raw: &str) -> Result<Self, DomainError> {
                match raw {
                    $($text => Ok($name::$variant),)+
                    other => Err(DomainError::new($field, format!("`{other}` is not a known value"))),
                }
            }
        }
    };
}

text_enum!(
    /// Open until its quantity reaches zero.
    PositionStatus, "status" { Open => "open", Closed => "closed" }
);

text_enum!(
    /// `sluice` positions were built by sluice's own open fills; `adopted` ones were
    /// found on the exchange at start and taken over (with a `ledger_adjustments` row).
    Origin, "origin" { Sluice => "sluice", Adopted => "adopted" }
);

text_enum!(
    /// Something the ledger refused to apply as-is, recorded in `ledger_anomalies`.
    AnomalyKind, "kind" {
        OverCloseCapped => "over_close_capped",
        ExternalFill => "external_fill",
        CloseWithoutOpenPosition => "close_without_open_position",
        FillSideMismatch => "fill_side_mismatch",
        OpenAgainstOpposite => "open_against_opposite",
        FillsShortOfExecuted => "fills_short_of_executed",
    }
);

/// A stored intent: what was asked ([`IntentSpec`], the only thing execution reads)
/// and where the ledger found it pointing when it stored it (`symbol`, `direction`,
/// `position_id`, `notional_usdt`: the leg of a close's position, the position an open
/// adds to, the notional an open was valued at; for views and the order checks).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntentRow {
    pub id: IntentId,
    pub spec: IntentSpec,
    pub venue: String,
    pub symbol: Option<Symbol>,
    pub direction: Option<Direction>,
    pub position_mode: PositionMode,
    pub notional_usdt: Option<Usdt>,
    pub position_id: Option<PositionId>,
    pub idempotency_key: String,
    pub reason: String,
    pub state: IntentState,
    pub error: Option<String>,
    /// Set only on a `done` intent the exchange left partly undone (`done_partial`).
    pub shortfall: Option<Qty>,
    /// LIMIT terms (price or price match, time in force); None: MARKET, as always.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<crate::domain::LimitTerms>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The `limit_terms` column (None for a MARKET intent, or a query that does not select it).
fn limit_terms(row: &PgRow) -> Result<Option<crate::domain::LimitTerms>, LedgerError> {
    use sqlx::Row;
    let raw = match row.try_get::<Option<serde_json::Value>, _>("limit_terms") {
        Ok(v) => v,
        Err(sqlx::Error::ColumnNotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    raw.map(serde_json::from_value)
        .transpose()
        .map_err(|e| LedgerError::invalid("limit_terms", e.to_string()))
}

impl IntentRow {
    pub fn kind(&self) -> IntentKind {
        self.spec.kind()
    }

    /// The terminal outcome: `done`, `done_partial` (done with a shortfall), `failed`,
    /// `cancelled`; None while the intent is still running.
    pub fn outcome(&self) -> Option<&'static str> {
        match self.state {
            IntentState::Done if self.shortfall.is_some() => Some("done_partial"),
            s if s.is_terminal() => Some(s.as_str()),
            _ => None,
        }
    }

    pub(crate) fn decode(row: &PgRow) -> Result<Self, LedgerError> {
        let d = Decoder::new(row, "intents");
        let symbol = d.symbol_opt("symbol")?;
        let direction = d.direction_opt("direction")?;
        let notional_usdt = d.get::<Option<Decimal>>("notional_usdt")?.map(Usdt::new);
        let position_id = d.get::<Option<i64>>("position_id")?.map(PositionId);
        let spec = IntentSpec::from_columns(
            d.intent_kind("kind")?,
            symbol.clone(),
            direction,
            d.qty_opt("quantity")?,
            notional_usdt,
            position_id,
        )
        .map_err(|e| d.invalid(e))?;
        Ok(IntentRow {
            id: IntentId(d.get("id")?),
            spec,
            venue: d.text("venue")?,
            symbol,
            direction,
            position_mode: d.position_mode("position_mode")?,
            notional_usdt,
            position_id,
            idempotency_key: d.text("idempotency_key")?,
            reason: d.text("reason")?,
            state: d.intent_state("state")?,
            error: d.get("error")?,
            shortfall: d.qty_opt("shortfall")?,
            limit: limit_terms(row)?,
            created_at: d.time("created_at")?,
            updated_at: d.time("updated_at")?,
        })
    }
}

/// A stored order (written before it is sent).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRow {
    pub id: OrderId,
    pub intent_id: IntentId,
    pub intent_kind: IntentKind,
    pub position_id: Option<PositionId>,
    pub venue: String,
    pub symbol: Symbol,
    pub side: Side,
    pub position_side: PositionSide,
    pub order_type: OrderType,
    pub quantity: Qty,
    pub price: Option<Price>,
    pub reduce_only: bool,
    pub client_order_id: String,
    pub chunk_index: i32,
    pub attempt: i32,
    pub status: OrderState,
    pub exchange_order_id: Option<i64>,
    pub filled_quantity: Qty,
    pub avg_price: Option<Price>,
    pub last_error_code: Option<i64>,
    pub last_error_msg: Option<String>,
    /// Why the exchange expired it (`er`), when it said; never a fill.
    pub expire_reason: Option<ExpireReason>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn parse_order_type(raw: &str) -> Result<OrderType, DomainError> {
    match raw {
        "MARKET" => Ok(OrderType::Market),
        "LIMIT" => Ok(OrderType::Limit),
        other => Err(DomainError::new(
            "order_type",
            format!("`{other}` is not MARKET or LIMIT"),
        )),
    }
}

impl OrderRow {
    pub(crate) fn decode(row: &PgRow) -> Result<Self, LedgerError> {
        let d = Decoder::new(row, "orders");
        Ok(OrderRow {
            id: OrderId(d.get("id")?),
            intent_id: IntentId(d.get("intent_id")?),
            intent_kind: d.intent_kind("intent_kind")?,
            position_id: d.get::<Option<i64>>("position_id")?.map(PositionId),
            venue: d.text("venue")?,
            symbol: d.symbol("symbol")?,
            side: d.side("side")?,
            position_side: d.position_side("position_side")?,
            order_type: d.with("order_type", parse_order_type)?,
            quantity: d.qty("quantity")?,
            price: d.price_opt("price")?,
            reduce_only: d.get("reduce_only")?,
            client_order_id: d.text("client_order_id")?,
            chunk_index: d.get("chunk_index")?,
            attempt: d.get("attempt")?,
            status: d.with("status", OrderState::parse)?,
            exchange_order_id: d.get("exchange_order_id")?,
            filled_quantity: d.qty("filled_quantity")?,
            avg_price: d.price_opt("avg_price")?,
            last_error_code: d.get("last_error_code")?,
            last_error_msg: d.get("last_error_msg")?,
            expire_reason: d
                .get::<Option<i16>>("expire_reason")?
                .map(ExpireReason::from_code),
            created_at: d.time("created_at")?,
            updated_at: d.time("updated_at")?,
        })
    }
}

/// A position in the ledger: the single source of truth for budget and UI.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionRow {
    pub id: PositionId,
    pub venue: String,
    pub symbol: Symbol,
    pub direction: Direction,
    pub position_side: PositionSide,
    pub status: PositionStatus,
    pub quantity: Qty,
    /// Average price of the open fills (and of the adopted quantity).
    pub entry_price: Decimal,
    /// Quantity that arrived without a fill (adoption).
    pub(crate) initial_quantity: Qty,
    pub opened_quantity: Qty,
    pub closed_quantity: Qty,
    /// Average price of the close fills.
    pub exit_price: Option<Decimal>,
    /// Gross of commissions: Σ applied close quantity × (exit − entry), signed by direction.
    pub realized_pnl: Decimal,
    pub origin: Origin,
    pub opened_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl PositionRow {
    pub(crate) fn decode(row: &PgRow) -> Result<Self, LedgerError> {
        let d = Decoder::new(row, "positions");
        Ok(PositionRow {
            id: PositionId(d.get("id")?),
            venue: d.text("venue")?,
            symbol: d.symbol("symbol")?,
            direction: d.direction("direction")?,
            position_side: d.position_side("position_side")?,
            status: d.with("status", PositionStatus::parse)?,
            quantity: d.qty("quantity")?,
            entry_price: d.decimal("entry_price")?,
            initial_quantity: d.qty("initial_quantity")?,
            opened_quantity: d.qty("opened_quantity")?,
            closed_quantity: d.qty("closed_quantity")?,
            exit_price: d.get("exit_price")?,
            realized_pnl: d.decimal("realized_pnl")?,
            origin: d.with("origin", Origin::parse)?,
            opened_at: d.time("opened_at")?,
            closed_at: d.get("closed_at")?,
            updated_at: d.time("updated_at")?,
        })
    }
    /// Quantity × entry price: what this position takes from the budget.
    pub fn notional(&self) -> Decimal {
        self.quantity.get() * self.entry_price
    }
}

text_enum!(
    /// How the ledger learned of a fill. A working user stream delivers every fill of
    /// sluice's own orders; fills learned over REST while it is connected are the
    /// evidence that it is silent. `stream`: the live user-data stream; `rest`: a REST
    /// read (order resolution, userTrades, the resync after a (re)connect).
    FillSource, "fills.source" {
        Stream => "stream",
        Rest => "rest",
    }
);
