//! The simulator's venue: the exchange's state machine. Symbols with real
//! filters, marks and a synthetic book, accounts, orders, matching, positions,
//! PnL, margin, every business rule with its exact Binance code and message, and
//! the user events it produces.
//!
//! Pure and synchronous: no tokio, no clock reads — time is a `now_ms` argument,
//! randomness comes from one seeded `ChaCha8Rng` (same seed, same run).
//!
//! Invariants: order ids increase across the venue, trade ids per symbol; for
//! every account `wallet = initial + Σ realized PnL − Σ commission`; a one-way
//! reduce-only order never flips a position.
//!
//! # Who serves what
//! - `place_order` → `POST /fapi/v1/order` (+ `/order/test`, batch elements);
//!   `cancel_order`, `cancel_all`, `order`, `open_orders`, `all_orders`,
//!   `user_trades` → the matching order/trade endpoints.
//! - `place_algo`, `cancel_algo`, `cancel_all_algos`, `algo`, `open_algos` → the
//!   Algo Service (`/fapi/v1/algoOrder`…); triggers run after every mark move.
//! - `countdown_cancel_all` → `POST /fapi/v1/countdownCancelAll` (fired by `tick`).
//! - `account` → v2/v3 account, balance, positionRisk, accountConfig;
//!   `set_leverage`, `set_dual_side`, `set_multi_assets` → their POSTs.
//! - `mark`/`marks`, `book_ticker`, `depth` → market data; `set_mark`, `tick`
//!   → scenario time; `drain_events` → the user-data stream; `snapshot` →
//!   `GET /sim/state`.
//!
//! The server rejects what it sees in the raw text (missing/malformed
//! parameters, `-1100`); the venue re-checks enums and mandatory fields and
//! owns everything needing symbol or account state (see `placement`).
//!
//! # Modelling choices (where Binance is unverified)
//! - Reduce-only: no position / wrong side → `-2022`; resting reduce-only on
//!   the same side + this order > position → `-4118`; a LIMIT alone larger than
//!   the position → `-2022`; a MARKET alone larger fills the position and
//!   expires the rest (`er` 4). Hedge closing legs follow the same rules.
//! - Resting reduce-only orders shrink (oldest keeps first) or expire when the
//!   position shrinks; no event at the resize, the next event shows the new `q`.
//! - Margin is reserved in full for every resting opening order; pure closes
//!   are never margin-checked. No liquidation, no funding.
//! - The account's own resting orders are not part of the synthetic book: they
//!   fill as maker at their price when the book crosses them and are not shown
//!   in `depth`/`book_ticker`; there is no cross-account matching.

mod account;
mod algo;
mod algo_trigger;
mod book;
mod brackets;
mod control;
mod countdown;
mod emit;
mod events;
mod execution;
mod filters;
mod market;
mod order;
mod permissions;
mod placement;
mod position;
mod reject;
mod settle;
mod spec;
mod stp;
mod types;
mod views;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub(crate) use algo::{AlgoOrder, NewAlgo};
pub(crate) use events::{
    AccountConfigUpdate, AccountUpdate, AlgoUpdate, OrderTradeUpdate, TradeLite, UserEvent,
};
pub(crate) use order::{NewOrder, OrderView};
pub(crate) use permissions::Permissions;
pub(crate) use reject::Reject;
pub(crate) use spec::{AccountSpec, Bracket, PositionSpec, SymbolSpec};
pub(crate) use views::{
    AccountView, AssetView, BookTickerView, DepthView, LeverageView, MarkView, PositionView,
    TradeView,
};

use crate::keys::KeyAuth;
use account::Account;
use book::Market;
use order::Order;

/// Index of an account inside the venue.
pub(crate) type AccountId = u32;

/// One recorded fill (the source of `userTrades`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Trade {
    pub account: AccountId,
    pub view: TradeView,
}

/// The whole simulated exchange.
pub(crate) struct Venue {
    rng: ChaCha8Rng,
    symbols: Vec<SymbolSpec>,
    markets: Vec<Market>,
    symbol_index: HashMap<String, usize>,
    accounts: Vec<Account>,
    /// api key → (account, its verifier: HMAC secret or public key).
    keys: HashMap<String, (AccountId, KeyAuth)>,
    /// Deleted api keys → their account, so a key can be replaced after deletion.
    revoked_keys: HashMap<String, AccountId>,
    /// Every order ever accepted, by order id (ids increase, so this is time order).
    orders: BTreeMap<i64, Order>,
    /// Ids of the orders still open (NEW / PARTIALLY_FILLED), so rule checks
    /// scale with open orders, not with history.
    open_ids: BTreeSet<i64>,
    trades: Vec<Trade>,
    next_order_id: i64,
    events: Vec<(AccountId, UserEvent)>,
    now_ms: i64,
    /// Algo (conditional) orders by algo id, history included.
    algos: BTreeMap<i64, algo::AlgoOrder>,
    next_algo_id: i64,
    /// The stuck-TRIGGERING fault: symbols whose triggers stall (empty = all).
    algo_stall: Option<Vec<String>>,
    /// `countdownCancelAll` timers: (account, symbol) → the wall ms they fire at.
    countdowns: BTreeMap<(AccountId, String), i64>,
}

impl std::fmt::Debug for Venue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Venue")
            .field("symbols", &self.symbols.len())
            .field("accounts", &self.accounts.len())
            .field("orders", &self.orders.len())
            .field("now_ms", &self.now_ms)
            .finish_non_exhaustive()
    }
}

impl Venue {
    /// A venue with `symbols` and `accounts` (account ids are their indexes).
    /// Starting positions of unknown symbols are skipped.
    pub(crate) fn new(
        seed: u64,
        symbols: Vec<SymbolSpec>,
        accounts: Vec<AccountSpec>,
        now_ms: i64,
    ) -> Venue {
        let markets = symbols.iter().map(|s| Market::new(s, now_ms)).collect();
        let symbol_index = symbols
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), i))
            .collect();
        let mut venue = Venue {
            rng: ChaCha8Rng::seed_from_u64(seed),
            symbols,
            markets,
            symbol_index,
            accounts: Vec::new(),
            keys: HashMap::new(),
            revoked_keys: HashMap::new(),
            orders: BTreeMap::new(),
            open_ids: BTreeSet::new(),
            trades: Vec::new(),
            next_order_id: 1_000_000_001,
            events: Vec::new(),
            now_ms,
            algos: BTreeMap::new(),
            next_algo_id: 4_000_000_001,
            algo_stall: None,
            countdowns: BTreeMap::new(),
        };
        for spec in accounts {
            venue.add_account(spec, now_ms);
        }
        venue
    }

    /// Adds an account; returns its id.
    pub(crate) fn add_account(&mut self, spec: AccountSpec, now_ms: i64) -> AccountId {
        let id = self.accounts.len() as AccountId;
        let account = Account::from_spec(&spec, &self.symbol_index, now_ms);
        self.accounts.push(account);
        self.keys.insert(spec.api_key, (id, spec.auth));
        id
    }

    /// The account and verifier behind an API key.
    pub(crate) fn account_by_key(&self, api_key: &str) -> Option<(AccountId, &KeyAuth)> {
        self.keys.get(api_key).map(|(id, auth)| (*id, auth))
    }

    /// Deletes an API key (seed 000: key deleted mid-incident). True if it existed.
    pub(crate) fn revoke_key(&mut self, api_key: &str) -> bool {
        match self.keys.remove(api_key) {
            Some((account, _)) => {
                self.revoked_keys.insert(api_key.to_owned(), account);
                true
            }
            None => false,
        }
    }

    /// Replaces `old_key` (live or deleted) with a new key pair on the same account, as
    /// a trader does after deleting a key. False if `old_key` was never known.
    pub(crate) fn rotate_key(&mut self, old_key: &str, new_key: &str, new_auth: KeyAuth) -> bool {
        let account = match self.keys.remove(old_key) {
            Some((account, _)) => account,
            None => match self.revoked_keys.get(old_key) {
                Some(account) => *account,
                None => return false,
            },
        };
        self.revoked_keys.insert(old_key.to_owned(), account);
        self.add_key(account, new_key, new_auth)
    }

    /// Adds (or replaces) an API key for an existing account. False if no such account.
    pub(crate) fn add_key(&mut self, account: AccountId, api_key: &str, auth: KeyAuth) -> bool {
        if account as usize >= self.accounts.len() {
            return false;
        }
        self.keys.insert(api_key.to_owned(), (account, auth));
        true
    }

    pub(crate) fn symbols(&self) -> &[SymbolSpec] {
        &self.symbols
    }

    pub(crate) fn symbol(&self, name: &str) -> Option<&SymbolSpec> {
        self.symbol_index.get(name).map(|&i| &self.symbols[i])
    }

    /// Hands out every queued user event, oldest first.
    pub(crate) fn drain_events(&mut self) -> Vec<(AccountId, UserEvent)> {
        std::mem::take(&mut self.events)
    }

    /// Open orders of every account, oldest first.
    fn open_order_records(&self) -> impl Iterator<Item = &Order> + '_ {
        self.open_ids.iter().filter_map(|id| self.orders.get(id))
    }

    /// The symbol spec or `-1121`.
    fn spec_index(&self, symbol: &str) -> Result<usize, Reject> {
        self.symbol_index
            .get(symbol)
            .copied()
            .ok_or_else(Reject::invalid_symbol)
    }

    fn view_of(&self, order: &Order) -> OrderView {
        let (pp, qp) = self
            .symbol(&order.symbol)
            .map_or((8, 8), |s| (s.price_precision, s.quantity_precision));
        order.view(pp, qp)
    }

    /// Finds an order of `account` on `symbol` by id or client id (id wins).
    fn find_order(
        &self,
        account: AccountId,
        symbol: &str,
        order_id: Option<i64>,
        client_id: Option<&str>,
    ) -> Option<&Order> {
        let matches = |o: &&Order| o.account == account && o.symbol == symbol;
        match (order_id, client_id) {
            (Some(id), _) => self.orders.get(&id).filter(matches),
            // Newest first: a client id may be reused once the first order closed.
            (None, Some(cid)) => self
                .orders
                .values()
                .rev()
                .filter(matches)
                .find(|o| o.client_order_id == cid),
            (None, None) => None,
        }
    }

    /// `GET /fapi/v1/order`: `-1121` unknown symbol, `-1102` neither id given,
    /// `-2013` not found.
    pub(crate) fn order(
        &self,
        account: AccountId,
        symbol: &str,
        order_id: Option<i64>,
        client_id: Option<&str>,
    ) -> Result<OrderView, Reject> {
        self.spec_index(symbol)?;
        if order_id.is_none() && client_id.is_none() {
            return Err(Reject::mandatory("orderId"));
        }
        self.find_order(account, symbol, order_id, client_id)
            .map(|o| self.view_of(o))
            .ok_or_else(Reject::no_such_order)
    }

    /// Open orders of the account, optionally on one symbol, oldest first.
    pub(crate) fn open_orders(&self, account: AccountId, symbol: Option<&str>) -> Vec<OrderView> {
        self.open_order_records()
            .filter(|o| o.account == account && o.status.is_open())
            .filter(|o| symbol.is_none_or(|s| o.symbol == s))
            .map(|o| self.view_of(o))
            .collect()
    }

    /// `GET /fapi/v1/allOrders`: orders with id ≥ `from_order_id`, inside the
    /// time window, at most `limit`: the first ones after a given id or start
    /// time, else the most recent ones; oldest first.
    pub(crate) fn all_orders(
        &self,
        account: AccountId,
        symbol: &str,
        from_order_id: Option<i64>,
        start_ms: Option<i64>,
        end_ms: Option<i64>,
        limit: usize,
    ) -> Vec<OrderView> {
        let found = self
            .orders
            .range(from_order_id.unwrap_or(i64::MIN)..)
            .map(|(_, o)| o)
            .filter(|o| o.account == account && o.symbol == symbol)
            .filter(|o| start_ms.is_none_or(|t| o.time >= t) && end_ms.is_none_or(|t| o.time <= t))
            .map(|o| self.view_of(o))
            .collect::<Vec<_>>();
        page(found, from_order_id.is_some() || start_ms.is_some(), limit)
    }

    /// `GET /fapi/v1/userTrades`: fills with id ≥ `from_id`, inside the window,
    /// at most `limit`: the first ones after a given id or start time, else the
    /// most recent ones; oldest first.
    pub(crate) fn user_trades(
        &self,
        account: AccountId,
        symbol: &str,
        from_id: Option<i64>,
        start_ms: Option<i64>,
        end_ms: Option<i64>,
        limit: usize,
    ) -> Vec<TradeView> {
        let found = self
            .trades
            .iter()
            .filter(|t| t.account == account && t.view.symbol == symbol)
            .filter(|t| from_id.is_none_or(|id| t.view.id >= id))
            .filter(|t| start_ms.is_none_or(|s| t.view.time >= s))
            .filter(|t| end_ms.is_none_or(|e| t.view.time <= e))
            .map(|t| t.view.clone())
            .collect::<Vec<_>>();
        page(found, from_id.is_some() || start_ms.is_some(), limit)
    }
}

/// At most `limit` items, oldest first: the first ones when the caller gave a
/// starting point (id or start time), else the most recent ones (Binance:
/// "otherwise most recent orders are returned").
fn page<T>(mut items: Vec<T>, from_start: bool, limit: usize) -> Vec<T> {
    if from_start {
        items.truncate(limit);
    } else if items.len() > limit {
        items.drain(..items.len() - limit);
    }
    items
}
