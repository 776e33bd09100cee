//! Fills: each one applied exactly once, in ONE transaction with the position it
//! changes, its order's filled quantity and the exchange's reported positions; many fills
//! in one transaction when they arrive together ([`Ledger::apply_fills`]).
//!
//! The rules (seed 002), each enforced here (in memory by `fill_plan.rs`, written by
//! `fill_batch.rs`):
//! - only a fill of an OPEN intent's order creates or increases a position;
//! - any other fill only reduces the position its order names, capped at what is open
//!   (the excess is a `ledger_anomalies` row), so it can never create or flip one;
//! - a fill no sluice order explains is stored `external` and moves nothing, until an
//!   order's exchange id is stored that explains it: then it is applied to that order in
//!   the same transaction (`reattribute.rs`);
//! - the same (venue, symbol, trade id) again changes nothing, in the same batch or not.
//!
//! A batch is applied in arrival order: a later fill of the same order or position sees
//! the earlier one's effect, so a batch ends exactly where the same fills applied one
//! transaction each would. One fill is a batch of one (one code path).
//!
//! A bad fill never costs the others: a fill the ledger refuses on its face (zero
//! quantity, a notional out of range) gets its own error and the rest are applied; if
//! the batch's transaction fails in the database (a statement refused, a deadlock), it is
//! rolled back whole and every fill is applied again one transaction each, so only the
//! fill that causes the failure fails. A lost connection fails the call: nothing was
//! written, and the caller's resolution (REST, the settle timeout) applies the fills later.

use super::error::LedgerError;
use super::exchange_positions::upsert_in;
use super::fill_batch::apply_in;
use super::fill_outcome::FillOutcome;
use super::model::FillSource;
use super::Ledger;
use crate::domain::Fill;
use crate::exchange::ExchangePosition;

/// One outcome per fill of a batch, in the batch's order: its own refusal when the
/// ledger refused that fill alone.
pub(crate) type FillOutcomes = Vec<Result<FillOutcome, LedgerError>>;

impl Ledger {
    /// Apply one fill (see the module doc) and store `reported` exchange positions,
    /// all in one transaction. Its source is not recorded: see [`Self::apply_fill_from`].
    pub async fn apply_fill(
        &self,
        venue: &str,
        fill: &Fill,
        reported: &[ExchangePosition],
    ) -> Result<FillOutcome, LedgerError> {
        self.apply_fill_from(venue, fill, reported, None).await
    }

    /// [`Self::apply_fill`], recording how the fill was learned (stream or REST). A
    /// duplicate keeps the source of its first arrival. A batch of one.
    #[tracing::instrument(skip(self, fill, reported), fields(symbol = %fill.symbol, trade_id = fill.trade_id))]
    pub async fn apply_fill_from(
        &self,
        venue: &str,
        fill: &Fill,
        reported: &[ExchangePosition],
        source: Option<FillSource>,
    ) -> Result<FillOutcome, LedgerError> {
        check(fill)?;
        let mut tx = self.pool.begin().await?;
        let outcome = apply_in(&mut tx, venue, &[fill], source)
            .await?
            .pop()
            .ok_or_else(|| LedgerError::invalid("fill", "the batch gave no outcome"))?;
        if outcome == FillOutcome::Duplicate {
            return Ok(outcome); // dropping `tx` rolls back: a replayed fill changes nothing
        }
        upsert_in(&mut tx, venue, reported).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Apply `fills` in arrival order in ONE transaction, with `reported` exchange
    /// positions (not stored when every fill is a duplicate: replayed fills change
    /// nothing, as one at a time), each fill exactly once, one outcome each (see the module doc for what a
    /// bad fill does to the others). `Err`: the database was lost; the batch wrote nothing,
    /// or (lost during the one-by-one retry) only some of its fills, and applying the
    /// same fills again is safe (each exactly once).
    #[tracing::instrument(skip_all, fields(fills = fills.len()))]
    pub async fn apply_fills(
        &self,
        venue: &str,
        fills: &[Fill],
        reported: &[ExchangePosition],
        source: Option<FillSource>,
    ) -> Result<FillOutcomes, LedgerError> {
        let checked: Vec<Result<(), LedgerError>> = fills.iter().map(check).collect();
        let good: Vec<&Fill> = fills
            .iter()
            .zip(&checked)
            .filter(|(_, c)| c.is_ok())
            .map(|(f, _)| f)
            .collect();
        let applied = match self.batch(venue, &good, reported, source).await {
            Ok(outcomes) => outcomes.into_iter().map(Ok).collect(),
            Err(e) if good.len() > 1 && one_fill_may_cause(&e) => {
                tracing::warn!(error = %e, fills = good.len(), "a batch of fills failed: applying them one by one");
                self.one_by_one(venue, &good, reported, source).await?
            }
            Err(e) => return Err(e),
        };
        let mut applied = applied.into_iter();
        Ok(checked
            .into_iter()
            .map(|c| match c {
                Ok(()) => applied.next().unwrap_or_else(|| {
                    Err(LedgerError::invalid("fill", "the batch gave no outcome"))
                }),
                Err(e) => Err(e),
            })
            .collect())
    }

    async fn batch(
        &self,
        venue: &str,
        fills: &[&Fill],
        reported: &[ExchangePosition],
        source: Option<FillSource>,
    ) -> Result<Vec<FillOutcome>, LedgerError> {
        let mut tx = self.pool.begin().await?;
        let outcomes = apply_in(&mut tx, venue, fills, source).await?;
        if outcomes.iter().all(|o| *o == FillOutcome::Duplicate) {
            return Ok(outcomes); // rolled back: replayed fills change nothing
        }
        upsert_in(&mut tx, venue, reported).await?;
        tx.commit().await?;
        Ok(outcomes)
    }

    /// Each fill in its own transaction, then `reported`: a fill that fails alone fails
    /// alone.
    async fn one_by_one(
        &self,
        venue: &str,
        fills: &[&Fill],
        reported: &[ExchangePosition],
        source: Option<FillSource>,
    ) -> Result<FillOutcomes, LedgerError> {
        let mut out = Vec::with_capacity(fills.len());
        for fill in fills {
            let one = match self
                .batch(venue, std::slice::from_ref(fill), &[], source)
                .await
            {
                Err(e) if !one_fill_may_cause(&e) => return Err(e),
                Err(e) => {
                    tracing::error!(error = %e, symbol = %fill.symbol, trade_id = fill.trade_id, "a fill could not be applied");
                    Err(e)
                }
                Ok(mut o) => o
                    .pop()
                    .ok_or_else(|| LedgerError::invalid("fill", "the batch gave no outcome")),
            };
            out.push(one);
        }
        if out
            .iter()
            .any(|o| o.as_ref().is_ok_and(|o| *o != FillOutcome::Duplicate))
        {
            self.record_exchange_positions(venue, reported).await?;
        }
        Ok(out)
    }
}

/// Refuse on its face what no transaction may write.
fn check(fill: &Fill) -> Result<(), LedgerError> {
    if fill.quantity.is_zero() {
        return Err(LedgerError::invalid("quantity", "a fill of zero"));
    }
    // The position arithmetic multiplies quantity by price: refuse what cannot be.
    if fill.quantity.get().checked_mul(fill.price.get()).is_none() {
        return Err(LedgerError::invalid(
            "quantity",
            "quantity × price is out of range",
        ));
    }
    Ok(())
}

/// Whether a failed batch may be the fault of one of its fills (the database refused a
/// statement, or the ledger refused a fill) rather than of the connection.
fn one_fill_may_cause(e: &LedgerError) -> bool {
    match e {
        LedgerError::Database(sqlx::Error::Database(_)) => true,
        LedgerError::Database(_) => false,
        _ => true,
    }
}
