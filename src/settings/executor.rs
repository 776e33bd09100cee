//! `[executor]`: how much the executor sends at once.
//!
//! Invariants: both caps are at least 1 (zero would send nothing, ever); 1 chunk per
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
}

impl Default for ExecutorSettings {
    fn default() -> Self {
        Self {
            max_in_flight_per_intent: NonZeroUsize::MIN.saturating_add(15),
            max_in_flight: NonZeroUsize::MIN.saturating_add(31),
            batch_orders: true,
        }
    }
}

impl ExecutorSettings {
    /// Put these settings into the executor's configuration.
    pub fn apply(&self, config: &mut crate::router::ExecutorConfig) {
        config.max_in_flight_per_intent = self.max_in_flight_per_intent.get();
        config.max_in_flight = self.max_in_flight.get();
        config.batch_orders = self.batch_orders;
    }
}
