//! `[executor]`: how much the executor sends at once.
//!
//! Invariants: every cap is at least 1 (zero would send nothing, ever); 1 chunk per
//! intent sends an intent's chunks strictly one after another.

use std::num::NonZeroUsize;

use serde::{Deserialize, Serialize};

/// `[executor]`: how much the executor sends at once.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExecutorSettings {
    /// Chunks of one intent out at the exchange at once (sent and not yet settled).
    pub max_in_flight_per_intent: NonZeroUsize,
    /// Order requests awaiting the exchange's answer at once, over all intents.
    pub(crate) max_in_flight: NonZeroUsize,
    /// Send five chunks of one intent ready at once as one `batchOrders` request.
    pub batch_orders: bool,
    /// Opens held as jobs at once; more accepted opens wait in the ledger, oldest first
    /// (closes, reduces and flattens never wait).
    pub(crate) max_opens_held: NonZeroUsize,
}

impl Default for ExecutorSettings {
    fn default() -> Self {
        Self {
            max_in_flight_per_intent: NonZeroUsize::MIN.saturating_add(15),
            max_in_flight: NonZeroUsize::MIN.saturating_add(31),
            batch_orders: true,
            max_opens_held: NonZeroUsize::MIN.saturating_add(63),
        }
    }
}

impl ExecutorSettings {
    /// Put these settings into the executor's configuration.
    pub fn apply(&self, config: &mut crate::router::ExecutorConfig) {
        config.max_in_flight_per_intent = self.max_in_flight_per_intent.get();
        config.max_in_flight = self.max_in_flight.get();
        config.batch_orders = self.batch_orders;
        config.max_opens_held = self.max_opens_held.get();
    }
}
