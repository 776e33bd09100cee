//! Connecting the daemon to Postgres at start: a database that is not up yet is waited
//! for (backoff with jitter, each try logged), a database that refuses *us* is a
//! configuration error the supervisor must not restart into.
//!
//! Invariants: a wrong password (28P01/28000) or a missing database (3D000) ends the wait
//! at once with [`ConfigurationError`] (exit code [`EXIT_CONFIG`]); anything else — a
//! refused or reset connection, DNS, a server still starting (57P03), a pool timeout — is
//! retried until it works or shutdown is asked for.

use std::time::Duration;

use crate::ledger::{Ledger, LedgerError};
use crate::settings::DatabaseSettings;
use crate::shutdown::Shutdown;

/// Exit code of `sluice run` on a configuration error (EX_CONFIG from sysexits.h):
/// `deploy/sluice.service` lists it in `RestartPreventExitStatus=`.
pub(crate) const EXIT_CONFIG: u8 = 78;

/// A setting or credential is wrong: restarting will not help.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub(crate) struct ConfigurationError(pub String);

/// SQLSTATEs that say the database refused this configuration.
const CONFIG_SQLSTATES: [&str; 3] = ["28P01", "28000", "3D000"];

const WAIT_MIN: Duration = Duration::from_millis(500);
const WAIT_MAX: Duration = Duration::from_secs(10);

/// Whether a connect failure is the configuration's fault (never retried).
pub(crate) fn is_configuration(e: &LedgerError) -> bool {
    match e {
        LedgerError::Database(sqlx::Error::Database(db)) => db
            .code()
            .is_some_and(|c| CONFIG_SQLSTATES.contains(&c.as_ref())),
        LedgerError::Database(sqlx::Error::Configuration(_)) => true,
        _ => false,
    }
}

/// Connect to the `[database]` of the settings, waiting while the server is not
/// reachable (each wait's reason goes to `report`, for `/readyz`). None: shutdown came
/// first.
pub(crate) async fn connect_when_up(
    db: &DatabaseSettings,
    account: Option<&str>,
    mut shutdown: Shutdown,
    report: &(dyn Fn(&str) + Send + Sync),
) -> anyhow::Result<Option<Ledger>> {
    let mut delay = WAIT_MIN;
    let mut seed = 0x9e37_79b9_u64 ^ u64::from(std::process::id());
    let options = db
        .connect_options()
        .map_err(|e| ConfigurationError(format!("{e:#}")))?;
    let options = crate::ledger::connect_options_for(options, account);
    for attempt in 1u64.. {
        match Ledger::connect_with(crate::ledger::warm_on_connect(db.pool_options()), options.clone()).await {
            Ok(ledger) => {
                if attempt > 1 {
                    tracing::info!(attempt, "ledger database reachable");
                }
                return Ok(Some(ledger));
            }
            Err(e) if is_configuration(&e) => {
                return Err(ConfigurationError(format!(
                    "DATABASE_URL: the ledger database refused this configuration (wrong user/password or missing database): {e}"
                ))
                .into())
            }
            Err(e) => {
                tracing::warn!(attempt, error = %e, retry_in_ms = delay.as_millis() as u64,
                    "ledger database not reachable yet; waiting (no restart needed)");
                report(&format!(
                    "waiting for the ledger database (attempt {attempt}, retrying in {} ms): {e}",
                    delay.as_millis()
                ));
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.recv() => return Ok(None),
        }
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let spread = (delay.as_millis() as u64).saturating_mul(3).max(1);
        let next = WAIT_MIN.as_millis() as u64 + (seed >> 33) % spread;
        delay = Duration::from_millis(next).min(WAIT_MAX);
    }
    Ok(None)
}
