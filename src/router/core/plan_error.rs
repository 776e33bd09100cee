//! Why the planner could not plan, naming the numbers involved, and which cap bound
//! the chunks ([`CapSource`], so an error can say which knob to turn). Shared by the
//! planner and its step grid.

use std::fmt;

use rust_decimal::Decimal;

/// Where the binding cap came from, so an error can say which knob to turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapSource {
    /// The published lot filter's maxQty (MARKET_LOT_SIZE or LOT_SIZE).
    LotFilter,
    /// The configured per-chunk cap.
    Configured,
    /// A cap learned from -4005 rejections (see `caps`).
    Learned,
    /// No cap at all: the whole quantity fits in one order.
    None,
}

impl fmt::Display for CapSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CapSource::LotFilter => "the lot filter's maxQty",
            CapSource::Configured => "the configured chunk cap",
            CapSource::Learned => "the learned cap",
            CapSource::None => "no cap",
        })
    }
}

/// Why no plan could be made. Every variant names the numbers involved.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The symbol's step size is not positive.
    #[error("{filter}.stepSize is {step}: cannot plan without a positive step")]
    NoStep {
        /// The filter read (`LOT_SIZE` or `MARKET_LOT_SIZE`).
        filter: &'static str,
        /// Its step size.
        step: Decimal,
    },
    /// The minimum quantity is not a whole number of steps.
    #[error("{filter}.minQty {min_qty} is not a multiple of stepSize {step}")]
    MinQtyOffStep {
        /// The filter read.
        filter: &'static str,
        /// Its minimum quantity.
        min_qty: Decimal,
        /// Its step size.
        step: Decimal,
    },
    /// The chunk cap is below the smallest order the exchange accepts.
    #[error("cap {cap} from {cap_from} is below {filter}.minQty {min_qty}: no chunk can be sent")]
    CapBelowMinQty {
        /// The cap in force.
        cap: Decimal,
        /// Where the cap came from.
        cap_from: CapSource,
        /// The filter read.
        filter: &'static str,
        /// Its minimum quantity.
        min_qty: Decimal,
    },
    /// A notional chunk cap that is zero or negative.
    #[error("chunk cap notional {notional} must be positive")]
    BadNotionalCap {
        /// The configured notional.
        notional: Decimal,
    },
    /// The whole open is smaller than one minimum order.
    #[error("open of {total} is below {filter}.minQty {min_qty}")]
    BelowMinQty {
        /// The quantity asked for.
        total: Decimal,
        /// The filter read.
        filter: &'static str,
        /// Its minimum quantity.
        min_qty: Decimal,
    },
    /// The whole open is worth less than the exchange's minimum notional at the mark.
    #[error(
        "open of {total} is below MIN_NOTIONAL {min_notional} at mark {mark} \
         (needs at least {min_qty})"
    )]
    BelowMinNotional {
        /// The quantity asked for.
        total: Decimal,
        /// The symbol's `MIN_NOTIONAL`.
        min_notional: Decimal,
        /// The mark price the notional was valued at.
        mark: Decimal,
        /// The smallest quantity that would pass.
        min_qty: Decimal,
    },
    /// The smallest chunk the minimum notional allows is above the chunk cap.
    #[error(
        "open chunks need at least {min_qty} (MIN_NOTIONAL {min_notional} at mark {mark}) \
         but {cap_from} allows at most {cap}"
    )]
    MinNotionalAboveCap {
        /// The smallest chunk that passes `MIN_NOTIONAL` at the mark.
        min_qty: Decimal,
        /// The symbol's `MIN_NOTIONAL`.
        min_notional: Decimal,
        /// The mark price the notional was valued at.
        mark: Decimal,
        /// The cap in force.
        cap: Decimal,
        /// Where the cap came from.
        cap_from: CapSource,
    },
    /// No split leaves every chunk between the minimum chunk and the cap.
    #[error(
        "{total} cannot be split into chunks each between {min_chunk} and {cap} ({cap_from}); \
         raise the cap to at least twice the minimum chunk"
    )]
    Unsplittable {
        /// The quantity to split.
        total: Decimal,
        /// The smallest chunk allowed.
        min_chunk: Decimal,
        /// The cap in force.
        cap: Decimal,
        /// Where the cap came from.
        cap_from: CapSource,
    },
    /// The quantity has more steps than fit in a counter.
    #[error("{total} is too large to count in steps of {step}")]
    TooLarge {
        /// The quantity asked for.
        total: Decimal,
        /// The step size.
        step: Decimal,
    },
    /// The plan would need more chunks than one intent may send.
    #[error("{total} at cap {cap} needs {chunks} chunks, more than the limit of {limit}")]
    TooManyChunks {
        /// The quantity asked for.
        total: Decimal,
        /// The cap in force.
        cap: Decimal,
        /// The chunks it would take.
        chunks: u64,
        /// The most chunks a plan may have.
        limit: u64,
    },
}
