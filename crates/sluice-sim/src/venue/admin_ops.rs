//! Operator-side changes a scenario or the admin API makes mid-run: rewrite a
//! symbol's rules (filters, hidden cap, status, book shape) and move money in
//! or out of an account.
//!
//! Invariant: `wallet = initial_wallet + transfers_total + realized_total −
//! commission_total` still holds after a transfer.

use rust_decimal::Decimal;

use super::events::{AccountUpdate, BalanceUpdate, UserEvent};
use super::reject::Reject;
use super::spec::SymbolSpec;
use super::{AccountId, Venue};

impl Venue {
    /// Applies `edit` to a symbol's spec (its name cannot change). The mark is
    /// market state: use `set_mark` to move it. `-1121` for an unknown symbol.
    pub fn update_symbol(
        &mut self,
        symbol: &str,
        edit: impl FnOnce(&mut SymbolSpec),
    ) -> Result<(), Reject> {
        let i = self.spec_index(symbol)?;
        let spec = &mut self.symbols[i];
        edit(spec);
        spec.name = symbol.to_owned();
        Ok(())
    }

    /// Credits (positive) or debits (negative) USDT, as a deposit, withdrawal
    /// or admin adjustment, and queues ACCOUNT_UPDATE with `reason` (e.g.
    /// "DEPOSIT", "WITHDRAW", "ADJUSTMENT") and `bc` = `amount`.
    pub fn transfer(
        &mut self,
        a: AccountId,
        amount: Decimal,
        reason: &'static str,
        now_ms: i64,
    ) -> Result<Decimal, Reject> {
        let account = self
            .accounts
            .get_mut(a as usize)
            .ok_or_else(Reject::rejected_key)?;
        account.wallet = account
            .wallet
            .checked_add(amount)
            .ok_or_else(|| Reject::bad(-1130, "Data sent for parameter 'amount' is not valid."))?;
        account.transfers_total += amount;
        account.update_time = now_ms;
        let wallet = account.wallet;
        let event = UserEvent::AccountUpdate(AccountUpdate {
            event_time: now_ms,
            transaction_time: now_ms,
            reason,
            balances: vec![BalanceUpdate {
                asset: "USDT".to_owned(),
                wallet_balance: wallet,
                cross_wallet_balance: wallet,
                balance_change: amount,
            }],
            positions: Vec::new(),
        });
        self.push(a, event);
        Ok(wallet)
    }
}
