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
    #[error("{filter}.stepSize is {step}: cannot plan without a positive step")]
    NoStep { filter: &'static str, step: Decimal },
    #[error("{filter}.minQty {min_qty} is not a multiple of stepSize {step}")]
    MinQtyOffStep {
        filter: &'static str,
        min_qty: Decimal,
        step: Decimal,
    },
    #[error("cap {cap} from {cap_from} is below {filter}.minQty {min_qty}: no chunk can be sent")]
    CapBelowMinQty {
        cap: Decimal,
        cap_from: CapSource,
        filter: &'static str,
        min_qty: Decimal,
    },
    #[error("chunk cap notional {notional} must be positive")]
    BadNotionalCap { notional: Decimal },
    #[error("open of {total} is below {filter}.minQty {min_qty}")]
    BelowMinQty {
        total: Decimal,
        filter: &'static str,
        min_qty: Decimal,
    },
    #[error(
        "open of {total} is below MIN_NOTIONAL {min_notional} at mark {mark} \
         (needs at least {min_qty})"
    )]
    BelowMinNotional {
        total: Decimal,
        min_notional: Decimal,
        mark: Decimal,
        min_qty: Decimal,
    },
    #[error(
        "open chunks need at least {min_qty} (MIN_NOTIONAL {min_notional} at mark {mark}) \
         but {cap_from} allows at most {cap}"
    )]
    MinNotionalAboveCap {
        min_qty: Decimal,
        min_notional: Decimal,
        mark: Decimal,
        cap: Decimal,
        cap_from: CapSource,
    },
    #[error(
        "{total} cannot be split into chunks each between {min_chunk} and {cap} ({cap_from}); \
         raise the cap to at least twice the minimum chunk"
    )]
    Unsplittable {
        total: Decimal,
        min_chunk: Decimal,
        cap: Decimal,
        cap_from: CapSource,
    },
    #[error("{total} is too large to count in steps of {step}")]
    TooLarge { total: Decimal, step: Decimal },
    #[error("{total} at cap {cap} needs {chunks} chunks, more than the limit of {limit}")]
    TooManyChunks {
        total: Decimal,
        cap: Decimal,
        chunks: u64,
        limit: u64,
    },
}
