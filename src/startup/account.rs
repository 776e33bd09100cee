//! The account a daemon trades (docs/accounts.md): `exchange.account` names it; unset,
//! the ledger's default account, exactly as before accounts existed. Its description is
//! written to the ledger at every start so every daemon and tool sees the same one.

use anyhow::Context;

use super::VENUE;
use crate::ledger::Ledger;
use crate::settings::Settings;

/// Describe the account this daemon trades (`exchange.account`) in the ledger, so every
/// daemon and tool sees its venue, mode, allocation, symbols and where its key is read
/// from (never the key). The default account needs nothing: it always exists.
pub(super) async fn register(settings: &Settings, ledger: &Ledger) -> anyhow::Result<()> {
    let Some(name) = settings.exchange.account.as_deref() else {
        return Ok(());
    };
    let ex = &settings.exchange;
    let source = match (&ex.api_secret_file, &ex.api_secret) {
        (Some(path), _) => Some(path.display().to_string()),
        (None, Some(_)) => Some("exchange.api_secret".to_string()),
        (None, None) => None,
    };
    let symbols: Vec<String> = ex.symbols.iter().map(|s| s.as_str().to_string()).collect();
    let new = crate::ledger::NewAccount {
        name,
        venue: Some(VENUE),
        position_mode: Some(ex.position_mode.as_str()),
        allocation_usdt: Some(settings.budget.allocation_usdt),
        symbols: &symbols,
        credential_source: source.as_deref(),
    };
    ledger
        .upsert_account(&new)
        .await
        .with_context(|| format!("exchange.account: cannot describe account '{name}'"))?;
    Ok(())
}
