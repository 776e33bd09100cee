//! Reading stored rows back into domain types.
//!
//! Every column is parsed through the same constructors that guard the network
//! boundary (`Symbol::new`, `Qty::new`...): a row that breaks them is reported as
//! `LedgerError::Corrupt` naming the table, the row and the column, never a panic.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::postgres::PgRow;
use sqlx::Row;

use super::error::LedgerError;
use crate::domain::{
    Direction, DomainError, IntentKind, IntentState, PositionMode, PositionSide, Price, Qty, Side,
    Symbol,
};

/// One row of one table, decoded column by column.
pub(crate) struct Decoder<'r> {
    row: &'r PgRow,
    table: &'static str,
    row_id: i64,
}

impl<'r> Decoder<'r> {
    /// The row's `id` column names it in error messages.
    pub(crate) fn new(row: &'r PgRow, table: &'static str) -> Self {
        let row_id = row.try_get::<i64, _>("id").unwrap_or(-1);
        Decoder { row, table, row_id }
    }

    fn corrupt(&self, column: &str, reason: impl std::fmt::Display) -> LedgerError {
        LedgerError::Corrupt {
            table: self.table,
            row_id: self.row_id,
            reason: format!("column {column}: {reason}"),
        }
    }

    /// A row whose columns each parse but do not fit together (the domain error names
    /// the column).
    pub(crate) fn invalid(&self, e: DomainError) -> LedgerError {
        self.corrupt(&e.field, e.reason)
    }

    pub(crate) fn get<T>(&self, column: &str) -> Result<T, LedgerError>
    where
        T: for<'a> sqlx::Decode<'a, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    {
        self.row
            .try_get::<T, _>(column)
            .map_err(|e| self.corrupt(column, e))
    }

    fn parsed<T>(
        &self,
        column: &str,
        parse: impl FnOnce(&str) -> Result<T, DomainError>,
    ) -> Result<T, LedgerError> {
        let raw: String = self.get(column)?;
        parse(&raw).map_err(|e| self.corrupt(column, e))
    }

    fn parsed_opt<T>(
        &self,
        column: &str,
        parse: impl FnOnce(&str) -> Result<T, DomainError>,
    ) -> Result<Option<T>, LedgerError> {
        let raw: Option<String> = self.get(column)?;
        raw.map(|r| parse(&r).map_err(|e| self.corrupt(column, e)))
            .transpose()
    }

    pub(crate) fn text(&self, column: &str) -> Result<String, LedgerError> {
        self.get(column)
    }
    pub(crate) fn time(&self, column: &str) -> Result<DateTime<Utc>, LedgerError> {
        self.get(column)
    }
    pub(crate) fn decimal(&self, column: &str) -> Result<Decimal, LedgerError> {
        self.get(column)
    }
    pub(crate) fn symbol(&self, column: &str) -> Result<Symbol, LedgerError> {
        self.parsed(column, Symbol::new)
    }
    pub(crate) fn symbol_opt(&self, column: &str) -> Result<Option<Symbol>, LedgerError> {
        self.parsed_opt(column, Symbol::new)
    }
    pub(crate) fn qty(&self, column: &str) -> Result<Qty, LedgerError> {
        let d: Decimal = self.get(column)?;
        Qty::new(column, d).map_err(|e| self.corrupt(column, e))
    }
    pub(crate) fn qty_opt(&self, column: &str) -> Result<Option<Qty>, LedgerError> {
        let d: Option<Decimal> = self.get(column)?;
        d.map(|d| Qty::new(column, d).map_err(|e| self.corrupt(column, e)))
            .transpose()
    }
    pub(crate) fn price_opt(&self, column: &str) -> Result<Option<Price>, LedgerError> {
        let d: Option<Decimal> = self.get(column)?;
        d.map(|d| Price::new(column, d).map_err(|e| self.corrupt(column, e)))
            .transpose()
    }
    pub(crate) fn side(&self, column: &str) -> Result<Side, LedgerError> {
        self.parsed(column, Side::parse)
    }
    pub(crate) fn position_side(&self, column: &str) -> Result<PositionSide, LedgerError> {
        self.parsed(column, PositionSide::parse)
    }
    pub(crate) fn direction(&self, column: &str) -> Result<Direction, LedgerError> {
        self.parsed(column, Direction::parse)
    }
    pub(crate) fn direction_opt(&self, column: &str) -> Result<Option<Direction>, LedgerError> {
        self.parsed_opt(column, Direction::parse)
    }
    pub(crate) fn intent_kind(&self, column: &str) -> Result<IntentKind, LedgerError> {
        self.parsed(column, IntentKind::parse)
    }
    pub(crate) fn intent_state(&self, column: &str) -> Result<IntentState, LedgerError> {
        self.parsed(column, IntentState::parse)
    }
    pub(crate) fn position_mode(&self, column: &str) -> Result<PositionMode, LedgerError> {
        self.parsed(column, parse_position_mode)
    }
    /// For the ledger's own text enums (order state, position status, origin).
    pub(crate) fn with<T>(
        &self,
        column: &str,
        parse: impl FnOnce(&str) -> Result<T, DomainError>,
    ) -> Result<T, LedgerError> {
        self.parsed(column, parse)
    }
}

pub(crate) fn parse_position_mode(raw: &str) -> Result<PositionMode, DomainError> {
    match raw {
        "one-way" => Ok(PositionMode::OneWay),
        "hedge" => Ok(PositionMode::Hedge),
        other => Err(DomainError::new(
            "position_mode",
            format!("`{other}` is not one-way or hedge"),
        )),
    }
}
