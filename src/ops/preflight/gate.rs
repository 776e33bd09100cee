//! The daemon's start-up gate: preflight decides what opens may do, never whether the
//! daemon runs (docs/incidents.md (seed 003): the daemon is needed most when the venue
//! is in distress).
//!
//! - every check passes: opens go;
//! - a *configuration* failure (see `classify`): opens are held with the failing checks as
//!   the reason; closes, reduces, flatten and resumed close intents still run;
//! - only *venue distress*: each failure is a `warn` line with the observed code and the
//!   breaker starts forced open, with the failed probes as its evidence.
//!
//! In both held cases [`recheck`] runs preflight again in the background (backoff with
//! jitter) and lifts or changes the hold when the answers change.

use std::sync::Arc;
use std::time::Duration;

use super::{Cause, CheckLine, Expectations, PreflightReport, Status};
use crate::api::Readiness;
use crate::router::{Held, OpensHold, WindowStats};
use crate::settings::Settings;

/// The readiness component a held gate reports under.
pub(crate) const COMPONENT: &str = "preflight";

/// What the daemon's gate decided.
#[derive(Debug)]
pub enum Gate {
    /// Nothing failed (or the operator skipped the checks): opens may go.
    Open,
    /// Opens are held (the report is the evidence); the daemon still starts.
    Held(Held, PreflightReport),
}

/// Run preflight once for the daemon; with `skip`, log loudly which checks were skipped.
pub async fn gate(settings: &Settings, skip: bool) -> anyhow::Result<Gate> {
    if skip {
        let names = super::expect::check_names(&Expectations::from_settings(settings)?);
        tracing::warn!(
            skipped = %names.join(", "),
            "PREFLIGHT SKIPPED (--skip-preflight): trading starts WITHOUT checking the API key, permissions, clock, position and multi-assets mode, leverage, balance, filters, test orders or the user stream"
        );
        return Ok(Gate::Open);
    }
    let report = super::run(settings).await?;
    for line in report.lines.iter().filter(|l| l.status == Status::Warn) {
        tracing::warn!(check = %line.name, observed = %line.observed, "preflight warning: {}", line.detail);
    }
    Ok(match hold_of(&report) {
        None => {
            tracing::info!(checks = report.lines.len(), "preflight passed");
            Gate::Open
        }
        Some(held) => Gate::Held(held, report),
    })
}

/// The hold a report calls for: None when nothing failed; configuration wins over
/// distress (retrying will not fix it); failures that only repeat another line's count
/// as configuration when nothing else explains them.
pub(crate) fn hold_of(report: &PreflightReport) -> Option<Held> {
    let failed: Vec<&CheckLine> = report.failed().collect();
    if failed.is_empty() {
        return None;
    }
    let config: Vec<&CheckLine> = failed
        .iter()
        .copied()
        .filter(|l| l.cause == Cause::Configuration)
        .collect();
    let distress: Vec<&CheckLine> = failed
        .iter()
        .copied()
        .filter(|l| l.cause == Cause::Distress)
        .collect();
    let list = |lines: &[&CheckLine]| {
        lines
            .iter()
            .map(|l| format!("{}: {}", l.name, l.observed))
            .collect::<Vec<_>>()
            .join("; ")
    };
    if !config.is_empty() || distress.is_empty() {
        let shown = if config.is_empty() { &failed } else { &config };
        return Some(Held {
            reason: format!(
                "preflight found a configuration problem, so opens are refused until it is fixed (closes, reduces and flatten still run): {}",
                list(shown)
            ),
            distress: false,
            evidence: WindowStats::default(),
        });
    }
    Some(Held {
        reason: format!(
            "exchange in distress at start: preflight probes failed ({}): opens refused until they pass; closes continue",
            list(&distress)
        ),
        distress: true,
        evidence: evidence(&distress),
    })
}

/// The failed probes as breaker evidence: throttling answers (-1008, -1003, 429) count
/// as throttled, every other distress answer as 5xx / no response.
fn evidence(distress: &[&CheckLine]) -> WindowStats {
    let throttled = distress
        .iter()
        .filter(|l| {
            ["code -1008", "code -1003", "HTTP 429"]
                .iter()
                .any(|m| l.observed.contains(m))
        })
        .count();
    WindowStats {
        total: distress.len(),
        server_errors: distress.len() - throttled,
        throttled,
        unknown: 0,
    }
}

/// Log a held gate: configuration as an error, distress as one `warn` per probe.
pub(crate) fn log_held(held: &Held, report: &PreflightReport) {
    for l in report.failed() {
        if held.distress {
            tracing::warn!(check = %l.name, observed = %l.observed, "preflight: venue distress at start; opens wait, closes go");
        } else {
            tracing::error!(check = %l.name, observed = %l.observed, cause = ?l.cause, "preflight failed: {}", l.detail);
        }
    }
    tracing::warn!(reason = %held.reason, "opens held by the start-up gate");
}

/// Bounds of the re-check spacing (decorrelated jitter between them).
const RECHECK_MIN: Duration = Duration::from_secs(5);
const RECHECK_MAX: Duration = Duration::from_secs(60);

/// Re-run preflight until every check passes, keeping `hold` and `/readyz` in step.
pub(crate) async fn recheck(settings: Settings, hold: Arc<OpensHold>, readiness: Arc<Readiness>) {
    let mut delay = RECHECK_MIN;
    let mut seed = 0x5eed_u64 ^ u64::from(std::process::id());
    loop {
        tokio::time::sleep(delay).await;
        let report = match super::run(&settings).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "preflight re-check could not run");
                continue;
            }
        };
        let held = hold_of(&report);
        hold.set(held.clone());
        match held {
            None => {
                readiness.clear_degraded(COMPONENT);
                tracing::info!("preflight re-check passed: opens released");
                return;
            }
            Some(h) => readiness.set_degraded(COMPONENT, h.reason),
        }
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let spread = (delay.as_millis() as u64).saturating_mul(3).max(1);
        let next = RECHECK_MIN.as_millis() as u64 + (seed >> 33) % spread;
        delay = Duration::from_millis(next).min(RECHECK_MAX);
    }
}
