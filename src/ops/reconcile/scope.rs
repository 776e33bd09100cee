//! Which symbols reconcile reads open orders and open algo orders for.
//!
//! Without a symbol, `openOrders` and `openAlgoOrders` cost 40 IP weight each; with one,
//! 1 each (docs/binance-fapi.md §2.2, §2.4). The daemon's start-up run reads per symbol:
//! a start may come in the middle of an incident, several times in a minute (systemd
//! restarts), and the IP's weight is for the closes it resumes. The scope never leaves
//! out what the comparison relies on:
//!
//! - every symbol of the ledger's open positions, live orders and live protective rows
//!   (sluice's own resting orders, protective stops, orders to resolve);
//! - every symbol the venue holds a position in (`positionRisk` is read first);
//! - the configured symbols (an order placed by hand on a traded symbol is found at start).
//!
//! What a scoped run cannot see is an order on some other symbol, placed outside sluice,
//! with no position: the periodic runs (`daemon.reconcile_interval_s`) read every symbol
//! and report it. With [`SCOPED_READS_BELOW`] symbols or more, the unscoped reads are
//! cheaper and the run uses them.

use std::collections::BTreeSet;

use anyhow::Context;

use crate::domain::Symbol;
use crate::exchange::{AlgoOrderReport, Exchange, ExchangeError, OrderReport};
use crate::reconcile::LedgerSnapshot;

/// Below this many symbols, two reads per symbol (weight 1 each) cost less than the two
/// unscoped reads (40 each).
pub(super) const SCOPED_READS_BELOW: usize = 40;

/// Binance's "Invalid symbol": the venue does not list it, so nothing of it is open.
const INVALID_SYMBOL: i64 = -1121;

/// Which symbols a run reads open orders and open algo orders for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum ReadScope {
    /// Every symbol (the unscoped reads): `sluice reconcile` and the periodic runs.
    #[default]
    All,
    /// These symbols (the configured ones) plus every symbol the ledger's positions,
    /// live orders and live protective rows name and every symbol the venue holds a
    /// position in.
    Known(BTreeSet<Symbol>),
}

impl ReadScope {
    /// The symbols to read given the ledger (None: read every symbol).
    pub(super) fn with_ledger(&self, ours: &LedgerSnapshot) -> Option<BTreeSet<Symbol>> {
        let ReadScope::Known(configured) = self else {
            return None;
        };
        let mut symbols = configured.clone();
        symbols.extend(ours.positions.iter().map(|p| p.symbol.clone()));
        symbols.extend(ours.orders.iter().map(|o| o.symbol.clone()));
        symbols.extend(ours.protective.iter().map(|r| r.symbol.clone()));
        Some(symbols)
    }
}

/// Open orders and open algo orders (None: the venue has no Algo Service) of `symbols`,
/// one read each per symbol, concurrently.
pub(super) async fn read_scoped(
    exchange: &dyn Exchange,
    symbols: &BTreeSet<Symbol>,
) -> anyhow::Result<(Vec<OrderReport>, Option<Vec<AlgoOrderReport>>)> {
    let reads = symbols.iter().map(|s| async move {
        let orders = listed(
            exchange
                .open_orders(Some(s), crate::exchange::Purpose::Routine)
                .await,
        )
        .with_context(|| format!("failed to fetch the exchange's {s} open orders"))?;
        let algos = match listed(exchange.open_algo_orders_of(s).await) {
            Ok(a) => Some(a),
            Err(e) if e.is_unsupported() => None,
            Err(e) => {
                return Err(e).with_context(|| {
                    format!("failed to fetch the exchange's {s} open algo orders")
                })
            }
        };
        anyhow::Ok((orders, algos))
    });
    let mut orders = Vec::new();
    let mut algos = Some(Vec::new());
    for read in futures_util::future::join_all(reads).await {
        let (o, a) = read?;
        orders.extend(o);
        algos = algos.zip(a).map(|(mut all, mut more)| {
            all.append(&mut more);
            all
        });
    }
    Ok((orders, algos))
}

/// A symbol the venue does not list holds nothing.
fn listed<T>(read: Result<Vec<T>, ExchangeError>) -> Result<Vec<T>, ExchangeError> {
    match read {
        Err(e) if e.code == Some(INVALID_SYMBOL) => Ok(Vec::new()),
        other => other,
    }
}
