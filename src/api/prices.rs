//! Where the API gets a mark price to value an open given by quantity (the budget is
//! in USDT). A narrow trait so startup can plug in the exchange and tests a fixed price.

use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::{Price, Symbol};
use crate::exchange::Exchange;

#[async_trait]
pub trait MarkPrices: Send + Sync {
    /// The current mark price of `symbol`, or why there is none.
    async fn mark_price(&self, symbol: &Symbol) -> Result<Price, String>;
}

/// Mark prices from the connected exchange.
pub struct ExchangeMarkPrices(pub Arc<dyn Exchange>);

#[async_trait]
impl MarkPrices for ExchangeMarkPrices {
    async fn mark_price(&self, symbol: &Symbol) -> Result<Price, String> {
        self.0
            .mark_price(symbol)
            .await
            .map(|m| m.mark_price)
            .map_err(|e| e.to_string())
    }
}

/// One fixed price for every symbol (paper runs and tests).
pub struct FixedMarkPrice(pub Price);

#[async_trait]
impl MarkPrices for FixedMarkPrice {
    async fn mark_price(&self, _symbol: &Symbol) -> Result<Price, String> {
        Ok(self.0)
    }
}
