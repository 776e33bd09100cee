//! `sluice doctor`: audit the ledger for the states seed 002 left behind and repair
//! the repairable ones on request.
//!
//! Dry-run by default: nothing is written. With `confirm`, each repairable finding is
//! fixed through the ledger's correction writer, which records one
//! `ledger_adjustments` row (actor `doctor`, before and after) per change. Drift
//! against the exchange and a negative budget are reported, never "repaired" here:
//! reconcile owns the exchange, and the budget follows from the positions.
//! Exit code policy for the CLI: 0 clean, 1 found something, 2 error.
//!
//! This file holds the report, the run (read, audit, repair) and its table; the audits
//! themselves are pure and live beside it: `doctor/positions.rs` (positions against
//! their fills, the exchange and the budget) and `doctor/intents.rs` (an intent's final
//! state against its fills); an open position missing the protective order its open
//! asked for is reported as `unprotected_position` (never repaired: the executor
//! places it, or the operator decides); a fill no sluice order explains as
//! `external_fill` (never repaired: reconcile owns the venue's position). An operator
//! who knows such a fill is a genuine manual trade acknowledges it
//! ([`acknowledge_external_fill`], `sluice doctor --acknowledge-external-fill ID --reason
//! … --actor …`): actor, reason and time are stored on its anomaly, and doctor lists it
//! under `acknowledged` instead of failing on it.

mod intents;
mod positions;

use std::fmt;

use anyhow::Context;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::domain::{two_decimals, Qty, Usdt};
use crate::ledger::{
    AdjustmentId, Budget, ExternalFillAck, FillRow, IntentId, Ledger, LedgerError,
    PositionCorrection, PositionId, PositionStatus, ReservedCheck,
};

pub(crate) use positions::diagnose;

const ACTOR: &str = "doctor";

/// What `sluice doctor` is asked to do.
#[derive(Clone, Copy, Debug)]
pub struct DoctorOptions {
    /// Apply the repairs (without it doctor only reports).
    pub confirm: bool,
    /// The budget allocation (USDT) the budget check uses.
    pub allocation: Decimal,
}

/// What kind of inconsistency a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingClass {
    /// Σ open fills − Σ applied close fills (+ adopted quantity) ≠ quantity.
    FillsMismatch,
    /// A position whose only fills belong to close/reduce/flatten orders.
    CreatedByCloseFill,
    /// Seed 002: an open position born within 3 s of the opposite position's close,
    /// at that close's exit price and with the same size.
    PhantomAfterClose,
    /// The ledger's open quantity differs from what the exchange last reported.
    ExchangeDrift,
    /// The budget's available amount is below zero.
    NegativeBudget,
    /// An intent's final state disagrees with its fills: `failed` although something
    /// filled, `done` with nothing filled for a non-zero request, or `done` short of
    /// its quantity without a stated shortfall.
    IntentStateMismatch,
    /// An open position without the exchange-side stop-loss or take-profit its open
    /// asked for (not placed yet, refused, or cancelled by hand).
    UnprotectedPosition,
    /// The budget's kept reserved sum differs from the one re-summed from the live
    /// opens and their fills (reported, never repaired here).
    ReservedDrift,
    /// A fill no sluice order explains (stored `external`: a trade placed by hand or by
    /// another tool, or one whose order the ledger never learned). A fill re-attributed
    /// to its order once the order's exchange id became known is not one, nor one an
    /// operator acknowledged as a genuine manual trade (listed under `acknowledged`
    /// instead). Reported, never repaired here: reconcile owns what it did to the venue's
    /// position.
    ExternalFill,
}

impl FindingClass {
    /// The class's stable snake_case name (as in the JSON report).
    pub fn as_str(self) -> &'static str {
        match self {
            FindingClass::FillsMismatch => "fills_mismatch",
            FindingClass::CreatedByCloseFill => "created_by_close_fill",
            FindingClass::PhantomAfterClose => "phantom_after_close",
            FindingClass::ExchangeDrift => "exchange_drift",
            FindingClass::NegativeBudget => "negative_budget",
            FindingClass::IntentStateMismatch => "intent_state_mismatch",
            FindingClass::UnprotectedPosition => "unprotected_position",
            FindingClass::ReservedDrift => "reserved_drift",
            FindingClass::ExternalFill => "external_fill",
        }
    }
}

/// The change doctor would make (and makes, with `confirm`) for a finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct PlannedRepair {
    pub position_id: PositionId,
    pub quantity: Decimal,
    pub close: bool,
}

/// One inconsistency in the ledger, with the rows involved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What kind of inconsistency.
    pub class: FindingClass,
    /// The rows involved: the suspect position first, then any it is compared with.
    pub positions: Vec<PositionId>,
    /// The intents involved (intent findings only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub intents: Vec<IntentId>,
    /// What was found, with the numbers involved.
    pub detail: String,
    pub(crate) repair: Option<PlannedRepair>,
}

/// A repair doctor made (`--confirm`), recorded as an adjustment row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AppliedRepair {
    /// The position corrected.
    pub position_id: PositionId,
    /// None when an earlier repair already brought the row to this state.
    pub(crate) adjustment_id: Option<AdjustmentId>,
}

/// What `sluice doctor` found and, with `confirm`, repaired.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DoctorReport {
    /// Whether repairs were asked for.
    pub confirm: bool,
    /// Every inconsistency found (before repairs).
    pub findings: Vec<Finding>,
    /// The repairs made (empty without `confirm`).
    pub repairs: Vec<AppliedRepair>,
    /// The budget as the ledger has it before repairs.
    pub budget: Budget,
    /// The budget after repairs, when any were made.
    pub budget_after: Option<Budget>,
    /// External fills an operator acknowledged (not findings: doctor does not fail on
    /// them), oldest fill first.
    pub acknowledged: Vec<AcknowledgedFill>,
}

/// An external fill an operator acknowledged, as doctor lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AcknowledgedFill {
    /// The fill, in words (as its finding would have said).
    pub detail: String,
    /// Who, why and when.
    #[serde(flatten)]
    pub ack: ExternalFillAck,
}

impl DoctorReport {
    /// Nothing was found.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
    /// 0 clean, 1 found something (errors are 2, decided by the caller).
    pub fn exit_code(&self) -> i32 {
        if self.is_clean() {
            0
        } else {
            1
        }
    }
}

/// Audit the ledger; with `opts.confirm`, repair what is repairable.
pub async fn run(ledger: &Ledger, opts: DoctorOptions) -> anyhow::Result<DoctorReport> {
    let allocation = Usdt::new(opts.allocation);
    let audits = ledger
        .position_audits()
        .await
        .context("failed to read positions and their fills")?;
    let exchange = ledger
        .exchange_positions()
        .await
        .context("failed to read exchange positions")?;
    let budget = ledger
        .budget(allocation)
        .await
        .context("failed to compute the budget")?;
    let intents = ledger
        .intent_fill_audits()
        .await
        .context("failed to read intents and their fills")?;
    let unprotected = ledger
        .unprotected_positions()
        .await
        .context("failed to read protective orders")?;
    let reserved = ledger
        .reserved_check()
        .await
        .context("failed to check the reserved budget")?;
    let external = ledger
        .external_fills()
        .await
        .context("failed to read external fills")?;
    let acks = ledger
        .external_fill_acks()
        .await
        .context("failed to read the acknowledged external fills")?;
    let mut findings = diagnose(&audits, &exchange, &budget);
    findings.extend(reserved_drift(&reserved));
    let mut acknowledged = Vec::new();
    for f in &external {
        match acks.iter().find(|a| a.fill_id == f.id.get()) {
            Some(ack) => acknowledged.push(AcknowledgedFill {
                detail: external_fill(f).detail,
                ack: ack.clone(),
            }),
            None => findings.push(external_fill(f)),
        }
    }
    findings.extend(intents::mismatches(&intents));
    findings.extend(
        unprotected
            .into_iter()
            .map(|(position, kind, error)| Finding {
                class: FindingClass::UnprotectedPosition,
                positions: vec![position],
                intents: Vec::new(),
                detail: format!(
                    "no live exchange-side {} although its open asked for one{}",
                    kind.as_str(),
                    error.map_or_else(String::new, |e| format!(" (last error: {e})"))
                ),
                repair: None,
            }),
    );
    let mut repairs = Vec::new();
    if opts.confirm {
        for (finding, repair) in findings
            .iter()
            .filter_map(|f| f.repair.as_ref().map(|r| (f, r)))
        {
            let adjustment_id = apply(ledger, finding, repair).await?;
            repairs.push(AppliedRepair {
                position_id: repair.position_id,
                adjustment_id,
            });
        }
    }
    let budget_after = if repairs.is_empty() {
        None
    } else {
        Some(
            ledger
                .budget(allocation)
                .await
                .context("failed to recompute the budget")?,
        )
    };
    Ok(DoctorReport {
        confirm: opts.confirm,
        findings,
        repairs,
        budget,
        budget_after,
        acknowledged,
    })
}

/// The most characters an acknowledgement's actor and reason may hold (as the control
/// API's `actor` and `reason`, `src/api/control.rs`).
const ACK_ACTOR_MAX: usize = 128;
const ACK_REASON_MAX: usize = 500;

/// Acknowledge the external fill `fill_id` as a genuine manual trade (or another tool's):
/// `actor` and `reason` are required free text, refused (naming the field, nothing
/// written) when empty, too long, or carrying control or format characters (the checks
/// the API applies, `src/api/text.rs`); the ledger then refuses an unknown fill, one not
/// external and one already acknowledged, also naming the field.
pub async fn acknowledge_external_fill(
    ledger: &Ledger,
    fill_id: i64,
    actor: &str,
    reason: &str,
) -> Result<ExternalFillAck, LedgerError> {
    let actor = ack_text("actor", actor, ACK_ACTOR_MAX)?;
    let reason = ack_text("reason", reason, ACK_REASON_MAX)?;
    ledger
        .acknowledge_external_fill(fill_id, &actor, &reason)
        .await
}

fn ack_text(field: &str, raw: &str, max: usize) -> Result<String, LedgerError> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(LedgerError::invalid(field, "is required"));
    }
    if value.chars().count() > max {
        return Err(LedgerError::invalid(
            field,
            format!("is longer than {max} characters"),
        ));
    }
    if crate::api::text::has_unsafe(value) {
        return Err(LedgerError::invalid(
            field,
            "contains control or invisible format characters (e.g. U+202E, U+200B)",
        ));
    }
    Ok(value.to_string())
}

/// A finding when the kept reserved sum is not the re-summed one: the accept checks the
/// kept one, so a drift lets opens spend more (or less) than the allocation holds.
fn reserved_drift(check: &ReservedCheck) -> Option<Finding> {
    (!check.agrees()).then(|| Finding {
        class: FindingClass::ReservedDrift,
        positions: Vec::new(),
        intents: Vec::new(),
        detail: format!(
            "the kept reserved budget is ${} but the live opens and their fills sum to ${}",
            check.kept.normalize(),
            check.summed.normalize()
        ),
        repair: None,
    })
}

/// A fill stored external and never re-attributed: no sluice order explains it.
fn external_fill(f: &FillRow) -> Finding {
    Finding {
        class: FindingClass::ExternalFill,
        positions: Vec::new(),
        intents: Vec::new(),
        detail: format!(
            "fill #{} (trade {} of exchange order {} on {}: {} {} at {}) is explained by no sluice order",
            f.id,
            f.trade_id,
            f.exchange_order_id,
            f.symbol,
            f.side.as_wire(),
            f.quantity.get().normalize(),
            f.price.normalize()
        ),
        repair: None,
    }
}

async fn apply(
    ledger: &Ledger,
    f: &Finding,
    r: &PlannedRepair,
) -> anyhow::Result<Option<AdjustmentId>> {
    let quantity =
        Qty::new("quantity", r.quantity).context("a repair computed a negative quantity")?;
    let correction = PositionCorrection {
        position_id: r.position_id,
        quantity: Some(quantity),
        status: r.close.then_some(PositionStatus::Closed),
        actor: ACTOR.into(),
        reason: format!("{}: {}", f.class.as_str(), f.detail),
        exchange_read_at: None,
    };
    ledger
        .correct_position(&correction)
        .await
        .with_context(|| format!("failed to repair position #{}", r.position_id))
}

impl fmt::Display for DoctorReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = if self.confirm { "repair" } else { "dry run" };
        writeln!(
            f,
            "sluice doctor ({mode}): {} finding(s)",
            self.findings.len()
        )?;
        if !self.findings.is_empty() {
            writeln!(
                f,
                "{:<22} {:<14} {:<10} DETAIL",
                "CLASS", "POSITIONS", "REPAIR"
            )?;
        }
        for finding in &self.findings {
            let ids: Vec<String> = finding
                .positions
                .iter()
                .map(|id| format!("#{id}"))
                .chain(finding.intents.iter().map(|id| format!("intent #{id}")))
                .collect();
            let repair = match (&finding.repair, self.confirm) {
                (None, _) => "report",
                (Some(r), false) if r.close => "would close",
                (Some(_), false) => "would fix",
                (Some(r), true) if r.close => "closed",
                (Some(_), true) => "fixed",
            };
            writeln!(
                f,
                "{:<22} {:<14} {:<10} {}",
                finding.class.as_str(),
                ids.join(","),
                repair,
                finding.detail
            )?;
        }
        let b = &self.budget;
        writeln!(
            f,
            "budget: allocation ${}, used ${}, reserved ${}, available ${}",
            two_decimals(b.allocation.get()),
            two_decimals(b.used.get()),
            two_decimals(b.reserved.get()),
            two_decimals(b.available.get())
        )?;
        if let Some(a) = &self.budget_after {
            writeln!(
                f,
                "budget after repairs: available ${}",
                two_decimals(a.available.get())
            )?;
        }
        for a in &self.acknowledged {
            writeln!(
                f,
                "acknowledged external_fill: {} (by {} at {}: {})",
                a.detail,
                a.ack.actor,
                a.ack.at.to_rfc3339(),
                a.ack.reason
            )?;
        }
        if !self.confirm && self.findings.iter().any(|f| f.repair.is_some()) {
            writeln!(f, "nothing was changed; run again with --confirm to repair")?;
        }
        Ok(())
    }
}
