//! Properties: whatever sequence of orders, cancels, mark moves and ticks, a
//! one-way reduce-only order (or a hedge closing leg) never increases or flips
//! a position, positions equal the replay of their fills, and the wallet
//! equals the initial balance plus Σ realized PnL minus Σ commission.

use proptest::prelude::*;

use super::*;
use crate::venue::book::floor_to;

const SYMBOL: &str = "SOLUSDT";
const INITIAL: &str = "1000000";

#[derive(Clone, Debug)]
enum Op {
    Market { buy: bool, qty: u32 },
    Limit { buy: bool, qty: u32, offset: i32 },
    RoMarket { buy: bool, qty: u32 },
    RoLimit { buy: bool, qty: u32, offset: i32 },
    Mark { permille: i32 },
    Tick { ms: u32 },
    CancelAll,
}

fn op() -> impl Strategy<Value = Op> {
    let side = any::<bool>();
    let qty = 1u32..80;
    let offset = -300i32..300;
    prop_oneof![
        (side, qty.clone()).prop_map(|(buy, qty)| Op::Market { buy, qty }),
        (side, qty.clone(), offset.clone()).prop_map(|(buy, qty, offset)| Op::Limit {
            buy,
            qty,
            offset
        }),
        (side, qty.clone()).prop_map(|(buy, qty)| Op::RoMarket { buy, qty }),
        (side, qty, offset).prop_map(|(buy, qty, offset)| Op::RoLimit { buy, qty, offset }),
        (-40i32..40).prop_map(|permille| Op::Mark { permille }),
        (1u32..3_000).prop_map(|ms| Op::Tick { ms }),
        Just(Op::CancelAll),
    ]
}

fn side(buy: bool) -> &'static str {
    if buy {
        "BUY"
    } else {
        "SELL"
    }
}

/// A limit price `offset` hundredths away from the mark, on the tick.
fn price_near(v: &Venue, offset: i32) -> String {
    let mark = v.mark(SYMBOL).expect("symbol").mark_price;
    floor_to(mark + Decimal::new(offset.into(), 2), d("0.001")).to_string()
}

fn apply(v: &mut Venue, op: &Op, now: i64) {
    // Rejections are expected and fine: the invariants concern what executes.
    let _ = match *op {
        Op::Market { buy, qty } => {
            place(v, market(SYMBOL, side(buy), &qty.to_string())).map(|_| ())
        }
        Op::Limit { buy, qty, offset } => {
            let price = price_near(v, offset);
            place(v, limit(SYMBOL, side(buy), &qty.to_string(), &price, "GTC")).map(|_| ())
        }
        Op::RoMarket { buy, qty } => {
            place(v, reduce_only(market(SYMBOL, side(buy), &qty.to_string()))).map(|_| ())
        }
        Op::RoLimit { buy, qty, offset } => {
            let price = price_near(v, offset);
            place(
                v,
                reduce_only(limit(SYMBOL, side(buy), &qty.to_string(), &price, "GTC")),
            )
            .map(|_| ())
        }
        Op::Mark { permille } => {
            let mark = v.mark(SYMBOL).expect("symbol").mark_price;
            let next = floor_to(
                mark * (Decimal::ONE + Decimal::new(permille.into(), 3)),
                d("0.001"),
            );
            v.set_mark(SYMBOL, next, now)
        }
        Op::Tick { .. } => {
            v.tick(now);
            Ok(())
        }
        Op::CancelAll => v.cancel_all(ACC, SYMBOL, now).map(|_| ()),
    };
}

/// Replays every fill: reduce-only fills only ever shrink the position.
fn check_invariants(v: &Venue) -> Result<(), TestCaseError> {
    let trades = v.user_trades(ACC, SYMBOL, None, None, None, usize::MAX);
    let mut pos = Decimal::ZERO;
    for t in &trades {
        let signed = if t.buyer { t.qty } else { -t.qty };
        let order = v
            .order(ACC, SYMBOL, Some(t.order_id), None)
            .expect("fill has an order");
        if order.reduce_only {
            prop_assert!(!pos.is_zero(), "reduce-only fill on a flat position");
            prop_assert!(
                pos.is_sign_positive() != signed.is_sign_positive(),
                "reduce-only increased"
            );
            prop_assert!(t.qty <= pos.abs(), "reduce-only flipped {pos} by {signed}");
        }
        pos += signed;
    }
    prop_assert_eq!(pos, position(v, SYMBOL, "BOTH"));
    let history = v.all_orders(ACC, SYMBOL, None, None, None, usize::MAX);
    let open_in_history = history.iter().filter(|o| o.status.is_open()).count();
    prop_assert_eq!(open_in_history, v.open_orders(ACC, Some(SYMBOL)).len());
    let realized: Decimal = trades.iter().map(|t| t.realized_pnl).sum();
    let fees: Decimal = trades.iter().map(|t| t.commission).sum();
    let wallet = v.account(ACC).expect("account").total_wallet_balance;
    prop_assert_eq!(wallet, d(INITIAL) + realized - fees);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_order_sequences_keep_reduce_only_and_wallet_invariants(ops in prop::collection::vec(op(), 1..40)) {
        let mut v = venue_with(SymbolSpec::mainnet_defaults(), INITIAL, false);
        let mut now = T0;
        for op in &ops {
            if let Op::Tick { ms } = op {
                now += i64::from(*ms);
            }
            apply(&mut v, op, now);
            check_invariants(&v)?;
        }
    }
}

/// Hedge mode: the same operations, each sent to the LONG or SHORT leg.
fn apply_hedge(v: &mut Venue, op: &Op, long_leg: bool, now: i64) {
    let ps = if long_leg { "LONG" } else { "SHORT" };
    let _ = match *op {
        Op::Market { buy, qty } | Op::RoMarket { buy, qty } => {
            place(v, leg(market(SYMBOL, side(buy), &qty.to_string()), ps)).map(|_| ())
        }
        Op::Limit { buy, qty, offset } | Op::RoLimit { buy, qty, offset } => {
            let price = price_near(v, offset);
            let o = limit(SYMBOL, side(buy), &qty.to_string(), &price, "GTC");
            place(v, leg(o, ps)).map(|_| ())
        }
        _ => {
            apply(v, op, now);
            Ok(())
        }
    };
}

/// Replays fills per leg: LONG stays ≥ 0, SHORT stays ≤ 0.
fn check_hedge_invariants(v: &Venue) -> Result<(), TestCaseError> {
    let trades = v.user_trades(ACC, SYMBOL, None, None, None, usize::MAX);
    let (mut long, mut short) = (Decimal::ZERO, Decimal::ZERO);
    for t in &trades {
        let signed = if t.buyer { t.qty } else { -t.qty };
        match t.position_side.as_str() {
            "LONG" => long += signed,
            _ => short += signed,
        }
        prop_assert!(
            long >= Decimal::ZERO && short <= Decimal::ZERO,
            "a leg flipped"
        );
    }
    prop_assert_eq!(long, position(v, SYMBOL, "LONG"));
    prop_assert_eq!(short, position(v, SYMBOL, "SHORT"));
    let realized: Decimal = trades.iter().map(|t| t.realized_pnl).sum();
    let fees: Decimal = trades.iter().map(|t| t.commission).sum();
    let wallet = v.account(ACC).expect("account").total_wallet_balance;
    prop_assert_eq!(wallet, d(INITIAL) + realized - fees);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn hedge_closing_legs_never_flip_a_leg(ops in prop::collection::vec((op(), any::<bool>()), 1..40)) {
        let mut v = venue_with(SymbolSpec::mainnet_defaults(), INITIAL, true);
        let mut now = T0;
        for (op, long_leg) in &ops {
            if let Op::Tick { ms } = op {
                now += i64::from(*ms);
            }
            apply_hedge(&mut v, op, *long_leg, now);
            check_hedge_invariants(&v)?;
        }
    }
}
