//! What an account (and its API key) is allowed to do, as a scenario or the admin API
//! sets it, so preflight's failure modes can be exercised: trading disabled
//! (`canTrade=false`), API trading locked (apiTradingStatus indicators), an IP whitelist
//! that excludes the caller (`-2015` on every keyed call), a key without futures
//! permission (`-2015` on `/fapi` keyed calls), and the key's own settings as
//! `/sapi/v1/account/apiRestrictions` reports them (withdrawals, IP restriction). The
//! request pipeline enforces the `-2015`s.
//!
//! Modelling choice: these flags change what the account REPORTS and who may call; the
//! venue does not refuse orders because of `can_trade` or a lock (Binance's codes for
//! those cases are unverified, and inventing them would teach the adapter a fiction).

use serde::Serialize;

use super::{AccountId, Venue};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Permissions {
    /// `canTrade` in the account endpoints.
    pub can_trade: bool,
    /// The `ACCOUNT` indicator of apiTradingStatus is locked.
    pub trading_locked: bool,
    /// Symbols whose apiTradingStatus indicator is locked.
    pub locked_symbols: Vec<String>,
    /// The key's IP whitelist excludes every caller: keyed calls answer `-2015`.
    pub ip_restricted: bool,
    /// The key has "Enable Futures": without it `/fapi` keyed calls answer `-2015`.
    pub futures_enabled: bool,
    /// The key has "Enable Withdrawals" (apiRestrictions `enableWithdrawals`).
    pub withdrawals_enabled: bool,
    /// The key has an IP whitelist (apiRestrictions `ipRestrict`) that admits the caller.
    pub ip_whitelist: bool,
}

impl Default for Permissions {
    fn default() -> Self {
        Permissions {
            can_trade: true,
            trading_locked: false,
            locked_symbols: Vec::new(),
            ip_restricted: false,
            futures_enabled: true,
            withdrawals_enabled: false,
            ip_whitelist: true,
        }
    }
}

impl Venue {
    /// The account's permissions (`None` for an unknown id).
    pub(crate) fn permissions(&self, a: AccountId) -> Option<&Permissions> {
        self.acct(a).map(|acc| &acc.permissions)
    }

    /// Edits the account's permissions; false for an unknown id.
    pub(crate) fn set_permissions(
        &mut self,
        a: AccountId,
        edit: impl FnOnce(&mut Permissions),
    ) -> bool {
        match self.accounts.get_mut(a as usize) {
            Some(acc) => {
                edit(&mut acc.permissions);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::venue;

    #[test]
    fn a_disabled_account_reports_can_trade_false_and_others_are_untouched() {
        let mut v = venue();
        assert!(v.account(0).is_some_and(|a| a.can_trade));
        assert!(v.set_permissions(0, |p| p.can_trade = false));
        assert!(v.account(0).is_some_and(|a| !a.can_trade));
        assert!(!v.set_permissions(9, |p| p.ip_restricted = true));
        assert_eq!(v.permissions(0).map(|p| p.ip_restricted), Some(false));
    }
}
