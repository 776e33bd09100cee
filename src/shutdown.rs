//! One shutdown signal for every task (mini-redis style).
//!
//! SIGINT or SIGTERM flips a `watch` channel; every loop `select!`s on
//! [`Shutdown::recv`] and finishes its in-flight work before returning.

use tokio::sync::watch;

/// The receiving half of the shutdown signal: every task that must stop holds a clone.
#[derive(Clone)]
pub struct Shutdown {
    rx: watch::Receiver<bool>,
}

/// The sending half: held by `main` (or a test) to trigger shutdown.
pub struct ShutdownTrigger {
    tx: watch::Sender<bool>,
}

/// A new, untriggered shutdown signal.
pub fn channel() -> (ShutdownTrigger, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (ShutdownTrigger { tx }, Shutdown { rx })
}

impl ShutdownTrigger {
    /// Ask every holder of the matching [`Shutdown`] to stop; triggering twice is harmless.
    pub fn trigger(&self) {
        let _ = self.tx.send(true);
    }
}

impl Shutdown {
    /// Resolves once shutdown has been requested (immediately if it already was).
    pub async fn recv(&mut self) {
        let _ = self.rx.wait_for(|stop| *stop).await;
    }
    pub(crate) fn is_requested(&self) -> bool {
        *self.rx.borrow()
    }
}

/// Resolves on SIGINT or SIGTERM.
pub(crate) async fn os_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("SIGINT received, shutting down"),
        _ = term => tracing::info!("SIGTERM received, shutting down"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_subscriber_sees_the_trigger() {
        let (trigger, mut a) = channel();
        let mut b = a.clone();
        trigger.trigger();
        a.recv().await;
        b.recv().await;
        assert!(a.is_requested() && b.is_requested());
    }
}
