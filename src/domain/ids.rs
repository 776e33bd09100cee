//! Row identifiers as distinct types, so an order id can never be passed where a
//! position id is expected. The ledger stores them as Postgres `BIGINT` identities
//! (its `sqlx` encoding lives in `ledger::ids`; this module stays free of SQL).

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! row_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[derive(utoipa::ToSchema)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    };
}

row_id!(
    /// `intents.id`
    IntentId
);
row_id!(
    /// `orders.id`
    OrderId
);
row_id!(
    /// `fills.id`
    FillId
);
row_id!(
    /// `positions.id`
    PositionId
);
row_id!(
    /// `ledger_adjustments.id`
    AdjustmentId
);
