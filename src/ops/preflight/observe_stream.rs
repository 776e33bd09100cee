//! The user-data stream probe: a listenKey can be created and the private WebSocket
//! accepts it. The socket is closed again; the listenKey is NOT deleted, because Binance
//! keeps one per account and `POST` hands every client the same live key — deleting it
//! would cut the stream of any other client on the account (the active daemon of a
//! hot-standby pair). Left alone, it expires 60 minutes after its last extension.

use std::time::Duration;

use super::observe::{Probe, ProbeError};
use crate::exchange::binance::{BinanceConfig, BinanceFutures};

/// `(listen_key, user_stream)`, each under `deadline`.
pub async fn listen_and_connect(
    ex: &BinanceFutures,
    cfg: &BinanceConfig,
    deadline: Duration,
) -> (Probe<()>, Probe<()>) {
    let created = tokio::time::timeout(deadline, ex.rest().create_listen_key()).await;
    let key = match created {
        Ok(Ok(k)) => k.listen_key,
        Ok(Err(e)) => return (Err(e.into()), Err(not_checked())),
        Err(_) => return (Err(timeout(deadline)), Err(not_checked())),
    };
    let url = cfg.ws_endpoint("private", &key);
    let connected = tokio::time::timeout(deadline, tokio_tungstenite::connect_async(url)).await;
    let stream = match connected {
        Ok(Ok((mut ws, _))) => {
            // A failed close changes nothing: the venue drops the socket either way.
            let _ = ws.close(None).await;
            Ok(())
        }
        Ok(Err(e)) => Err(ProbeError::Exchange {
            class: crate::exchange::ErrorClass::Retry,
            http_status: None,
            code: None,
            msg: format!(
                "WebSocket connect to {}: {e}",
                cfg.ws_endpoint("private", "<listenKey>")
            ),
        }),
        Err(_) => Err(timeout(deadline)),
    };
    (Ok(()), stream)
}

fn not_checked() -> ProbeError {
    ProbeError::NotChecked("no listenKey (see listen_key)".into())
}

fn timeout(deadline: Duration) -> ProbeError {
    ProbeError::Timeout {
        after_ms: deadline.as_millis() as u64,
    }
}
