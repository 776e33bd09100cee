//! Leverage brackets of the five mainnet symbols (`GET /fapi/v1/leverageBracket`,
//! captured 2024-10): initial leverage, notional floor/cap, maintenance ratio and
//! the maintenance "cum" amount per bracket.
//!
//! Invariant: brackets are ordered by `notional_floor`, contiguous, and each
//! bracket's `initial_leverage` is the maximum leverage allowed while the
//! position notional is inside it.

use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use super::spec::Bracket;

/// One row: (initial leverage, floor, cap, maintenance margin ratio, cum).
type Row = (u32, Decimal, Decimal, Decimal, Decimal);

fn build(rows: &[Row]) -> Vec<Bracket> {
    rows.iter()
        .enumerate()
        .map(|(i, &(lev, floor, cap, mmr, cum))| Bracket {
            bracket: i as u32 + 1,
            initial_leverage: lev,
            notional_floor: floor,
            notional_cap: cap,
            maint_margin_ratio: mmr,
            cum,
        })
        .collect()
}

/// The brackets for `symbol`, or a single conservative 20x bracket for symbols
/// the capture does not cover (scenario-added symbols override it anyway).
pub(super) fn mainnet_brackets(symbol: &str) -> Vec<Bracket> {
    match symbol {
        "BTCUSDT" => build(&[
            (125, dec!(0), dec!(50000), dec!(0.004), dec!(0.0)),
            (100, dec!(50000), dec!(600000), dec!(0.005), dec!(50.0)),
            (75, dec!(600000), dec!(3000000), dec!(0.0065), dec!(950.0)),
            (50, dec!(3000000), dec!(12000000), dec!(0.01), dec!(11450.0)),
            (
                25,
                dec!(12000000),
                dec!(70000000),
                dec!(0.02),
                dec!(131450.0),
            ),
            (
                20,
                dec!(70000000),
                dec!(100000000),
                dec!(0.025),
                dec!(481450.0),
            ),
            (
                10,
                dec!(100000000),
                dec!(230000000),
                dec!(0.05),
                dec!(2981450.0),
            ),
            (
                5,
                dec!(230000000),
                dec!(480000000),
                dec!(0.1),
                dec!(14481450.0),
            ),
            (
                4,
                dec!(480000000),
                dec!(600000000),
                dec!(0.125),
                dec!(26481450.0),
            ),
            (
                3,
                dec!(600000000),
                dec!(800000000),
                dec!(0.15),
                dec!(41481450.0),
            ),
            (
                2,
                dec!(800000000),
                dec!(1200000000),
                dec!(0.25),
                dec!(121481450.0),
            ),
            (
                1,
                dec!(1200000000),
                dec!(1800000000),
                dec!(0.5),
                dec!(421481450.0),
            ),
        ]),
        "ETHUSDT" => build(&[
            (125, dec!(0), dec!(50000), dec!(0.004), dec!(0.0)),
            (100, dec!(50000), dec!(600000), dec!(0.005), dec!(50.0)),
            (75, dec!(600000), dec!(3000000), dec!(0.0065), dec!(950.0)),
            (50, dec!(3000000), dec!(12000000), dec!(0.01), dec!(11450.0)),
            (
                25,
                dec!(12000000),
                dec!(50000000),
                dec!(0.02),
                dec!(131450.0),
            ),
            (
                20,
                dec!(50000000),
                dec!(65000000),
                dec!(0.025),
                dec!(381450.0),
            ),
            (
                10,
                dec!(65000000),
                dec!(150000000),
                dec!(0.05),
                dec!(2006450.0),
            ),
            (
                5,
                dec!(150000000),
                dec!(320000000),
                dec!(0.1),
                dec!(9506450.0),
            ),
            (
                4,
                dec!(320000000),
                dec!(400000000),
                dec!(0.125),
                dec!(17506450.0),
            ),
            (
                3,
                dec!(400000000),
                dec!(530000000),
                dec!(0.15),
                dec!(27506450.0),
            ),
            (
                2,
                dec!(530000000),
                dec!(800000000),
                dec!(0.25),
                dec!(80506450.0),
            ),
            (
                1,
                dec!(800000000),
                dec!(1200000000),
                dec!(0.5),
                dec!(280506450.0),
            ),
        ]),
        "SOLUSDT" => build(&[
            (100, dec!(0), dec!(20000), dec!(0.005), dec!(0.0)),
            (75, dec!(20000), dec!(100000), dec!(0.0065), dec!(30.0)),
            (50, dec!(100000), dec!(800000), dec!(0.01), dec!(380.0)),
            (25, dec!(800000), dec!(4000000), dec!(0.02), dec!(8380.0)),
            (20, dec!(4000000), dec!(8000000), dec!(0.025), dec!(28380.0)),
            (
                10,
                dec!(8000000),
                dec!(40000000),
                dec!(0.05),
                dec!(228380.0),
            ),
            (
                5,
                dec!(40000000),
                dec!(80000000),
                dec!(0.1),
                dec!(2228380.0),
            ),
            (
                4,
                dec!(80000000),
                dec!(100000000),
                dec!(0.125),
                dec!(4228380.0),
            ),
            (
                2,
                dec!(100000000),
                dec!(200000000),
                dec!(0.25),
                dec!(16728380.0),
            ),
            (
                1,
                dec!(200000000),
                dec!(400000000),
                dec!(0.5),
                dec!(66728380.0),
            ),
        ]),
        "DOGEUSDT" => build(&[
            (75, dec!(0), dec!(10000), dec!(0.005), dec!(0.0)),
            (50, dec!(10000), dec!(50000), dec!(0.007), dec!(20.0)),
            (40, dec!(50000), dec!(750000), dec!(0.01), dec!(170.0)),
            (25, dec!(750000), dec!(800000), dec!(0.02), dec!(7670.0)),
            (20, dec!(800000), dec!(1600000), dec!(0.025), dec!(11670.0)),
            (10, dec!(1600000), dec!(8000000), dec!(0.05), dec!(51670.0)),
            (5, dec!(8000000), dec!(16000000), dec!(0.1), dec!(451670.0)),
            (
                4,
                dec!(16000000),
                dec!(20000000),
                dec!(0.125),
                dec!(851670.0),
            ),
            (
                2,
                dec!(20000000),
                dec!(40000000),
                dec!(0.25),
                dec!(3351670.0),
            ),
            (
                1,
                dec!(40000000),
                dec!(80000000),
                dec!(0.5),
                dec!(13351670.0),
            ),
        ]),
        "XRPUSDT" => build(&[
            (75, dec!(0), dec!(10000), dec!(0.005), dec!(0.0)),
            (50, dec!(10000), dec!(20000), dec!(0.0065), dec!(15.0)),
            (40, dec!(20000), dec!(160000), dec!(0.01), dec!(85.0)),
            (25, dec!(160000), dec!(800000), dec!(0.02), dec!(1685.0)),
            (20, dec!(800000), dec!(1600000), dec!(0.025), dec!(5685.0)),
            (10, dec!(1600000), dec!(8000000), dec!(0.05), dec!(45685.0)),
            (5, dec!(8000000), dec!(16000000), dec!(0.1), dec!(445685.0)),
            (
                4,
                dec!(16000000),
                dec!(20000000),
                dec!(0.125),
                dec!(845685.0),
            ),
            (
                2,
                dec!(20000000),
                dec!(40000000),
                dec!(0.25),
                dec!(3345685.0),
            ),
            (
                1,
                dec!(40000000),
                dec!(80000000),
                dec!(0.5),
                dec!(13345685.0),
            ),
        ]),
        _ => build(&[(20, dec!(0), dec!(1000000), dec!(0.025), dec!(0))]),
    }
}
