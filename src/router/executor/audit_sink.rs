//! The ledger as the adapter's audit sink: every REST attempt lands in `order_attempts`
//! (seed 003: the attempts are the evidence a trader hands to the exchange).

use async_trait::async_trait;

use crate::exchange::audit::AttemptRecord;
use crate::exchange::binance::AttemptSink;
use crate::ledger::Ledger;

#[async_trait]
impl AttemptSink for Ledger {
    async fn write(&self, batch: &[AttemptRecord]) -> anyhow::Result<()> {
        self.insert_attempts(batch).await?;
        Ok(())
    }
}
