//! Operator commands, one file each: `account` and `exchange_info` (read-only exchange
//! views), `preflight`, `reconcile`, `doctor`, `report`, `demo` (the demo
//! history) and `smoke` (open and close the smallest position through the real executor).
//! Each returns a report that renders as a table or JSON; the CLI and API share them.
//! (Halt, resume and flatten are control-API writes: `api::control`.)

pub mod account;
pub mod demo;
pub mod doctor;
pub mod exchange_info;
pub mod preflight;
pub mod reconcile;
pub mod report;
pub(crate) mod smoke;
mod smoke_checks;
mod smoke_report;

/// Connect to the ledger database and apply the embedded migrations (the commands that
/// write, and `smoke`).
pub(crate) async fn connect_ledger(
    settings: &crate::settings::Settings,
) -> anyhow::Result<crate::ledger::Ledger> {
    use anyhow::Context;
    let db = &settings.database;
    let account = settings.exchange.account.as_deref();
    let options = crate::ledger::connect_options_for(db.connect_options()?, account);
    let ledger = crate::ledger::Ledger::connect_with(db.pool_options(), options)
        .await
        .context("failed to connect to the ledger database")?;
    ledger
        .migrate()
        .await
        .context("failed to apply migrations")?;
    Ok(ledger)
}
