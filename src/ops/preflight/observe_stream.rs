//! The user-data stream probe: a listenKey can be created and the private WebSocket
//! accepts it. The socket is closed again; the listenKey is NOT deleted, because Binance
//! keeps one per account and `POST` hands every client the same live key — deleting it
//! would cut the stream of any other client on the account (the active daemon of a
//! hot-standby pair). Left alone, it expires 60 minutes after its last extension.

use std::time::Duration;

use super::observe::{timed, Probe, ProbeError};
use crate::exchange::binance::{BinanceConfig, BinanceFutures};

/// `(listen_key, user_stream)`, each under `deadline`.
pub(super) async fn listen_and_connect(
    ex: &BinanceFutures,
    cfg: &BinanceConfig,
    deadline: Duration,
) -> (Probe<()>, Probe<()>) {
    let created = timed(deadline, async {
        ex.rest()
            .create_listen_key()
            .await
            .map_err(ProbeError::from)
    })
    .await;
    let key = match created {
        Ok(k) => k.listen_key,
        Err(e) => {
            let not_checked = ProbeError::NotChecked("no listenKey (see listen_key)".into());
            return (Err(e), Err(not_checked));
        }
    };
    let stream = timed(deadline, async {
        // The same query form the daemon's stream uses: the path form connects even
        // though it delivers nothing (docs/binance-fapi.md §0), so probing it proves nothing.
        let url = cfg.user_stream_endpoint(&key);
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await.map_err(|e| {
            ProbeError::Transport(format!("WebSocket {}: {e}", cfg.user_stream_form()))
        })?;
        // A failed close changes nothing: the venue drops the socket either way.
        let _ = ws.close(None).await;
        Ok(())
    })
    .await;
    (Ok(()), stream)
}
