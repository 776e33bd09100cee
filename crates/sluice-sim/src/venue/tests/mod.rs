//! Venue tests: every rule provoked with its exact code and message, the book
//! walk, position/PnL arithmetic, reduce-only accounting, hedge mode, resting
//! orders and event order, plus a proptest of the accounting invariants.

mod algo;
mod events;
mod execution;
mod hedge;
mod price_match;
mod props;
mod reduce_only;
mod rules;
mod stp;
mod views;

use rust_decimal::Decimal;

use super::{AccountId, AccountSpec, NewOrder, OrderView, Reject, SymbolSpec, Venue};

pub(super) const T0: i64 = 1_760_000_000_000;
pub(super) const ACC: AccountId = 0;

pub(super) fn d(s: &str) -> Decimal {
    s.parse().expect("test literal is a decimal")
}

/// Mainnet symbols with `edit` applied to the one named `symbol`.
pub(super) fn symbols_with(symbol: &str, edit: impl Fn(&mut SymbolSpec)) -> Vec<SymbolSpec> {
    let mut symbols = SymbolSpec::mainnet_defaults();
    for s in symbols.iter_mut().filter(|s| s.name == symbol) {
        edit(s);
    }
    symbols
}

pub(super) fn account(usdt: &str, hedge: bool) -> AccountSpec {
    let mut spec = AccountSpec::new("key-a", "secret-a", d(usdt));
    spec.hedge_mode = hedge;
    spec
}

pub(super) fn venue_with(symbols: Vec<SymbolSpec>, usdt: &str, hedge: bool) -> Venue {
    Venue::new(7, symbols, vec![account(usdt, hedge)], T0)
}

/// One-way account with 100 000 USDT on the mainnet symbols.
pub(super) fn venue() -> Venue {
    venue_with(SymbolSpec::mainnet_defaults(), "100000", false)
}

pub(super) fn hedge_venue() -> Venue {
    venue_with(SymbolSpec::mainnet_defaults(), "100000", true)
}

pub(super) fn market(symbol: &str, side: &str, qty: &str) -> NewOrder {
    NewOrder {
        symbol: symbol.to_owned(),
        side: side.to_owned(),
        order_type: "MARKET".to_owned(),
        quantity: Some(d(qty)),
        quantity_raw: Some(qty.to_owned()),
        resp_type_result: true,
        ..NewOrder::default()
    }
}

pub(super) fn limit(symbol: &str, side: &str, qty: &str, price: &str, tif: &str) -> NewOrder {
    NewOrder {
        order_type: "LIMIT".to_owned(),
        price: Some(d(price)),
        price_raw: Some(price.to_owned()),
        time_in_force: Some(tif.to_owned()),
        ..market(symbol, side, qty)
    }
}

pub(super) fn reduce_only(o: NewOrder) -> NewOrder {
    NewOrder {
        reduce_only: Some(true),
        ..o
    }
}

pub(super) fn leg(o: NewOrder, position_side: &str) -> NewOrder {
    NewOrder {
        position_side: Some(position_side.to_owned()),
        ..o
    }
}

pub(super) fn place(v: &mut Venue, o: NewOrder) -> Result<OrderView, Reject> {
    v.place_order(ACC, o, false, T0)
}

#[track_caller]
pub(super) fn assert_reject<T: std::fmt::Debug>(r: Result<T, Reject>, code: i64, msg: &str) {
    match r {
        Err(rej) => {
            assert_eq!(rej.code, code, "unexpected code: {rej}");
            assert_eq!(rej.msg, msg);
            assert!(rej.http == 400 || rej.http == 401);
        }
        Ok(v) => panic!("expected {code} {msg}, got {v:?}"),
    }
}

/// Signed position amount of the test account on `symbol`/`side`.
pub(super) fn position(v: &Venue, symbol: &str, side: &str) -> Decimal {
    v.account(ACC)
        .expect("account exists")
        .positions
        .into_iter()
        .find(|p| p.symbol == symbol && p.position_side.as_str() == side)
        .map_or(Decimal::ZERO, |p| p.position_amt)
}
