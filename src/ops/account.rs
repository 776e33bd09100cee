//! `sluice account [--json]`: what the venue says about the account — permissions,
//! position mode, balances, positions, open orders, trading locks and clock offset.
//!
//! Read-only. Every figure is the adapter's parse of the venue's answer, so this is
//! also the quickest check that the adapter reads this venue correctly.

use std::fmt;

use anyhow::Context;
use serde::Serialize;

use super::exchange_info::table;
use crate::exchange::{AccountSnapshot, Exchange, OrderReport, TradingStatus};

/// `sluice account`: what the exchange says about the account right now.
#[derive(Clone, Debug, Serialize)]
pub struct AccountReport {
    /// The adapter's venue name.
    pub venue: String,
    /// Exchange time minus local time, as last measured.
    pub clock_offset_ms: i64,
    /// Balances and positions.
    pub account: AccountSnapshot,
    /// Whether trading is locked for the account or a symbol.
    pub trading_status: TradingStatus,
    /// Orders resting on the exchange.
    pub open_orders: Vec<OrderReport>,
}

/// Read the account, its trading status and its open orders. Writes nothing.
pub async fn run(exchange: &dyn Exchange) -> anyhow::Result<AccountReport> {
    let account = exchange
        .account()
        .await
        .context("failed to read the account")?;
    let trading_status = exchange
        .trading_status(crate::exchange::Purpose::Routine)
        .await
        .context("failed to read the API trading status")?;
    let open_orders = exchange
        .open_orders(None, crate::exchange::Purpose::Routine)
        .await
        .context("failed to read open orders")?;
    let clock_offset_ms = exchange
        .clock_offset_ms()
        .await
        .context("failed to read the clock offset")?;
    Ok(AccountReport {
        venue: exchange.venue().to_string(),
        clock_offset_ms,
        account,
        trading_status,
        open_orders,
    })
}

impl fmt::Display for AccountReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = &self.account;
        writeln!(f, "venue:            {}", self.venue)?;
        writeln!(f, "can trade:        {}", a.can_trade)?;
        writeln!(f, "can withdraw:     {}", a.can_withdraw)?;
        writeln!(f, "position mode:    {}", a.position_mode.as_str())?;
        writeln!(f, "multi-assets:     {}", a.multi_assets_margin)?;
        writeln!(
            f,
            "wallet balance:   {}",
            a.total_wallet_balance.normalize()
        )?;
        writeln!(f, "available:        {}", a.available_balance.normalize())?;
        writeln!(
            f,
            "clock offset:     {} ms (local - server)",
            self.clock_offset_ms
        )?;
        writeln!(
            f,
            "account locked:   {}",
            self.trading_status.account_locked
        )?;
        if !self.trading_status.locked_symbols.is_empty() {
            let names: Vec<String> = self
                .trading_status
                .locked_symbols
                .iter()
                .map(|s| s.to_string())
                .collect();
            writeln!(f, "locked symbols:   {}", names.join(", "))?;
        }
        writeln!(f, "\nBALANCES")?;
        let rows: Vec<Vec<String>> = a
            .balances
            .iter()
            .map(|b| {
                vec![
                    b.asset.clone(),
                    b.wallet_balance.normalize().to_string(),
                    b.available_balance.normalize().to_string(),
                    b.unrealized_pnl.normalize().to_string(),
                ]
            })
            .collect();
        writeln!(
            f,
            "{}",
            table(&["ASSET", "WALLET", "AVAILABLE", "UNREALIZED_PNL"], &rows)
        )?;
        writeln!(f, "\nPOSITIONS")?;
        let rows: Vec<Vec<String>> = a
            .positions
            .iter()
            .map(|p| {
                vec![
                    p.symbol.to_string(),
                    p.position_side.as_wire().to_string(),
                    p.amount.normalize().to_string(),
                    p.entry_price.normalize().to_string(),
                    p.mark_price
                        .map(|m| m.normalize().to_string())
                        .unwrap_or_else(|| "-".into()),
                    p.unrealized_pnl.normalize().to_string(),
                ]
            })
            .collect();
        writeln!(
            f,
            "{}",
            table(
                &[
                    "SYMBOL",
                    "SIDE",
                    "AMOUNT",
                    "ENTRY",
                    "MARK",
                    "UNREALIZED_PNL"
                ],
                &rows
            )
        )?;
        writeln!(f, "\nOPEN ORDERS")?;
        let rows: Vec<Vec<String>> = self
            .open_orders
            .iter()
            .map(|o| {
                vec![
                    o.symbol.to_string(),
                    o.client_order_id.clone(),
                    o.side.as_wire().to_string(),
                    o.order_type.as_wire().to_string(),
                    o.status.as_wire().to_string(),
                    o.orig_qty.to_string(),
                    o.executed_qty.to_string(),
                    o.price.normalize().to_string(),
                    o.reduce_only.to_string(),
                ]
            })
            .collect();
        write!(
            f,
            "{}",
            table(
                &[
                    "SYMBOL",
                    "CLIENT_ID",
                    "SIDE",
                    "TYPE",
                    "STATUS",
                    "QTY",
                    "FILLED",
                    "PRICE",
                    "REDUCE_ONLY"
                ],
                &rows
            )
        )
    }
}
