//! Accounts: wallet, position mode, per-symbol leverage, position legs, and the
//! cross-margin arithmetic (initial margin = notional / leverage, maintenance
//! from the leverage bracket) behind `-2019`, `-2027` and the account views.
//!
//! Invariant: `wallet = initial_wallet + realized_total − commission_total`.

use std::collections::{BTreeMap, HashMap};

use rust_decimal::Decimal;

use super::position::{break_even, unrealized, Position, MONEY_DP};
use super::spec::{AccountSpec, SymbolSpec};
use super::types::{PositionSide, Side};
use super::views::{AccountView, AssetView, PositionView};
use super::{AccountId, Venue};

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Account {
    pub wallet: Decimal,
    pub initial_wallet: Decimal,
    pub hedge: bool,
    pub multi_assets: bool,
    pub default_leverage: u32,
    pub leverage: HashMap<String, u32>,
    pub positions: BTreeMap<(String, PositionSide), Position>,
    pub realized_total: Decimal,
    pub commission_total: Decimal,
    pub update_time: i64,
    pub permissions: super::Permissions,
}

impl Account {
    /// Builds the account; starting positions on unknown symbols or with an
    /// unknown side are skipped (the scenario loader validates them first).
    pub(crate) fn from_spec(
        spec: &AccountSpec,
        symbols: &HashMap<String, usize>,
        now_ms: i64,
    ) -> Account {
        let mut positions = BTreeMap::new();
        for p in &spec.positions {
            let Ok(side) = PositionSide::parse(&p.position_side) else {
                continue;
            };
            let side = if spec.hedge_mode {
                side
            } else {
                PositionSide::Both
            };
            // Legs carry Binance's sign whatever the scenario wrote.
            let amount = match side {
                PositionSide::Both => p.amount,
                PositionSide::Long => p.amount.abs(),
                PositionSide::Short => -p.amount.abs(),
            };
            if symbols.contains_key(&p.symbol) && !amount.is_zero() {
                let pos = Position {
                    amount,
                    entry: p.entry_price,
                    realized: Decimal::ZERO,
                    update_time: now_ms,
                };
                positions.insert((p.symbol.clone(), side), pos);
            }
        }
        Account {
            wallet: spec.usdt,
            initial_wallet: spec.usdt,
            hedge: spec.hedge_mode,
            multi_assets: spec.multi_assets,
            default_leverage: spec.leverage,
            leverage: spec.leverage_overrides.iter().cloned().collect(),
            positions,
            realized_total: Decimal::ZERO,
            commission_total: Decimal::ZERO,
            update_time: now_ms,
            permissions: spec.permissions.clone(),
        }
    }

    pub(crate) fn leverage_of(&self, symbol: &str) -> u32 {
        self.leverage
            .get(symbol)
            .copied()
            .unwrap_or(self.default_leverage)
            .max(1)
    }

    /// The signed amount of a leg (0 when absent).
    pub(crate) fn amount(&self, symbol: &str, side: PositionSide) -> Decimal {
        self.positions
            .get(&(symbol.to_owned(), side))
            .map_or(Decimal::ZERO, |p| p.amount)
    }

    /// The position sides this account shows for every symbol.
    pub(crate) fn sides(&self) -> &'static [PositionSide] {
        if self.hedge {
            &[PositionSide::Long, PositionSide::Short]
        } else {
            &[PositionSide::Both]
        }
    }
}

/// The largest position notional allowed at `leverage` (0 if no bracket allows it).
pub(crate) fn max_notional(spec: &SymbolSpec, leverage: u32) -> Decimal {
    spec.brackets
        .iter()
        .filter(|b| b.initial_leverage >= leverage)
        .map(|b| b.notional_cap)
        .max()
        .unwrap_or_default()
}

/// Maintenance margin of a position notional from its bracket.
fn maint_margin(spec: &SymbolSpec, notional: Decimal) -> Decimal {
    let n = notional.abs();
    spec.brackets
        .iter()
        .find(|b| n >= b.notional_floor && n < b.notional_cap)
        .or_else(|| spec.brackets.last())
        .map_or(Decimal::ZERO, |b| {
            (n * b.maint_margin_ratio - b.cum).max(Decimal::ZERO)
        })
        .round_dp(MONEY_DP)
}

/// Cross-margin totals of one account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Margin {
    pub unrealized: Decimal,
    pub position_im: Decimal,
    pub open_order_im: Decimal,
    pub maint: Decimal,
}

impl Venue {
    pub(crate) fn acct(&self, a: AccountId) -> Option<&Account> {
        self.accounts.get(a as usize)
    }

    /// Open-order notional of `a` on `symbol` per side: (bids, asks).
    pub(crate) fn open_notional(&self, a: AccountId, symbol: &str) -> (Decimal, Decimal) {
        let mut out = (Decimal::ZERO, Decimal::ZERO);
        for o in self
            .open_order_records()
            .filter(|o| o.account == a && o.symbol == symbol && o.status.is_open())
        {
            let n = o.remaining() * o.price;
            match o.side {
                Side::Buy => out.0 += n,
                Side::Sell => out.1 += n,
            }
        }
        out
    }

    /// Initial margin held by resting non-reduce-only orders of `a`.
    // Conservative: Binance nets resting orders against an opposite position;
    // the simulator reserves margin for every resting opening order in full.
    fn open_order_im(&self, a: AccountId, account: &Account, symbol: Option<&str>) -> Decimal {
        self.open_order_records()
            .filter(|o| o.account == a && o.status.is_open() && !o.reduce_only)
            .filter(|o| symbol.is_none_or(|s| o.symbol == s))
            .map(|o| o.remaining() * o.price / Decimal::from(account.leverage_of(&o.symbol)))
            .sum::<Decimal>()
            .round_dp(MONEY_DP)
    }

    pub(crate) fn margin(&self, a: AccountId, account: &Account) -> Margin {
        let mut m = Margin {
            open_order_im: self.open_order_im(a, account, None),
            ..Margin::default()
        };
        for ((symbol, _), p) in &account.positions {
            let Some(&i) = self.symbol_index.get(symbol) else {
                continue;
            };
            let mark = self.markets[i].mark;
            let notional = p.amount * mark;
            m.unrealized += unrealized(p.amount, p.entry, mark);
            m.position_im +=
                (notional.abs() / Decimal::from(account.leverage_of(symbol))).round_dp(MONEY_DP);
            m.maint += maint_margin(&self.symbols[i], notional);
        }
        m
    }

    /// Cross available balance: margin balance minus all initial margin.
    pub(crate) fn available(&self, a: AccountId, account: &Account) -> Decimal {
        let m = self.margin(a, account);
        account.wallet + m.unrealized - m.position_im - m.open_order_im
    }

    fn position_view(
        &self,
        a: AccountId,
        account: &Account,
        i: usize,
        side: PositionSide,
    ) -> PositionView {
        let spec = &self.symbols[i];
        let mark = self.markets[i].mark;
        let pos = account
            .positions
            .get(&(spec.name.clone(), side))
            .cloned()
            .unwrap_or_default();
        let leverage = account.leverage_of(&spec.name);
        let notional = (pos.amount * mark).round_dp(MONEY_DP);
        let position_im = (notional.abs() / Decimal::from(leverage)).round_dp(MONEY_DP);
        let order_im = self.open_order_im(a, account, Some(&spec.name));
        let (bid_notional, ask_notional) = self.open_notional(a, &spec.name);
        PositionView {
            symbol: spec.name.clone(),
            position_side: side,
            position_amt: pos.amount,
            entry_price: pos.entry,
            break_even_price: break_even(pos.amount, pos.entry),
            mark_price: mark,
            unrealized_profit: unrealized(pos.amount, pos.entry, mark),
            notional,
            leverage,
            max_notional: max_notional(spec, leverage),
            initial_margin: position_im + order_im,
            maint_margin: maint_margin(spec, notional),
            position_initial_margin: position_im,
            open_order_initial_margin: order_im,
            bid_notional,
            ask_notional,
            isolated: false,
            liquidation_price: Decimal::ZERO,
            active: !pos.amount.is_zero() || !(bid_notional + ask_notional).is_zero(),
            update_time: pos.update_time,
            price_precision: spec.price_precision,
            quantity_precision: spec.quantity_precision,
        }
    }

    /// The account's balances, totals and every position row. An unknown id
    /// yields `None`.
    pub(crate) fn account(&self, a: AccountId) -> Option<AccountView> {
        let account = self.acct(a)?;
        let m = self.margin(a, account);
        let available =
            (account.wallet + m.unrealized - m.position_im - m.open_order_im).round_dp(MONEY_DP);
        let margin_balance = account.wallet + m.unrealized;
        let max_withdraw = available.min(account.wallet).max(Decimal::ZERO);
        let asset = AssetView {
            asset: "USDT".to_owned(),
            wallet_balance: account.wallet,
            unrealized_profit: m.unrealized,
            margin_balance,
            maint_margin: m.maint,
            initial_margin: m.position_im + m.open_order_im,
            position_initial_margin: m.position_im,
            open_order_initial_margin: m.open_order_im,
            cross_wallet_balance: account.wallet,
            cross_un_pnl: m.unrealized,
            available_balance: available,
            max_withdraw_amount: max_withdraw,
            update_time: account.update_time,
        };
        let positions = (0..self.symbols.len())
            .flat_map(|i| account.sides().iter().map(move |&s| (i, s)))
            .map(|(i, s)| self.position_view(a, account, i, s))
            .collect();
        Some(AccountView {
            account: a,
            fee_tier: 0,
            can_trade: account.permissions.can_trade,
            can_deposit: true,
            can_withdraw: true,
            dual_side_position: account.hedge,
            multi_assets_margin: account.multi_assets,
            update_time: account.update_time,
            total_initial_margin: asset.initial_margin,
            total_maint_margin: m.maint,
            total_wallet_balance: account.wallet,
            total_unrealized_profit: m.unrealized,
            total_margin_balance: margin_balance,
            total_position_initial_margin: m.position_im,
            total_open_order_initial_margin: m.open_order_im,
            total_cross_wallet_balance: account.wallet,
            total_cross_un_pnl: m.unrealized,
            available_balance: available,
            max_withdraw_amount: max_withdraw,
            assets: vec![asset],
            positions,
        })
    }
}
