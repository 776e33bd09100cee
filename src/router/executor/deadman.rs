//! The dead-man's switch (docs/binance-fapi.md §2.5): while sluice runs, every symbol
//! with resting orders at the venue gets `POST /fapi/v1/countdownCancelAll` with the
//! configured countdown, renewed at a quarter of it; a symbol whose resting orders are
//! gone gets its countdown stopped (0). If sluice dies, hangs or loses the network, the
//! renewals stop and the venue cancels those orders itself when the countdown runs out.
//!
//! The venue's open orders are the source (one `openOrders` read per heartbeat), so the
//! switch covers every resting order, whoever placed it. Protective stops live in the
//! Algo Service and are not open orders: the switch leaves them in place.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::domain::Symbol;
use crate::exchange::Exchange;
use crate::shutdown::Shutdown;

/// Counter: heartbeats that failed to renew a countdown.
pub(crate) const DEAD_MAN_FAILURES_TOTAL: &str = "sluice_dead_man_switch_failures_total";

/// Start the heartbeat, or nothing when the switch is off.
pub(crate) fn spawn(
    exchange: Arc<dyn Exchange>,
    countdown: Option<Duration>,
    mut shutdown: Shutdown,
) -> Option<JoinHandle<()>> {
    let countdown = countdown?;
    let every = (countdown / 4).max(Duration::from_millis(250));
    Some(tokio::spawn(async move {
        let mut armed: BTreeSet<Symbol> = BTreeSet::new();
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.recv() => break,
                _ = tick.tick() => {}
            }
            beat(&*exchange, countdown, &mut armed).await;
        }
    }))
}

/// One heartbeat: renew the symbols with resting orders, stop the ones without.
async fn beat(exchange: &dyn Exchange, countdown: Duration, armed: &mut BTreeSet<Symbol>) {
    let resting: BTreeSet<Symbol> = match exchange.open_orders(None).await {
        Ok(orders) => orders.into_iter().map(|o| o.symbol).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "dead-man's switch: reading open orders failed; the armed countdowns keep running");
            return;
        }
    };
    for symbol in &resting {
        match exchange.countdown_cancel_all(symbol, countdown).await {
            Ok(()) => {
                if armed.insert(symbol.clone()) {
                    tracing::info!(%symbol, countdown_ms = countdown.as_millis() as u64, "dead-man's switch armed");
                }
            }
            Err(e) => {
                tracing::error!(%symbol, error = %e, "dead-man's switch: renewing the countdown failed");
                metrics::counter!(DEAD_MAN_FAILURES_TOTAL).increment(1);
            }
        }
    }
    let idle: Vec<Symbol> = armed.difference(&resting).cloned().collect();
    for symbol in idle {
        if exchange
            .countdown_cancel_all(&symbol, Duration::ZERO)
            .await
            .is_ok()
        {
            armed.remove(&symbol);
        }
    }
}
